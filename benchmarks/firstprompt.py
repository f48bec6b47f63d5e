"""hybrid-tui's side of the oterm row alone, with counters the machine's load does not move:
``python -m benchmarks.firstprompt [--runs N] [--tokens N] [--baseline TREE]``.

Drives a fresh ``hybrid-tui`` per run in a private tmux server exactly as the oterm row does
(:mod:`benchmarks.oterm`: same simulated Ollama reply, same typing, Enter to the capture
showing the reply's last token) and reads the app's ``/proc/PID/task/*/schedstat`` at Enter
and at that capture: the CPU time its threads ran, and the time they waited on a run queue
for a core. On a shared machine the wall time moves with the load (mostly as run-queue
wait); the CPU time hardly does. With ``--baseline TREE`` (a checkout of another commit,
e.g. ``git worktree add --detach /tmp/base main``) every run is a pair, this tree's app
and TREE's, in alternating order, both with this interpreter and TREE first on the path.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import ROOT
from benchmarks.oterm import PROMPT, SENTINEL, SETTLE, HybridTui, reply_text
from benchmarks.simproc import SimProcess, child_env
from benchmarks.startup import command
from benchmarks.tmuxapp import Polls, TmuxApp


def cpu_and_wait_ms(pid: int) -> tuple[float, float]:
    """Milliseconds the process's threads have run on a core, and waited for one."""
    ran = waited = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            fields = Path(f"/proc/{pid}/task/{task}/schedstat").read_text().split()
        except FileNotFoundError:  # a thread that ended meanwhile
            continue
        ran += int(fields[0])
        waited += int(fields[1])
    return ran / 1e6, waited / 1e6


def once(app: HybridTui, pane: TmuxApp, tree: Path, polls: Polls) -> tuple[float, float, float]:
    """One fresh app of ``tree``: seconds from Enter to the last token on screen, and the
    app's CPU and run-queue milliseconds over the same span."""
    env = child_env(TERM="xterm-256color", TEXTUAL_ANIMATIONS="none")
    env["PYTHONPATH"] = str(tree)
    env.pop("TMUX", None)
    pane.launch([*command(), "--config", str(app.config)], env)
    pane.wait(lambda s: "hybrid-tui" in s, "hybrid-tui's first screen", 60)
    app.open_chat(pane)
    time.sleep(SETTLE)
    shown = subprocess.run([*pane.base, "display", "-p", "-t", "bench", "#{pane_pid}"],
                           capture_output=True, text=True, check=True, timeout=10)
    pid = int(shown.stdout)
    pane.type(PROMPT)
    time.sleep(0.3)
    cpu, wait = cpu_and_wait_ms(pid)
    start = time.perf_counter()
    pane.keys("Enter")
    end = pane.wait(lambda s: SENTINEL in s, "the last token", 120, since=start, polls=polls)
    cpu_end, wait_end = cpu_and_wait_ms(pid)
    return end - start, cpu_end - cpu, wait_end - wait


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.firstprompt",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs after one warm-up")
    parser.add_argument("--tokens", type=int, default=3_000, help="reply length")
    parser.add_argument("--baseline", type=Path, help="another checkout to alternate with")
    args = parser.parse_args(argv)
    tmux = shutil.which("tmux")
    if tmux is None:
        print("tmux is not installed", file=sys.stderr)
        return 1
    trees = {"this tree": ROOT, **({"baseline": args.baseline} if args.baseline else {})}
    samples: dict[str, list[tuple[float, float, float]]] = {name: [] for name in trees}
    polls = Polls()
    with tempfile.TemporaryDirectory(prefix="hybrid-tui-firstprompt-") as name:
        tmp = Path(name)
        reply = tmp / "reply.md"
        reply.write_text(reply_text(args.tokens), encoding="utf-8")
        with SimProcess(reply_file=reply) as sim:
            app = HybridTui(sim.ollama, tmp)
            for i in range(args.runs + 1):
                order = list(trees) if i % 2 == 0 else list(trees)[::-1]
                for label in order:
                    with TmuxApp(tmux, tmp / "tmux.sock") as pane:
                        got = once(app, pane, trees[label], polls)
                    print(f"run {i}{' (warm-up)' if i == 0 else ''}, {label}: Enter to last "
                          f"token {got[0]:.3f} s, CPU {got[1]:.0f} ms, run-queue wait "
                          f"{got[2]:.0f} ms", flush=True)
                    if i:
                        samples[label].append(got)
    for label, rows in samples.items():
        for index, (what, unit) in enumerate((("Enter to last token", "s"), ("CPU", "ms"),
                                              ("run-queue wait", "ms"))):
            values = [row[index] for row in rows]
            print(f"{label}: {what} median {statistics.median(values):.3g} {unit} "
                  f"({min(values):.3g}–{max(values):.3g})")
    print(f"screen captured every {polls.median_ms():.1f} ms (median); load average "
          + " / ".join(f"{x:.2f}" for x in os.getloadavg()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
