"""Saving chats as they stream.

A turn is written when it is sent (nothing typed is lost), at most every ``FLUSH_EVERY``
seconds while its reply streams, and when it ends. Writes run in a worker thread (the store
is thread-safe) so a slow disk never stalls the frame; one lock keeps them in order.

A save that fails (disk full, the database locked by another instance for longer than its
timeout) is never dropped: the turn stays pending and is tried again, later each time (up to
:data:`MAX_BACKOFF` seconds apart), and the app is told so it can say that saving is behind;
it is told again once everything is saved.

A chat that is no longer in the store (the file could not be read and was moved aside, so a
fresh one took its place, or another instance deleted the chat) is made again there and all
its turns saved anew, in order: what is on screen is never lost.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from hybrid_tui.chats import save_turn_fields, session_settings
from hybrid_tui.errors import ChatMissing
from hybrid_tui.session import Session, Turn

if TYPE_CHECKING:
    from hybrid_tui.store import Store

log = logging.getLogger(__name__)

#: seconds between saves of a streaming turn
FLUSH_EVERY = 0.2
#: the first retry after a failed save, doubled per failure up to MAX_BACKOFF
FIRST_BACKOFF = 0.5
MAX_BACKOFF = 30.0

#: called with a one-line problem when saving starts failing, and with None when it recovers
Report = Callable[[str | None], None]


class SessionWriter:
    """Keeps the turns of every open chat in the store. ``store`` None: not saving."""

    def __init__(self, store: Store | None, report: Report | None = None,
                 notice: Callable[[str], None] | None = None) -> None:  # fmt: skip
        self.store = store
        self._report = report or (lambda problem: None)
        #: one-line news a user should hear (a chat saved again after it went missing)
        self._notice = notice or (lambda message: None)
        self._dirty: dict[Turn, Session] = {}
        #: marks per pending turn, to tell a save of its latest state from an older one
        self._changes: dict[Turn, int] = {}
        self._lock = asyncio.Lock()
        #: the problem of the failing save, None while saving works
        self.failed: str | None = None
        self._backoff = 0.0
        self._next_try = 0.0

    @property
    def dirty(self) -> bool:
        return bool(self._dirty)

    @property
    def pending(self) -> int:
        return len(self._dirty)

    def mark(self, session: Session, turn: Turn) -> None:
        """``turn`` of ``session`` changed; it is saved at the next flush."""
        if self.store is not None and session.id is not None:
            self._dirty[turn] = session
            self._changes[turn] = self._changes.get(turn, 0) + 1

    def forget(self, session: Session) -> None:
        """Drop what is pending for ``session`` (a deleted chat must not be made again)."""
        for turn in [t for t, s in self._dirty.items() if s is session]:
            del self._dirty[turn]
            self._changes.pop(turn, None)
        if not self._dirty:
            self._recovered()

    def _save(self, session: Session, turn: Turn, fields: dict[str, Any]) -> None:
        assert self.store is not None and session.id is not None
        turn.id = self.store.save_turn(session.id, turn.id, **fields)

    async def flush(self, *, remake: bool = True) -> None:
        """Save every changed turn (not before the back-off of a failed save is over). A turn
        stays pending until a save of its latest state has gone through."""
        if not self._dirty or self.store is None or time.monotonic() < self._next_try:
            return
        missing: Session | None = None
        async with self._lock:
            pending = [(turn, session, self._changes.get(turn, 0), save_turn_fields(turn))
                       for turn, session in self._dirty.items()]
            for turn, session, seen, fields in pending:
                try:
                    await asyncio.to_thread(self._save, session, turn, fields)
                except ChatMissing as exc:
                    if not remake:  # gone again at once: report it like any failure
                        self._failed(exc)
                        return
                    missing = session
                    break
                except Exception as exc:  # sqlite3, StoreError and OS errors alike
                    self._failed(exc)
                    return
                if self._changes.get(turn) == seen:  # not changed again meanwhile
                    del self._dirty[turn]
                    del self._changes[turn]
            if missing is not None:
                try:
                    was = await asyncio.to_thread(self._remake, missing)
                except Exception as exc:
                    self._failed(exc)
                    return
        if missing is not None:
            self._requeue(missing)
            self._notice(self._remade_news(was, missing))
            await self.flush(remake=False)
            return
        self._recovered()

    def _remake(self, session: Session) -> str:
        """Make ``session`` again in the store, with a free name; returns its old name. Its
        turns lose their ids so that saving inserts them again."""
        assert self.store is not None
        was = session.name
        name, n = was, 1
        while True:
            try:
                session.id = self.store.new_session(name, session_settings(session))
                break
            except ValueError:  # the name is taken there
                n += 1
                name = f"{was} ({n})"
        session.name = name
        for turn in session.turns:
            turn.id = None
        return was

    def _requeue(self, session: Session) -> None:
        """Every turn of ``session`` pending again, oldest first (the store orders a chat's
        turns by when they were inserted)."""
        for turn in session.turns:
            self._dirty.pop(turn, None)
            self._dirty[turn] = session
            self._changes[turn] = self._changes.get(turn, 0) + 1

    def _remade_news(self, was: str, session: Session) -> str:
        assert self.store is not None
        where = self.store.moved_aside
        why = (f"the store could not be read and was moved to {where}"
               if where is not None else "it was deleted elsewhere")  # fmt: skip
        renamed = f" as {session.name}" if session.name != was else ""
        count = len(session.turns)
        return (f"{was} was no longer in the store ({why}); it is saved again{renamed}, "
                f"{'its one turn' if count == 1 else f'all {count} turns'}")

    def flush_now(self) -> str | None:
        """Synchronous flush for shutdown, when the loop is going away; the problem if any
        turn could not be saved."""
        if not self._dirty or self.store is None:
            return None
        problem = None
        for turn, session in list(self._dirty.items()):
            try:
                self._save(session, turn, save_turn_fields(turn))
                del self._dirty[turn]
                self._changes.pop(turn, None)
            except Exception as exc:
                problem = f"turn {turn.number} of {session.name} was not saved: {exc}"
                log.warning(problem)
        return problem

    def _failed(self, exc: Exception) -> None:
        log.warning("saving failed: %s", exc)
        self._backoff = min(MAX_BACKOFF, self._backoff * 2 if self._backoff else FIRST_BACKOFF)
        self._next_try = time.monotonic() + self._backoff
        first = self.failed is None
        self.failed = (f"not saved yet ({exc}); {self.pending} turn(s) kept, "
                       f"retrying in {self._backoff:g} s")
        if first:
            self._report(self.failed)

    def _recovered(self) -> None:
        self._backoff, self._next_try = 0.0, 0.0
        if self.failed is not None and not self._dirty:
            self.failed = None
            self._report(None)
