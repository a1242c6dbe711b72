"""Settings: ``GENDAN_*`` environment variables, else ``gendan.toml`` / ``.env``; the environment wins.

Read inside :func:`load_settings`, never at import time. Secrets are
``SecretStr`` so that they never show in logs or reprs.
"""

from __future__ import annotations

import ipaddress
from datetime import date, time
from decimal import Decimal
from functools import cached_property
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Settings(BaseSettings):
    """Every configuration key of interfaces.md §3 (prefix ``GENDAN_``)."""

    model_config = SettingsConfigDict(
        env_prefix="GENDAN_",
        env_file=".env",
        env_file_encoding="utf-8",
        toml_file="gendan.toml",
        extra="ignore",
        frozen=True,
    )

    database_url: str = "sqlite+aiosqlite:///./data/gendan.db"
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str = "http://127.0.0.1:8080"
    timezone: str = "Asia/Shanghai"
    working_hours: str = "09:00-18:00"
    working_days: str = "1-5"
    quiet_hours: str = "21:00-08:00"
    holidays: str = ""
    admins: str = ""
    #: roles a person gets when first registered (comma list of role names); extension
    default_roles: str = "sales"
    api_token: SecretStr = SecretStr("")
    #: None: on when ``host`` is a loopback address
    local_enabled: bool | None = None
    #: key for signed links (dashboard, approval links); derived from other secrets when empty
    secret_key: SecretStr = SecretStr("")

    wecom_corp_id: str = ""
    wecom_agent_id: str = ""
    wecom_secret: SecretStr = SecretStr("")
    wecom_token: SecretStr = SecretStr("")
    wecom_aes_key: SecretStr = SecretStr("")
    wecom_aibot_token: SecretStr = SecretStr("")
    wecom_aibot_aes_key: SecretStr = SecretStr("")
    wecom_aibot_id: str = ""
    wecom_aibot_secret: SecretStr = SecretStr("")
    wecom_api_base: str = "https://qyapi.weixin.qq.com"
    wecom_ws_url: str = "wss://openws.work.weixin.qq.com"

    dingtalk_app_key: str = ""
    dingtalk_app_secret: SecretStr = SecretStr("")
    dingtalk_robot_code: str = ""
    dingtalk_mode: Literal["http", "stream"] = "http"
    dingtalk_api_base: str = "https://api.dingtalk.com"
    dingtalk_oapi_base: str = "https://oapi.dingtalk.com"
    dingtalk_card_template_id: str = ""
    dingtalk_aes_key: SecretStr = SecretStr("")
    dingtalk_token: SecretStr = SecretStr("")

    #: seconds a client has to send the whole request body after its headers (else 408)
    body_timeout: float = Field(default=10.0, gt=0)
    #: commands one person may send per minute, and one chat; beyond that a friendly reply, once
    rate_person_per_minute: int = Field(default=20, ge=1)
    rate_chat_per_minute: int = Field(default=60, ge=1)
    #: the most lines one message may have to be read as a command (a pasted list or log is refused)
    command_max_lines: int = Field(default=100, ge=1)
    #: "text" (one line per record) or "json" (one JSON object per line, with the event id)
    log_format: Literal["text", "json"] = "text"

    approval_t1: Decimal = Field(default=Decimal("10000"), ge=0)
    approval_t2: Decimal = Field(default=Decimal("100000"), ge=0)
    #: how many days a quotation's prices hold when /报价 does not say (有效期N天)
    quote_valid_days: int = Field(default=7, ge=1, le=365)
    #: the company name printed on quotation sheets
    company_name: str = ""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Order of precedence: explicit arguments, environment, .env, gendan.toml."""
        return (
            init_settings,
            env_settings,
            dotenv_settings,
            TomlConfigSettingsSource(settings_cls),
        )

    @field_validator("timezone")
    @classmethod
    def _check_tz(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @model_validator(mode="after")
    def _check_thresholds(self) -> Settings:
        if self.approval_t2 < self.approval_t1:
            raise ValueError("GENDAN_APPROVAL_T2 must not be below GENDAN_APPROVAL_T1")
        self.working_window  # noqa: B018  (validates the format early)
        self.quiet_window  # noqa: B018
        self.holiday_dates  # noqa: B018
        self.working_weekdays  # noqa: B018
        return self

    # ---- derived values -------------------------------------------------------------

    @cached_property
    def tz(self) -> ZoneInfo:
        """The business time zone."""
        return ZoneInfo(self.timezone)

    @cached_property
    def local_adapter_on(self) -> bool:
        """Whether the local adapter and web console are served."""
        if self.local_enabled is None:
            return _is_loopback(self.host)
        return self.local_enabled

    @cached_property
    def working_window(self) -> tuple[time, time]:
        """Start and end of the working day."""
        return _parse_window(self.working_hours, "GENDAN_WORKING_HOURS")

    @cached_property
    def quiet_window(self) -> tuple[time, time] | None:
        """Start and end of quiet hours (may wrap midnight), or None when empty."""
        if not self.quiet_hours.strip():
            return None
        return _parse_window(self.quiet_hours, "GENDAN_QUIET_HOURS")

    @cached_property
    def working_weekdays(self) -> frozenset[int]:
        """ISO weekdays (1 = Monday) that are working days."""
        days: set[int] = set()
        for part in self.working_days.split(","):
            part = part.strip()
            if not part:
                continue
            if "-" in part:
                a, b = (int(x) for x in part.split("-", 1))
                days.update(range(a, b + 1))
            else:
                days.add(int(part))
        if not days or not days <= set(range(1, 8)):
            raise ValueError("GENDAN_WORKING_DAYS must name days 1..7, e.g. 1-5")
        return frozenset(days)

    @cached_property
    def holiday_dates(self) -> frozenset[date]:
        """Dates treated as non-working days."""
        return frozenset(date.fromisoformat(d.strip()) for d in self.holidays.split(",") if d.strip())

    @cached_property
    def admin_ids(self) -> frozenset[tuple[str, str]]:
        """``(platform, user_id)`` pairs who are admins from the start."""
        out = set()
        for item in self.admins.split(","):
            item = item.strip()
            if ":" in item:
                platform, user = item.split(":", 1)
                out.add((platform.strip(), user.strip()))
        return frozenset(out)

    @cached_property
    def signing_key(self) -> bytes:
        """GENDAN_SECRET_KEY, or empty: then a random key is created in the database on first use
        (web.approval_pages.link_key). Never derived from other secrets: whoever holds the API token
        or a platform secret must not be able to sign approval or dashboard links."""
        explicit = self.secret_key.get_secret_value()
        return explicit.encode() if explicit else b""

    @property
    def wecom_app_on(self) -> bool:
        """The self-built app is configured."""
        return bool(self.wecom_corp_id and self.wecom_secret.get_secret_value())

    @property
    def dingtalk_on(self) -> bool:
        """The DingTalk app robot is configured."""
        return bool(self.dingtalk_app_key and self.dingtalk_app_secret.get_secret_value())


def _parse_window(value: str, key: str) -> tuple[time, time]:
    try:
        start, end = value.split("-", 1)
        return time.fromisoformat(start.strip()), time.fromisoformat(end.strip())
    except ValueError as exc:
        raise ValueError(f"{key} must look like 09:00-18:00") from exc


def load_settings(**overrides: Any) -> Settings:
    """Read settings now (environment, .env, gendan.toml), with explicit overrides on top."""
    return Settings(**overrides)
