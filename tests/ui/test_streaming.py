"""Pilot tests: prompts stream into the output pane, queue, cancel, and render safely."""

from __future__ import annotations

from hybrid_tui.sim import Fault
from hybrid_tui.ui.widgets.turn import ReplyView
from tests.ui.helpers import SIZE, config_for, settle, wait_for

CODE_REPLY = "Here you go:\n\n```python\ndef add(a, b):\n    return a + b\n```\n\nDone."


async def _send(pilot, text: str) -> None:
    """Type ``text`` into the (focused) prompt and press Enter, as a user would."""
    pilot.app.prompt_input.insert(text)
    await pilot.press("enter")


async def test_prompt_streams_to_the_end(make_app, lmstudio_sim, ollama_sim):
    lmstudio_sim.knobs.reply = CODE_REPLY
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.sidebar.status_of("lmstudio") == "up", what="up")
        await _send(pilot, "format this code: x=1")
        await wait_for(pilot, lambda: app.idle, what="idle")
        await settle(pilot)
        (turn,) = app.conversation.turns
        assert turn.status == "done"
        (reply,) = turn.replies
        assert reply.backend == "lmstudio"
        assert reply.text == CODE_REPLY
        assert reply.body.source == CODE_REPLY
        stats = str(reply.query_one(".reply-stats").render())
        assert "TTFT" in stats and "tokens" in stats and "confidence" in stats
        assert [e.event for e in app.routing_log.entries] == ["decision", "done"]
        # the prompt went out once, to the backend the badge names
        assert len(lmstudio_sim.requests) == 1 and not ollama_sim.requests


async def test_history_is_sent_with_the_next_prompt(make_app, lmstudio_sim):
    lmstudio_sim.knobs.reply = "first answer"
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await app.send("format this code: a=1", force="lmstudio")
        await wait_for(pilot, lambda: app.idle)
        lmstudio_sim.knobs.reply = "second answer"
        await app.send("format this code: b=2", force="lmstudio")
        await wait_for(pilot, lambda: app.idle)
        messages = lmstudio_sim.requests[-1]["messages"]
        contents = [(m["role"], m["content"]) for m in messages if m["role"] != "system"]
        assert ("user", "format this code: a=1") in contents
        assert ("assistant", "first answer") in contents
        assert contents[-1] == ("user", "format this code: b=2")


async def test_escape_cancels_mid_stream_and_closes_the_stream(make_app, lmstudio_sim):
    lmstudio_sim.knobs.reply_tokens = 2000
    lmstudio_sim.knobs.tokens_per_s = 200.0
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await app.send("format this code: x=1", force="lmstudio")
        await wait_for(pilot, lambda: bool(app.conversation.turns[0].replies)
                       and app.conversation.turns[0].replies[0].chunks > 5, what="tokens")
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.idle, what="idle")
        turn = app.conversation.turns[0]
        reply = turn.replies[0]
        assert turn.status == "cancelled"
        assert reply.status == "cancelled"
        assert reply.text and reply.chunks < 2000  # the partial reply stays
        assert "cancelled" in str(reply.query_one(".reply-stats").render())
        assert app.routing_log.entries[-1].event == "cancelled"
        # the HTTP stream was closed: the simulator is no longer generating
        await wait_for(pilot, lambda: lmstudio_sim.in_flight == 0, what="stream closed")


async def test_escape_cancels_before_the_first_token(make_app, ollama_sim):
    ollama_sim.knobs.first_token_delay = 30.0
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await app.send("analyze this complex system architecture", force="ollama")
        await wait_for(pilot, lambda: ollama_sim.in_flight == 1, what="request in flight")
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.idle, what="idle", timeout=5)
        turn = app.conversation.turns[0]
        assert turn.status == "cancelled"
        assert "before the first token" in str(turn.replies[0].query_one(".reply-stats").render())
        await wait_for(pilot, lambda: ollama_sim.in_flight == 0, what="stream closed")


async def test_queued_prompt_runs_after_the_first(make_app, lmstudio_sim):
    lmstudio_sim.knobs.reply_tokens = 80
    lmstudio_sim.knobs.tokens_per_s = 100.0
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        # (the Enter path is covered above; Pilot's key presses wait for an idle app)
        first = await app.send("format this code: first", force="lmstudio")
        second = await app.send("format this code: second", force="lmstudio")
        assert first.status in ("routing", "streaming")
        assert second.status == "queued"
        assert "queued" in str(second.query_one(".badge").render())
        assert "1 queued" in str(app.hint.render())
        await wait_for(pilot, lambda: app.idle, what="idle")
        assert first.status == second.status == "done"
        prompts = [r["messages"][-1]["content"] for r in lmstudio_sim.requests]
        assert prompts == ["format this code: first", "format this code: second"]
        assert lmstudio_sim.max_in_flight == 1  # one at a time, in order


async def test_model_markup_and_control_codes_render_literally(make_app, lmstudio_sim):
    hostile = (
        "[bold red]x[/] title:\x1b]0;pwned\x07 clear:\x1b[2J"
        " link:\x1b]8;;http://e.vil\x1b\\ end"
    )
    lmstudio_sim.knobs.reply = hostile
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await app.send("[b]prompt markup[/b] \x1b[31mred", force="lmstudio")
        await wait_for(pilot, lambda: app.idle)
        await settle(pilot)
        reply = app.conversation.turns[0].replies[0]
        assert reply.text == hostile  # kept as received for history and the transcript
        assert "\x1b" not in reply.body.source
        screen = app.export_screenshot().replace("&#160;", " ")
        assert "\x1b" not in screen and "\x07" not in screen
        assert "[bold red]x[/]" in screen
        assert "␛]0;pwned␇" in screen
        assert "␛[2J" in screen
        assert "[b]prompt markup[/b] ␛[31mred" in screen


async def test_tokens_are_coalesced_per_frame(make_app, lmstudio_sim):
    lmstudio_sim.knobs.reply_tokens = 2000
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await app.send("format this code: big", force="lmstudio")
        await wait_for(pilot, lambda: app.idle, timeout=30)
        reply = app.conversation.turns[0].replies[0]
        assert reply.status == "done" and reply.chunks >= 2000
        # far fewer Markdown writes than tokens: at most one per frame, not one per token
        assert 0 < reply.flushes < reply.chunks / 10


async def test_empty_prompt_is_not_sent(make_app, lmstudio_sim, ollama_sim):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.prompt_input.insert("   \n  ")
        await pilot.press("enter")
        await pilot.pause()
        assert app.conversation.turns == []
        assert "Type a prompt first" in str(app.hint.render())
        assert not lmstudio_sim.requests and not ollama_sim.requests


async def test_newline_keys_and_prompt_recall(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        prompt = app.prompt_input
        app.set_force("lmstudio")
        await pilot.press("a", "ctrl+j", "b")
        assert prompt.text == "a\nb"
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.idle)
        assert prompt.text == ""
        await pilot.press("up")
        assert prompt.text == "a\nb"
        await pilot.press("down", "down")
        assert prompt.text == ""


async def test_die_mid_stream_keeps_the_partial_reply(make_app, lmstudio_sim, ollama_sim):
    lmstudio_sim.knobs.reply_tokens = 100
    lmstudio_sim.knobs.fault = Fault("die", after_tokens=10)
    config = config_for(lmstudio_sim.url, ollama_sim.url, enabled=("lmstudio",))
    app = make_app(config)
    async with app.run_test(size=SIZE) as pilot:
        await app.send("format this code: x=1")
        await wait_for(pilot, lambda: app.idle)
        await settle(pilot)
        turn = app.conversation.turns[0]
        reply: ReplyView = turn.replies[0]
        assert turn.status == "failed"
        assert reply.text and reply.body.source  # what arrived stays on screen
        assert "failed after" in str(reply.query_one(".reply-stats").render())
        assert app.routing_log.entries[-1].event == "error"
        assert any("Reply failed" in notice for notice in app.notices)


async def test_follows_the_stream_only_while_the_reader_is_at_the_bottom(make_app, lmstudio_sim):
    lmstudio_sim.knobs.reply = "\n\n".join(f"Paragraph {i} of a long answer." for i in range(40))
    lmstudio_sim.knobs.tokens_per_s = 250.0
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        conversation = app.conversation
        turn = await app.send("format this code: long", force="lmstudio")
        # (pilot.pause() without a delay would wait for the whole stream: the app is busy)
        await wait_for(pilot, lambda: conversation.max_scroll_y > 5, what="overflow")
        await pilot.pause(0.05)
        assert conversation.scroll_y >= conversation.max_scroll_y - 1  # following
        conversation.scroll_to(y=0, animate=False)  # the reader scrolls up to read
        chunks = turn.replies[0].chunks
        await wait_for(pilot, lambda: turn.replies[0].chunks > chunks + 40, what="more")
        await pilot.pause(0.3)
        assert conversation.scroll_y == 0  # not yanked back
        conversation.scroll_end(animate=False)  # back at the bottom: following again
        await wait_for(pilot, lambda: app.idle, timeout=30)
        await settle(pilot)
        assert conversation.scroll_y == conversation.max_scroll_y > 5


async def test_escalated_turn_shows_both_replies(make_app, lmstudio_sim, ollama_sim):
    lmstudio_sim.knobs.reply = "Sorry, I can't help with that."
    ollama_sim.knobs.reply = "```python\nx = 1\n```"
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        turn = await app.send("format this code: x=1")
        await wait_for(pilot, lambda: app.idle)
        await settle(pilot)
        first, second = turn.replies
        assert (first.backend, second.backend) == ("lmstudio", "ollama")
        assert first.text == "Sorry, I can't help with that." and first.status == "done"
        assert second.reply.escalated and second.has_class("-escalated")
        assert "escalated" in str(second.query_one(".reply-note").render())
        assert turn.answer == "```python\nx = 1\n```"  # the escalated reply is the answer
        assert [e.event for e in app.routing_log.entries] == [
            "decision", "done", "escalation", "done"]
        assert app.routing_log.entries[2].route.startswith("escalated lmstudio")
