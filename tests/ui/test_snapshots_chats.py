"""Snapshots of the screens the session model brought: the chats list, a turn with an
attachment chip, a prefix-forced turn, a turn answered by both models, the decision detail,
the help screen and the prompt bar with a pinned backend. Deterministic as in
``test_snapshots.py`` (same simulators, frozen clock, fixed figures); the store's own times
are set to the frozen clock before the chats list is drawn."""

from __future__ import annotations

import itertools
import sqlite3
import uuid

from hybrid_tui import locations
from hybrid_tui.sim import Fault
from tests.ui.helpers import FROZEN, SIZE, settle, wait_for
from tests.ui.test_snapshots import FORMAT, PLAN, ask, make_app, ready


def test_chats_list(snap_compare, sims):
    """F2: every chat with its turns, when it was last used and who answered."""

    async def run(pilot):
        app = pilot.app
        await ready(pilot)
        await ask(pilot, FORMAT)
        await app.action_new_chat()
        await ask(pilot, PLAN)
        assert await app.rename_chat(app.session.id, "migration plan") is None
        db = sqlite3.connect(locations.store_file())
        with db:
            db.execute("UPDATE sessions SET created = ?, updated = ?", (FROZEN, FROZEN))
        db.close()
        await pilot.press("f2")
        await settle(pilot)

    assert snap_compare(make_app(sims), terminal_size=SIZE, run_before=run)


def test_turn_with_an_attachment_chip(snap_compare, sims, tmp_path):
    """``@path`` in the prompt: the file rides along, shown as a chip with its size."""
    (tmp_path / "total.py").write_text("def total(items):\n    return sum(items)\n")

    async def run(pilot):
        await ready(pilot)
        await ask(pilot, "format this code: @total.py")

    assert snap_compare(make_app(sims, cwd=tmp_path), terminal_size=SIZE, run_before=run)


def test_prefix_forced_turn(snap_compare, sims):
    """``@strong`` first: the prompt goes to the strong tier, and the badge says why."""

    async def run(pilot):
        await ready(pilot)
        await ask(pilot, "@strong " + FORMAT)

    assert snap_compare(make_app(sims), terminal_size=SIZE, run_before=run)


def test_asked_the_other_model(snap_compare, sims):
    """ctrl+o on a finished turn: the other tier's reply under the first, both kept."""

    async def run(pilot):
        app = pilot.app
        await ready(pilot)
        await ask(pilot, FORMAT)
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: len(app.session.turns[0].replies) == 2 and app.idle)
        await settle(pilot)

    assert snap_compare(make_app(sims), terminal_size=SIZE, run_before=run)


def test_decision_detail(snap_compare, sims, monkeypatch):
    """A routing-log row opened: the decision explained (its id, shown on screen, from a
    counter instead of a random UUID)."""
    ids = itertools.count(1)
    monkeypatch.setattr(uuid, "uuid4", lambda: uuid.UUID(int=next(ids)))

    async def run(pilot):
        app = pilot.app
        await ready(pilot)
        await ask(pilot, PLAN)
        app.routing_log.focus()
        app.routing_log.move_cursor(row=0)
        await pilot.press("enter")
        await settle(pilot)

    assert snap_compare(make_app(sims), terminal_size=SIZE, run_before=run)


def test_help_screen(snap_compare, sims):
    """F1: what the screen shows and every key, from the action table."""

    async def run(pilot):
        await ready(pilot)
        await pilot.press("f1")
        await settle(pilot)

    assert snap_compare(make_app(sims), terminal_size=SIZE, run_before=run)


def test_prompt_bar_with_a_pinned_backend(snap_compare, sims):
    """ctrl+b then F4: the backend stays for every prompt, and the bar says so."""

    async def run(pilot):
        await ready(pilot)
        await pilot.press("ctrl+b", "ctrl+b", "f4")
        await ask(pilot, FORMAT)

    assert snap_compare(make_app(sims), terminal_size=SIZE, run_before=run)


def test_thinking_while_it_streams(snap_compare, sims):
    """A thinking model stalls mid-thought: the block open, dim, labelled with its tokens."""
    sims[1].knobs.quirks.add("thinking")
    sims[1].knobs.fault = Fault("stall", after_tokens=14)

    async def run(pilot):
        app = pilot.app
        await ready(pilot)
        view = await app.send(PLAN)
        await wait_for(pilot, lambda: bool(view.turn.replies)
                       and view.turn.current.thinking_chunks == 14, what="thinking")
        await settle(pilot)
        await pilot.pause(0.1)

    assert snap_compare(make_app(sims), terminal_size=SIZE, run_before=run)


def test_thinking_folded_after_the_answer(snap_compare, sims):
    """The answer came: the thinking folds to one line, the answer below it."""
    sims[1].knobs.quirks.add("thinking")

    async def run(pilot):
        await ready(pilot)
        await ask(pilot, PLAN)

    assert snap_compare(make_app(sims), terminal_size=SIZE, run_before=run)
