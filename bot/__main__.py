"""``python -m bot …`` is the ``gendan`` command."""

from bot.cli import main

raise SystemExit(main())
