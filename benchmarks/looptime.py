"""Event-loop turns of the tui workload, by CPU time: ``python -m benchmarks.profiling tui --loop``.

The tui row's *longest frame* is wall time, so on a shared machine it moves with other
processes' load. The turns of the event loop it is made of do not: this times each turn
(``asyncio`` runs every ready callback of a turn back to back) with the thread's CPU clock,
while the reply streams, and says which of the app's long callbacks ran in the longest ones
(a flush of the reply's text, a screen update's reflow and paint, a garbage collection).
Timing wraps the loop's private ``_run_once`` and a few Textual methods: benchmarks only.
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from textual._compositor import Compositor

from benchmarks import appkit, tui
from hybrid_tui.ui.widgets.turn import ReplyView


@dataclass
class Turn:
    """One turn of the event loop: when it started, its CPU milliseconds, what ran in it."""

    start: float
    cpu_ms: float
    parts: list[str] = field(default_factory=list)


@dataclass
class LoopTimes:
    turns: list[Turn] = field(default_factory=list)
    #: the streaming window: from the LoopWatch reset before ``send`` to the reply's end
    window: list[float] = field(default_factory=lambda: [0.0, float("inf")])

    def streaming(self) -> list[Turn]:
        start, end = self.window
        return [t for t in self.turns if start <= t.start <= end]

    def report(self, top: int = 5) -> str:
        turns = self.streaming()
        cpu = sorted(t.cpu_ms for t in turns)
        if not cpu:
            return "no loop turns while the reply streamed"
        pairs = [a.cpu_ms + b.cpu_ms for a, b in pairwise(turns)]
        quantiles = statistics.quantiles(cpu, n=100) if len(cpu) > 1 else cpu * 99
        lines = [f"{len(cpu)} loop turns while the reply streamed, CPU ms: median "
                 f"{statistics.median(cpu):.1f}, p90 {quantiles[89]:.1f}, p99 "
                 f"{quantiles[98]:.1f}, max {cpu[-1]:.1f}; two turns in a row max "
                 f"{max(pairs, default=cpu[-1]):.1f}; turns over 20 ms: "
                 f"{sum(c > 20 for c in cpu)}", "longest turns:"]
        for t in sorted(turns, key=lambda t: -t.cpu_ms)[:top]:
            lines.append(f"  {t.cpu_ms:6.1f} ms  {' '.join(t.parts) or '(other callbacks)'}")
        return "\n".join(lines)


def _wrap(owner: Any, name: str, label: str, times: LoopTimes,
          undo: list[Callable[[], None]]) -> None:
    original = getattr(owner, name)

    def timed(*args: Any, **kwargs: Any) -> Any:
        start = time.thread_time()
        try:
            return original(*args, **kwargs)
        finally:
            if times.turns:
                times.turns[-1].parts.append(
                    f"{label} {(time.thread_time() - start) * 1000:.1f}")

    setattr(owner, name, timed)
    undo.append(lambda: setattr(owner, name, original))


@contextmanager
def loop_times() -> Iterator[LoopTimes]:
    """Record every loop turn while in use; the streaming window runs from the tui row's
    ``LoopWatch.reset`` (just before ``send``) to the first time its reply is finished."""
    times = LoopTimes()
    undo: list[Callable[[], None]] = []
    run_once = asyncio.BaseEventLoop._run_once  # type: ignore[attr-defined]

    def timed_run_once(loop: asyncio.BaseEventLoop) -> None:
        turn = Turn(time.perf_counter(), 0.0)
        times.turns.append(turn)
        start = time.thread_time()
        run_once(loop)
        turn.cpu_ms = (time.thread_time() - start) * 1000

    reset = appkit.LoopWatch.reset

    def timed_reset(watch: appkit.LoopWatch) -> None:
        times.window[:] = [time.perf_counter(), float("inf")]
        reset(watch)

    finished = tui.turn_finished

    def timed_finished(app: Any, turn: Any) -> bool:
        done = finished(app, turn)
        if done and times.window[1] == float("inf"):
            times.window[1] = time.perf_counter()
        return done

    def on_gc(phase: str, info: dict[str, Any]) -> None:
        if phase == "start" and info["generation"] == 2 and times.turns:
            times.turns[-1].parts.append("full-gc")

    asyncio.BaseEventLoop._run_once = timed_run_once  # type: ignore[attr-defined]
    appkit.LoopWatch.reset = timed_reset  # type: ignore[method-assign]
    tui.turn_finished = timed_finished
    _wrap(ReplyView, "_flush", "flush", times, undo)
    _wrap(Compositor, "reflow", "reflow", times, undo)
    _wrap(Compositor, "render_update", "paint", times, undo)
    gc.callbacks.append(on_gc)
    try:
        yield times
    finally:
        asyncio.BaseEventLoop._run_once = run_once  # type: ignore[attr-defined]
        appkit.LoopWatch.reset = reset  # type: ignore[method-assign]
        tui.turn_finished = finished
        gc.callbacks.remove(on_gc)
        for step in undo:
            step()
