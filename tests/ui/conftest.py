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
