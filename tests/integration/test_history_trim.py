"""A long chat fitted to the answering model's context window, over real HTTP to the
simulators: the window comes from what the servers report, the oldest turns are left out,
and every backend tried (fallback, failover, escalation) gets its own fit."""

from __future__ import annotations

from typing import Any

import pytest

from hybrid_tui.config import Config
from hybrid_tui.errors import ContextOverflow
from hybrid_tui.events import Decision, Done, Error, Escalation, Failover
from hybrid_tui.router.messages import SYSTEM_PROMPT, build_messages
from hybrid_tui.router.service import RouterService
from hybrid_tui.sim import Fault, SimServer
from hybrid_tui.sim.tokens import count_tokens
from tests.support import collect, dead_url

COMPLEX = "analyze this complex system architecture"
APOLOGY = "I'm sorry, but as an AI I cannot help with that."


def history(turns: int, size: int = 300) -> list[dict[str, str]]:
    """``turns`` earlier question/answer pairs, each message about ``size`` characters."""
    out = []
    for i in range(turns):
        out.append({"role": "user", "content": f"earlier question {i}: " + "why " * (size // 4)})
        out.append({"role": "assistant", "content": f"earlier answer {i}: " + "because " * (
            size // 8)})
    return out


def sim_prompt_tokens(request: dict[str, Any]) -> int:
    """The prompt tokens of a chat request as the simulators count them (their context
    check uses the same measure)."""
    return sum(count_tokens(m["content"]) + 4 for m in request["messages"]) + 2


def questions(request: dict[str, Any]) -> list[str]:
    """The user messages of a request, cut to their first words."""
    return [m["content"].split(":")[0] for m in request["messages"] if m["role"] == "user"]


@pytest.fixture
def config(make_config, lmstudio_sim: SimServer, ollama_sim: SimServer) -> Config:
    return make_config(lmstudio=lmstudio_sim.url, ollama=ollama_sim.url)


async def test_a_long_session_keeps_answering_with_the_newest_turns(
    config, lmstudio_sim: SimServer
) -> None:
    """The TUI's way: every earlier prompt and answer goes with each new prompt. The
    simulated LM Studio's model is loaded with 1,024 tokens; 30 turns would need ~6,000."""
    lm = lmstudio_sim
    lm.knobs.context_length = 1024
    lm.knobs.reply_tokens = 60
    chat: list[dict[str, str]] = []
    decisions: list[Decision] = []
    async with RouterService(config, poll=False) as service:
        for i in range(30):
            prompt = f"question {i}: write a function that returns {i} squared"
            events = await collect(service.submit(prompt, history=chat, force="lmstudio"))
            done = events[-1]
            assert isinstance(done, Done), done
            decisions.append(events[0])
            assert done.history_dropped == events[0].history_dropped
            chat += [{"role": "user", "content": prompt},
                     {"role": "assistant", "content": done.text}]
        sent = lm.requests[-1]
        # without the trim the server would refuse the chat
        full = build_messages("one more", history=chat)
        with pytest.raises(ContextOverflow):
            async for _ in service.backends["lmstudio"].stream_chat(full, done.model):
                pass

    assert [d.history_dropped for d in decisions[:2]] == [0, 0]
    last, signals = decisions[-1], decisions[-1].signals.to_dict()["context"]
    assert last.history_dropped > 0
    assert signals["context_length"] == 1024 and signals["source"] == "loaded"
    assert signals["turns_kept"] + signals["turns_dropped"] == 29
    assert signals["estimated_tokens"] <= signals["budget"] == 512

    assert sim_prompt_tokens(sent) <= 1024
    assert sent["messages"][0] == {"role": "system", "content": SYSTEM_PROMPT}
    kept = signals["turns_kept"]
    assert questions(sent) == [f"question {i}" for i in range(29 - kept, 30)]
    assert "question 0" not in questions(sent)  # the oldest went first
    # whole pairs: every kept question is followed by its own answer
    roles = [m["role"] for m in sent["messages"][1:]]
    assert roles == ["user", "assistant"] * kept + ["user"]
    assert sent["messages"][-1]["content"].startswith("question 29: ")


async def test_ollama_keeps_its_system_prompt(config, ollama_sim: SimServer) -> None:
    """Ollama would cut an overlong chat silently from the front, system prompt first."""
    ol = ollama_sim
    ol.knobs.context_length = 2048
    async with RouterService(config, poll=False) as service:
        events = await collect(service.submit(COMPLEX, history=history(40), force="ollama"))
    assert isinstance(events[-1], Done)
    assert events[0].history_dropped > 0 and events[0].signals.context.source == "loaded"
    sent = ol.requests[-1]
    assert sim_prompt_tokens(sent) <= 2048
    assert sent["messages"][0]["content"] == SYSTEM_PROMPT
    assert questions(sent)[-2] == "earlier question 39" and questions(sent)[-1] == COMPLEX
    assert "earlier question 0" not in questions(sent)


async def test_a_failover_is_fitted_again_for_the_backend_that_continues(
    config, lmstudio_sim: SimServer, ollama_sim: SimServer
) -> None:
    lm, ol = lmstudio_sim, ollama_sim
    ol.knobs.context_length = 32768  # the whole chat fits here
    lm.knobs.context_length = 1024  # but not here
    async with RouterService(config, poll=False) as service:
        await ol.set_fault(Fault("die", after_tokens=5))
        events = await collect(service.submit(COMPLEX, history=history(20)))
    decision, done = events[0], events[-1]
    failover = next(ev for ev in events if isinstance(ev, Failover))
    assert (decision.backend, decision.history_dropped) == ("ollama", 0)
    assert (failover.from_backend, failover.to_backend) == ("ollama", "lmstudio")
    assert isinstance(done, Done) and done.backend == "lmstudio"
    assert 0 < done.history_dropped < 20

    assert len(questions(ol.requests[-1])) == 21  # everything went to the big window
    continued = lm.requests[-1]
    assert sim_prompt_tokens(continued) <= 1024
    assert questions(continued)[-2:] == ["earlier question 19", COMPLEX]
    assert len(questions(continued)) == 21 - done.history_dropped
    assert continued["messages"][-1]["role"] == "assistant"  # the partial reply, kept


async def test_an_escalation_is_fitted_for_the_strong_model(
    config, lmstudio_sim: SimServer, ollama_sim: SimServer
) -> None:
    lm, ol = lmstudio_sim, ollama_sim
    lm.knobs.context_length = 32768
    lm.knobs.reply = APOLOGY  # a weak fast reply: the strong tier is asked too
    ol.knobs.context_length = 2048
    async with RouterService(config, poll=False) as service:
        events = await collect(service.submit("write a quicksort", history=history(30)))
    assert any(isinstance(ev, Escalation) for ev in events)
    first, final = [ev for ev in events if isinstance(ev, Done)]
    assert (first.backend, first.history_dropped) == ("lmstudio", 0)
    assert final.backend == "ollama" and final.escalated and final.history_dropped > 0
    assert len(questions(lm.requests[-1])) == 31
    assert sim_prompt_tokens(ol.requests[-1]) <= 2048
    assert len(questions(ol.requests[-1])) == 31 - final.history_dropped


async def test_a_prompt_too_long_even_alone_goes_whole_for_the_server_to_judge(
    make_config, lmstudio_sim: SimServer
) -> None:
    """Nothing is cut from the user's own prompt: every earlier turn is left out, the prompt
    is sent whole, and the server's own words say why it was refused."""
    lm = lmstudio_sim
    lm.knobs.context_length = 256
    config = make_config(lmstudio=lm.url, ollama=dead_url())
    prompt = "explain " * 400
    async with RouterService(config, poll=False) as service:
        events = await collect(service.submit(prompt, history=history(5), force="lmstudio"))
    assert events[0].history_dropped == 5
    error = events[-1]
    assert isinstance(error, Error)
    assert "context length of only 256 tokens" in error.message
    assert "shorten the prompt" in error.message
    assert lm.requests[-1]["messages"] == [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": prompt},
    ]
