"""Logging set-up: plain text lines, or one JSON object per line (``GENDAN_LOG_FORMAT=json``).

Every record logged while an inbound event is processed carries that event's id
(``platform:event_id``), so a log collector can gather everything one command did.
"""

from __future__ import annotations

import contextvars
import json
import logging
from datetime import UTC, datetime

#: the inbound event being processed in this task ("" outside one); set by the dispatcher
EVENT_ID: contextvars.ContextVar[str] = contextvars.ContextVar("gendan_event_id", default="")

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class EventIdFilter(logging.Filter):
    """Puts the current event id on every record as ``record.event_id``."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Always passes the record, with ``event_id`` set."""
        record.event_id = EVENT_ID.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC, ISO 8601), level, logger, message, event_id, exception."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as a single line of JSON."""
        out: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        event_id = getattr(record, "event_id", "") or EVENT_ID.get()
        if event_id:
            out["event_id"] = event_id
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


def configure(log_format: str, level: int = logging.INFO) -> None:
    """Set up the root logger for ``gendan`` commands: ``"json"`` or ``"text"``."""
    handler = logging.StreamHandler()
    handler.addFilter(EventIdFilter())
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # APScheduler says "Running job … executed successfully" at INFO every minute: an operator's
    # log should show the reminders sent (our own lines), not the timer ticking
    logging.getLogger("apscheduler").setLevel(max(level, logging.WARNING))
