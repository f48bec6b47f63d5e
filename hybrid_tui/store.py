"""Routing outcomes and chat transcripts in one SQLite file (``locations.store_file()``).

An outcome row is one reply: who answered, how well (the automatic verdict ``success``, and
the user's ``feedback`` when they rated it, which then wins) and how fast. The router's
bandit and speed estimates are read from these rows once per process and kept in memory.

The file is created on first use, never at import, readable by its owner only (``0600`` in a
``0700`` directory, the ``-wal``/``-shm`` files too; looser ones from older versions are
tightened on open). WAL mode with ``synchronous=NORMAL``: a commit is an append to the log,
cheap enough to call while a reply streams, and a killed process loses at most the last
unsynced commit, never the database.

Several processes may use one file (two app instances, ``ask`` beside the TUI). A call that
meets a lock held longer than ``busy_timeout``, or a full disk, is tried again with growing
pauses for up to ``retry_for`` seconds; if it still fails it raises :class:`StoreError` (one
line, ``transient`` saying whether a later try may work) and has written nothing, so the
caller can keep what it meant to save and try again. A file SQLite cannot read as a database
is moved aside (``<name>.corrupt-<time>``, said through ``notice``) and a fresh one started.

Calls are synchronous and short (one statement plus a commit) unless they have to wait for a
lock; callers on an event loop may use them directly. One connection per :class:`Store`,
guarded by a lock so the store can also be used from a worker thread.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import random
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from hybrid_tui import locations
from hybrid_tui.errors import ChatMissing, StoreError
from hybrid_tui.private_files import create_private, make_dirs, private_dir, tighten

__all__ = ["SCHEMA_VERSION", "Outcome", "OutcomeStore", "Store", "StoreError", "move_aside"]

log = logging.getLogger(__name__)
T = TypeVar("T")

SCHEMA_VERSION = 4
#: seconds SQLite itself waits for another connection's lock before giving up on a statement
BUSY_TIMEOUT = 1.0
#: seconds a call keeps trying after a transient failure (the router records outcomes on the
#: event loop, so this and BUSY_TIMEOUT together stay near the old 5 s lock wait)
RETRY_FOR = 4.0
FIRST_PAUSE = 0.05
MAX_PAUSE = 1.0
#: SQLite primary result codes worth another try, and what they mean to a user
_TRANSIENT = {5: "another process holds the database's lock", 6: "the database is locked",
              10: "disk I/O error", 13: "the disk is full"}  # fmt: skip
#: SQLITE_CORRUPT, SQLITE_NOTADB: the file is not a database SQLite can use
_UNREADABLE = frozenset({11, 26})
_SIDE_FILES = ("-wal", "-shm")


@dataclass(frozen=True, slots=True)
class Outcome:
    """One reply as the router learns from it: the bucket, who answered, the verdict's
    inputs (confidence, escalated, failed, cancelled, code check) and its speed."""

    task_type: str
    complexity: str
    backend: str
    model: str = ""
    confidence: float | None = None
    escalated: bool = False
    #: the request failed (the server, not the answer): kept, but says nothing of quality
    failed: bool = False
    cancelled: bool = False
    #: the user named the backend or tier
    forced: bool = False
    #: the reply's code check: "ok", "failed" or None (no code, or not checked)
    code_check: str | None = None
    ttft_ms: float | None = None
    tokens_per_s: float | None = None
    tokens: int | None = None
    total_ms: float | None = None
    #: the server's own model-load time, when it says
    load_ms: float | None = None
    #: the model was not in memory when the request started
    cold: bool = False
    decision_id: str | None = None

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
CREATE TABLE IF NOT EXISTS store_meta (
    key TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
"""

_LOAD_TURNS = (
    "SELECT id, session_id, created, updated, prompt, reply, backend, model, status, meta"
    " FROM turns WHERE session_id = ? ORDER BY id"
)


class Store:
    """Outcomes per (task type, complexity, backend), and sessions of turns for the TUI.

    Every public method raises :class:`StoreError` (never a bare ``sqlite3`` error) when the
    file cannot be used; ``notice`` receives one-line messages a user should see (a file
    moved aside, a call that had to wait), from whichever thread made the call.
    """

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        busy_timeout: float = BUSY_TIMEOUT,
        retry_for: float = RETRY_FOR,
        notice: Callable[[str], None] | None = None,
    ) -> None:
        #: resolved now (so a later change of HYBRID_TUI_DATA_DIR does not move it); opened lazily
        self.path = Path(path) if path is not None else locations.store_file()
        self.busy_timeout = busy_timeout
        self.retry_for = retry_for
        self.notice: Callable[[str], None] = notice or log.warning
        #: where an unreadable file was moved to (None unless that happened)
        self.moved_aside: Path | None = None
        #: calls tried again after a transient failure, over this store's life
        self.retries = 0
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.RLock()

    # -- connection ------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        if self.path.parent == locations.data_dir():
            private_dir(self.path.parent)
        else:  # a directory the caller chose may be theirs to share: only what we create
            make_dirs(self.path.parent)
        # SQLite gives the -wal and -shm files the main file's mode, so a 0600 file made
        # here keeps all three private whatever the umask
        create_private(self.path)
        for side in _SIDE_FILES:
            tighten(Path(f"{self.path}{side}"))
        conn = sqlite3.connect(self.path, timeout=self.busy_timeout, check_same_thread=False)
        try:
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            if _version(conn) != SCHEMA_VERSION:
                _create_schema(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    def open(self) -> None:
        """Open the file now (it is otherwise opened by the first call): a file SQLite cannot
        read is moved aside here. Raises :class:`StoreError`."""
        self._run("open the store", lambda _db: None)

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

    def _run(self, what: str, op: Callable[[sqlite3.Connection], T]) -> T:
        """``op`` on the open connection; transient failures are tried again with growing,
        jittered pauses until ``retry_for`` has passed, an unreadable file is moved aside once,
        and anything else becomes a :class:`StoreError` saying ``what`` failed."""
        start = time.monotonic()
        pause = FIRST_PAUSE
        tries = 0
        with self._lock:
            while True:
                tries += 1
                try:
                    if self._conn is None:
                        self._conn = self._connect()
                    return op(self._conn)
                except (sqlite3.Error, OSError) as exc:
                    if _unreadable(exc) and self.moved_aside is None:
                        self._move_aside(exc)
                        continue
                    reason = _transient(exc)
                    waited = time.monotonic() - start
                    if reason is None or waited + pause > self.retry_for:
                        raise self._error(what, exc, reason, tries, waited) from exc
                    if tries == 1:
                        self.notice(f"{self.path}: {reason}; trying again for up to "
                                    f"{self.retry_for:g} s")  # fmt: skip
                    self.retries += 1
                    time.sleep(pause * random.uniform(0.75, 1.25))
                    pause = min(pause * 2, MAX_PAUSE)

    def _move_aside(self, exc: BaseException) -> None:
        self.close()
        try:
            aside = move_aside(self.path)
        except OSError as move_exc:
            raise StoreError(f"{self.path} cannot be read as a database ({exc}) and could not "
                             f"be moved aside: {move_exc.strerror or move_exc}") from exc
        self.moved_aside = aside
        self.notice(f"{self.path} could not be read as a database ({exc}); moved it to "
                    f"{aside} and started a fresh one")  # fmt: skip

    def _error(self, what: str, exc: BaseException, reason: str | None, tries: int,
               waited: float) -> StoreError:  # fmt: skip
        detail = str(exc) if isinstance(exc, sqlite3.Error) else (
            f"{exc.strerror or exc}" if isinstance(exc, OSError) else str(exc))
        if reason is None:
            return StoreError(f"could not {what} ({self.path}): {detail}")
        return StoreError(f"could not {what} ({self.path}): {reason} ({detail}); tried "
                          f"{tries} times over {waited:.1f} s", transient=True)  # fmt: skip

    def integrity_check(self) -> str:
        """``PRAGMA integrity_check``: "ok" for a sound database."""
        return self._run("check the store",
                         lambda db: str(db.execute("PRAGMA integrity_check").fetchone()[0]))

    # -- outcomes --------------------------------------------------------------------------

    def record_outcome(self, outcome: Outcome, *, success: bool) -> int:
        """Append one reply's outcome with its verdict; returns its row id (for feedback)."""
        o = outcome
        values = (time.time(), o.task_type, o.complexity, o.backend, o.model, int(success),
                  o.confidence, int(o.escalated), int(o.failed), o.ttft_ms, o.tokens_per_s,
                  o.decision_id, o.tokens, o.total_ms, o.load_ms, int(o.cold), int(o.cancelled),
                  int(o.forced), o.code_check)
        sql = ("INSERT INTO outcomes (ts, task_type, complexity, backend, model, success,"
               " confidence, escalated, failed, ttft_ms, tokens_per_s, decision_id, tokens,"
               " total_ms, load_ms, cold, cancelled, forced, code_check)"
               " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
        return self._write("record the outcome", sql, values)

    def _write(self, what: str, sql: str, values: tuple[Any, ...]) -> int:
        """One statement in its own transaction; returns the new row id (0 for an update)."""

        def op(db: sqlite3.Connection) -> int:
            with db:
                return int(db.execute(sql, values).lastrowid or 0)

        return self._run(what, op)

    def _rows(self, what: str, sql: str, values: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        return self._run(what, lambda db: db.execute(sql, values).fetchall())

    def outcome_stats(self, task_type: str, complexity: str) -> dict[str, tuple[int, int]]:
        """``{backend: (successes, total)}`` for one (task type, complexity); a rating
        overrides the automatic verdict of its reply. Requests that failed (the server did,
        not the answer: refused, HTTP 500, died) are kept but say nothing about quality."""
        rows = self._rows(
            "read the outcomes",
            f"SELECT backend, SUM({EFFECTIVE_SUCCESS}), COUNT(*) FROM outcomes"
            " WHERE task_type = ? AND complexity = ? AND failed = 0"
            " GROUP BY backend ORDER BY backend",
            (task_type, complexity),
        )
        return {r[0]: (int(r[1] or 0), int(r[2])) for r in rows}

    def all_outcome_stats(self) -> dict[tuple[str, str], dict[str, tuple[int, int]]]:
        """Every (task type, complexity) -> ``{backend: (successes, total)}``, in one query
        (the router reads this once and keeps it in memory)."""
        rows = self._rows(
            "read the outcomes",
            f"SELECT task_type, complexity, backend, SUM({EFFECTIVE_SUCCESS}), COUNT(*)"
            " FROM outcomes WHERE failed = 0 GROUP BY task_type, complexity, backend",
        )
        out: dict[tuple[str, str], dict[str, tuple[int, int]]] = {}
        for task_type, complexity, backend, successes, total in rows:
            out.setdefault((task_type, complexity), {})[backend] = (int(successes or 0), int(total))
        return out

    def recent_speeds(self, limit: int = 500) -> list[dict[str, Any]]:
        """The speed figures of the last ``limit`` answered replies, oldest first (to replay
        into the running estimates at start-up)."""
        rows = self._rows(
            "read the speeds",
            "SELECT * FROM (SELECT id, backend, task_type, ttft_ms, tokens_per_s, tokens,"
            " total_ms, load_ms, cold FROM outcomes WHERE failed = 0 AND cancelled = 0"
            " ORDER BY id DESC LIMIT ?) ORDER BY id",
            (limit,),
        )
        return [dict(r) for r in rows]

    def outcome(self, row_id: int) -> dict[str, Any] | None:
        """One outcome row as a dict, or None."""
        rows = self._rows("read the outcome", "SELECT * FROM outcomes WHERE id = ?", (row_id,))
        return dict(rows[0]) if rows else None

    def last_reply(self) -> dict[str, Any] | None:
        """The most recent answered reply (by any process), or None."""
        rows = self._rows("read the last reply",
                          "SELECT * FROM outcomes WHERE failed = 0 ORDER BY id DESC LIMIT 1")
        return dict(rows[0]) if rows else None

    def set_feedback(self, row_id: int, value: int) -> bool:
        """Record the user's rating (+1 or -1) of one reply; False when there is no such row."""

        def op(db: sqlite3.Connection) -> bool:
            with db:
                sql = "UPDATE outcomes SET feedback = ? WHERE id = ?"
                return db.execute(sql, (value, row_id)).rowcount > 0

        return self._run("record the rating", op)

    def outcome_summary(self) -> list[dict[str, Any]]:
        """Per (task type, complexity, backend): replies, effective successes, ratings,
        escalations, failures, cancellations and mean speed (``hybrid-tui history``)."""
        rows = self._rows(
            "read the outcomes",
            f"SELECT task_type, complexity, backend, SUM(failed = 0) AS replies,"
            f" SUM(failed = 0 AND {EFFECTIVE_SUCCESS}) AS successes,"
            " SUM(feedback > 0) AS rated_up, SUM(feedback < 0) AS rated_down,"
            " SUM(escalated) AS escalated, SUM(failed) AS failed,"
            " SUM(cancelled) AS cancelled, SUM(code_check = 'failed') AS code_failed,"
            " AVG(ttft_ms) AS ttft_ms, AVG(tokens_per_s) AS tokens_per_s,"
            " MAX(ts) AS last_ts FROM outcomes"
            " GROUP BY task_type, complexity, backend ORDER BY task_type, complexity, backend",
        )
        return [{k: (v if v is not None else 0) if k in _COUNTS else v
                 for k, v in dict(r).items()} for r in rows]

    # -- transcripts -----------------------------------------------------------------------

    def new_session(self, name: str = "", settings: dict[str, Any] | None = None) -> int:
        """Start a session (a chat) named ``name`` ("chat-<id>" when empty); returns its id.
        A name already taken is a ValueError."""
        now = time.time()

        def op(db: sqlite3.Connection) -> int:
            with db:
                if name and _session_named(db, name) is not None:
                    raise ValueError(f"a chat named {name!r} already exists")
                # never the id of a deleted chat: a save still on its way for that chat, or
                # a --resume pointing at it, must not land in a new one
                # one statement, so another process cannot take the id in between
                cur = db.execute(
                    "INSERT INTO sessions (id, created, updated, name, settings) VALUES ("
                    " 1 + MAX(COALESCE((SELECT MAX(id) FROM sessions), 0),"
                    " COALESCE((SELECT value FROM store_meta WHERE key = 'last_chat_id'), 0)),"
                    " ?, ?, ?, ?)",
                    (now, now, name, json.dumps(settings or {})),
                )
                session_id = int(cur.lastrowid or 0)
                if not name:
                    db.execute("UPDATE sessions SET name = ? WHERE id = ?",
                               (f"chat-{session_id}", session_id))
                return session_id

        return self._run("start a chat", op)

    def session_named(self, name: str) -> int | None:
        """The id of the chat called ``name``, or None."""
        return self._run("read the chats", lambda db: _session_named(db, name))

    def last_session_id(self) -> int | None:
        """The chat used most recently, or None when there is none."""
        rows = self._rows("read the chats",
                          "SELECT id FROM sessions ORDER BY COALESCE(updated, created) DESC,"
                          " id DESC LIMIT 1")  # fmt: skip
        return int(rows[0][0]) if rows else None

    def sessions(self) -> list[dict[str, Any]]:
        """Every chat, most recently used first: id, name, created, updated, settings (a
        dict), turns (a count) and backends (those that answered, in first-use order)."""

        def op(db: sqlite3.Connection) -> tuple[list[sqlite3.Row], list[sqlite3.Row]]:
            rows = db.execute(
                "SELECT s.id, s.name, s.created, COALESCE(s.updated, s.created) AS updated,"
                " s.settings, (SELECT COUNT(*) FROM turns t WHERE t.session_id = s.id) AS turns"
                " FROM sessions s ORDER BY updated DESC, s.id DESC"
            ).fetchall()
            used = db.execute(
                "SELECT session_id, backend FROM turns WHERE backend != ''"
                " GROUP BY session_id, backend ORDER BY MIN(id)"
            ).fetchall()
            return rows, used

        rows, used = self._run("read the chats", op)
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

        def op(db: sqlite3.Connection) -> None:
            with db:
                if touch:
                    db.execute("UPDATE sessions SET updated = ? WHERE id = ?",
                               (time.time(), session_id))
                if name is not None:
                    other = _session_named(db, name)
                    if other is not None and other != session_id:
                        raise ValueError(f"a chat named {name!r} already exists")
                    db.execute("UPDATE sessions SET name = ? WHERE id = ?", (name, session_id))
                if settings is not None:
                    db.execute("UPDATE sessions SET settings = ? WHERE id = ?",
                               (json.dumps(settings), session_id))

        self._run("update the chat", op)

    def delete_session(self, session_id: int) -> None:
        """Delete a chat and its turns."""

        def op(db: sqlite3.Connection) -> None:
            with db:
                db.execute("DELETE FROM turns WHERE session_id = ?", (session_id,))
                db.execute("DELETE FROM sessions WHERE id = ?", (session_id,))
                db.execute(
                    "INSERT INTO store_meta (key, value) VALUES ('last_chat_id', ?)"
                    " ON CONFLICT (key) DO UPDATE SET value = MAX(value, excluded.value)",
                    (session_id,),
                )

        self._run("delete the chat", op)

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

        Called often while a reply streams, so it is one statement and one commit. On
        :class:`StoreError` nothing was written: the same call may simply be made again.
        """
        meta_json = json.dumps(meta or {}, default=str, ensure_ascii=False)
        now = time.time()

        def op(db: sqlite3.Connection) -> int:
            with db:
                if turn_id is not None:
                    cur = db.execute(
                        "UPDATE turns SET updated = ?, prompt = ?, reply = ?, backend = ?,"
                        " model = ?, status = ?, meta = ? WHERE id = ? AND session_id = ?",
                        (now, prompt, reply, backend, model, status, meta_json, turn_id,
                         session_id),
                    )  # fmt: skip
                    if cur.rowcount:
                        db.execute("UPDATE sessions SET updated = ? WHERE id = ?",
                                   (now, session_id))
                        return turn_id
                if db.execute("SELECT 1 FROM sessions WHERE id = ?", (session_id,)).fetchone() \
                        is None:
                    raise ChatMissing(f"chat {session_id} is not in {self.path}")
                cur = db.execute(
                    "INSERT INTO turns (id, session_id, created, updated, prompt, reply, backend,"
                    " model, status, meta) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (turn_id, session_id, now, now, prompt, reply, backend, model, status,
                     meta_json),
                )  # fmt: skip
                db.execute("UPDATE sessions SET updated = ? WHERE id = ?", (now, session_id))
                return int(cur.lastrowid or 0)

        return self._run("save the turn", op)

    def load_session(self, session_id: int) -> list[dict[str, Any]]:
        """Every turn of a session in order, as dicts (``meta`` decoded)."""
        rows = self._rows("read the session", _LOAD_TURNS, (session_id,))
        turns = []
        for row in rows:
            turn = dict(row)
            try:
                turn["meta"] = json.loads(turn["meta"] or "{}")
            except ValueError:
                turn["meta"] = {}
            turns.append(turn)
        return turns


def _session_named(db: sqlite3.Connection, name: str) -> int | None:
    row = db.execute("SELECT id FROM sessions WHERE name = ?", (name,)).fetchone()
    return int(row[0]) if row else None


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


def _version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def _create_schema(conn: sqlite3.Connection) -> None:
    """Tables, indexes and added columns, in one write transaction so that two processes
    opening a new or older file at once do not both alter it."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        if _version(conn) != SCHEMA_VERSION:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            _migrate(conn)
            conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        conn.rollback()
        raise


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


def move_aside(path: Path) -> Path:
    """Rename ``path`` (and its ``-wal``/``-shm`` files) to ``<name>.corrupt-<time>`` beside it,
    so a fresh file can take its place and nothing in it is lost; returns the new path."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    aside = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while aside.exists():
        n += 1
        aside = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
    # the log first: a stale -wal next to a fresh file must never be replayed into it
    for side in _SIDE_FILES:
        if Path(f"{path}{side}").exists():
            os.replace(f"{path}{side}", f"{aside}{side}")
    os.replace(path, aside)
    return aside


def _code(exc: BaseException) -> int | None:
    # the code is there only on errors SQLite itself raised
    code = getattr(exc, "sqlite_errorcode", None)
    return code & 0xFF if isinstance(code, int) else None


def _unreadable(exc: BaseException) -> bool:
    return isinstance(exc, sqlite3.DatabaseError) and _code(exc) in _UNREADABLE


def _transient(exc: BaseException) -> str | None:
    """What a failure that may pass means to a user, or None for one that will not."""
    if isinstance(exc, OSError):
        return "the disk is full" if exc.errno in (errno.ENOSPC, errno.EDQUOT) else None
    code = _code(exc)
    return _TRANSIENT.get(code) if code is not None else None
