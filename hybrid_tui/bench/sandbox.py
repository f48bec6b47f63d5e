"""Run untrusted generated code and its tests in a separate, limited process.

Each run gets a fresh temporary directory, an empty environment, a wall-clock timeout, CPU,
memory and file-size limits, no way to start processes, a network namespace of its own (no
network at all) when the kernel allows one, and, when we run as root, the ``nobody`` user.
The child (:mod:`hybrid_tui.bench.sandbox_child`) sets all of that up itself before the code
runs; see its docstring for the order. What could not be isolated at the OS level is
reported in :class:`Isolation`, so callers can say so plainly.

Why not ``preexec_fn``: it is documented as unsafe when the parent has threads (asyncio's
resolver and child watcher do), and the child reaches the same state before any untrusted
byte runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import secrets
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

CHILD = Path(__file__).with_name("sandbox_child.py")
#: the child's own answer is one small JSON object
MAX_RESULT_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class Limits:
    """What one run may use. ``workdir_parent`` None means the system temp directory."""

    timeout: float = 10.0
    #: None: the timeout rounded up, plus one second, so that the wall clock is the limit
    #: that normally fires and the CPU limit is the backstop (equal limits raced)
    cpu_seconds: int | None = None
    memory_bytes: int = 512 * 2**20
    file_bytes: int = 4 * 2**20
    output_bytes: int = 16 * 1024
    workdir_parent: str | None = None

    @property
    def cpu(self) -> int:
        return self.cpu_seconds or math.ceil(self.timeout) + 1


@dataclass(frozen=True, slots=True)
class Isolation:
    """What the child achieved: ``network`` "namespace" (none at all) or "guard" (Python-level
    socket guard only); ``user`` "nobody", "same-user" (we are not root) or "root"."""

    network: str
    user: str

    @property
    def network_isolated(self) -> bool:
        return self.network == "namespace"

    def notes(self) -> list[str]:
        """Plain sentences on what is and is not isolated."""
        notes = ["separate process, fresh temporary directory, empty environment, "
                 "wall-clock/CPU/memory/file-size limits, no new processes"]
        if self.network_isolated:
            notes.append("no network: a new network namespace")
        else:
            notes.append("network is NOT isolated at the OS level (no network namespace "
                         "allowed here); only a Python-level socket guard blocks it")
        if self.user == "nobody":
            notes.append("runs as user nobody: files outside its directory are protected by "
                         "permissions")
        else:
            notes.append("runs as your own user: files you can write are protected only by "
                         "Python-level guards")
        return notes

    def to_dict(self) -> dict[str, object]:
        return {"network": self.network, "user": self.user,
                "network_isolated": self.network_isolated, "notes": self.notes()}


@dataclass(frozen=True, slots=True)
class SandboxResult:
    """One run. ``status``: passed | failed | timeout | killed (a limit) | error (the sandbox
    itself could not run). Anything but passed counts as a failure."""

    status: str
    detail: str
    seconds: float
    isolation: Isolation | None = None
    #: the start of what the program printed (stdout and stderr)
    output: str = ""

    @property
    def passed(self) -> bool:
        return self.status == "passed"


async def run_tests(
    source: str, test: str, entry_point: str, *, limits: Limits | None = None
) -> SandboxResult:
    """Run ``source``, then ``test`` (which defines ``check``), then ``check(entry_point)``.

    Never raises for anything the code does; cancelling kills the child."""
    limits = limits or Limits()
    nonce = secrets.token_hex(16)
    job = {
        "nonce": nonce,
        "source": source,
        "test": test,
        "entry_point": entry_point,
        "cpu_seconds": limits.cpu,
        "memory_bytes": limits.memory_bytes,
        "file_bytes": limits.file_bytes,
    }
    workdir = tempfile.mkdtemp(prefix="hybrid-tui-sandbox-", dir=limits.workdir_parent)
    start = time.perf_counter()
    proc: asyncio.subprocess.Process | None = None
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-I", "-S", "-B", str(CHILD),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=workdir,
            env={},
            start_new_session=True,
        )  # fmt: skip
        try:
            async with asyncio.timeout(limits.timeout):
                out, err, _ = await asyncio.gather(
                    _read_capped(proc.stdout, MAX_RESULT_BYTES),
                    _read_capped(proc.stderr, limits.output_bytes),
                    _feed(proc, json.dumps(job).encode()),
                )
                await proc.wait()
        except TimeoutError:
            _kill(proc)
            return SandboxResult(
                "timeout", f"stopped after {limits.timeout:g} s (wall-clock limit)",
                time.perf_counter() - start,
            )  # fmt: skip
        return _result(proc.returncode, out, err, nonce, limits, time.perf_counter() - start)
    except OSError as exc:
        return SandboxResult("error", f"could not start the sandbox: {exc}",
                             time.perf_counter() - start)
    finally:
        if proc is not None:
            _kill(proc)  # also any straggler left in its session
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    await asyncio.shield(proc.wait())
        await asyncio.to_thread(shutil.rmtree, workdir, True)


async def check_isolation(limits: Limits | None = None) -> Isolation | None:
    """What this machine allows: one trivial run. None when the sandbox cannot start."""
    probe = await run_tests("def f():\n    return 1\n", "def check(c):\n    assert c() == 1\n",
                            "f", limits=limits)
    return probe.isolation


async def _feed(proc: asyncio.subprocess.Process, data: bytes) -> None:
    assert proc.stdin is not None
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        proc.stdin.write(data)
        await proc.stdin.drain()
    proc.stdin.close()


async def _read_capped(stream: asyncio.StreamReader | None, cap: int) -> bytes:
    """Everything up to ``cap`` bytes; the rest is read and dropped (the child never blocks)."""
    buf = bytearray()
    if stream is None:
        return b""
    while chunk := await stream.read(65536):
        if len(buf) < cap:
            buf += chunk[: cap - len(buf)]
    return bytes(buf)


def _kill(proc: asyncio.subprocess.Process) -> None:
    """SIGKILL the child's whole session (its pid is the process group id)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def _result(
    code: int | None, out: bytes, err: bytes, nonce: str, limits: Limits, seconds: float
) -> SandboxResult:
    output = err.decode("utf-8", "replace")
    try:
        data = json.loads(out)
    except ValueError:
        data = None
    if isinstance(data, dict) and data.get("nonce") == nonce:
        iso = data.get("isolation") or {}
        isolation = Isolation(str(iso.get("network", "guard")), str(iso.get("user", "?")))
        status = "passed" if data.get("status") == "passed" else "failed"
        return SandboxResult(status, str(data.get("detail") or ""), seconds, isolation, output)
    if code is not None and code < 0:
        name = _signal_name(-code)
        if -code == signal.SIGXCPU:
            detail = f"stopped at the CPU-time limit ({limits.cpu} s)"
        elif -code == signal.SIGKILL:
            detail = "killed (CPU-time or memory limit)"
        else:
            detail = f"killed by {name}"
        return SandboxResult("killed", detail, seconds, output=output)
    # the program ended the process itself (os._exit, a crash) before the tests finished
    last = next((ln for ln in reversed(output.splitlines()) if ln.strip()), "")
    detail = f"exited with code {code} before the tests finished" + (
        f": {last[:200]}" if last else "")
    return SandboxResult("failed", detail, seconds, output=output)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
