"""Full garbage collections wait while a reply streams, and run when the app is idle.

Rendering a streamed reply allocates many small objects (strips, segments, styles). With
Python's default thresholds that keeps triggering *full* (generation 2) collections, each a
walk of the whole heap: measured at 6-7 per 20,000-token reply and up to 257 ms
each, during which no frame is drawn and no key is handled. While a reply streams the
oldest generation's threshold is raised so only the cheap young collections run; once
nothing streams the thresholds are restored and one full collection runs after a short
pause (when nothing moves on screen, a pause there is invisible). Textual does the same for
smooth scrolling (``App.PAUSE_GC_ON_SCROLL``). Nothing is leaked: cycles created meanwhile
wait for that collection, and refcounted objects are freed as always.

:func:`freeze_startup` moves everything alive once the first screen is up into the
permanent generation, so later full collections never walk the start-up objects again
(Python's documented use of ``gc.freeze``).
"""

from __future__ import annotations

import gc
from collections.abc import Callable

#: the oldest generation's threshold while a reply streams: high enough never to be reached
HELD_THRESHOLD = 1_000_000
#: seconds of no streaming before the deferred full collection runs
IDLE_COLLECT_AFTER = 0.5


class GCPause:
    """Counts streaming replies; full collections are held while any streams."""

    def __init__(self, schedule: Callable[[float, Callable[[], None]], object]) -> None:
        """``schedule(delay, callback)`` runs ``callback`` later on the UI loop."""
        self._schedule = schedule
        self._holders = 0
        self._saved: tuple[int, ...] | None = None
        self._owed = False
        #: full collections run because of a hold (for tests and the benchmarks)
        self.collections = 0

    @property
    def held(self) -> bool:
        return self._holders > 0

    def hold(self) -> None:
        """A reply starts streaming."""
        self._holders += 1
        if self._holders == 1 and self._saved is None:
            self._saved = gc.get_threshold()
            young, middle, *_ = self._saved
            gc.set_threshold(young, middle, HELD_THRESHOLD)

    def release(self) -> None:
        """A reply stopped streaming; the collection is owed once none streams."""
        if self._holders == 0:
            return
        self._holders -= 1
        if self._holders == 0:
            if self._saved is not None:
                gc.set_threshold(*self._saved)
                self._saved = None
            self._owed = True
            self._schedule(IDLE_COLLECT_AFTER, self._collect_if_idle)

    def _collect_if_idle(self) -> None:
        if self._holders or not self._owed:
            return
        self._owed = False
        gc.collect()
        self.collections += 1


def freeze_startup() -> None:
    """Collect once, then exempt every surviving object from later collections."""
    gc.collect()
    gc.freeze()
