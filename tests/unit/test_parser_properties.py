"""Property-based tests for both stream parsers (protocols.md D 1-14): for any valid stream,
generated with arbitrary text (multi-byte, control characters, emoji), reasoning, counts,
line endings, keep-alives, blank and malformed lines, ANY split of its bytes into reads gives
the same text deltas and the same end-of-stream facts as reading it whole, and those are the
text and figures that were put in."""

from __future__ import annotations

import json
from dataclasses import dataclass
from itertools import pairwise

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hybrid_tui.backends.base import TextDelta
from hybrid_tui.backends.stream_parsers import (
    OllamaStreamParser,
    OpenAIStreamParser,
    StreamParser,
)
from tests.support import facts, feed

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: reply text: anything but lone surrogates (not encodable) and "<" (no think tags here)
_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="<"), max_size=12
)
_pieces = st.lists(_text, max_size=25)
_count = st.integers(min_value=0, max_value=2**40)
_reason = st.sampled_from(["stop", "length", "tool_calls", "a-future-reason"])


@dataclass
class Reply:
    """What a generated stream says."""

    pieces: list[str]
    thinking: list[str]
    prompt_tokens: int
    completion_tokens: int
    finish: str

    @property
    def text(self) -> str:
        joined = "".join(self.pieces)
        # a reply of white space only is dropped (nothing to show): documented behaviour
        return joined if joined.strip() else ""


_replies = st.builds(Reply, _pieces, st.lists(_text, max_size=5), _count, _count, _reason)


def _json(obj: object, ascii_only: bool) -> bytes:
    return json.dumps(obj, ensure_ascii=ascii_only, separators=(",", ":")).encode()


@st.composite
def ollama_wire(draw: st.DrawFn) -> tuple[Reply, bytes, int]:
    """An Ollama /api/chat NDJSON stream: (what it says, its bytes, malformed lines in it)."""
    reply = draw(_replies)
    ascii_only = draw(st.booleans())
    lines: list[bytes] = []
    malformed = 0
    chunks = [("", t) for t in reply.thinking] + [(p, "") for p in reply.pieces]
    for content, thinking in chunks:
        message = {"role": "assistant", "content": content}
        if thinking:
            message["thinking"] = thinking
        lines.append(_json({"model": "m:7b", "message": message, "done": False}, ascii_only))
        extra = draw(st.sampled_from(["", "", "", "blank", "malformed"]))
        if extra == "blank":
            lines.append(draw(st.sampled_from([b"", b"  ", b"\t"])))
        elif extra == "malformed":
            lines.append(b'{"model":"m:7b","message":{"con')
            malformed += 1
    final = {
        "model": "m:7b",
        "message": {"role": "assistant", "content": ""},
        "done": True,
        "done_reason": reply.finish,
        "prompt_eval_count": reply.prompt_tokens,
        "eval_count": reply.completion_tokens,
        "eval_duration": draw(st.integers(min_value=1, max_value=10**12)),
        "load_duration": draw(st.integers(min_value=0, max_value=10**12)),
    }
    lines.append(_json(final, ascii_only))
    wire = b"\n".join(lines)
    if draw(st.booleans()):  # the last line may lack its newline
        wire += b"\n"
    return reply, wire, malformed


@st.composite
def openai_wire(draw: st.DrawFn) -> tuple[Reply, bytes, int]:
    """An OpenAI-style SSE stream (LM Studio /v1): (what it says, its bytes, malformed)."""
    reply = draw(_replies)
    eol = draw(st.sampled_from([b"\n", b"\r\n", b"\r"]))
    ascii_only = draw(st.booleans())
    space = draw(st.sampled_from([b"data: ", b"data:"]))
    events: list[bytes] = []
    malformed = 0

    def chunk(delta: dict, finish: str | None = None) -> dict:
        return {"id": "c", "model": "qwen/q", "choices": [
            {"index": 0, "delta": delta, "finish_reason": finish}]}

    deltas = [{"reasoning_content": t} for t in reply.thinking]
    deltas += [{"content": p} for p in reply.pieces]
    for i, delta in enumerate(deltas):
        if i == 0:
            delta = {"role": "assistant", **delta}
        events.append(space + _json(chunk(delta), ascii_only))
        extra = draw(st.sampled_from(["", "", "", "comment", "id", "malformed"]))
        if extra == "comment":
            events.append(b": keep-alive")
        elif extra == "id":
            events.append(b"id: " + str(i).encode() + eol + space + _json(chunk({}), ascii_only))
        elif extra == "malformed":
            events.append(space + b'{"id":"c","choices":[{"delta":{"con')
            malformed += 1
    events.append(space + _json(chunk({}, reply.finish), ascii_only))
    usage = {"prompt_tokens": reply.prompt_tokens, "completion_tokens": reply.completion_tokens}
    events.append(space + _json({"id": "c", "model": "qwen/q", "choices": [], "usage": usage},
                                ascii_only))
    events.append(space + b"[DONE]")
    wire = b"".join(e + eol + eol for e in events)
    return reply, wire, malformed


@st.composite
def cuts(draw: st.DrawFn, wire: bytes) -> list[bytes]:
    """``wire`` cut at arbitrary offsets (inside characters, between \\r and \\n, ...)."""
    if len(wire) < 2:
        return [wire]
    offsets = draw(st.lists(st.integers(min_value=1, max_value=len(wire) - 1), max_size=40))
    bounds = [0, *sorted(set(offsets)), len(wire)]
    return [wire[a:b] for a, b in pairwise(bounds)]




def joined(items: list[TextDelta], reasoning: bool = False) -> str:
    return "".join(d.text for d in items if d.reasoning is reasoning)


@SETTINGS
@given(data=st.data())
def test_ollama_any_split_gives_the_same_tokens_and_stats(data: st.DataObject) -> None:
    reply, wire, malformed = data.draw(ollama_wire())
    whole = OllamaStreamParser()
    expected = feed(whole, [wire])
    split = OllamaStreamParser()
    assert feed(split, data.draw(cuts(wire))) == expected
    assert facts(split) == facts(whole)
    # and they are what the stream said
    assert joined(expected) == reply.text
    assert joined(expected, reasoning=True) == "".join(reply.thinking)
    assert whole.done and whole.error is None and whole.malformed == malformed
    assert (whole.prompt_tokens, whole.completion_tokens) == (
        reply.prompt_tokens, reply.completion_tokens)
    assert whole.finish_reason == reply.finish and whole.model == "m:7b"


@SETTINGS
@given(data=st.data())
def test_openai_any_split_gives_the_same_tokens_and_stats(data: st.DataObject) -> None:
    reply, wire, malformed = data.draw(openai_wire())
    whole = OpenAIStreamParser()
    expected = feed(whole, [wire])
    split = OpenAIStreamParser()
    assert feed(split, data.draw(cuts(wire))) == expected
    assert facts(split) == facts(whole)
    assert joined(expected) == reply.text
    assert joined(expected, reasoning=True) == "".join(reply.thinking)
    assert whole.done and whole.error is None and whole.malformed == malformed
    assert (whole.prompt_tokens, whole.completion_tokens) == (
        reply.prompt_tokens, reply.completion_tokens)
    assert whole.finish_reason == reply.finish and whole.model == "qwen/q"


def chunk_reads(wire: bytes, kind: str) -> list[bytes]:
    """``wire`` cut after every chunk, as servers write it: reads that take the fast path."""
    if kind == "ollama":
        sep = b"\n"
    else:
        sep = b"\r\n\r\n" if b"\r\n" in wire else b"\r\r" if b"\r" in wire else b"\n\n"
    parts = wire.split(sep)
    return [part + sep for part in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


@SETTINGS
@given(data=st.data(), kind=st.sampled_from(["ollama", "openai"]))
def test_one_chunk_per_read_gives_the_same_as_one_read(data: st.DataObject, kind: str) -> None:
    """One whole chunk per read goes through the parsers' per-token shortcut; one read of
    everything through the general framing path. Both must end identically."""
    _, wire, _ = data.draw(ollama_wire() if kind == "ollama" else openai_wire())
    make = OllamaStreamParser if kind == "ollama" else OpenAIStreamParser
    whole = make()
    expected = feed(whole, [wire])
    chunked = make()
    assert feed(chunked, chunk_reads(wire, kind)) == expected
    assert facts(chunked) == facts(whole)


@SETTINGS
@given(data=st.data(), kind=st.sampled_from(["ollama", "openai"]))
def test_a_cut_off_stream_is_never_done_and_keeps_its_text(data: st.DataObject, kind: str) -> None:
    """A stream that stops anywhere before its end marker: the text that arrived is kept
    (a prefix of the whole), and it never counts as a finished reply."""
    reply, wire, _ = data.draw(ollama_wire() if kind == "ollama" else openai_wire())
    marker = b'"done":true' if kind == "ollama" else b"[DONE]"
    stop = data.draw(st.integers(min_value=0, max_value=wire.index(marker)))
    parser = OllamaStreamParser() if kind == "ollama" else OpenAIStreamParser()
    items = feed(parser, data.draw(cuts(wire[:stop])))
    assert not parser.done
    assert "".join(reply.pieces).startswith(joined(items))


@SETTINGS
@given(data=st.data(), kind=st.sampled_from(["ollama", "openai"]))
def test_an_error_line_stops_the_stream_keeping_the_text_before_it(
    data: st.DataObject, kind: str
) -> None:
    pieces = data.draw(st.lists(_text.filter(lambda t: t.strip()), min_size=1, max_size=10))
    if kind == "ollama":
        lines = [_json({"message": {"content": p}, "done": False}, False) + b"\n" for p in pieces]
        wire = b"".join(lines) + b'{"error":"model runner has unexpectedly stopped"}\n'
        wire += b'{"message":{"content":"never read"},"done":true}\n'
        parser: StreamParser = OllamaStreamParser()
    else:
        lines = [b"data: " + _json({"choices": [{"delta": {"content": p}}]}, False) + b"\n\n"
                 for p in pieces]
        wire = b"".join(lines) + b'data: {"error":{"message":"model crashed"}}\n\n'
        wire += b'data: {"choices":[{"delta":{"content":"never read"}}]}\n\ndata: [DONE]\n\n'
        parser = OpenAIStreamParser()
    items = feed(parser, data.draw(cuts(wire)))
    assert joined(items) == "".join(pieces)
    assert parser.error and not parser.done


@SETTINGS
@given(data=st.data(), kind=st.sampled_from(["ollama", "openai"]))
def test_inline_think_tags_split_anywhere(data: st.DataObject, kind: str) -> None:
    """``<think>…</think>`` cut into arbitrary content pieces, then into arbitrary reads."""
    thought = data.draw(_text.filter(lambda t: t.strip()))
    answer = data.draw(_text.filter(lambda t: t.strip()))
    content = f"<think>{thought}</think>\n\n{answer}"
    offsets = data.draw(st.lists(st.integers(min_value=1, max_value=len(content) - 1)))
    bounds = [0, *sorted(set(offsets)), len(content)]
    pieces = [content[a:b] for a, b in pairwise(bounds)]
    if kind == "ollama":
        wire = b"".join(_json({"message": {"content": p}, "done": False}, False) + b"\n"
                        for p in pieces) + b'{"done":true}\n'
        parser: StreamParser = OllamaStreamParser()
    else:
        wire = b"".join(b"data: " + _json({"choices": [{"delta": {"content": p}}]}, False)
                        + b"\n\n" for p in pieces) + b"data: [DONE]\n\n"
        parser = OpenAIStreamParser()
    items = feed(parser, data.draw(cuts(wire)))
    assert joined(items, reasoning=True) == thought
    assert joined(items) == answer.lstrip()
    assert parser.done
