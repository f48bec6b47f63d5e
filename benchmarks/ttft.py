"""ttft: from the first reply byte on the client's socket to the first ``token`` event out of
``RouterService.submit`` (both kinds), and to the first frame that shows that text in the
headless app.

The simulators (child process) answer after 200 ms, as a model would; a
:class:`~benchmarks.proxy.StampingProxy` in front of each notes the instant it hands the
first body bytes to the client socket. The reply starts with a word found nowhere else on
screen, and :class:`~benchmarks.appkit.Metered` notes the first frame whose terminal bytes
contain it.
"""

from __future__ import annotations

import asyncio
import time

from benchmarks.appkit import FRAME_MS, SIZE, LoopWatch, MeteredHybridApp, wait_up
from benchmarks.child import run_child
from benchmarks.common import Figure, Row, Settings, Target
from benchmarks.proxy import StampingProxy
from benchmarks.simproc import SimProcess, config_for
from hybrid_tui.events import Error, Token
from hybrid_tui.router.service import RouterService

MARKER = "Quokkas"
REPLY = f"{MARKER} hop along the shore at dawn.\n\nThat is all."
PROMPT = "format this code for me: x = 1"
KINDS = (("lmstudio", "openai"), ("ollama", "ollama"))


def run(settings: Settings) -> Row:
    row = Row("ttft", "first reply byte on the socket -> first token event / first paint")
    sim = SimProcess("--reply", REPLY, first_token_delay=0.2, tokens_per_s=200)
    with sim, StampingProxy(sim.lmstudio) as lm, StampingProxy(sim.ollama) as ol:
        config = config_for(lm.url, ol.url)
        proxies = {"lmstudio": lm, "ollama": ol}
        events = asyncio.run(_events(config, proxies, settings.runs))
        paints = [run_child("benchmarks.ttft:paint_run", lmstudio=sim.lmstudio,
                            ollama=sim.ollama) for _ in range(settings.runs)]
    for name, kind in KINDS:
        row.add(Figure(f"to token event ({kind})", "ms", events[name],
                       targets=(Target("<=", 2.0),)))
    frame = (Target("<=", round(FRAME_MS, 1)),)
    row.add(Figure("to first paint (app, openai)", "ms", [warm for _, warm in paints],
                   targets=frame, note="one frame = 1/60 s; a new app in a warm process"))
    row.add(Figure("to first paint, first app of a process", "ms", [cold for cold, _ in paints],
                   targets=frame, note="what the first prompt after start-up sees"))
    row.notes.append("simulators answer after 200 ms; a relaying proxy stamps the first "
                     "body byte handed to the client socket; paints: per run a fresh process "
                     "runs two apps one after the other (cold, then warm)")
    return row


async def _events(
    config: object, proxies: dict[str, StampingProxy], runs: int
) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {name: [] for name, _ in KINDS}
    async with RouterService(config) as service:  # type: ignore[arg-type]
        for i in range(runs + 1):  # the first round is the warm-up
            for name, _ in KINDS:
                first: float | None = None
                async for event in service.submit(PROMPT, force=name):
                    if isinstance(event, Token) and first is None:
                        first = time.perf_counter()
                    elif isinstance(event, Error):
                        raise RuntimeError(event.message)
                if first is None or not proxies[name].stamps:
                    raise RuntimeError(f"{name}: no token or no stamp")
                if i:
                    out[name].append((first - proxies[name].stamps[-1]) * 1000)
    return out


async def paint_run(lmstudio: str, ollama: str) -> list[float]:
    """:func:`_paint_once` twice in this fresh process, each in a new app, with its own proxy
    in front of ``lmstudio`` (for ``benchmarks.child``): [cold, warm]. The first pays for
    what a process does once (imports, parser and highlighter set-up, style caches)."""
    with StampingProxy(lmstudio) as proxy:
        config = config_for(proxy.url, ollama)
        return [await _paint_once(config, proxy), await _paint_once(config, proxy)]


async def _paint_once(config: object, proxy: StampingProxy) -> float:
    """ms from the first reply byte to the first frame showing it, in a fresh app."""
    app = MeteredHybridApp(config, store=None)  # type: ignore[arg-type]
    watch = LoopWatch()
    async with app.run_test(size=SIZE) as pilot:
        app.frames.watch.append(MARKER)
        await wait_up(app, watch, "lmstudio")
        await pilot.pause(0.05)
        before = len(proxy.stamps)
        await app.send(PROMPT, force="lmstudio")
        await watch.until(lambda: MARKER in app.frames.seen, timeout=20, what="first paint")
        if len(proxy.stamps) <= before:
            raise RuntimeError("the proxy saw no reply")
        painted = app.frames.seen[MARKER]
        await watch.until(lambda: app.idle, timeout=20, what="the reply to finish")
    return (painted - proxy.stamps[before]) * 1000
