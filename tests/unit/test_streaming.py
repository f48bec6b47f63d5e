"""Stream framing and the two protocol parsers, fed the exact wire text of protocols.md E.

The key property (protocols.md D 1-3): however the bytes are cut into reads, the result is
the same. Small fixtures are cut at every byte offset; larger ones fed a byte at a time and in
seeded random pieces.
"""

from __future__ import annotations

import asyncio
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hybrid_tui.backends.base import TextDelta
from hybrid_tui.backends.deadline import ReadDeadline
from hybrid_tui.backends.stream_parsers import OllamaStreamParser, OpenAIStreamParser
from hybrid_tui.backends.streaming import (
    LineSplitter,
    NDJSONDecoder,
    SSEDecoder,
    SSEEvent,
    ThinkSplitter,
)

# ---- wire fixtures (protocols.md E.1 and E.2, byte for byte) -----------------------------
# fmt: off

OLLAMA_E1 = (
    '{"model":"qwen3:8b","created_at":"2026-03-02T10:15:31.482913Z","message":{"role":"assistant","content":"","thinking":"17 * 23 = 17 * 20 + 17 * 3"},"done":false}\n'  # noqa: E501
    '{"model":"qwen3:8b","created_at":"2026-03-02T10:15:31.561077Z","message":{"role":"assistant","content":"","thinking":" = 340 + 51 = 391."},"done":false}\n'  # noqa: E501
    '{"model":"qwen3:8b","created_at":"2026-03-02T10:15:31.603410Z","message":{"role":"assistant","content":"17 × 23"},"done":false}\n'  # noqa: E501
    '{"model":"qwen3:8b","created_at":"2026-03-02T10:15:31.619882Z","message":{"role":"assistant","content":" = **391**."},"done":false}\n'  # noqa: E501
    '{"model":"qwen3:8b","created_at":"2026-03-02T10:15:31.636120Z","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop","total_duration":6231457890,"load_duration":5102338417,"prompt_eval_count":31,"prompt_eval_duration":612004583,"eval_count":38,"eval_duration":498715208}\n'
).encode()

OLLAMA_E1_ERROR = (
    '{"model":"qwen3:8b","created_at":"…","message":{"role":"assistant","content":"17 × 23"},"done":false}\n'  # noqa: E501
    '{"error":"model runner has unexpectedly stopped, this may be due to resource limitations or an internal error, check ollama server logs for details"}\n'  # noqa: E501
).encode()

_ID = '"id":"chatcmpl-7q2k9x0m4bd1s8v3pz6ne","object":"chat.completion.chunk","created":1767350131,"model":"qwen/qwen3-8b","system_fingerprint":"qwen/qwen3-8b"'  # noqa: E501
OPENAI_E2 = (
    'data: {' + _ID + ',"choices":[{"index":0,"delta":{"role":"assistant","content":"Red"},"logprobs":null,"finish_reason":null}]}\n\n'  # noqa: E501
    'data: {' + _ID + ',"choices":[{"index":0,"delta":{"content":", blue"},"logprobs":null,"finish_reason":null}]}\n\n'  # noqa: E501
    'data: {' + _ID + ',"choices":[{"index":0,"delta":{"content":", and yellow."},"logprobs":null,"finish_reason":null}]}\n\n'  # noqa: E501
    'data: {' + _ID + ',"choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}\n\n'  # noqa: E501
    'data: {' + _ID + ',"choices":[],"usage":{"prompt_tokens":14,"completion_tokens":9,"total_tokens":23}}\n\n'  # noqa: E501
    "data: [DONE]\n\n"
).encode()
# fmt: on


def chunk(delta: str, finish: str = "null") -> str:
    """One OpenAI-style SSE event with the given delta JSON."""
    return f'data: {{"model":"m","choices":[{{"index":0,"delta":{delta},"finish_reason":{finish}}}]}}\n\n'  # noqa: E501


# ---- helpers ----------------------------------------------------------------------------


def splits(data: bytes) -> list[list[bytes]]:
    """``data`` cut once at every offset, then a byte at a time, then random pieces."""
    out = [[data[:i], data[i:]] for i in range(len(data) + 1)]
    out.append([data[i : i + 1] for i in range(len(data))])
    rng = random.Random(1234)
    for _ in range(20):
        cuts = sorted(rng.sample(range(1, len(data)), min(8, len(data) - 1)))
        out.append([data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)])
    return out


def feed_all(decoder, pieces: list[bytes]) -> list:
    items = []
    for piece in pieces:
        items.extend(decoder.feed(piece))
    items.extend(decoder.close())
    return items


def text_of(items: list[TextDelta], reasoning: bool = False) -> str:
    return "".join(d.text for d in items if d.reasoning is reasoning)


# ---- LineSplitter -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "wire",
    [
        b"one\ntwo\nthree\n",
        b"one\r\ntwo\r\nthree\r\n",
        b"one\rtwo\rthree\r",
        b"one\r\ntwo\nthree\r",
    ],
)
def test_lines_any_ending_any_split(wire):
    for pieces in splits(wire):
        assert feed_all(LineSplitter(), pieces) == [b"one", b"two", b"three"], pieces


def test_lines_keep_blank_lines_and_return_unterminated_tail():
    s = LineSplitter()
    assert s.feed(b"a\r\n\r\nb") == [b"a", b""]
    assert s.feed(b"c") == []
    assert s.close() == [b"bc"]
    assert s.close() == []


def test_lines_cr_then_lf_in_next_read_is_one_ending():
    s = LineSplitter()
    assert s.feed(b"a\r") == [b"a"]
    assert s.feed(b"\nb\n") == [b"b"]
    assert s.feed(b"\r") == [b""]  # a bare CR after a line is an empty line of its own
    assert s.feed(b"x\n") == [b"x"]


def test_lines_join_multibyte_character_split_across_reads():
    wire = "π → ✓ 😀\n".encode()
    for pieces in splits(wire):
        lines = feed_all(LineSplitter(), pieces)
        assert [ln.decode() for ln in lines] == ["π → ✓ 😀"]


# ---- SSEDecoder -------------------------------------------------------------------------


def test_sse_e2_every_split_gives_the_same_events():
    expected = feed_all(SSEDecoder(), [OPENAI_E2])
    assert len(expected) == 6
    assert expected[-1] == SSEEvent("[DONE]")
    for pieces in splits(OPENAI_E2):
        assert feed_all(SSEDecoder(), pieces) == expected


def test_sse_comments_fields_and_multiline_data():
    wire = (
        b": keep-alive\n\n"
        b'event: message.delta\nid: 7\nretry: 100\ndata:{"a":1}\n\n'
        b"data: first\ndata:second\ndata\n\n"
        b": ping\r\n"
        b"data: crlf\r\n\r\n"
        b"event: only-a-name\n\n"
    )
    for pieces in splits(wire):
        assert feed_all(SSEDecoder(), pieces) == [
            SSEEvent('{"a":1}', "message.delta"),
            SSEEvent("first\nsecond\n"),
            SSEEvent("crlf"),
        ]


def test_sse_close_dispatches_an_event_missing_its_blank_line():
    d = SSEDecoder()
    assert d.feed(b"data: [DONE]") == []
    assert d.close() == [SSEEvent("[DONE]")]


def test_sse_only_one_space_after_colon_is_dropped():
    assert SSEDecoder().feed(b"data:  two spaces\n\n") == [SSEEvent(" two spaces")]


# ---- NDJSONDecoder ----------------------------------------------------------------------


def test_ndjson_e1_every_split():
    for pieces in splits(OLLAMA_E1):
        objs = feed_all(NDJSONDecoder(), pieces)
        assert [o["done"] for o in objs] == [False, False, False, False, True]
        assert objs[2]["message"]["content"] == "17 × 23"


def test_ndjson_skips_blank_lines_and_counts_malformed_ones():
    d = NDJSONDecoder()
    objs = feed_all(d, [b'{"a":1}\n\n   \r\n{not json\n[1,2]\n"str"\n{"b":2}'])
    assert objs == [{"a": 1}, {"b": 2}]
    assert d.malformed == 3
    assert d.last_malformed == '"str"'


def test_ndjson_invalid_utf8_is_a_malformed_line_not_a_crash():
    d = NDJSONDecoder()
    assert d.feed(b'{"a":"\xff"}\n{"b":1}\n') == [{"b": 1}]
    assert d.malformed == 1


# ---- ThinkSplitter ----------------------------------------------------------------------


def run_think(pieces: list[str]) -> tuple[str, str]:
    t = ThinkSplitter()
    out = []
    for p in pieces:
        out.extend(t.feed(p))
    out.extend(t.close())
    assert all(text for text, _ in out)  # never empty pieces
    return "".join(s for s, r in out if r), "".join(s for s, r in out if not r)


@pytest.mark.parametrize(
    ("text", "reasoning", "reply"),
    [
        ("<think>plan it</think>\n\nThe answer.", "plan it", "The answer."),
        ("\n<think>a<b</think>x", "a<b", "x"),
        ("plain reply", "", "plain reply"),
        ("<html>not a think tag</html>", "", "<html>not a think tag</html>"),
        ("Use <think> tags like <think>x</think>", "", "Use <think> tags like <think>x</think>"),
        ("<think>never closed", "never closed", ""),
        ("<thin", "", "<thin"),
        ("<think></think>ok", "", "ok"),
    ],
)
def test_think_any_split(text, reasoning, reply):
    for i in range(len(text) + 1):
        assert run_think([text[:i], text[i:]]) == (reasoning, reply), i
    assert run_think(list(text)) == (reasoning, reply)


def test_think_passes_reply_text_through_unchanged_after_it_started():
    t = ThinkSplitter()
    assert t.feed("Hello") == [("Hello", False)]
    assert t.feed(" <think> ") == [(" <think> ", False)]


# ---- protocol parsers -------------------------------------------------------------------


def test_ollama_parser_e1():
    p = OllamaStreamParser()
    items = feed_all(p, [OLLAMA_E1])
    assert text_of(items, reasoning=True) == "17 * 23 = 17 * 20 + 17 * 3 = 340 + 51 = 391."
    assert text_of(items) == "17 × 23 = **391**."
    assert p.done and p.error is None
    assert (p.model, p.finish_reason) == ("qwen3:8b", "stop")
    assert (p.prompt_tokens, p.completion_tokens) == (31, 38)
    assert p.server_tokens_per_s == pytest.approx(76.19, abs=0.01)
    assert p.server_load_ms == pytest.approx(5102.338417)
    assert p.extra["total_ms"] == pytest.approx(6231.45789)


def test_ollama_parser_every_split_same_result():
    def run(pieces):
        p = OllamaStreamParser()
        items = feed_all(p, pieces)
        return text_of(items, True), text_of(items), p.done, p.completion_tokens

    expected = run([OLLAMA_E1])
    for pieces in splits(OLLAMA_E1):
        assert run(pieces) == expected


def test_ollama_parser_error_line_keeps_text_before_it():
    p = OllamaStreamParser()
    items = feed_all(p, [OLLAMA_E1_ERROR])
    assert text_of(items) == "17 × 23"
    assert p.error.startswith("model runner has unexpectedly stopped")
    assert not p.done
    assert p.feed(OLLAMA_E1) == []  # nothing is read after an error


def test_ollama_parser_no_done_line_is_not_done():
    p = OllamaStreamParser()
    items = feed_all(p, [OLLAMA_E1.rsplit(b"\n", 2)[0] + b"\n"])
    assert text_of(items) == "17 × 23 = **391**."
    assert not p.done and p.error is None


def test_ollama_parser_skips_malformed_line_and_missing_metrics():
    wire = (
        b'{"model":"m","message":{"role":"assistant","content":"a"},"done":false}\n'
        b'{"model":"m","message":{"role":"assistant","con\n'
        b"\n"
        b'{"model":"m","message":{"role":"assistant","content":"b"},"done":false}\n'
        b'{"model":"m","message":{"role":"assistant","content":""},"done":true}'
    )
    p = OllamaStreamParser()
    assert text_of(feed_all(p, [wire])) == "ab"
    assert p.done and p.malformed == 1
    assert p.completion_tokens is None and p.server_tokens_per_s is None
    assert p.finish_reason is None


def test_ollama_parser_generate_chunks_and_inline_think():
    wire = (
        b'{"model":"m","response":"<th","done":false}\n'
        b'{"model":"m","response":"ink>hmm</thi","done":false}\n'
        b'{"model":"m","response":"nk>ok","done":false}\n'
        b'{"model":"m","response":"","done":true,"done_reason":"length"}\n'
    )
    p = OllamaStreamParser()
    items = feed_all(p, [wire])
    assert (text_of(items, True), text_of(items)) == ("hmm", "ok")
    assert p.finish_reason == "length"


def test_openai_parser_e2():
    p = OpenAIStreamParser()
    items = feed_all(p, [OPENAI_E2])
    assert items == [TextDelta("Red"), TextDelta(", blue"), TextDelta(", and yellow.")]
    assert p.done and p.error is None
    assert (p.model, p.finish_reason) == ("qwen/qwen3-8b", "stop")
    assert (p.prompt_tokens, p.completion_tokens) == (14, 9)


def test_openai_parser_every_split_and_crlf_same_result():
    def run(pieces):
        p = OpenAIStreamParser()
        items = feed_all(p, pieces)
        return items, p.done, p.finish_reason, p.completion_tokens

    expected = run([OPENAI_E2])
    for pieces in splits(OPENAI_E2):
        assert run(pieces) == expected
    crlf = OPENAI_E2.replace(b"\n", b"\r\n")
    for pieces in splits(crlf)[:: max(1, len(crlf) // 200)]:
        assert run(pieces) == expected


def test_openai_parser_stops_at_done_and_ignores_what_follows():
    p = OpenAIStreamParser()
    wire = (chunk('{"content":"x"}') + "data: [DONE]\n\n" + chunk('{"content":"late"}')).encode()
    assert feed_all(p, [wire]) == [TextDelta("x")]
    assert p.done


def test_openai_parser_odd_but_normal_deltas():
    wire = (
        ": keep-alive\n\n"
        + chunk('{"role":"assistant"}')
        + chunk('{"content":""}')
        + chunk('{"content":null,"tool_calls":[{"index":0}]}')
        + chunk("{}", '"weird_reason"')
        + 'data: {"choices":[]}\n\n'
        + 'data: {"choices":[null]}\n\n'
        + "data:[DONE]\n\n"
    ).encode()
    p = OpenAIStreamParser()
    assert feed_all(p, [wire]) == []
    assert p.done and p.finish_reason == "weird_reason"
    assert p.completion_tokens is None  # no usage: unknown, not 0


@pytest.mark.parametrize("key", ["reasoning_content", "reasoning"])
def test_openai_parser_reasoning_fields(key):
    wire = (
        chunk(f'{{"{key}":"The user wants"}}') + chunk('{"content":"Hi"}') + "data: [DONE]\n\n"
    ).encode()
    assert feed_all(OpenAIStreamParser(), [wire]) == [
        TextDelta("The user wants", reasoning=True),
        TextDelta("Hi"),
    ]


def test_openai_parser_inline_think_split_across_chunks():
    wire = (
        "".join(
            chunk(f'{{"content":"{c}"}}')
            for c in ["<th", "ink>step", " one</", "think>", "\\n\\nDone"]
        ).encode()
        + b"data: [DONE]\n\n"
    )
    items = feed_all(OpenAIStreamParser(), [wire])
    assert (text_of(items, True), text_of(items)) == ("step one", "Done")


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ('data: {"error":{"message":"Context size has been exceeded","type":"x"}}', "Context"),
        ('data: {"error":"plain string error"}', "plain string error"),
        ('event: error\ndata: {"type":"error","error":{"message":"boom"}}', "boom"),
        ("event: error\ndata: not json at all", "not json at all"),
    ],
)
def test_openai_parser_error_events(event, message):
    p = OpenAIStreamParser()
    wire = (chunk('{"content":"part"}') + event + "\n\n" + chunk('{"content":"x"}')).encode()
    assert feed_all(p, [wire]) == [TextDelta("part")]
    assert p.error.startswith(message) and not p.done


def test_openai_parser_malformed_event_skipped_and_counted():
    wire = chunk('{"content":"a"}') + 'data: {"choices":[{"delta"\n\n' + chunk('{"content":"b"}')
    p = OpenAIStreamParser()
    assert text_of(feed_all(p, [(wire + "data: [DONE]\n\n").encode()])) == "ab"
    assert p.malformed == 1 and p.done


def test_openai_parser_missing_done_is_not_done():
    p = OpenAIStreamParser()
    items = feed_all(p, [OPENAI_E2.replace(b"data: [DONE]\n\n", b"")])
    assert text_of(items) == "Red, blue, and yellow."
    assert not p.done and p.error is None


def test_parsers_accept_a_whole_non_streamed_body():
    p = OpenAIStreamParser()
    body = {
        "model": "granite",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"content": "Greetings"}}],
        "usage": {"prompt_tokens": 24, "completion_tokens": 53},
    }
    assert p.feed_object(body) == [TextDelta("Greetings")]
    assert p.done and p.completion_tokens == 53
    q = OllamaStreamParser()
    assert q.feed_object({"message": {"content": "whole"}, "done": True, "eval_count": 2}) == [
        TextDelta("whole")
    ]
    assert q.done and q.completion_tokens == 2


# ---- property tests: any cut of a valid stream parses the same -------------------------

_pieces = st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=60)


def cut(data: bytes, sizes: list[int]) -> list[bytes]:
    out, i = [], 0
    for n in sizes:
        out.append(data[i : i + n])
        i += n
    out.append(data[i:])
    return out


@settings(max_examples=60, deadline=None)
@given(sizes=_pieces)
def test_property_ollama_any_cut(sizes):
    p = OllamaStreamParser()
    items = feed_all(p, cut(OLLAMA_E1, sizes))
    assert text_of(items) == "17 × 23 = **391**."
    assert p.done and p.completion_tokens == 38


@settings(max_examples=60, deadline=None)
@given(sizes=_pieces, crlf=st.booleans())
def test_property_openai_any_cut(sizes, crlf):
    wire = OPENAI_E2.replace(b"\n", b"\r\n") if crlf else OPENAI_E2
    p = OpenAIStreamParser()
    items = feed_all(p, cut(wire, sizes))
    assert text_of(items) == "Red, blue, and yellow."
    assert p.done and p.completion_tokens == 9


# ---- ReadDeadline -----------------------------------------------------------------------


async def test_deadline_expires_only_the_read_in_progress():
    loop = asyncio.get_running_loop()
    timer = ReadDeadline()
    assert await timer.wait(asyncio.sleep(0.01, "ok"), loop.time() + 5) == "ok"
    await asyncio.sleep(0.05)  # the consumer's own time is never bounded
    with pytest.raises(TimeoutError):
        await timer.wait(asyncio.sleep(5), loop.time() + 0.05)
    task = asyncio.current_task()
    assert task.cancelling() == 0  # the internal cancel was taken back
    timer.close()


async def test_deadline_moved_later_and_earlier():
    loop = asyncio.get_running_loop()
    timer = ReadDeadline()
    # a far deadline first, then a near one: the near one must still fire
    assert await timer.wait(asyncio.sleep(0, 1), loop.time() + 30) == 1
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(timer.wait(asyncio.sleep(5), loop.time() + 0.05), 2)
    # a near deadline moved later by each read: reads that each fit are never cut
    for _ in range(5):
        assert await timer.wait(asyncio.sleep(0.03, 2), loop.time() + 0.06) == 2
    timer.close()


async def test_deadline_never_swallows_an_outside_cancel():
    loop = asyncio.get_running_loop()
    timer = ReadDeadline()

    async def reader():
        await timer.wait(asyncio.sleep(5), loop.time() + 5)

    task = asyncio.create_task(reader())
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    timer.close()
