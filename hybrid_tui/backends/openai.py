"""OpenAI-compatible servers: LM Studio, llama.cpp server, vLLM, Ollama's ``/v1`` layer.

Models come from ``GET /v1/models``; LM Studio's native ``GET /api/v0/models`` is asked too,
best effort, because only it says which models are loaded and which are embedding models.
Replies stream from ``POST /v1/chat/completions`` as SSE ending with ``data: [DONE]``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

from hybrid_tui.backends.base import HealthReport, Message, ModelInfo, StreamItem
from hybrid_tui.backends.stream_parsers import OpenAIStreamParser
from hybrid_tui.backends.transport import HTTPBackend
from hybrid_tui.errors import BackendError, ProtocolError

#: request keys passed through from ``options`` (OpenAI standard plus LM Studio extras)
PASSED_OPTIONS = frozenset(
    {
        "temperature",
        "top_p",
        "max_tokens",
        "stop",
        "seed",
        "presence_penalty",
        "frequency_penalty",
        "response_format",
        "tools",
        "tool_choice",
        "reasoning_effort",
        "top_k",
        "min_p",
        "repeat_penalty",
        "ttl",
        "draft_model",
    }
)
#: Ollama-style option names accepted for convenience
ALIASES = {"num_predict": "max_tokens"}
#: our ``think`` setting as ``reasoning_effort`` (a level passes as it is)
REASONING_EFFORT = {True: "medium", False: "none"}

MODELS_TIMEOUT = 10.0


def request_options(options: dict[str, Any]) -> dict[str, Any]:
    """The chat request keys for ``options``: known keys kept, aliases renamed, ``think``
    as ``reasoning_effort``, the rest (Ollama's ``num_ctx``, ``keep_alive``) dropped."""
    out: dict[str, Any] = {}
    think = options.get("think")
    if think is not None:
        out["reasoning_effort"] = REASONING_EFFORT.get(think, think)
    for key, value in options.items():
        name = ALIASES.get(key, key)
        if name in PASSED_OPTIONS and value is not None:
            out.setdefault(name, value)
    return out


def merge_models(listed: Any, native_rows: list[dict[str, Any]]) -> list[ModelInfo]:
    """``/v1/models`` ids, annotated from ``/api/v0/models`` rows (a loaded row wins)."""
    data = listed.get("data") if isinstance(listed, dict) else None
    if not isinstance(data, list):
        raise ProtocolError("GET /v1/models did not return a model list")
    rows: dict[str, dict[str, Any]] = {}
    for row in native_rows:
        rid = row.get("id")
        if isinstance(rid, str) and (rid not in rows or row.get("state") == "loaded"):
            rows[rid] = row
    out: list[ModelInfo] = []
    seen: set[str] = set()
    for entry in data:
        mid = entry.get("id") if isinstance(entry, dict) else None
        if not isinstance(mid, str) or not mid or mid in seen:
            continue
        seen.add(mid)
        out.append(_model_info(mid, rows.get(mid, {})))
    return out


def _model_info(mid: str, row: dict[str, Any]) -> ModelInfo:
    embedding = row.get("type") in ("embeddings", "embedding") or "embed" in mid.lower()
    ctx = row.get("loaded_context_length") or row.get("max_context_length")
    return ModelInfo(
        name=mid,
        loaded=row.get("state") == "loaded",
        type="embedding" if embedding else "llm",
        context_length=ctx if isinstance(ctx, int) and not isinstance(ctx, bool) else None,
    )


class OpenAIBackend(HTTPBackend):
    """Any server speaking the OpenAI chat-completions API (``kind: openai``)."""

    kind = "openai"
    api_suffixes = ("/v1",)

    async def probe(self, timeout: float) -> HealthReport:
        start = time.perf_counter()
        listed = await self.get_json("/v1/models", timeout)
        latency_ms = (time.perf_counter() - start) * 1000
        # whatever is left of the budget, so a slow optional call cannot fail the probe
        spare = timeout - (time.perf_counter() - start)
        native = await self._native_rows(spare * 0.8)
        return HealthReport(
            ok=True,
            latency_ms=latency_ms,
            models=tuple(merge_models(listed, native)),
            loaded_known=bool(native),
        )

    async def models(self, timeout: float = MODELS_TIMEOUT) -> list[ModelInfo]:
        listed = await self.get_json("/v1/models", timeout)
        return merge_models(listed, await self._native_rows(timeout))

    async def _native_rows(self, timeout: float) -> list[dict[str, Any]]:
        """LM Studio's ``/api/v0/models`` rows; empty on any other server or any failure."""
        if timeout <= 0:
            return []
        try:
            async with asyncio.timeout(timeout):
                data = await self.get_json("/api/v0/models", timeout)
        except (BackendError, TimeoutError):
            return []
        rows = data.get("data") if isinstance(data, dict) else None
        return [r for r in rows if isinstance(r, dict)] if isinstance(rows, list) else []

    async def explain_empty(self, path: str, body: dict[str, Any]) -> BackendError | None:
        """Ask again without streaming, for one token. llama-cpp-python checks the prompt
        against its context window only once the stream has begun, and then just ends the
        stream; the same request not streamed gets its 400 with the server's own words."""
        again = {k: v for k, v in body.items() if k != "stream_options"}
        again.update(stream=False, max_tokens=1)
        return await self.post_for_error(path, again, self.config.timeout)

    def stream_chat(
        self,
        messages: Sequence[Message],
        model: str,
        options: dict[str, Any] | None = None,
    ) -> AsyncIterator[StreamItem]:
        opts = dict(options or {})
        stall = self.pop_stall_timeout(opts)
        body: dict[str, Any] = {
            "model": model,
            "messages": list(messages),
            "stream": True,
            "stream_options": {"include_usage": True},
            **request_options(opts),
        }
        parser = OpenAIStreamParser(self.config.max_line_bytes)
        return self.stream("/v1/chat/completions", body, parser, model, stall)
