"""``hybrid-tui history`` (what the router has learned) and ``hybrid-tui rate +|-`` (the
user's verdict on the last reply). Both read the SQLite store; neither talks to a server.

``history`` shows, per (task type, complexity) and backend, the replies recorded, how many
were good (ratings override the automatic verdict), the ratings, escalations, cancellations
and failed code checks, the bandit's posterior mean with its config prior, and the backend
the router would pick now; then each backend's measured speed (first token, tok/s, cold
load). ``--json`` prints the same as one object.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from hybrid_tui.cli_output import console, message, quiet_logging
from hybrid_tui.config import Config, load_config
from hybrid_tui.errors import UsageError
from hybrid_tui.safetext import strip_control
from hybrid_tui.units import fmt_rate, fmt_seconds

if TYPE_CHECKING:
    from rich.table import Table

    from hybrid_tui.router.learn import Learner

#: what ``rate`` accepts for a good and for a bad reply
GOOD = ("+", "+1", "up", "good", "yes", "y")
BAD = ("-", "-1", "down", "bad", "no", "n")


def parse_verdict(word: str) -> bool:
    """True for a good verdict, False for a bad one; UsageError for anything else."""
    w = word.strip().lower()
    if w in GOOD:
        return True
    if w in BAD:
        return False
    raise UsageError(f"rate takes + or - (also up/down, good/bad), not {word!r}")


def run_rate(args: argparse.Namespace) -> int:
    """The ``rate`` command: one line on stdout saying what was recorded."""
    positive = parse_verdict(args.verdict)
    config = load_config(args.config)
    quiet_logging()
    learner = _learner(config)
    try:
        line = learner.rate(positive, args.reply)
    finally:
        if learner.store is not None:
            learner.store.close()
    sys.stdout.write(strip_control(line) + "\n")
    return 0


def run_history(args: argparse.Namespace) -> int:
    """The ``history`` command."""
    config = load_config(args.config)
    quiet_logging()
    from hybrid_tui import locations

    path = locations.store_file()
    learner = _learner(config) if path.exists() else None
    try:
        report = history_report(config, learner)
    finally:
        if learner is not None and learner.store is not None:
            learner.store.close()
    report["store"] = str(path)
    if args.json:
        sys.stdout.write(json.dumps(report, indent=2, default=str) + "\n")
        return 0
    if not config.routing.learning_enabled:
        message("learning is off (routing.learning_enabled: false): the fixed rules decide",
                style="yellow")
    if not report["buckets"]:
        message(f"nothing learned yet ({path}); every reply from now on teaches the router",
                style="dim")
        return 0
    out = console()
    out.print(buckets_table(report["buckets"]))
    if report["speeds"]:
        out.print(speeds_table(report["speeds"]))
    message(f"from {path}; rate the last reply with: hybrid-tui rate + (or -)", style="dim")
    return 0


def _learner(config: Config) -> Learner:
    from hybrid_tui.router.learn import Learner
    from hybrid_tui.store import Store

    routing = config.routing
    return Learner(Store(), enabled=routing.learning_enabled,
                   threshold=routing.escalation_threshold)


def history_report(config: Config, learner: Learner | None) -> dict[str, Any]:
    """Everything ``history`` shows, JSON-ready: ``buckets`` (each with its backends and
    the pick now) and ``speeds`` per backend."""
    from hybrid_tui.router.classify import Classification
    from hybrid_tui.router.decide import Candidate
    from hybrid_tui.router.policy import Settings, choose, priors

    report: dict[str, Any] = {"learning_enabled": config.routing.learning_enabled,
                              "buckets": [], "speeds": {}}
    if learner is None or learner.store is None:
        return report
    learner.load()
    rows = learner.store.outcome_summary()
    enabled = config.enabled_backends()
    candidates = [Candidate(b.name, b.tier, b.task_types, "up", slots=b.max_concurrent)
                  for b in enabled]
    routing = config.routing
    settings = Settings(default_provider="auto", max_slowdown=routing.max_slowdown,
                        slowdown_cost=routing.slowdown_cost)
    grouped: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        grouped.setdefault((row["task_type"], row["complexity"]), []).append(row)
    tiers = {b.name: b.tier for b in enabled}
    for (task_type, complexity), members in grouped.items():
        cls = Classification(task_type=task_type, complexity=complexity)
        pick = reason = None
        prior_of: dict[str, float] = {}
        if candidates:
            choice = choose(cls, candidates, settings=settings, bandit=learner.bandit,
                            speeds=learner.speeds)
            pick, reason = choice.backend, choice.reason
            static = choose(cls, candidates, settings=settings)
            prior_of = priors(cls, candidates, tiers[static.backend], learner.bandit)
        backends = []
        for row in members:
            tier = tiers.get(row["backend"])
            prior = prior_of.get(row["backend"])
            estimate = (learner.bandit.estimate((task_type, complexity), (row["backend"],),
                                                prior) if prior is not None else None)
            backends.append({
                "backend": row["backend"],
                "tier": tier,
                "replies": row["replies"],
                "good": row["successes"],
                "rated_up": row["rated_up"],
                "rated_down": row["rated_down"],
                "escalated": row["escalated"],
                "cancelled": row["cancelled"],
                "code_failed": row["code_failed"],
                "failed_requests": row["failed"],
                "prior": prior,
                "mean": round(estimate.mean, 3) if estimate is not None else None,
                "ttft_ms": _round(row["ttft_ms"]),
                "tokens_per_s": _round(row["tokens_per_s"]),
            })
        report["buckets"].append({"task_type": task_type, "complexity": complexity,
                                  "pick": pick, "reason": reason, "backends": backends})
    report["speeds"] = learner.speeds.summary()
    return report


def _round(x: float | None) -> float | None:
    return None if x is None else round(float(x), 1)


def _table(title: str) -> Table:
    from rich import box
    from rich.table import Table

    return Table(title=title, title_justify="left", title_style="bold", header_style="bold",
                 box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)


def buckets_table(buckets: list[dict[str, Any]]) -> Table:
    """One row per (task type, complexity, backend), the pick now marked."""
    from rich.text import Text

    table = _table("what the router has learned")
    for column in ("prompt kind", "backend", "replies", "good", "rated +/-", "escalated",
                   "cancelled", "code failed", "mean (prior)", "pick now"):
        right = column not in ("prompt kind", "backend", "pick now")
        table.add_column(column, justify="right" if right else "left", no_wrap=True)
    for bucket in buckets:
        kind = f"{bucket['complexity']} {bucket['task_type']}"
        for i, b in enumerate(bucket["backends"]):
            mean = "–" if b["mean"] is None else f"{b['mean']:.2f} ({b['prior']:.1f})"
            chosen = b["backend"] == bucket["pick"]
            table.add_row(
                Text(kind if i == 0 else "", style="bold"),
                Text(strip_control(b["backend"])),
                str(b["replies"]),
                str(b["good"]),
                f"{b['rated_up']}/{b['rated_down']}",
                str(b["escalated"]),
                str(b["cancelled"]),
                str(b["code_failed"]),
                mean,
                Text("← " + bucket["pick"], style="bold cyan") if chosen else "",
            )
        if bucket["pick"] and all(b["backend"] != bucket["pick"] for b in bucket["backends"]):
            table.add_row("", Text(bucket["pick"]), "0", "", "", "", "", "", "",
                          Text("← " + bucket["pick"], style="bold cyan"))
    return table


def speeds_table(speeds: dict[str, dict[str, Any]]) -> Table:
    """Each backend's running speed estimates."""
    table = _table("measured speed (running averages)")
    for column in ("backend", "replies timed", "first token", "tok/s", "cold load"):
        table.add_column(column, justify="left" if column == "backend" else "right")
    for name, s in speeds.items():
        ttft = s.get("ttft_s")
        load = s.get("load_s")
        tps = s.get("tokens_per_s")
        table.add_row(
            strip_control(name),
            str(s.get("replies", 0)),
            fmt_seconds(ttft),
            fmt_rate(tps),
            fmt_seconds(load),
        )
    return table
