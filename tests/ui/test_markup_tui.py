"""Server text in the TUI is never Rich markup: model names such as ``qwen[/]`` (a
MarkupError), ``[link=https://x]m[/link]`` (a hyperlink) and ``[bold red]x`` (a style), a
server's error message and a reply made of them show up literally in the sidebar, the turn's
badge, the reply and its thinking, the notifications and a routing-log row's decision detail."""

from __future__ import annotations

from dataclasses import replace

from hybrid_tui.sim import Fault
from hybrid_tui.ui.screens.decision import DecisionScreen
from hybrid_tui.ui.widgets.turn import ThinkingBlock
from tests.ui.helpers import SIZE, card_status, config_for, settle, wait_for

CLOSING, LINK, STYLE = "qwen[/]", "[link=https://x]m[/link]", "[bold red]x"
REPLY = f"Names: {LINK} {STYLE} {CLOSING}"


def no_preferences(lmstudio: str, ollama: str):
    """Both simulators, with no model preference: the router uses what the servers list."""
    config = config_for(lmstudio, ollama)
    backends = {n: replace(b, models=()) for n, b in config.backends.items()}
    return replace(config, backends=backends)


def screen_text(widget) -> str:
    """What ``widget`` paints, line by line (the Line API every widget has)."""
    return "\n".join(widget.render_line(y).text for y in range(widget.size.height))


async def test_hostile_names_show_literally_everywhere(make_app, lmstudio_sim, ollama_sim):
    lmstudio_sim.knobs.models = [LINK]
    lmstudio_sim.knobs.loaded = [LINK]
    lmstudio_sim.knobs.reply = REPLY
    ollama_sim.knobs.models = [CLOSING, STYLE]
    ollama_sim.knobs.loaded = [CLOSING]
    ollama_sim.knobs.version = STYLE
    app = make_app(no_preferences(lmstudio_sim.url, ollama_sim.url))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: card_status(app, "lmstudio") == "up"
                       and card_status(app, "ollama") == "up", what="both up")  # fmt: skip
        await settle(pilot)
        assert LINK in str(app.sidebar.cards["lmstudio"].render())
        assert CLOSING in str(app.sidebar.cards["ollama"].render())

        turn = await app.send("format this code: x=1", force="lmstudio")
        await wait_for(pilot, lambda: app.idle, what="idle")
        await settle(pilot)
        assert turn.status == "done" and turn.answer == REPLY
        assert LINK in str(turn.query_one(".badge").render())
        reply = turn.query_one(".reply-body")
        assert REPLY in screen_text(reply)
        log = app.routing_log
        log.focus()
        log.move_cursor(row=0)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DecisionScreen), what="detail")
        await settle(pilot)
        assert LINK in str(app.screen.query_one("#detail-summary").render())
        await pilot.press("escape")

        # reasoning sent inline as a <think> block: the thinking block shows it as it is
        lmstudio_sim.knobs.reply = f"<think>{STYLE} {LINK}</think>{REPLY}"
        thought = await app.send("format this code: y=2", force="lmstudio")
        await wait_for(pilot, lambda: app.idle, what="idle after the thinking reply")
        await settle(pilot)
        assert thought.answer == REPLY
        block = thought.query_one(ThinkingBlock)
        block.toggle()  # folded once the answer started
        assert f"{STYLE} {LINK}" in str(block.render())

        # a server's error message, through the failure notice and the log
        for sim in (lmstudio_sim, ollama_sim):
            sim.knobs.fault = Fault("status", status=500, message=f"{STYLE} {LINK}")
        failed = await app.send("plan a migration of this complex system")
        await wait_for(pilot, lambda: app.idle, what="idle after the failure")
        await settle(pilot)
        assert failed.status != "done"
        assert any(f"{STYLE} {LINK}" in notice for notice in app.notices), app.notices
        card = app.sidebar.cards["ollama"]
        assert card_status(app, "ollama") == "down"
        assert f"{STYLE} {LINK}" in str(card.render())
