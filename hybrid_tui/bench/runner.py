"""One benchmark run: every chosen problem sent to every chosen backend (directly, not
routed), each completion checked in the sandbox, and pass@1, TTFT, tok/s and time per backend.

Backends run side by side; within a backend the problems go one at a time (as a user's
server would serve them), and each reply's sandbox run overlaps the next generation. At most
``concurrency`` sandboxes run at once across backends.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import httpx

from hybrid_tui.backends import Backend, StreamStats, TextDelta, make_backend
from hybrid_tui.backends.transport import make_client, same_model
from hybrid_tui.bench.humaneval import (
    Problem,
    extract_code,
    load_problems,
    messages,
    program,
    support,
)
from hybrid_tui.bench.sandbox import Isolation, Limits, check_isolation, run_tests
from hybrid_tui.errors import BackendError, BackendUnavailable, HybridError, UsageError

if TYPE_CHECKING:
    from hybrid_tui.config import Config

SUITE = "HumanEval"
#: greedy decoding (pass@1 with one sample) and room for a whole function
GENERATION_OPTIONS = {"temperature": 0.0, "max_tokens": 1024}
CLIENT_TIMEOUT = httpx.Timeout(connect=3.0, read=60.0, write=30.0, pool=None)
#: seconds allowed for listing a backend's models before the run starts
MODELS_TIMEOUT = 10.0
#: a backend that cannot be reached this many times in a row is given up
MAX_UNREACHABLE = 3


@dataclass(frozen=True, slots=True)
class ProblemResult:
    """One problem on one backend."""

    task_id: str
    backend: str
    model: str
    passed: bool
    #: the sandbox's status, or "generation-error" when no reply came
    status: str
    detail: str = ""
    ttft_ms: float | None = None
    tokens: int = 0
    tokens_per_s: float | None = None
    total_ms: float = 0.0


@dataclass(slots=True)
class BackendRun:
    """Everything one backend did in a run."""

    backend: str
    model: str | None = None
    planned: int = 0
    results: list[ProblemResult] = field(default_factory=list)
    #: why the backend could not be benchmarked (fully), in one line
    error: str | None = None
    seconds: float = 0.0

    @property
    def attempted(self) -> int:
        return len(self.results)

    @property
    def passed(self) -> int:
        return sum(r.passed for r in self.results)

    @property
    def pass_at_1(self) -> float | None:
        return self.passed / self.attempted if self.attempted else None

    @property
    def mean_ttft_ms(self) -> float | None:
        values = [r.ttft_ms for r in self.results if r.ttft_ms is not None]
        return sum(values) / len(values) if values else None

    @property
    def mean_tokens_per_s(self) -> float | None:
        values = [r.tokens_per_s for r in self.results if r.tokens_per_s is not None]
        return sum(values) / len(values) if values else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "model": self.model,
            "problems": self.planned,
            "attempted": self.attempted,
            "passed": self.passed,
            "pass@1": self.pass_at_1,
            "mean_ttft_ms": self.mean_ttft_ms,
            "mean_tokens_per_s": self.mean_tokens_per_s,
            "seconds": self.seconds,
            "error": self.error,
            "results": [asdict(r) for r in self.results],
        }


@dataclass(slots=True)
class BenchmarkReport:
    """The whole run."""

    problems: int
    runs: list[BackendRun]
    isolation: Isolation
    suite: str = SUITE
    run_id: int | None = None

    @property
    def complete(self) -> bool:
        return all(r.error is None for r in self.runs)

    def to_dict(self) -> dict[str, Any]:
        return {
            "suite": self.suite,
            "problems": self.problems,
            "pass@1": {r.backend: r.pass_at_1 for r in self.runs},
            "backends": [r.to_dict() for r in self.runs],
            "sandbox": self.isolation.to_dict(),
            "run_id": self.run_id,
        }


class IsolationMissing(UsageError):
    """The kernel allows no sandbox here and the caller did not accept running without."""

    def __init__(self) -> None:
        super().__init__(
            "this machine allows no kernel-enforced sandbox (neither Landlock nor user "
            "namespaces), so generated code would run with Python-level guards only, which "
            "it can undo; nothing was sent. Pass --no-isolation to run it anyway")


class Progress(Protocol):
    """What the caller hears while the run goes (all on the event loop)."""

    def started(self, backend: str, model: str, total: int) -> None: ...

    def finished_problem(self, result: ProblemResult) -> None: ...

    def failed(self, backend: str, message: str) -> None: ...


def choose_problems(limit: int | None) -> tuple[Problem, ...]:
    """The first ``limit`` problems (all when None). Raises HumanEvalMissing."""
    problems = load_problems()
    return problems if limit is None else problems[:limit]


async def run_benchmark(
    config: Config,
    names: Sequence[str],
    *,
    model: str | None = None,
    limit: int | None = None,
    progress: Progress | None = None,
    limits: Limits | None = None,
    concurrency: int = 2,
    isolation: Isolation | None = None,
) -> BenchmarkReport:
    """Benchmark the backends ``names`` (configured names) on the first ``limit`` problems.

    ``isolation`` is what :func:`sandbox_isolation` found (probed here when None). Without
    kernel isolation nothing runs unless ``limits.require_isolation`` is False.

    Raises :class:`HybridError` only when the sandbox cannot run (at all, or without
    isolation); a backend that is down or has no model is reported in its
    :class:`BackendRun` instead."""
    problems = choose_problems(limit)
    if isolation is None:
        isolation = await sandbox_isolation(limits)
    gate = asyncio.Semaphore(max(1, concurrency))
    endpoints = [config.backends[n].endpoint for n in names]
    async with make_client(endpoints, timeout=CLIENT_TIMEOUT) as client:
        backends = [make_backend(config.backends[n], client) for n in names]
        runs = await asyncio.gather(
            *(_run_backend(b, problems, model, progress, limits, gate) for b in backends)
        )
    return BenchmarkReport(problems=len(problems), runs=list(runs), isolation=isolation)


async def sandbox_isolation(limits: Limits | None = None) -> Isolation:
    """What the sandbox achieves here; raises :class:`IsolationMissing` when that is not
    kernel-enforced and ``limits`` require it (the default), HybridError when it cannot
    run at all."""
    isolation = await check_isolation(limits)
    if isolation is None:
        raise HybridError("the sandbox could not run a trivial program; nothing was sent")
    if not isolation.kernel_enforced and (limits or Limits()).require_isolation:
        raise IsolationMissing
    return isolation


async def _pick_model(backend: Backend, wanted: str | None) -> str:
    """The model to benchmark: ``wanted`` if the server lists it, else the router's pick."""
    try:
        async with asyncio.timeout(MODELS_TIMEOUT):
            models = await backend.models()
    except TimeoutError:
        raise BackendError(f"no model list within {MODELS_TIMEOUT:g} s",
                           backend=backend.name) from None
    if wanted:
        for m in models:
            if same_model(m.name, wanted) or wanted.lower() in m.name.lower():
                return m.name
        listed = ", ".join(m.name for m in models) or "none"
        raise BackendError(f"model {wanted!r} is not on this server (it lists: {listed})",
                           backend=backend.name)
    chosen = backend.pick_model(models)
    if chosen is None:
        raise BackendError("the server lists no chat model", backend=backend.name)
    return chosen


async def _run_backend(
    backend: Backend,
    problems: Sequence[Problem],
    wanted: str | None,
    progress: Progress | None,
    limits: Limits | None,
    gate: asyncio.Semaphore,
) -> BackendRun:
    run = BackendRun(backend.name, planned=len(problems))
    start = time.perf_counter()
    try:
        run.model = await _pick_model(backend, wanted)
    except BackendError as exc:
        run.error = _one_line(exc)
        if progress is not None:
            progress.failed(backend.name, run.error)
        return run
    if progress is not None:
        progress.started(backend.name, run.model, len(problems))
    checks: list[asyncio.Task[ProblemResult]] = []
    unreachable = 0
    try:
        for problem in problems:
            try:
                reply, stats = await _generate(backend, run.model, problem)
            except BackendError as exc:
                unreachable = unreachable + 1 if isinstance(exc, BackendUnavailable) else 0
                failed = ProblemResult(problem.task_id, backend.name, run.model, False,
                                       "generation-error", _one_line(exc))
                checks.append(asyncio.create_task(_settled(failed, progress)))
                if unreachable >= MAX_UNREACHABLE:
                    run.error = f"gave up after {unreachable} failed requests: {_one_line(exc)}"
                    break
                continue
            unreachable = 0
            checks.append(asyncio.create_task(
                _check(backend.name, run.model, problem, reply, stats, limits, gate, progress)
            ))  # fmt: skip
        run.results = list(await asyncio.gather(*checks))
    finally:
        for task in checks:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*checks, return_exceptions=True)
    run.seconds = time.perf_counter() - start
    if run.error and progress is not None:
        progress.failed(backend.name, run.error)
    return run


async def _generate(
    backend: Backend, model: str, problem: Problem
) -> tuple[str, StreamStats | None]:
    """The reply text (reasoning left out) and its stats."""
    parts: list[str] = []
    stats: StreamStats | None = None
    stream = backend.stream_chat(messages(problem), model, dict(GENERATION_OPTIONS))
    async with contextlib.aclosing(stream) as items:
        async for item in items:
            if isinstance(item, TextDelta):
                if not item.reasoning:
                    parts.append(item.text)
            elif isinstance(item, StreamStats):
                stats = item
    return "".join(parts), stats


async def _check(
    backend: str,
    model: str,
    problem: Problem,
    reply: str,
    stats: StreamStats | None,
    limits: Limits | None,
    gate: asyncio.Semaphore,
    progress: Progress | None,
) -> ProblemResult:
    source = program(problem, extract_code(reply, problem.entry_point))
    async with gate:
        outcome = await run_tests(source, problem.test, problem.entry_point,
                                  support=support(problem), limits=limits)
    result = ProblemResult(
        task_id=problem.task_id,
        backend=backend,
        model=model,
        passed=outcome.passed,
        status=outcome.status,
        detail=outcome.detail,
        ttft_ms=stats.ttft_ms if stats else None,
        tokens=stats.tokens if stats else 0,
        tokens_per_s=stats.tokens_per_s if stats else None,
        total_ms=stats.total_ms if stats else 0.0,
    )
    return await _settled(result, progress)


async def _settled(result: ProblemResult, progress: Progress | None) -> ProblemResult:
    if progress is not None:
        progress.finished_problem(result)
    return result


def _one_line(exc: BackendError) -> str:
    return " ".join(exc.message.split())
