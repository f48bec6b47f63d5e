"""``python -m benchmarks.simserve [--context-length N] [python -m hybrid_tui.sim flags]``.

The simulators exactly as ``python -m hybrid_tui.sim`` runs them, plus knobs that command
line does not offer (the loaded context length). The long-session benchmark needs a context
window big enough for 200 turns of history: it measures the app, not the server refusing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys

from hybrid_tui.sim.demo import build_servers, serve


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--context-length", type=int)
    ours, rest = p.parse_known_args(argv)
    servers = build_servers(rest)
    for server in servers:
        if ours.context_length:
            server.knobs.context_length = ours.context_length
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(servers))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
