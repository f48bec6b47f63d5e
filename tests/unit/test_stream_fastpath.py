"""The per-token fast path of both stream parsers (issue 5, "stream" row).

A read that is exactly one whole chunk (``data: {...}`` and a blank line; one NDJSON line) is
parsed straight from the bytes by ``lone_json``; anything else goes through the framing
decoders. These tests pin down which reads may take the shortcut, that declining consumes
nothing, and that a stream fed one chunk per read ends exactly as when fed in one piece or
a byte at a time (where the shortcut never applies).
"""

from __future__ import annotations

import asyncio

import pytest

from hybrid_tui.backends.base import TextDelta
from hybrid_tui.backends.deadline import ReadDeadline
from hybrid_tui.backends.stream_parsers import (
    OllamaStreamParser,
    OpenAIStreamParser,
    StreamParser,
)
from hybrid_tui.backends.streaming import LineSplitter, NDJSONDecoder, SSEDecoder, ThinkSplitter
from tests.support import facts, feed


def chunk(delta: str, finish: str = "null", extra: str = "") -> bytes:
    """One OpenAI-style SSE event with the given delta JSON (and extra top-level keys)."""
    body = f'{{"model":"m","choices":[{{"index":0,"delta":{delta},"finish_reason":{finish}}}]'
    return f"data: {body}{extra}}}\n\n".encode()




def same_every_way(make: type[StreamParser], reads: list[bytes]) -> list[TextDelta]:
    """Feed ``reads`` as given, joined in one read, and a byte at a time: all must agree."""
    wire = b"".join(reads)
    runs = []
    for pieces in (reads, [wire], [wire[i : i + 1] for i in range(len(wire))]):
        parser = make()
        runs.append((feed(parser, pieces), facts(parser)))
    assert runs[0] == runs[1] == runs[2]
    return runs[0][0]


# ---- which reads take the shortcut --------------------------------------------------------


@pytest.mark.parametrize(
    ("read", "expected"),
    [
        (b'data: {"a":1}\n\n', {"a": 1}),
        (b'data:{"a":1}\n\n', {"a": 1}),  # no space after the colon
        (b'data:  {"a":1}\n\n', {"a": 1}),  # a second space is JSON white space
        (b'data: {"a":1}\r\n\r\n', {"a": 1}),
        (b'data: {"a":"\xc3\xa9"}\n\n', {"a": "é"}),
    ],
)
def test_sse_lone_json_takes_one_whole_data_event(read, expected):
    assert SSEDecoder().lone_json(read) == expected


@pytest.mark.parametrize(
    "read",
    [
        b'event: error\ndata: {"a":1}\n\n',  # a named event
        b'id: 7\ndata: {"a":1}\n\n',  # any other field
        b'data: {"a":1}\ndata: {"b":2}\n\n',  # multi-line data
        b'data: {"a":1}\n\ndata: {"b":2}\n\n',  # two events in one read
        b'data: {"a":1}\n',  # the blank line not here yet
        b'data: {"a":1}',
        b'data: {"a":1}\r\r',  # bare "\r" endings
        b'data: {"a":1}\r',
        b'data: {"a":\r1}\n\n',  # a "\r" splits the line
        b": keep-alive\n\n",
        b"data: [DONE]\n\n",
        b"data: [1, 2]\n\n",  # JSON, but not an object
        b'data: {"choices":[{"delta"\n\n',  # malformed
        b'data: {"a":"\xff"}\n\n',  # bad UTF-8: the general path decodes it leniently
        b"\n\n",
        b"\n",
        b"",
    ],
)
def test_sse_lone_json_declines_and_consumes_nothing(read):
    asked, fresh = SSEDecoder(), SSEDecoder()
    assert asked.lone_json(read) is None
    assert asked.feed(read) + asked.close() == fresh.feed(read) + fresh.close()


def test_sse_lone_json_declines_while_an_event_or_line_is_open():
    decoder = SSEDecoder()
    assert decoder.feed(b"event: error\n") == []
    assert decoder.lone_json(b'data: {"a":1}\n\n') is None  # would lose the event name
    decoder = SSEDecoder()
    assert decoder.feed(b'data: {"a":1}\n') == []
    assert decoder.lone_json(b'data: {"b":2}\n\n') is None  # would lose the first data line
    decoder = SSEDecoder()
    assert decoder.feed(b'data: {"a"') == []
    assert decoder.lone_json(b":1}\n\n") is None
    assert decoder.lone_json(b'data: {"b":2}\n\n') is None  # a partial line is buffered
    decoder = SSEDecoder()
    assert decoder.feed(b'data: {"a":1}\r') == []
    assert decoder.lone_json(b'\ndata: {"b":2}\n\n') is None  # the "\r\n" is split


@pytest.mark.parametrize(
    ("read", "expected"),
    [
        (b'{"a":1}\n', {"a": 1}),
        (b'{"a":1}\r\n', {"a": 1}),
        (b'\xef\xbb\xbf{"a":1}\n', None),  # a BOM is not JSON: the general path counts it
        (b'{"a":1}\n{"b":2}\n', None),
        (b'{"a":1}', None),
        (b'{"a":1}\r', None),
        (b"\n", None),
        (b"[1]\n", None),
        (b'{"a":\n', None),
    ],
)
def test_ndjson_lone_json(read, expected):
    assert NDJSONDecoder().lone_json(read) == expected


def test_line_splitter_whole_line_needs_an_empty_buffer():
    lines = LineSplitter()
    assert lines.whole_line(b"abc\n") == b"abc"
    assert lines.feed(b"ab") == []
    assert lines.whole_line(b"c\n") is None
    assert lines.feed(b"c\n") == [b"abc"]
    assert lines.whole_line(b"x\n\n", blank_after=True) == b"x"
    assert lines.whole_line(b"x\n", blank_after=True) is None
    assert lines.whole_line(b"\n") == b""  # a blank line
    assert lines.feed(b"a\r") == [b"a"]
    assert lines.whole_line(b"\n") is None  # not a line: the end of the "\r\n" just read
    assert lines.feed(b"\n") == []


# ---- parsers: the shortcut and the general path give the same ---------------------------


def test_openai_event_line_in_an_earlier_read_still_names_the_event():
    # "event: error" then a normal-looking chunk in the next read: an error, not a token
    p = OpenAIStreamParser()
    reads = [chunk('{"content":"a"}'), b"event: error\n", chunk('{"content":"b"}')]
    assert feed(p, reads) == [TextDelta("a")]
    assert p.error is not None and not p.done
    same_every_way(OpenAIStreamParser, reads)
    # any other event name leaves the data as it is
    reads = [b"event: message\n", chunk('{"content":"b"}'), b"data: [DONE]\n\n"]
    assert same_every_way(OpenAIStreamParser, reads) == [TextDelta("b")]


def test_openai_data_line_split_across_two_reads():
    whole = chunk('{"content":"Hello"}')
    for cut in range(1, len(whole)):
        reads = [whole[:cut], whole[cut:], chunk('{"content":" there"}'), b"data: [DONE]\n\n"]
        p = OpenAIStreamParser()
        assert feed(p, reads) == [TextDelta("Hello"), TextDelta(" there")]
        assert p.done


def test_openai_data_without_a_space_and_crlf():
    reads = [
        b'data:{"model":"m","choices":[{"delta":{"content":"x"}}]}\n\n',
        b'data: {"choices":[{"delta":{"content":"y"}}]}\r\n\r\n',
        b"data:[DONE]\n\n",
    ]
    assert same_every_way(OpenAIStreamParser, reads) == [TextDelta("x"), TextDelta("y")]


@pytest.mark.parametrize(
    "error",
    [
        b'data: {"error":{"message":"Context size has been exceeded","code":"x"}}\n\n',
        b'data: {"error":"plain string error"}\n\n',
    ],
)
def test_openai_error_object_inside_data_stops_the_stream(error):
    reads = [chunk('{"content":"part"}'), error, chunk('{"content":"late"}')]
    p = OpenAIStreamParser()
    assert feed(p, reads) == [TextDelta("part")]
    assert p.error and not p.done and p.finished
    assert p.feed(chunk('{"content":"later"}')) == []
    same_every_way(OpenAIStreamParser, reads)


def test_openai_usage_stats_reasoning_and_finish_through_the_shortcut():
    reads = [
        chunk('{"role":"assistant","reasoning_content":"think"}'),
        chunk('{"reasoning":"more"}'),
        chunk('{"content":"Hi"}'),
        chunk("{}", '"stop"'),
        b'data: {"model":"m","choices":[],"usage":{"prompt_tokens":14,"completion_tokens":9}}\n\n',
        chunk("{}", extra=',"stats":{"tokens_per_second":51.5,"time_to_first_token":0.25}'),
        b"data: [DONE]\n\n",
    ]
    p = OpenAIStreamParser()
    assert feed(p, reads) == [
        TextDelta("think", True),
        TextDelta("more", True),
        TextDelta("Hi"),
    ]
    assert (p.prompt_tokens, p.completion_tokens, p.finish_reason) == (14, 9, "stop")
    assert p.server_tokens_per_s == 51.5 and p.extra["server_ttft_ms"] == 250
    same_every_way(OpenAIStreamParser, reads)


def test_openai_odd_usage_and_stats_are_ignored_as_before():
    reads = [
        chunk('{"content":"a"}', extra=',"usage":null,"stats":{}'),
        chunk('{"content":"b"}', extra=',"usage":{"completion_tokens":"9"},"stats":[]'),
        b"data: [DONE]\n\n",
    ]
    p = OpenAIStreamParser()
    assert text(feed(p, reads)) == "ab"
    assert (p.prompt_tokens, p.completion_tokens, p.server_tokens_per_s) == (None, None, None)
    same_every_way(OpenAIStreamParser, reads)


def test_openai_malformed_and_lenient_reads_agree_with_the_general_path():
    reads = [
        b": keep-alive\n\n",
        chunk('{"content":"a"}'),
        b'data: {"choices":[{"delta"\n\n',  # malformed: counted once
        b'data: {"choices":[{"delta":{"content":"\xff"}}]}\n\n',  # bad UTF-8: replaced
        b"data: [1]\n\n",  # not an object: counted
        chunk('{"content":"b"}'),
        b"data: [DONE]\n\n",
    ]
    p = OpenAIStreamParser()
    assert text(feed(p, reads)) == "a\ufffdb"
    assert p.malformed == 2 and p.done
    same_every_way(OpenAIStreamParser, reads)


def test_openai_inline_think_then_reply_through_the_shortcut():
    pieces = ["<th", "ink>step", " one</", "think>", "\\n\\nDone", " now"]
    reads = [chunk(f'{{"content":"{c}"}}') for c in pieces] + [b"data: [DONE]\n\n"]
    items = same_every_way(OpenAIStreamParser, reads)
    assert (text(items, True), text(items)) == ("step one", "Done now")


def test_ollama_one_line_per_read_and_lines_split_across_reads():
    reads = [
        b'{"model":"m","message":{"content":"","thinking":"hmm"},"done":false}\n',
        b'{"model":"m","message":{"content":"He',
        b'llo"},"done":false}\n{"model":"m","message":{"content":" you"},"done":false}\n',
        b"\n",
        b'{"model":"m","message":{"con\n',  # malformed: counted once
        b'{"model":"m","response":" there"}\r\n',
        b'{"model":"m","message":{"content":""},"done":true,"done_reason":"stop",'
        b'"eval_count":4,"eval_duration":2000000000}\n',
    ]
    p = OllamaStreamParser()
    items = feed(p, reads)
    assert (text(items, True), text(items)) == ("hmm", "Hello you there")
    assert p.done and p.malformed == 1 and p.server_tokens_per_s == 2.0
    same_every_way(OllamaStreamParser, reads)


def test_ollama_error_line_through_the_shortcut():
    reads = [b'{"message":{"content":"a"},"done":false}\n', b'{"error":"runner stopped"}\n']
    p = OllamaStreamParser()
    assert feed(p, reads) == [TextDelta("a")]
    assert p.error == "runner stopped" and not p.done
    same_every_way(OllamaStreamParser, reads)


def test_think_splitter_passthrough_flag():
    think = ThinkSplitter()
    assert not think.passthrough
    assert think.feed("<think>a") == [("a", True)]
    assert not think.passthrough
    assert think.feed("</think>\n\n") == []
    assert not think.passthrough
    assert think.feed("reply") == [("reply", False)]
    assert think.passthrough
    plain = ThinkSplitter()
    assert plain.feed("  ") == [] and not plain.passthrough  # undecided yet
    assert plain.feed("x") == [("  x", False)] and plain.passthrough


def text(items: list[TextDelta], reasoning: bool = False) -> str:
    return "".join(d.text for d in items if d.reasoning is reasoning)


# ---- the per-read deadline ----------------------------------------------------------------


async def test_deadline_cancels_the_task_that_is_reading_now():
    """One ReadDeadline used by one task and then another: expiry hits the second only."""
    loop = asyncio.get_running_loop()
    timer = ReadDeadline()
    assert await timer.wait(asyncio.sleep(0, "first"), loop.time() + 5) == "first"

    async def reader() -> str:
        try:
            await timer.wait(asyncio.sleep(5), loop.time() + 0.05)
        except TimeoutError:
            return "timed out"
        return "read"

    assert await asyncio.create_task(reader()) == "timed out"
    assert asyncio.current_task().cancelling() == 0
    timer.close()
