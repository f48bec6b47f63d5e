"""The polling health monitor: what every backend looks like right now, without ever
blocking a prompt.

Each backend has its own schedule: probed every ``interval`` seconds, all due backends at
once and concurrently, each probe bounded by ``timeout``. A failed request
(:meth:`HealthMonitor.mark_failed`) marks a backend down at once and brings its next probe
forward to ``RETRY_AFTER_FAILURE`` seconds, doubling while it keeps failing, never beyond
``interval``. A backend that is answering one of our requests, last seen up, skips its
periodic probe (the reply is proof enough, and some servers end a running reply to answer
any new request). Listeners hear about every change and every finished probe, on the monitor's
event loop.

Cooldown: after ``cooldown_failures`` failed *requests* in a row (probes do not count, and a
good probe does not clear them: a server can answer probes while its model keeps crashing) a
backend is skipped for ``cooldown_seconds`` and probed again when that ends. One successful
request clears the count and the cooldown. After a cooldown the count stays at the limit, so
one more failure starts the next cooldown at once (a half-open circuit breaker).

CONTRACT (kept; fields and methods may be added, never renamed or removed):

    BackendState: name, endpoint, kind, tier, status ("unknown" | "up" | "down" | "degraded"),
        latency_ms, version, models, loaded, chosen_model, last_checked, next_check,
        last_error, error_kind; added: detail, failures, available, loaded_known,
        request_failures, cooldown_until, cooling, cooldown_left, is_cold(model),
        chosen_loaded (True/False, None when the server does not say), queue (our requests
        in flight + waiting), predicted_tps (the router's running tok/s estimate)
    HealthMonitor(backends, *, interval, timeout): start(), stop(), refresh(names=None),
        states(), state(name), mark_failed(name, error, kind=None), mark_ok(name),
        add_listener(callback); added: remove_listener, note_models, note_loaded, running,
        keyword arguments cooldown_failures (default 3) and cooldown_seconds (default 30),
        note_queue(name, queue), note_speed(name, tokens_per_s)

The chosen model prefers one already in memory (``Backend.pick_model(prefer_loaded=True)``):
any configured model that is loaded beats a cold load of an earlier preference.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from hybrid_tui.backends.base import Backend, HealthReport, ModelInfo
from hybrid_tui.backends.transport import same_model
from hybrid_tui.units import fmt_ms

log = logging.getLogger(__name__)

#: seconds until a backend that just failed a request is probed again (at most ``interval``)
RETRY_AFTER_FAILURE = 5.0
#: a probe slower than this marks the backend degraded
SLOW_PROBE_MS = 2000.0

STATUSES = ("unknown", "up", "down", "degraded")


@dataclass(frozen=True, slots=True)
class BackendState:
    """One backend as last seen."""

    name: str
    endpoint: str
    kind: str
    tier: str
    #: "unknown" (not probed yet) | "up" | "down" | "degraded" (up, but see ``detail``)
    status: str = "unknown"
    latency_ms: float | None = None
    version: str | None = None
    models: tuple[ModelInfo, ...] = ()
    loaded: tuple[str, ...] = ()
    #: what the router would use (``Backend.pick_model``)
    chosen_model: str | None = None
    #: time.time() of the last completed probe
    last_checked: float | None = None
    #: time.time() when the next poll is due
    next_check: float | None = None
    last_error: str | None = None
    error_kind: str | None = None
    #: why the backend is degraded, in words
    detail: str | None = None
    #: failed requests and probes in a row (cleared by a success)
    failures: int = 0
    #: the server told which models are loaded, so ``loaded`` is the whole truth
    loaded_known: bool = False
    #: failed requests in a row (only a successful request clears it)
    request_failures: int = 0
    #: time.time() until which the backend is skipped, or None
    cooldown_until: float | None = None
    #: our own requests to it now: in flight plus waiting for a slot (the router's limiter)
    queue: int = 0
    #: the router's running estimate of its decode speed (tok/s), None before a reply
    predicted_tps: float | None = None

    @property
    def chosen_loaded(self) -> bool | None:
        """Whether ``chosen_model`` is in memory: None when unknown (no model chosen, or
        the server does not say what is loaded)."""
        if not self.chosen_model or not (self.loaded_known or self.loaded):
            return None
        return not self.is_cold(self.chosen_model)

    @property
    def cooling(self) -> bool:
        """Skipped for now after too many failed requests in a row."""
        return self.cooldown_until is not None and time.time() < self.cooldown_until

    @property
    def cooldown_left(self) -> float | None:
        """Seconds until the cooldown ends (for "cooling down 12 s"), None when not cooling."""
        if self.cooldown_until is None:
            return None
        left = self.cooldown_until - time.time()
        return left if left > 0 else None

    @property
    def available(self) -> bool:
        """Worth sending a prompt to: not down and not cooling down."""
        return self.status != "down" and not self.cooling

    def is_cold(self, model: str) -> bool:
        """True when ``model`` is known not to be in memory (its first token waits for a load)."""
        if not model or not (self.loaded_known or self.loaded):
            return False
        return not any(same_model(name, model) for name in self.loaded)


def state_from_report(
    backend: Backend, report: HealthReport, *, checked: float, next_check: float | None
) -> BackendState:
    """The state one probe shows, before ``failures`` is carried over."""
    cfg = backend.config
    base = BackendState(
        name=cfg.name,
        endpoint=cfg.endpoint,
        kind=cfg.kind,
        tier=cfg.tier,
        latency_ms=report.latency_ms,
        version=report.version,
        models=report.models,
        loaded=report.loaded,
        loaded_known=report.loaded_known,
        last_checked=checked,
        next_check=next_check,
    )
    if not report.ok:
        return replace(
            base,
            status="down",
            last_error=report.error or "health probe failed",
            error_kind=report.error_kind or "other",
        )
    chosen = backend.pick_model(report.models, prefer_loaded=True)
    problems = []
    if chosen is None:
        problems.append("no chat model listed")
    elif report.loaded and chosen not in report.loaded:
        problems.append(f"{chosen} is not loaded (the first reply will be slow)")
    if report.latency_ms is not None and report.latency_ms > SLOW_PROBE_MS:
        problems.append(f"slow to answer ({fmt_ms(report.latency_ms)})")
    return replace(
        base,
        status="degraded" if problems else "up",
        chosen_model=chosen,
        detail="; ".join(problems) or None,
    )


class HealthMonitor:
    """Polls every backend on its own schedule; never raises out of a probe."""

    def __init__(
        self,
        backends: dict[str, Backend],
        *,
        interval: float,
        timeout: float,
        cooldown_failures: int = 3,
        cooldown_seconds: float = 30.0,
    ) -> None:
        self.backends = dict(backends)
        self.interval = interval
        self.timeout = timeout
        self.cooldown_failures = max(1, cooldown_failures)
        self.cooldown_seconds = cooldown_seconds
        self._states = {
            name: BackendState(
                name=name, endpoint=b.config.endpoint, kind=b.config.kind, tier=b.config.tier
            )
            for name, b in self.backends.items()
        }
        self._due: dict[str, float] = {}  # loop time of each backend's next poll
        self._inflight: dict[str, asyncio.Task[BackendState]] = {}
        self._listeners: list[Callable[[BackendState], None]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    # -- reading -------------------------------------------------------------------------

    def states(self) -> dict[str, BackendState]:
        """Every backend's state, in config order."""
        return dict(self._states)

    def state(self, name: str) -> BackendState:
        return self._states[name]

    def add_listener(self, callback: Callable[[BackendState], None]) -> None:
        """Call ``callback(state)`` whenever a state changes or a probe completes."""
        self._listeners.append(callback)

    def remove_listener(self, callback: Callable[[BackendState], None]) -> None:
        with contextlib.suppress(ValueError):
            self._listeners.remove(callback)

    # -- polling -------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        """Probe every backend now (concurrently), then keep polling in the background."""
        if self.running:
            return
        await self.refresh()
        self._task = asyncio.create_task(self._poll(), name="hybrid-tui health")

    async def stop(self) -> None:
        """Stop polling and cancel probes in flight."""
        task, self._task = self._task, None
        tasks = [t for t in (task, *self._inflight.values()) if t is not None]
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        self._inflight.clear()

    async def refresh(self, names: Iterable[str] | None = None) -> dict[str, BackendState]:
        """Probe ``names`` (default: all) now, concurrently; returns every state.

        A probe already in flight for a backend is joined rather than repeated.
        """
        wanted = list(self.backends) if names is None else [n for n in names if n in self.backends]
        tasks = [self._probe_task(name) for name in wanted]
        if tasks:
            await asyncio.gather(*(asyncio.shield(t) for t in tasks), return_exceptions=True)
        return self.states()

    def mark_failed(self, name: str, error: str, kind: str | None = None) -> None:
        """A request to ``name`` failed: down now, probed again soon; after
        ``cooldown_failures`` in a row, skipped for ``cooldown_seconds`` first."""
        old = self._states.get(name)
        if old is None:
            return
        strikes = old.request_failures + 1
        now = time.time()
        cooldown_until = old.cooldown_until
        if strikes >= self.cooldown_failures:
            cooldown_until = now + self.cooldown_seconds
            soon = self.cooldown_seconds
        else:
            soon = self._retry_delay(old.failures + 1)
        self._set(
            replace(
                old,
                status="down",
                last_error=error,
                error_kind=kind or "error",
                failures=old.failures + 1,
                request_failures=strikes,
                cooldown_until=cooldown_until,
                next_check=now + soon,
            )
        )
        self._schedule(name, soon, force=cooldown_until is not None)

    def mark_ok(self, name: str) -> None:
        """A request to ``name`` succeeded: clear a down state, the failure count and any
        cooldown without waiting for a probe."""
        old = self._states.get(name)
        if old is None:
            return
        if (
            old.status in ("down", "unknown")
            or old.failures
            or old.request_failures
            or old.cooldown_until is not None
        ):
            status = "up" if old.status in ("down", "unknown") else old.status
            self._set(
                replace(
                    old,
                    status=status,
                    last_error=None,
                    error_kind=None,
                    failures=0,
                    request_failures=0,
                    cooldown_until=None,
                )
            )

    def note_loaded(self, name: str, model: str) -> None:
        """``model`` just answered on ``name``, so it is in memory now (LM Studio loads just
        in time; without this the next prompt would be announced as a cold load). Its
        ``context_length`` is forgotten until the next probe: before the load it was the
        trained maximum (LM Studio), not the window the model was loaded with."""
        old = self._states.get(name)
        if old is None or not model or model in old.loaded:
            return
        models = tuple(
            replace(m, loaded=True, context_length=None) if m.name == model else m
            for m in old.models
        )
        self._set(replace(old, loaded=(*old.loaded, model), models=models))

    def note_queue(self, name: str, queue: int) -> None:
        """The router's own queue for ``name`` changed (requests in flight + waiting)."""
        old = self._states.get(name)
        if old is not None and old.queue != queue:
            self._set(replace(old, queue=queue))

    def note_speed(self, name: str, tokens_per_s: float | None) -> None:
        """The router's running estimate of ``name``'s decode speed changed."""
        old = self._states.get(name)
        if old is not None and tokens_per_s is not None and old.predicted_tps != tokens_per_s:
            self._set(replace(old, predicted_tps=tokens_per_s))

    def note_models(self, name: str, models: Iterable[ModelInfo]) -> None:
        """Record a model list fetched outside a probe (the router asks when it has none)."""
        old = self._states.get(name)
        if old is None:
            return
        models = tuple(models)
        chosen = self.backends[name].pick_model(models, prefer_loaded=True)
        loaded = tuple(m.name for m in models if m.loaded)
        self._set(replace(old, models=models, loaded=loaded, chosen_model=chosen))

    # -- internals -----------------------------------------------------------------------

    def _probe_task(self, name: str) -> asyncio.Task[BackendState]:
        task = self._inflight.get(name)
        if task is None or task.done():
            task = asyncio.create_task(self._probe(name), name=f"hybrid-tui probe {name}")
            self._inflight[name] = task
        return task

    async def _probe(self, name: str) -> BackendState:
        backend = self.backends[name]
        try:
            try:
                # the backend bounds its own probe; this is a backstop for one that does not
                async with asyncio.timeout(self.timeout + 1.0):
                    report = await backend.health(timeout=self.timeout)
            except TimeoutError:
                report = HealthReport(
                    ok=False, error=f"no answer within {self.timeout:g} s", error_kind="timeout"
                )
            except Exception as exc:  # a broken backend must not stop the monitor
                log.exception("health probe of %s raised", name)
                report = HealthReport(ok=False, error=str(exc) or type(exc).__name__)
            now = time.time()
            old = self._states[name]
            failures = 0 if report.ok else old.failures + 1
            wait = self.interval if report.ok else self._retry_delay(failures)
            cooldown_until = old.cooldown_until
            if cooldown_until is not None and cooldown_until <= now:
                cooldown_until = None  # served: the backend is tried again
            if cooldown_until is not None:
                wait = min(wait, cooldown_until - now)  # re-probe when the cooldown ends
            new = state_from_report(backend, report, checked=now, next_check=now + wait)
            new = replace(
                new,
                failures=failures,
                request_failures=old.request_failures,
                cooldown_until=cooldown_until,
                queue=old.queue,
                predicted_tps=old.predicted_tps,
            )
            self._schedule(name, wait, force=cooldown_until is not None)
            self._set(new, force=True)
            return new
        finally:
            if self._inflight.get(name) is asyncio.current_task():
                del self._inflight[name]

    def _retry_delay(self, failures: int) -> float:
        """Seconds until a failing backend is probed again: 5, 10, 20 ... up to ``interval``."""
        return min(self.interval, RETRY_AFTER_FAILURE * 2 ** min(max(failures - 1, 0), 6))

    def _schedule(self, name: str, delay: float, *, force: bool = False) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        due = loop.time() + delay
        if force or name not in self._due or due < self._due[name] or delay >= self.interval:
            self._due[name] = due
        self._wake.set()

    async def _poll(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            now = loop.time()
            due = [n for n in self.backends if self._due.get(n, now) <= now]
            if due:
                for name in due:
                    # the probe reschedules itself; this keeps one probe per backend per turn
                    self._due[name] = now + self.interval
                    if self._serving(name):
                        self._postpone(name)
                    else:
                        self._probe_task(name)
                continue
            next_due = min(self._due.values(), default=now + self.interval)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(0.0, next_due - now)):
                    await self._wake.wait()

    def _serving(self, name: str) -> bool:
        """Whether ``name`` is answering our requests right now, as last seen up: the reply
        shows it is, and a probe could hurt it (llama-cpp-python's server, by default, ends
        the running reply to answer any new request). A failing request marks it down,
        which brings the probe back."""
        state = self._states[name]
        return state.queue > 0 and state.status in ("up", "degraded")

    def _postpone(self, name: str) -> None:
        """Skip this turn's periodic probe of a serving backend; show when the next is due."""
        old = self._states[name]
        self._set(replace(old, next_check=time.time() + self.interval))

    def _set(self, state: BackendState, *, force: bool = False) -> None:
        old = self._states.get(state.name)
        self._states[state.name] = state
        if force or old != state:
            for callback in list(self._listeners):
                try:
                    callback(state)
                except Exception:
                    log.exception("health listener failed")
