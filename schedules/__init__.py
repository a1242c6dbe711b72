"""The time-driven side of the bot: reminders, escalations, digests and weekly reports.

- :mod:`schedules.calendar`: working hours, holidays and quiet hours (pure).
- :mod:`schedules.terms`: when an order's payment is due, from its payment terms (pure).
- :mod:`schedules.rules`: which reminders are due for given facts at a given time (pure).
- :mod:`schedules.quote_purchase_rules`: quotations about to expire, purchases past their date.
- :mod:`schedules.facts`: loading those facts through ``uow.agenda`` with the rules' thresholds.
- :mod:`schedules.reminder_delivery`: claiming due reminders and writing one message per recipient.
- :mod:`schedules.digests`: the daily digest and the weekly report.
- :mod:`schedules.jobs`: the job coroutines (``tick``), run by :mod:`schedules.scheduler`.
- :mod:`schedules.listing`: what is due next (``gendan jobs``), with :mod:`schedules.forecast`.

Nothing here opens a connection at import time or speaks SQL: every query, the reminder rows
(written once by their dedupe keys) and the run markers are :mod:`storage.repos.agenda`'s.
See ``docs/reminders.md``.
"""
