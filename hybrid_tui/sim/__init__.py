"""Simulated Ollama and LM Studio servers: real HTTP on loopback, byte-faithful to
shared/protocols.md, with knobs for speed, replies, models and faults.

Modules: ``http`` (a tiny HTTP/1.1 server), ``server`` (SimServer: port, connections,
counters), ``engine`` (queueing, pacing, faults), ``ollama`` and ``openai`` (the two wire
formats), ``knobs``, ``catalog`` (model metadata), ``tokens``, ``replies``, ``thread``
(SimThread), ``demo`` (demo_servers and ``python -m hybrid_tui.sim``), ``probe`` (a raw
HTTP client for byte-level tests).

CONTRACT:

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
        quirks: set[str]                   # quirks from protocols.md F, e.g. "error_string",
                                           # "keepalive_comments", "reasoning_content"
        version: str                       # Ollama /api/version
        # added: parallel (None -> Ollama 1 / LM Studio 4), load_delay (cold load seconds),
        #        context_length, max_queue (Ollama 503 beyond it), api_key (401 without
        #        "Authorization: Bearer <api_key>"; quirk echo_api_key repeats what was sent)

    class SimServer:
        def __init__(self, kind: str, knobs: SimKnobs | None = None, *,
                     host: str = "127.0.0.1", port: int = 0)   # kind "ollama" | "openai"
        async def start(self) -> None; async def stop(self) -> None
        async def __aenter__ / __aexit__
        port: int; url: str ("http://127.0.0.1:<port>"); knobs: SimKnobs
        in_flight: int; max_in_flight: int; requests: list[dict]  # chat request bodies, in order
        # "refuse" fault: the listening socket is closed until the fault is cleared.
        # added: cancelled, completed, hits ("GET /api/tags" ...), queued, generating,
        #        name ("ollama" | "lmstudio"), await set_fault(f), await wait_idle(),
        #        reset_counters()

    class SimThread:                 # runs SimServers in a background thread with its own loop
        def __init__(self, servers: list[SimServer]); start() -> None (blocks until listening);
        stop() -> None; run(coro) -> result (runs a coroutine on the servers' loop)

    replies.reply_for(prompt: str) -> str   # deterministic code-shaped answer per prompt type
    # a chat ending in an assistant message that starts the reply gets only the rest
    # (replies.reply_pieces), so a failover continuation completes the same answer
    demo_servers() -> (lmstudio, ollama)    # realistic speeds, the default model lists

``python -m hybrid_tui.sim --ollama-port 11434 --lmstudio-port 1234 [--tokens-per-s N] ...``
runs both in the foreground (for trying the app against "servers started by hand");
``--which ollama`` runs one (start it twice for two Ollama hosts), ``--models A,B`` and
``--loaded A|none`` set what a server lists and has in memory.
"""

from hybrid_tui.sim.demo import demo_servers
from hybrid_tui.sim.knobs import FAULT_KINDS, QUIRKS, Fault, SimKnobs, parse_fault
from hybrid_tui.sim.replies import reply_for
from hybrid_tui.sim.server import SimServer
from hybrid_tui.sim.thread import SimThread
from hybrid_tui.sim.tokens import tokenize

__all__ = [
    "FAULT_KINDS",
    "QUIRKS",
    "Fault",
    "SimKnobs",
    "SimServer",
    "SimThread",
    "demo_servers",
    "parse_fault",
    "reply_for",
    "tokenize",
]
