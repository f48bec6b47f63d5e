"""Replay a simulator's recorded responses as fast as the socket takes them.

A live simulator formats and flushes one chunk per token and is itself about as fast as a
good client, so at "unlimited rate" a client comparison mostly measures the server. For the
stream row the simulator's exact response bytes are recorded once (raw socket, per method
and path) and a child process (``python -m benchmarks.replay FILE``) sends them back with
one ``sendall``: the bytes on the wire are the simulator's, the server costs nothing, and
the client is the only thing measured. It speaks HTTP/1.1 keep-alive, answers unknown paths
with 404, and prints ``listening PORT`` once ready.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from benchmarks.common import ROOT
from benchmarks.simproc import child_env, end_process

Recording = dict[str, bytes]  # "METHOD /path" -> the whole HTTP response


async def record(url: str, requests: list[tuple[str, str, dict[str, object] | None]]
                 ) -> Recording:
    """The raw responses of ``url`` to ``(method, path, json body)`` requests."""
    out: Recording = {}
    parts = urlsplit(url)
    for method, path, body in requests:
        data = json.dumps(body).encode() if body is not None else b""
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        head = f"{method} {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nConnection: close\r\n"
        if body is not None:
            head += f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
        writer.write(head.encode() + b"\r\n" + data)
        chunks = []
        while chunk := await reader.read(1 << 16):
            chunks.append(chunk)
        writer.close()
        await writer.wait_closed()
        out[f"{method} {path}"] = _keep_alive(b"".join(chunks))
    return out


def _keep_alive(response: bytes) -> bytes:
    """Drop the ``Connection: close`` the recording asked for, so clients keep the socket."""
    head, sep, body = response.partition(b"\r\n\r\n")
    lines = [ln for ln in head.split(b"\r\n") if not ln.lower().startswith(b"connection:")]
    return b"\r\n".join(lines) + sep + body


class ReplayProcess:
    """The replay server in a child process, serving ``recording`` on a loopback port."""

    def __init__(self, recording: Recording) -> None:
        self.recording = recording
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""
        self._dir: tempfile.TemporaryDirectory[str] | None = None

    def __enter__(self) -> ReplayProcess:
        self._dir = tempfile.TemporaryDirectory(prefix="hybrid-tui-replay-")
        file = Path(self._dir.name) / "recording.json"
        file.write_text(json.dumps(
            {k: base64.b64encode(v).decode() for k, v in self.recording.items()}
        ))
        self.proc = subprocess.Popen(
            [sys.executable, "-u", "-m", "benchmarks.replay", str(file)],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            env=child_env(),
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith("listening "):
            self.__exit__()
            raise RuntimeError("the replay server did not start")
        self.url = f"http://127.0.0.1:{int(line.split()[1])}"
        return self

    def __exit__(self, *exc: object) -> None:
        proc, self.proc = self.proc, None
        if proc is not None:
            end_process(proc)
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None


# -- the child process ---------------------------------------------------------------------

_NOT_FOUND = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"


async def _serve(recording: Recording) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path = lines[0].split(" ")[:2]
                length, close = 0, False
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    name = name.strip().lower()
                    if name == "content-length":
                        length = int(value)
                    elif name == "connection":
                        close = value.strip().lower() == "close"
                if length:
                    await reader.readexactly(length)
                writer.write(recording.get(f"{method} {path}", _NOT_FOUND))
                await writer.drain()
                if close:
                    break
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    print(f"listening {port}", flush=True)
    async with server:
        await server.serve_forever()


def main(argv: list[str]) -> int:
    data = json.loads(Path(argv[0]).read_text())
    recording = {k: base64.b64decode(v) for k, v in data.items()}
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(recording))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
