"""Sealed tokens: one signing mechanism for every signed link."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from web.sealed_tokens import Rejected, check_expiry, seal, unseal

KEY = b"k" * 32


def test_round_trip_and_purposes_kept_apart() -> None:
    token = seal(KEY, b"purpose a", [1, "x", 2])
    assert unseal(KEY, b"purpose a", token, 1024) == [1, "x", 2]
    for key, purpose in ((KEY, b"purpose b"), (b"other", b"purpose a"), (b"", b"purpose a")):
        with pytest.raises(Rejected, match="forged"):
            unseal(key, purpose, token, 1024)


@pytest.mark.parametrize("bad", ["", None, "abc", "abc.def", "!!.??"])
def test_garbage_is_missing_or_forged(bad: str | None) -> None:
    with pytest.raises(Rejected) as exc:
        unseal(KEY, b"p", bad, 1024)
    assert exc.value.reason in ("missing", "forged")


def test_tampered_body_and_overlong_token() -> None:
    token = seal(KEY, b"p", [1, "alice"])
    mac = token.partition(".")[2]
    other = seal(KEY, b"p", [1, "bob"]).partition(".")[0]
    with pytest.raises(Rejected, match="forged"):
        unseal(KEY, b"p", f"{other}.{mac}", 1024)
    with pytest.raises(Rejected, match="forged"):
        unseal(KEY, b"p", token, len(token) - 1)


def test_expiry() -> None:
    now = datetime(2026, 11, 28, tzinfo=UTC)
    check_expiry(int(now.timestamp()) + 1, now)
    with pytest.raises(Rejected, match="expired"):
        check_expiry(int(now.timestamp()), now)
