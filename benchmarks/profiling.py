"""Profile one benchmark's workload: ``python -m benchmarks.profiling NAME [--cprofile]``.

Runs the workload of a row once (after a warm-up) under pyinstrument (a sampling profiler,
``pip install pyinstrument``; not a project dependency) or, with ``--cprofile`` or without
pyinstrument, under cProfile, and prints where the time went: the call tree, or the
functions by own time with the project's files first. NAME is one of stream, tui, ttft,
responsive, memory. The simulators run in a child process as in the suite.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from benchmarks.simproc import SimProcess, config_for, scratch_dirs

Work = Callable[[], Coroutine[Any, Any, Any]]


def _stream(tokens: int, backend: str) -> tuple[Work, Callable[[], None]]:
    from benchmarks import stream
    from benchmarks.replay import ReplayProcess
    from hybrid_tui.router.service import RouterService

    with SimProcess(reply_tokens=tokens) as sim:
        recording, _ = asyncio.run(stream._record(sim.config()))
    replay = ReplayProcess(recording).__enter__()
    config = config_for(replay.url, replay.url)

    async def work() -> None:
        async with RouterService(config) as service:
            for _ in range(3):
                async for _event in service.submit(stream.PROMPT, force=backend):
                    pass

    return work, replay.__exit__


def _app(name: str, tokens: int, backend: str) -> tuple[Work, Callable[[], None]]:
    if name == "ttft":  # the row's own set-up: a marker reply after a model-like pause
        from benchmarks.ttft import REPLY

        sim = SimProcess("--reply", REPLY, first_token_delay=0.2, tokens_per_s=200).start()
    else:
        sim = SimProcess(
            tokens_per_s=2_000 if name == "responsive" else 0,
            reply_tokens=tokens,
            context_length=10_000_000,
        ).start()
    config = sim.config()

    async def work() -> None:
        if name == "tui":
            from benchmarks.tui import app_once

            await app_once(config)
        elif name == "responsive":
            from benchmarks.responsive import _session

            await _session(config, 100, backend)
        elif name == "memory":
            from benchmarks.memory import session

            await session(40, sim.lmstudio, sim.ollama)
        else:  # ttft: first paint
            from benchmarks.proxy import StampingProxy
            from benchmarks.ttft import _paint_once

            with StampingProxy(sim.lmstudio) as proxy:
                await _paint_once(config_for(proxy.url, sim.ollama), proxy)

    return work, sim.stop


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.profiling")
    p.add_argument("name", choices=("stream", "tui", "ttft", "responsive", "memory"))
    p.add_argument("--tokens", type=int, help="reply length (default 20,000; memory 2,000)")
    p.add_argument("--backend", default="lmstudio", choices=("lmstudio", "ollama"))
    p.add_argument("--cprofile", action="store_true", help="use cProfile, not pyinstrument")
    p.add_argument("--out", help="also save the profile here (.html or .prof)")
    p.add_argument("--loop", action="store_true",
                   help="tui only: no profiler; the CPU time of each event-loop turn while "
                        "the reply streams (benchmarks/looptime.py), over --runs runs")
    p.add_argument("--runs", type=int, default=3, help="runs for --loop (default 3)")
    args = p.parse_args(argv)
    scratch_dirs()
    tokens = args.tokens or (2_000 if args.name == "memory" else 20_000)
    if args.loop and args.name != "tui":
        p.error("--loop times the tui workload only")
    if args.name == "stream":
        work, cleanup = _stream(tokens, args.backend)
    else:
        work, cleanup = _app(args.name, tokens, args.backend)
    try:
        if args.name != "memory":
            asyncio.run(work())  # warm-up: imports, caches, first connections
        if args.loop:
            _loop_turns(work, args.runs)
        else:
            _profiled(work, cprofile=args.cprofile, out=args.out)
    finally:
        cleanup()
    return 0


def _loop_turns(work: Work, runs: int) -> None:
    from benchmarks.looptime import loop_times

    for run in range(1, runs + 1):
        with loop_times() as times:
            asyncio.run(work())
        print(f"run {run}: {times.report()}")


def _profiled(work: Work, *, cprofile: bool, out: str | None) -> None:
    try:
        from pyinstrument import Profiler
    except ImportError:
        cprofile = True
    if not cprofile:
        profiler = Profiler(interval=0.0005, async_mode="disabled")
        profiler.start()
        asyncio.run(work())
        profiler.stop()
        # the app's time is mostly inside Textual and markdown-it: show those frames,
        # hide the event loop's plumbing
        print(profiler.output_text(
            unicode=True, color=False, show_all=False,
            processor_options={"hide_regex": r".*/asyncio/.*",
                               "show_regex": r".*/(textual|markdown_it|hybrid_tui|httpx|"
                                             r"httpcore|h11|rich)/.*"},
        ))
        if out:
            with open(out, "w") as f:
                f.write(profiler.output_html())
        return
    prof = cProfile.Profile()
    prof.enable()
    asyncio.run(work())
    prof.disable()
    if out:
        prof.dump_stats(out)
    buf = io.StringIO()
    stats = pstats.Stats(prof, stream=buf).sort_stats("tottime")
    stats.print_stats("hybrid_tui", 25)
    stats.print_stats(25)
    print(buf.getvalue())


if __name__ == "__main__":
    sys.exit(main())
