"""Both backend kinds against the simulators over real loopback HTTP: replies, stats, health,
model lists, every error form and fault, timeouts and cancellation."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

import httpx
import pytest

from hybrid_tui.backends import make_backend
from hybrid_tui.backends.base import Backend, StreamStats, TextDelta
from hybrid_tui.backends.ollama import chat_body
from hybrid_tui.backends.ollama import merge_models as ollama_models
from hybrid_tui.backends.openai import merge_models as openai_models
from hybrid_tui.backends.openai import request_options
from hybrid_tui.backends.transport import EMPTY_REPLY, normalise_endpoint, same_model
from hybrid_tui.config import BackendConfig
from hybrid_tui.errors import (
    BackendBusy,
    BackendHTTPError,
    BackendTimeout,
    BackendUnavailable,
    ModelNotFound,
    StreamError,
    TruncatedStream,
)

sim = pytest.importorskip("hybrid_tui.sim")
from hybrid_tui.sim import Fault, SimKnobs, SimServer  # noqa: E402
from hybrid_tui.sim.tokens import tokenize  # noqa: E402

KINDS = ["ollama", "openai"]
REPLY = "def add(a: int, b: int) -> int:\n    return a + b  # π ✓ 😀\n"
MESSAGES = [{"role": "user", "content": "write add"}]


@pytest.fixture
async def client():
    async with httpx.AsyncClient() as c:
        yield c


@pytest.fixture(params=KINDS)
async def server(request):
    """A simulator of each kind, unlimited speed, with a fixed reply."""
    async with SimServer(request.param, SimKnobs(tokens_per_s=None, reply=REPLY)) as s:
        yield s


def backend_for(server: SimServer, client: httpx.AsyncClient, **changes) -> Backend:
    kind = server.kind
    config = BackendConfig(name=f"sim-{kind}", kind=kind, endpoint=server.url, timeout=5.0)
    return make_backend(replace(config, **changes), client)


def model_of(server: SimServer) -> str:
    return server.knobs.loaded[0]


async def collect(
    backend: Backend, model: str, options=None
) -> tuple[list[TextDelta], StreamStats]:
    deltas: list[TextDelta] = []
    stats = []
    async for item in backend.stream_chat(MESSAGES, model, options):
        if isinstance(item, StreamStats):
            stats.append(item)
        else:
            assert not stats, "text after the stats"
            deltas.append(item)
    assert len(stats) == 1
    return deltas, stats[0]


def text(deltas: list[TextDelta], reasoning: bool = False) -> str:
    return "".join(d.text for d in deltas if d.reasoning is reasoning)


# ---- replies ----------------------------------------------------------------------------


async def test_stream_reply_to_the_end_with_stats(server, client):
    backend = backend_for(server, client)
    deltas, stats = await collect(backend, model_of(server), {"temperature": 0.2, "max_tokens": 99})
    assert text(deltas) == REPLY
    assert stats.model == model_of(server)
    assert stats.finish_reason == "stop"
    assert stats.server_completion_tokens == len(tokenize(REPLY))
    assert stats.tokens == stats.server_completion_tokens
    assert stats.server_prompt_tokens and stats.server_prompt_tokens > 0
    assert stats.ttft_ms is not None and 0 <= stats.ttft_ms <= stats.total_ms < 5000
    assert stats.tokens_per_s is None or stats.tokens_per_s > 0
    assert stats.warnings == ()
    sent = server.requests[-1]
    assert sent["stream"] is True and sent["messages"] == MESSAGES
    if server.kind == "ollama":
        assert sent["options"] == {"temperature": 0.2, "num_predict": 99}
        assert stats.server_load_ms is not None
    else:
        assert sent["stream_options"] == {"include_usage": True}
        assert (sent["temperature"], sent["max_tokens"]) == (0.2, 99)


async def test_endpoint_with_api_suffix_and_slash_works(server, client):
    suffix = "/api/" if server.kind == "ollama" else "/v1/"
    backend = backend_for(server, client, endpoint=server.url + suffix)
    deltas, _ = await collect(backend, model_of(server))
    assert text(deltas) == REPLY
    assert (await backend.health()).ok


async def test_many_tokens_counted_and_timed(server, client):
    server.knobs.reply_tokens = 400
    deltas, stats = await collect(backend_for(server, client), model_of(server))
    assert stats.tokens == 400
    assert len(deltas) >= 400
    assert stats.tokens_per_s is not None and stats.tokens_per_s > 0


async def test_split_utf8_stays_intact(server, client):
    server.knobs.fault = Fault("split_utf8")
    deltas, stats = await collect(backend_for(server, client), model_of(server))
    assert text(deltas) == REPLY
    assert not stats.warnings


@pytest.mark.parametrize("quirk", ["rechunk", "crlf", "keepalive_comments"])
async def test_lmstudio_wire_variants(quirk, client):
    knobs = SimKnobs(tokens_per_s=None, reply=REPLY, quirks={quirk}, first_token_delay=0.3)
    async with SimServer("openai", knobs) as s:
        deltas, stats = await collect(backend_for(s, client), model_of(s))
    assert text(deltas) == REPLY
    assert stats.finish_reason == "stop"


@pytest.mark.parametrize(
    ("kind", "quirk"),
    [("ollama", "thinking"), ("openai", "reasoning_content"), ("openai", "reasoning"),
     ("openai", "think_tags")],
)  # fmt: skip
async def test_reasoning_variants_arrive_as_reasoning(kind, quirk, client):
    async with SimServer(kind, SimKnobs(tokens_per_s=None, reply=REPLY, quirks={quirk})) as s:
        options = {"think": True} if kind == "ollama" else None
        deltas, stats = await collect(backend_for(s, client), model_of(s), options)
    assert text(deltas) == REPLY
    assert text(deltas, reasoning=True).strip()
    if kind == "ollama":
        assert s.requests[-1]["think"] is True
    assert stats.ttft_ms is not None


async def test_model_mismatch_is_a_warning(client):
    knobs = SimKnobs(tokens_per_s=None, reply=REPLY, quirks={"ignore_model", "no_jit"})
    async with SimServer("openai", knobs) as s:
        asked = s.knobs.models[-1] if s.knobs.models[-1] != model_of(s) else "some-other-model"
        deltas, stats = await collect(backend_for(s, client), asked)
    assert text(deltas) == REPLY
    assert stats.model == model_of(s)
    assert any("answered with model" in w for w in stats.warnings)


# ---- health and models ------------------------------------------------------------------


async def test_health_up_lists_models_and_loaded_state(server, client):
    server.knobs.models = [*server.knobs.models]
    report = await backend_for(server, client).health(timeout=2.0)
    assert report.ok and report.error is None and report.error_kind is None
    assert report.latency_ms is not None and report.latency_ms > 0
    names = [m.name for m in report.models]
    assert names == server.knobs.models
    assert report.loaded == tuple(server.knobs.loaded)
    types = {m.name: m.type for m in report.models}
    assert [n for n, t in types.items() if t == "embedding"] == [
        n for n in names if "embed" in n.lower()
    ]
    if server.kind == "ollama":
        assert report.version == server.knobs.version
        loaded = next(m for m in report.models if m.loaded)
        assert loaded.context_length == server.knobs.context_length
        assert all(m.size for m in report.models)


async def test_models_and_loaded_models_follow_the_server(server, client):
    backend = backend_for(server, client)
    chat = [m for m in server.knobs.models if "embed" not in m]
    server.knobs.loaded = chat[-1:]
    assert await backend.loaded_models() == chat[-1:]
    models = await backend.models()
    assert [m.name for m in models] == server.knobs.models
    assert backend.pick_model(models) is not None


async def test_health_down_when_refused(server, client):
    backend = backend_for(server, client)
    server.knobs.fault = Fault("refuse")
    report = await backend.health(timeout=2.0)
    assert not report.ok
    assert report.error_kind == "refused"
    assert "refused" in report.error and "\n" not in report.error
    with pytest.raises(BackendUnavailable) as info:
        await collect(backend, model_of(server))
    assert info.value.reason == "refused"
    server.knobs.fault = None
    assert (await backend.health(timeout=2.0)).ok


async def test_health_times_out_on_a_black_hole(server, client):
    server.knobs.fault = Fault("blackhole")
    start = time.perf_counter()
    report = await backend_for(server, client).health(timeout=0.3)
    assert time.perf_counter() - start < 3.0
    assert not report.ok and report.error_kind == "timeout"


# ---- error statuses ---------------------------------------------------------------------


async def test_unknown_model_is_model_not_found(server, client):
    with pytest.raises(ModelNotFound) as info:
        await collect(backend_for(server, client), "no-such-model:1b")
    assert "no-such-model" in info.value.message
    assert info.value.status in (400, 404)
    assert info.value.backend == f"sim-{server.kind}"


@pytest.mark.parametrize(
    ("status", "cls"),
    [(400, BackendHTTPError), (404, ModelNotFound), (500, BackendHTTPError), (503, BackendBusy)],
)
async def test_error_statuses_map_with_the_server_message(server, client, status, cls):
    message = "model 'x' not found" if status == 404 else f"simulated trouble {status}"
    server.knobs.fault = Fault("status", status=status, message=message)
    with pytest.raises(BackendHTTPError) as info:
        await collect(backend_for(server, client), model_of(server))
    assert type(info.value) is cls
    assert info.value.status == status
    assert message in info.value.message


async def test_200_with_error_body_is_an_http_error(client):
    knobs = SimKnobs(tokens_per_s=None, reply=REPLY, quirks={"overflow_200"}, context_length=64)
    async with SimServer("openai", knobs) as s:
        backend = backend_for(s, client)
        with pytest.raises(BackendHTTPError) as info:
            async for _ in backend.stream_chat(
                [{"role": "user", "content": "word " * 500}], model_of(s)
            ):
                pass
    assert info.value.status == 200
    assert info.value.message


async def test_silent_empty_reply_is_flagged(client):
    knobs = SimKnobs(tokens_per_s=None, reply=REPLY, quirks={"overflow_empty"}, context_length=64)
    async with SimServer("openai", knobs) as s:
        stats = [
            item
            async for item in backend_for(s, client).stream_chat(
                [{"role": "user", "content": "word " * 500}], model_of(s)
            )
        ]
    assert len(stats) == 1 and isinstance(stats[0], StreamStats)
    assert EMPTY_REPLY in stats[0].warnings


# ---- faults mid-stream ------------------------------------------------------------------


async def _fail_after(server, client, fault: Fault, **options):
    server.knobs.fault = fault
    got: list[TextDelta] = []
    with pytest.raises(StreamError) as info:
        async for item in backend_for(server, client).stream_chat(
            MESSAGES, model_of(server), options or None
        ):
            got.append(item)
    return got, info.value


async def test_error_line_mid_stream_keeps_partial(server, client):
    got, err = await _fail_after(server, client, Fault("error_line", after_tokens=5, message="oom"))
    assert type(err) is StreamError
    assert err.partial == "".join(tokenize(REPLY)[:5]) == text(got)
    assert "oom" in err.message


async def test_die_mid_stream_keeps_partial(server, client):
    got, err = await _fail_after(server, client, Fault("die", after_tokens=4))
    assert err.partial == "".join(tokenize(REPLY)[:4]) == text(got)


async def test_no_terminator_is_truncated(server, client):
    got, err = await _fail_after(server, client, Fault("no_terminator"))
    assert type(err) is TruncatedStream
    assert err.partial == REPLY == text(got)


async def test_malformed_line_is_skipped_with_a_warning(server, client):
    server.knobs.fault = Fault("malformed", after_tokens=3)
    deltas, stats = await collect(backend_for(server, client), model_of(server))
    assert text(deltas) == REPLY
    assert "skipped 1 malformed line" in stats.warnings


async def test_first_token_timeout(server, client):
    server.knobs.first_token_delay = 3.0
    backend = backend_for(server, client, timeout=0.3)
    start = time.perf_counter()
    with pytest.raises(BackendTimeout) as info:
        await collect(backend, model_of(server))
    assert time.perf_counter() - start < 2.5
    assert info.value.partial == ""
    assert "first token" in info.value.message


async def test_stall_after_tokens_times_out_with_partial(server, client):
    server.knobs.fault = Fault("stall", after_tokens=3)
    start = time.perf_counter()
    with pytest.raises(BackendTimeout) as info:
        await collect(backend_for(server, client), model_of(server), {"stall_timeout": 0.3})
    assert time.perf_counter() - start < 3.0
    assert info.value.partial == "".join(tokenize(REPLY)[:3])
    assert "stalled" in info.value.message
    assert "stall_timeout" not in str(server.requests[-1])


# ---- cancellation -----------------------------------------------------------------------


async def test_closing_the_iterator_closes_the_stream(server, client):
    server.knobs.tokens_per_s = 50.0
    server.knobs.reply_tokens = 1000  # 20 s if it were not stopped
    stream = backend_for(server, client).stream_chat(MESSAGES, model_of(server))
    got = [await anext(stream) for _ in range(3)]
    assert all(isinstance(d, TextDelta) for d in got)
    assert server.in_flight == 1
    await stream.aclose()
    await server.wait_idle(timeout=3.0)
    assert (server.cancelled, server.completed) == (1, 0)


async def test_cancelling_the_task_closes_the_stream(server, client):
    server.knobs.tokens_per_s = 50.0
    server.knobs.reply_tokens = 1000
    backend = backend_for(server, client)
    first = asyncio.Event()

    async def consume():
        async for _ in backend.stream_chat(MESSAGES, model_of(server)):
            first.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(first.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await server.wait_idle(timeout=3.0)
    assert (server.cancelled, server.completed) == (1, 0)


async def test_a_finished_reply_is_not_counted_as_cancelled(server, client):
    backend = backend_for(server, client)
    for _ in range(3):
        deltas, _stats = await collect(backend, model_of(server))
        assert text(deltas) == REPLY
    await server.wait_idle(timeout=3.0)
    assert (server.cancelled, server.completed) == (0, 3)


# ---- secrets ----------------------------------------------------------------------------


async def test_bearer_token_is_sent_but_never_shown(server, client, monkeypatch):
    monkeypatch.setenv("SIM_TEST_KEY", "sk-planted-secret-123")
    backend = backend_for(server, client, api_key_env="SIM_TEST_KEY")
    assert backend.headers() == {"Authorization": "Bearer sk-planted-secret-123"}
    deltas, _ = await collect(backend, model_of(server))
    assert text(deltas) == REPLY
    server.knobs.fault = Fault("status", status=500, message="nope")
    with pytest.raises(BackendHTTPError) as info:
        await collect(backend, model_of(server))
    server.knobs.fault = Fault("refuse")
    report = await backend.health(timeout=1.0)
    for shown in (str(info.value), report.error, repr(report)):
        assert "sk-planted" not in shown
    monkeypatch.delenv("SIM_TEST_KEY")
    assert backend.headers() == {}


# ---- request shaping and model lists (no server) ---------------------------------------


def test_normalise_endpoint():
    assert normalise_endpoint("http://h:1234/v1/", ("/v1",)) == "http://h:1234"
    assert normalise_endpoint("http://h:1234/", ("/v1",)) == "http://h:1234"
    assert normalise_endpoint("http://h:11434/api", ("/api",)) == "http://h:11434"
    assert normalise_endpoint("https://proxy/llm/V1", ("/v1",)) == "https://proxy/llm"


def test_same_model_normalises_tags_quant_and_publisher():
    assert same_model("llama3.2", "llama3.2:latest")
    assert same_model("qwen/qwen3-8b", "qwen3-8b@q4_k_m")
    assert same_model("Qwen3-8B", "qwen3-8b")
    assert not same_model("qwen3-8b", "qwen2.5-coder")


def test_options_are_mapped_per_kind():
    opts = {"temperature": 0.1, "max_tokens": 5, "num_ctx": 8192, "keep_alive": "5m", "x": None}
    assert request_options(opts) == {"temperature": 0.1, "max_tokens": 5}
    assert request_options({"num_predict": 7}) == {"max_tokens": 7}
    body = chat_body(MESSAGES, "m", opts)
    assert body["keep_alive"] == "5m"
    assert body["options"] == {"temperature": 0.1, "num_predict": 5, "num_ctx": 8192}
    assert "options" not in chat_body(MESSAGES, "m", {})


def test_lmstudio_model_merge_prefers_the_loaded_row():
    listed = {"data": [{"id": "qwen/qwen3-8b"}, {"id": "text-embedding-x"}, {"id": "other"}]}
    rows = [
        {"id": "qwen/qwen3-8b", "type": "llm", "state": "not-loaded", "max_context_length": 40960},
        {"id": "qwen/qwen3-8b", "type": "llm", "state": "loaded", "loaded_context_length": 8192},
        {"id": "other", "type": "embeddings", "state": "not-loaded"},
    ]
    models = openai_models(listed, rows)
    assert [(m.name, m.loaded, m.type, m.context_length) for m in models] == [
        ("qwen/qwen3-8b", True, "llm", 8192),
        ("text-embedding-x", False, "embedding", None),
        ("other", False, "embedding", None),
    ]
    assert [m.name for m in openai_models(listed, [])] == [
        "qwen/qwen3-8b",
        "text-embedding-x",
        "other",
    ]


def test_ollama_model_merge_matches_latest_tags():
    tags = {"models": [{"name": "llama3.2:latest", "size": 10}, {"model": "nomic-embed-text"}]}
    ps = {"models": [{"name": "llama3.2", "context_length": 4096}]}
    models = ollama_models(tags, ps)
    assert [(m.name, m.loaded, m.type, m.size, m.context_length) for m in models] == [
        ("llama3.2:latest", True, "llm", 10, 4096),
        ("nomic-embed-text", False, "embedding", None, None),
    ]
    assert not any(m.loaded for m in ollama_models(tags, None))
