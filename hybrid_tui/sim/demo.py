"""The simulators as a user meets them: ``--demo`` servers and ``python -m hybrid_tui.sim``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys

from hybrid_tui.sim.knobs import (
    FAULT_KINDS,
    QUIRKS,
    Fault,
    SimKnobs,
    is_embedding,
    parse_fault,
)
from hybrid_tui.sim.server import SimServer

#: realistic speeds: a small model on LM Studio, a big one on Ollama
LMSTUDIO_TOKENS_PER_S = 120.0
OLLAMA_TOKENS_PER_S = 35.0
OLLAMA_FIRST_TOKEN_DELAY = 0.4


def demo_servers(
    *, host: str = "127.0.0.1", lmstudio_port: int = 0, ollama_port: int = 0,
    thinking: bool = False,
) -> tuple[SimServer, SimServer]:
    """(LM Studio, Ollama) simulators with realistic speeds and the default model lists
    (the ones ``config.default_backends()`` prefers). ``thinking``: every chat model of the
    Ollama reasons before it answers, as today's local models do (``--demo`` shows that)."""
    lmstudio = SimServer(
        "openai",
        SimKnobs(tokens_per_s=LMSTUDIO_TOKENS_PER_S, first_token_delay=0.08),
        host=host,
        port=lmstudio_port,
    )
    ollama = SimServer(
        "ollama",
        SimKnobs(tokens_per_s=OLLAMA_TOKENS_PER_S, first_token_delay=OLLAMA_FIRST_TOKEN_DELAY),
        host=host,
        port=ollama_port,
    )
    if thinking:
        ollama.knobs.thinking_models = [m for m in ollama.knobs.models or []
                                        if not is_embedding(m)]
    return lmstudio, ollama


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m hybrid_tui.sim",
        description="Run simulated LM Studio and Ollama servers on loopback until Ctrl-C.",
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--lmstudio-port", type=int, default=1234, metavar="P")
    p.add_argument("--ollama-port", type=int, default=11434, metavar="Q")
    p.add_argument("--which", choices=("both", "ollama", "lmstudio"), default="both")
    p.add_argument(
        "--tokens-per-s",
        type=float,
        metavar="N",
        help="reply speed for both (0 = as fast as possible); default 120 / 35",
    )
    p.add_argument(
        "--first-token-delay",
        type=float,
        metavar="S",
        help="seconds before the first token; default 0.08 / 0.4",
    )
    p.add_argument(
        "--load-delay",
        type=float,
        default=0.0,
        metavar="S",
        help="seconds a cold (not loaded) model takes to load",
    )
    p.add_argument(
        "--models",
        action="append",
        default=[],
        metavar="[SERVER=]A,B,...",
        help="the models the server lists (default: a realistic list per kind)",
    )
    p.add_argument(
        "--loaded",
        action="append",
        default=[],
        metavar="[SERVER=]A,B|none",
        help="the models in memory at start (default: the first chat model)",
    )
    p.add_argument("--reply", metavar="TEXT", help="a fixed reply instead of the canned ones")
    p.add_argument("--reply-tokens", type=int, metavar="N", help="force the reply length")
    p.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="[SERVER=]KIND[:N]",
        help=f"inject a fault ({', '.join(FAULT_KINDS)}); N is the token count, "
        "or the HTTP status for 'status'; SERVER is ollama or lmstudio",
    )
    p.add_argument(
        "--quirk",
        action="append",
        default=[],
        metavar="[SERVER=]NAME",
        help=f"enable a quirk ({', '.join(sorted(QUIRKS))})",
    )
    return p


def _targeted(spec: str) -> tuple[str | None, str]:
    target, sep, rest = spec.partition("=")
    if sep and target in ("ollama", "lmstudio"):
        return target, rest
    return None, spec


def build_servers(argv: list[str] | None = None) -> list[SimServer]:
    """The servers the command line asks for (raises SystemExit 2 on bad arguments)."""
    parser = _parser()
    args = parser.parse_args(argv)
    lmstudio, ollama = demo_servers(
        host=args.host, lmstudio_port=args.lmstudio_port, ollama_port=args.ollama_port
    )
    servers = [s for s in (lmstudio, ollama) if args.which in ("both", s.name)]
    faults: dict[str, Fault] = {}
    for spec in args.fault:
        target, text = _targeted(spec)
        try:
            fault = parse_fault(text)
        except ValueError as exc:
            parser.error(str(exc))
        for server in servers:
            if target in (None, server.name):
                faults[server.name] = fault
    for server in servers:
        knobs = server.knobs
        if args.tokens_per_s is not None:
            knobs.tokens_per_s = args.tokens_per_s or None
        if args.first_token_delay is not None:
            knobs.first_token_delay = args.first_token_delay
        knobs.load_delay = args.load_delay
        knobs.reply = args.reply
        knobs.reply_tokens = args.reply_tokens
        knobs.fault = faults.get(server.name)
        for spec in args.models:
            target, names = _targeted(spec)
            if target in (None, server.name):
                knobs.models = _names(names)
                chat = [m for m in knobs.models if not is_embedding(m)]
                knobs.loaded = [m for m in knobs.loaded or [] if m in knobs.models] or chat[:1]
        for spec in args.loaded:
            target, names = _targeted(spec)
            if target in (None, server.name):
                knobs.loaded = [] if names.strip().lower() == "none" else _names(names)
        for spec in args.quirk:
            target, quirk = _targeted(spec)
            if quirk not in QUIRKS:
                parser.error(f"unknown quirk {quirk!r}")
            if target in (None, server.name):
                knobs.quirks.add(quirk)
    return servers


def _names(spec: str) -> list[str]:
    return [n.strip() for n in spec.split(",") if n.strip()]


async def serve(servers: list[SimServer]) -> None:
    """Run until SIGINT/SIGTERM, printing one line per server."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    started: list[SimServer] = []
    try:
        for server in servers:
            await server.start()
            started.append(server)
            kind = "Ollama" if server.kind == "ollama" else "LM Studio, OpenAI-compatible,"
            fault = server.knobs.fault
            extra = f", fault {fault.kind}" if fault else ""
            print(f"{server.name}: {server.url}  ({kind} simulator{extra})", flush=True)
        await stop.wait()
    finally:
        for server in started:
            await server.stop()


def main(argv: list[str] | None = None) -> int:
    servers = build_servers(argv)
    try:
        asyncio.run(serve(servers))
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        print(f"error: cannot listen: {exc.strerror or exc}", file=sys.stderr)
        return 1
    return 0
