"""Prometheus metrics on ``GET /metrics``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from bot.longconn import Connections
from storage.db import Database
from storage.health import queue_health
from storage.models.messaging import InboxStatus

#: seconds; a command is usually tens of milliseconds, a slow one under load several seconds
COMMAND_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
#: seconds from writing a message to its delivery: immediate, a retry, a rate-limit wait, an outage
DELIVERY_BUCKETS = (0.1, 0.5, 1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 900.0, 3600.0)


@dataclass
class Metrics:
    """The app's own registry (no global default registry, so tests can build many apps)."""

    registry: CollectorRegistry
    requests: Counter
    #: observe the seconds an inbound event took, from processing start to its recorded outcome
    command_seconds: Histogram
    #: observe a delivered message's age (written → accepted by the platform)
    delivery_seconds: Histogram


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


def setup_metrics(app: web.Application, db: Database, connections: Connections | None = None,
                  clock: Callable[[], datetime] | None = None) -> Metrics:
    """Register ``/metrics``: requests, command latency, outbox depth, age and parked rows, inbox backlog,
    reminder lag and the long connections' counters."""
    now = clock or (lambda: datetime.now(UTC))
    registry = CollectorRegistry()
    if connections is not None:
        registry.register(_ConnectionCollector(connections))
    requests = Counter("gendan_http_requests", "HTTP requests by path and status", ["path", "status"],
                       registry=registry)
    command_seconds = Histogram("gendan_command_seconds", "Time to process one inbound event (command, press)",
                                buckets=COMMAND_BUCKETS, registry=registry)
    delivery_seconds = Histogram("gendan_outbox_delivery_seconds", "Age of an outbox message when delivered",
                                 buckets=DELIVERY_BUCKETS, registry=registry)
    outbox = Gauge("gendan_outbox_rows", "Outbox rows by status (PARKED: could not be delivered; gendan outbox)",
                   ["status"], registry=registry)
    outbox_age = Gauge("gendan_outbox_oldest_undelivered_seconds",
                       "Age of the oldest outbox message still to be delivered", registry=registry)
    inbox = Gauge("gendan_inbox_pending", "Inbound events not yet processed", registry=registry)
    inbox_failed = Gauge("gendan_inbox_failed", "Inbound events given up on (failed, or too old to replay)",
                         registry=registry)
    reminder_lag = Gauge("gendan_reminder_lag_seconds",
                         "How long the oldest due reminder has waited (quiet hours hold reminders on purpose)",
                         registry=registry)

    async def metrics_view(request: web.Request) -> web.Response:
        at = now()
        async with db.reader() as uow:
            health = await queue_health(uow, at)
        outbox.clear()
        for status, count in health.outbox.items():
            outbox.labels(status).set(count)
        outbox_age.set(_age(at, health.oldest_undelivered))
        # a status without rows is absent from the counts: it reads 0, not its last value
        inbox.set(health.inbox.get(InboxStatus.PENDING, 0))
        inbox_failed.set(health.inbox.get(InboxStatus.FAILED, 0))
        reminder_lag.set(_age(at, health.oldest_due_reminder))
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
    return Metrics(registry, requests, command_seconds, delivery_seconds)


def _age(now: datetime, since: datetime | None) -> float:
    if since is None:
        return 0.0
    return max(0.0, (now - since).total_seconds())
