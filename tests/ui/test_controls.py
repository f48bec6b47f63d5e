"""Pilot tests: the forced-backend control, the routing log, exports and the palette."""

from __future__ import annotations

import json

from textual.widgets import Input

from hybrid_tui import locations
from hybrid_tui.ui.screens.decision import DecisionScreen
from hybrid_tui.ui.screens.help import HelpScreen
from tests.ui.helpers import SIZE, card_status, settle, wait_for

COMPLEX = "analyze this complex system architecture and plan a migration"
CODE_REPLY = "Try this:\n\n```python\nprint('one')\n```\n\nor:\n\n```sh\necho two\n```\n"


async def test_ctrl_b_forces_a_backend_and_the_log_records_it(make_app, lmstudio_sim, ollama_sim):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: card_status(app, "lmstudio") == "up")
        assert app.force_toggle.value == "auto"
        await pilot.press("ctrl+b")
        assert app.force_toggle.value == "lmstudio"
        assert "lmstudio" in str(app.force_toggle.render())
        app.prompt_input.insert(COMPLEX)  # would go to ollama on its own
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.idle)
        decision = app.routing_log.entries[0]
        assert decision.event == "decision"
        assert decision.forced and decision.backend == "lmstudio"
        assert decision.task_type and decision.complexity and decision.reason
        row = app.routing_log.get_row_at(0)
        assert "forced" in str(row[5]) and "lmstudio" in str(row[4])
        assert ollama_sim.requests == [] and len(lmstudio_sim.requests) == 1
        # the choice was for that one prompt: the bar says Auto again
        assert app.force_toggle.value == "auto" and app.session.next_force is None
        # cycling: lmstudio, ollama, then back to auto
        await pilot.press("ctrl+b")
        await pilot.press("ctrl+b")
        assert app.force_toggle.value == "ollama"
        await pilot.press("ctrl+b")
        assert app.force_toggle.value == "auto"


async def test_a_pinned_backend_stays_for_later_prompts(make_app, lmstudio_sim, ollama_sim):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: card_status(app, "lmstudio") == "up")
        await pilot.press("ctrl+b", "f4")  # choose lmstudio, pin it
        assert app.session.pin == "lmstudio" and app.session.next_force is None
        assert "pinned" in str(app.force_toggle.render())
        for _ in range(2):
            view = await app.send(COMPLEX)  # would go to ollama on its own
            await wait_for(pilot, lambda: app.idle)
            assert view.turn.force == "lmstudio" and view.turn.force_source == "pin"
        assert ollama_sim.requests == [] and len(lmstudio_sim.requests) == 2
        assert "pinned" in str(app.force_toggle.render())  # still in force
        await pilot.press("f4")  # unpin
        assert app.session.pin is None and app.force_toggle.value == "auto"
        await app.send(COMPLEX)
        await wait_for(pilot, lambda: app.idle)
        assert len(ollama_sim.requests) == 1


async def test_auto_routing_is_logged_with_task_type_and_reason(make_app, ollama_sim):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: card_status(app, "ollama") == "up")
        await app.send(COMPLEX)
        await wait_for(pilot, lambda: app.idle)
        decision, *_, done = app.routing_log.entries
        assert decision.backend == "ollama" and not decision.forced
        assert decision.complexity == "complex"
        assert "ollama" in decision.reason or "strong" in decision.reason
        assert done.event == "done" and "tok/s" in done.outcome and "conf" in done.outcome


async def test_selecting_a_log_row_shows_the_full_decision(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await app.send("format this code: x=1", force="lmstudio")
        await wait_for(pilot, lambda: app.idle)
        app.routing_log.focus()
        app.routing_log.move_cursor(row=0)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DecisionScreen), what="detail")
        screen = app.screen
        assert screen.entry.event == "decision"
        fields = str(screen.query_one("#detail-fields").render())
        assert "format this code: x=1" in fields and "lmstudio" in fields
        assert "signals" in json.dumps(screen.entry.detail)
        await pilot.press("escape")
        assert not isinstance(app.screen, DecisionScreen)


async def test_ctrl_e_exports_the_log_as_json_lines(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await app.send("format this code: x=1", force="lmstudio")
        await wait_for(pilot, lambda: app.idle)
        await pilot.press("ctrl+e")
        files = list((locations.data_dir() / "exports").glob("routing-log-*.jsonl"))
        assert len(files) == 1
        lines = [json.loads(line) for line in files[0].read_text().splitlines()]
        assert [line["event"] for line in lines] == [e.event for e in app.routing_log.entries]
        assert lines[0]["forced"] is True and lines[0]["backend"] == "lmstudio"
        assert any(str(files[0]) in notice for notice in app.notices)
        assert files[0].stat().st_mode & 0o777 == 0o600  # readable by the user only


async def test_transcript_export_and_copies(make_app, lmstudio_sim):
    lmstudio_sim.knobs.reply = CODE_REPLY
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await app.send("format this code: x=1", force="lmstudio")
        await wait_for(pilot, lambda: app.idle)
        app.action_copy_code()
        assert app.clipboard == "echo two"
        app.action_copy_reply()
        assert app.clipboard == CODE_REPLY
        app.action_export_transcript()
        (path,) = (locations.data_dir() / "exports").glob("transcript-*.md")
        text = path.read_text()
        assert "format this code: x=1" in text and "echo two" in text and "lmstudio" in text
        assert path.stat().st_mode & 0o777 == 0o600 and path.parent.stat().st_mode & 0o777 == 0o700


async def test_command_palette_runs_app_commands(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        assert app.sidebar.display
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: bool(app.screen.query(Input)), what="palette")
        await pilot.press(*"sidebar")
        await settle(pilot)
        await pilot.press("enter")
        await wait_for(pilot, lambda: not app.sidebar.display, what="sidebar hidden")
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: bool(app.screen.query(Input)), what="palette")
        await pilot.press(*"force ollama")
        await settle(pilot)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.force_toggle.value == "ollama", what="forced")


async def test_clear_conversation_stops_and_starts_over(make_app, lmstudio_sim):
    lmstudio_sim.knobs.reply_tokens = 5000
    lmstudio_sim.knobs.tokens_per_s = 100.0
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await app.send("format this code: a", force="lmstudio")
        await app.send("format this code: b", force="lmstudio")
        first = app.conversation.turns[0]
        # streaming for real: tokens arrived (the turn says "streaming" from its decision on)
        await wait_for(pilot, lambda: bool(first.replies) and first.replies[0].chunks > 0,
                       what="tokens")
        await app.action_clear_conversation()
        await wait_for(pilot, lambda: app.idle)
        assert app.conversation.turns == []
        assert app.conversation.query("#welcome")
        await wait_for(pilot, lambda: lmstudio_sim.in_flight == 0, what="stream closed")
        assert len(lmstudio_sim.requests) == 1  # the queued prompt never went out


async def test_help_and_toggles(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)
        await pilot.press("ctrl+l")
        assert not app.routing_log.display
        await pilot.press("ctrl+l", "ctrl+s")
        assert app.routing_log.display and not app.sidebar.display
