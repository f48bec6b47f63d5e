"""Predicted completion times: how long a prompt would take on each backend right now.

    total = queue wait + cold load + time to first token + expected tokens / tok/s

- running estimates (EWMA, weight :data:`ALPHA` on the newest reply) of TTFT and tok/s per
  backend and task type (falling back to the backend's figure over all task types, then to
  the tier's defaults), fed from every finished reply; the server's own decode speed
  (Ollama ``eval_count / eval_duration``) is used when it gives one, since the client's
  figure includes network jitter;
- the expected length of a reply per task type (over every backend: the task sets it);
- a cold load (the chosen model is not in memory) costs the backend's learned load time,
  learned from Ollama's ``load_duration`` or, for servers that do not say, from how much
  longer a cold first token took than a warm one;
- queue wait: with ``ahead`` requests in our own limiter (in flight + waiting) and ``slots``
  (``max_concurrent``), the request starts when a slot frees after the ones waiting before
  it. Each takes its own expected time on that backend when its task type is known (first
  token plus the task type's expected length at the backend's speed: an analysis ahead in
  line holds a slot three times as long as a reformat), else the backend's mean service
  time; one being served has that time less what it has run already (``busy_s``; at least a
  tenth of it: an overdue reply is nearly done), or half of it when the running time is not
  known.

Pure arithmetic on small dicts: a prediction costs a few µs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: weight of the newest observation in every running estimate
ALPHA = 0.3
#: guesses before anything is measured, per tier: first token (s) and decode speed (tok/s)
DEFAULT_TTFT_S = {"fast": 0.5, "strong": 1.5}
DEFAULT_TOKENS_PER_S = {"fast": 60.0, "strong": 20.0}
#: seconds a cold model load is assumed to take before one is measured
DEFAULT_LOAD_S = 10.0
#: expected reply length (tokens) per task type before one is measured
DEFAULT_TOKENS = {"analysis": 600, "planning": 600, "debugging": 400, "refactor": 400}
DEFAULT_TOKENS_OTHER = 250
#: a server-reported load above this (ms) means the model really was loaded for the reply
COLD_LOAD_MS = 250.0


class Ewma:
    """An exponentially weighted moving average and how many values went into it."""

    __slots__ = ("n", "value")

    def __init__(self) -> None:
        self.value = 0.0
        self.n = 0

    def add(self, x: float) -> None:
        self.value = x if self.n == 0 else self.value + ALPHA * (x - self.value)
        self.n += 1


@dataclass(frozen=True, slots=True)
class Prediction:
    """One backend's predicted completion time for one prompt, in seconds, by part."""

    queue_s: float
    load_s: float
    ttft_s: float
    decode_s: float
    ahead: int = 0
    #: the backend's speed has been measured (False: tier defaults)
    measured: bool = False
    tokens: int = 0
    tokens_per_s: float = 0.0

    @property
    def total_s(self) -> float:
        return self.queue_s + self.load_s + self.ttft_s + self.decode_s

    def as_signal(self) -> dict[str, Any]:
        """JSON-ready, rounded to milliseconds."""
        return {
            "queue_s": round(self.queue_s, 3),
            "load_s": round(self.load_s, 3),
            "ttft_s": round(self.ttft_s, 3),
            "decode_s": round(self.decode_s, 3),
            "total_s": round(self.total_s, 3),
            "ahead": self.ahead,
            "tokens": self.tokens,
            "tokens_per_s": round(self.tokens_per_s, 1),
            "measured": self.measured,
        }


class SpeedModel:
    """Running speed estimates per backend (and task type), and predictions from them."""

    def __init__(self) -> None:
        self._ttft: dict[tuple[str, str | None], Ewma] = {}
        self._tps: dict[tuple[str, str | None], Ewma] = {}
        self._service: dict[str, Ewma] = {}
        self._load: dict[str, Ewma] = {}
        self._tokens: dict[str, Ewma] = {}

    # -- learning --------------------------------------------------------------------------

    def observe(
        self,
        backend: str,
        task_type: str,
        *,
        ttft_ms: float | None,
        tokens: int | None,
        tokens_per_s: float | None,
        load_ms: float | None = None,
        cold: bool = False,
    ) -> None:
        """Take one finished reply into the estimates (a missing figure is skipped)."""
        ttft_s = ttft_ms / 1000 if ttft_ms is not None and ttft_ms >= 0 else None
        loaded_s: float | None = None
        if load_ms is not None and (cold or load_ms >= COLD_LOAD_MS):
            loaded_s = load_ms / 1000
        elif cold and ttft_s is not None:
            warm = self._get(self._ttft, backend, task_type)
            # no figure from the server: a cold first token minus a warm one is the load
            loaded_s = max(ttft_s - (warm.value if warm is not None else 0.0), 0.0)
        if loaded_s is not None:
            _add(self._load, backend, loaded_s)
            if ttft_s is not None:
                ttft_s = max(ttft_s - loaded_s, 0.0)
        if ttft_s is not None:
            _add(self._ttft, (backend, task_type), ttft_s)
            _add(self._ttft, (backend, None), ttft_s)
        if tokens_per_s is not None and tokens_per_s > 0:
            _add(self._tps, (backend, task_type), tokens_per_s)
            _add(self._tps, (backend, None), tokens_per_s)
        if tokens is not None and tokens > 0:
            _add(self._tokens, task_type, float(tokens))
            if ttft_s is not None and tokens_per_s:
                _add(self._service, backend, ttft_s + tokens / tokens_per_s)

    # -- reading ---------------------------------------------------------------------------

    def measured(self, backend: str) -> bool:
        """True once a reply of ``backend`` has been timed."""
        return (backend, None) in self._ttft

    def tokens_per_s(self, backend: str) -> float | None:
        """The backend's decode speed over every task type, None before it is measured."""
        e = self._tps.get((backend, None))
        return e.value if e is not None else None

    def load_s(self, backend: str) -> float | None:
        e = self._load.get(backend)
        return e.value if e is not None else None

    def expected_tokens(self, task_type: str) -> int:
        e = self._tokens.get(task_type)
        if e is not None:
            return max(1, round(e.value))
        return DEFAULT_TOKENS.get(task_type, DEFAULT_TOKENS_OTHER)

    def predict(
        self,
        backend: str,
        tier: str,
        task_type: str,
        *,
        ahead: int = 0,
        slots: int = 1,
        cold: bool = False,
        busy_s: tuple[float, ...] = (),
        queued_tasks: tuple[str, ...] = (),
    ) -> Prediction:
        """The predicted time for a ``task_type`` prompt on ``backend`` now;
        ``queued_tasks`` are the task types of the ``ahead`` requests (see
        :attr:`~hybrid_tui.router.decide.Candidate.queued_tasks`)."""
        ttft = self._get(self._ttft, backend, task_type)
        ttft_s, rate = self._speed(ttft, backend, tier, task_type)
        tokens = self.expected_tokens(task_type)
        decode_s = tokens / rate
        load_s = 0.0
        if cold:
            load = self._load.get(backend)
            load_s = load.value if load is not None else DEFAULT_LOAD_S
        queue_s = 0.0
        slots = max(1, slots)
        if ahead >= slots:
            service = self._service.get(backend)
            each = service.value if service is not None else ttft_s + decode_s
            own = tuple(self._service_s(backend, tier, t) if t else each
                        for t in queued_tasks[:ahead])
            queue_s = queue_wait(ahead, slots, each, busy_s, own)
        return Prediction(
            queue_s=queue_s,
            load_s=load_s,
            ttft_s=ttft_s,
            decode_s=decode_s,
            ahead=ahead,
            measured=ttft is not None,
            tokens=tokens,
            tokens_per_s=rate,
        )

    def summary(self) -> dict[str, dict[str, Any]]:
        """Per backend: TTFT (s), tok/s, cold-load time (s) and how many replies were timed."""
        out: dict[str, dict[str, Any]] = {}
        for (backend, task), e in self._ttft.items():
            if task is None:
                out.setdefault(backend, {})["ttft_s"] = round(e.value, 3)
                out[backend]["replies"] = e.n
        for (backend, task), e in self._tps.items():
            if task is None:
                out.setdefault(backend, {})["tokens_per_s"] = round(e.value, 1)
        for backend, e in self._load.items():
            out.setdefault(backend, {})["load_s"] = round(e.value, 3)
        return out

    def _speed(
        self, ttft: Ewma | None, backend: str, tier: str, task_type: str
    ) -> tuple[float, float]:
        """(first token s, tok/s) of ``backend`` for ``task_type``, tier defaults before
        anything is measured."""
        tps = self._get(self._tps, backend, task_type)
        ttft_s = ttft.value if ttft is not None else DEFAULT_TTFT_S.get(tier, 1.0)
        rate = tps.value if tps is not None and tps.value > 0 else None
        return ttft_s, rate or DEFAULT_TOKENS_PER_S.get(tier, 30.0)

    def _service_s(self, backend: str, tier: str, task_type: str) -> float:
        """The expected seconds of a warm ``task_type`` reply on ``backend``."""
        ttft_s, rate = self._speed(self._get(self._ttft, backend, task_type), backend, tier,
                                   task_type)
        return ttft_s + self.expected_tokens(task_type) / rate

    @staticmethod
    def _get(
        table: dict[tuple[str, str | None], Ewma], backend: str, task_type: str
    ) -> Ewma | None:
        return table.get((backend, task_type)) or table.get((backend, None))


def queue_wait(
    ahead: int,
    slots: int,
    each: float,
    busy_s: tuple[float, ...] = (),
    own: tuple[float, ...] = (),
) -> float:
    """Seconds until a slot is free for a new request, with ``ahead`` requests before it
    (``slots`` of them in service), each taking ``each`` seconds, or its ``own`` expected
    seconds where known (in line order, those in service first); ``busy_s`` is how long the
    ones in service have run (unknown: half done on average)."""
    serving = min(ahead, slots)
    times = list(own[:ahead]) + [each] * (ahead - len(own))
    if own:  # busy_s is in the same order as the requests
        pairs = list(zip(busy_s[:serving], times, strict=False))
    else:  # any request may be any of them: the longest-running are the ones in service
        pairs = [(s, each) for s in sorted(busy_s)[-serving:]] if busy_s else []
    free = [max(t - s, 0.1 * t) for s, t in pairs]
    free += [t / 2 for t in times[len(free):serving]]
    free += [0.0] * (slots - serving)
    free.sort()
    for t in times[serving:]:  # the waiting ones start as slots free up
        free[0] += t
        free.sort()
    return free[0]


def _add(table: dict[Any, Ewma], key: Any, value: float) -> None:
    e = table.get(key)
    if e is None:
        e = table[key] = Ewma()
    e.add(value)
