"""Benchmark results, kept in the app's SQLite file (``locations.store_file()``) in tables of
their own. The router reads their HumanEval pass rates per backend and model
(:meth:`BenchmarkStore.pass_rates`, through :class:`hybrid_tui.router.learn.Learner`) as a
prior for task types whose answer is code (:mod:`hybrid_tui.router.bandit`). The tables are
created on the first write; the rest of the file belongs to :mod:`hybrid_tui.store`, which
this module never touches.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hybrid_tui import locations
from hybrid_tui.private_files import create_private, private_dir
from hybrid_tui.router.bandit import PassRate

if TYPE_CHECKING:
    from hybrid_tui.bench.runner import ProblemResult

_SCHEMA = """
CREATE TABLE IF NOT EXISTS benchmark_runs (
    id INTEGER PRIMARY KEY,
    ts REAL NOT NULL,
    suite TEXT NOT NULL,
    problems INTEGER NOT NULL,
    sandbox TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS benchmark_results (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES benchmark_runs (id) ON DELETE CASCADE,
    backend TEXT NOT NULL,
    model TEXT NOT NULL DEFAULT '',
    task_id TEXT NOT NULL,
    passed INTEGER NOT NULL,
    status TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '',
    ttft_ms REAL,
    tokens INTEGER,
    tokens_per_s REAL,
    total_ms REAL
);
CREATE INDEX IF NOT EXISTS benchmark_results_key ON benchmark_results (backend, model);
"""


class BenchmarkStore:
    """Writes and summarises benchmark runs. One short-lived connection per call."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else locations.store_file()

    def _connect(self) -> sqlite3.Connection:
        create_private(private_dir(self.path.parent) / self.path.name)
        conn = sqlite3.connect(self.path, timeout=10.0)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.executescript(_SCHEMA)
        return conn

    def save_run(
        self,
        suite: str,
        problems: int,
        results: Iterable[ProblemResult],
        sandbox: dict[str, Any] | None = None,
    ) -> int:
        """Store one run and its per-problem results; returns the run id."""
        conn = self._connect()
        try:
            with conn:
                cur = conn.execute(
                    "INSERT INTO benchmark_runs (ts, suite, problems, sandbox) VALUES (?, ?, ?, ?)",
                    (time.time(), suite, problems, json.dumps(sandbox or {})),
                )
                run_id = int(cur.lastrowid or 0)
                conn.executemany(
                    "INSERT INTO benchmark_results (run_id, backend, model, task_id, passed,"
                    " status, detail, ttft_ms, tokens, tokens_per_s, total_ms)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        (run_id, r.backend, r.model, r.task_id, int(r.passed), r.status,
                         r.detail, r.ttft_ms, r.tokens, r.tokens_per_s, r.total_ms)
                        for r in results
                    ],
                )  # fmt: skip
            return run_id
        finally:
            conn.close()

    def pass_rates(self, suite: str = "HumanEval") -> dict[tuple[str, str], PassRate]:
        """``{(backend, model): PassRate}`` over every stored run of ``suite``; empty when no
        benchmark was ever stored (the file is then left as it is)."""
        if not self.path.is_file():
            return {}
        conn = sqlite3.connect(self.path, timeout=10.0)
        try:
            exists = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'benchmark_results'"
            ).fetchone()
            if exists is None:
                return {}
            rows = conn.execute(
                "SELECT r.backend, r.model, SUM(r.passed), COUNT(*) FROM benchmark_results r"
                " JOIN benchmark_runs b ON b.id = r.run_id WHERE b.suite = ?"
                " GROUP BY r.backend, r.model ORDER BY r.backend, r.model",
                (suite,),
            ).fetchall()
        finally:
            conn.close()
        return {(b, m): PassRate(int(p or 0), int(n)) for b, m, p, n in rows}
