"""The registry of commands and actions, and the way from an event to its handler.

Step three of the dispatcher's path (see ``bot.dispatch``): text too long or too many lines,
the sender or the chat over its command rate, the command parsed and looked up (or a card
payload matched, or a fallback asked), the role gate, then the handler runs. The dispatcher
is a registry with the inbox, the transaction and the outbox around it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from bot import commands
from bot.command_limits import CommandLimits
from bot.config import Settings
from bot.context import Context
from bot.errors import InputError
from bot.events import CardAction
from bot.outbound import ActionDataError
from bot.routing import ActionSpec, CommandSpec, DirectoryHandler, FallbackHandler, Router

log = logging.getLogger("gendan.dispatch")

#: longest text read as a command: a long order or a pasted list fits; a pasted novel is
#: refused before any parsing (every grammar is linear, but the loop is shared by everyone)
MAX_COMMAND_CHARS = 4000


class Registry:
    """Commands, actions, fallbacks and contact handlers of the included routers, and their lookup."""

    def __init__(self, settings: Settings, texts: Any, clock: Callable[[], datetime]) -> None:
        self.settings = settings
        self.texts = texts
        self.clock = clock
        self.by_name: dict[str, CommandSpec] = {}
        #: every command name and alias, for matching a message (grouped once by first character there)
        self._names: tuple[str, ...] = ()
        self.specs: list[CommandSpec] = []
        self.actions: list[ActionSpec] = []
        self.fallbacks: list[FallbackHandler] = []
        self.directory: list[DirectoryHandler] = []
        self.limits = CommandLimits(settings.rate_person_per_minute, settings.rate_chat_per_minute)

    def include_routers(self, *routers: Router) -> None:
        """Register every command, alias and action of the routers."""
        try:
            for router in routers:
                for spec in router.commands:
                    self.specs.append(spec)
                    for key in (spec.name, *spec.aliases):
                        if key.lower() in self.by_name:
                            raise ValueError(f"command name {key!r} registered twice")
                        self.by_name[key.lower()] = spec
                self.actions.extend(router.actions)
                self.fallbacks.extend(router.fallbacks)
                self.directory.extend(router.directory)
        finally:  # the names matched against messages are always those registered, even after a refusal
            self._names = tuple(self.by_name)

    async def route(self, ctx: Context) -> None:
        """Find the event's handler and run it (or answer why not)."""
        inbound = ctx.inbound
        if isinstance(inbound, CardAction):
            if self._over_limit(ctx):
                return
            await self._action(ctx, inbound)
            return
        addressed = inbound.mentioned_bot or inbound.chat.chat_type == "single" or inbound.text.lstrip()[:1] in "/／"
        if len(inbound.text) > MAX_COMMAND_CHARS:
            if addressed:
                ctx.reply(self.texts.too_long(len(inbound.text), MAX_COMMAND_CHARS))
            return
        lines = inbound.text.count("\n") + 1
        if lines > self.settings.command_max_lines:
            if addressed:
                ctx.reply(self.texts.too_many_lines(lines, self.settings.command_max_lines))
            return
        if addressed and self._over_limit(ctx):
            return
        cmd = commands.parse_command(inbound.text, self._names)
        if cmd is None:
            for fallback in self.fallbacks:
                if await fallback(ctx):
                    return
            if inbound.mentioned_bot or inbound.chat.chat_type == "single":
                ctx.reply(self.texts.not_a_command())
            return
        spec = self.by_name.get(cmd.name.lower())
        if spec is None:
            ctx.reply(self.texts.unknown_command(cmd.name, cmd.args, self.specs))
            return
        if spec.roles is not None and not (spec.roles & ctx.person.roles):
            ctx.reply(self.texts.no_role(spec, ctx.person.roles, f"{ctx.person.platform}:{ctx.person.user_id}"))
            return
        ctx.read_only = spec.read_only
        try:
            await spec.handler(ctx, cmd)
        except InputError as err:
            # not understood: show the right form; a refusal (plain UserError) explains itself
            ctx.discard_pending()
            ctx.reply(self.texts.with_usage(err, spec))

    def _over_limit(self, ctx: Context) -> bool:
        """Whether the sender or the chat is over its command rate; says so once per minute."""
        inbound = ctx.inbound
        verdict = self.limits.check((inbound.actor.platform, inbound.actor.user_id),
                                    (inbound.chat.platform, inbound.chat.chat_id), self.clock().timestamp())
        if verdict is None:
            return False
        log.info("inbound %s over the %s command rate (%s/min)", inbound.event_id, verdict.scope, verdict.limit)
        if verdict.tell:
            ctx.reply(self.texts.too_fast(verdict.scope, verdict.limit, verdict.wait))
        return True

    async def _action(self, ctx: Context, inbound: CardAction) -> None:
        for spec in self.actions:
            if spec.data_type.matches(inbound.payload):
                try:
                    data = spec.data_type.unpack(inbound.payload)
                except ActionDataError:
                    break
                await spec.handler(ctx, data)
                return
        ctx.reply(self.texts.bad_action())
