"""memory: a long session in the headless app. 200 turns of 2,000 tokens each (unlimited
rate, each with the chat so far as history, as the app sends it: trimmed to the model's
context window, here :data:`CONTEXT` tokens, a large window of today's coding models); RSS
growth over the session and tok/s of the last turns against the first ones.

The session runs in a fresh child process (``python -m benchmarks.memory --child ...``) so
its RSS is the app's alone, not what earlier benchmarks left behind. Baselines are taken
after turn 1 (first-use caches such as the Markdown parser and syntax highlighting are
warm); per-turn rates are compared as the median of a few turns at each end, since single
turns are noisy on a shared machine. A full run stops after ``BUDGET_S`` seconds: an app
that slows down turn by turn then completes fewer than 200 turns, which is reported (and
counted as a miss) rather than running for an hour.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import subprocess
import sys
import time
from functools import partial

from benchmarks.common import ROOT, Figure, Row, Settings, Target, rss_mb
from benchmarks.simproc import SimProcess, child_env

#: the simulated model's context window: from about turn 40 on, the history is trimmed to it
CONTEXT = 131_072
#: the most a full run spends on the session; a slower app completes fewer turns (a miss)
BUDGET_S = 420
#: the most one turn may take before the session is called stuck
TURN_TIMEOUT = 120


def run(settings: Settings) -> Row:
    turns = settings.size(200, 10)
    tokens = settings.size(2_000, 500)
    budget = settings.size(BUDGET_S, 120)
    row = Row("memory", f"{turns} turns of {tokens:,} tokens in the headless app")
    # a context window that holds the whole session: this measures the app, not a refusal
    with SimProcess(reply_tokens=tokens, context_length=CONTEXT) as sim:
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks.memory", "--child", "--turns", str(turns),
             "--tokens", str(tokens), "--budget", str(budget),
             "--lmstudio", sim.lmstudio, "--ollama", sim.ollama],
            cwd=ROOT, env=child_env(), capture_output=True, text=True, timeout=budget + 600,
            check=False,
        )
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"the session child failed ({done.returncode}): "
                           f"{done.stderr.strip()[-400:]}")
    data = json.loads(lines[-1])
    rates: list[float] = data["rates"]
    n = len(rates)
    if n < 3:
        raise RuntimeError(f"only {n} turns completed: {data['stopped']}")
    window = max(1, min(5, (n - 1) // 2))
    early = f"tok/s, turns 2-{1 + window}"
    row.add(Figure(f"tok/s, last {window} turns", "tok/s", rates[-window:], reference=early,
                   targets=(Target(">=", 0.9, "ratio"),)))
    row.add(Figure(early, "tok/s", rates[1 : 1 + window]))
    row.add(Figure("tok/s, turn 1", "tok/s", rates[:1]))
    growth = data["rss_end"] - data["rss_turn1"]
    row.add(Figure("RSS growth, turn 1 -> last turn", "MB", [growth],
                   targets=(Target("<=", 40),)))
    row.add(Figure("RSS growth per turn", "MB", [growth / max(1, n - 1)]))
    row.add(Figure("RSS after the last turn", "MB", [data["rss_end"]]))
    row.add(Figure("turns completed", "turns", [n], targets=(Target(">=", turns),)))
    row.add(Figure("session wall time", "s", [data["seconds"]]))
    if data["stopped"]:
        row.notes.append(f"stopped after {n} of {turns} turns: {data['stopped']}")
    row.notes.append("one long session in a child process; RSS from /proc after gc.collect(); "
                     "every turn sends the chat so far as history, trimmed to the model's "
                     f"{CONTEXT:,}-token context window, as the app does")
    return row


# -- the child process -----------------------------------------------------------------------


async def session(
    turns: int, lmstudio: str, ollama: str, budget: float = 1e9
) -> dict[str, object]:
    """Run up to ``turns`` prompts in one app (stopping when ``budget`` seconds are spent
    or a turn fails); per-turn tok/s and RSS at the start, after turn 1 and at the end."""
    from benchmarks.appkit import SIZE, LoopWatch, reply_of, turn_finished, wait_up
    from benchmarks.simproc import config_for
    from hybrid_tui.ui.app import HybridApp

    app = HybridApp(config_for(lmstudio, ollama), store=None, freeze_startup=True)
    watch = LoopWatch()
    rates: list[float] = []
    stopped = ""
    begin = time.perf_counter()
    async with app.run_test(size=SIZE) as pilot:
        await wait_up(app, watch, "lmstudio")
        await pilot.pause(0.05)
        gc.collect()
        rss_start = rss_mb()
        rss_turn1 = rss_start
        for i in range(turns):
            if time.perf_counter() - begin > budget:
                stopped = f"the {budget:g} s budget was spent"
                break
            start = time.perf_counter()
            turn = await app.send(f"format this code, take {i + 1}: x=1", force="lmstudio")
            try:
                end = await watch.until(partial(turn_finished, app, turn), timeout=TURN_TIMEOUT)
            except TimeoutError:
                reply = reply_of(turn)
                stopped = (f"turn {i + 1} not finished after {TURN_TIMEOUT} s (reply "
                           f"{getattr(reply, 'status', None)}, app idle {app.idle})")
                break
            reply = reply_of(turn)
            if reply is None or reply.status != "done":
                stopped = (f"turn {i + 1} ended {getattr(reply, 'status', None)}: "
                           f"{turn.turn.error}")
                break
            tokens = reply.reply.done.tokens if reply.reply.done is not None else reply.chunks
            rates.append(tokens / (end - start))
            if i == 0:
                gc.collect()
                rss_turn1 = rss_mb()
            watch.reset()
        gc.collect()
        rss_end = rss_mb()
    return {"rates": rates, "rss_start": rss_start, "rss_turn1": rss_turn1,
            "rss_end": rss_end, "seconds": time.perf_counter() - begin, "stopped": stopped}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.memory")
    p.add_argument("--child", action="store_true", required=True)
    p.add_argument("--turns", type=int, required=True)
    p.add_argument("--tokens", type=int, required=True)
    p.add_argument("--lmstudio", required=True)
    p.add_argument("--ollama", required=True)
    p.add_argument("--budget", type=float, default=1e9, help="seconds before stopping")
    args = p.parse_args(argv)
    result = asyncio.run(session(args.turns, args.lmstudio, args.ollama, args.budget))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
