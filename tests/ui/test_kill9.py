"""Durability: the real app in a terminal, killed with SIGKILL while a reply streams, loses at
most the last 250 ms of it, leaves a sound SQLite store, and ``--resume`` shows what was kept.

The app runs as ``python -m hybrid_tui --config <file>`` under a pseudo-terminal (160x50),
types a prompt like a user, and streams from a slow simulated Ollama. Between them sits a
small TCP relay that counts the reply chunks (one per token) on their way to the app, so the
test knows how many tokens had been sent when it pulled the trigger.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import math
import os
import pty
import signal
import sqlite3
import struct
import sys
import termios
import threading
import time
from pathlib import Path

import pytest

from hybrid_tui.config import load_config
from hybrid_tui.sim import SimKnobs, SimServer, SimThread, tokenize
from hybrid_tui.ui.app import HybridApp
from tests.ui.helpers import SIZE, settle, wait_for

RATE = 40.0  # tokens per second from the simulator
#: the most a killed app may lose: the transcript is saved at least every 250 ms
MAX_LOSS_S = 0.25
#: tokens in flight between the relay and the app's loop, and the save itself
MARGIN_TOKENS = 4
PROMPT = "analyze this complex system architecture"
REPLY = " ".join(f"step{i} of the plan;" for i in range(400))
#: a token line of Ollama's stream
TOKEN_MARK = b'"done":false'

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX pty and signals")


class CountingRelay:
    """TCP relay to ``port`` that counts token lines in the replies it passes on."""

    def __init__(self, port: int) -> None:
        self.upstream = port
        self.tokens = 0
        self.port = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream)
        await asyncio.gather(self._pipe(reader, up_writer, count=False),
                             self._pipe(up_reader, writer, count=True),
                             return_exceptions=True)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *,
                    count: bool) -> None:
        tail = b""
        try:
            while data := await reader.read(65536):
                if count:
                    seen = tail + data
                    self.tokens += seen.count(TOKEN_MARK)
                    tail = seen[-(len(TOKEN_MARK) - 1):]
                writer.write(data)
                await writer.drain()
        finally:
            with contextlib.suppress(Exception):
                writer.close()


class Terminal:
    """``argv`` under a pseudo-terminal of ``SIZE``; its output is read and dropped."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: the app, with the pty as its terminal
            os.execvpe(argv[0], argv, env)
        cols, rows = SIZE
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.output = b""
        self.status: int | None = None
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        while True:
            try:
                data = os.read(self.fd, 65536)
            except OSError:
                return
            if not data:
                return
            self.output = (self.output + data)[-65536:]

    def type(self, text: str) -> None:
        os.write(self.fd, text.encode())

    def kill(self) -> int:
        """SIGKILL (once); returns the wait status."""
        if self.status is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            _, self.status = os.waitpid(self.pid, 0)
            os.close(self.fd)
        return self.status


def _poll(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def _rows(db_path: Path, sql: str) -> list[tuple]:
    if not db_path.exists():
        return []
    try:
        db = sqlite3.connect(db_path, timeout=1.0)
        try:
            return db.execute(sql).fetchall()
        finally:
            db.close()
    except sqlite3.OperationalError:  # not created yet
        return []


def _tokens_in(text: str, pieces: list[str]) -> int:
    """How many whole reply tokens ``text`` (a prefix of the reply) holds."""
    length = n = 0
    for piece in pieces:
        if length + len(piece) > len(text):
            break
        length += len(piece)
        n += 1
    return n


async def test_kill_9_mid_stream_keeps_the_reply_and_resume_shows_it(tmp_path, monkeypatch):
    data, conf = tmp_path / "data", tmp_path / "config"
    db_path = data / "hybrid-tui.sqlite3"
    ollama = SimServer("ollama", SimKnobs(tokens_per_s=RATE, reply=REPLY))
    sims = SimThread([ollama])
    sims.start()
    relay = CountingRelay(ollama.port)
    sims.run(relay.start())
    config_file = tmp_path / "config.yaml"
    config_file.write_text(
        "backends:\n"
        "  ollama:\n"
        "    kind: ollama\n"
        f"    endpoint: http://127.0.0.1:{relay.port}\n"
        "    timeout: 10\n"
        "health:\n"
        "  interval: 30\n"
        "  timeout: 2\n"
    )
    env = {**os.environ, "HYBRID_TUI_DATA_DIR": str(data), "HYBRID_TUI_CONFIG_DIR": str(conf),
           "TERM": "xterm-256color", "COLUMNS": str(SIZE[0]), "LINES": str(SIZE[1])}
    env.pop("HYBRID_TUI_CONFIG", None)
    app = Terminal([sys.executable, "-m", "hybrid_tui", "--config", str(config_file)], env)
    try:
        # the app is up once it has opened its session; then type like a user
        _poll(lambda: _rows(db_path, "SELECT id FROM sessions"), 30, "the app's session")
        _poll(lambda: b"Ask something" in app.output or len(app.output) > 2000, 10, "screen")
        time.sleep(0.3)
        app.type(PROMPT)
        time.sleep(0.2)
        app.type("\r")
        _poll(lambda: relay.tokens >= 60, 30, "60 tokens streamed")
        sent_at_kill = relay.tokens
        status = app.kill()
    finally:
        app.kill()
        sims.run(relay.stop())
        sims.stop()
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL

    db = sqlite3.connect(db_path)
    try:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        ((prompt, reply, state),) = db.execute("SELECT prompt, reply, status FROM turns")
    finally:
        db.close()
    assert prompt == PROMPT and state == "streaming"
    pieces = tokenize(REPLY)
    assert REPLY.startswith(reply)  # what was saved is exactly the start of the reply
    kept = _tokens_in(reply, pieces)
    allowed_loss = math.ceil(MAX_LOSS_S * RATE) + MARGIN_TOKENS
    assert kept >= sent_at_kill - allowed_loss, (kept, sent_at_kill)
    assert kept <= sent_at_kill

    # --resume reopens it: the prompt and the kept reply, marked as interrupted
    monkeypatch.setenv("HYBRID_TUI_DATA_DIR", str(data))
    monkeypatch.setenv("HYBRID_TUI_CONFIG_DIR", str(conf))
    resumed = HybridApp(load_config(config_file), resume=True)
    async with resumed.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: bool(resumed.conversation.turns), what="restored")
        await settle(pilot)
        (turn,) = resumed.conversation.turns
        assert turn.prompt == PROMPT and turn.status == "failed"
        (shown,) = turn.replies
        assert shown.text == reply and shown.body.source == reply
        assert "interrupted" in str(shown.query_one(".reply-stats").render())
