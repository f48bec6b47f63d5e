"""The routing signals end to end, over real HTTP to the simulators: explained decisions,
loaded models, queues and speeds, the code check, cancellation and the user's ratings."""

from __future__ import annotations

import asyncio
import json
import random
import re
from collections.abc import AsyncIterator

import pytest

from hybrid_tui.config import Config
from hybrid_tui.errors import UsageError
from hybrid_tui.events import Decision, Done, Escalation, Token, event_to_dict
from hybrid_tui.router.service import RouterService
from hybrid_tui.sim import SimServer
from hybrid_tui.store import Store
from tests.support import collect

COMPLEX = "analyze this complex system architecture"
BROKEN_JSON = 'Here is the config:\n\n```json\n{"port": 8080,\n "host": "localhost"\n```\n'


@pytest.fixture
def sims(lmstudio_sim: SimServer, ollama_sim: SimServer) -> tuple[SimServer, SimServer]:
    return lmstudio_sim, ollama_sim


@pytest.fixture
def config(make_config, sims) -> Config:
    lm, ol = sims
    return make_config(lmstudio=lm.url, ollama=ol.url)


@pytest.fixture
async def router(config: Config) -> AsyncIterator[RouterService]:
    async with RouterService(config, poll=False, rng=random.Random(5)) as service:
        yield service


# -- explained decisions ------------------------------------------------------------------


async def test_a_decision_carries_every_signal(router) -> None:
    events = await collect(router.submit(COMPLEX))
    decision = events[0]
    assert isinstance(decision, Decision) and decision.backend == "ollama"
    signals = decision.signals.to_dict()
    assert signals["task_type"] == "analysis" and signals["words"] == ["analyze"]
    assert signals["complexity"] == "complex" and signals["complexity_score"] >= 3
    assert signals["contributions"]["hard problem"] > 0
    assert signals["availability"] == {"lmstudio": "up", "ollama": "up"}
    assert signals["loaded"]["ollama"] == {"model": "codellama:34b", "loaded": True}
    assert signals["loaded"]["lmstudio"]["loaded"] is True
    for name in ("lmstudio", "ollama"):
        predicted = signals["predicted"][name]
        assert predicted["total_s"] == pytest.approx(
            predicted["queue_s"]
            + predicted["load_s"]
            + predicted["ttft_s"]
            + predicted["decode_s"],
            abs=0.005,
        )
        assert signals["bandit"][name]["samples"] == 0
    assert signals["bandit"]["ollama"]["mean"] > signals["bandit"]["lmstudio"]["mean"]
    assert signals["forced"] is False and signals["rule"] == "task-types"
    assert re.fullmatch(r"[0-9a-f]{12}", decision.id)
    line = json.loads(json.dumps(event_to_dict(decision)))
    assert line["id"] == decision.id and line["signals"]["predicted"]["ollama"]["measured"] is False
    again = (await collect(router.submit(COMPLEX)))[0]
    assert again.id != decision.id
    assert again.signals.candidate("ollama").predicted.measured  # the first reply was timed


# -- loaded models ------------------------------------------------------------------------------


async def test_loaded_state_comes_from_both_servers(config, sims) -> None:
    _lm, ol = sims
    ol.knobs.loaded = []  # nothing in Ollama's memory (/api/ps is empty)
    async with RouterService(config, poll=False) as service:
        assert service.health.state("ollama").chosen_loaded is False
        assert service.health.state("lmstudio").chosen_loaded is True
        decision = (await collect(service.submit(COMPLEX)))[0]
        assert decision.signals.to_dict()["loaded"]["ollama"]["loaded"] is False
        assert decision.signals.to_dict()["predicted"]["ollama"]["load_s"] > 0
        # answered: the model is in memory now, no need to wait for the next probe
        assert service.health.state("ollama").chosen_loaded is True


async def test_a_loaded_model_of_the_list_is_preferred_over_a_cold_earlier_one(config, sims):
    _, ol = sims
    ol.knobs.loaded = ["qwen2.5:72b"]  # the second preference is in memory, the first not
    async with RouterService(config, poll=False) as service:
        state = service.health.state("ollama")
        assert state.chosen_model == "qwen2.5:72b" and state.chosen_loaded is True
        events = await collect(service.submit(COMPLEX))
    assert events[0].model == "qwen2.5:72b" and ol.requests[-1]["model"] == "qwen2.5:72b"


async def test_cold_load_time_and_speed_are_learned_from_ollama(config, sims) -> None:
    _, ol = sims
    ol.knobs.loaded = []
    ol.knobs.load_delay = 0.3
    async with RouterService(config, poll=False) as service:
        events = await collect(service.submit(COMPLEX, force="ollama"))
        done = events[-1]
        assert isinstance(done, Done)
        assert service.speeds.load_s("ollama") == pytest.approx(0.3, abs=0.15)
        assert (
            service.health.state("ollama").predicted_tps
            == service.speeds.tokens_per_s("ollama")
            > 0
        )
        row = Store().outcome(done.reply_id)
        assert row["cold"] == 1 and row["load_ms"] >= 250 and row["tokens"] == done.tokens
        warm = service.speeds.predict("ollama", "strong", "analysis")
        assert warm.ttft_s < 0.25  # the load is kept apart from the warm first token


# -- queues ---------------------------------------------------------------------------------------


async def test_the_queue_is_visible_and_predicted(config, sims) -> None:
    _, ol = sims
    ol.knobs.tokens_per_s = 100
    ol.knobs.reply_tokens = 30
    async with RouterService(config, poll=False) as service:
        seen: list[int] = []
        service.health.add_listener(lambda s: seen.append(s.queue) if s.name == "ollama" else 0)
        tasks = [asyncio.create_task(collect(service.submit(COMPLEX))) for _ in range(3)]
        for _ in range(400):
            if service.health.state("ollama").queue == 3:
                break
            await asyncio.sleep(0.005)
        assert service.health.state("ollama").queue == 3
        _, choice = service.route(COMPLEX)
        assert choice.signals.to_dict()["predicted"]["ollama"]["ahead"] == 3
        assert choice.signals.to_dict()["predicted"]["ollama"]["queue_s"] > 0
        results = await asyncio.gather(*tasks)
    assert all(isinstance(r[-1], Done) for r in results)
    assert service.health.state("ollama").queue == 0
    assert max(seen) == 3 and seen[-1] == 0


async def test_a_slow_strong_queue_sends_a_medium_prompt_to_the_fast_tier(config, sims) -> None:
    lm, ol = sims
    lm.knobs.tokens_per_s, ol.knobs.tokens_per_s = 400, 200
    lm.knobs.reply_tokens = ol.knobs.reply_tokens = 40
    medium = "debug this crash in the parser? and the lexer?"
    async with RouterService(config, poll=False, rng=random.Random(2)) as service:
        cls, choice = service.route(medium)
        assert (cls.task_type, cls.complexity, choice.backend) == ("debugging", "medium", "ollama")
        for backend in ("lmstudio", "ollama"):  # one timed reply each: ~0.1 s and ~0.2 s
            await collect(service.submit(medium, force=backend))
        _, idle = service.route(medium)
        ol.knobs.tokens_per_s = 20  # then Ollama gets busy with long replies
        ol.knobs.reply_tokens = 100
        busy = [
            asyncio.create_task(collect(service.submit(COMPLEX, force="ollama"))) for _ in range(3)
        ]
        for _ in range(400):
            if service.health.state("ollama").queue == 3:
                break
            await asyncio.sleep(0.005)
        _, choice = service.route(medium)
        for task in busy:
            task.cancel()
        await asyncio.gather(*busy, return_exceptions=True)
    assert idle.backend == "ollama"  # about 2x slower: within max_slowdown
    assert (choice.backend, choice.rule) == ("lmstudio", "slowdown")
    assert choice.reason.startswith("medium debugging: the strong tier is predicted to take")
    assert "(over 4× slower: 3 ahead in its queue) → lmstudio (fast tier)" in choice.reason


# -- the code check, cancellation and ratings ---------------------------------------------


async def test_broken_code_escalates_and_teaches_the_bandit(router, sims) -> None:
    lm, _ol = sims
    lm.knobs.reply = BROKEN_JSON
    events = await collect(router.submit("format this config file"))
    first, final = [ev for ev in events if isinstance(ev, Done)]
    assert any(isinstance(ev, Escalation) for ev in events)
    assert first.backend == "lmstudio" and first.confidence < 0.7
    assert any(n.startswith("JSON block does not parse") for n in first.confidence_notes)
    assert final.backend == "ollama" and final.escalated
    store = Store()
    row = store.outcome(first.reply_id)
    assert (row["code_check"], row["escalated"], row["success"]) == ("failed", 1, 0)
    assert store.outcome(final.reply_id)["code_check"] in ("ok", None)
    assert router.learner.stats("format", "simple")["lmstudio"] == (0, 1)
    store.close()


async def test_a_reply_closed_half_way_counts_as_cancelled(router, sims) -> None:
    lm, _ = sims
    lm.knobs.tokens_per_s = 50
    lm.knobs.reply_tokens = 300
    events = router.submit("format this code")
    decision = None
    async for ev in events:
        decision = decision or ev
        if isinstance(ev, Token):
            break
    await events.aclose()
    assert router.limiters["lmstudio"].active == 0
    with Store() as store:
        row = store.last_reply()
    assert (row["backend"], row["cancelled"], row["success"]) == ("lmstudio", 1, 0)
    assert row["decision_id"] == decision.id
    assert router.learner.stats("format", "simple") == {"lmstudio": (0, 1)}


async def test_every_reply_can_be_rated(router, sims) -> None:
    lm, _ = sims
    lm.knobs.reply = "```python\ndef f():\n    return 1\n```\n"
    done = (await collect(router.submit("format this code")))[-1]
    assert isinstance(done, Done) and isinstance(done.reply_id, int)
    assert router.learner.stats("format", "simple") == {"lmstudio": (1, 1)}
    line = router.rate(False)
    assert line.startswith(f"rated reply {done.reply_id} - (lmstudio · qwen2.5-coder")
    assert router.learner.stats("format", "simple") == {"lmstudio": (0, 1)}
    assert router.rate(True, done.reply_id).startswith(f"rated reply {done.reply_id} +")
    with Store() as store:
        assert store.outcome(done.reply_id)["feedback"] == 1
    with pytest.raises(UsageError, match="there is no reply 99999"):
        router.rate(True, 99999)


async def test_with_learning_off_nothing_is_recorded_to_rate(make_config, sims) -> None:
    lm, ol = sims
    config = make_config(lmstudio=lm.url, ollama=ol.url, learning_enabled=False)
    async with RouterService(config, poll=False) as service:
        done = (await collect(service.submit("format this code")))[-1]
        assert done.reply_id is None
        decision = (await collect(service.submit("format this code")))[0]
        assert "bandit" not in decision.signals.to_dict()
        with pytest.raises(UsageError, match="learning is off"):
            service.rate(True)
