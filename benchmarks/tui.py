"""tui: the stream row's reply rendered in the headless app (160x50), from ``send`` to the
final text in the reply's Markdown widget; frames drawn and the longest frame. Reference:
the same reply from the same router service written token by token into
``MarkdownStream.write`` in a bare Textual app (the common chat-app pattern), same run.

Each run is a fresh app (no earlier turns) in a fresh process (:mod:`benchmarks.child`),
fed by the simulators in another child process at unlimited rate. "Longest frame" is the
longest the event loop was unavailable while the reply streamed (see
:class:`benchmarks.appkit.LoopWatch`): no frame can be drawn then. Garbage-collection
pauses in the same window are reported beside it, being one cause.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from textual.containers import VerticalScroll
from textual.widgets import Markdown

from benchmarks.appkit import (
    SIZE,
    BareMarkdownApp,
    GCWatch,
    LoopWatch,
    MeteredHybridApp,
    reply_of,
    turn_finished,
    wait_up,
)
from benchmarks.child import run_child
from benchmarks.common import Figure, Row, Settings, Target
from benchmarks.simproc import SimProcess, config_for
from hybrid_tui.config import Config
from hybrid_tui.events import Done, Error, Token
from hybrid_tui.router.service import RouterService

PROMPT = "format this code for me: def f(a,b): return a+b"
BACKEND = "lmstudio"


def run(settings: Settings) -> Row:
    tokens = settings.size(20_000, 2_000)
    row = Row("tui", f"{tokens:,}-token reply rendered in the headless app ({SIZE[0]}x{SIZE[1]})")
    app_runs: list[dict[str, float]] = []
    bare_runs: list[dict[str, float]] = []
    with SimProcess(reply_tokens=tokens) as sim:
        urls = {"lmstudio": sim.lmstudio, "ollama": sim.ollama}
        for i in range(settings.runs + 1):  # the first round is the warm-up
            a = run_child("benchmarks.tui:app_run", **urls)
            b = run_child("benchmarks.tui:bare_run", **urls)
            if a.get("note") and a["note"] not in row.notes:
                row.notes.append(a["note"])
            if i:
                app_runs.append(a)
                bare_runs.append(b)
    ref = "bare MarkdownStream.write"
    row.add(Figure("hybrid app", "tok/s", [r["tok_s"] for r in app_runs], reference=ref,
                   targets=(Target(">=", 10_000), Target(">=", 5, "ratio"))))
    row.add(Figure(ref, "tok/s", [r["tok_s"] for r in bare_runs]))
    row.add(Figure("longest frame (app)", "ms", [r["longest_ms"] for r in app_runs],
                   targets=(Target("<=", 33),)))
    row.add(Figure("longest frame (bare)", "ms", [r["longest_ms"] for r in bare_runs]))
    row.add(Figure("frames drawn (app)", "frames", [r["frames"] for r in app_runs]))
    row.add(Figure("frames drawn (bare)", "frames", [r["frames"] for r in bare_runs]))
    row.add(Figure("final text to its frame (app)", "ms", [r["paint_ms"] for r in app_runs]))
    row.add(Figure("longest GC pause (app)", "ms", [r["gc_ms"] for r in app_runs]))
    row.add(Figure("full GC collections (app)", "", [r["gc_full"] for r in app_runs]))
    row.add(Figure("longest GC pause (bare)", "ms", [r["gc_ms"] for r in bare_runs]))
    row.notes.append("longest frame = longest event-loop gap while streaming (1 ms probe); "
                     "frames = updates handed to the driver, rendered to terminal bytes; "
                     "each run in a fresh process (benchmarks.child)")
    return row


async def app_run(lmstudio: str, ollama: str) -> dict[str, Any]:
    """:func:`app_once` against the simulators at these URLs (for ``benchmarks.child``)."""
    return await app_once(config_for(lmstudio, ollama))


async def bare_run(lmstudio: str, ollama: str) -> dict[str, Any]:
    """:func:`bare_once` against the simulators at these URLs (for ``benchmarks.child``)."""
    return await bare_once(config_for(lmstudio, ollama))


async def app_once(config: Config) -> dict[str, Any]:
    """One reply in a fresh headless HybridApp: tok/s, frames, longest gap, paint lag."""
    app = MeteredHybridApp(config, store=None)
    watch = LoopWatch()
    async with app.run_test(size=SIZE) as pilot:
        await wait_up(app, watch, BACKEND)
        await pilot.pause(0.05)
        watch.reset()
        start = time.perf_counter()
        with GCWatch() as gcs:
            turn = await app.send(PROMPT, force=BACKEND)
            end = await watch.until(lambda: turn_finished(app, turn),
                                    what="the reply to finish")
        longest = watch.longest_ms
        reply = reply_of(turn)
        assert reply is not None
        painted = await _first_frame_after(app, watch, end)
        done = reply.reply.done
        tokens = done.tokens if done is not None else reply.chunks
        note = ""
        if reply.body.source != reply.text:
            note = (f"app: Markdown holds {len(reply.body.source):,} of "
                    f"{len(reply.text):,} characters at the end")
        if reply.status != "done":
            raise RuntimeError(f"the reply ended {reply.status}")
        frames = len(app.frames.between(start, end))
    return {
        "tok_s": tokens / (end - start),
        "longest_ms": longest,
        "frames": frames,
        "paint_ms": (painted - end) * 1000 if painted else float("nan"),
        "gc_ms": gcs.longest_ms,
        "gc_full": gcs.full_collections,
        "note": note,
    }


async def _first_frame_after(app: MeteredHybridApp, watch: LoopWatch, t: float) -> float | None:
    try:
        await watch.until(lambda: app.frames.first_after(t) is not None, timeout=3.0)
    except TimeoutError:
        return None
    return app.frames.first_after(t)


async def bare_once(config: Config) -> dict[str, Any]:
    """The reference: per-token ``MarkdownStream.write`` in a bare app, same router."""
    app = BareMarkdownApp()
    watch = LoopWatch()
    async with app.run_test(size=SIZE) as pilot, RouterService(config) as service:
        await watch.until(lambda: service.health.state(BACKEND).status == "up", timeout=20,
                          what=f"{BACKEND} up")
        markdown = app.query_one(Markdown)
        app.query_one(VerticalScroll).anchor()
        await pilot.pause(0.05)
        watch.reset()
        tokens = 0
        start = time.perf_counter()

        async def consume() -> None:
            nonlocal tokens
            stream = Markdown.get_stream(markdown)
            async for event in service.submit(PROMPT, force=BACKEND):
                if isinstance(event, Token):
                    await stream.write(event.text)
                elif isinstance(event, Done):
                    tokens = event.tokens
                elif isinstance(event, Error):
                    raise RuntimeError(event.message)
            await stream.stop()

        with GCWatch() as gcs:
            task = asyncio.create_task(consume())
            end = await watch.until(task.done, what="the bare app to finish")
        task.result()
        longest = watch.longest_ms
        frames = len(app.frames.between(start, end))
    return {"tok_s": tokens / (end - start), "longest_ms": longest, "frames": frames,
            "gc_ms": gcs.longest_ms}
