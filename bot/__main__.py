"""`python -m bot` is `panbot`."""

from bot.cli import main

raise SystemExit(main())
