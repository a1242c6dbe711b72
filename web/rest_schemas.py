"""The JSON objects of the REST API, built from the rows ``uow.pages`` returns."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from storage import lifecycle
from storage.models import AuditEvent, Order
from storage.vocab import STAGE_LABELS, STATE_LABELS

CENT = Decimal("0.01")


def _dec(value: Decimal) -> str:
    return str(value.quantize(CENT))


def _qty(value: Decimal) -> str:
    return f"{value.normalize():f}"


def order_json(order: Order, tz: Any) -> dict[str, Any]:
    """The interface's ``Order`` object."""
    stage = lifecycle.stage(order)
    return {
        "no": order.no,
        "state": order.state,
        "state_label": STATE_LABELS.get(order.state, order.state),
        "stage": stage.value if stage else None,
        "stage_label": STAGE_LABELS[stage] if stage else None,
        "customer": {"id": order.customer.id, "name": order.customer.name} if order.customer else None,
        "owner": {"platform": order.owner.platform, "user_id": order.owner.user_id, "name": order.owner.name},
        "lines": [{"sku": ln.sku, "name": ln.name, "qty": _qty(ln.qty), "unit": ln.unit,
                   "unit_price": _dec(ln.unit_price) if ln.unit_price is not None else None,
                   "shipped_qty": _qty(ln.shipped_qty)} for ln in order.lines],
        "amount": _dec(order.amount),
        "paid_amount": _dec(order.paid_amount),
        "balance": _dec(lifecycle.balance(order)),
        "due_date": order.due_date.isoformat() if order.due_date else None,
        "payment_terms": order.payment_terms,
        "note": order.note,
        "missing": lifecycle.missing(order),
        "version": order.version,
        "created_at": order.created_at.astimezone(tz).isoformat(),
        "updated_at": order.updated_at.astimezone(tz).isoformat(),
    }


def event_json(ev: AuditEvent, tz: Any) -> dict[str, Any]:
    """One audit event."""
    return {
        "id": ev.id, "at": ev.at.astimezone(tz).isoformat(), "action": ev.action, "summary": ev.summary,
        "who": {"platform": ev.actor_platform, "user_id": ev.actor_user_id, "name": ev.actor_name,
                "roles": ev.actor_roles},
        "chat": {"platform": ev.chat_platform, "chat_id": ev.chat_id} if ev.chat_id else None,
        "source": ev.source, "source_ref": ev.source_ref, "order_version": ev.order_version,
        "before": ev.before, "after": ev.after,
    }
