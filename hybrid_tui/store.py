"""Routing outcomes and chat transcripts in one SQLite file (``locations.store_file()``).

The file is created on first use, never at import. WAL mode with ``synchronous=NORMAL``: a
commit is an append to the log, cheap enough to call while a reply streams, and a killed
process loses at most the last unsynced commit, never the database.

Calls are synchronous and short (one statement plus a commit); callers on an event loop
may use them directly. One connection per :class:`Store`, guarded by a lock so the store
can also be used from a worker thread.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from hybrid_tui import locations

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outcomes (
    id INTEGER PRIMARY KEY,
    ts REAL NOT NULL,
    task_type TEXT NOT NULL,
    complexity TEXT NOT NULL,
    backend TEXT NOT NULL,
    model TEXT NOT NULL DEFAULT '',
    success INTEGER NOT NULL,
    confidence REAL,
    escalated INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0,
    ttft_ms REAL,
    tokens_per_s REAL
);
CREATE INDEX IF NOT EXISTS outcomes_key ON outcomes (task_type, complexity, backend);
CREATE TABLE IF NOT EXISTS sessions (
    id INTEGER PRIMARY KEY,
    created REAL NOT NULL,
    title TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS turns (
    id INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    prompt TEXT NOT NULL DEFAULT '',
    reply TEXT NOT NULL DEFAULT '',
    backend TEXT NOT NULL DEFAULT '',
    model TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT '',
    meta TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS turns_session ON turns (session_id, id);
"""

_LOAD_TURNS = (
    "SELECT id, session_id, created, updated, prompt, reply, backend, model, status, meta"
    " FROM turns WHERE session_id = ? ORDER BY id"
)


class Store:
    """Outcomes per (task type, complexity, backend), and sessions of turns for the TUI."""

    def __init__(self, path: str | Path | None = None) -> None:
        #: resolved now (so a later change of HYBRID_TUI_DATA_DIR does not move it); opened lazily
        self.path = Path(path) if path is not None else locations.store_file()
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.RLock()

    # -- connection ------------------------------------------------------------------------

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=5.0, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            with conn:
                conn.executescript(_SCHEMA)
                conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            self._conn = conn
        return self._conn

    def close(self) -> None:
        """Close the connection (it reopens on the next call)."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def integrity_check(self) -> str:
        """``PRAGMA integrity_check``: "ok" for a sound database."""
        with self._lock:
            return str(self._db().execute("PRAGMA integrity_check").fetchone()[0])

    # -- outcomes --------------------------------------------------------------------------

    def record_outcome(
        self,
        *,
        task_type: str,
        complexity: str,
        backend: str,
        success: bool,
        model: str = "",
        confidence: float | None = None,
        escalated: bool = False,
        failed: bool = False,
        ttft_ms: float | None = None,
        tokens_per_s: float | None = None,
    ) -> None:
        """Append one reply's outcome."""
        with self._lock, self._db() as db:
            db.execute(
                "INSERT INTO outcomes (ts, task_type, complexity, backend, model, success,"
                " confidence, escalated, failed, ttft_ms, tokens_per_s)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    time.time(),
                    task_type,
                    complexity,
                    backend,
                    model,
                    int(success),
                    confidence,
                    int(escalated),
                    int(failed),
                    ttft_ms,
                    tokens_per_s,
                ),
            )

    def outcome_stats(self, task_type: str, complexity: str) -> dict[str, tuple[int, int]]:
        """``{backend: (successes, total)}`` for one (task type, complexity)."""
        with self._lock:
            rows = self._db().execute(
                "SELECT backend, SUM(success), COUNT(*) FROM outcomes"
                " WHERE task_type = ? AND complexity = ? GROUP BY backend ORDER BY backend",
                (task_type, complexity),
            )
            return {r[0]: (int(r[1] or 0), int(r[2])) for r in rows}

    # -- transcripts -----------------------------------------------------------------------

    def new_session(self, title: str = "") -> int:
        """Start a session; returns its id."""
        with self._lock, self._db() as db:
            cur = db.execute(
                "INSERT INTO sessions (created, title) VALUES (?, ?)", (time.time(), title)
            )
            return int(cur.lastrowid or 0)

    def last_session_id(self) -> int | None:
        """The most recent session, or None when there is none."""
        with self._lock:
            row = self._db().execute("SELECT MAX(id) FROM sessions").fetchone()
            return int(row[0]) if row and row[0] is not None else None

    def save_turn(
        self,
        session_id: int,
        turn_id: int | None,
        *,
        prompt: str,
        reply: str,
        backend: str = "",
        model: str = "",
        status: str = "",
        meta: dict[str, Any] | None = None,
    ) -> int:
        """Insert a turn (``turn_id`` None) or update it; returns the turn id.

        Called often while a reply streams, so it is one statement and one commit.
        """
        meta_json = json.dumps(meta or {}, default=str, ensure_ascii=False)
        now = time.time()
        with self._lock, self._db() as db:
            if turn_id is not None:
                cur = db.execute(
                    "UPDATE turns SET updated = ?, prompt = ?, reply = ?, backend = ?,"
                    " model = ?, status = ?, meta = ? WHERE id = ? AND session_id = ?",
                    (now, prompt, reply, backend, model, status, meta_json, turn_id, session_id),
                )
                if cur.rowcount:
                    return turn_id
            cur = db.execute(
                "INSERT INTO turns (id, session_id, created, updated, prompt, reply, backend,"
                " model, status, meta) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (turn_id, session_id, now, now, prompt, reply, backend, model, status, meta_json),
            )
            return int(cur.lastrowid or 0)

    def load_session(self, session_id: int) -> list[dict[str, Any]]:
        """Every turn of a session in order, as dicts (``meta`` decoded)."""
        with self._lock:
            rows = self._db().execute(_LOAD_TURNS, (session_id,)).fetchall()
        turns = []
        for row in rows:
            turn = dict(row)
            try:
                turn["meta"] = json.loads(turn["meta"] or "{}")
            except ValueError:
                turn["meta"] = {}
            turns.append(turn)
        return turns


#: the name the router service contract uses
OutcomeStore = Store
