"""The domain events' routing attributes (storage/domain_events.py): every kind, its topic, who is told
1:1 and which events close approval cards, as the routing table of handlers/notify.py had them."""

from __future__ import annotations

import dataclasses

import pytest

from handlers.texts import notices
from storage import domain_events as ev


def _leaves(cls: type[ev.DomainEvent]) -> list[type[ev.DomainEvent]]:
    out: list[type[ev.DomainEvent]] = []
    for sub in cls.__subclasses__():
        out += _leaves(sub)
        if "kind" in vars(sub):
            out.append(sub)
    return out


EVENTS = {cls.kind: cls for cls in _leaves(ev.DomainEvent)}

TOPIC = {
    "submitted": "新订单", "confirmed": "审批", "approval_needed": "审批", "step_approved": "审批",
    "approved": "审批", "rejected": "审批", "withdrawn": "审批", "change_requested": "审批",
    "change_approved": "审批", "change_rejected": "审批", "change_applied": "审批", "change_obsolete": "审批",
    "production_started": "生产", "production_finished": "生产", "shipped": "发货", "signed": "发货",
    "paid": "回款", "completed": "回款", "held": "审批", "resumed": "审批", "closed": "审批",
    "cancelled": "审批", "reopened": "审批", "ticket_opened": "售后", "ticket_resolved": "售后",
    "reassigned": "新订单",
}
OWNER_EVENTS = {"approved", "rejected", "change_approved", "change_rejected", "shipped", "paid", "completed",
                "held", "resumed", "closed", "cancelled", "reopened", "confirmed", "reassigned"}
CLOSING = {"approved", "step_approved", "change_approved", "rejected", "change_rejected", "withdrawn", "cancelled",
           "held", "closed", "change_obsolete"}


def test_every_kind_is_one_class() -> None:
    assert len(EVENTS) == len(_leaves(ev.DomainEvent))
    assert set(EVENTS) == set(TOPIC) | {"created", "edited", "shortage", "quote_created", "quote_approval_needed",
                                        "quote_approved", "quote_rejected", "quote_withdrawn"}


@pytest.mark.parametrize("kind", sorted(EVENTS))
def test_routing_attributes(kind: str) -> None:
    cls = EVENTS[kind]
    assert cls.topic == TOPIC.get(kind)
    expected_owner = (ev.OwnerTold.ALWAYS if kind == "reassigned" else ev.OwnerTold.OUTSIDE_GROUP
                      if kind in OWNER_EVENTS else ev.OwnerTold.NEVER)
    assert cls.owner_told is expected_owner
    assert cls.role_told == ("warehouse" if kind == "production_finished" else None)
    assert cls.closes_cards is (kind in CLOSING)
    # a closed card states its outcome
    assert (cls in notices.OUTCOMES) is (kind in CLOSING)


def test_events_are_frozen_and_compare_by_class_and_fields() -> None:
    a = ev.Approved(1, 2, approval_id=3, role="manager")
    assert a == ev.Approved(1, 2, approval_id=3, role="manager")
    assert a != ev.Rejected(1, 2, approval_id=3, role="manager")
    assert a != ev.Approved(1, 2, approval_id=4, role="manager")
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.role = "boss"  # type: ignore[misc]


def test_which_cards_an_event_closes() -> None:
    assert ev.StepApproved(1, 2, approval_id=7, role="manager").approvals_closed() == (7,)
    assert ev.Withdrawn(1, 2, closed_approvals=(7, 8)).approvals_closed() == (7, 8)
    assert ev.Held(1, 2).approvals_closed() == ()
    assert ev.Cancelled(1, 2, closed_approvals=(9,)).approvals_closed() == (9,)
    assert ev.ChangeObsolete(1, 2, approval_id=7, role="boss", lapsed_approvals=(5, 7)).approvals_closed() == (5, 7)
    assert ev.Shipped(1, 2, shipment_id=1, seq=1).approvals_closed() == ()
