"""Full garbage collections wait while a reply streams, and walk only what changed since.

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
(Python's documented use of ``gc.freeze``). An app that owns its process (``freeze=True``)
goes on doing so after every reply: a long session keeps tens of thousands of objects
alive (the mounted turns, the log), and without it every full collection walks all of
them — 150-370 ms a collection by turn 100 of a chat, and with replies back to back
(queued prompts) one lands in nearly every turn. After a reply only what is not frozen yet
is collected, then frozen; since frozen objects are never collected, everything is
unfrozen and walked once whenever the frozen heap has grown by :data:`REWALK_GROWTH` of
itself since the last whole walk, so cycles that died meanwhile (turns taken off the
screen) are freed.
"""

from __future__ import annotations

import gc
from collections.abc import Callable

#: the oldest generation's threshold while a reply streams: high enough never to be reached
HELD_THRESHOLD = 1_000_000
#: seconds of no streaming before the deferred full collection runs
IDLE_COLLECT_AFTER = 0.5
#: seconds after a reply ends before an app that freezes collects: its last frame first
AFTER_LAST_FRAME = 0.05
#: the frozen heap's growth (a share of its size after the last whole walk) that makes the
#: next collection unfreeze and walk everything again
REWALK_GROWTH = 0.5


class GCPause:
    """Counts streaming replies; full collections are held while any streams."""

    def __init__(
        self, schedule: Callable[[float, Callable[[], None]], object], *, freeze: bool = False
    ) -> None:
        """``schedule(delay, callback)`` runs ``callback`` later on the UI loop; ``freeze``:
        the app owns its process, so survivors of a collection may be frozen (see above)."""
        self._schedule = schedule
        self._freeze = freeze
        self._holders = 0
        self._saved: tuple[int, ...] | None = None
        self._owed = False
        #: the frozen heap after the last whole walk (None: the first collection sets it),
        #: and the objects frozen since
        self._walked: int | None = None
        self._frozen_since = 0
        #: full collections run because of a hold (for tests and the benchmarks)
        self.collections = 0
        #: of those, the ones that unfroze and walked the whole heap
        self.rewalks = 0

    @property
    def held(self) -> bool:
        return self._holders > 0

    def hold(self) -> None:
        """A reply starts streaming (before its request is sent). What the last reply left
        is collected first if that is still owed, so it is never held across replies."""
        if self._freeze and self._owed and self._holders == 0:
            self._collect()
        self._holders += 1
        if self._holders == 1 and self._saved is None:
            self._saved = gc.get_threshold()
            young, middle, *_ = self._saved
            gc.set_threshold(young, middle, HELD_THRESHOLD)

    def release(self) -> None:
        """A reply stopped streaming; the collection is owed once none streams. An app
        that freezes collects what the reply left (cheap: the rest is frozen) just after the
        reply's last frame, not inside it, or before the next prompt if that comes first."""
        if self._holders == 0:
            return
        self._holders -= 1
        if self._holders == 0:
            if self._saved is not None:
                gc.set_threshold(*self._saved)
                self._saved = None
            self._owed = True
            delay = AFTER_LAST_FRAME if self._freeze else IDLE_COLLECT_AFTER
            self._schedule(delay, self._collect_if_idle)

    def _collect_if_idle(self) -> None:
        if self._holders or not self._owed:
            return
        self._collect()

    def _collect(self) -> None:
        self._owed = False
        self.collections += 1
        if not self._freeze:
            gc.collect()
            return
        if self._walked is None:  # the start-up objects frozen before the first reply
            self._walked = gc.get_freeze_count()
        if self._frozen_since > self._walked * REWALK_GROWTH:
            gc.unfreeze()
            gc.collect()
            self._walked, self._frozen_since = len(gc.get_objects(2)), 0
            self.rewalks += 1
        else:
            gc.collect()
            # after a full collection every survivor is in the oldest generation; counting
            # them there is cheap, unlike gc.get_freeze_count(), which walks the frozen heap
            self._frozen_since += len(gc.get_objects(2))
        gc.freeze()


def freeze_startup() -> None:
    """Collect once, then exempt every surviving object from later collections."""
    gc.collect()
    gc.freeze()
