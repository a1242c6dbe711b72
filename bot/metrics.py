"""Prometheus metrics on ``GET /metrics``."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from bot.longconn import Connections
from storage.db import Database
from storage.models import InboxEvent, OutboxMessage


@dataclass
class Metrics:
    """The app's own registry (no global default registry, so tests can build many apps)."""

    registry: CollectorRegistry
    requests: Counter


class _ConnectionCollector(Collector):
    """Reads the long connections' own counters at scrape time (no second set of counters to keep in step)."""

    def __init__(self, connections: Connections) -> None:
        self._connections = connections

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("gendan_connection_up", "1 while the long connection is ready", labels=["name"])
        frames = CounterMetricFamily("gendan_connection_frames", "Frames over the long connection",
                                     labels=["name", "direction"])
        acks = CounterMetricFamily("gendan_connection_acks", "Inbound frames acknowledged", labels=["name"])
        bad = CounterMetricFamily("gendan_connection_bad_frames", "Inbound frames that could not be used",
                                  labels=["name"])
        reconnects = CounterMetricFamily("gendan_connection_reconnects", "Connections opened after the first",
                                         labels=["name"])
        for status in self._connections.statuses:
            up.add_metric([status.name], 1.0 if status.connected else 0.0)
            frames.add_metric([status.name, "in"], status.frames_in)
            frames.add_metric([status.name, "out"], status.frames_out)
            acks.add_metric([status.name], status.acks)
            bad.add_metric([status.name], status.frames_bad)
            reconnects.add_metric([status.name], status.reconnects)
        yield from (up, frames, acks, bad, reconnects)


def setup_metrics(app: web.Application, db: Database, connections: Connections | None = None) -> Metrics:
    """Register ``/metrics`` with request counts, outbox/inbox backlog gauges and long-connection counters."""
    registry = CollectorRegistry()
    if connections is not None:
        registry.register(_ConnectionCollector(connections))
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
