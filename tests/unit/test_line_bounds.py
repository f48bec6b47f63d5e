"""Stream lines have a maximum length, and splitting them is linear in the bytes fed.

Before the bound, one unterminated 32 MiB line fed in 64 KiB reads cost ~5 s of CPU (each
read re-joined and re-split the whole buffer) and kept every byte; now it raises as soon as
the limit is passed, and even an unlimited splitter takes a fraction of a second.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from hybrid_tui.backends.stream_parsers import OllamaStreamParser, OpenAIStreamParser
from hybrid_tui.backends.streaming import (
    DEFAULT_MAX_LINE,
    LineSplitter,
    LineTooLong,
    NDJSONDecoder,
    SSEDecoder,
)

READ = 65536
MiB = 1024 * 1024


def reads(data: bytes, size: int = READ) -> Iterator[bytes]:
    return (data[i : i + size] for i in range(0, len(data), size))


def test_a_line_of_exactly_the_limit_passes_one_byte_more_raises():
    assert LineSplitter(10).feed(b"0123456789\n") == [b"0123456789"]
    with pytest.raises(LineTooLong) as info:
        LineSplitter(10).feed(b"0123456789X\n")
    assert info.value.limit == 10
    assert "longer than 10 bytes" in str(info.value)


@pytest.mark.parametrize("ending", [b"\n", b"\r\n", b"\r"])
def test_a_long_line_raises_however_it_is_cut(ending):
    wire = b"short" + ending + b"x" * 100 + ending
    for size in (1, 7, 64, len(wire)):
        s = LineSplitter(50)
        with pytest.raises(LineTooLong):
            for piece in reads(wire, size):
                s.feed(piece)


def test_an_unterminated_line_raises_once_the_buffer_passes_the_limit():
    s = LineSplitter(100)
    assert s.feed(b"x" * 60) == []
    assert s.feed(b"x" * 40) == []  # exactly 100 buffered: still allowed
    with pytest.raises(LineTooLong):
        s.feed(b"x")


def test_the_fast_path_declines_a_line_over_the_limit():
    s = LineSplitter(10)
    assert s.whole_line(b"0123456789\n") == b"0123456789"
    assert s.whole_line(b"0123456789X\n") is None


def test_lines_under_the_limit_are_unchanged_by_it():
    wire = b"a\r\nbb\rccc\n\ndddd"
    for size in (1, 2, 3, len(wire)):
        s = LineSplitter(4)
        got = [line for piece in reads(wire, size) for line in s.feed(piece)] + s.close()
        assert got == [b"a", b"bb", b"ccc", b"", b"dddd"], size


def test_ndjson_and_sse_decoders_pass_the_limit_on():
    with pytest.raises(LineTooLong):
        NDJSONDecoder(16).feed(b'{"content":"' + b"x" * 16)
    with pytest.raises(LineTooLong):
        SSEDecoder(16).feed(b"data: " + b"x" * 17 + b"\n")


def test_an_sse_event_made_of_many_short_data_lines_is_bounded_too():
    decoder = SSEDecoder(1000)
    with pytest.raises(LineTooLong):
        for _ in range(20):
            decoder.feed(b"data: " + b"y" * 99 + b"\n")  # 100-byte lines, never a blank one


def test_an_sse_event_under_the_limit_resets_the_count():
    decoder = SSEDecoder(1000)
    for _ in range(20):  # 20 events of 600 bytes: 12,000 in all, each one fine
        events = decoder.feed(b"data: " + b"y" * 300 + b"\ndata: " + b"z" * 300 + b"\n\n")
        assert len(events) == 1


@pytest.mark.parametrize("parser", [OllamaStreamParser, OpenAIStreamParser])
def test_the_parsers_default_to_one_mebibyte(parser):
    assert MiB == DEFAULT_MAX_LINE
    opening = b'{"x":"' if parser is OllamaStreamParser else b'data: {"x":"'
    p = parser()
    with pytest.raises(LineTooLong):
        for piece in reads(opening + b"a" * (32 * MiB)):
            p.feed(piece)


def test_splitting_an_unterminated_32_mib_line_is_linear():
    s = LineSplitter(64 * MiB)  # no bound in the way: only the splitting cost is measured
    start = time.process_time()
    for piece in reads(b"a" * (32 * MiB)):
        assert s.feed(piece) == []
    assert s.feed(b"\n") == [b"a" * (32 * MiB)]
    assert time.process_time() - start < 1.5  # quadratic splitting took ~5 s here


# ---- the config key -----------------------------------------------------------------------


@pytest.mark.parametrize(("key", "value", "default"),
                         [("max_line_bytes", 4096, MiB), ("max_reply_bytes", 65536, 64 * MiB)])
def test_the_read_bounds_are_per_backend_keys(tmp_path, key, value, default):
    from hybrid_tui.config import load_config

    path = tmp_path / "config.yaml"
    path.write_text(f"backends:\n  ollama:\n    {key}: {value}\n", encoding="utf-8")
    config = load_config(str(path), env={})
    assert getattr(config.backends["ollama"], key) == value
    assert getattr(load_config(None, env={}).backends["ollama"], key) == default


@pytest.mark.parametrize(("key", "value", "problem"),
                         [("max_line_bytes", "100", "must be at least 1024, got 100"),
                          ("max_line_bytes", "big", "expected a whole number"),
                          ("max_reply_bytes", "1024", "must be at least 65536, got 1024")])
def test_a_bad_read_bound_is_one_clear_config_error(tmp_path, key, value, problem):
    from hybrid_tui.config import load_config
    from hybrid_tui.errors import ConfigError

    path = tmp_path / "config.yaml"
    path.write_text(f"backends:\n  ollama:\n    {key}: {value}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(str(path), env={})
    assert f"backends.ollama.{key}" in str(info.value)
    assert problem in str(info.value)


# ---- held-back text ------------------------------------------------------------------------


def test_a_reply_of_endless_blank_tokens_is_not_held_back_forever():
    """Blank text before a possible ``<think>`` is held, but only so much: a server sending
    whitespace token after token cost quadratic time (each token re-joined the held text)."""
    parser = OllamaStreamParser()
    line = b'{"message":{"role":"assistant","content":"\\n"},"done":false}\n'
    start = time.process_time()
    out = [delta for _ in range(100_000) for delta in parser.feed(line)]
    assert time.process_time() - start < 1.0  # quadratic: 1.7 s here
    assert "".join(d.text for d in out) == "\n" * 100_000
    assert not any(d.reasoning for d in out)
