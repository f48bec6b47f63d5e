"""``python -m benchmarks.simserve [--context-length N] [--reply-file PATH]
[python -m hybrid_tui.sim flags]``.

The simulators exactly as ``python -m hybrid_tui.sim`` runs them, plus knobs that command
line does not offer: the loaded context length (the long-session benchmark needs a window
big enough for 200 turns of history: it measures the app, not the server refusing), and a
fixed reply read from a file (so a reply of tens of kilobytes need not travel on the
command line).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from pathlib import Path

from hybrid_tui.sim.demo import build_servers, serve


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--context-length", type=int)
    p.add_argument("--reply-file", type=Path)
    ours, rest = p.parse_known_args(argv)
    servers = build_servers(rest)
    reply = ours.reply_file.read_text(encoding="utf-8") if ours.reply_file else None
    for server in servers:
        if ours.context_length:
            server.knobs.context_length = ours.context_length
        if reply is not None:
            server.knobs.reply = reply
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(servers))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
