"""Ollama's native API: ``/api/version``, ``/api/tags``, ``/api/ps`` and streaming ``/api/chat``.

Replies stream as NDJSON ending with a ``done: true`` object that carries the server's counts
and nanosecond timings. Ollama sends no status line until the model is loaded and the first
token exists, so a cold load looks like a slow connection; the first-token deadline covers it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import aclosing
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from hybrid_tui.backends.base import HealthReport, Message, ModelInfo, StreamItem, StreamStats
from hybrid_tui.backends.stream_parsers import OllamaStreamParser
from hybrid_tui.backends.transport import HTTPBackend, model_key
from hybrid_tui.errors import BackendError, ProtocolError

if TYPE_CHECKING:
    import httpx

    from hybrid_tui.config import BackendConfig

#: request keys that sit beside ``options`` rather than inside it
TOP_LEVEL = ("keep_alive", "think", "format", "tools")
#: OpenAI-style option names accepted for convenience
ALIASES = {"max_tokens": "num_predict"}

MODELS_TIMEOUT = 10.0
#: the most seconds a ``/api/show`` look-up may add before a request that sets ``think``
SHOW_TIMEOUT = 5.0


def chat_body(messages: Sequence[Message], model: str, options: dict[str, Any]) -> dict[str, Any]:
    """The ``/api/chat`` request: top-level keys split out, the rest as ``options``."""
    body: dict[str, Any] = {"model": model, "messages": list(messages), "stream": True}
    model_options: dict[str, Any] = {}
    for key, value in options.items():
        if value is None:
            continue
        if key in TOP_LEVEL:
            body[key] = value
        else:
            model_options.setdefault(ALIASES.get(key, key), value)
    if model_options:
        body["options"] = model_options
    return body


def _rows(data: Any) -> list[dict[str, Any]] | None:
    models = data.get("models") if isinstance(data, dict) else None
    return [m for m in models if isinstance(m, dict)] if isinstance(models, list) else None


def _name(row: dict[str, Any]) -> str | None:
    name = row.get("name") or row.get("model")
    return name if isinstance(name, str) and name else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def merge_models(tags: Any, ps: Any | None) -> list[ModelInfo]:
    """Installed models (``/api/tags``) marked loaded from ``/api/ps`` when that answered."""
    installed = _rows(tags)
    if installed is None:
        raise ProtocolError("GET /api/tags did not return a model list")
    loaded: dict[str, dict[str, Any]] = {}
    for row in _rows(ps) or ():
        name = _name(row)
        if name:
            loaded[model_key(name)] = row
    out: list[ModelInfo] = []
    seen: set[str] = set()
    for row in [*installed, *loaded.values()]:
        name = _name(row)
        if not name or model_key(name) in seen:
            continue
        seen.add(model_key(name))
        running = loaded.get(model_key(name))
        caps = row.get("capabilities")
        caps = caps if isinstance(caps, list) else []
        embedding = ("embedding" in caps and "completion" not in caps) or ("embed" in name.lower())
        out.append(
            ModelInfo(
                name=name,
                loaded=running is not None,
                type="embedding" if embedding else "llm",
                size=_int(row.get("size")),
                context_length=_int(running.get("context_length")) if running else None,
            )
        )
    return out


class OllamaBackend(HTTPBackend):
    """An Ollama server (``kind: ollama``)."""

    kind = "ollama"
    api_suffixes = ("/api",)

    def __init__(self, config: BackendConfig, client: httpx.AsyncClient) -> None:
        super().__init__(config, client)
        #: model key -> its capabilities from ``/api/show`` (asked once per model)
        self._capabilities: dict[str, frozenset[str]] = {}

    async def capabilities(self, model: str) -> frozenset[str] | None:
        """What ``model`` can do (``completion``, ``tools``, ``thinking``...) as
        ``/api/show`` lists it; None when the server did not say (it is asked again then)."""
        key = model_key(model)
        known = self._capabilities.get(key)
        if known is not None:
            return known
        timeout = min(SHOW_TIMEOUT, self.config.timeout)
        try:
            async with asyncio.timeout(timeout):
                data = await self.request_json("POST", "/api/show", timeout, {"model": model})
        except (BackendError, TimeoutError):
            return None
        caps = data.get("capabilities") if isinstance(data, dict) else None
        if not isinstance(caps, list):
            return None
        found = frozenset(c for c in caps if isinstance(c, str))
        self._capabilities[key] = found
        return found

    async def probe(self, timeout: float) -> HealthReport:
        start = time.perf_counter()
        version_ms: list[float] = []

        async def version() -> Any:
            data = await self.get_json("/api/version", timeout)
            version_ms.append((time.perf_counter() - start) * 1000)
            return data

        ver, tags, ps = await asyncio.gather(
            version(),
            self.get_json("/api/tags", timeout),
            self.get_json("/api/ps", timeout),
            return_exceptions=True,
        )
        if isinstance(tags, BaseException):
            raise tags
        latency_ms = version_ms[0] if version_ms else (time.perf_counter() - start) * 1000
        text = ver.get("version") if isinstance(ver, dict) else None
        ps_ok = not isinstance(ps, BaseException)
        return HealthReport(
            ok=True,
            latency_ms=latency_ms,
            version=text if isinstance(text, str) else None,
            models=tuple(merge_models(tags, ps if ps_ok else None)),
            loaded_known=ps_ok,
        )

    async def models(self, timeout: float = MODELS_TIMEOUT) -> list[ModelInfo]:
        tags, ps = await asyncio.gather(
            self.get_json("/api/tags", timeout),
            self.get_json("/api/ps", timeout),
            return_exceptions=True,
        )
        if isinstance(tags, BaseException):
            raise tags
        return merge_models(tags, None if isinstance(ps, BaseException) else ps)

    def stream_chat(
        self,
        messages: Sequence[Message],
        model: str,
        options: dict[str, Any] | None = None,
    ) -> AsyncIterator[StreamItem]:
        opts = dict(options or {})
        stall = self.pop_stall_timeout(opts)
        if opts.get("think") is None:
            opts.pop("think", None)
            body = chat_body(messages, model, opts)
            return self.stream("/api/chat", body, self._parser(), model, stall)
        return self._stream_thinking(messages, model, opts, stall)

    def _parser(self) -> OllamaStreamParser:
        """A parser holding lines to this backend's ``max_line_bytes``."""
        return OllamaStreamParser(self.config.max_line_bytes)

    async def _stream_thinking(
        self, messages: Sequence[Message], model: str, opts: dict[str, Any], stall: float
    ) -> AsyncIterator[StreamItem]:
        """The stream with ``think`` sent only to a model whose ``/api/show`` lists the
        ``thinking`` capability: Ollama refuses it (400) for any other. When it is left out
        for a model asked to think, the final stats say so."""
        caps = await self.capabilities(model)
        note = None
        if caps is None or "thinking" not in caps:
            asked = opts.pop("think")
            if asked is not False:
                why = ("has no thinking capability" if caps is not None
                       else "could not be checked for it (/api/show did not answer)")
                note = f"think not sent: {model} {why}"
        body = chat_body(messages, model, opts)
        stream = self.stream("/api/chat", body, self._parser(), model, stall)
        async with aclosing(stream) as items:
            async for item in items:
                if note is not None and isinstance(item, StreamStats):
                    item = replace(item, warnings=(*item.warnings, note))
                yield item
