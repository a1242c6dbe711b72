"""What an operator reads: the start banner, the import progress bar, an imported order's history."""

from __future__ import annotations

import io
from pathlib import Path

from sqlalchemy import select

from bot.banner import banner_lines
from bot.config import Settings
from handlers.import_file_reader import ProgressBar
from storage.db import Database
from storage.models import AuditEvent
from tests.test_import_export import ORDERS, do_import, setup_catalog, xlsx


def _settings(**kw: object) -> Settings:
    return Settings(_env_file=None, **kw)  # type: ignore[call-arg, arg-type]


def test_banner_lists_only_what_is_on_and_says_why_the_rest_is_off() -> None:
    text = "\n".join(banner_lines(_settings()))
    # no keys: no platform URL is offered as if it answered
    assert "/wecom/callback" not in text and "/wecom/aibot" not in text and "/dingtalk/callback" not in text
    assert "off  set GENDAN_WECOM_AIBOT_ID and GENDAN_WECOM_AIBOT_SECRET (no public URL needed)" in text
    assert "off  set GENDAN_DINGTALK_APP_KEY and GENDAN_DINGTALK_APP_SECRET" in text
    assert "REST API               off  set GENDAN_API_TOKEN" in text


def test_banner_shows_configured_connections_and_callbacks() -> None:
    on = _settings(wecom_corp_id="ww1", wecom_token="t", wecom_aes_key="k" * 43, wecom_aibot_id="bot1",
                   wecom_aibot_secret="SECRET-1", dingtalk_app_key="dk", dingtalk_app_secret="SECRET-2",
                   api_token="SECRET-3")
    text = "\n".join(banner_lines(on))
    assert "WeCom long connection  on   AI bot bot1 via wss://openws.work.weixin.qq.com" in text
    assert "WeCom app callback     on   http://127.0.0.1:8080/wecom/callback" in text
    assert "WeCom AI-bot callback  off" in text  # its Token/AESKey are not set
    assert "DingTalk callbacks     on   http://127.0.0.1:8080/dingtalk/callback" in text
    assert "SECRET-" not in text  # no secret echoed
    stream = "\n".join(banner_lines(_settings(dingtalk_app_key="dk", dingtalk_app_secret="ds",
                                              dingtalk_mode="stream")))
    assert "DingTalk Stream        on" in stream and "/dingtalk/callback" not in stream


def test_progress_bar_ends_its_line_when_the_import_stops_early() -> None:
    out = io.StringIO()
    bar = ProgressBar("导入", out, width=10)
    bar(3, 10)
    bar.finish()
    bar.finish()  # once only
    assert out.getvalue() == "\r导入 [###.......] 3/10  30%\n"
    untouched = io.StringIO()
    ProgressBar("导入", untouched).finish()
    assert untouched.getvalue() == ""  # nothing drawn: no stray empty line


async def test_imported_order_history_names_the_file_not_the_login(db: Database, tmp_path: Path) -> None:
    await setup_catalog(db, tmp_path)
    text, status = await do_import(db, "orders", xlsx(tmp_path / "历史订单.xlsx", ORDERS))
    assert status == 0, text
    async with db.uow() as uow:
        audits = list((await uow.session.execute(select(AuditEvent).where(AuditEvent.action == "import"))).scalars())
    assert audits and {a.actor_name for a in audits} == {"导入 历史订单.xlsx"}
    assert {a.source_ref for a in audits} == {"历史订单.xlsx"}
