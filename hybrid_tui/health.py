"""The polling health monitor.

CONTRACT (implemented by the router helper):

    @dataclass(frozen=True) class BackendState:
        name: str; endpoint: str; kind: str; tier: str
        status: str            # "unknown" | "up" | "down" | "degraded"
        latency_ms: float | None
        version: str | None
        models: tuple[ModelInfo, ...]
        loaded: tuple[str, ...]
        chosen_model: str | None     # what the router would use (Backend.pick_model)
        last_checked: float | None   # time.time() of the last completed probe
        next_check: float | None     # time.time() when the next poll is due
        last_error: str | None
        error_kind: str | None

    class HealthMonitor:
        def __init__(self, backends: dict[str, Backend], *, interval: float, timeout: float)
        async def start(self) -> None        # first poll of all, concurrently, then every interval
        async def stop(self) -> None
        async def refresh(self, names: Iterable[str] | None = None) -> dict[str, BackendState]
        def states(self) -> dict[str, BackendState]
        def state(self, name: str) -> BackendState
        def mark_failed(self, name: str, error: str, kind: str | None = None) -> None
            # a failed request marks the backend down at once and schedules a sooner re-probe
        def mark_ok(self, name: str) -> None
        def add_listener(self, callback: Callable[[BackendState], None]) -> None
            # called (same event loop) whenever a state changes or a probe completes
"""
