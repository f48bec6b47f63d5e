"""``--demo``: the built-in simulators on free loopback ports, and the app pointed at them."""

from __future__ import annotations

from urllib.parse import urlsplit

from hybrid_tui.config import default_config
from hybrid_tui.ui.app import HybridApp
from hybrid_tui.ui.demo import start_demo
from tests.ui.helpers import SIZE, card_status, wait_for


async def test_demo_answers_with_streamed_code():
    sims, config = start_demo(default_config())
    try:
        endpoints = [urlsplit(b.endpoint) for b in config.enabled_backends()]
        assert {e.hostname for e in endpoints} == {"127.0.0.1"}
        assert len({e.port for e in endpoints}) == 2
        app = HybridApp(config, demo=True)
        async with app.run_test(size=SIZE) as pilot:
            assert "DEMO" in app.sub_title
            await wait_for(pilot, lambda: {card_status(app, n) for n in ("lmstudio", "ollama")}
                           == {"up"}, what="both up")
            # the demo's simulators are paced like real servers: just check the stream starts
            turn = await app.send("write a python function to parse a csv file")
            await wait_for(pilot, lambda: bool(turn.replies) and turn.replies[0].chunks > 5)
            decision = turn.turn.decision
            assert decision is not None and decision.backend in ("lmstudio", "ollama")
    finally:
        sims.stop()
