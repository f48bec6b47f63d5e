"""Fixtures for the UI tests: the app wired to the two simulators on loopback."""

from __future__ import annotations

import pytest

from hybrid_tui.ui.app import HybridApp
from tests.ui.helpers import config_for, frozen_clock


@pytest.fixture
def make_app(lmstudio_sim, ollama_sim):
    """``make_app(**kwargs)``: a HybridApp on both simulators (frozen clock by default)."""

    def _make(config=None, **kwargs) -> HybridApp:
        kwargs.setdefault("clock", frozen_clock)
        return HybridApp(config or config_for(lmstudio_sim.url, ollama_sim.url), **kwargs)

    return _make


@pytest.fixture
def sims():
    """Both simulators in a background thread with the snapshot replies: (lmstudio, ollama,
    thread); the snapshot tests start the thread when they make the app."""
    from hybrid_tui.sim import SimKnobs, SimServer, SimThread
    from tests.ui.test_snapshots import FAST_REPLY, STRONG_REPLY

    lmstudio = SimServer("openai", SimKnobs(tokens_per_s=None, reply=FAST_REPLY))
    ollama = SimServer("ollama", SimKnobs(tokens_per_s=None, reply=STRONG_REPLY))
    thread = SimThread([lmstudio, ollama])
    yield lmstudio, ollama, thread
    thread.stop()
