"""Small helpers shared by tests (fixtures live in conftest.py)."""

from __future__ import annotations

import socket


def dead_url() -> str:
    """A loopback URL where nothing listens: a server that is not running."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"
