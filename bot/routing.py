"""Routers: a module's commands, card actions, fallbacks and contact handlers, declared where they live.

A handler module makes one ``Router`` and registers on it; the composition root includes
every router into the dispatcher (``Dispatcher.include``), which owns the lookup and the run.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot import commands
from bot.context import Context
from bot.events import DirectoryEvent
from bot.outbound import ActionData

if TYPE_CHECKING:
    from bot.context import DispatcherLike

Handler = Callable[[Context, commands.CommandText], Awaitable[None]]
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

    def command(
        self, name: str, *, aliases: Iterable[str] = (), roles: Iterable[str] | None = None,
        usage: str = "", summary: str = "", example: str = "", read_only: bool = False,
    ) -> Callable[[Handler], Handler]:
        """Register a command handler (``roles=None``: everybody; ``read_only``: it changes nothing)."""

        def deco(fn: Handler) -> Handler:
            self.commands.append(CommandSpec(name, tuple(aliases), frozenset(roles) if roles is not None else None,
                                             usage or f"/{name}", summary, example, fn, read_only))
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
