"""Pilot tests: ``+`` / ``-`` rate the last reply through the router, never eat typing, and
the rating shows next to the reply's stats, in the store and after ``--resume``."""

from __future__ import annotations

import sqlite3

from textual.widgets import Input

from hybrid_tui import locations
from hybrid_tui.config import RoutingConfig
from hybrid_tui.ui.app import HybridApp
from tests.ui.helpers import SIZE, config_for, frozen_clock, settle, wait_for

FORMAT = "format this code: x=1"


def _stats(reply) -> str:
    return str(reply.query_one(".reply-stats").render())


def _feedback(reply_id: int) -> int | None:
    """The rating the router stored for one reply (its outcome row), read from the file."""
    db = sqlite3.connect(locations.store_file())
    try:
        (value,) = db.execute("SELECT feedback FROM outcomes WHERE id = ?", (reply_id,)).fetchone()
        return value
    finally:
        db.close()


async def test_plus_and_minus_in_the_empty_prompt_rate_the_last_reply(make_app, lmstudio_sim):
    lmstudio_sim.knobs.reply = "x = 1"
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        turn = await app.send(FORMAT, force="lmstudio")
        await wait_for(pilot, lambda: app.idle, what="idle")
        (reply,) = turn.replies
        assert reply.reply.done is not None and reply.reply.done.reply_id is not None
        reply_id = reply.reply.done.reply_id
        assert _feedback(reply_id) is None
        assert app.prompt_input.has_focus and app.prompt_input.text == ""
        await pilot.press("plus")
        await settle(pilot)
        assert reply.reply.rating is True and "👍" in _stats(reply)
        assert app.prompt_input.text == ""  # the key rated; it typed nothing
        assert any(n.startswith("Rated good: Turn 1") for n in app.notices)
        assert _feedback(reply_id) == 1  # recorded by the router for this very reply
        await pilot.press("minus")
        await settle(pilot)
        assert reply.reply.rating is False and "👎" in _stats(reply) and "👍" not in _stats(reply)
        assert any(n.startswith("Rated bad: Turn 1") for n in app.notices)
        assert _feedback(reply_id) == -1


async def test_plus_and_minus_are_typed_when_the_prompt_has_text(make_app, lmstudio_sim):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await app.send(FORMAT, force="lmstudio")
        await wait_for(pilot, lambda: app.idle)
        await pilot.press("a", "plus", "b", "minus", "c")
        assert app.prompt_input.text == "a+b-c"
        reply = app.conversation.turns[0].replies[0]
        assert reply.reply.rating is None
        assert not any(n.startswith("Rated") for n in app.notices)


async def test_with_nothing_to_rate_the_keys_type(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("minus", "v")
        assert app.prompt_input.text == "-v"
        assert not any("rate" in n.lower() for n in app.notices)


async def test_rating_from_the_conversation_and_the_palette(make_app, lmstudio_sim):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        turn = await app.send(FORMAT, force="lmstudio")
        await wait_for(pilot, lambda: app.idle)
        reply = turn.replies[0]
        app.conversation.focus()
        await pilot.press("minus")
        await settle(pilot)
        assert reply.reply.rating is False
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: bool(app.screen.query(Input)), what="palette")
        await pilot.press(*"rate last reply good")
        await settle(pilot)
        await pilot.press("enter")
        await wait_for(pilot, lambda: reply.reply.rating is True, what="rated from the palette")
        assert "👍" in _stats(reply)


async def test_rating_is_saved_and_shown_after_resume(make_app, lmstudio_sim):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await app.send(FORMAT, force="lmstudio")
        await wait_for(pilot, lambda: app.idle)
        await pilot.press("plus")
        await wait_for(pilot, lambda: app.conversation.turns[0].replies[0].reply.rating is True)
    resumed = make_app(resume=True)
    async with resumed.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: bool(resumed.conversation.turns), what="restored")
        await settle(pilot)
        reply = resumed.conversation.turns[0].replies[0]
        assert reply.reply.rating is True and "👍" in _stats(reply)
        assert _feedback(reply.reply.done.reply_id) == 1
        # already rated good: a second + says so and asks the router nothing
        await pilot.press("plus")
        await settle(pilot)
        assert any("already rated good" in n for n in resumed.notices)
        assert not any(n.startswith("Rated good") for n in resumed.notices)


async def test_with_learning_off_the_router_says_why_nothing_is_rated(lmstudio_sim, ollama_sim):
    config = config_for(lmstudio_sim.url, ollama_sim.url,
                        routing=RoutingConfig(learning_enabled=False))
    app = HybridApp(config, clock=frozen_clock)
    async with app.run_test(size=SIZE) as pilot:
        turn = await app.send(FORMAT, force="lmstudio")
        await wait_for(pilot, lambda: app.idle)
        await pilot.press("plus")
        await settle(pilot)
        assert turn.replies[0].reply.rating is None and "👍" not in _stats(turn.replies[0])
        assert any(n.startswith("Not rated: learning is off") for n in app.notices)


async def test_typing_elsewhere_goes_to_the_prompt(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.routing_log.focus()
        await pilot.press("h", "i")
        assert app.prompt_input.has_focus and app.prompt_input.text == "hi"
