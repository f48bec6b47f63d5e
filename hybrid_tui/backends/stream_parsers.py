"""Protocol-level stream parsers: wire bytes in, ``TextDelta`` items and end-of-stream facts out.

One class per wire format, both pure (no I/O), so any split of a recorded stream can be fed to
them in tests. ``feed(bytes) -> list[TextDelta]``; ``close() -> list[TextDelta]`` at the end of
the body; a line (or SSE event) over ``max_line`` bytes raises
:class:`~hybrid_tui.backends.streaming.LineTooLong`. Afterwards: ``done`` (the end marker was
seen), ``error`` (an error line or event arrived; nothing after it is read), the server's counts
and ``finish_reason``, ``model`` (as the server named it) and ``malformed`` (skipped lines).
Per-chunk work is one ``json.loads`` and a few dict lookups; unknown keys and unknown enum
values are ignored or kept as strings.
"""

from __future__ import annotations

from typing import Any

from hybrid_tui.backends.base import TextDelta
from hybrid_tui.backends.http_errors import error_from_json, one_line
from hybrid_tui.backends.streaming import (
    DEFAULT_MAX_LINE,
    NDJSONDecoder,
    SSEDecoder,
    SSEEvent,
    ThinkSplitter,
    parse_json_object,
)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _num(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


class StreamParser:
    """What both wire formats share: text routing, end state and server figures."""

    #: the framing layer (NDJSON lines or SSE events), set by each subclass
    _decoder: NDJSONDecoder | SSEDecoder

    def __init__(self) -> None:
        self.done = False
        self.error: str | None = None
        self.model: str | None = None
        self.finish_reason: str | None = None
        self.prompt_tokens: int | None = None
        self.completion_tokens: int | None = None
        self.server_tokens_per_s: float | None = None
        self.server_load_ms: float | None = None
        #: reasoning tokens, when the server counts them apart (OpenAI usage details)
        self.reasoning_tokens: int | None = None
        self.extra: dict[str, Any] = {}
        self._think = ThinkSplitter()

    @property
    def finished(self) -> bool:
        """True once nothing more should be read (end marker or error seen)."""
        return self.done or self.error is not None

    @property
    def malformed(self) -> int:
        return 0

    @property
    def cut_short(self) -> bool:
        """True when the end marker came but the reply was not finished properly."""
        return False

    def feed(self, data: bytes) -> list[TextDelta]:
        """Parse the next bytes read from the wire; nothing once finished.

        A read holding exactly one whole chunk (the usual case: servers write one per token)
        is parsed straight from its bytes; any other read goes through the framing decoder.
        """
        if self.finished:
            return []
        obj = self._decoder.lone_json(data)
        if obj is not None:  # the usual read: one chunk, parsed without the framing layer
            out: list[TextDelta] = []
            self._object(obj, out)
            return out
        return self._take(self._decoder.feed(data))

    def close(self) -> list[TextDelta]:
        """The connection ended: parse what was buffered and flush held-back text."""
        if self.finished:
            return []
        out = self._take(self._decoder.close())
        if not self.error:
            self._flush(out)
        return out

    def _take(self, items: list[Any]) -> list[TextDelta]:
        """Turn the framing decoder's items (JSON objects or SSE events) into text."""
        raise NotImplementedError

    def feed_object(self, obj: dict[str, Any]) -> list[TextDelta]:
        """Take a whole non-streamed reply body (a server that ignored ``stream: true``)."""
        out: list[TextDelta] = []
        self._object(obj, out)
        if not self.finished:
            self.done = True
            self._flush(out)
        return out

    def _object(self, obj: dict[str, Any], out: list[TextDelta]) -> None:
        raise NotImplementedError

    def _content(self, text: str, out: list[TextDelta]) -> None:
        if self._think.passthrough:  # the usual case, once the reply has started
            out.append(TextDelta(text))
            return
        for piece, reasoning in self._think.feed(text):
            out.append(TextDelta(piece, reasoning))

    def _flush(self, out: list[TextDelta]) -> None:
        for piece, reasoning in self._think.close():
            out.append(TextDelta(piece, reasoning))

    def _fail(self, obj: Any) -> None:
        found = error_from_json(obj)
        self.error = found.message if found else "the server reported an error"


class OllamaStreamParser(StreamParser):
    """Ollama's NDJSON stream (``/api/chat``, also ``/api/generate``): ends at ``done: true``."""

    def __init__(self, max_line: int = DEFAULT_MAX_LINE) -> None:
        super().__init__()
        self._decoder = NDJSONDecoder(max_line)

    @property
    def malformed(self) -> int:
        return self._decoder.malformed

    def _take(self, objs: list[dict[str, Any]]) -> list[TextDelta]:
        out: list[TextDelta] = []
        for obj in objs:
            self._object(obj, out)
            if self.finished:
                break
        return out

    def _object(self, obj: dict[str, Any], out: list[TextDelta]) -> None:
        if obj.get("error"):
            self._fail(obj)
            return
        if self.model is None and isinstance(obj.get("model"), str):
            self.model = obj["model"]
        msg = obj.get("message")
        if isinstance(msg, dict):
            thinking, content = msg.get("thinking"), msg.get("content")
        else:  # /api/generate chunks
            thinking, content = obj.get("thinking"), obj.get("response")
        if thinking and isinstance(thinking, str):
            out.append(TextDelta(thinking, True))
        if content and isinstance(content, str):
            self._content(content, out)
        if obj.get("done") is True:
            self._final(obj)
            self._flush(out)

    def _final(self, obj: dict[str, Any]) -> None:
        self.done = True
        reason = obj.get("done_reason")
        self.finish_reason = str(reason) if reason else None
        self.prompt_tokens = _int(obj.get("prompt_eval_count"))
        self.completion_tokens = _int(obj.get("eval_count"))
        eval_ns = _int(obj.get("eval_duration"))
        if self.completion_tokens is not None and eval_ns:
            self.server_tokens_per_s = self.completion_tokens / eval_ns * 1e9
        load_ns = _int(obj.get("load_duration"))
        if load_ns is not None:
            self.server_load_ms = load_ns / 1e6
        for key in ("total_duration", "prompt_eval_duration", "eval_duration"):
            ns = _int(obj.get(key))
            if ns is not None:
                self.extra[key.replace("duration", "ms")] = ns / 1e6


class OpenAIStreamParser(StreamParser):
    """OpenAI-style SSE (``/v1/chat/completions``): ends at ``data: [DONE]``."""

    def __init__(self, max_line: int = DEFAULT_MAX_LINE) -> None:
        super().__init__()
        self._decoder = SSEDecoder(max_line)
        self._malformed = 0
        self._done_marker = False
        self.last_malformed = ""

    @property
    def malformed(self) -> int:
        return self._malformed

    @property
    def cut_short(self) -> bool:
        """``[DONE]`` without a finish reason. OpenAI-style servers send a finish reason
        before ``[DONE]`` at a proper end; llama-cpp-python's server ends a running reply
        this way when another request arrives (its default ``interrupt_requests``)."""
        return self._done_marker and self.finish_reason is None

    def _take(self, events: list[SSEEvent]) -> list[TextDelta]:
        out: list[TextDelta] = []
        for ev in events:
            self._event(ev, out)
            if self.finished:
                break
        return out

    def _event(self, ev: SSEEvent, out: list[TextDelta]) -> None:
        obj = parse_json_object(ev.data)
        if ev.event == "error":
            self._fail(obj if obj is not None else one_line(ev.data))
            return
        if obj is not None:
            self._object(obj, out)
            return
        stripped = ev.data.strip()
        if stripped == "[DONE]":
            self.done = self._done_marker = True
            self._flush(out)
        elif stripped:
            self._malformed += 1
            self.last_malformed = stripped[:80]

    def _object(self, obj: dict[str, Any], out: list[TextDelta]) -> None:
        # this runs per token: the rare keys are looked up only when present
        if obj.get("error"):
            self._fail(obj)
            return
        if self.model is None and isinstance(obj.get("model"), str):
            self.model = obj["model"]
        choices = obj.get("choices")
        if choices and isinstance(choices, list) and isinstance(choices[0], dict):
            choice = choices[0]
            delta = choice.get("delta") or choice.get("message")
            if isinstance(delta, dict):
                if "reasoning_content" in delta or "reasoning" in delta:
                    self._reasoning(delta, out)
                content = delta.get("content")
                if content and isinstance(content, str):
                    self._content(content, out)
            reason = choice.get("finish_reason")
            if reason:
                self.finish_reason = str(reason)
        if "usage" in obj:
            self._usage(obj["usage"])
        if "stats" in obj:
            self._stats(obj["stats"])
        if "timings" in obj:
            self._timings(obj["timings"])

    @staticmethod
    def _reasoning(delta: dict[str, Any], out: list[TextDelta]) -> None:
        for key in ("reasoning_content", "reasoning"):
            thinking = delta.get(key)
            if thinking and isinstance(thinking, str):
                out.append(TextDelta(thinking, True))

    def _usage(self, usage: Any) -> None:
        if isinstance(usage, dict):
            self.prompt_tokens = _int(usage.get("prompt_tokens"))
            self.completion_tokens = _int(usage.get("completion_tokens"))
            details = usage.get("completion_tokens_details")
            if isinstance(details, dict):
                self.reasoning_tokens = _int(details.get("reasoning_tokens"))

    def _timings(self, timings: Any) -> None:
        """llama.cpp server's own figures (milliseconds; ``predicted`` is generation)."""
        if not isinstance(timings, dict):
            return
        rate = _num(timings.get("predicted_per_second"))
        if rate:  # 0 when nothing was generated: no figure
            self.server_tokens_per_s = rate
        for ours, theirs in (("prompt_eval_ms", "prompt_ms"), ("eval_ms", "predicted_ms")):
            ms = _num(timings.get(theirs))
            if ms is not None:
                self.extra[ours] = ms
        prompt_n = _int(timings.get("prompt_n"))
        if prompt_n is not None and self.prompt_tokens is None:
            self.prompt_tokens = prompt_n

    def _stats(self, stats: Any) -> None:
        """LM Studio's ``/api/v0`` extras, when present."""
        if isinstance(stats, dict) and stats:
            self.server_tokens_per_s = _num(stats.get("tokens_per_second"))
            ttft = _num(stats.get("time_to_first_token"))
            if ttft is not None:
                self.extra["server_ttft_ms"] = ttft * 1000
