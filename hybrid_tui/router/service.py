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
        # added: rate(positive, reply_id=None) -> str: the user's verdict on a
        #        reply (None: the last one any process recorded); UsageError when there is
        #        nothing to rate. rng (keyword, and attribute): random.Random for Thompson
        #        draws. speeds: SpeedModel. Decision.id, Done.reply_id.
        # added: the history is fitted to each model's context window (oldest turns out):
        #        Decision/Done.history_dropped, Decision.signals.context.
        # added: submit(..., settings=ChatSettings) is a chat's override of each backend's
        #        generation settings (settings_for(name, override) gives the merge);
        #        Decision/Done.settings; Thinking events; Done's thinking and server figures.

One prompt: classify -> choose (:mod:`hybrid_tui.router.policy`: the fixed rules, the bandit,
predicted times, loaded models) -> pick the model -> leave out the oldest earlier turns that
do not fit its context window (:mod:`hybrid_tui.router.context_window`, again for every
other backend tried) -> stream (through the backend's FIFO concurrency limit, saying
``Waiting`` while queued, loading or slow; reasoning as ``Thinking``, apart from the
answer) -> on a failure before the first token, fall
back to the next backend; after some tokens, fail over: the next backend is sent the
conversation plus the partial reply as an assistant prefix and continues it -> score it and
check its code -> maybe escalate a weak fast-tier reply to the strong tier -> record outcomes
(a reply closed half-way counts as cancelled). Failed requests count towards a backend's
cooldown (:mod:`hybrid_tui.health`).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field, replace

import httpx

from hybrid_tui.backends import Backend, Message, make_backend
from hybrid_tui.backends.transport import make_client
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
    Thinking,
    Token,
    Waiting,
)
from hybrid_tui.generation import ChatSettings
from hybrid_tui.health import HealthMonitor
from hybrid_tui.router.attempt import (
    FIRST_TOKEN_NOTICE,
    NOTICE_SHARE,
    Chain,
    Reply,
    stream_attempt,
)
from hybrid_tui.router.classify import COMPLEXITIES, TASK_TYPES, Classification, classify
from hybrid_tui.router.context_window import Fit, fit_for
from hybrid_tui.router.decide import Candidate, Choice, check_force
from hybrid_tui.router.learn import Learner
from hybrid_tui.router.limiter import FifoLimiter
from hybrid_tui.router.messages import (
    SYSTEM_PROMPT,
    build_messages,
    continuation,
    nobody_answered,
)
from hybrid_tui.router.outcomes import CANCELLED, FAILED, Verdict, finish, outcome_of
from hybrid_tui.router.policy import Settings, choose, predictions
from hybrid_tui.router.predict import SpeedModel
from hybrid_tui.store import OutcomeStore, Store

log = logging.getLogger(__name__)

#: the shared client's defaults; backends set their own per-request deadlines on top
CLIENT_TIMEOUT = httpx.Timeout(connect=3.0, read=60.0, write=30.0, pool=None)
CLIENT_LIMITS = httpx.Limits(max_connections=None, max_keepalive_connections=20)



@dataclass(frozen=True, slots=True)
class _Ask:
    """What one submitted prompt asks, before any backend is chosen."""

    prompt: str
    context: tuple[tuple[str, str], ...]
    history: tuple[Message, ...]
    #: the chat's override of every backend's generation settings
    override: ChatSettings | None
    #: the caller's task type and complexity, replacing the classifier's (None: its own)
    classified: tuple[str | None, str | None] = (None, None)


@dataclass(slots=True)
class _Turn:
    """One submitted prompt's routing facts, and the reply streaming now (so a reply that is
    closed half-way can still be recorded as cancelled)."""

    cls: Classification
    decision_id: str
    forced: bool
    ask: _Ask
    current: Reply | None = None
    cold: bool = False
    open: set[int] = field(default_factory=set)


class RouterService:
    """Routes prompts to backends and streams back :mod:`hybrid_tui.events`."""

    def __init__(
        self,
        config: Config,
        *,
        client: httpx.AsyncClient | None = None,
        store: OutcomeStore | None = None,
        poll: bool = True,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config
        self._owns_client = client is None
        self.client = client or make_client(
            (b.endpoint for b in config.backends.values()),
            timeout=CLIENT_TIMEOUT,
            limits=CLIENT_LIMITS,
        )
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
        for name, limiter in self.limiters.items():
            limiter.on_change = self._queue_listener(name, limiter)
        self._owns_store = store is None and routing.learning_enabled
        self.store: Store | None = Store() if self._owns_store else store
        self.learner = Learner(
            self.store, enabled=routing.learning_enabled, threshold=routing.escalation_threshold
        )
        #: the running speed estimates behind predicted completion times
        self.speeds: SpeedModel = self.learner.speeds
        #: the source of Thompson draws (tests pass a seeded one)
        self.rng = rng or random.Random()
        self.settings = Settings(
            default_provider=routing.default_provider,
            max_slowdown=routing.max_slowdown,
            slowdown_cost=routing.slowdown_cost,
        )
        self.poll = poll
        #: at most this many seconds without a first token before a ``Waiting`` notice
        #: (sooner for a backend with a short ``timeout``; None: never)
        self.first_token_notice: float | None = FIRST_TOKEN_NOTICE
        self._model_lookups: dict[str, asyncio.Task[str]] = {}

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Read what earlier sessions learned, probe every backend once, then keep polling
        (when ``poll``)."""
        self.learner.load()
        self._publish_speeds()
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
            limiter = self.limiters[name]
            out.append(
                Candidate(
                    name,
                    cfg.tier,
                    cfg.task_types,
                    state.status,
                    state.chosen_model,
                    cooling=state.cooling,
                    failures=state.request_failures,
                    loaded=state.chosen_loaded,
                    queue=limiter.active + limiter.waiting,
                    slots=limiter.limit,
                    busy_s=limiter.busy_for(),
                    queued_tasks=limiter.task_types(),
                )
            )
        return out

    def route(
        self, prompt: str, context: Sequence[tuple[str, str]] = (), force: str | None = None,
        *, task_type: str | None = None, complexity: str | None = None,
    ) -> tuple[Classification, Choice]:
        """The classification and decision for ``prompt``, without sending anything.
        ``task_type``/``complexity`` replace the classifier's verdict (``ask --task-type``)."""
        cls = classify(prompt, context)
        if task_type or complexity:
            cls = replace(cls, task_type=task_type or cls.task_type,
                          complexity=complexity or cls.complexity)
        return cls, self._choose(cls, self.candidates(), force=_normal_force(force))

    def _choose(
        self,
        cls: Classification,
        candidates: Sequence[Candidate],
        *,
        force: str | None = None,
        explore: bool = True,
    ) -> Choice:
        learning = self.learner.enabled
        if learning:
            self.learner.load()
        return choose(
            cls,
            candidates,
            force=force,
            settings=self.settings,
            bandit=self.learner.bandit if learning else None,
            speeds=self.speeds,
            rng=self.rng if explore else None,
        )

    def rate(self, positive: bool, reply_id: int | None = None) -> str:
        """Record the user's verdict (``+``: True) on a reply: ``reply_id`` is a
        ``Done.reply_id``; None rates the last reply recorded by any process. Returns a
        one-line confirmation; raises :class:`UsageError` when there is nothing to rate."""
        return self.learner.rate(positive, reply_id)

    def submit(
        self,
        prompt: str,
        context: Sequence[tuple[str, str]] = (),
        history: Sequence[Message] = (),
        force: str | None = None,
        *,
        task_type: str | None = None,
        complexity: str | None = None,
        settings: ChatSettings | None = None,
    ) -> AsyncIterator[Event]:
        """Stream the events for one prompt (see :mod:`hybrid_tui.events`).

        ``task_type``/``complexity`` override the classifier (the decision says so).
        ``settings`` is the chat's override: each value it sets replaces that of every
        backend's config (see :meth:`settings_for`). Raises
        :class:`~hybrid_tui.errors.UsageError` at once when ``force`` names no enabled
        backend or tier, when an override is not a known task type or complexity, or when
        the prompt is empty (nothing is sent then). Closing the returned iterator closes
        the HTTP stream.
        """
        if not prompt.strip():
            raise UsageError("the prompt is empty; nothing was sent")
        if task_type is not None and task_type not in TASK_TYPES:
            raise UsageError(f"unknown task type {task_type!r} (one of {', '.join(TASK_TYPES)})")
        if complexity is not None and complexity not in COMPLEXITIES:
            raise UsageError(f"unknown complexity {complexity!r} (one of "
                             f"{', '.join(COMPLEXITIES)})")
        force = _normal_force(force)
        check_force(force, self.candidates())
        ask = _Ask(prompt, tuple(context), tuple(history), settings, (task_type, complexity))
        return self._run(ask, force)

    def settings_for(self, name: str, override: ChatSettings | None = None) -> ChatSettings:
        """What is asked of backend ``name``: its config's settings, ``override`` on top."""
        return self.backends[name].config.settings.over(override)

    def _request(
        self, ask: _Ask, name: str, model: str | None, partial: str = ""
    ) -> tuple[ChatSettings, Fit]:
        """The settings for ``name`` and the messages it is sent (its system prompt, the
        history fitted to its model's window, ``partial`` as the reply to continue)."""
        settings = self.settings_for(name, ask.override)
        system = SYSTEM_PROMPT if settings.system_prompt is None else settings.system_prompt
        messages = build_messages(ask.prompt, ask.context, ask.history, system=system or None)
        if partial:
            messages = continuation(messages, partial)
        options = settings.options
        fit = fit_for(self.health.state(name), model, messages,
                      num_ctx=options.num_ctx, max_tokens=options.max_tokens)
        return settings, fit

    async def _run(self, ask: _Ask, force: str | None) -> AsyncIterator[Event]:
        submitted = time.perf_counter()
        task_type, complexity = ask.classified
        cls, choice = self.route(ask.prompt, ask.context, force, task_type=task_type,
                                 complexity=complexity)
        name = choice.backend
        model, problem = await self._model_for(name)
        settings, fit = self._request(ask, name, model)
        decision = Decision(
            backend=name,
            model=model or "",
            task_type=cls.task_type,
            complexity=cls.complexity,
            reason=_override_note(ask.classified) + choice.reason,
            forced=choice.forced,
            signals=replace(choice.signals, context=fit.signal(),
                            override_task_type=task_type or "",
                            override_complexity=complexity or ""),
            history_dropped=fit.dropped,
            settings=settings,
        )
        turn = _Turn(cls, decision.id, choice.forced, ask)
        yield decision
        answer = self._answer(turn, choice, name, model, problem, submitted)
        try:
            async with aclosing(answer) as events:  # closing it closes the HTTP stream now
                async for ev in events:
                    yield ev
        except (GeneratorExit, asyncio.CancelledError):
            self._cancelled(turn)
            raise

    async def _answer(
        self,
        turn: _Turn,
        choice: Choice,
        name: str,
        model: str | None,
        problem: BackendError | None,
        submitted: float,
    ) -> AsyncIterator[Event]:
        cls, prompt = turn.cls, turn.ask.prompt
        chain = Chain()  # the text of attempts that failed mid-reply: never lost
        failures: dict[str, BackendError] = {}
        while True:
            reply = Reply(name, model or "")
            # built again for each backend: its system prompt and options, and its model's
            # context window for the trim
            settings, fit = self._request(turn.ask, name, model, chain.text)
            try:
                if problem is not None:
                    raise problem
                stream = self._stream(turn, reply, fit.messages, submitted, settings)
                async with aclosing(stream) as events:
                    async for ev in events:
                        yield ev
                break
            except BackendError as exc:
                failures[name] = exc
                self._failed(turn, reply, exc)
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

        finished = finish(cls, prompt, reply, escalated=False, chain=chain,
                          scoring=self.config.routing.confidence_scoring, cold=turn.cold)
        done = finished.done
        strong = self._escalation_target(cls, choice, reply, done)
        row = self._record(turn, reply, Verdict(done.confidence, escalated=strong is not None,
                                                code_check=finished.code_check))
        yield replace(done, reply_id=row, history_dropped=fit.dropped, settings=settings)
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
        settings, fit = self._request(turn.ask, strong, model)
        try:
            if problem is not None:
                raise problem
            stream = self._stream(turn, second, fit.messages, time.perf_counter(), settings)
            async with aclosing(stream) as events:
                async for ev in events:
                    yield ev
        except BackendError as exc:
            self._failed(turn, second, exc)
            yield Error(
                message=f"escalation to {strong} failed: {exc.message}",
                backend=strong,
                kind=exc.kind,
                partial=second.text or exc.partial,
            )
            return
        final = finish(cls, prompt, second, escalated=True,
                       scoring=self.config.routing.confidence_scoring, cold=turn.cold)
        row = self._record(turn, second, Verdict(final.done.confidence,
                                                 code_check=final.code_check))
        yield replace(final.done, reply_id=row, history_dropped=fit.dropped, settings=settings)

    # -- steps ---------------------------------------------------------------------------

    async def _stream(
        self,
        turn: _Turn,
        reply: Reply,
        messages: Sequence[Message],
        submitted: float,
        settings: ChatSettings,
    ) -> AsyncIterator[Token | Thinking | Waiting]:
        """One attempt at ``reply`` on its backend (:meth:`_attempt`); the backend is marked
        fine when the reply ends. Raises :class:`BackendError` (the caller falls back, fails
        over or gives up): the first reply and the escalated one take this same path."""
        async with aclosing(self._attempt(turn, reply, messages, submitted, settings)) as events:
            async for ev in events:
                yield ev
        self._succeeded(reply)

    def _failed(self, turn: _Turn, reply: Reply, exc: BackendError) -> None:
        """``reply``'s request failed: the backend counts it, the learner records it."""
        self.health.mark_failed(reply.backend, exc.message, _failure_kind(exc))
        self._record(turn, reply, FAILED)

    def _attempt(
        self,
        turn: _Turn,
        reply: Reply,
        messages: Sequence[Message],
        submitted: float,
        settings: ChatSettings,
    ) -> AsyncIterator[Token | Thinking | Waiting]:
        """One backend's attempt at ``reply`` (see :func:`stream_attempt`)."""
        name = reply.backend
        backend = self.backends[name]
        notice = self.first_token_notice
        if notice is not None:
            notice = min(notice, backend.config.timeout * NOTICE_SHARE)
        turn.current = reply
        turn.cold = self.health.state(name).is_cold(reply.model)
        turn.open.add(id(reply))
        return stream_attempt(
            backend,
            self.limiters[name],
            reply,
            messages,
            options={**settings.request_options(),
                     "stall_timeout": self.config.routing.stall_timeout},
            cold=turn.cold,
            task_type=turn.cls.task_type,
            submitted=submitted,
            notice_after=notice,
        )

    def _succeeded(self, reply: Reply) -> None:
        """A reply came to its end: the backend is fine and its model is in memory."""
        self.health.mark_ok(reply.backend)
        self.health.note_loaded(reply.backend, reply.model)

    def _cancelled(self, turn: _Turn) -> None:
        """The consumer closed the stream: a reply that had started counts as cancelled."""
        reply = turn.current
        if reply is not None and id(reply) in turn.open and reply.parts:
            self._record(turn, reply, CANCELLED)

    def _queue_listener(self, name: str, limiter: FifoLimiter) -> Callable[[], None]:
        def changed() -> None:
            self.health.note_queue(name, limiter.active + limiter.waiting)

        return changed

    def _publish_speeds(self) -> None:
        """Give the health monitor's states the running tok/s estimates (for the views)."""
        for name in self.health.states():
            self.health.note_speed(name, self.speeds.tokens_per_s(name))

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
        model = backend.pick_model(models, prefer_loaded=True)
        if model is None:
            raise NoModelAvailable("the server lists no chat model", backend=name)
        return model

    def _fallback(self, cls: Classification, failures: dict[str, BackendError]) -> Choice | None:
        """The best backend not yet tried and not down (greedy: no exploring), or None."""
        left = [c for c in self.candidates() if c.name not in failures and c.available]
        if not left:
            return None
        return self._choose(cls, left, explore=False)

    def _escalation_target(
        self, cls: Classification, choice: Choice, reply: Reply, done: Done
    ) -> str | None:
        """The strong backend to re-ask when a fast reply scored low and the user did not
        force anything (the one predicted to finish first); else None."""
        threshold = self.config.routing.escalation_threshold
        if choice.forced or done.confidence is None or done.confidence >= threshold:
            return None
        if self.backends[reply.backend].config.tier != "fast":
            return None
        strong = [
            c for c in self.candidates()
            if c.tier == "strong" and c.available and c.name != reply.backend
        ]  # fmt: skip
        if not strong:
            return None
        times = predictions(cls, strong, self.speeds)
        return min(strong, key=lambda c: times[c.name].total_s).name

    def _record(self, turn: _Turn, reply: Reply, verdict: Verdict) -> int | None:
        """Record ``reply``'s outcome once; returns its store row id."""
        turn.open.discard(id(reply))
        cold = turn.cold if reply is turn.current else False
        outcome = outcome_of(turn.cls, reply, verdict, decision_id=turn.decision_id,
                             forced=turn.forced, cold=cold)
        _, row = self.learner.record(outcome)
        if not verdict.failed and not verdict.cancelled:
            self.health.note_speed(reply.backend, self.speeds.tokens_per_s(reply.backend))
        return row

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


def _override_note(override: tuple[str | None, str | None]) -> str:
    task_type, complexity = override
    said = [f"task type {task_type}" if task_type else "",
            f"complexity {complexity}" if complexity else ""]
    said = [s for s in said if s]
    return f"{' and '.join(said)} given by the caller; " if said else ""


def _normal_force(force: str | None) -> str | None:
    return None if force in (None, "", "auto") else force
