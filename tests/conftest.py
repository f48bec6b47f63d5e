"""Shared fixtures: a private data/config dir per test, and simulated servers on loopback."""

from __future__ import annotations

from dataclasses import dataclass

import pytest


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path, monkeypatch):
    """No test reads or writes the real user's config or data."""
    monkeypatch.setenv("HYBRID_TUI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("HYBRID_TUI_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.delenv("HYBRID_TUI_CONFIG", raising=False)
    monkeypatch.delenv("OLLAMA_HOST", raising=False)


@pytest.fixture
async def ollama_sim():
    """A simulated Ollama on an ephemeral loopback port (unlimited speed by default)."""
    from hybrid_tui.sim import SimKnobs, SimServer

    async with SimServer("ollama", SimKnobs(tokens_per_s=None)) as server:
        yield server


@pytest.fixture
async def lmstudio_sim():
    """A simulated LM Studio on an ephemeral loopback port (unlimited speed by default)."""
    from hybrid_tui.sim import SimKnobs, SimServer

    async with SimServer("openai", SimKnobs(tokens_per_s=None)) as server:
        yield server


@pytest.fixture
def make_config():
    """Build a Config pointing at the given simulators: make_config(lmstudio=url, ollama=url)."""
    from dataclasses import replace

    from hybrid_tui.config import Config, HealthConfig, default_backends

    def _make(*, lmstudio: str | None = None, ollama: str | None = None, **routing) -> Config:
        from hybrid_tui.config import RoutingConfig

        backends = default_backends()
        if lmstudio is not None:
            backends["lmstudio"] = replace(backends["lmstudio"], endpoint=lmstudio, timeout=5.0)
        if ollama is not None:
            backends["ollama"] = replace(backends["ollama"], endpoint=ollama, timeout=5.0)
        return Config(
            routing=RoutingConfig(**routing),
            backends=backends,
            health=HealthConfig(interval=30.0, timeout=2.0),
        )

    return _make


@dataclass
class ThreadedSims:
    """Both simulators served from a background thread (for subprocess and sync tests)."""

    thread: object
    lmstudio: object
    ollama: object


@pytest.fixture
def threaded_sims():
    """A simulated LM Studio and Ollama at unlimited speed, running in a SimThread."""
    from hybrid_tui.sim import SimKnobs, SimServer, SimThread

    lmstudio = SimServer("openai", SimKnobs(tokens_per_s=None))
    ollama = SimServer("ollama", SimKnobs(tokens_per_s=None))
    thread = SimThread([lmstudio, ollama])
    thread.start()
    try:
        yield ThreadedSims(thread, lmstudio, ollama)
    finally:
        thread.stop()
