"""``POST /api/v1/orders``: a shop or ERP creates an order exactly as ``/下单`` would.

The body is checked by the models of ``web/rest_order_input.py`` (every problem is listed,
nothing is written), then the order goes through the same steps as ``/下单``:
``resolve_fields`` (customer and products matched, a new customer filed), ``orders.create``
(draft or submitted, approval chain), and ``notify.dispatch_events`` (subscribed groups,
approval cards to 主管/老板), all in one transaction whose last step builds the answer from the
order it holds. It is processed as if the owner had typed ``/下单`` in their 1:1 chat with the
bot: the owner gets the reply there, and the order's later notices go there too. The audit
trail says ``source=api``.

Idempotency: ``external_ref`` is unique on orders; a repeated one answers the order it made.
The request does not pass through the inbox: an HTTP client retries with the same
``external_ref``, and a replayed inbox event could not rebuild a JSON body anyway.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from typing import Any

from pydantic import ValidationError

from bot.context import Context, PersonInfo
from bot.dispatch import Dispatcher
from bot.errors import UserError
from bot.events import Actor, ChatMessage, ChatRef
from handlers.common import refusing, resolve_fields
from handlers.notify import dispatch_events
from handlers.texts import api_orders as t
from handlers.texts import orders as ot
from storage.conflicts import WriteConflict
from storage.domain_events import Submitted
from storage.models import Person
from storage.services import orders as svc
from storage.vocab import Role
from web.rest_order_input import NewOrder, OrderEnvelope, details
from web.rest_schemas import Invalid, OrderOut, Problem, order_out


class Refused(Exception):
    """The body is refused; ``problems`` names each field and what is wrong with it."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(problems)
        self.problems = problems


def _refused(field: str | None, message: str) -> Refused:
    return Refused([Problem(field=field, message=message)])


async def create(dispatcher: Dispatcher, raw: bytes) -> tuple[int, OrderOut | Invalid]:
    """201 and the new order, 200 and the order an earlier request with this ``external_ref`` made,
    or 400 and every problem (nothing written)."""
    try:
        return await _create(dispatcher, raw)
    except Refused as exc:
        return 400, Invalid(error=t.INVALID, details=exc.problems)
    except UserError as exc:  # a refusal of the order itself (ambiguous customer, too large …)
        return 400, Invalid(error=f"{t.REFUSED}：{exc.text}", details=[Problem(field=None, message=exc.text)])


def _problems(exc: ValidationError, *, unknown_first: bool = False) -> Refused:
    return Refused([Problem(**d) for d in details(exc, unknown_first=unknown_first)])


async def _create(dispatcher: Dispatcher, raw: bytes) -> tuple[int, OrderOut | Invalid]:
    body = _decode(raw)
    try:
        envelope = OrderEnvelope.model_validate(body)
    except ValidationError as exc:
        raise _problems(exc, unknown_first=True) from None
    platform, sep, user_id = envelope.owner.partition(":")
    if not (sep and platform and user_id):
        raise _refused("owner", t.OWNER_FORMAT)
    try:
        return await _store(dispatcher, platform, user_id, envelope, body)
    except WriteConflict:
        # A twin request with the same external_ref won a race, on the ref itself or on a row both
        # would add (a new customer's unique name): answer its order. Else: not ours to hide.
        if not envelope.external_ref:
            raise
        async with dispatcher.db.reader() as uow:
            order = await uow.pages.order_by_external_ref(envelope.external_ref)
            if order is None:
                raise
            return 200, order_out(order, dispatcher.settings.tz)


def _decode(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise _refused(None, t.NOT_JSON) from None
    if not isinstance(body, dict):
        raise _refused(None, t.NOT_JSON)
    return body


def _owner(person: Person | None, spec: str) -> PersonInfo:
    """The owner an API request names: an active person holding 销售."""
    if person is None or not person.active:
        raise _refused("owner", t.OWNER_UNKNOWN.format(owner=spec))
    if Role.SALES not in person.role_names:
        raise _refused("owner", t.OWNER_NOT_SALES.format(name=person.label))
    return PersonInfo(person.id, person.platform, person.user_id, person.label, person.role_names)


async def _store(dispatcher: Dispatcher, platform: str, user_id: str, envelope: OrderEnvelope,
                 body: dict[str, Any]) -> tuple[int, OrderOut | Invalid]:
    """Create the order as the owner's ``/下单`` in their 1:1 chat would, with ``source=api``; answer it."""
    ref = envelope.external_ref
    event_id = f"api:{ref}" if ref else f"api:{uuid.uuid4().hex}"
    chat = ChatRef(platform, user_id, "single")
    inbound = ChatMessage(platform=platform, event_id=event_id, chat=chat, actor=Actor(platform, user_id), text="")
    # an API request has no inbox row (idempotence is by external_ref): nothing to mark done; the
    # person is looked up in the transaction below
    ctx = Context(inbound=inbound, person=PersonInfo(0, platform, user_id, user_id, frozenset()),
                  settings=dispatcher.settings, db=dispatcher.db, clock=dispatcher.clock, dispatcher=dispatcher,
                  inbox_done=True)
    tz = dispatcher.settings.tz
    async with ctx.uow() as uow:
        if ref and (existing := await uow.pages.order_by_external_ref(ref)) is not None:
            return 200, order_out(existing, tz)
        ctx.person = owner = _owner(await uow.people.by_ref(platform, user_id), envelope.owner)
        try:
            fields = NewOrder.model_validate(body, context={"today": ctx.today()}).order_fields()
        except ValidationError as exc:
            raise _problems(exc) from None
        # the request came from no chat: the audit names the API and the caller's reference
        prov = replace(ctx.prov, chat_platform=None, chat_id=None, source="api", source_ref=ref or event_id)
        resolved = await resolve_fields(uow, fields, owner.id)
        origin = svc.Origin(owner.platform, owner.user_id, "single")
        with refusing(None):
            order, events = await svc.create(uow, prov, resolved.data, origin, ctx.rules, ctx.now())
        await uow.pages.set_external_ref(order, ref)
        await dispatch_events(ctx, uow, order, events)
        submitted = next((e for e in events if isinstance(e, Submitted)), None)
        ctx.reply(t.via_api(ref) + "\n" + ot.created(order, resolved.new_customer, resolved.free_lines, None,
                                                      submitted))
        return 201, order_out(order, tz)
