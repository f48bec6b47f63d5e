"""The Ollama simulator's endpoints, checked at the byte level (protocols.md A)."""

from __future__ import annotations

import asyncio
import json
import re

import pytest

from hybrid_tui.sim import SimKnobs, SimServer
from hybrid_tui.sim.probe import raw_request

CHAT = {"model": "codellama:34b", "messages": [{"role": "user", "content": "write quicksort"}]}
CREATED_AT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z")
METRICS = (
    "total_duration",
    "load_duration",
    "prompt_eval_count",
    "prompt_eval_duration",
    "eval_count",
    "eval_duration",
)


@pytest.fixture
async def ollama():
    async with SimServer("ollama", SimKnobs(tokens_per_s=None, reply="Hi <there> & é")) as s:
        yield s


async def test_root_get_and_head(ollama: SimServer) -> None:
    r = await raw_request(ollama.url, "GET", "/")
    assert r.status == 200 and r.body == b"Ollama is running"
    assert r.header("Content-Type") == "text/plain; charset=utf-8"
    assert r.header("Content-Length") == "17"
    h = await raw_request(ollama.url, "HEAD", "/")
    assert h.status == 200 and h.header("Content-Length") == "17" and h.body == b""
    assert h.head.startswith(b"HTTP/1.1 200 OK\r\n")


async def test_version(ollama: SimServer) -> None:
    ollama.knobs.version = "0.13.0"
    r = await raw_request(ollama.url, "GET", "/api/version")
    assert r.body == b'{"version":"0.13.0"}'
    assert r.header("Content-Type") == "application/json; charset=utf-8"


async def test_tags_lists_every_model_with_details(ollama: SimServer) -> None:
    r = await raw_request(ollama.url, "GET", "/api/tags")
    models = r.json()["models"]
    assert [m["name"] for m in models] == ollama.knobs.models
    first = models[0]
    assert set(first) == {"name", "model", "modified_at", "size", "digest", "details"}
    assert isinstance(first["size"], int) and first["details"]["format"] == "gguf"
    ollama.knobs.models = []
    assert (await raw_request(ollama.url, "GET", "/api/tags")).body == b'{"models":[]}'


async def test_unknown_route_is_gin_404(ollama: SimServer) -> None:
    r = await raw_request(ollama.url, "GET", "/api/nothing")
    assert r.status == 404 and r.body == b"404 page not found"


async def test_streaming_chat_bytes(ollama: SimServer) -> None:
    r = await raw_request(ollama.url, "POST", "/api/chat", CHAT)
    assert r.head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert r.header("Content-Type") == "application/x-ndjson"
    assert r.header("Transfer-Encoding") == "chunked" and r.header("Content-Length") is None
    assert r.complete
    lines = r.lines()
    assert len(r.chunks) == len(lines)  # one flushed chunk per line
    for chunk in r.chunks:
        assert chunk.endswith(b"\n") and chunk.count(b"\n") == 1
        assert b": " not in chunk and b", " not in chunk  # compact JSON
    objs = [json.loads(line) for line in lines]
    tokens = objs[:-1]
    assert all(o["done"] is False and o["model"] == "codellama:34b" for o in tokens)
    assert all(list(o) == ["model", "created_at", "message", "done"] for o in tokens)
    assert all(CREATED_AT.fullmatch(o["created_at"]) for o in objs)
    assert "".join(o["message"]["content"] for o in tokens) == "Hi <there> & é"
    assert b"\\u003c" in r.body and b"\\u0026" in r.body  # Go escapes HTML characters
    assert b"<" not in r.body and b"&" not in r.body
    final = objs[-1]
    assert final["done"] is True and final["done_reason"] == "stop"
    assert final["message"] == {"role": "assistant", "content": ""}
    assert final["eval_count"] == len(tokens)
    for key in METRICS:
        assert key not in final or (isinstance(final[key], int) and final[key] > 0)


async def test_stream_is_the_default_and_false_gives_one_object(ollama: SimServer) -> None:
    r = await raw_request(ollama.url, "POST", "/api/chat", {**CHAT, "stream": False})
    assert r.header("Content-Type") == "application/json; charset=utf-8"
    assert r.header("Content-Length") == str(len(r.body))
    obj = r.json()
    assert obj["message"]["content"] == "Hi <there> & é" and obj["done"] is True
    assert obj["done_reason"] == "stop" and isinstance(obj["eval_count"], int)


async def test_status_line_waits_for_the_first_token(ollama: SimServer) -> None:
    ollama.knobs.first_token_delay = 0.3
    r = await raw_request(ollama.url, "POST", "/api/chat", CHAT)
    assert r.complete and r.first_byte_s is not None and r.first_byte_s >= 0.25
    final = json.loads(r.lines()[-1])
    assert final["prompt_eval_duration"] >= 250_000_000  # the wait shows as prefill time


async def test_reply_from_prompt_and_length_knob(ollama: SimServer) -> None:
    ollama.knobs.reply = None
    ollama.knobs.reply_tokens = 7
    r = await raw_request(ollama.url, "POST", "/api/chat", CHAT)
    objs = [json.loads(line) for line in r.lines()]
    assert len(objs) == 8 and objs[-1]["eval_count"] == 7
    assert "".join(o["message"]["content"] for o in objs).startswith("Here is")


async def test_num_predict_stops_with_length(ollama: SimServer) -> None:
    body = {**CHAT, "options": {"num_predict": 2}}
    objs = [
        json.loads(line)
        for line in (await raw_request(ollama.url, "POST", "/api/chat", body)).lines()
    ]
    assert len(objs) == 3 and objs[-1]["done_reason"] == "length"


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        (b"", 400, "missing request body"),
        (b"{nope", 400, "invalid character 'n' looking for beginning of value"),
        ({"messages": []}, 400, "model is required"),
        ({"model": "ghost", "messages": []}, 404, "model 'ghost' not found"),
        ({**CHAT, "think": True}, 400, '"codellama:34b" does not support thinking'),
        ({**CHAT, "keep_alive": "soon"}, 400, 'time: invalid duration "soon"'),
        (
            {"model": "nomic-embed-text", "messages": []},
            400,
            '"nomic-embed-text" does not support chat',
        ),
    ],
)
async def test_errors_before_streaming(ollama: SimServer, body, status: int, error: str) -> None:
    r = await raw_request(ollama.url, "POST", "/api/chat", body)
    assert r.status == status and r.json() == {"error": error}
    assert r.header("Content-Type") == "application/json; charset=utf-8"


async def test_model_name_without_tag_means_latest(ollama: SimServer) -> None:
    r = await raw_request(
        ollama.url, "POST", "/api/chat", {**CHAT, "model": "llama3.2", "stream": False}
    )
    assert r.status == 200 and r.json()["model"] == "llama3.2"  # echoed as asked


async def test_empty_messages_load_then_ps_shows_it(ollama: SimServer) -> None:
    ps = (await raw_request(ollama.url, "GET", "/api/ps")).json()["models"]
    assert [m["name"] for m in ps] == ["codellama:34b"]
    r = await raw_request(ollama.url, "POST", "/api/chat", {"model": "qwen2.5:72b"})
    obj = r.json()
    assert obj["done"] is True and obj["done_reason"] == "load" and "eval_count" not in obj
    ps = (await raw_request(ollama.url, "GET", "/api/ps")).json()["models"]
    assert [m["name"] for m in ps] == ["codellama:34b", "qwen2.5:72b"]  # latest expiry first
    row = next(m for m in ps if m["name"] == "qwen2.5:72b")
    assert CREATED_AT.fullmatch(row["expires_at"])
    assert row["size_vram"] == row["size"] and row["context_length"] == 8192
    assert "qwen2.5:72b" in ollama.knobs.loaded


async def test_ps_sorted_by_expiry_and_keep_alive_expires(ollama: SimServer) -> None:
    await raw_request(ollama.url, "POST", "/api/chat", {"model": "llama3.2", "keep_alive": "1h"})
    await raw_request(ollama.url, "POST", "/api/chat", {"model": "qwen2.5:72b", "keep_alive": "2h"})
    names = [m["name"] for m in (await raw_request(ollama.url, "GET", "/api/ps")).json()["models"]]
    # pinned (loaded by hand) first, then the later deadline first
    assert names == ["codellama:34b", "qwen2.5:72b", "llama3.2:latest"]
    await raw_request(ollama.url, "POST", "/api/chat", {"model": "llama3.2", "keep_alive": "10ms"})
    await asyncio.sleep(0.05)  # let the deadline pass
    names = [m["name"] for m in (await raw_request(ollama.url, "GET", "/api/ps")).json()["models"]]
    assert "llama3.2:latest" not in names


async def test_unload_with_keep_alive_zero(ollama: SimServer) -> None:
    r = await raw_request(
        ollama.url, "POST", "/api/chat", {"model": "codellama:34b", "keep_alive": 0}
    )
    assert r.json()["done_reason"] == "unload"
    assert (await raw_request(ollama.url, "GET", "/api/ps")).json() == {"models": []}


async def test_chat_for_a_cold_model_loads_it(ollama: SimServer) -> None:
    ollama.knobs.load_delay = 0.2
    r = await raw_request(ollama.url, "POST", "/api/chat", {**CHAT, "model": "llama3.2:latest"})
    final = json.loads(r.lines()[-1])
    assert final["load_duration"] >= 150_000_000
    assert "llama3.2:latest" in ollama.knobs.loaded


async def test_show(ollama: SimServer) -> None:
    r = await raw_request(ollama.url, "POST", "/api/show", {"model": "codellama:34b"})
    info = r.json()
    assert {
        "modelfile",
        "parameters",
        "template",
        "details",
        "model_info",
        "capabilities",
        "modified_at",
    } <= set(info)
    assert info["model_info"]["llama.context_length"] == 16384
    assert "completion" in info["capabilities"]
    missing = await raw_request(ollama.url, "POST", "/api/show", {"model": "ghost"})
    assert missing.status == 404 and missing.json() == {"error": "model 'ghost' not found"}


async def test_generate_uses_response_field(ollama: SimServer) -> None:
    body = {"model": "codellama:34b", "prompt": "quicksort"}
    objs = [
        json.loads(x)
        for x in (await raw_request(ollama.url, "POST", "/api/generate", body)).lines()
    ]
    assert "".join(o["response"] for o in objs) == "Hi <there> & é"
    assert "message" not in objs[0] and isinstance(objs[-1]["context"], list)
    loaded = await raw_request(ollama.url, "POST", "/api/generate", {"model": "codellama:34b"})
    assert loaded.json()["done_reason"] == "load"


async def test_thinking_quirk_sends_thinking_first(ollama: SimServer) -> None:
    ollama.knobs.quirks.add("thinking")
    objs = [
        json.loads(x)
        for x in (
            await raw_request(ollama.url, "POST", "/api/chat", {**CHAT, "think": True})
        ).lines()
    ]
    first = objs[0]["message"]
    assert first["content"] == "" and first["thinking"]
    assert "thinking" not in objs[-2]["message"]
    assert "".join(o["message"]["content"] for o in objs) == "Hi <there> & é"


async def test_truncate_false_rejects_a_long_prompt(ollama: SimServer) -> None:
    ollama.knobs.context_length = 50
    long = {"model": "codellama:34b", "messages": [{"role": "user", "content": "word " * 200}]}
    r = await raw_request(ollama.url, "POST", "/api/chat", {**long, "truncate": False})
    assert r.status == 400 and r.json()["error"] == "the input length exceeds the context length"
    quiet = await raw_request(ollama.url, "POST", "/api/chat", {**long, "stream": False})
    assert quiet.json()["prompt_eval_count"] == 50  # silently truncated


async def test_keep_alive_connection_serves_several_requests(ollama: SimServer) -> None:
    import httpx

    async with httpx.AsyncClient(base_url=ollama.url) as client:
        for _ in range(3):
            r = await client.post("/api/chat", json=CHAT)
            assert r.status_code == 200
    assert ollama.completed == 3
    assert len(ollama.hits) == 3


async def test_zero_metrics_are_omitted_not_zero(ollama: SimServer) -> None:
    ollama.knobs.reply = ""
    r = await raw_request(ollama.url, "POST", "/api/chat", CHAT)
    (final,) = [json.loads(line) for line in r.lines()]
    assert final["done"] is True and final["prompt_eval_count"] > 0
    assert "eval_count" not in final and "eval_duration" not in final
