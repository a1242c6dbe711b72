"""Settings: keys of interfaces.md §3, from the environment, .env or gendan.toml (the environment wins)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from bot.config import load_settings


def test_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    s = load_settings()
    assert s.database_url == "sqlite+aiosqlite:///./data/gendan.db"
    assert (s.host, s.port, s.timezone) == ("127.0.0.1", 8080, "Asia/Shanghai")
    assert s.approval_t1 == Decimal(10000) and s.approval_t2 == Decimal(100000)
    assert s.local_adapter_on and s.working_weekdays == frozenset(range(1, 6))
    assert not s.wecom_app_on and not s.dingtalk_on


def test_toml_then_env_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "gendan.toml").write_text('port = 9000\ntimezone = "Asia/Tokyo"\nadmins = "wecom:zs"\n')
    (tmp_path / ".env").write_text("GENDAN_APPROVAL_T1=5000\n")
    monkeypatch.setenv("GENDAN_PORT", "9100")
    s = load_settings()
    assert s.port == 9100 and s.timezone == "Asia/Tokyo" and s.approval_t1 == Decimal(5000)
    assert s.admin_ids == frozenset({("wecom", "zs")})


def test_secrets_never_show(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GENDAN_WECOM_SECRET", "very-secret-value")
    s = load_settings()
    assert "very-secret-value" not in repr(s) and "very-secret-value" not in str(s.model_dump())
    assert s.wecom_secret.get_secret_value() == "very-secret-value"


def test_local_adapter_off_on_public_host(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    assert not load_settings(host="0.0.0.0").local_adapter_on
    assert load_settings(host="0.0.0.0", local_enabled=True).local_adapter_on


@pytest.mark.parametrize("bad", [{"timezone": "Mars/Base"}, {"working_hours": "nine to five"},
                                 {"approval_t1": "5000", "approval_t2": "100"}, {"working_days": "0-9"},
                                 {"holidays": "2026-13-01"}])
def test_bad_values_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, bad: dict[str, str]) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError):
        load_settings(**bad)
