"""``hybrid-tui --demo``: the app against the built-in simulators, no servers needed.

A fast "LM Studio" and a slower "Ollama" (realistic token rates, code-shaped replies that
differ per prompt type) run in a background thread on free loopback ports; the config the
app gets points every backend there. The header says DEMO, and the demo keeps its own
SQLite file so simulated outcomes never teach the real router anything.
"""

from __future__ import annotations

from dataclasses import replace

from hybrid_tui.config import Config, default_backends
from hybrid_tui.sim import SimThread, demo_servers


def demo_config(config: Config, *, lmstudio_url: str, ollama_url: str) -> Config:
    """``config`` with exactly the two default backends, pointed at the simulators.

    Routing, health and UI settings are kept; backends are the defaults (the simulators
    list the models those prefer), so a user's own servers are never contacted."""
    backends = default_backends()
    backends["lmstudio"] = replace(backends["lmstudio"], endpoint=lmstudio_url)
    backends["ollama"] = replace(backends["ollama"], endpoint=ollama_url)
    return replace(config, backends=backends)


def start_demo(config: Config) -> tuple[SimThread, Config]:
    """Start the simulators (blocks until they listen) and return them with the config."""
    lmstudio, ollama = demo_servers(thinking=True)
    sims = SimThread([lmstudio, ollama])
    sims.start()
    return sims, demo_config(config, lmstudio_url=lmstudio.url, ollama_url=ollama.url)
