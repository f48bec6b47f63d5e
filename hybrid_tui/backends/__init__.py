"""Backend clients, one module per wire protocol, behind :class:`Backend`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hybrid_tui.backends.base import (
    Backend,
    HealthReport,
    Message,
    ModelInfo,
    StreamItem,
    StreamStats,
    TextDelta,
)

if TYPE_CHECKING:
    import httpx

    from hybrid_tui.config import BackendConfig

__all__ = [
    "Backend",
    "HealthReport",
    "Message",
    "ModelInfo",
    "StreamItem",
    "StreamStats",
    "TextDelta",
    "make_backend",
]


def make_backend(config: BackendConfig, client: httpx.AsyncClient) -> Backend:
    """The backend object for ``config.kind`` ("openai" or "ollama")."""
    if config.kind == "ollama":
        from hybrid_tui.backends.ollama import OllamaBackend

        return OllamaBackend(config, client)
    from hybrid_tui.backends.openai import OpenAIBackend

    return OpenAIBackend(config, client)
