"""responsive: key press to key handled in the headless app, while a reply streams at
2,000 tok/s and while one backend is a black hole (accepts, never answers: its health probe
and a prompt sent to it hang), against the idle app.

Presses come from another thread, the way a terminal driver's input thread delivers them
(``call_soon_threadsafe``), at jittered intervals, so a key that arrives while the event loop
is busy waits for it exactly as a real one would. A press types ``x`` into the prompt;
"handled" is when the prompt's ``TextArea.Changed`` reaches the app.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from typing import Any

from textual import events
from textual.widgets import TextArea

from benchmarks.appkit import SIZE, GCWatch, LoopWatch, MeteredHybridApp, reply_of, wait_up
from benchmarks.child import run_child
from benchmarks.common import Figure, Row, Settings, Target, percentile
from benchmarks.simproc import SimProcess, config_for
from hybrid_tui.config import Config

SPEED = 2_000


class ProbedApp(MeteredHybridApp):
    """The app, noting when each change to the prompt's text reaches it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.handled: list[float] = []
        #: set on every change, so the pressing thread can wait without polling
        self.changed = threading.Event()

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        self.handled.append(time.perf_counter())
        self.changed.set()


def run(settings: Settings) -> Row:
    presses = settings.size(60, 15)
    row = Row("responsive", f"key press to handled, {presses} presses per run")
    idle: list[tuple[float, float]] = []
    streaming: list[tuple[float, float]] = []
    # long enough to outlast the presses even when each waits ~200 ms to be handled
    with SimProcess(tokens_per_s=SPEED, reply_tokens=40_000) as sim:
        urls = {"lmstudio": sim.lmstudio, "ollama": sim.ollama, "presses": presses}
        for i in range(settings.runs + 1):  # the first round is the warm-up
            a = run_child("benchmarks.responsive:session_run", send_to=None, **urls)
            b = run_child("benchmarks.responsive:session_run", send_to="lmstudio", **urls)
            if i:
                idle.append(a)
                streaming.append(b)
    with SimProcess("--fault", "ollama=blackhole") as sim:
        urls = {"lmstudio": sim.lmstudio, "ollama": sim.ollama, "presses": presses}
        blackhole = [run_child("benchmarks.responsive:session_run", send_to="ollama", **urls)
                     for _ in range(settings.runs + 1)][1:]
    ref = "idle app p99"
    row.add(Figure(f"streaming at {SPEED:,} tok/s p99", "ms", [p for p, _ in streaming],
                   reference=ref, targets=(Target("<=", 50),)))
    row.add(Figure("one backend a black hole p99", "ms", [p for p, _ in blackhole],
                   reference=ref, targets=(Target("<=", 50),)))
    row.add(Figure(ref, "ms", [p for p, _ in idle]))
    row.add(Figure("longest GC pause while streaming", "ms", [g for _, g in streaming]))
    row.notes.append("per run: the p99 of its presses; presses every 15-35 ms from a thread; "
                     "each run a fresh app in a fresh process (benchmarks.child)")
    return row


async def session_run(
    lmstudio: str, ollama: str, presses: int, send_to: str | None
) -> tuple[float, float]:
    """:func:`_session` against the simulators at these URLs (for ``benchmarks.child``)."""
    return await _session(config_for(lmstudio, ollama), presses, send_to)


async def _session(
    config: Config, presses: int, send_to: str | None
) -> tuple[float, float]:
    """One app; ``presses`` key presses while idle (None) or while a prompt sent to
    ``send_to`` is in progress. The p99 press-to-handled time and the longest garbage
    collection meanwhile, in ms."""
    app = ProbedApp(config, store=None)
    watch = LoopWatch()
    async with app.run_test(size=SIZE) as pilot:
        await wait_up(app, watch, "lmstudio")
        await pilot.pause(0.1)
        turn = None
        if send_to is not None:
            turn = await app.send("format this code, then explain it: x=1", force=send_to)
            await watch.until(lambda: _busy(app, turn, send_to), timeout=20,
                              what="a reply under way")
        app.prompt_input.focus()
        await pilot.pause(0.02)
        app.handled.clear()
        presser = _Presser(asyncio.get_running_loop(), app, presses)
        thread = threading.Thread(target=presser.run, name="bench-keys", daemon=True)
        thread.start()

        def finished() -> bool:
            # the app is read here, on its own loop; the thread only reads the flag
            if send_to is not None and not _busy(app, turn, send_to):
                presser.active = False
            return not thread.is_alive()

        with GCWatch() as gcs:
            await watch.until(finished, timeout=120, what="the presses")
        if len(presser.latencies) < max(3, presses // 3):  # the scenario ended too soon
            raise RuntimeError(f"only {len(presser.latencies)} of {presses} presses counted "
                               "(the reply ended too soon?)")
        app.runner.cancel()
        await watch.until(lambda: app.idle, timeout=20, what="the prompt to stop")
    return percentile(presser.latencies, 99), gcs.longest_ms


def _busy(app: ProbedApp, turn: Any, send_to: str | None) -> bool:
    """``turn`` is in progress: streaming for a live backend, waiting for a black hole."""
    reply = reply_of(turn)
    if send_to == "lmstudio":
        return reply is not None and reply.status == "streaming" and reply.chunks > 0
    return not app.idle


class _Presser:
    """Presses ``x`` from its own thread and measures each press until it is handled."""

    def __init__(self, loop: asyncio.AbstractEventLoop, app: ProbedApp, presses: int) -> None:
        self.loop = loop
        self.app = app
        self.presses = presses
        #: cleared (from the app's loop) when the scenario is over, e.g. the reply ended
        self.active = True
        self.latencies: list[float] = []
        self.rng = random.Random(7)

    def run(self) -> None:
        app = self.app
        for _ in range(self.presses):
            time.sleep(self.rng.uniform(0.015, 0.035))
            if not self.active:
                return  # later presses would measure an idle app
            before = len(app.handled)
            app.changed.clear()
            sent = time.perf_counter()
            self.loop.call_soon_threadsafe(app.post_message, events.Key("x", "x"))
            if not app.changed.wait(5.0) or len(app.handled) <= before:
                return
            self.latencies.append((app.handled[before] - sent) * 1000)
