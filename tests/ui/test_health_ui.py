"""Pilot tests: the health sidebar, the "nothing is up" banner, and a backend dying."""

from __future__ import annotations

from hybrid_tui.sim import Fault
from tests.ui.helpers import SIZE, card_status, settle, wait_for


async def test_sidebar_shows_both_up_then_one_down_after_it_stops(make_app, ollama_sim):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: card_status(app, "lmstudio") == "up"
                       and card_status(app, "ollama") == "up", what="both up")
        card = app.sidebar.cards["ollama"]
        text = str(card.render())
        assert "● up" in text and ollama_sim.url in text
        assert "codellama:34b" in text  # the model it would use
        assert "checked just now" in text and "next in 30 s" in text
        await ollama_sim.stop()
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: card_status(app, "ollama") == "down", what="down")
        await settle(pilot)
        assert "● down" in str(card.render())
        assert card.has_class("-down")
        assert card_status(app, "lmstudio") == "up"
        assert not app.banner.display  # one is still up: no banner
        assert any("ollama is down" in notice for notice in app.notices)


async def test_card_ages_follow_the_clock(make_app):
    now = [1_000_000.0]
    app = make_app(clock=lambda: now[0])
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: card_status(app, "lmstudio") == "up")
        now[0] += 12
        app.sidebar.tick()
        text = str(app.sidebar.cards["lmstudio"].render())
        assert "checked 12 s ago" in text and "next in 18 s" in text


async def test_backend_dies_and_the_other_answers(make_app, lmstudio_sim, ollama_sim):
    lmstudio_sim.knobs.reply = "answered by the fast one"
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: card_status(app, "ollama") == "up")
        ollama_sim.knobs.fault = Fault("refuse")  # dies after the last health poll
        turn = await app.send("analyze this complex system architecture and plan a migration")
        await wait_for(pilot, lambda: app.idle, what="idle")
        await settle(pilot)
        assert turn.turn.decision is not None and turn.turn.decision.backend == "ollama"
        assert turn.turn.fallback is not None and turn.turn.fallback.to_backend == "lmstudio"
        assert turn.status == "done"
        assert turn.answer == "answered by the fast one"
        assert "fallback from ollama" in str(turn.query_one(".badge").render())
        events = [e.event for e in app.routing_log.entries]
        assert events[:2] == ["decision", "fallback"] and "done" in events
        # one failed request is enough to turn its card down, no poll needed
        assert card_status(app, "ollama") == "down"


async def test_banner_when_both_are_down_and_recovery(make_app, lmstudio_sim, ollama_sim):
    lmstudio_sim.knobs.fault = Fault("refuse")
    ollama_sim.knobs.fault = Fault("refuse")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.banner.display, what="banner")
        text = str(app.banner.render())
        assert "ollama serve" in text and "lms server start" in text
        assert "hybrid-tui --demo" in text and "Developer tab" in text
        lmstudio_sim.knobs.fault = None
        ollama_sim.knobs.fault = None
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: not app.banner.display, what="banner gone")
        assert card_status(app, "lmstudio") == "up"


async def test_prompt_with_every_backend_down_fails_cleanly(make_app, lmstudio_sim, ollama_sim):
    lmstudio_sim.knobs.fault = Fault("refuse")
    ollama_sim.knobs.fault = Fault("refuse")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.banner.display)
        turn = await app.send("format this code: x=1")
        await wait_for(pilot, lambda: app.idle)
        assert turn.status == "failed"
        assert turn.turn.error
        assert app.routing_log.entries[-1].event == "error"
        assert any("Reply failed" in notice for notice in app.notices)


async def test_mid_stream_failover_keeps_the_partial_reply_and_marks_the_switch(
    make_app, lmstudio_sim, ollama_sim
):
    lmstudio_sim.knobs.reply_tokens = 100
    lmstudio_sim.knobs.fault = Fault("die", after_tokens=10)
    ollama_sim.knobs.reply = " and the rest, from the strong model."
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        turn = await app.send("format this code: x=1", force="lmstudio")
        await wait_for(pilot, lambda: app.idle)
        await settle(pilot)
        (reply,) = turn.replies
        assert turn.status == "done" and turn.turn.failover is not None
        assert reply.backend == "ollama"
        assert reply.text.endswith(" and the rest, from the strong model.")
        assert len(reply.text) > len(" and the rest, from the strong model.")  # partial kept
        # the visible marker where the second backend took over, not part of the reply text
        ((offset, marker),) = reply.reply.marks
        assert marker.startswith("⤷ lmstudio failed after 10 tokens (")
        assert marker.endswith(") — ollama continues") and "⤷" not in reply.text
        assert reply.text[offset:] == " and the rest, from the strong model."
        assert "lmstudio failed after 10 tokens" in reply.body.source.replace("\\", "")
        assert "failover lmstudio → ollama" in str(turn.query_one(".badge").render())
        failover = next(e for e in app.routing_log.entries if e.event == "failover")
        assert failover.backend == "ollama" and "10 tokens" in failover.outcome
