"""Shared pieces for the UI tests: waiting on the app, a frozen clock, fixed timing figures,
and simulators reachable at stable addresses for snapshots."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

import httpx
from textual.app import App, ComposeResult
from textual.containers import VerticalScroll

from hybrid_tui.config import Config, HealthConfig, RoutingConfig, UIConfig, default_backends
from hybrid_tui.events import Decision, Failover, Token
from hybrid_tui.session import Session, apply
from hybrid_tui.ui.widgets.turn import ReplyView

#: 09:30:00 local time on a fixed day, whatever the machine's time zone
FROZEN = datetime(2026, 3, 14, 9, 30, 0).timestamp()
SIZE = (160, 50)

#: what every timing figure shows in snapshots (measured values vary run to run)
FIXED_FIGURES = {"ttft_ms": 120.0, "total_ms": 1520.0, "tokens_per_s": 85.3, "latency_ms": 12.0,
                 "cooldown_s": 12.0, "thinking_ttft_ms": 40.0, "server_tokens_per_s": 88.1,
                 "server_prompt_ms": 35.0, "server_load_ms": 5100.0,
                 "thinking_ms": 2400.0}


def frozen_clock() -> float:
    return FROZEN


def fixed_figures(kind: str, value: float | None) -> float | None:
    return None if value is None else FIXED_FIGURES.get(kind, value)


async def wait_for(
    pilot: Any, predicate: Callable[[], bool], *, timeout: float = 15.0, what: str = ""
) -> None:
    """Pause the pilot until ``predicate()`` holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        await pilot.pause(0.02)


async def settle(pilot: Any) -> None:
    """Let pending flushes, mounts and refreshes land."""
    await pilot.pause(0.1)
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()


def card_status(app: Any, name: str) -> str:
    return app.sidebar.status_of(name)


def config_for(
    lmstudio: str,
    ollama: str,
    *,
    enabled: tuple[str, ...] = ("lmstudio", "ollama"),
    routing: RoutingConfig | None = None,
    **ui: Any,
) -> Config:
    """Both default backends pointed at ``lmstudio``/``ollama`` URLs (short timeouts);
    only those named in ``enabled`` are enabled."""
    backends = default_backends()
    for name, url in (("lmstudio", lmstudio), ("ollama", ollama)):
        backends[name] = replace(
            backends[name], endpoint=url, timeout=5.0, enabled=name in enabled
        )
    return Config(
        routing=routing or RoutingConfig(),
        backends=backends,
        health=HealthConfig(interval=30.0, timeout=2.0),
        ui=UIConfig(**ui),
    )


class RedirectTransport(httpx.AsyncBaseTransport):
    """Sends requests for ``localhost:<default port>`` to a simulator's ephemeral port.

    Snapshots then show the real default endpoints (``http://localhost:1234``) while the
    bytes still travel over loopback to the simulators, like a hosts-file entry would."""

    def __init__(self, ports: dict[int, int]) -> None:
        self.ports = ports
        self.inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        port = self.ports.get(request.url.port or 80)
        if port is not None:
            request.url = request.url.copy_with(host="127.0.0.1", port=port)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def redirecting_factory(ports: dict[int, int]) -> Callable[[Config, Any], Any]:
    """A ``service_factory`` whose RouterService talks through :class:`RedirectTransport`."""

    def factory(config: Config, store: Any) -> Any:
        from hybrid_tui.router.service import RouterService

        client = httpx.AsyncClient(transport=RedirectTransport(ports), timeout=10.0)
        service = RouterService(config, client=client, store=store)
        original_close = service.aclose

        async def aclose() -> None:  # the service does not own a client it was given
            await original_close()
            await client.aclose()

        service.aclose = aclose  # type: ignore[method-assign]
        return service

    return factory


async def drain(seconds: float = 0.05) -> None:
    await asyncio.sleep(seconds)


class OneReplyApp(App):
    """A bare app holding one ReplyView of a one-turn session; :meth:`feed` folds an event
    into the model and tells the view, as the runner does."""

    def __init__(self, backend: str = "lmstudio", model: str = "model") -> None:
        super().__init__()
        self.session = Session()
        self.session.start(self.session.new_turn("prompt"))
        apply(self.session, Decision(backend, model, "edit", "simple", "test"))
        assert self.session.active is not None and self.session.active.current is not None
        self.model = self.session.active.current

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield ReplyView(self.model)

    @property
    def reply(self) -> ReplyView:
        return self.query_one(ReplyView)

    def feed(self, event: Any) -> None:
        change = apply(self.session, event)
        view = self.reply
        if isinstance(event, Token):
            view.append(event.text)
        elif isinstance(event, Failover):
            view.mark(self.model.marks[-1][1])
        elif change.kind == "finished":
            view.finished()
        elif change.kind == "ended":
            view.ended()

    def stream(self, text: str) -> None:
        self.feed(Token(text, self.model.backend))
