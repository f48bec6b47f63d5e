"""Pilot tests: a long session keeps only the newest turns mounted; the rest stay in the
chat history and the export, and come back on screen on request."""

from __future__ import annotations

import json

from hybrid_tui.ui.widgets import conversation as conversation_module
from hybrid_tui.ui.widgets.conversation import EarlierTurns
from tests.ui.helpers import SIZE, settle, wait_for


async def _ask(app, pilot, text: str):
    turn = await app.send(text, force="lmstudio")
    await wait_for(pilot, lambda: turn.status == "done" and app.idle, what=text)
    return turn


async def test_old_turns_leave_the_screen_but_not_the_session(make_app, lmstudio_sim,
                                                              monkeypatch):
    monkeypatch.setattr(conversation_module, "MOUNTED_TURNS", 3)
    monkeypatch.setattr(conversation_module, "SHOW_MORE", 2)
    lmstudio_sim.knobs.reply_tokens = 30
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        answers = [(await _ask(app, pilot, f"format this code: take {i}")).answer
                   for i in range(6)]
        conversation = app.conversation
        assert [t.prompt for t in conversation.turns] == [
            f"format this code: take {i}" for i in (3, 4, 5)]
        hidden = app.session.turns[:conversation.hidden]
        assert [p.prompt for p in hidden] == [f"format this code: take {i}" for i in (0, 1, 2)]
        assert [p.answer for p in hidden] == answers[:3]
        line = conversation.query_one(EarlierTurns)
        assert "3 earlier turns not shown" in str(line.render())

        # the next prompt still sends every earlier turn as history, oldest first
        history = app.session.history_before(conversation.turns[-1].turn)
        prompts = [m["content"] for m in history if m["role"] == "user"]
        assert prompts == [f"format this code: take {i}" for i in range(5)]

        # scrolled to the top, a click brings back the newest two of them, in order
        conversation.release_anchor()  # as a reader's scroll up does
        conversation.scroll_home(animate=False)
        await wait_for(pilot, lambda: conversation.scroll_y == 0, what="at the top")
        await settle(pilot)
        await pilot.click(EarlierTurns)
        await wait_for(pilot, lambda: len(conversation.turns) == 5, what="shown again")
        shown = conversation.turns[:2]
        assert [t.prompt for t in shown] == [f"format this code: take {i}" for i in (1, 2)]
        assert [t.answer for t in shown] == answers[1:3]
        assert all(t.status == "done" for t in shown)
        assert conversation.hidden == 1
        assert "1 earlier turn not shown" in str(conversation.query_one(EarlierTurns).render())


async def test_export_holds_turns_that_left_the_screen(make_app, lmstudio_sim, monkeypatch,
                                                      tmp_path):
    monkeypatch.setattr(conversation_module, "MOUNTED_TURNS", 2)
    lmstudio_sim.knobs.reply_tokens = 20
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        for i in range(4):
            await _ask(app, pilot, f"format this code: export {i}")
        assert app.conversation.hidden == 2
        app.action_export_transcript()
        await pilot.pause()
        exports = list(app._exports_dir().glob("transcript*.md"))
        assert len(exports) == 1
        text = exports[0].read_text()
        for i in range(4):
            assert f"format this code: export {i}" in text
        # a new chat starts with none of them
        await app.action_clear_conversation()
        assert app.conversation.hidden == 0 and not app.conversation.query(EarlierTurns)
        assert app.session.turns == [] and json.dumps(app.session.history_before(None)) == "[]"


async def test_the_log_says_when_history_was_left_out_for_the_context(make_app, lmstudio_sim):
    lmstudio_sim.knobs.context_length = 2048
    lmstudio_sim.knobs.reply_tokens = 400
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        for i in range(6):
            await _ask(app, pilot, f"format this code: long {i}")
        decisions = [e for e in app.routing_log.entries if e.event == "decision"]
        assert decisions[0].outcome == ""  # nothing earlier to leave out
        last = decisions[-1]
        dropped = app.conversation.turns[-1].turn.decision.history_dropped
        assert dropped > 0
        assert last.outcome == f"{dropped} old turns left out" or (
            dropped == 1 and last.outcome == "1 old turn left out")
        assert app.conversation.turns[-1].status == "done"  # and the server did not refuse


async def test_long_replies_leave_fewer_turns_mounted(make_app, lmstudio_sim, monkeypatch):
    """Turns stay mounted by the characters they hold, as when a chat opens: a chat of long
    replies lays out a few of them each frame, not 25; the turn before the newest stays."""
    monkeypatch.setattr(conversation_module, "OPEN_BUDGET", 1_000)
    lmstudio_sim.knobs.reply_tokens = 200
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        for i in range(5):
            await _ask(app, pilot, f"format this code: long {i}")
        conversation = app.conversation
        shown = [t.turn for t in conversation.turns]
        assert 2 <= len(shown) < 5 and conversation.hidden == 5 - len(shown)
        assert shown == app.session.turns[conversation.hidden:]
        kept = sum(len(t.prompt) + sum(r.length for r in t.replies) for t in shown[1:])
        assert kept <= 1_000 or len(shown) == 2
