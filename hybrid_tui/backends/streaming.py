"""Pure stream framing: bytes in, lines / SSE events / JSON objects / think-split text out.

No I/O and no httpx here, so every piece can be fed arbitrary splits of a wire stream in
tests (a TCP read can end anywhere: inside a line, between ``\\r`` and ``\\n``, inside a
multi-byte UTF-8 character). Each class has ``feed(...) -> list`` for the next piece and
``close() -> list`` for whatever was still buffered when the stream ended.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

_EOL = re.compile(rb"\r\n|\r|\n")

#: the longest line (and SSE event) a stream may send: a reply chunk is a few hundred bytes
DEFAULT_MAX_LINE = 1024 * 1024


class LineTooLong(ValueError):
    """A line (or SSE event) longer than the limit arrived, or was still growing past it:
    the server is broken or hostile, and the stream must be closed."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"a line longer than {limit:,} bytes")


class LineSplitter:
    """Split a byte stream into lines at ``\\n``, ``\\r\\n`` or a bare ``\\r``.

    Splitting happens on bytes, before any decoding, so a UTF-8 character cut across two
    reads is joined again inside its line. Lines are returned without their line ending.
    A line longer than ``max_line`` bytes raises :class:`LineTooLong` as soon as that many
    bytes of it are buffered. The cost is linear in the bytes fed however a line is cut:
    a read that ends no line is only appended, and searched for line endings on its own.
    """

    __slots__ = ("_buf", "_max", "_more", "_more_size", "_skip_lf")

    def __init__(self, max_line: int = DEFAULT_MAX_LINE) -> None:
        self._buf = b""  # the start of a line whose end has not come yet
        # reads that continued it without ending it, joined once the end comes
        self._more: list[bytes] = []
        self._more_size = 0
        self._max = max_line
        # the previous piece ended with "\r": a "\n" starting the next piece belongs to it
        self._skip_lf = False

    def feed(self, data: bytes) -> list[bytes]:
        if self._skip_lf:
            self._skip_lf = False
            if data[:1] == b"\n":
                data = data[1:]
        if not data:
            return []
        if self._buf:
            if 10 not in data and 13 not in data:  # still inside the buffered line
                self._more.append(data)
                self._more_size += len(data)
                if len(self._buf) + self._more_size > self._max:
                    raise LineTooLong(self._max)
                return []
            if self._more:
                buf = b"".join([self._buf, *self._more, data])
                self._more, self._more_size = [], 0
            else:
                buf = self._buf + data
        else:
            buf = data
        if 13 in buf:  # b"\r" (an int is a plain memchr, several times faster)
            if buf[-1:] == b"\r":
                self._skip_lf = True
            parts = _EOL.split(buf)
        else:
            parts = buf.split(b"\n")
        self._buf = parts.pop()
        if len(buf) > self._max and max(len(self._buf), *map(len, parts or [b""])) > self._max:
            raise LineTooLong(self._max)
        return parts

    def whole_line(self, data: bytes, blank_after: bool = False) -> bytes | None:
        """``data`` without its ending when it is exactly one whole line, else None.

        With ``blank_after`` the line must be followed by one blank line (an SSE event of one
        field). None also while a partial line is buffered, and for a line over the limit.
        Nothing is consumed either way: on None feed the read as usual. The fast path for the
        common read, one token's chunk.
        """
        if self._buf or self._skip_lf:
            return None
        if 13 in data:  # b"\r": "\r\n" endings read like "\n"; a lone "\r" needs feed()
            data = data.replace(b"\r\n", b"\n")
            if 13 in data:
                return None
        end = len(data) - 2 if blank_after else len(data) - 1
        if end < 0 or end > self._max or data.find(b"\n") != end or data[-1] != 10:  # 10: "\n"
            return None
        return data[:end]

    def close(self) -> list[bytes]:
        """The last line when the stream did not end with a line ending."""
        rest = b"".join([self._buf, *self._more])
        self._buf, self._more, self._more_size = b"", [], 0
        return [rest] if rest else []


@dataclass(frozen=True, slots=True)
class SSEEvent:
    """One server-sent event: its ``event:`` name (None when absent) and joined data."""

    data: str
    event: str | None = None


class SSEDecoder:
    """Assemble server-sent events from bytes.

    Follows the WHATWG rules that matter here: ``:`` lines are comments (keep-alives),
    ``data:`` lines of one event join with ``\\n``, one optional space after the colon is
    dropped (``data:{...}`` works too), a blank line ends the event, ``id:``/``retry:``
    are ignored. An event with no data lines is not dispatched. An event whose data grows
    past ``max_line`` bytes raises :class:`LineTooLong`, like a line that long.
    """

    __slots__ = ("_data", "_event", "_lines", "_max", "_size")

    def __init__(self, max_line: int = DEFAULT_MAX_LINE) -> None:
        self._lines = LineSplitter(max_line)
        self._max = max_line
        self._data: list[bytes] = []
        self._size = 0  # bytes in ``_data``
        self._event: str | None = None

    def feed(self, data: bytes) -> list[SSEEvent]:
        return self._handle(self._lines.feed(data))

    def lone_json(self, data: bytes) -> dict[str, Any] | None:
        """The JSON object ``data`` carries when it is one whole event of a lone ``data:`` line.

        The fast path for the usual read (``data: {...}``, a blank line, nothing else): no
        line list and no :class:`SSEEvent`. None for anything else (an open event or partial
        line, an ``event:`` or other field, several lines, a lone ``\\r``, data that is not a
        JSON object or not UTF-8); nothing is consumed then, so the caller feeds the read as
        usual and the general rules decide. Either way the result is the same.
        """
        if self._data or self._event is not None:
            return None
        line = self._lines.whole_line(data, True)
        if line is None or line[:5] != b"data:":
            return None
        return parse_json_object(line[6:] if line[5:6] == b" " else line[5:])

    def close(self) -> list[SSEEvent]:
        """Events still open at the end (a final event without its blank line)."""
        events = self._handle(self._lines.close())
        ev = self._dispatch()
        if ev is not None:
            events.append(ev)
        return events

    def _handle(self, lines: list[bytes]) -> list[SSEEvent]:
        events: list[SSEEvent] = []
        for line in lines:
            if not line:
                ev = self._dispatch()
                if ev is not None:
                    events.append(ev)
                continue
            if line[:5] == b"data:":
                value = line[5:]
                self._data.append(value[1:] if value[:1] == b" " else value)
                self._size += len(value)
                if self._size > self._max:
                    raise LineTooLong(self._max)
                continue
            if line[:1] == b":":
                continue
            name, _, value = line.partition(b":")
            if value[:1] == b" ":
                value = value[1:]
            if name == b"event":
                self._event = value.decode("utf-8", "replace")
            elif name == b"data":  # "data" with no colon: an empty data line
                self._data.append(b"")
        return events

    def _dispatch(self) -> SSEEvent | None:
        data, event = self._data, self._event
        self._data, self._event, self._size = [], None, 0
        if not data:
            return None
        raw = data[0] if len(data) == 1 else b"\n".join(data)
        return SSEEvent(raw.decode("utf-8", "replace"), event)


class NDJSONDecoder:
    """Parse newline-delimited JSON objects from bytes.

    Blank lines are skipped. A line that is not a JSON object is counted in
    ``malformed`` (and its start kept in ``last_malformed``) instead of failing the stream.
    """

    __slots__ = ("_lines", "last_malformed", "malformed")

    def __init__(self, max_line: int = DEFAULT_MAX_LINE) -> None:
        self._lines = LineSplitter(max_line)
        self.malformed = 0
        self.last_malformed = ""

    def feed(self, data: bytes) -> list[dict[str, Any]]:
        return self._parse(self._lines.feed(data))

    def lone_json(self, data: bytes) -> dict[str, Any] | None:
        """The object when ``data`` is exactly one whole line holding one, else None.

        The fast path for the usual read (one chunk per read); on None nothing was consumed
        and the caller feeds the read as usual (blank and malformed lines are handled there).
        """
        line = self._lines.whole_line(data)
        return None if line is None else parse_json_object(line)

    def close(self) -> list[dict[str, Any]]:
        """The last object when the stream did not end with a newline."""
        return self._parse(self._lines.close())

    def _parse(self, lines: list[bytes]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for line in lines:
            obj = parse_json_object(line)
            if obj is not None:
                out.append(obj)
            elif line.strip():
                self.malformed += 1
                self.last_malformed = line[:80].decode("utf-8", "replace")
        return out


# json.loads without its per-call type checks and encoding sniffing (this runs per token)
_decode_json = json.JSONDecoder().decode


def parse_json_object(raw: bytes | str) -> dict[str, Any] | None:
    """``raw`` parsed as a JSON object, or None (not JSON, not an object, bad UTF-8)."""
    try:
        obj = _decode_json(raw.decode() if isinstance(raw, bytes) else raw)
    except ValueError:  # JSONDecodeError and UnicodeDecodeError both
        return None
    return obj if isinstance(obj, dict) else None


_OPEN = "<think>"
#: blank text a reply may start with before ``<think>`` is no longer looked for (holding
#: more would let a server that sends only whitespace cost quadratic time)
MAX_LEAD = 4096
_CLOSE = "</think>"


class ThinkSplitter:
    """Separate an inline ``<think>…</think>`` block from the reply text.

    Models without a server-side reasoning parser put their trace in the content. The
    block is recognised only at the start of the reply (after whitespace), so code that
    merely mentions the tag later is left alone, and once the reply proper has started
    every ``feed`` is a plain pass-through. Tags split across pieces (``<th`` + ``ink>``)
    are held back until they can be decided. Returns ``(text, is_reasoning)`` pairs.
    """

    __slots__ = ("_pending", "_state", "passthrough")

    # states: start (nothing decided yet), inside (in the block), after (just closed:
    # drop the blank lines before the reply), text (plain reply: pass through)

    def __init__(self) -> None:
        self._state = "start"
        self._pending = ""
        #: True once the reply proper has started: ``feed(text)`` is then ``[(text, False)]``
        self.passthrough = False

    def feed(self, text: str) -> list[tuple[str, bool]]:
        if self._state == "text":
            return [(text, False)] if text else []
        out: list[tuple[str, bool]] = []
        buf = self._pending + text
        self._pending = ""
        while buf:
            if self._state == "start":
                body = buf.lstrip()
                if body.startswith(_OPEN):
                    buf = body[len(_OPEN) :]
                    self._state = "inside"
                elif _OPEN.startswith(body) and len(buf) <= MAX_LEAD:  # empty, or "<thi"
                    self._pending = buf
                    return out
                else:
                    self._state, self.passthrough = "text", True
                    out.append((buf, False))
                    return out
            elif self._state == "inside":
                end = buf.find(_CLOSE)
                if end >= 0:
                    if end:
                        out.append((buf[:end], True))
                    buf = buf[end + len(_CLOSE) :]
                    self._state = "after"
                    continue
                keep = _partial_suffix(buf, _CLOSE)
                if keep < len(buf):
                    out.append((buf[: len(buf) - keep], True))
                self._pending = buf[len(buf) - keep :]
                return out
            elif self._state == "after":
                buf = buf.lstrip()
                if buf:
                    self._state, self.passthrough = "text", True
                    out.append((buf, False))
                return out
            else:
                out.append((buf, False))
                return out
        return out

    def close(self) -> list[tuple[str, bool]]:
        """Text held back at the end: an unclosed block stays reasoning."""
        rest, self._pending = self._pending, ""
        if not rest:
            return []
        if self._state == "inside":
            return [(rest, True)]
        if self._state == "start" and not rest.strip():
            return []
        return [(rest, False)]


def _partial_suffix(text: str, tag: str) -> int:
    """Length of the longest end of ``text`` that is a proper start of ``tag``."""
    if "<" not in text[-len(tag) :]:
        return 0
    for n in range(min(len(tag) - 1, len(text)), 0, -1):
        if tag.startswith(text[-n:]):
            return n
    return 0
