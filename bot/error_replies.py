"""What a person is told when a handler fails: one error path for every handler.

Step three's other half (see ``bot.dispatch``): a refusal explains itself and keeps what was
committed; a lost write conflict and an unexpected error also drop every reply and notification
that no commit wrote, because nothing of the failed transaction happened.
"""

from __future__ import annotations

import logging
from typing import Any

from bot.context import Context
from bot.errors import UserError, error_ref
from storage.conflicts import DatabaseBusy, DuplicateRow, WriteConflict
from storage.lifecycle import Refused

log = logging.getLogger("gendan.dispatch")


def error_reply(ctx: Context, exc: Exception, texts: Any) -> None:
    """Turn a handler's exception into the reply (the pending notifications are dropped in every case)."""
    ctx.discard_pending()
    if isinstance(exc, UserError):
        ctx.reply(texts.unchanged(exc.text))
    elif isinstance(exc, Refused):
        # the lifecycle refused inside a transaction, which was rolled back: what it had prepared is void
        ctx.discard_uncommitted()
        ctx.reply(texts.unchanged(texts.refused(exc.code, exc.params, None)))
    elif isinstance(exc, WriteConflict):
        # a concurrent change to the same order won (or the database was busy); nothing of ours was written
        log.info("conflict on %s: %s", ctx.inbound.event_id, exc)
        ctx.discard_uncommitted()
        ctx.reply(texts.conflict(_conflict_kind(exc)))
    else:
        ctx.discard_uncommitted()
        ref = error_ref()
        log.exception("handler failed (event %s, ref %s)", ctx.inbound.event_id, ref)
        ctx.reply(texts.internal_error(ref))


def _conflict_kind(exc: WriteConflict) -> str:
    """Which concurrent writer won, for the words of the reply (``texts.conflict``)."""
    if isinstance(exc, DuplicateRow):
        return "duplicate"
    if isinstance(exc, DatabaseBusy):
        return "busy"
    return "stale"
