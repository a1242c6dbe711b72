"""Sealed dashboard and statement tokens: a correctly sealed body of the wrong shape (another kind, an
empty user, a date that does not parse, another version) is forged, never half-trusted."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from web import signed_links as bt
from web.sealed_tokens import seal

KEY = b"k" * 32
NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
LATER = int(NOW.timestamp()) + 600


def test_a_genuine_board_token_round_trips() -> None:
    claims = bt.BoardClaims("local", "u1", LATER)
    for kind in ("link", "session"):
        assert bt.verify(KEY, kind, bt.sign(KEY, kind, claims), NOW) == claims  # type: ignore[arg-type]


@pytest.mark.parametrize("payload", [
    [1, "session", "local", "u1", LATER],   # a session token's body under the link purpose
    [1, "link", "", "u1", LATER],           # no platform
    [1, "link", "local", "", LATER],        # no user
    [2, "link", "local", "u1", LATER],      # another version
    [1, "link", "local", "u1", "soon"],     # expiry not a number
    {"kind": "link"},
])
def test_board_bodies_of_the_wrong_shape_are_forged(payload: Any) -> None:
    with pytest.raises(bt.BoardRejected) as exc:
        bt.verify(KEY, "link", seal(KEY, b"gendan board link v1", payload), NOW)
    assert exc.value.reason == "forged"


@pytest.mark.parametrize("payload", [
    [1, "statement", "local", "f1", 1, "2026-11-01", "2026-11-31", LATER],  # a day that does not exist
    [1, "statement", "local", "f1", 1, "someday", "2026-11-27", LATER],
    [1, "statement", "", "f1", 1, "2026-11-01", "2026-11-27", LATER],
    [1, "statement", "local", "", 1, "2026-11-01", "2026-11-27", LATER],
    [1, "board", "local", "f1", 1, "2026-11-01", "2026-11-27", LATER],
])
def test_statement_bodies_of_the_wrong_shape_are_forged(payload: Any) -> None:
    token = seal(KEY, b"gendan statement link v1", payload)
    with pytest.raises(bt.BoardRejected) as exc:
        bt.verify_statement(KEY, token, NOW, 1, date(2026, 11, 1), date(2026, 11, 27))
    assert exc.value.reason == "forged"


def test_a_genuine_statement_token_is_bound_to_its_customer_and_period() -> None:
    claims = bt.StatementClaims("local", "f1", 1, date(2026, 11, 1), date(2026, 11, 27), LATER)
    token = bt.sign_statement(KEY, claims)
    assert bt.verify_statement(KEY, token, NOW, 1, date(2026, 11, 1), date(2026, 11, 27)) == claims
    with pytest.raises(bt.BoardRejected, match="forged"):
        bt.verify_statement(KEY, token, NOW, 2, date(2026, 11, 1), date(2026, 11, 27))
