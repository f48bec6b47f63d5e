"""``python -m hybrid_tui``."""

from hybrid_tui.cli import main

raise SystemExit(main())
