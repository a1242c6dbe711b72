"""The exceptions handlers raise; the dispatcher turns them into replies."""

from __future__ import annotations

import secrets


class BotError(Exception):
    """Base of errors that end a command with a reply to the person."""


class UserError(BotError):
    """Bad input or a refused action: ``text`` (Chinese) is replied; nothing was changed."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


class InputError(UserError):
    """The message itself was not understood: the reply adds the command's right form and an example."""


class PermissionDenied(UserError):
    """The person lacks the role the command needs."""


class NotFound(UserError):
    """The named order, customer or ticket does not exist."""


def error_ref() -> str:
    """A short reference code shown to the person and written to the log with the traceback."""
    return secrets.token_hex(3).upper()
