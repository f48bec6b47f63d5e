"""The loop-turn timer of ``python -m benchmarks.profiling tui --loop``: it counts only the
streaming window, names what ran in the longest turns, and puts back what it wrapped."""

from __future__ import annotations

import asyncio

from textual._compositor import Compositor

from benchmarks import appkit, tui
from benchmarks.looptime import LoopTimes, Turn, loop_times
from hybrid_tui.ui.widgets.turn import ReplyView


def test_the_report_counts_the_streaming_window_only() -> None:
    times = LoopTimes(
        turns=[Turn(0.5, 90.0, ["before"]), Turn(1.0, 5.0), Turn(1.1, 25.0, ["flush 24.0"]),
               Turn(1.2, 10.0, ["paint 9.0"]), Turn(3.0, 80.0, ["after"])],
        window=[1.0, 2.0],
    )
    assert [t.cpu_ms for t in times.streaming()] == [5.0, 25.0, 10.0]
    report = times.report(top=2)
    assert "3 loop turns" in report and "max 25.0" in report
    assert "two turns in a row max 35.0" in report and "turns over 20 ms: 1" in report
    longest = report.splitlines()[2:]
    assert "flush 24.0" in longest[0] and "paint 9.0" in longest[1]
    assert "before" not in report and "after" not in report


def test_timing_is_undone_afterwards() -> None:
    originals = (asyncio.BaseEventLoop._run_once, appkit.LoopWatch.reset, tui.turn_finished,
                 ReplyView._flush, Compositor.reflow, Compositor.render_update)
    with loop_times() as times:
        asyncio.run(asyncio.sleep(0))
        appkit.LoopWatch().reset()
    assert times.turns and times.window[0] > 0
    assert (asyncio.BaseEventLoop._run_once, appkit.LoopWatch.reset, tui.turn_finished,
            ReplyView._flush, Compositor.reflow, Compositor.render_update) == originals
