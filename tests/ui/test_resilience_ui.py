"""Pilot tests: what the screen says while nothing arrives (queued, loading, slow first
token), when a backend stops mid-reply, when one cools down, for insecure endpoints and many
backends, and when our own code fails (a notification, never a traceback)."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest

from hybrid_tui.config import BackendConfig, Config, HealthConfig, RoutingConfig
from hybrid_tui.events import Error, Failover
from hybrid_tui.session import apply
from hybrid_tui.sim import Fault
from tests.ui.helpers import SIZE, OneReplyApp, card_status, config_for, settle, wait_for

COMPLEX = "analyze this complex system architecture and plan a migration"


def _stats(reply) -> str:
    return str(reply.query_one(".reply-stats").render())


def _card(app, name: str) -> str:
    return str(app.sidebar.cards[name].render())


async def test_a_cold_model_says_loading_until_the_first_token(make_app, ollama_sim):
    ollama_sim.knobs.loaded = []  # nothing in memory: the first reply waits for a load
    ollama_sim.knobs.load_delay = 1.0
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: card_status(app, "ollama") in ("up", "degraded"))
        assert "cold — will load" in _card(app, "ollama")
        turn = await app.send(COMPLEX)
        await wait_for(pilot, lambda: bool(turn.replies)
                       and turn.replies[0].wait_state == "loading model", what="loading")
        reply = turn.replies[0]
        assert "loading model…" in _stats(reply) and "cold start" in _stats(reply)
        assert "ollama: loading model…" in str(app.hint.render())
        await wait_for(pilot, lambda: app.idle, what="idle")
        await settle(pilot)
        assert reply.wait_state is None and reply.status == "done"
        assert "loading" not in str(app.hint.render())
        events = [e.event for e in app.routing_log.entries]
        assert events == ["decision", "loading", "done"]  # one row for the wait, no more
        loading = app.routing_log.entries[1]
        assert loading.backend == "ollama" and "not in memory" in loading.reason
        # it answered, so its model is in memory now
        assert "✓ loaded" in _card(app, "ollama")


async def test_a_slow_first_token_is_said_and_not_logged(make_app, lmstudio_sim):
    lmstudio_sim.knobs.first_token_delay = 2.0  # the notice comes after 1.25 s (5 s timeout)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        turn = await app.send("format this code: x=1", force="lmstudio")
        await wait_for(pilot, lambda: bool(turn.replies)
                       and turn.replies[0].wait_state == "waiting for first token",
                       what="waiting notice")
        assert "waiting for first token…" in _stats(turn.replies[0])
        await wait_for(pilot, lambda: app.idle, what="idle")
        assert turn.status == "done" and turn.replies[0].wait_state is None
        assert [e.event for e in app.routing_log.entries] == ["decision", "done"]


async def test_failover_names_both_backends_and_survives_resume(make_app, lmstudio_sim,
                                                                ollama_sim):
    ollama_sim.knobs.fault = Fault("die", after_tokens=12)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        turn = await app.send(COMPLEX)
        await wait_for(pilot, lambda: app.idle, what="idle")
        await settle(pilot)
        (reply,) = turn.replies
        assert turn.status == "done" and reply.status == "done"
        assert "ollama ⤷ lmstudio" in _stats(reply)
        assert "failover ollama → lmstudio" in str(turn.query_one(".badge").render())
        events = [e.event for e in app.routing_log.entries]
        assert events == ["decision", "failover", "done"]
        done = app.routing_log.entries[-1]
        assert done.backend == "lmstudio" and done.route == "failover ollama → lmstudio"
        ((offset, marker),) = reply.reply.marks
        app.conversation.scroll_home(animate=False)
        await settle(pilot)
        screen = app.export_screenshot().replace("&#160;", " ")
        assert "ollama failed after 12 tokens" in screen and "lmstudio continues" in screen
        text = reply.text
    resumed = make_app(resume=True)
    async with resumed.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: bool(resumed.conversation.turns), what="restored")
        await settle(pilot)
        (again,) = resumed.conversation.turns[0].replies
        assert again.text == text and again.reply.marks == [(offset, marker)]
        assert "ollama failed after 12 tokens" in again.body.source.replace("\\", "")
        assert "ollama ⤷ lmstudio" in _stats(again)


async def test_with_nobody_left_the_partial_reply_stays_marked_failed(make_app, lmstudio_sim,
                                                                      ollama_sim):
    ollama_sim.knobs.fault = Fault("die", after_tokens=12)
    lmstudio_sim.knobs.fault = Fault("refuse")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        turn = await app.send(COMPLEX)
        await wait_for(pilot, lambda: app.idle, what="idle")
        await settle(pilot)
        reply = turn.replies[-1]
        assert turn.status == "failed" and reply.status == "failed"
        assert reply.text and reply.body.source  # the 12 tokens stay on screen
        stats = _stats(reply)
        assert stats.startswith("failed after") and "mid-reply" in stats
        assert app.routing_log.entries[-1].event == "error"


async def test_cooldown_counts_down_on_the_card(make_app, lmstudio_sim, ollama_sim):
    config = config_for(lmstudio_sim.url, ollama_sim.url,
                        routing=RoutingConfig(cooldown_failures=1, cooldown_seconds=3))
    app = make_app(config)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: card_status(app, "ollama") == "up")
        ollama_sim.knobs.fault = Fault("refuse")
        turn = await app.send(COMPLEX)
        await wait_for(pilot, lambda: app.idle, what="idle")
        assert turn.turn.fallback is not None and turn.turn.fallback.to_backend == "lmstudio"
        card = app.sidebar.cards["ollama"]
        assert card.has_class("-cooling")
        assert any(f"cooling down {n} s" in _card(app, "ollama") for n in (3, 2, 1))
        # live: it counts down and ends by itself (then the backend is probed again)
        seen = {_card(app, "ollama").split("\n")[0]}
        await wait_for(pilot, lambda: seen.add(_card(app, "ollama").split("\n")[0])
                       or not card.has_class("-cooling"), timeout=6, what="cooldown over")
        assert len({line for line in seen if "cooling down" in line}) >= 2  # it ticked
        assert "cooling down" not in _card(app, "ollama") and "● down" in _card(app, "ollama")


async def test_card_shows_loaded_state_and_queue(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: card_status(app, "lmstudio") == "up")
        card = app.sidebar.cards["lmstudio"]
        state = app.service.health.state("lmstudio")
        assert "✓ loaded" in _card(app, "lmstudio")
        assert card.slots == 3  # lmstudio's max_concurrent
        card.show(replace(state, loaded=(), loaded_known=True, queue=2), app.clock())
        app.sidebar.tick()
        text = _card(app, "lmstudio")
        assert "○ cold — will load" in text and "queue   2 running" in text
        card.show(replace(state, queue=5), app.clock())
        app.sidebar.tick()
        assert "queue   3 running · 2 waiting" in _card(app, "lmstudio")
        card.show(replace(state, queue=0), app.clock())
        app.sidebar.tick()
        assert "queue" not in _card(app, "lmstudio")


async def test_plain_http_to_another_machine_is_flagged(make_app, lmstudio_sim):
    # 192.0.2.0/24 is TEST-NET-1: never routed, so nothing leaves this machine
    config = config_for(lmstudio_sim.url, "http://192.0.2.7:11434")
    app = make_app(config)
    async with app.run_test(size=SIZE):
        assert "⚠ plain http to another machine" in _card(app, "ollama")
        assert "plain http" not in _card(app, "lmstudio")  # loopback is fine


def _many(lmstudio: str, ollama: str, n: int) -> Config:
    """``n`` backends, alternating kinds, all on the two simulators."""
    backends = {}
    for i in range(n):
        kind, url = (("openai", lmstudio) if i % 2 == 0 else ("ollama", ollama))
        name = f"{'lmstudio' if kind == 'openai' else 'ollama'}-{i + 1}"
        backends[name] = BackendConfig(name=name, kind=kind, endpoint=url,
                                       tier="fast" if kind == "openai" else "strong",
                                       timeout=5.0)
    return Config(backends=backends, health=HealthConfig(interval=30.0, timeout=2.0))


async def test_any_number_of_backends_get_cards_that_scroll(make_app, lmstudio_sim,
                                                             ollama_sim):
    app = make_app(_many(lmstudio_sim.url, ollama_sim.url, 6))
    async with app.run_test(size=SIZE) as pilot:
        names = list(app.config.backends)
        await wait_for(pilot, lambda: all(card_status(app, n) == "up" for n in names),
                       what="all up")
        await settle(pilot)
        sidebar = app.sidebar
        assert list(sidebar.cards) == names
        assert sidebar.max_scroll_y > 0  # more cards than fit: the column scrolls
        last = sidebar.cards[names[-1]]
        assert not sidebar.region.contains_region(last.region)
        sidebar.scroll_end(animate=False)
        await settle(pilot)
        assert sidebar.region.contains_region(last.region)
        assert app.force_toggle.choices == ["auto", *names]


async def test_an_error_in_a_handler_is_a_notification_not_a_crash(make_app, caplog):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        def broken() -> bool:
            raise RuntimeError("boom")

        app.runner.cancel = broken  # type: ignore[method-assign]
        with caplog.at_level(logging.ERROR, logger="hybrid_tui"):
            await pilot.press("escape")
            await settle(pilot)
        assert any(n.startswith("Error: cancel failed: RuntimeError: boom") for n in app.notices)
        assert any(r.exc_info and "cancel failed" in r.getMessage() for r in caplog.records)
        assert app.is_running and app.return_code is None
        await pilot.press("ctrl+l")  # still answering keys
        assert not app.routing_log.display


async def test_a_failing_worker_is_a_notification_not_a_crash(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        async def fails() -> None:
            raise ValueError("worker went wrong")

        app.run_worker(fails(), name="background check", exit_on_error=False)
        await wait_for(pilot, lambda: any("worker went wrong" in n for n in app.notices),
                       what="notification")
        assert any(n.startswith("Error: background check failed") for n in app.notices)
        assert app.is_running


@pytest.mark.parametrize(
    ("before", "expected"),
    [
        # mid-line in a list item: hard breaks keep the item (and the list) whole
        ("1. Split the mono", "1. Split the mono\\\n*⤷ x — y*\\\nlith"),
        # at a line end: appended to that line, then a break
        ("A sentence.\n", "A sentence.\n*⤷ x — y*\\\nlith"),
        # after a blank line: a paragraph of its own
        ("Para.\n\n", "Para.\n\n*⤷ x — y*\n\nlith"),
        # inside an open code block: a plain line of the block (no Markdown there)
        ("```py\nx = 1\n", "```py\nx = 1\n⤷ x — y\nlith"),
        ("```py\nx = ", "```py\nx = \n⤷ x — y\nlith"),
    ],
)
async def test_the_failover_marker_keeps_the_markdown_shape(before, expected):
    app = OneReplyApp("ollama", "m")
    async with app.run_test(size=SIZE):
        reply = app.reply
        app.stream(before)
        apply(app.session, Failover("ollama", "lmstudio", "m2", 3, "x"))
        app.model.marks[-1] = (len(before), "⤷ x — y")  # a short marker to compare against
        reply.mark("⤷ x — y")
        app.stream("lith")
        app.feed(Error("gone", backend="lmstudio"))
        assert reply.body.source == expected
        model = app.model
        assert model.text == before + "lith" and model.marks == [(len(before), "⤷ x — y")]
        assert model.marked_text == f"{before}\n\n⤷ x — y\n\nlith"
