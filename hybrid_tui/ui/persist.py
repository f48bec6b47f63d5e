"""Saving the conversation as it streams, and reading it back for ``--resume``.

A turn is written when it is sent (nothing typed is lost), at most every ``FLUSH_EVERY``
seconds while its reply streams, and when it ends. Writes run in a worker thread (the store
is thread-safe) so a slow disk never stalls the frame; one lock keeps them in order.
A broken store is reported once and the session carries on unsaved.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

#: seconds between saves of a streaming turn (the issue asks for at most 250 ms)
FLUSH_EVERY = 0.2

Snapshot = Callable[[], dict[str, Any]]
"""Returns ``save_turn`` keyword arguments: prompt, reply, backend, model, status, meta."""


class TranscriptWriter:
    """Keeps one session's turns in the store. ``store`` None means "not saving"."""

    def __init__(self, store: Any | None, session_id: int | None) -> None:
        self.store = store
        self.session_id = session_id
        self._ids: dict[int, int] = {}
        self._dirty: dict[int, Snapshot] = {}
        self._lock = asyncio.Lock()
        self.failed: str | None = None

    @classmethod
    def open(
        cls, store: Any | None, *, resume: bool
    ) -> tuple[TranscriptWriter, list[dict[str, Any]]]:
        """A writer on the last session (``resume``) or a new one, and the turns to show.

        Never raises: a store that cannot be opened gives a writer that does not save, with
        ``failed`` saying why."""
        if store is None:
            return cls(None, None), []
        try:
            session = store.last_session_id() if resume else None
            turns = store.load_session(session) if session is not None else []
            if session is None:
                session = store.new_session()
        except Exception as exc:  # sqlite3 and OS errors alike: report, keep going
            writer = cls(None, None)
            writer.failed = f"transcripts are not being saved: {exc}"
            return writer, []
        writer = cls(store, session)
        for turn in turns:
            key = turn.get("meta", {}).get("number")
            if isinstance(key, int):
                writer._ids[key] = int(turn["id"])
        return writer, turns

    @property
    def dirty(self) -> bool:
        return bool(self._dirty)

    def mark(self, key: int, snapshot: Snapshot) -> None:
        """Turn ``key`` changed; it is saved at the next flush."""
        if self.store is not None:
            self._dirty[key] = snapshot

    def _save(self, key: int, fields: dict[str, Any]) -> None:
        assert self.store is not None and self.session_id is not None
        self._ids[key] = self.store.save_turn(self.session_id, self._ids.get(key), **fields)

    async def flush(self) -> str | None:
        """Save every changed turn; returns an error message the first time saving fails."""
        if not self._dirty or self.store is None:
            return None
        async with self._lock:
            pending = [(key, snap()) for key, snap in self._dirty.items()]
            self._dirty.clear()
            try:
                for key, fields in pending:
                    await asyncio.to_thread(self._save, key, fields)
            except Exception as exc:
                return self._fail(exc)
        return None

    def flush_now(self) -> str | None:
        """Synchronous flush for shutdown, when the loop is going away."""
        if not self._dirty or self.store is None:
            return None
        pending = [(key, snap()) for key, snap in self._dirty.items()]
        self._dirty.clear()
        try:
            for key, fields in pending:
                self._save(key, fields)
        except Exception as exc:
            return self._fail(exc)
        return None

    def _fail(self, exc: Exception) -> str | None:
        log.warning("saving the transcript failed: %s", exc)
        first = self.failed is None
        self.failed = f"transcript not saved: {exc}"
        self.store = None
        return self.failed if first else None
