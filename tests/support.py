"""Small helpers shared by tests (fixtures live in conftest.py)."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hybrid_tui.backends.base import TextDelta
    from hybrid_tui.backends.stream_parsers import StreamParser
    from hybrid_tui.config import Config


def dead_url() -> str:
    """A loopback URL where nothing listens: a server that is not running."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


async def collect(events: AsyncIterator[Any]) -> list[Any]:
    """Every event of one ``RouterService.submit`` stream, in order."""
    return [ev async for ev in events]


def with_backend(config: Config, name: str, **changes: Any) -> Config:
    """``config`` with backend ``name``'s fields replaced."""
    backends = dict(config.backends)
    backends[name] = replace(backends[name], **changes)
    return replace(config, backends=backends)


def feed(parser: StreamParser, pieces: list[bytes]) -> list[TextDelta]:
    """Every delta ``parser`` gives for ``pieces`` read in order, then closed."""
    out: list[TextDelta] = []
    for piece in pieces:
        out.extend(parser.feed(piece))
    out.extend(parser.close())
    return out


def facts(p: StreamParser) -> dict[str, object]:
    """Everything a parser knows at the end, for comparison."""
    return {
        "done": p.done, "error": p.error, "model": p.model, "finish": p.finish_reason,
        "prompt": p.prompt_tokens, "completion": p.completion_tokens,
        "rate": p.server_tokens_per_s, "load": p.server_load_ms, "extra": dict(p.extra),
        "malformed": p.malformed,
    }  # fmt: skip
