"""Pilot tests: prompts that are too big, or full of control characters and binary, are sent
exactly as given, shown safely, and never freeze the screen."""

from __future__ import annotations

import re
import time

from textual import events

from tests.ui.helpers import SIZE, config_for, settle, wait_for

#: 1 MB in one line: the worst case for a text area, which re-wraps the line on every key
ONE_MB = "".join(f"word{i % 10} " for i in range(200_000))[:1_000_000]
HOSTILE = "title:\x1b]0;pwned\x07 clear:\x1b[2J nul:\x00 bin:\x01\x7f\x9b\u202e end"


def _screen(app) -> str:
    return app.export_screenshot().replace("&#160;", " ")


def _sent(sim) -> str:
    """The last user message of the simulator's last request."""
    return [m for m in sim.requests[-1]["messages"] if m["role"] == "user"][-1]["content"]


async def test_a_one_megabyte_paste_is_sent_whole_without_freezing(make_app, lmstudio_sim):
    lmstudio_sim.knobs.context_length = 2_000_000  # this server accepts it
    lmstudio_sim.knobs.reply = "got it"
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        prompt = app.prompt_input
        app.post_message(events.Paste("summarise this log: " + ONE_MB))
        await pilot.pause()
        # the text area holds a short chip, not the megabyte
        assert re.fullmatch(r"⟦pasted 1,000,020 characters #1⟧", prompt.text)
        started = time.monotonic()
        await pilot.press("space", "o", "k")
        assert time.monotonic() - started < 2.0  # sanity bound: typing stays interactive
        app.set_force("lmstudio")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.idle, what="idle", timeout=30)
        await settle(pilot)
        (turn,) = app.conversation.turns
        assert turn.status == "done" and turn.answer == "got it"
        assert _sent(lmstudio_sim) == "summarise this log: " + ONE_MB + " ok"  # sent whole
        assert turn.prompt == _sent(lmstudio_sim)
        echo = str(turn.query_one(".prompt").render())
        hidden = re.search(r"… \(([\d,]+) more characters\)", echo)
        assert hidden is not None
        assert len(echo) < 10_000 and int(hidden.group(1).replace(",", "")) > 990_000
        assert len(app.routing_log.entries[0].prompt) <= 120


async def test_a_prompt_too_big_for_the_server_says_so_plainly(make_app, lmstudio_sim,
                                                              ollama_sim):
    # the simulated LM Studio has an 8,192-token context, and nobody else to fall back to
    app = make_app(config_for(lmstudio_sim.url, ollama_sim.url, enabled=("lmstudio",)))
    async with app.run_test(size=SIZE) as pilot:
        turn = await app.send(ONE_MB)
        await wait_for(pilot, lambda: app.idle, what="idle", timeout=30)
        assert turn.status == "failed"
        failure = next(n for n in app.notices if n.startswith("Reply failed"))
        assert "context" in failure and "Traceback" not in failure
        assert app.routing_log.entries[-1].event == "error"


async def test_control_characters_and_binary_are_sent_as_typed_and_shown_safely(
    make_app, lmstudio_sim
):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        prompt = app.prompt_input
        app.post_message(events.Paste(HOSTILE))
        await pilot.pause()
        assert prompt.value == HOSTILE
        assert "\x1b" not in prompt.text and "␛]0;pwned␇" in prompt.text
        screen = _screen(app)
        assert "\x1b" not in screen and "\x07" not in screen and "\x9b" not in screen
        assert "␛]0;pwned␇ clear:␛[2J" in screen  # in the prompt box, visibly
        app.set_force("lmstudio")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.idle, what="idle")
        await settle(pilot)
        assert _sent(lmstudio_sim) == HOSTILE  # exactly what was pasted
        (turn,) = app.conversation.turns
        assert turn.prompt == HOSTILE
        screen = _screen(app)
        assert "\x1b" not in screen and "\x9b" not in screen
        assert "title:␛]0;pwned␇ clear:␛[2J nul:␀ bin:␁␡" in screen  # the echo
        # recalled with ↑, it is the same prompt again
        await pilot.press("up")
        assert prompt.value == HOSTILE and "\x1b" not in prompt.text


async def test_a_recalled_huge_prompt_comes_back_as_a_chip(make_app, lmstudio_sim):
    lmstudio_sim.knobs.context_length = 2_000_000
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.post_message(events.Paste(ONE_MB))
        await pilot.pause()
        app.set_force("lmstudio")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.idle, timeout=30)
        await pilot.press("up")
        assert app.prompt_input.text.startswith("⟦pasted 1,000,000 characters")
        assert app.prompt_input.value == ONE_MB
