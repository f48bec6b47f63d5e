"""The simulated Ollama's OpenAI-compatible layer (protocols.md A.15), checked at the byte
level and with the openai SDK, which clients such as oterm use against Ollama."""

from __future__ import annotations

import json

import pytest
from openai import AsyncOpenAI, NotFoundError

from hybrid_tui.sim import SimKnobs, SimServer
from hybrid_tui.sim.probe import raw_request
from hybrid_tui.sim.tokens import count_tokens

CHAT = {"model": "codellama:34b", "messages": [{"role": "user", "content": "write quicksort"}]}
REPLY = "Hi <there> & é"


@pytest.fixture
async def ollama():
    async with SimServer("ollama", SimKnobs(tokens_per_s=None, reply=REPLY)) as s:
        yield s


def events(body: bytes) -> list[bytes]:
    """The data of each SSE event (every event is ``data: ...`` and a blank line)."""
    assert body.endswith(b"\n\n")
    out = []
    for event in body.split(b"\n\n")[:-1]:
        assert event.startswith(b"data: ") and b"\n" not in event
        out.append(event.removeprefix(b"data: "))
    return out


async def test_streamed_chunks_as_the_go_middleware_writes_them(ollama: SimServer) -> None:
    body = {**CHAT, "stream": True, "stream_options": {"include_usage": True}}
    r = await raw_request(ollama.url, "POST", "/v1/chat/completions", body)
    assert r.status == 200 and r.complete
    assert r.header("Content-Type") == "text/event-stream"
    assert r.header("Transfer-Encoding") == "chunked"
    data = events(r.body)
    assert data[-1] == b"[DONE]"
    chunks = [json.loads(d) for d in data[:-1]]
    *tokens, last, usage = chunks
    assert len({c["id"] for c in chunks}) == 1 and chunks[0]["id"].startswith("chatcmpl-")
    assert 0 <= int(chunks[0]["id"].removeprefix("chatcmpl-")) < 999
    assert len({c["created"] for c in chunks}) == 1
    for c in [*tokens, last]:
        assert list(c) == ["id", "object", "created", "model", "system_fingerprint", "choices"]
        assert c["object"] == "chat.completion.chunk" and c["model"] == "codellama:34b"
        assert c["system_fingerprint"] == "fp_ollama"
        assert list(c["choices"][0]) == ["index", "delta", "finish_reason"]
        assert list(c["choices"][0]["delta"]) == ["role", "content"]  # role on every delta
    assert "".join(c["choices"][0]["delta"]["content"] for c in tokens) == REPLY
    assert all(c["choices"][0]["finish_reason"] is None for c in tokens)
    assert last["choices"] == [
        {"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": "stop"}
    ]
    assert usage["choices"] == [] and usage["id"] == last["id"]
    assert usage["usage"]["completion_tokens"] == len(tokens)
    assert usage["usage"]["total_tokens"] == (
        usage["usage"]["prompt_tokens"] + usage["usage"]["completion_tokens"]
    )
    assert b"\\u003c" in r.body and b"<" not in r.body  # Go escapes HTML characters


async def test_no_usage_chunk_unless_asked_and_no_stream_unless_asked(
    ollama: SimServer,
) -> None:
    r = await raw_request(ollama.url, "POST", "/v1/chat/completions", {**CHAT, "stream": True})
    data = events(r.body)
    assert data[-1] == b"[DONE]"
    assert all("usage" not in json.loads(d) for d in data[:-1])
    quiet = await raw_request(ollama.url, "POST", "/v1/chat/completions", CHAT)
    assert quiet.header("Content-Type") == "application/json"
    assert quiet.body.endswith(b"}\n")  # json.NewEncoder adds a newline
    obj = quiet.json()
    assert obj["object"] == "chat.completion" and obj["system_fingerprint"] == "fp_ollama"
    assert obj["choices"] == [
        {"index": 0, "message": {"role": "assistant", "content": REPLY}, "finish_reason": "stop"}
    ]
    assert obj["usage"]["completion_tokens"] > 0


async def test_max_tokens_becomes_num_predict(ollama: SimServer) -> None:
    r = await raw_request(ollama.url, "POST", "/v1/chat/completions", {**CHAT, "max_tokens": 2})
    choice = r.json()["choices"][0]
    assert choice["finish_reason"] == "length" and choice["message"]["content"] == "Hi <"
    assert ollama.requests[-1]["options"] == {"num_predict": 2}


@pytest.mark.parametrize(
    ("body", "status", "kind", "message"),
    [
        ({**CHAT, "model": "nope"}, 404, "not_found_error", "model 'nope' not found"),
        ({**CHAT, "messages": []}, 400, "invalid_request_error", "[] is too short - 'messages'"),
        ({**CHAT, "reasoning_effort": "max"}, 400, "invalid_request_error",
         "invalid reasoning value: 'max' (must be \"high\", \"medium\", \"low\", or \"none\")"),
    ],
)
async def test_errors_have_the_openai_shape(
    ollama: SimServer, body: dict, status: int, kind: str, message: str
) -> None:
    r = await raw_request(ollama.url, "POST", "/v1/chat/completions", body)
    assert r.status == status and r.header("Content-Type") == "application/json"
    assert r.json() == {"error": {"message": message, "type": kind, "param": None, "code": None}}


async def test_models_list(ollama: SimServer) -> None:
    r = await raw_request(ollama.url, "GET", "/v1/models")
    listed = r.json()
    assert listed["object"] == "list"
    assert [m["id"] for m in listed["data"]] == ollama.knobs.models
    assert all(m["object"] == "model" and m["owned_by"] == "library" for m in listed["data"])
    assert all(isinstance(m["created"], int) for m in listed["data"])


async def test_the_openai_sdk_streams_the_reply(ollama: SimServer) -> None:
    client = AsyncOpenAI(base_url=f"{ollama.url}/v1", api_key="ollama", max_retries=0)
    async with client:
        stream = await client.chat.completions.create(
            model="codellama:34b",
            messages=[{"role": "user", "content": "write quicksort"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        text, usage = "", None
        async for chunk in stream:
            if chunk.choices:
                text += chunk.choices[0].delta.content or ""
            usage = chunk.usage or usage
        assert text == REPLY
        assert usage is not None and usage.completion_tokens == count_tokens(REPLY)
        with pytest.raises(NotFoundError):
            await client.chat.completions.create(
                model="nope", messages=[{"role": "user", "content": "hi"}]
            )
