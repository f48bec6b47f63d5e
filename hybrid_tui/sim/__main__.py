"""``python -m hybrid_tui.sim``: simulated LM Studio and Ollama in the foreground."""

from hybrid_tui.sim.demo import main

raise SystemExit(main())
