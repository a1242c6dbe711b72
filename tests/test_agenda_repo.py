"""``uow.agenda``'s writing side and look-ups, directly: reminder rows once per key, claiming, marking,
pruning, run markers and the ``gendan jobs`` listing queries (the jobs' tests cover the fact queries)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from storage.agenda_facts import PersonRef
from storage.db import Database
from storage.models import Person, Reminder

NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Planned:
    kind: str
    key: str
    person_id: int
    due_at: datetime
    order_id: int | None = None
    text: str = ""


async def _people(db: Database) -> tuple[int, int]:
    async with db.uow() as uow:
        a = Person(platform="local", user_id="u1", name="张三")
        b = Person(platform="local", user_id="u2", name="", active=False)
        uow.session.add_all([a, b])
        await uow.session.flush()
        return a.id, b.id


async def _pending(db: Database) -> list[tuple[str | None, str]]:
    async with db.reader() as uow:
        return [(r.dedupe_key, r.status) for r, _ in await uow.agenda.next_pending(100)]


async def test_planned_reminders_are_written_once_per_key(db: Database) -> None:
    u1, _ = await _people(db)
    first = [Planned("approval", "approval:1:1:1", u1, NOW, None, "#1 待审批"),
             Planned("approval", "approval:1:1:1", u1, NOW + timedelta(hours=1)),  # same key: one row, the last
             Planned("visit", "visit:2:1", u1, NOW - timedelta(hours=1), None, "T2 回访")]
    async with db.uow() as uow:
        assert await uow.agenda.add_planned([], NOW) == 0
        assert await uow.agenda.add_planned(first, NOW) == 2
    async with db.uow() as uow:
        assert await uow.agenda.existing_keys(["approval:1:1:1", "visit:2:1", "nope"]) == {"approval:1:1:1",
                                                                                          "visit:2:1"}
        assert await uow.agenda.add_planned(first, NOW) == 0
        assert await uow.agenda.add_planned([*first, Planned("visit", "visit:3:1", u1, NOW)], NOW) == 1
        assert await uow.agenda.pending_count() == 3
    async with db.reader() as uow:
        listed = await uow.agenda.next_pending(2)
        everything = await uow.agenda.next_pending(10)
    assert [(r.dedupe_key, r.text, p) for r, p in listed] == [
        ("visit:2:1", "T2 回访", PersonRef("local", "u1", "张三")), ("visit:3:1", "", PersonRef("local", "u1", "张三"))]
    assert [(r.dedupe_key, r.due_at) for r, _ in everything][-1] == ("approval:1:1:1", NOW + timedelta(hours=1))


async def test_claim_takes_due_rows_oldest_first_and_only_self_set_ones_in_quiet_hours(db: Database) -> None:
    u1, u2 = await _people(db)
    async with db.uow() as uow:
        uow.session.add_all([
            Reminder(kind="custom", due_at=NOW - timedelta(minutes=5), person_id=u1, text="mine",
                     created_by=u1, dedupe_key=None),
            Reminder(kind="custom", due_at=NOW - timedelta(minutes=10), person_id=u1, text="set by another",
                     created_by=u2),
            Reminder(kind="visit", due_at=NOW - timedelta(minutes=20), person_id=u1, text="rule",
                     dedupe_key="visit:9:1"),
            Reminder(kind="custom", due_at=NOW + timedelta(minutes=1), person_id=u1, text="later", created_by=u1),
        ])
    async with db.uow() as uow:
        assert [r.text for r in await uow.agenda.claim_due(NOW, False, 10)] == ["rule", "set by another", "mine"]
        assert [r.text for r in await uow.agenda.claim_due(NOW, False, 2)] == ["rule", "set by another"]
        assert [r.text for r in await uow.agenda.claim_due(NOW, True, 10)] == ["mine"]


async def test_mark_and_prune_done(db: Database) -> None:
    u1, _ = await _people(db)
    old = NOW - timedelta(days=100)
    async with db.uow() as uow:
        rows = [Reminder(kind=kind, due_at=old, person_id=u1, text=kind, dedupe_key=f"{kind}:1")
                for kind in ("approval", "visit", "custom")]
        uow.session.add_all(rows)
        await uow.session.flush()
        ids = [r.id for r in rows]
    async with db.uow() as uow:
        await uow.agenda.mark(ids[:2], "SENT", NOW)
        await uow.agenda.mark([], "CANCELLED", NOW)
    assert await _pending(db) == [("custom:1", "PENDING")]
    async with db.uow() as uow:
        await uow.agenda.prune_done(("approval", "custom"), NOW - timedelta(days=90))
    async with db.uow() as uow:
        left = {r.dedupe_key: (r.status, r.sent_at) for r in await uow.agenda.claim_due(NOW, False, 10)}
        assert left == {"custom:1": ("PENDING", None)}  # a PENDING row is never pruned
        assert await uow.agenda.existing_keys(["approval:1", "visit:1", "custom:1"]) == {"visit:1", "custom:1"}


async def test_run_markers_are_claimed_once_and_pruned_by_prefix(db: Database) -> None:
    async with db.uow() as uow:
        assert not await uow.agenda.has_marker("sched:digest:2026-11-20")
        assert await uow.agenda.claim_marker("sched:digest:2026-11-20", NOW)
        assert not await uow.agenda.claim_marker("sched:digest:2026-11-20", NOW)
        assert await uow.agenda.claim_marker("sched:digest:2026-11-27", NOW)
        assert await uow.agenda.claim_marker("sched:pay:2026-11-20", NOW)
    async with db.uow() as uow:
        assert await uow.agenda.has_marker("sched:digest:2026-11-20")
        await uow.agenda.prune_markers("sched:digest:", "sched:digest:2026-11-21")
    async with db.reader() as uow:
        assert not await uow.agenda.has_marker("sched:digest:2026-11-20")
        assert await uow.agenda.has_marker("sched:digest:2026-11-27")
        assert await uow.agenda.has_marker("sched:pay:2026-11-20")  # another prefix: kept


async def test_people_look_ups(db: Database) -> None:
    u1, u2 = await _people(db)
    async with db.reader() as uow:
        assert [p.id for p in await uow.agenda.active_people()] == [u1]
        assert set(await uow.agenda.people_by_id([u1, u2, u1])) == {u1, u2}
        assert await uow.agenda.people_by_id([]) == {}
        assert await uow.agenda.person_refs([u2, 999]) == {u2: PersonRef("local", "u2", "")}
        staff = await uow.agenda.staff()
        assert staff.holders == {} and staff.managers == {}
