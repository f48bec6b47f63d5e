"""Generation settings and reasoning models over real HTTP to the simulators: the request
bodies each protocol gets (read at the servers), a chat's override, ``think`` only for a
model that can, thinking as its own events and never in the next request's history, the
trim window from ``num_ctx``, and the server's own figures on ``Done``."""

from __future__ import annotations

import json

import httpx
import pytest

from hybrid_tui.config import Config
from hybrid_tui.events import Decision, Done, Thinking, Token
from hybrid_tui.generation import ChatSettings, GenerationOptions
from hybrid_tui.router.score import score_reply
from hybrid_tui.router.service import RouterService
from hybrid_tui.sim import SimServer
from hybrid_tui.sim.replies import thinking_for
from tests.support import collect, with_backend

PROMPT = "write a python function that adds two numbers"
FULL = GenerationOptions(temperature=0.3, top_p=0.9, max_tokens=300, seed=7, stop=("###",))


@pytest.fixture
def config(make_config, lmstudio_sim: SimServer, ollama_sim: SimServer) -> Config:
    return make_config(lmstudio=lmstudio_sim.url, ollama=ollama_sim.url)


def last_body(server: SimServer) -> dict:
    return server.requests[-1]


async def test_ollama_gets_options_keep_alive_think_and_the_system_prompt(
    config, ollama_sim: SimServer
) -> None:
    ollama_sim.knobs.thinking_models = ["codellama:34b"]
    config = with_backend(config, "ollama", system_prompt="Answer in one line.", think="high",
                          options=FULL.over(GenerationOptions(num_ctx=16384, keep_alive="10m")))
    async with RouterService(config, poll=False) as service:
        events = await collect(service.submit(PROMPT, force="ollama"))
    assert isinstance(events[-1], Done), events[-1]
    body = last_body(ollama_sim)
    assert body["options"] == {"temperature": 0.3, "top_p": 0.9, "num_predict": 300, "seed": 7,
                               "stop": ["###"], "num_ctx": 16384}
    assert body["keep_alive"] == "10m" and body["think"] == "high"
    assert body["messages"][0] == {"role": "system", "content": "Answer in one line."}
    assert body["messages"][-1]["content"] == PROMPT
    assert "max_tokens" not in body and "reasoning_effort" not in body
    decision = events[0]
    assert isinstance(decision, Decision) and decision.settings is not None
    assert decision.settings.think == "high" and decision.settings.options.num_ctx == 16384


async def test_openai_gets_its_own_names_and_no_ollama_only_keys(
    config, lmstudio_sim: SimServer
) -> None:
    config = with_backend(config, "lmstudio", options=FULL, think=False, system_prompt="")
    async with RouterService(config, poll=False) as service:
        events = await collect(service.submit(PROMPT, force="lmstudio"))
    assert isinstance(events[-1], Done), events[-1]
    body = last_body(lmstudio_sim)
    picked = {k: body.get(k) for k in ("temperature", "top_p", "max_tokens", "seed", "stop",
                                       "reasoning_effort")}
    assert picked == {"temperature": 0.3, "top_p": 0.9, "max_tokens": 300, "seed": 7,
                      "stop": ["###"], "reasoning_effort": "none"}
    assert not {"options", "num_ctx", "keep_alive", "think"} & set(body)
    assert [m["role"] for m in body["messages"]] == ["user"]  # "" sends no system prompt


async def test_the_defaults_send_the_seed_values_and_the_built_in_system_prompt(
    config, lmstudio_sim: SimServer, ollama_sim: SimServer
) -> None:
    async with RouterService(config, poll=False) as service:
        await collect(service.submit(PROMPT, force="lmstudio"))
        await collect(service.submit(PROMPT, force="ollama"))
    lm, ol = last_body(lmstudio_sim), last_body(ollama_sim)
    assert (lm["temperature"], lm["max_tokens"]) == (0.1, 2048)
    assert ol["options"] == {"temperature": 0.1, "num_predict": 2048}
    assert "think" not in ol and "reasoning_effort" not in lm  # the server's default
    assert lm["messages"][0]["role"] == ol["messages"][0]["role"] == "system"


async def test_a_chat_override_goes_over_each_backends_config(
    config, lmstudio_sim: SimServer
) -> None:
    chat = ChatSettings(GenerationOptions(temperature=0.9, seed=1), system_prompt="Be terse.")
    async with RouterService(config, poll=False) as service:
        events = await collect(service.submit(PROMPT, force="lmstudio", settings=chat))
        assert service.settings_for("lmstudio", chat) == events[0].settings
    body = last_body(lmstudio_sim)
    assert (body["temperature"], body["seed"], body["max_tokens"]) == (0.9, 1, 2048)
    assert body["messages"][0] == {"role": "system", "content": "Be terse."}
    done = events[-1]
    assert isinstance(done, Done) and done.settings == events[0].settings


async def test_think_goes_only_to_a_model_with_the_capability(
    config, ollama_sim: SimServer
) -> None:
    """codellama has no "thinking" capability: Ollama would answer 400, so it is not sent,
    and the reply says why; /api/show is asked once per model."""
    config = with_backend(config, "ollama", think=True)
    async with RouterService(config, poll=False) as service:
        first = await collect(service.submit(PROMPT, force="ollama"))
        second = await collect(service.submit(PROMPT, force="ollama"))
    for events in (first, second):
        done = events[-1]
        assert isinstance(done, Done), done
        assert "think not sent: codellama:34b has no thinking capability" in done.warnings
    assert all("think" not in body for body in ollama_sim.requests)
    assert ollama_sim.hits.count("POST /api/show") == 1
    # the simulator refuses it as Ollama does
    async with httpx.AsyncClient(timeout=5) as client:
        refused = await client.post(f"{ollama_sim.url}/api/chat", json={
            "model": "codellama:34b", "messages": [{"role": "user", "content": "hi"}],
            "think": True})
    assert refused.status_code == 400
    assert refused.json() == {"error": '"codellama:34b" does not support thinking'}


@pytest.mark.parametrize("kind", ["ollama", "reasoning_content", "reasoning", "think_tags"])
async def test_thinking_comes_first_as_its_own_events(
    config, ollama_sim: SimServer, lmstudio_sim: SimServer, kind: str
) -> None:
    if kind == "ollama":
        ollama_sim.knobs.thinking_models = ["codellama:34b"]
        config, force = with_backend(config, "ollama", think=True), "ollama"
    else:
        lmstudio_sim.knobs.quirks.add(kind)
        force = "lmstudio"
    async with RouterService(config, poll=False) as service:
        events = await collect(service.submit(PROMPT, force=force))
    kinds = [type(ev).__name__ for ev in events if isinstance(ev, Thinking | Token)]
    assert kinds[0] == "Thinking" and "Token" in kinds
    assert kinds.index("Token") == kinds.count("Thinking")  # every thought before the answer
    thought = "".join(ev.text for ev in events if isinstance(ev, Thinking))
    done = events[-1]
    assert isinstance(done, Done), done
    assert done.text == "".join(ev.text for ev in events if isinstance(ev, Token))
    assert thought.strip() and thought.strip() not in done.text and "<think>" not in done.text
    assert done.thinking_tokens > 0
    assert done.thinking_ttft_ms is not None and done.ttft_ms is not None
    assert done.thinking_ttft_ms <= done.ttft_ms and done.thinking_ms is not None
    # only the answer is scored
    assert done.confidence == score_reply(done.text, task_type=done.task_type,
                                          prompt=PROMPT).confidence


@pytest.mark.parametrize("backend", ["ollama", "lmstudio"])
async def test_thinking_never_goes_back_in_the_next_requests_history(
    config, ollama_sim: SimServer, lmstudio_sim: SimServer, backend: str
) -> None:
    """Two prompts of one chat, the history built from what the first reply gave (as the
    TUI does): the second request carries the first answer and none of its thinking."""
    ollama_sim.knobs.thinking_models = ["codellama:34b"]
    lmstudio_sim.knobs.quirks.add("think_tags")
    chat: list[dict[str, str]] = []
    async with RouterService(config, poll=False) as service:
        for prompt in (PROMPT, "now make it add three numbers"):
            events = await collect(service.submit(prompt, history=chat, force=backend))
            done = events[-1]
            assert isinstance(done, Done), done
            assert any(isinstance(ev, Thinking) for ev in events)
            chat += [{"role": "user", "content": prompt},
                     {"role": "assistant", "content": done.text}]
    server = ollama_sim if backend == "ollama" else lmstudio_sim
    second = json.dumps(last_body(server)["messages"])
    assert chat[1]["content"][:40] in json.loads(second)[2]["content"]
    first_thought = thinking_for([{"role": "user", "content": PROMPT}])
    for marker in (first_thought[:40], "The user wants working code", "<think>", "thinking"):
        assert marker not in second, marker


async def test_a_failover_continues_the_answer_not_the_thinking(
    config, ollama_sim: SimServer, lmstudio_sim: SimServer
) -> None:
    from hybrid_tui.events import Failover
    from hybrid_tui.sim import Fault, tokenize

    ollama_sim.knobs.thinking_models = ["codellama:34b"]
    thought = len(tokenize(thinking_for([{"role": "user", "content": PROMPT}])))
    await ollama_sim.set_fault(Fault("die", after_tokens=thought + 20))  # 20 answer tokens in
    async with RouterService(config, poll=False) as service:
        events = await collect(service.submit(PROMPT, force="strong"))
    failover = next(ev for ev in events if isinstance(ev, Failover))
    assert failover.tokens_so_far == 20  # answer tokens only
    prefix = last_body(lmstudio_sim)["messages"][-1]
    assert prefix["role"] == "assistant" and prefix["content"]
    assert "edge cases first" not in prefix["content"].lower()


async def test_num_ctx_is_the_window_the_history_is_fitted_to(
    config, ollama_sim: SimServer
) -> None:
    config = with_backend(config, "ollama", options=GenerationOptions(num_ctx=2048,
                                                                       max_tokens=256))
    history = []
    for i in range(40):
        history += [{"role": "user", "content": f"q{i} " + "why " * 60},
                    {"role": "assistant", "content": f"a{i} " + "because " * 30}]
    async with RouterService(config, poll=False) as service:
        events = await collect(service.submit(PROMPT, history=history, force="ollama"))
        await service.health.refresh()
        loaded = service.health.state("ollama").models
    context = events[0].signals.context
    assert (context.context_length, context.source) == (2048, "configured")
    assert context.budget == 2048 - 256  # max_tokens is the room kept for the reply
    assert events[0].history_dropped > 0 and context.estimated_tokens <= context.budget
    assert last_body(ollama_sim)["options"]["num_ctx"] == 2048
    # the simulator loads the model with it, as /api/ps then says
    assert next(m for m in loaded if m.name == "codellama:34b").context_length == 2048


async def test_the_servers_own_figures_and_a_cold_load_reach_done(
    config, ollama_sim: SimServer, lmstudio_sim: SimServer
) -> None:
    for sim in (ollama_sim, lmstudio_sim):
        sim.knobs.tokens_per_s, sim.knobs.reply_tokens = 400, 40
    ollama_sim.knobs.loaded = []
    ollama_sim.knobs.load_delay = 0.6
    lmstudio_sim.knobs.quirks.add("timings")
    async with RouterService(config, poll=False) as service:
        cold = (await collect(service.submit(PROMPT, force="ollama")))[-1]
        warm = (await collect(service.submit(PROMPT, force="ollama")))[-1]
        llama = (await collect(service.submit(PROMPT, force="lmstudio")))[-1]
    for done in (cold, warm, llama):
        assert isinstance(done, Done), done
        assert done.server_tokens_per_s is not None and 100 < done.server_tokens_per_s < 2000
        assert done.server_prompt_ms is not None and done.server_prompt_tokens
    assert cold.cold_load and cold.server_load_ms is not None and cold.server_load_ms >= 500
    assert not warm.cold_load and not llama.cold_load


def test_the_demo_ollama_is_a_reasoning_model() -> None:
    from hybrid_tui.config import default_config
    from hybrid_tui.ui.demo import start_demo

    sims, config = start_demo(default_config(env={}))
    try:
        url = config.backends["ollama"].endpoint
        shown = httpx.post(f"{url}/api/show", json={"model": "codellama:34b"}, timeout=5)
        assert "thinking" in shown.json()["capabilities"]
        with httpx.stream("POST", f"{url}/api/chat", timeout=10, json={
                "model": "codellama:34b", "messages": [{"role": "user", "content": "hi"}]}) as r:
            first = json.loads(next(r.iter_lines()))  # then hang up: a reply takes seconds
        assert first["message"]["thinking"]
    finally:
        sims.stop()


async def test_a_json_answer_is_read_only_up_to_its_bound() -> None:
    """A server (or a proxy) answering /api/show with megabytes gets a clear error, and
    is never read to the end: every read has a size bound."""
    import asyncio

    from hybrid_tui.backends import make_backend
    from hybrid_tui.backends.transport import JSON_BODY_LIMIT
    from hybrid_tui.config import BackendConfig
    from hybrid_tui.errors import ProtocolError

    body = b"[" + b"0," * (JSON_BODY_LIMIT // 2 + 10) + b"0]"

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body))
        try:
            writer.write(body)
            await writer.drain()
        except ConnectionError:
            pass  # the client stopped reading, as it should
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with httpx.AsyncClient() as client:
            backend = make_backend(BackendConfig("o", "ollama", f"http://127.0.0.1:{port}"),
                                   client)
            with pytest.raises(ProtocolError, match="answered with more than 8,388,608 bytes"):
                await backend.request_json("POST", "/api/show", 5, {"model": "m"})
            assert await backend.capabilities("m") is None  # so think is not sent
    finally:
        server.close()
        await server.wait_closed()
