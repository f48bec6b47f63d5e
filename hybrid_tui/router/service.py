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
"""
