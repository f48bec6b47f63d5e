"""The fault-injection suite through the router service: one test per fault per backend kind,
over real HTTP to the simulators, plus bad prompts (empty, 1 MB, control characters, binary).

Every case asserts the same four things: no exception escapes, the user gets one clear
message (a fallback/failover reason, a warning, or one Error), the other backend is used when
it is up, and the transcript (Token texts, ``Done.text``, ``Error.partial``) holds everything
that arrived, nothing lost and nothing twice. Timeouts are small to keep the suite fast.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest

from hybrid_tui.config import Config
from hybrid_tui.errors import UsageError
from hybrid_tui.events import Done, Error, Failover, Fallback, Token, Waiting
from hybrid_tui.router.service import RouterService
from hybrid_tui.sim import Fault, SimServer, reply_for
from tests.integration.test_router import collect, kinds, text_of

COMPLEX = "analyze this complex system architecture"
FORMAT = "format this code"
#: the prompt each backend kind is chosen for, by name
PROMPT = {"ollama": COMPLEX, "lmstudio": FORMAT}
OTHER = {"ollama": "lmstudio", "lmstudio": "ollama"}
AFTER = 5  # tokens a mid-stream fault lets through
TIMEOUT = 1.0  # first-token deadline of the faulty backend
STALL = 0.5  # seconds between chunks before a reply counts as stalled


@dataclass(frozen=True)
class Case:
    """One fault and what the user should see."""

    fault: Fault | None
    #: "fallback" (before the first token), "failover" (mid-reply), "same" (survived)
    outcome: str
    #: words the fallback/failover reason or the warning must contain, per kind
    says: dict[str, str]


CASES = {
    "refuse": Case(Fault("refuse"), "fallback", {"any": "connection refused"}),
    "blackhole": Case(Fault("blackhole"), "fallback",
                      {"any": f"no first token within {TIMEOUT:g} s"}),
    "http-400": Case(Fault("status", status=400), "fallback",
                     {"ollama": "HTTP 400: the input length exceeds the context length",
                      "lmstudio": "HTTP 400: No models loaded."}),
    "http-404": Case(Fault("status", status=404), "fallback",
                     {"ollama": "HTTP 404: model 'codellama:34b' not found",
                      "lmstudio": 'HTTP 404: Model "qwen2.5-coder-7b-instruct" not found.'}),
    "http-500": Case(Fault("status", status=500), "fallback",
                     {"ollama": "HTTP 500: model runner has unexpectedly stopped",
                      "lmstudio": "HTTP 500: The model has crashed"}),
    "http-503": Case(Fault("status", status=503), "fallback",
                     {"ollama": "HTTP 503: server busy, please try again.",
                      "lmstudio": "HTTP 503: Service Unavailable"}),
    "die": Case(Fault("die", after_tokens=AFTER), "failover", {"any": "mid-reply"}),
    "error-line": Case(Fault("error_line", after_tokens=AFTER), "failover",
                       {"ollama": "model runner has unexpectedly stopped",
                        "lmstudio": "The model has crashed"}),
    "no-terminator": Case(Fault("no_terminator", after_tokens=AFTER), "failover",
                          {"any": "without its end marker"}),
    "stall": Case(Fault("stall", after_tokens=AFTER), "failover",
                  {"any": f"stalled: nothing for {STALL:g} s"}),
    "malformed": Case(Fault("malformed", after_tokens=AFTER), "same",
                      {"any": "skipped 1 malformed line"}),
    "split-utf8": Case(Fault("split_utf8"), "same", {}),
    "slow-first-token": Case(None, "same", {"any": "waiting for first token"}),
}  # fmt: skip
KINDS = ("ollama", "lmstudio")
MIDSTREAM = ("die", "error-line", "no-terminator", "stall")


def expected_words(case: Case, kind: str) -> str:
    return case.says.get(kind) or case.says.get("any", "")


def fast_config(config: Config, faulty: str) -> Config:
    """Small deadlines: the faulty backend's first token within TIMEOUT, stalls at STALL."""
    backends = dict(config.backends)
    backends[faulty] = replace(backends[faulty], timeout=TIMEOUT)
    routing = replace(config.routing, stall_timeout=STALL)
    return replace(config, backends=backends, routing=routing)


@pytest.fixture
def sims(lmstudio_sim: SimServer, ollama_sim: SimServer) -> dict[str, SimServer]:
    return {"lmstudio": lmstudio_sim, "ollama": ollama_sim}


async def started(config: Config, notice: float | None = None) -> RouterService:
    """A service after its first probe; ``notice``: seconds before a first-token notice."""
    service = RouterService(config, poll=False)
    await service.start()
    service.first_token_notice = notice
    return service


@pytest.mark.parametrize("fault", list(CASES))
@pytest.mark.parametrize("kind", KINDS)
async def test_fault_with_the_other_backend_up(make_config, sims, kind: str, fault: str) -> None:
    case = CASES[fault]
    faulty, other = sims[kind], sims[OTHER[kind]]
    config = fast_config(make_config(lmstudio=sims["lmstudio"].url, ollama=sims["ollama"].url),
                         kind)
    service = await started(config, 0.1 if fault == "slow-first-token" else None)
    try:
        # faults go in after the first probe, so the request (not the probe) meets them
        if fault == "slow-first-token":
            faulty.knobs.first_token_delay = 0.4
        await faulty.set_fault(case.fault)
        events = await collect(service.submit(PROMPT[kind]))
    finally:
        await service.aclose()

    assert events[0].event == "decision" and events[0].backend == kind
    done = events[-1]
    assert isinstance(done, Done), events[-1]
    assert not [ev for ev in events if isinstance(ev, Error)]
    # the transcript: every token that arrived, nothing lost, nothing twice
    assert done.text == text_of(events) == reply_for(PROMPT[kind])
    words = expected_words(case, kind)

    if case.outcome == "fallback":
        assert kinds(events) == ["decision", "fallback", "token", "done"]
        fallback = events[1]
        assert isinstance(fallback, Fallback)
        assert (fallback.from_backend, fallback.to_backend) == (kind, OTHER[kind])
        assert words in fallback.reason
        assert done.backend == OTHER[kind] and done.fallback_from == kind
        assert {ev.backend for ev in events if isinstance(ev, Token)} == {OTHER[kind]}
        assert other.requests
    elif case.outcome == "failover":
        assert kinds(events) == ["decision", "token", "failover", "token", "done"]
        failover = next(ev for ev in events if isinstance(ev, Failover))
        assert (failover.from_backend, failover.to_backend) == (kind, OTHER[kind])
        assert failover.tokens_so_far == AFTER
        assert words in failover.reason
        partial = text_of(events, kind)
        assert len([ev for ev in events if isinstance(ev, Token) and ev.backend == kind]) == AFTER
        continued = other.requests[-1]["messages"]
        assert continued[-1] == {"role": "assistant", "content": partial}
        assert continued[:-1] == faulty.requests[-1]["messages"]
        assert done.backend == OTHER[kind] and done.failover_from == kind
        assert done.text == partial + text_of(events, OTHER[kind])
        assert service.health.state(kind).status == "down"
    else:
        assert done.backend == kind and not other.requests
        waits = [ev for ev in events if isinstance(ev, Waiting)]
        if fault == "slow-first-token":
            assert [w.state for w in waits] == [words]
            assert waits[0].backend == kind
        else:
            assert waits == []
        if fault == "malformed":
            assert words in done.warnings
        if fault == "split-utf8":
            assert "—" in done.text  # a multi-byte character survived being cut in two
            assert all("\ufffd" not in ev.text for ev in events if isinstance(ev, Token))


@pytest.mark.parametrize("fault", MIDSTREAM)
@pytest.mark.parametrize("kind", KINDS)
async def test_midstream_fault_with_nobody_left_keeps_the_partial(
    make_config, sims, kind: str, fault: str
) -> None:
    case = CASES[fault]
    faulty = sims[kind]
    config = fast_config(make_config(lmstudio=sims["lmstudio"].url, ollama=sims["ollama"].url),
                         kind)
    await sims[OTHER[kind]].set_fault(Fault("refuse"))
    service = await started(config)  # the probe finds the other backend down
    try:
        await faulty.set_fault(case.fault)
        events = await collect(service.submit(PROMPT[kind]))
    finally:
        await service.aclose()
    assert kinds(events) == ["decision", "token", "error"]
    error = events[-1]
    assert isinstance(error, Error)
    assert error.kind == "stream" and error.backend == kind
    assert error.partial == text_of(events) and error.partial
    assert reply_for(PROMPT[kind]).startswith(error.partial)
    assert error.message.startswith(f"{kind} failed mid-reply: ")
    assert expected_words(case, kind) in error.message
    assert "\n" not in error.message


@pytest.mark.parametrize("fault", ["refuse", "blackhole", "http-404", "http-500", "http-503"])
@pytest.mark.parametrize("kind", KINDS)
async def test_fault_before_the_first_token_with_nobody_left(
    make_config, sims, kind: str, fault: str
) -> None:
    case = CASES[fault]
    config = fast_config(make_config(lmstudio=sims["lmstudio"].url, ollama=sims["ollama"].url),
                         kind)
    await sims[OTHER[kind]].set_fault(Fault("refuse"))
    service = await started(config)
    try:
        await sims[kind].set_fault(case.fault)
        events = await collect(service.submit(PROMPT[kind]))
    finally:
        await service.aclose()
    assert kinds(events) == ["decision", "error"]
    error = events[-1]
    assert error.message.startswith("no backend could answer: ")
    assert expected_words(case, kind) in error.message
    assert OTHER[kind] in error.message and error.partial == ""


# --------------------------------------------------------------------------- bad prompts


@pytest.mark.parametrize("prompt", ["", "   ", "\n\t \n"])
async def test_empty_prompt_is_refused_and_nothing_is_sent(make_config, sims, prompt) -> None:
    config = make_config(lmstudio=sims["lmstudio"].url, ollama=sims["ollama"].url)
    async with RouterService(config, poll=False) as service:
        with pytest.raises(UsageError, match="empty"):
            service.submit(prompt)
    assert not sims["lmstudio"].requests and not sims["ollama"].requests


MEGABYTE = ("def f(x):\n    return x  # padding padding padding\n" * 21_000)[:1_000_000]


async def test_one_megabyte_prompt_is_sent_whole(make_config, sims) -> None:
    """Ollama takes it (it truncates old context by default); the whole prompt goes out."""
    config = make_config(lmstudio=sims["lmstudio"].url, ollama=sims["ollama"].url)
    async with RouterService(config, poll=False) as service:
        events = await collect(service.submit(MEGABYTE, force="ollama"))
    assert isinstance(events[-1], Done) and events[-1].backend == "ollama"
    assert sims["ollama"].requests[-1]["messages"][-1]["content"] == MEGABYTE


async def test_one_megabyte_prompt_over_the_context_shows_the_servers_error(
    make_config, sims
) -> None:
    """LM Studio refuses a prompt longer than its loaded context with its own words; with
    nobody else up that is the one message the user sees."""
    await sims["ollama"].set_fault(Fault("refuse"))
    config = make_config(lmstudio=sims["lmstudio"].url, ollama=sims["ollama"].url)
    async with RouterService(config, poll=False) as service:
        events = await collect(service.submit(MEGABYTE))
    assert kinds(events) == ["decision", "error"]
    message = events[-1].message
    assert "HTTP 400: Trying to keep the first" in message
    assert "the prompt is too long for the model's context window" in message
    assert "shorten the prompt" in message
    assert len(sims["lmstudio"].requests[-1]["messages"][-1]["content"]) == len(MEGABYTE)


async def test_one_megabyte_prompt_falls_back_to_the_bigger_context(make_config, sims) -> None:
    config = make_config(lmstudio=sims["lmstudio"].url, ollama=sims["ollama"].url)
    async with RouterService(config, poll=False) as service:
        events = await collect(service.submit(MEGABYTE, force="lmstudio"))
    assert kinds(events) == ["decision", "fallback", "token", "done"]
    assert "context window" in events[1].reason and events[-1].backend == "ollama"


CONTROL = "fix this:\x00\x01\x07\x1b[2J\x1b]0;title\x07\x9b31m\x7f end"
BINARY = bytes(range(256)).decode("utf-8", "replace") + "\udcff lone surrogate"


@pytest.mark.parametrize("prompt", [CONTROL, BINARY], ids=["control", "binary"])
async def test_control_characters_and_binary_are_sent_as_text(make_config, sims, prompt) -> None:
    config = make_config(lmstudio=sims["lmstudio"].url, ollama=sims["ollama"].url)
    async with RouterService(config, poll=False) as service:
        events = await collect(service.submit(prompt, force="lmstudio"))
    assert isinstance(events[-1], Done), events[-1]
    sent = sims["lmstudio"].requests[-1]["messages"][-1]["content"]
    assert sent == prompt.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
