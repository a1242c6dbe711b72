"""Business reactions to commands and card presses; platform-neutral.

``ROUTERS`` is wired into the dispatcher explicitly by the composition roots
(``bot.app``, ``bot.cli``); importing this package registers nothing globally.
"""

from __future__ import annotations

from bot.routing import Router


def routers() -> tuple[Router, ...]:
    """Every router, in help order."""
    from handlers import (
        activity_commands,
        admin_commands,
        approval_commands,
        catalog_commands,
        dashboard_commands,
        fulfilment_commands,
        help_commands,
        order_commands,
        purchase_commands,
        quote_commands,
        report_commands,
        staff_events,
        state_commands,
    )

    return (order_commands.router, approval_commands.router, fulfilment_commands.router, state_commands.router,
            admin_commands.router, help_commands.router, catalog_commands.router, activity_commands.router,
            report_commands.router, dashboard_commands.router, staff_events.router, quote_commands.router,
            purchase_commands.router)
