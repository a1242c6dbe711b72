"""The real app (``bot.app.create_app``) with its WeCom AI-bot long connection pointed at :class:`FakeWeComWS`.

Only the AI bot is configured (no self-built app, no callbacks): a team without a public
address. The HTTP fake WeCom is there to prove that nothing goes out by HTTP. The test
clock drives the dispatcher and the outbox; the connection's intervals come from a fast
:class:`~bot.wecom.longconn.Timing` so reconnects take milliseconds.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from bot.app import CONNECTIONS, DISPATCHER, SENDER, create_app
from bot.wecom import longconn
from bot.wecom.longconn import AibotConnection, Timing
from storage.db import Database
from storage.models import InboxEvent, Order, OutboxMessage
from tests.conftest import Clock, make_settings
from tests.fakes.wecom_server import FakeWeCom
from tests.fakes.wecom_ws_server import BOT_ID, BOT_SECRET, FakeWeComWS

ADMIN = "admin1"
GROUP = "wrkGROUP1"
FAST = Timing(heartbeat=0.2, idle=3.0, watchdog_every=0.05, ack_timeout=1.0, connect_timeout=2.0,
              stable_after=5.0, first_backoff=0.02, max_backoff=0.1, auth_first=0.2, auth_max=0.4,
              evicted_first=30.0, evicted_max=60.0)

Condition = Callable[[], bool | Awaitable[bool]]


async def until(cond: Condition, what: str, timeout: float = 30.0) -> None:
    """Wait for ``cond`` (polled every 10 ms) or fail naming ``what``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = cond()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


class WsWorld:
    """One app, one fake WebSocket WeCom, one HTTP fake, one test clock."""

    def __init__(self, client: TestClient[web.Request, web.Application], app: web.Application,
                 fake: FakeWeComWS, http: FakeWeCom, clock: Clock) -> None:
        self.client = client
        self.app = app
        self.fake = fake
        self.http = http
        self.clock = clock

    @property
    def db(self) -> Database:
        """The app's database."""
        return self.app[DISPATCHER].db

    @property
    def conn(self) -> AibotConnection:
        """The app's AI-bot connection."""
        [conn] = list(self.app[CONNECTIONS])
        assert isinstance(conn, AibotConnection)
        return conn

    async def inbox(self, status: str | None = None) -> int:
        """Inbox rows (of one status)."""
        where = [InboxEvent.status == status] if status else []
        return await self.count(InboxEvent, *where)

    async def count(self, model: Any, *where: Any) -> int:
        """``SELECT count(*)``."""
        async with self.db.uow() as uow:
            return int((await uow.session.execute(select(func.count()).select_from(model).where(*where)))
                       .scalar_one())

    async def settle(self, inbox: int | None = None) -> None:
        """Wait until ``inbox`` events are recorded (if given), every handler finished, one outbox pass."""
        if inbox is not None:
            await until(lambda: self._inbox_at_least(inbox), f"{inbox} inbox rows")
        await self.app[DISPATCHER].drain()
        await self.app[SENDER].flush()

    async def _inbox_at_least(self, n: int) -> bool:
        return await self.inbox() >= n

    async def say(self, user: str, text: str, *, chat: str | None = None, msgtype: str = "text") -> str:
        """``user`` writes ``text`` (1:1, or in group ``chat`` with the @mention); answered; returns the req_id."""
        before = await self.inbox()
        req_id = await self.fake.deliver(self.fake.text(user, text, chat=chat, msgtype=msgtype))
        await self.settle(before + 1)
        return req_id

    def answer(self, req_id: str) -> str:
        """The one answer's text on a callback."""
        [answer] = self.fake.answers(req_id)
        [text] = self.fake.texts([answer])
        return text

    async def orders(self) -> list[Order]:
        """Every order by number."""
        async with self.db.uow() as uow:
            return list((await uow.session.execute(select(Order).order_by(Order.no))).scalars())

    async def outbox_status(self) -> dict[str, int]:
        """Outbox rows per status."""
        async with self.db.uow() as uow:
            rows = await uow.session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status))
            return {str(s): int(n) for s, n in rows}


@asynccontextmanager
async def open_ws_world(db_url: tuple[str, dict[str, Any]], clock: Clock, monkeypatch: pytest.MonkeyPatch, *,
                        timing: Timing = FAST, secret: str = BOT_SECRET, wait: bool = True,
                        **settings: Any) -> AsyncIterator[WsWorld]:
    """Start both fakes and the real app; with ``wait``, until the connection is subscribed."""
    url, kwargs = db_url
    monkeypatch.setattr(longconn, "DEFAULT_TIMING", timing)
    async with FakeWeComWS() as fake, FakeWeCom() as http:
        config = make_settings(url, wecom_aibot_id=BOT_ID, wecom_aibot_secret=secret, wecom_ws_url=fake.url,
                               wecom_api_base=http.url, admins=f"wecom:{ADMIN}", local_enabled=False, **settings)
        app = create_app(config, clock=clock, db=Database(url, **kwargs), run_sender=False)
        client: TestClient[web.Request, web.Application] = TestClient(TestServer(app, host="127.0.0.1"))
        await client.start_server()
        world = WsWorld(client, app, fake, http, clock)
        try:
            if wait:
                await fake.wait_subscribed(1)
                await until(lambda: world.conn.connected, "the connection to be ready")
            yield world
        finally:
            await client.close()
