"""Simulated Ollama and LM Studio servers: real HTTP on loopback, byte-faithful to
shared/protocols.md, with knobs for speed, replies, models and faults.

CONTRACT (implemented by the simulator helper):

    @dataclass class Fault:          # at most one active per server; mutable at run time
        kind: str   # "refuse" | "blackhole" | "status" | "die" | "error_line" | "malformed"
                    # | "stall" | "no_terminator" | "split_utf8"
        after_tokens: int = 0        # for die / error_line / malformed / stall / no_terminator
        status: int = 500            # for "status"; body is that server's own error shape
        message: str | None = None   # override the error text

    @dataclass class SimKnobs:       # mutable at run time (tests flip them between requests)
        reply: str | None = None           # fixed reply; None -> replies.reply_for(prompt)
        reply_tokens: int | None = None    # force a length (repeat/trim the reply)
        tokens_per_s: float | None = 60.0  # None = unlimited
        first_token_delay: float = 0.0     # seconds before the status line (Ollama) / first chunk
        models: list[str]                  # listed models (defaults per kind)
        loaded: list[str]                  # loaded models (defaults: the first chat model)
        fault: Fault | None = None
        quirks: set[str]                   # LM Studio quirks from protocols.md F, e.g.
                                           # "error_string", "keepalive_comments", "reasoning_content"
        version: str                       # Ollama /api/version

    class SimServer:
        def __init__(self, kind: str, knobs: SimKnobs | None = None, *,
                     host: str = "127.0.0.1", port: int = 0)   # kind "ollama" | "openai"
        async def start(self) -> None; async def stop(self) -> None
        async def __aenter__ / __aexit__
        port: int; url: str ("http://127.0.0.1:<port>"); knobs: SimKnobs
        in_flight: int; max_in_flight: int; requests: list[dict]  # chat request bodies, in order
        # "refuse" fault: the listening socket is closed until the fault is cleared.

    class SimThread:                 # runs SimServers in a background thread with its own loop
        def __init__(self, servers: list[SimServer]); start() -> None (blocks until listening);
        stop() -> None

    replies.reply_for(prompt: str) -> str   # deterministic code-shaped answer per prompt type

``python -m hybrid_tui.sim --ollama-port 11434 --lmstudio-port 1234 [--tokens-per-s N] ...``
runs both in the foreground (for trying the app against "servers started by hand").
"""
