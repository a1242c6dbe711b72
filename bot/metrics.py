"""Prometheus metrics on ``GET /metrics``."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, generate_latest
from sqlalchemy import func, select

from storage.db import Database
from storage.models import InboxEvent, OutboxMessage


@dataclass
class Metrics:
    """The app's own registry (no global default registry, so tests can build many apps)."""

    registry: CollectorRegistry
    requests: Counter


def setup_metrics(app: web.Application, db: Database) -> Metrics:
    """Register ``/metrics`` with request counts and outbox/inbox backlog gauges."""
    registry = CollectorRegistry()
    requests = Counter("gendan_http_requests", "HTTP requests by path and status", ["path", "status"],
                       registry=registry)
    outbox = Gauge("gendan_outbox_rows", "Outbox rows by status", ["status"], registry=registry)
    inbox = Gauge("gendan_inbox_pending", "Inbound events not yet processed", registry=registry)

    async def metrics_view(request: web.Request) -> web.Response:
        async with db.uow() as uow:
            for status, count in await uow.session.execute(
                    select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)):
                outbox.labels(status).set(count)
            inbox.set((await uow.session.execute(
                select(func.count()).where(InboxEvent.status == "PENDING"))).scalar_one())
        return web.Response(body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST})

    @web.middleware
    async def count(request: web.Request, handler: object) -> web.StreamResponse:
        try:
            response = await handler(request)  # type: ignore[operator]
        except web.HTTPException as exc:
            requests.labels(request.match_info.route.resource.canonical if request.match_info.route.resource
                            else "other", str(exc.status)).inc()
            raise
        resource = request.match_info.route.resource
        requests.labels(resource.canonical if resource else "other", str(response.status)).inc()
        return response  # type: ignore[no-any-return]

    app.middlewares.append(count)
    app.router.add_get("/metrics", metrics_view)
    return Metrics(registry, requests)
