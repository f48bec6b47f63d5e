"""The simulated Ollama's OpenAI-compatible layer (protocols.md A.15): ``POST
/v1/chat/completions`` and ``GET /v1/models``.

Ollama serves these by translating the request to a native ``/api/chat`` and each native
chunk to an SSE event, so a reply here is the native plan (same queue, loads, pacing and
faults) in another encoding. Byte-level choices follow the Go middleware: every delta
repeats ``"role":"assistant"`` next to its ``content``; the finish reason rides on the
last delta (an empty ``content``); with ``stream_options.include_usage`` that chunk is
sent again with ``"choices":[]`` and the usage; then ``data: [DONE]``. ``id`` is
``chatcmpl-<0..998>``, ``created`` is fixed for the stream, ``system_fingerprint`` is
``fp_ollama``; streaming is off unless ``"stream": true``.
"""

from __future__ import annotations

import calendar
import random
import time
from typing import Any

from hybrid_tui.sim.catalog import MODIFIED_AT
from hybrid_tui.sim.engine import Plan
from hybrid_tui.sim.http import Response, status_phrase

#: what the middleware sets on an error body (no charset, unlike the native handlers)
ERROR_JSON = "application/json"
NO_MESSAGES = "[] is too short - 'messages'"
_EFFORTS = ("high", "medium", "low", "none")


class ChunkEncoder:
    """The SSE events (or single JSON body) of one ``/v1/chat/completions`` reply.

    ``json`` is the native module's ``json.Marshal`` stand-in and ``crash`` its mid-run
    error text, passed in so the two encodings cannot drift apart.
    """

    def __init__(self, requested: str, *, include_usage: bool, json: Any, crash: str) -> None:
        self.requested = requested
        self.include_usage = include_usage
        self.id = f"chatcmpl-{random.randrange(999)}"
        self.created = int(time.time())
        self._json = json
        self._crash = crash

    def _chunk(self, model: str, choices: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": model,
            "system_fingerprint": "fp_ollama",
            "choices": choices,
        }

    def _delta(
        self, content: str, reasoning: str = "", finish: str | None = None
    ) -> dict[str, Any]:
        delta: dict[str, Any] = {"role": "assistant", "content": content}
        if reasoning:
            delta["reasoning"] = reasoning
        return {"index": 0, "delta": delta, "finish_reason": finish}

    def _event(self, obj: dict[str, Any] | bytes) -> bytes:
        data = obj if isinstance(obj, bytes) else self._json(obj)
        return b"data: " + data + b"\n\n"

    def stream_head(self) -> list[tuple[str, str]]:
        return [("Content-Type", "text/event-stream")]

    def json_headers(self) -> list[tuple[str, str]]:
        return [("Content-Type", ERROR_JSON)]

    def piece(self, plan: Plan, text: str, reasoning: bool, index: int) -> bytes:
        choice = self._delta("", text) if reasoning else self._delta(text)
        return self._event(self._chunk(self.requested, [choice]))

    def final(self, plan: Plan) -> bytes:
        last = self._chunk(self.requested, [self._delta("", finish=plan.finish)])
        out = self._event(last)
        if self.include_usage:
            out += self._event({**last, "choices": [], "usage": plan.usage})
        return out + self._event(b"[DONE]")

    def body(self, plan: Plan, *, complete: bool) -> bytes:
        message: dict[str, Any] = {"role": "assistant", "content": plan.text}
        if plan.reasoning:
            message["reasoning"] = plan.reasoning
        obj = {
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.requested,
            "system_fingerprint": "fp_ollama",
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "finish_reason": plan.finish if complete else None,
                }
            ],
            "usage": plan.usage,
        }
        return self._json(obj) + b"\n"  # json.NewEncoder ends the body with a newline

    def error_event(self, message: str | None) -> bytes:
        # the native error line decodes as a chunk without model or content; no [DONE]
        return self._event(self._chunk("", [self._delta("")]))

    def malformed(self, plan: Plan) -> bytes:
        whole = self._json(self._chunk(self.requested, [self._delta("…")]))
        return b"data: " + whole[: len(whole) // 2] + b"\n\n"

    def keepalive(self) -> bytes | None:
        return None

    def default_error(self, status: int) -> str:
        return {
            404: f"model '{self.requested}' not found",
            500: self._crash,
        }.get(status, status_phrase(status).lower() or "error")

    async def send_error(self, resp: Response, status: int, message: str | None) -> None:
        await send_error(resp, status, message or self.default_error(status), self._json)


async def send_error(resp: Response, status: int, message: str, json: Any) -> None:
    """An OpenAI-shaped error body, typed by status as the middleware does."""
    kind = {400: "invalid_request_error", 404: "not_found_error"}.get(status, "api_error")
    error = {"message": message, "type": kind, "param": None, "code": None}
    await resp.send(status, [("Content-Type", ERROR_JSON)], json({"error": error}) + b"\n")


def native_request(body: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
    """The ``/api/chat`` request Ollama makes of a ``/v1/chat/completions`` body, or the
    error text of a 400. Only what the simulator acts on is carried over."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return None, NO_MESSAGES
    native_messages = []
    for m in messages:
        if not isinstance(m, dict):
            return None, "invalid message format"
        content = m.get("content")
        if isinstance(content, list):  # each part (text or image) becomes a message
            for part in content:
                if not isinstance(part, dict):
                    return None, "invalid message format"
                text = part.get("text") if part.get("type") == "text" else ""
                native_messages.append({"role": m.get("role"), "content": text or ""})
        else:
            native_messages.append({"role": m.get("role"), "content": content or ""})
    options: dict[str, Any] = {}
    if isinstance(body.get("max_tokens"), int):
        options["num_predict"] = body["max_tokens"]
    native: dict[str, Any] = {
        "model": body.get("model") or "",
        "messages": native_messages,
        "options": options,
        "stream": body.get("stream") is True,
    }
    reasoning = body.get("reasoning")
    effort = (
        reasoning.get("effort") if isinstance(reasoning, dict) else body.get("reasoning_effort")
    )
    if effort:
        if effort not in _EFFORTS:
            return None, (
                f"invalid reasoning value: '{effort}' "
                '(must be "high", "medium", "low", or "none")'
            )
        native["think"] = False if effort == "none" else effort
    return native, None


def model_list(names: list[str]) -> dict[str, Any]:
    """``GET /v1/models``: every installed model, ``owned_by`` its namespace."""
    created = _unix(MODIFIED_AT)
    return {
        "object": "list",
        "data": [
            {"id": n, "object": "model", "created": created, "owned_by": _namespace(n)}
            for n in names
        ],
    }


def _namespace(name: str) -> str:
    """Ollama's ``model.ParseName(name).Namespace``: ``library`` unless a user is named."""
    parts = name.split(":", 1)[0].split("/")
    return parts[-2] if len(parts) >= 2 else "library"


def _unix(rfc3339: str) -> int:
    """Whole seconds of a UTC RFC 3339 time (Go's ``Time.Unix``)."""
    return calendar.timegm(time.strptime(rfc3339[:19], "%Y-%m-%dT%H:%M:%S"))
