"""Instruments for Textual apps run headless: frames, event-loop stalls, paint detection.

- :class:`Metered` (a mixin placed before the app class) counts every frame the app hands
  to its driver (``App._display`` with an update) and, because the headless driver would
  skip it, pays for turning the update into terminal bytes as a real terminal would, so a
  frame costs what it costs on screen. It records when given marker text first reaches the
  screen (first paint).
- :class:`LoopWatch` waits for a condition in 1 ms steps and records every gap between its
  wake-ups: a gap is time the event loop could not run anything, so no frame could be drawn
  and no key handled. The longest gap is the longest frame a user could see.
- :class:`GCWatch` times the interpreter's garbage collections, one cause of such gaps.

Timing ``App._display`` overrides a private method; this lives in the benchmarks only, never
in the app, and is the narrowest hook Textual 8.2 offers for "a frame went out".
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any

from textual.app import App, ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Markdown

from hybrid_tui.ui.app import HybridApp

SIZE = (160, 50)
FRAME_MS = 1000 / 60


@dataclass
class FrameLog:
    """Frames drawn: when each went out and what turning it into bytes cost."""

    times: list[float] = field(default_factory=list)
    render_ms: list[float] = field(default_factory=list)
    #: marker text -> perf_counter when a frame first contained it
    seen: dict[str, float] = field(default_factory=dict)
    watch: list[str] = field(default_factory=list)

    def between(self, start: float, end: float) -> list[int]:
        """Indexes of the frames drawn in ``[start, end]``."""
        return [i for i, t in enumerate(self.times) if start <= t <= end]

    def first_after(self, t: float) -> float | None:
        return next((x for x in self.times if x >= t), None)


class Metered:
    """Mixin for an :class:`App` subclass: fills :attr:`frames` (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.frames = FrameLog()

    def _display(self, screen: Any, renderable: Any) -> None:
        super()._display(screen, renderable)  # type: ignore[misc]
        if renderable is None:
            return
        log = self.frames
        start = time.perf_counter()
        text = ""
        render = getattr(renderable, "render_segments", None)
        if render is not None and self.is_headless:  # type: ignore[attr-defined]
            text = render(self.console)  # type: ignore[attr-defined]
        end = time.perf_counter()
        log.times.append(end)
        log.render_ms.append((end - start) * 1000)
        for marker in log.watch:
            if marker not in log.seen and marker in text:
                log.seen[marker] = end


def _css_paths(app_class: type[App[Any]]) -> Any:
    """``app_class.CSS_PATH`` made absolute: Textual resolves a relative one against the
    module of the class that uses it, and the metered subclass lives here."""
    import inspect

    base = Path(inspect.getfile(app_class)).parent
    paths = app_class.CSS_PATH
    if paths is None:
        return None
    if isinstance(paths, (str, PurePath)):
        return str(base / paths)
    return [str(base / p) for p in paths]


class MeteredHybridApp(Metered, HybridApp):
    """The real app, metered; like ``hybrid-tui`` it freezes its start-up objects out of
    later garbage collections (each benchmark app runs in a process of its own)."""

    CSS_PATH = _css_paths(HybridApp)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("freeze_startup", True)
        super().__init__(*args, **kwargs)


class BareMarkdownApp(Metered, App[None]):
    """The reference: one Markdown widget in a scroll view, fed per token through
    ``MarkdownStream.write`` the way chat apps commonly do (oterm)."""

    CSS = "VerticalScroll { height: 1fr; }"

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Markdown()


class LoopWatch:
    """Waits for conditions in 1 ms steps and records the gaps between wake-ups (ms)."""

    STEP = 0.001

    def __init__(self) -> None:
        self.gaps_ms: list[float] = []

    async def until(
        self, predicate: Callable[[], bool], *, timeout: float = 120.0, what: str = ""
    ) -> float:
        """Sleep until ``predicate()`` holds; the perf_counter when it was seen to hold."""
        deadline = time.perf_counter() + timeout
        last = time.perf_counter()
        while True:
            now = time.perf_counter()
            if predicate():
                return now
            if now > deadline:
                raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}")
            await asyncio.sleep(self.STEP)
            now = time.perf_counter()
            self.gaps_ms.append((now - last) * 1000)
            last = now

    def reset(self) -> None:
        self.gaps_ms.clear()

    @property
    def longest_ms(self) -> float:
        return max(self.gaps_ms, default=0.0)


class GCWatch:
    """Records how long each cyclic garbage collection takes (``gc.callbacks``) while in
    use: a full (generation 2) collection stops the event loop like any long callback."""

    def __init__(self) -> None:
        self.pauses_ms: list[tuple[int, float]] = []
        self._start = 0.0

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.pauses_ms.append((info["generation"], (time.perf_counter() - self._start) * 1000))

    def __enter__(self) -> GCWatch:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._callback)

    @property
    def longest_ms(self) -> float:
        return max((ms for _, ms in self.pauses_ms), default=0.0)

    @property
    def full_collections(self) -> int:
        return sum(1 for generation, _ in self.pauses_ms if generation == 2)


# -- reading the app's state (tolerant: the UI is still changing) ---------------------------
# These run every millisecond while a benchmark waits, so they must not query the DOM (a
# query walks every widget, and a long reply has thousands): they read the turn that
# ``app.send`` returned.


def reply_of(turn: Any) -> Any | None:
    """The newest reply widget of ``turn`` (None before the first one is mounted)."""
    return getattr(turn, "current", None)


def turn_finished(app: Any, turn: Any) -> bool:
    """``turn``'s newest reply is finished (its final text is in its Markdown widget) and
    the app has nothing left to run."""
    reply = reply_of(turn)
    return reply is not None and reply.status in ("done", "failed", "cancelled") and app.idle


def backend_up(app: Any, name: str) -> bool:
    """The health card of ``name`` says it is up (``until`` reports the last status seen)."""
    status = app.sidebar.status_of(name)
    _LAST_STATUS[name] = status
    return status in ("up", "degraded")


_LAST_STATUS: dict[str, str] = {}


async def wait_up(app: Any, watch: LoopWatch, name: str, timeout: float = 20.0) -> None:
    """Wait until ``name`` is up in the app's sidebar; say what it showed if it never is."""
    try:
        await watch.until(lambda: backend_up(app, name), timeout=timeout)
    except TimeoutError:
        state = app.service.health.state(name) if app.service is not None else None
        raise TimeoutError(
            f"{name} not up after {timeout:g} s: the card shows {_LAST_STATUS.get(name)!r}, "
            f"the monitor {getattr(state, 'status', None)!r} "
            f"({getattr(state, 'last_error', None)})"
        ) from None
