"""The LM Studio simulator's endpoints and quirks, checked at the byte level
(protocols.md B and F)."""

from __future__ import annotations

import json
import re

import pytest

from hybrid_tui.sim import SimKnobs, SimServer, reply_for, tokenize
from hybrid_tui.sim.openai import NO_MODELS
from hybrid_tui.sim.probe import RawResponse, raw_request

MODEL = "qwen2.5-coder-7b-instruct"
EMBED = "text-embedding-nomic-embed-text-v1.5"
CHAT = {"model": MODEL, "messages": [{"role": "user", "content": "write quicksort"}]}
STREAM = {**CHAT, "stream": True}
ID = re.compile(r"chatcmpl-[a-z0-9]{21}")


@pytest.fixture
async def lms():
    async with SimServer("openai", SimKnobs(tokens_per_s=None, reply="Red, blue é")) as s:
        yield s


def events(r: RawResponse, eol: bytes = b"\n") -> list[bytes]:
    """The data payloads of the SSE stream (comments and blank lines dropped)."""
    out = []
    for block in r.body.split(eol + eol):
        if block.startswith(b"data: "):
            out.append(block[len(b"data: ") :])
    return out


async def test_v1_models(lms: SimServer) -> None:
    r = await raw_request(lms.url, "GET", "/v1/models")
    assert r.json() == {
        "data": [
            {"id": MODEL, "object": "model", "owned_by": "organization_owner"},
            {"id": EMBED, "object": "model", "owned_by": "organization_owner"},
        ],
        "object": "list",
    }
    assert r.header("Content-Type") == "application/json; charset=utf-8"
    assert r.header("X-Powered-By") == "Express"
    one = await raw_request(lms.url, "GET", f"/v1/models/{MODEL}")
    assert one.json()["id"] == MODEL
    missing = await raw_request(lms.url, "GET", "/v1/models/ghost")
    assert missing.status == 404 and missing.json()["error"]["code"] == "model_not_found"


async def test_v0_models_say_what_is_loaded(lms: SimServer) -> None:
    rows = (await raw_request(lms.url, "GET", "/api/v0/models")).json()["data"]
    llm, emb = rows
    assert llm["state"] == "loaded" and llm["type"] == "llm"
    assert llm["loaded_context_length"] == 8192 and llm["max_context_length"] == 32768
    assert emb["state"] == "not-loaded" and emb["type"] == "embeddings"
    assert "loaded_context_length" not in emb
    lms.knobs.loaded = []
    rows = (await raw_request(lms.url, "GET", "/api/v0/models")).json()["data"]
    assert {r["state"] for r in rows} == {"not-loaded"}


async def test_v1_native_models(lms: SimServer) -> None:
    models = (await raw_request(lms.url, "GET", "/api/v1/models")).json()["models"]
    assert (
        models[0]["key"] == MODEL
        and models[0]["loaded_instances"][0]["config"]["context_length"] == 8192
    )
    assert models[1]["type"] == "embedding" and models[1]["loaded_instances"] == []


async def test_unknown_endpoint_is_200_with_an_error_body(lms: SimServer) -> None:
    r = await raw_request(lms.url, "GET", "/nothing")
    assert r.status == 200 and r.json() == {
        "error": "Unexpected endpoint or method. (GET /nothing)"
    }


async def test_streaming_bytes(lms: SimServer) -> None:
    body = {**STREAM, "stream_options": {"include_usage": True}}
    r = await raw_request(lms.url, "POST", "/v1/chat/completions", body)
    assert r.head.startswith(b"HTTP/1.1 200 OK\r\n") and r.complete
    assert r.header("Content-Type") == "text/event-stream"
    assert r.header("Transfer-Encoding") == "chunked"
    assert all(c.startswith(b"data: ") and c.endswith(b"\n\n") for c in r.chunks)
    payloads = events(r)
    assert payloads[-1] == b"[DONE]" and r.body.endswith(b"data: [DONE]\n\n")
    chunks = [json.loads(p) for p in payloads[:-1]]
    ids = {c["id"] for c in chunks}
    assert len(ids) == 1 and ID.fullmatch(ids.pop())
    assert len({c["created"] for c in chunks}) == 1
    first, *middle, finish, usage = chunks
    assert list(first) == ["id", "object", "created", "model", "system_fingerprint", "choices"]
    assert first["object"] == "chat.completion.chunk" and first["model"] == MODEL
    assert first["system_fingerprint"] == MODEL
    assert first["choices"] == [
        {
            "index": 0,
            "delta": {"role": "assistant", "content": "Red"},
            "logprobs": None,
            "finish_reason": None,
        }
    ]
    assert all(list(c["choices"][0]["delta"]) == ["content"] for c in middle)
    text = "".join(c["choices"][0]["delta"]["content"] for c in [first, *middle])
    assert text == "Red, blue é"
    assert "é".encode() in r.body  # raw UTF-8, not \u escapes
    assert finish["choices"][0]["delta"] == {} and finish["choices"][0]["finish_reason"] == "stop"
    assert usage["choices"] == [] and usage["usage"] == {
        "prompt_tokens": usage["usage"]["prompt_tokens"],
        "completion_tokens": len(middle) + 1,
        "total_tokens": usage["usage"]["prompt_tokens"] + len(middle) + 1,
    }


async def test_usage_only_when_asked(lms: SimServer) -> None:
    r = await raw_request(lms.url, "POST", "/v1/chat/completions", STREAM)
    assert not any(b'"usage"' in p for p in events(r))
    lms.knobs.quirks.add("usage_always")
    r = await raw_request(lms.url, "POST", "/v1/chat/completions", STREAM)
    assert b'"usage"' in events(r)[-2]


async def test_not_streaming_unless_asked(lms: SimServer) -> None:
    r = await raw_request(lms.url, "POST", "/v1/chat/completions", CHAT)
    assert r.header("Content-Type") == "application/json; charset=utf-8"
    obj = r.json()
    assert list(obj) == [
        "id",
        "object",
        "created",
        "model",
        "choices",
        "usage",
        "system_fingerprint",
    ]
    assert ID.fullmatch(obj["id"]) and obj["object"] == "chat.completion"
    assert obj["choices"] == [
        {
            "index": 0,
            "logprobs": None,
            "finish_reason": "stop",
            "message": {"role": "assistant", "content": "Red, blue é"},
        }
    ]
    assert obj["usage"]["completion_tokens"] == len(tokenize("Red, blue é"))


async def test_v0_chat_adds_stats(lms: SimServer) -> None:
    obj = (await raw_request(lms.url, "POST", "/api/v0/chat/completions", CHAT)).json()
    assert obj["stats"]["stop_reason"] == "eosFound"
    assert obj["model_info"]["context_length"] == 8192 and "runtime" in obj
    r = await raw_request(lms.url, "POST", "/api/v0/chat/completions", STREAM)
    assert events(r)[-1] == b"[DONE]"


async def test_max_tokens_gives_length(lms: SimServer) -> None:
    r = await raw_request(lms.url, "POST", "/v1/chat/completions", {**STREAM, "max_tokens": 2})
    finish = json.loads(events(r)[-2])
    assert finish["choices"][0]["finish_reason"] == "length" and len(events(r)) == 4


async def test_unknown_model_404_lists_models(lms: SimServer) -> None:
    r = await raw_request(lms.url, "POST", "/v1/chat/completions", {**STREAM, "model": "ghost"})
    assert r.status == 404
    assert r.json() == {
        "error": {
            "message": f'Model "ghost" not found. Please specify a valid model.\n\nYour models:\n'
            f"{MODEL}\n{EMBED}",
            "type": "invalid_request_error",
            "param": "model",
            "code": "model_not_found",
        }
    }


async def test_unknown_model_400_quirk_and_string_errors(lms: SimServer) -> None:
    lms.knobs.quirks |= {"unknown_model_400", "error_string"}
    r = await raw_request(lms.url, "POST", "/v1/chat/completions", {**STREAM, "model": "ghost"})
    assert r.status == 400
    assert r.json() == {
        "error": f'Invalid model identifier "ghost". Please specify a valid '
        f"downloaded model (e.g., {MODEL}, {EMBED})."
    }


async def test_jit_loads_a_listed_model(lms: SimServer) -> None:
    lms.knobs.models = [MODEL, "deepseek-coder-6.7b-instruct"]
    lms.knobs.load_delay = 0.2
    r = await raw_request(
        lms.url, "POST", "/v1/chat/completions", {**STREAM, "model": "deepseek-coder-6.7b-instruct"}
    )
    assert r.first_byte_s is not None and r.first_byte_s >= 0.15  # nothing sent during the load
    assert "deepseek-coder-6.7b-instruct" in lms.knobs.loaded


async def test_no_models_loaded_without_jit(lms: SimServer) -> None:
    lms.knobs.quirks.add("no_jit")
    lms.knobs.loaded = []
    r = await raw_request(lms.url, "POST", "/v1/chat/completions", STREAM)
    assert r.status == 400
    assert r.json() == {
        "error": {
            "message": NO_MODELS,
            "type": "invalid_request_error",
            "param": "model",
            "code": None,
        }
    }
    assert (await raw_request(lms.url, "GET", "/v1/models")).json()["data"] == []


async def test_ignore_model_quirk_answers_with_the_loaded_one(lms: SimServer) -> None:
    lms.knobs.quirks.add("ignore_model")
    r = await raw_request(lms.url, "POST", "/v1/chat/completions", {**CHAT, "model": "other"})
    assert r.status == 200 and r.json()["model"] == MODEL


@pytest.mark.parametrize("quirk", ["reasoning_content", "reasoning"])
async def test_reasoning_fields(lms: SimServer, quirk: str) -> None:
    lms.knobs.quirks.add(quirk)
    chunks = [
        json.loads(p)
        for p in events(await raw_request(lms.url, "POST", "/v1/chat/completions", STREAM))[:-1]
    ]
    deltas = [c["choices"][0]["delta"] for c in chunks]
    assert deltas[0]["role"] == "assistant" and deltas[0][quirk]
    reasoning = "".join(d.get(quirk, "") for d in deltas)
    content = "".join(d.get("content", "") for d in deltas)
    assert reasoning and content == "Red, blue é"
    assert deltas.index(next(d for d in deltas if "content" in d)) > 1  # reasoning first
    obj = (await raw_request(lms.url, "POST", "/v1/chat/completions", CHAT)).json()
    assert obj["choices"][0]["message"][quirk] == reasoning


async def test_think_tags_arrive_split_inside_content(lms: SimServer) -> None:
    lms.knobs.quirks.add("think_tags")
    chunks = [
        json.loads(p)
        for p in events(await raw_request(lms.url, "POST", "/v1/chat/completions", STREAM))[:-2]
    ]
    pieces = [c["choices"][0]["delta"]["content"] for c in chunks]
    text = "".join(pieces)
    assert text.startswith("<think>\n") and text.endswith("</think>\n\nRed, blue é")
    assert "<think>" not in pieces  # the tag is cut across chunks


async def test_keepalive_comments_while_waiting(lms: SimServer) -> None:
    lms.knobs.quirks.add("keepalive_comments")
    lms.knobs.first_token_delay = 0.3
    r = await raw_request(lms.url, "POST", "/v1/chat/completions", STREAM)
    assert r.chunks[0] == b": keep-alive\n\n" and r.body.count(b": keep-alive\n\n") >= 2
    assert events(r)[-1] == b"[DONE]"


async def test_crlf_quirk(lms: SimServer) -> None:
    lms.knobs.quirks.add("crlf")
    r = await raw_request(lms.url, "POST", "/v1/chat/completions", STREAM)
    assert r.body.endswith(b"data: [DONE]\r\n\r\n") and b"}\n\n" not in r.body


async def test_context_overflow_forms(lms: SimServer) -> None:
    lms.knobs.context_length = 40
    big = {**STREAM, "messages": [{"role": "user", "content": "word " * 100}]}
    r = await raw_request(lms.url, "POST", "/v1/chat/completions", big)
    assert r.status == 400 and "context length of only 40 tokens" in r.json()["error"]["message"]
    lms.knobs.quirks.add("overflow_200")
    r = await raw_request(lms.url, "POST", "/v1/chat/completions", big)
    assert r.status == 200 and "error" in r.json()
    lms.knobs.quirks = {"overflow_empty"}
    r = await raw_request(
        lms.url, "POST", "/v1/chat/completions", {**big, "stream_options": {"include_usage": True}}
    )
    chunks = [json.loads(p) for p in events(r)[:-1]]
    assert [c["choices"][0]["delta"] for c in chunks[:-1]] == [{}]
    assert chunks[-1]["usage"]["completion_tokens"] == 0
    assert chunks[-1]["usage"]["prompt_tokens"] > 40


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "Invalid request body: expected a JSON object"),
        ({"model": MODEL}, "'messages' field is required"),
    ],
)
async def test_bad_requests(lms: SimServer, body, message: str) -> None:
    r = await raw_request(lms.url, "POST", "/v1/chat/completions", body)
    assert r.status == 400 and r.json()["error"]["message"] == message


async def test_continues_after_an_assistant_prefix(lms: SimServer) -> None:
    """A failover client sends the partial reply as an assistant message; the answer goes on."""
    lms.knobs.reply = None
    full = reply_for("write quicksort")
    history = [*CHAT["messages"], {"role": "assistant", "content": full[:40]}]
    obj = (
        await raw_request(lms.url, "POST", "/v1/chat/completions", {**CHAT, "messages": history})
    ).json()
    assert full[:40] + obj["choices"][0]["message"]["content"] == full
