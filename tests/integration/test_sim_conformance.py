"""Conformance: the official ``ollama`` and ``openai`` Python clients parse the simulators'
streams, get the full text, and raise their own error types on the error forms."""

from __future__ import annotations

import ollama
import openai
import pytest

from hybrid_tui.sim import Fault, SimKnobs, SimServer, reply_for

PROMPT = [{"role": "user", "content": "write quicksort in python"}]
LMS_MODEL = "qwen2.5-coder-7b-instruct"


@pytest.fixture
async def ollama_server():
    async with SimServer("ollama", SimKnobs(tokens_per_s=None)) as s:
        yield s


@pytest.fixture
async def lms_server():
    async with SimServer("openai", SimKnobs(tokens_per_s=None)) as s:
        yield s


@pytest.fixture
async def ollama_client(ollama_server: SimServer):
    async with ollama.AsyncClient(host=ollama_server.url) as client:
        yield client


@pytest.fixture
async def oai(lms_server: SimServer):
    client = openai.AsyncOpenAI(base_url=lms_server.url + "/v1", api_key="x", max_retries=0)
    async with client:
        yield client


async def test_ollama_client_streams_the_full_text(
    ollama_server: SimServer, ollama_client: ollama.AsyncClient
) -> None:
    parts = [
        p
        async for p in await ollama_client.chat(model="codellama:34b", messages=PROMPT, stream=True)
    ]
    assert "".join(p.message.content for p in parts) == reply_for(PROMPT[0]["content"])
    final = parts[-1]
    assert final.done and final.done_reason == "stop"
    assert final.eval_count == len(parts) - 1 and final.total_duration


async def test_ollama_client_non_streaming_and_listings(
    ollama_server: SimServer, ollama_client: ollama.AsyncClient
) -> None:
    reply = await ollama_client.chat(model="codellama:34b", messages=PROMPT, stream=False)
    assert reply.message.content == reply_for(PROMPT[0]["content"])
    assert [m.model for m in (await ollama_client.list()).models] == ollama_server.knobs.models
    assert [m.model for m in (await ollama_client.ps()).models] == ["codellama:34b"]
    shown = await ollama_client.show("codellama:34b")
    assert shown.details.parameter_size == "34B"
    gen = await ollama_client.generate(model="codellama:34b", prompt="refactor this", stream=False)
    assert gen.response == reply_for("refactor this")


async def test_ollama_client_raises_on_error_forms(
    ollama_server: SimServer, ollama_client: ollama.AsyncClient
) -> None:
    with pytest.raises(ollama.ResponseError) as missing:
        await ollama_client.chat(model="ghost", messages=PROMPT, stream=False)
    assert missing.value.status_code == 404 and "ghost" in missing.value.error

    ollama_server.knobs.fault = Fault("status", status=503)
    with pytest.raises(ollama.ResponseError) as busy:
        async for _ in await ollama_client.chat(
            model="codellama:34b", messages=PROMPT, stream=True
        ):
            pass
    assert busy.value.status_code == 503

    ollama_server.knobs.fault = Fault("error_line", after_tokens=3)
    got: list[str] = []
    with pytest.raises(ollama.ResponseError) as mid:
        async for part in await ollama_client.chat(
            model="codellama:34b", messages=PROMPT, stream=True
        ):
            got.append(part.message.content)
    assert mid.value.status_code == -1 and "unexpectedly stopped" in mid.value.error
    assert len(got) == 3


async def test_ollama_client_survives_split_utf8(
    ollama_server: SimServer, ollama_client: ollama.AsyncClient
) -> None:
    ollama_server.knobs.fault = Fault("split_utf8")
    ollama_server.knobs.reply = "naïve café — ✓ 🙂"
    parts = [
        p
        async for p in await ollama_client.chat(model="codellama:34b", messages=PROMPT, stream=True)
    ]
    assert "".join(p.message.content for p in parts) == "naïve café — ✓ 🙂"


async def test_openai_client_streams_the_full_text_with_usage(
    lms_server: SimServer, oai: openai.AsyncOpenAI
) -> None:
    stream = await oai.chat.completions.create(
        model=LMS_MODEL, messages=PROMPT, stream=True, stream_options={"include_usage": True}
    )
    text, usage, finish = "", None, None
    async for chunk in stream:
        if chunk.usage:
            usage = chunk.usage
        for choice in chunk.choices:
            text += choice.delta.content or ""
            finish = choice.finish_reason or finish
    assert text == reply_for(PROMPT[0]["content"])
    assert finish == "stop" and usage is not None
    assert usage.completion_tokens > 100 and usage.total_tokens == (
        usage.prompt_tokens + usage.completion_tokens
    )


async def test_openai_client_non_streaming_and_models(
    lms_server: SimServer, oai: openai.AsyncOpenAI
) -> None:
    reply = await oai.chat.completions.create(model=LMS_MODEL, messages=PROMPT)
    assert reply.choices[0].message.content == reply_for(PROMPT[0]["content"])
    assert reply.usage is not None and reply.usage.completion_tokens > 0
    ids = [m.id async for m in oai.models.list()]
    assert ids == lms_server.knobs.models


@pytest.mark.parametrize(
    "quirks", [set(), {"keepalive_comments", "reasoning_content"}, {"crlf", "rechunk"}]
)
async def test_openai_client_with_quirks(
    lms_server: SimServer, oai: openai.AsyncOpenAI, quirks: set[str]
) -> None:
    lms_server.knobs.quirks = set(quirks)
    lms_server.knobs.first_token_delay = 0.05
    stream = await oai.chat.completions.create(model=LMS_MODEL, messages=PROMPT, stream=True)
    text = ""
    async for chunk in stream:
        for choice in chunk.choices:
            text += choice.delta.content or ""
    assert text == reply_for(PROMPT[0]["content"])


async def test_openai_client_raises_on_error_forms(
    lms_server: SimServer, oai: openai.AsyncOpenAI
) -> None:
    with pytest.raises(openai.NotFoundError) as missing:
        await oai.chat.completions.create(model="ghost", messages=PROMPT, stream=True)
    assert missing.value.status_code == 404 and "ghost" in missing.value.message

    lms_server.knobs.quirks.add("unknown_model_400")
    with pytest.raises(openai.BadRequestError):
        await oai.chat.completions.create(model="ghost", messages=PROMPT, stream=True)

    lms_server.knobs.fault = Fault("error_line", after_tokens=3)
    got = ""
    with pytest.raises(openai.APIError) as mid:
        stream = await oai.chat.completions.create(model=LMS_MODEL, messages=PROMPT, stream=True)
        async for chunk in stream:
            got += chunk.choices[0].delta.content or ""
    assert "crashed" in mid.value.message and got

    lms_server.knobs.fault = Fault("status", status=500)
    with pytest.raises(openai.InternalServerError):
        await oai.chat.completions.create(model=LMS_MODEL, messages=PROMPT, stream=True)


async def test_openai_client_sees_a_dropped_stream(
    lms_server: SimServer, oai: openai.AsyncOpenAI
) -> None:
    lms_server.knobs.fault = Fault("die", after_tokens=5)
    with pytest.raises(openai.APIConnectionError):
        stream = await oai.chat.completions.create(model=LMS_MODEL, messages=PROMPT, stream=True)
        async for _ in stream:
            pass
