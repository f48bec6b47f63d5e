"""Full garbage collections held while replies stream, run once when streaming stops.

The scheduler is injected: these tests hold the callback ``GCPause`` schedules and decide
when it runs, and watch real collections through ``gc.callbacks``."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Callable, Iterator

import pytest

from hybrid_tui.ui import gcpause
from hybrid_tui.ui.gcpause import HELD_THRESHOLD, IDLE_COLLECT_AFTER, GCPause

#: thresholds unlike the defaults, so "restored" cannot pass by accident
MINE = (911, 17, 23)


@pytest.fixture(autouse=True)
def _thresholds() -> Iterator[None]:
    """Each test starts from :data:`MINE`; whatever it did, the previous ones come back."""
    before = gc.get_threshold()
    gc.set_threshold(*MINE)
    try:
        yield
    finally:
        gc.set_threshold(*before)


class Scheduler:
    """Records ``schedule(delay, callback)`` calls; the test runs the callbacks."""

    def __init__(self) -> None:
        self.calls: list[tuple[float, Callable[[], None]]] = []

    def __call__(self, delay: float, callback: Callable[[], None]) -> None:
        self.calls.append((delay, callback))

    def run(self, index: int = -1) -> None:
        self.calls[index][1]()


@pytest.fixture
def full_collections() -> Iterator[list[int]]:
    """Generation 2 collections started while the test runs (appended as they start).
    Automatic collection is off meanwhile, so every one seen was asked for."""
    seen: list[int] = []

    def watch(phase: str, info: dict[str, int]) -> None:
        if phase == "start" and info["generation"] == 2:
            seen.append(2)

    enabled = gc.isenabled()
    gc.disable()
    gc.callbacks.append(watch)
    try:
        yield seen
    finally:
        gc.callbacks.remove(watch)
        if enabled:
            gc.enable()


def test_hold_raises_only_the_oldest_threshold_and_release_restores_all() -> None:
    pause = GCPause(Scheduler())
    pause.hold()
    assert pause.held
    assert gc.get_threshold() == (MINE[0], MINE[1], HELD_THRESHOLD)
    pause.release()
    assert not pause.held
    assert gc.get_threshold() == MINE


def test_nested_holds_restore_once_the_last_is_released() -> None:
    schedule = Scheduler()
    pause = GCPause(schedule)
    pause.hold()
    pause.hold()
    pause.release()
    assert pause.held and gc.get_threshold()[2] == HELD_THRESHOLD
    assert not schedule.calls
    pause.hold()
    pause.release()
    pause.release()
    assert not pause.held and gc.get_threshold() == MINE
    assert len(schedule.calls) == 1


def test_a_release_without_a_hold_changes_nothing() -> None:
    schedule = Scheduler()
    pause = GCPause(schedule)
    pause.release()
    assert gc.get_threshold() == MINE and not schedule.calls and not pause.held
    pause.hold()
    pause.release()
    pause.release()  # one too many
    assert gc.get_threshold() == MINE and len(schedule.calls) == 1


def test_one_full_collection_runs_after_release(full_collections: list[int]) -> None:
    schedule = Scheduler()
    pause = GCPause(schedule)
    pause.hold()
    pause.release()
    ((delay, _),) = schedule.calls
    assert delay == IDLE_COLLECT_AFTER
    assert pause.collections == 0 and not full_collections  # not before the callback
    schedule.run()
    assert pause.collections == 1 and len(full_collections) == 1
    schedule.run()  # a second call finds nothing owed
    assert pause.collections == 1 and len(full_collections) == 1


def test_no_collection_when_a_new_hold_came_first(full_collections: list[int]) -> None:
    schedule = Scheduler()
    pause = GCPause(schedule)
    pause.hold()
    pause.release()
    pause.hold()  # the next reply started before the pause ended
    schedule.run(0)
    assert pause.collections == 0 and not full_collections
    assert gc.get_threshold()[2] == HELD_THRESHOLD
    pause.release()
    assert gc.get_threshold() == MINE
    schedule.run(0)  # the stale callback: the collection is owed again, once
    schedule.run(1)
    assert pause.collections == 1 and len(full_collections) == 1


def test_release_restores_thresholds_set_before_the_hold() -> None:
    """Whatever the thresholds were when streaming began come back, exactly."""
    pause = GCPause(Scheduler())
    gc.set_threshold(5, 6, 7)
    pause.hold()
    pause.hold()
    pause.release()
    pause.release()
    assert gc.get_threshold() == (5, 6, 7)


def test_freeze_startup_moves_survivors_out_of_collections() -> None:
    before = gc.get_freeze_count()
    survivor = [object() for _ in range(100)]
    try:
        gcpause.freeze_startup()
        assert gc.get_freeze_count() >= before + len(survivor)
    finally:
        if not before:
            gc.unfreeze()


@pytest.fixture
def unfrozen() -> Iterator[None]:
    """Tests that freeze start and end with nothing frozen (as pytest runs)."""
    gc.unfreeze()
    try:
        yield
    finally:
        gc.unfreeze()


class Node:
    """An object in a reference cycle: only the cycle collector frees it."""

    def __init__(self) -> None:
        self.me = self


def test_a_freezing_pause_collects_after_the_last_frame_and_freezes_the_survivors(
        unfrozen: None, full_collections: list[int]) -> None:
    schedule = Scheduler()
    pause = GCPause(schedule, freeze=True)
    gcpause.freeze_startup()
    full_collections.clear()
    frozen = gc.get_freeze_count()
    pause.hold()
    survivors = [[i] for i in range(1000)]  # tracked objects a reply leaves alive
    pause.release()
    # not inside the reply's last frame: a few frames later
    assert [delay for delay, _ in schedule.calls] == [gcpause.AFTER_LAST_FRAME]
    assert pause.collections == 0 and not full_collections
    schedule.run()
    assert pause.collections == 1 and len(full_collections) == 1 and pause.rewalks == 0
    assert gc.get_freeze_count() >= frozen + len(survivors)


def test_a_prompt_sent_before_the_owed_collection_runs_it_first(
        unfrozen: None, full_collections: list[int]) -> None:
    """Back-to-back prompts must not carry the collection across replies (a long chat
    would grow without bound): the next hold pays for it, before its request."""
    schedule = Scheduler()
    pause = GCPause(schedule, freeze=True)
    gcpause.freeze_startup()
    full_collections.clear()
    pause.hold()
    pause.release()
    pause.hold()  # the next prompt, before the timer
    assert pause.collections == 1 and len(full_collections) == 1
    schedule.run()  # the timer comes late: nothing owed, nothing done
    assert pause.collections == 1
    pause.release()


def test_a_freezing_pause_frees_frozen_cycles_once_the_frozen_heap_grew(
        unfrozen: None) -> None:
    schedule = Scheduler()
    pause = GCPause(schedule, freeze=True)
    gcpause.freeze_startup()
    pause.hold()
    node = Node()
    dead = weakref.ref(node)
    pause.release()
    schedule.run()  # the cycle is alive, so frozen
    del node
    kept: list[list[list[int]]] = []
    replies = 0
    while pause.rewalks == 0:
        assert dead() is not None  # frozen garbage waits for the next whole walk
        pause.hold()
        kept.append([[i] for i in range(gc.get_freeze_count() // 3)])
        pause.release()
        schedule.run()
        replies += 1
        assert replies <= 4, "the frozen heap was never walked again"
    assert dead() is None
