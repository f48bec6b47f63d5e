"""The router service shared by the TUI and the CLI.

CONTRACT (implemented by the router helper):

    class RouterService:
        def __init__(self, config: Config, *, client: httpx.AsyncClient | None = None,
                     store: OutcomeStore | None = None, poll: bool = True)
            # owns one shared httpx.AsyncClient unless given one; builds backends with
            # make_backend(); a HealthMonitor over the *enabled* backends.
        config: Config
        backends: dict[str, Backend]
        health: HealthMonitor
        async def start(self) -> None      # starts health polling (if poll) after a first probe
        async def aclose(self) -> None     # stops polling, closes the client if it owns it
        async def __aenter__ / __aexit__
        def submit(self, prompt: str, context: Sequence[tuple[str, str]] = (),
                   history: Sequence[Message] = (), force: str | None = None
                   ) -> AsyncIterator[Event]
            # force: None/"auto" -> route; a backend name; or "fast"/"strong" (a tier)
            # context: (label, text) pairs, e.g. files from --context
            # history: earlier turns as chat messages (chat-style sessions)
            # Events per hybrid_tui.events. Closing the iterator / cancelling closes the stream.
        # added: candidates() -> list[Candidate]; route(prompt, context, force) ->
        #        (Classification, Choice) without sending; limiters: {name: FifoLimiter};
        #        learner: Learner; store: Store | None; submit raises UsageError at once
        #        for a force that names no enabled backend or tier, or an empty prompt;
        #        first_token_notice: seconds before a "waiting for first token" notice.

One prompt: classify -> decide -> pick the model -> stream (through the backend's FIFO
concurrency limit, saying ``Waiting`` while queued, loading or slow) -> on a failure before
the first token, fall back to the next backend; after some tokens, fail over: the next
backend is sent the conversation plus the partial reply as an assistant prefix and continues
it -> score -> maybe escalate a weak fast-tier reply to the strong tier -> record outcomes.
Failed requests count towards a backend's cooldown (:mod:`hybrid_tui.health`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import aclosing

import httpx

from hybrid_tui.backends import Backend, Message, make_backend
from hybrid_tui.backends.transport import EMPTY_REPLY
from hybrid_tui.config import Config
from hybrid_tui.errors import (
    BackendError,
    BackendTimeout,
    BackendUnavailable,
    NoModelAvailable,
    UsageError,
)
from hybrid_tui.events import (
    Decision,
    Done,
    Error,
    Escalation,
    Event,
    Failover,
    Fallback,
    Token,
    Waiting,
)
from hybrid_tui.health import HealthMonitor
from hybrid_tui.router.attempt import (
    FIRST_TOKEN_NOTICE,
    NOTICE_SHARE,
    Chain,
    Reply,
    stream_attempt,
)
from hybrid_tui.router.classify import Classification, classify
from hybrid_tui.router.decide import Candidate, Choice, check_force, decide
from hybrid_tui.router.learn import Learner
from hybrid_tui.router.limiter import FifoLimiter
from hybrid_tui.router.messages import build_messages, continuation, nobody_answered
from hybrid_tui.router.score import score
from hybrid_tui.store import OutcomeStore, Store

log = logging.getLogger(__name__)

#: the shared client's defaults; backends set their own per-request deadlines on top
CLIENT_TIMEOUT = httpx.Timeout(connect=3.0, read=60.0, write=30.0, pool=None)
CLIENT_LIMITS = httpx.Limits(max_connections=None, max_keepalive_connections=20)


class RouterService:
    """Routes prompts to backends and streams back :mod:`hybrid_tui.events`."""

    def __init__(
        self,
        config: Config,
        *,
        client: httpx.AsyncClient | None = None,
        store: OutcomeStore | None = None,
        poll: bool = True,
    ) -> None:
        self.config = config
        self._owns_client = client is None
        self.client = client or httpx.AsyncClient(timeout=CLIENT_TIMEOUT, limits=CLIENT_LIMITS)
        self.backends: dict[str, Backend] = {
            name: make_backend(cfg, self.client) for name, cfg in config.backends.items()
        }
        enabled = {n: b for n, b in self.backends.items() if b.config.enabled}
        routing = config.routing
        self.health = HealthMonitor(
            enabled,
            interval=config.health.interval,
            timeout=config.health.timeout,
            cooldown_failures=routing.cooldown_failures,
            cooldown_seconds=routing.cooldown_seconds,
        )
        self.limiters = {
            n: FifoLimiter(max(1, b.config.max_concurrent)) for n, b in enabled.items()
        }
        self._owns_store = store is None and routing.learning_enabled
        self.store: Store | None = Store() if self._owns_store else store
        self.learner = Learner(
            self.store, enabled=routing.learning_enabled, threshold=routing.escalation_threshold
        )
        self.poll = poll
        #: at most this many seconds without a first token before a ``Waiting`` notice
        #: (sooner for a backend with a short ``timeout``; None: never)
        self.first_token_notice: float | None = FIRST_TOKEN_NOTICE
        self._model_lookups: dict[str, asyncio.Task[str]] = {}

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Probe every backend once, then keep polling (when ``poll``)."""
        if self.poll:
            await self.health.start()
        else:
            await self.health.refresh()

    async def aclose(self) -> None:
        """Stop polling; close the HTTP client and the store if this service made them."""
        await self.health.stop()
        lookups = list(self._model_lookups.values())
        self._model_lookups.clear()
        for task in lookups:
            task.cancel()
        await asyncio.gather(*lookups, return_exceptions=True)
        if self._owns_client:
            await self.client.aclose()
        if self._owns_store and self.store is not None:
            self.store.close()

    async def __aenter__(self) -> RouterService:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- routing -------------------------------------------------------------------------

    def candidates(self) -> list[Candidate]:
        """Every enabled backend as the decision sees it now."""
        out = []
        for name, state in self.health.states().items():
            cfg = self.backends[name].config
            out.append(
                Candidate(
                    name,
                    cfg.tier,
                    cfg.task_types,
                    state.status,
                    state.chosen_model,
                    cooling=state.cooling,
                    failures=state.request_failures,
                )
            )
        return out

    def route(
        self, prompt: str, context: Sequence[tuple[str, str]] = (), force: str | None = None
    ) -> tuple[Classification, Choice]:
        """The classification and decision for ``prompt``, without sending anything."""
        cls = classify(prompt, context)
        stats = self.learner.stats(cls.task_type, cls.complexity)
        choice = decide(
            cls,
            self.candidates(),
            force=_normal_force(force),
            default_provider=self.config.routing.default_provider,
            history=stats,
        )
        return cls, choice

    def submit(
        self,
        prompt: str,
        context: Sequence[tuple[str, str]] = (),
        history: Sequence[Message] = (),
        force: str | None = None,
    ) -> AsyncIterator[Event]:
        """Stream the events for one prompt (see :mod:`hybrid_tui.events`).

        Raises :class:`~hybrid_tui.errors.UsageError` at once when ``force`` names no
        enabled backend or tier, or when the prompt is empty (nothing is sent then).
        Closing the returned iterator closes the HTTP stream.
        """
        if not prompt.strip():
            raise UsageError("the prompt is empty; nothing was sent")
        force = _normal_force(force)
        check_force(force, self.candidates())
        return self._run(prompt, tuple(context), tuple(history), force)

    async def _run(
        self,
        prompt: str,
        context: tuple[tuple[str, str], ...],
        history: tuple[Message, ...],
        force: str | None,
    ) -> AsyncIterator[Event]:
        submitted = time.perf_counter()
        cls, choice = self.route(prompt, context, force)
        messages = build_messages(prompt, context, history)
        name = choice.backend
        model, problem = await self._model_for(name)
        yield Decision(
            backend=name,
            model=model or "",
            task_type=cls.task_type,
            complexity=cls.complexity,
            reason=choice.reason,
            forced=choice.forced,
            signals=choice.signals,
        )

        chain = Chain()  # the text of attempts that failed mid-reply: never lost
        failures: dict[str, BackendError] = {}
        while True:
            reply = Reply(name, model or "")
            sent = continuation(messages, chain.text) if chain.parts else messages
            try:
                if problem is not None:
                    raise problem
                async with aclosing(self._attempt(reply, sent, submitted)) as events:
                    async for ev in events:
                        yield ev
                self._succeeded(reply)
                break
            except BackendError as exc:
                failures[name] = exc
                self.health.mark_failed(name, exc.message, _failure_kind(exc))
                self._record(cls, reply, None, failed=True)
                chain.add(reply, exc)
                nxt = self._fallback(cls, failures)
                if nxt is None:
                    yield self._give_up(chain, failures)
                    return
                previous, name = name, nxt.backend
                model, problem = await self._model_for(name)
                if chain.parts:
                    yield Failover(
                        from_backend=previous,
                        to_backend=name,
                        model=model or "",
                        tokens_so_far=chain.tokens,
                        reason=f"{previous} failed after {chain.tokens} tokens ({exc.message});"
                        f" {name} continues the reply",
                        error_kind=exc.kind,
                    )
                else:
                    chain.fallback_from = chain.fallback_from or previous
                    yield Fallback(
                        from_backend=previous,
                        to_backend=name,
                        model=model or "",
                        reason=f"{previous} failed ({exc.message}); {nxt.reason}",
                    )

        done = self._done(cls, prompt, reply, escalated=False, chain=chain)
        strong = self._escalation_target(choice, reply, done)
        self._record(cls, reply, done.confidence, escalated=strong is not None)
        yield done
        if strong is None:
            return

        threshold = self.config.routing.escalation_threshold
        model, problem = await self._model_for(strong)
        yield Escalation(
            from_backend=reply.backend,
            to_backend=strong,
            model=model or "",
            confidence=done.confidence or 0.0,
            threshold=threshold,
            reason=f"{reply.backend}'s reply scored {done.confidence:.2f} < {threshold:.2f}; "
            f"asking the strong tier ({strong})",
        )
        second = Reply(strong, model or "")
        try:
            if problem is not None:
                raise problem
            async with aclosing(self._attempt(second, messages, time.perf_counter())) as events:
                async for ev in events:
                    yield ev
            self._succeeded(second)
        except BackendError as exc:
            self.health.mark_failed(strong, exc.message, _failure_kind(exc))
            self._record(cls, second, None, failed=True)
            yield Error(
                message=f"escalation to {strong} failed: {exc.message}",
                backend=strong,
                kind=exc.kind,
                partial=second.text or exc.partial,
            )
            return
        final = self._done(cls, prompt, second, escalated=True)
        self._record(cls, second, final.confidence)
        yield final

    # -- steps ---------------------------------------------------------------------------

    def _attempt(
        self, reply: Reply, messages: Sequence[Message], submitted: float
    ) -> AsyncIterator[Token | Waiting]:
        """One backend's attempt at ``reply`` (see :func:`stream_attempt`)."""
        name = reply.backend
        backend = self.backends[name]
        notice = self.first_token_notice
        if notice is not None:
            notice = min(notice, backend.config.timeout * NOTICE_SHARE)
        return stream_attempt(
            backend,
            self.limiters[name],
            reply,
            messages,
            options={"stall_timeout": self.config.routing.stall_timeout},
            cold=self.health.state(name).is_cold(reply.model),
            submitted=submitted,
            notice_after=notice,
        )

    def _succeeded(self, reply: Reply) -> None:
        """A reply came to its end: the backend is fine and its model is in memory."""
        self.health.mark_ok(reply.backend)
        self.health.note_loaded(reply.backend, reply.model)

    def _give_up(self, chain: Chain, failures: dict[str, BackendError]) -> Error:
        """The one Error when no backend is left: the partial reply, if any, is kept."""
        if not chain.parts or chain.stopped is None or chain.stopped_error is None:
            return Error(message=self._nobody_message(failures), kind="unavailable")
        stopped = chain.stopped
        later = [f"{n}: {e.message}" for n, e in failures.items() if n != stopped]
        tried = f" ({'; '.join(later)})" if later else ""
        return Error(
            message=f"{stopped} failed mid-reply: {chain.stopped_error.message}; no other "
            f"backend could continue it{tried}; the partial reply is kept",
            backend=stopped,
            kind="stream",
            partial=chain.text,
        )

    async def _model_for(self, name: str) -> tuple[str | None, BackendError | None]:
        """The model to ask ``name`` for, from the last probe or (once) its model list."""
        state = self.health.state(name)
        if state.chosen_model:
            return state.chosen_model, None
        task = self._model_lookups.get(name)
        if task is None or task.done():
            task = asyncio.create_task(self._lookup_model(name))
            self._model_lookups[name] = task
        try:
            return await asyncio.shield(task), None
        except BackendError as exc:
            return None, exc

    async def _lookup_model(self, name: str) -> str:
        backend = self.backends[name]
        timeout = self.config.health.timeout
        try:
            async with asyncio.timeout(timeout):
                models = await backend.models()
        except TimeoutError:
            raise BackendTimeout(
                f"the model list did not come within {timeout:g} s", backend=name
            ) from None
        except BackendError:
            raise
        except Exception as exc:
            raise BackendError(f"could not list models: {exc}", backend=name) from exc
        self.health.note_models(name, models)
        model = backend.pick_model(models)
        if model is None:
            raise NoModelAvailable("the server lists no chat model", backend=name)
        return model

    def _fallback(self, cls: Classification, failures: dict[str, BackendError]) -> Choice | None:
        """The best backend not yet tried and not down, or None."""
        left = [c for c in self.candidates() if c.name not in failures and c.available]
        if not left:
            return None
        stats = self.learner.stats(cls.task_type, cls.complexity)
        return decide(cls, left, history=stats)

    def _escalation_target(self, choice: Choice, reply: Reply, done: Done) -> str | None:
        """The strong backend to re-ask when a fast reply scored low and the user did not
        force anything; else None."""
        threshold = self.config.routing.escalation_threshold
        if choice.forced or done.confidence is None or done.confidence >= threshold:
            return None
        if self.backends[reply.backend].config.tier != "fast":
            return None
        for c in self.candidates():
            if c.tier == "strong" and c.available and c.name != reply.backend:
                return c.name
        return None

    def _done(
        self,
        cls: Classification,
        prompt: str,
        reply: Reply,
        *,
        escalated: bool,
        chain: Chain | None = None,
    ) -> Done:
        stats = reply.stats
        ttft = stats.ttft_ms if stats else None
        rate = stats.tokens_per_s if stats else None
        tokens = stats.tokens if stats else len(reply.parts)
        total_ms = stats.total_ms if stats else (time.perf_counter() - reply.started) * 1000
        warnings = stats.warnings if stats else ()
        text = reply.text
        if chain is not None and chain.parts:  # a failover: one reply from two backends
            text = chain.text + text
            ttft = chain.ttft_ms
            tokens += chain.tokens
            if chain.started is not None:
                total_ms = (time.perf_counter() - chain.started) * 1000
            # a continuation may rightly add nothing: that is no sign of a context overflow
            warnings = tuple(w for w in warnings if w != EMPTY_REPLY)
        confidence: float | None = None
        notes: tuple[str, ...] = ()
        if self.config.routing.confidence_scoring:
            confidence, notes = score(
                text, ttft_ms=ttft, tokens_per_s=rate, task_type=cls.task_type, prompt=prompt
            )
        return Done(
            backend=reply.backend,
            model=(stats.model if stats and stats.model else reply.model),
            ttft_ms=ttft,
            tokens=tokens,
            tokens_per_s=rate,
            confidence=confidence,
            escalated=escalated,
            total_ms=total_ms,
            text=text,
            task_type=cls.task_type,
            complexity=cls.complexity,
            finish_reason=stats.finish_reason if stats else None,
            confidence_notes=notes,
            warnings=warnings,
            failover_from=chain.stopped if chain is not None and chain.parts else None,
            fallback_from=chain.fallback_from if chain is not None else None,
        )

    def _record(
        self,
        cls: Classification,
        reply: Reply,
        confidence: float | None,
        *,
        escalated: bool = False,
        failed: bool = False,
    ) -> None:
        stats = reply.stats
        self.learner.record(
            task_type=cls.task_type,
            complexity=cls.complexity,
            backend=reply.backend,
            model=reply.model,
            confidence=confidence,
            escalated=escalated,
            failed=failed,
            ttft_ms=stats.ttft_ms if stats else None,
            tokens_per_s=stats.tokens_per_s if stats else None,
        )

    def _nobody_message(self, failures: dict[str, BackendError]) -> str:
        states = self.health.states()
        return nobody_answered(
            {n: (self.backends[n].config.kind, self.backends[n].config.endpoint) for n in states},
            failures,
            {n: (s.last_error, s.error_kind) for n, s in states.items()},
        )


def _failure_kind(exc: BackendError) -> str:
    """The health monitor's word for a failure: how a connect failed, else the error kind."""
    return exc.reason if isinstance(exc, BackendUnavailable) else exc.kind


def _normal_force(force: str | None) -> str | None:
    return None if force in (None, "", "auto") else force
