"""Routers: a module's commands, card actions, fallbacks and contact handlers, declared where they live.

A handler module makes one ``Router`` and registers on it; the composition root includes
every router into the dispatcher (``Dispatcher.include``), which owns the lookup and the run.
A command that declares its argument grammar (``parse=``) is called with the parsed value:
the refusal of arguments that were not understood is this module's, for every command.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar, overload

from bot import commands
from bot.commands import ArgError, ArgParser, ParseContext
from bot.context import Context
from bot.errors import InputError
from bot.events import DirectoryEvent
from bot.outbound import ActionData
from storage import catalog_units

if TYPE_CHECKING:
    from bot.context import DispatcherLike

P = TypeVar("P")
Handler = Callable[[Context, commands.CommandText], Awaitable[None]]
#: a command handler that declared its grammar: it receives the parsed arguments too
ParsedHandler = Callable[[Context, commands.CommandText, P], Awaitable[None]]
ActionHandler = Callable[[Context, Any], Awaitable[None]]
DirectoryHandler = Callable[["DispatcherLike", DirectoryEvent], Awaitable[None]]
FallbackHandler = Callable[[Context], Awaitable[bool]]


@dataclass(frozen=True)
class CommandSpec:
    """A registered command: names, who may use it, and its help text."""

    name: str
    aliases: tuple[str, ...]
    roles: frozenset[str] | None
    usage: str
    summary: str
    example: str
    handler: Handler
    #: changes nothing: runs in a reader (no write lock held while it loads); its reply and the
    #: inbox mark are written afterwards in one short transaction
    read_only: bool = False


@dataclass(frozen=True)
class ActionSpec:
    """A registered card-button payload type and its handler."""

    data_type: type[ActionData]
    handler: ActionHandler


class Router:
    """Collects a module's commands and actions; included into a dispatcher explicitly."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.commands: list[CommandSpec] = []
        self.actions: list[ActionSpec] = []
        self.fallbacks: list[FallbackHandler] = []
        self.directory: list[DirectoryHandler] = []

    @overload
    def command(
        self, name: str, *, aliases: Iterable[str] = (), roles: Iterable[str] | None = None,
        usage: str = "", summary: str = "", example: str = "", read_only: bool = False, parse: None = None,
    ) -> Callable[[Handler], Handler]: ...

    @overload
    def command(
        self, name: str, *, aliases: Iterable[str] = (), roles: Iterable[str] | None = None,
        usage: str = "", summary: str = "", example: str = "", read_only: bool = False, parse: ArgParser[P],
    ) -> Callable[[ParsedHandler[P]], ParsedHandler[P]]: ...

    def command(
        self, name: str, *, aliases: Iterable[str] = (), roles: Iterable[str] | None = None,
        usage: str = "", summary: str = "", example: str = "", read_only: bool = False,
        parse: ArgParser[Any] | None = None,
    ) -> Callable[[Any], Any]:
        """Register a command handler (``roles=None``: everybody; ``read_only``: it changes nothing).

        With ``parse`` the handler is called as ``handler(ctx, cmd, parsed)``: the arguments are parsed
        first, and arguments that were not understood end the command with the usage reply.
        """

        def deco(fn: Any) -> Any:
            run: Handler = fn if parse is None else parsing(parse, fn)
            self.commands.append(CommandSpec(name, tuple(aliases), frozenset(roles) if roles is not None else None,
                                             usage or f"/{name}", summary, example, run, read_only))
            return fn

        return deco

    def action(self, data_type: type[ActionData]) -> Callable[[ActionHandler], ActionHandler]:
        """Register a handler for a card-button payload type."""

        def deco(fn: ActionHandler) -> ActionHandler:
            self.actions.append(ActionSpec(data_type, fn))
            return fn

        return deco

    def fallback(self, fn: FallbackHandler) -> FallbackHandler:
        """Register a handler for plain text (e.g. the answer to a question the bot asked)."""
        self.fallbacks.append(fn)
        return fn

    def on_directory(self, fn: DirectoryHandler) -> DirectoryHandler:
        """Register a handler for contact events (a person left)."""
        self.directory.append(fn)
        return fn


def parsing(parser: ArgParser[P], handler: ParsedHandler[P]) -> Handler:
    """The handler the dispatcher calls: parse the arguments, then run ``handler`` with them.

    A parser that accepts the catalogue's units gets them from the in-process cache
    (``storage.catalog_units``; a reader when it is stale, or when the text names a word after a
    number that no cached unit begins: another process may have added it), before the command's
    own transaction.
    """

    async def run(ctx: Context, cmd: commands.CommandText) -> None:
        units: tuple[str, ...] = ()
        if parser.units:
            units = await catalog_units.units(ctx.db)
            if not catalog_units.is_recent(ctx.db) and catalog_units.may_name_unknown_unit(cmd.args, units):
                units = await catalog_units.units(ctx.db, fresh=True)
        try:
            parsed = parser(cmd.args, ParseContext(ctx.now(), units, ctx.person.roles))
        except ArgError as err:
            raise InputError(str(err)) from err
        await handler(ctx, cmd, parsed)

    return run
