"""No test reads the real environment: conftest's ``isolated_settings`` strips every ``GENDAN_*`` key and
runs each test in an empty directory, so settings come only from what a test passes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.config import Settings, load_settings


def test_no_configuration_reaches_a_test() -> None:
    assert not [k for k in os.environ if k.startswith("GENDAN_") and k[7:].lower() in Settings.model_fields]
    assert not (Path.cwd() / ".env").exists() and not (Path.cwd() / "gendan.toml").exists()
    settings = load_settings()
    for name, field in Settings.model_fields.items():
        assert getattr(settings, name) == field.get_default(call_default_factory=True), name


def test_the_working_directory_is_fresh_for_each_test(monkeypatch: pytest.MonkeyPatch) -> None:
    """A file a test leaves behind cannot configure the next one."""
    assert list(Path.cwd().iterdir()) == []
    (Path.cwd() / "gendan.toml").write_text("port = 9001\n")
    assert load_settings().port == 9001  # the toml source is live: the checks above are not vacuous
    monkeypatch.setenv("GENDAN_PORT", "9002")
    assert load_settings().port == 9002
