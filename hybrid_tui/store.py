"""Routing outcomes and chat transcripts in one SQLite file (``locations.store_file()``).

An outcome row is one reply: who answered, how well (the automatic verdict ``success``, and
the user's ``feedback`` when they rated it, which then wins) and how fast. The router's
bandit and speed estimates are read from these rows once per process and kept in memory.

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

SCHEMA_VERSION = 3

#: columns added after version 1, with their types (added in place to an older file)
_OUTCOME_COLUMNS_V2 = (
    ("decision_id", "TEXT"),
    ("tokens", "INTEGER"),
    ("total_ms", "REAL"),
    ("load_ms", "REAL"),
    ("cold", "INTEGER NOT NULL DEFAULT 0"),
    ("cancelled", "INTEGER NOT NULL DEFAULT 0"),
    ("forced", "INTEGER NOT NULL DEFAULT 0"),
    ("code_check", "TEXT"),
    ("feedback", "INTEGER"),
)
#: columns the sessions table gained with several named chats (version 3)
_SESSION_COLUMNS_V3 = (
    ("name", "TEXT NOT NULL DEFAULT ''"),
    ("updated", "REAL"),
    ("settings", "TEXT NOT NULL DEFAULT '{}'"),
)
#: the verdict that counts: the user's rating when there is one, else the automatic one
EFFECTIVE_SUCCESS = "CASE WHEN feedback IS NULL THEN success ELSE feedback > 0 END"

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
                _migrate(conn)
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
        decision_id: str | None = None,
        tokens: int | None = None,
        total_ms: float | None = None,
        load_ms: float | None = None,
        cold: bool = False,
        cancelled: bool = False,
        forced: bool = False,
        code_check: str | None = None,
    ) -> int:
        """Append one reply's outcome; returns its row id (for feedback)."""
        with self._lock, self._db() as db:
            cur = db.execute(
                "INSERT INTO outcomes (ts, task_type, complexity, backend, model, success,"
                " confidence, escalated, failed, ttft_ms, tokens_per_s, decision_id, tokens,"
                " total_ms, load_ms, cold, cancelled, forced, code_check)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
                    decision_id,
                    tokens,
                    total_ms,
                    load_ms,
                    int(cold),
                    int(cancelled),
                    int(forced),
                    code_check,
                ),
            )
            return int(cur.lastrowid or 0)

    def outcome_stats(self, task_type: str, complexity: str) -> dict[str, tuple[int, int]]:
        """``{backend: (successes, total)}`` for one (task type, complexity); a rating
        overrides the automatic verdict of its reply. Requests that failed (the server did,
        not the answer: refused, HTTP 500, died) are kept but say nothing about quality."""
        with self._lock:
            rows = self._db().execute(
                f"SELECT backend, SUM({EFFECTIVE_SUCCESS}), COUNT(*) FROM outcomes"
                " WHERE task_type = ? AND complexity = ? AND failed = 0"
                " GROUP BY backend ORDER BY backend",
                (task_type, complexity),
            )
            return {r[0]: (int(r[1] or 0), int(r[2])) for r in rows}

    def all_outcome_stats(self) -> dict[tuple[str, str], dict[str, tuple[int, int]]]:
        """Every (task type, complexity) -> ``{backend: (successes, total)}``, in one query
        (the router reads this once and keeps it in memory)."""
        with self._lock:
            rows = self._db().execute(
                f"SELECT task_type, complexity, backend, SUM({EFFECTIVE_SUCCESS}), COUNT(*)"
                " FROM outcomes WHERE failed = 0 GROUP BY task_type, complexity, backend"
            ).fetchall()
        out: dict[tuple[str, str], dict[str, tuple[int, int]]] = {}
        for task_type, complexity, backend, successes, total in rows:
            out.setdefault((task_type, complexity), {})[backend] = (int(successes or 0), int(total))
        return out

    def recent_speeds(self, limit: int = 500) -> list[dict[str, Any]]:
        """The speed figures of the last ``limit`` answered replies, oldest first (to replay
        into the running estimates at start-up)."""
        with self._lock:
            rows = self._db().execute(
                "SELECT * FROM (SELECT id, backend, task_type, ttft_ms, tokens_per_s, tokens,"
                " total_ms, load_ms, cold FROM outcomes WHERE failed = 0 AND cancelled = 0"
                " ORDER BY id DESC LIMIT ?) ORDER BY id",
                (limit,),
            ).fetchall()
        return [dict(r) for r in rows]

    def outcome(self, row_id: int) -> dict[str, Any] | None:
        """One outcome row as a dict, or None."""
        with self._lock:
            row = self._db().execute("SELECT * FROM outcomes WHERE id = ?", (row_id,)).fetchone()
        return dict(row) if row is not None else None

    def last_reply(self) -> dict[str, Any] | None:
        """The most recent answered reply (by any process), or None."""
        with self._lock:
            row = self._db().execute(
                "SELECT * FROM outcomes WHERE failed = 0 ORDER BY id DESC LIMIT 1"
            ).fetchone()
        return dict(row) if row is not None else None

    def set_feedback(self, row_id: int, value: int) -> bool:
        """Record the user's rating (+1 or -1) of one reply; False when there is no such row."""
        with self._lock, self._db() as db:
            cur = db.execute("UPDATE outcomes SET feedback = ? WHERE id = ?", (value, row_id))
            return cur.rowcount > 0

    def outcome_summary(self) -> list[dict[str, Any]]:
        """Per (task type, complexity, backend): replies, effective successes, ratings,
        escalations, failures, cancellations and mean speed (``hybrid-tui history``)."""
        with self._lock:
            rows = self._db().execute(
                f"SELECT task_type, complexity, backend, SUM(failed = 0) AS replies,"
                f" SUM(failed = 0 AND {EFFECTIVE_SUCCESS}) AS successes,"
                " SUM(feedback > 0) AS rated_up, SUM(feedback < 0) AS rated_down,"
                " SUM(escalated) AS escalated, SUM(failed) AS failed,"
                " SUM(cancelled) AS cancelled, SUM(code_check = 'failed') AS code_failed,"
                " AVG(ttft_ms) AS ttft_ms, AVG(tokens_per_s) AS tokens_per_s,"
                " MAX(ts) AS last_ts FROM outcomes"
                " GROUP BY task_type, complexity, backend ORDER BY task_type, complexity, backend"
            ).fetchall()
        return [{k: (v if v is not None else 0) if k in _COUNTS else v
                 for k, v in dict(r).items()} for r in rows]

    # -- transcripts -----------------------------------------------------------------------

    def new_session(self, name: str = "", settings: dict[str, Any] | None = None) -> int:
        """Start a session (a chat) named ``name`` ("chat-<id>" when empty); returns its id.
        A name already taken is a ValueError."""
        now = time.time()
        with self._lock, self._db() as db:
            if name and self._session_named(db, name) is not None:
                raise ValueError(f"a chat named {name!r} already exists")
            cur = db.execute(
                "INSERT INTO sessions (created, updated, name, settings) VALUES (?, ?, ?, ?)",
                (now, now, name, json.dumps(settings or {})),
            )
            session_id = int(cur.lastrowid or 0)
            if not name:
                db.execute("UPDATE sessions SET name = ? WHERE id = ?",
                           (f"chat-{session_id}", session_id))
            return session_id

    @staticmethod
    def _session_named(db: sqlite3.Connection, name: str) -> int | None:
        row = db.execute("SELECT id FROM sessions WHERE name = ?", (name,)).fetchone()
        return int(row[0]) if row else None

    def session_named(self, name: str) -> int | None:
        """The id of the chat called ``name``, or None."""
        with self._lock:
            return self._session_named(self._db(), name)

    def last_session_id(self) -> int | None:
        """The chat used most recently, or None when there is none."""
        with self._lock:
            row = self._db().execute(
                "SELECT id FROM sessions ORDER BY COALESCE(updated, created) DESC, id DESC"
                " LIMIT 1"
            ).fetchone()
            return int(row[0]) if row else None

    def sessions(self) -> list[dict[str, Any]]:
        """Every chat, most recently used first: id, name, created, updated, settings (a
        dict), turns (a count) and backends (those that answered, in first-use order)."""
        with self._lock:
            rows = self._db().execute(
                "SELECT s.id, s.name, s.created, COALESCE(s.updated, s.created) AS updated,"
                " s.settings, (SELECT COUNT(*) FROM turns t WHERE t.session_id = s.id) AS turns"
                " FROM sessions s ORDER BY updated DESC, s.id DESC"
            ).fetchall()
            used = self._db().execute(
                "SELECT session_id, backend FROM turns WHERE backend != ''"
                " GROUP BY session_id, backend ORDER BY MIN(id)"
            ).fetchall()
        backends: dict[int, list[str]] = {}
        for session_id, backend in used:
            backends.setdefault(session_id, []).append(backend)
        out = []
        for row in rows:
            item = dict(row)
            item["settings"] = _json_dict(item["settings"])
            item["backends"] = backends.get(item["id"], [])
            out.append(item)
        return out

    def session_info(self, session_id: int) -> dict[str, Any] | None:
        """One chat as in :meth:`sessions`, or None."""
        return next((s for s in self.sessions() if s["id"] == session_id), None)

    def update_session(
        self, session_id: int, *, name: str | None = None,
        settings: dict[str, Any] | None = None, touch: bool = False,
    ) -> None:
        """Rename a chat and/or replace its settings, and (``touch``) mark it used now (so
        ``--resume`` reopens the chat last looked at); a name already taken is a ValueError."""
        with self._lock, self._db() as db:
            if touch:
                db.execute("UPDATE sessions SET updated = ? WHERE id = ?",
                           (time.time(), session_id))
            if name is not None:
                other = self._session_named(db, name)
                if other is not None and other != session_id:
                    raise ValueError(f"a chat named {name!r} already exists")
                db.execute("UPDATE sessions SET name = ? WHERE id = ?", (name, session_id))
            if settings is not None:
                db.execute("UPDATE sessions SET settings = ? WHERE id = ?",
                           (json.dumps(settings), session_id))

    def delete_session(self, session_id: int) -> None:
        """Delete a chat and its turns."""
        with self._lock, self._db() as db:
            db.execute("DELETE FROM turns WHERE session_id = ?", (session_id,))
            db.execute("DELETE FROM sessions WHERE id = ?", (session_id,))

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
                    db.execute("UPDATE sessions SET updated = ? WHERE id = ?", (now, session_id))
                    return turn_id
            cur = db.execute(
                "INSERT INTO turns (id, session_id, created, updated, prompt, reply, backend,"
                " model, status, meta) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (turn_id, session_id, now, now, prompt, reply, backend, model, status, meta_json),
            )
            db.execute("UPDATE sessions SET updated = ? WHERE id = ?", (now, session_id))
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


def _json_dict(text: str | None) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


_COUNTS = frozenset(
    {"replies", "successes", "rated_up", "rated_down", "escalated", "failed", "cancelled",
     "code_failed"}
)


def _migrate(conn: sqlite3.Connection) -> None:
    """Bring a file made by an older version up to date (columns are only ever added)."""
    for table, columns in (("outcomes", _OUTCOME_COLUMNS_V2), ("sessions", _SESSION_COLUMNS_V3)):
        have = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        for name, kind in columns:
            if name not in have:
                conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")
    # sessions from before names: "chat-<id>", last used when their newest turn was saved
    conn.execute("UPDATE sessions SET name = 'chat-' || id WHERE name = ''")
    conn.execute(
        "UPDATE sessions SET updated = COALESCE((SELECT MAX(t.updated) FROM turns t"
        " WHERE t.session_id = sessions.id), created) WHERE updated IS NULL"
    )


#: the name the router service contract uses
OutcomeStore = Store
