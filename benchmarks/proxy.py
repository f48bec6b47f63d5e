"""A loopback TCP proxy that timestamps the first reply byte of every chat response.

It sits between the client under test and a simulator, relays bytes both ways unchanged, and
notes ``time.perf_counter()`` immediately before it hands the first body bytes of a chat
response (``POST .../chat...``) to the client's socket: "first byte on the socket" in the
client's own clock, whatever the server did before. One thread per direction per connection,
blocking sockets (the relay never waits on the measured event loop).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from urllib.parse import urlsplit


class StampingProxy:
    """Relays ``127.0.0.1:<port>`` to ``upstream``; :attr:`stamps` lists the first-byte
    times of chat responses, in order."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.stamps: list[float] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._closed = False
        self._thread = threading.Thread(target=self._accept, name="bench-proxy", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def __enter__(self) -> StampingProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._closed = True
        with contextlib.suppress(OSError):
            self._listener.close()
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        self._thread.join(2)

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                return
            server.settimeout(None)
            for sock in (client, server):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._sockets += [client, server]
            state = {"chat": False}
            threading.Thread(target=self._up, args=(client, server, state), daemon=True).start()
            threading.Thread(target=self._down, args=(server, client, state), daemon=True).start()

    def _up(self, client: socket.socket, server: socket.socket, state: dict[str, bool]) -> None:
        """Client -> server; notes when a chat request goes out."""
        try:
            while data := client.recv(1 << 16):
                if data.startswith(b"POST ") and b"/chat" in data.split(b"\r\n", 1)[0]:
                    state["chat"] = True
                    state["head_done"] = False
                server.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                server.shutdown(socket.SHUT_WR)

    def _down(self, server: socket.socket, client: socket.socket, state: dict[str, bool]) -> None:
        """Server -> client; stamps the first body bytes of a chat response."""
        try:
            while data := server.recv(1 << 16):
                if state["chat"]:
                    body_at = 0
                    if not state.get("head_done"):
                        end = data.find(b"\r\n\r\n")
                        if end >= 0:
                            state["head_done"] = True
                            body_at = end + 4
                        else:
                            body_at = len(data)
                    if state.get("head_done") and body_at < len(data):
                        state["chat"] = False
                        self.stamps.append(time.perf_counter())
                client.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                client.shutdown(socket.SHUT_WR)
