"""Business reactions to commands and card presses; platform-neutral.

``ROUTERS`` is wired into the dispatcher explicitly by the composition roots
(``bot.app``, ``bot.cli``); importing this package registers nothing globally.
"""

from __future__ import annotations

from bot.routing import Router


def routers() -> tuple[Router, ...]:
    """Every router, in help order."""
    from handlers import approval_commands, board, fulfilment, info, manage, orders, purchasing, quotes, reports, staff

    return (orders.router, approval_commands.router, fulfilment.router, manage.router, info.router, reports.router,
            board.router, staff.router, quotes.router, purchasing.router)
