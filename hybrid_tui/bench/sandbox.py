"""Run untrusted generated code and its tests in a separate, isolated process.

Each run gets a fresh temporary directory, an empty environment, a wall-clock timeout and
CPU, memory, file-size and disk limits. The kernel does the isolating, without root where it
allows: Landlock (writes only in the work directory, reads only there and in the Python
runtime, no execution, no TCP, signals kept inside) and user, mount, network and PID
namespaces (a read-only view of the file system, a size-limited private tmpfs as the work
directory, no network, nothing left running). As root the code also runs as ``nobody``. The
child (:mod:`hybrid_tui.bench.sandbox_child`) sets all of that up itself before the code
runs; what held is reported in :class:`Isolation`, so callers can say so plainly, and a run
that needs kernel isolation (the default) where there is none never runs the program.

The verdict is not the program's to give: the tests run in a separate judge process that
calls the program's function over a pipe and compares the plain values it returns.

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
from dataclasses import dataclass, replace
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
    #: the size of the private tmpfs that is the work directory (with namespaces)
    disk_bytes: int = 32 * 2**20
    workdir_parent: str | None = None
    #: False runs the program even where the kernel allows no isolation (guards only)
    require_isolation: bool = True

    @property
    def cpu(self) -> int:
        return self.cpu_seconds or math.ceil(self.timeout) + 1


@dataclass(frozen=True, slots=True)
class Isolation:
    """What the child achieved on this machine.

    ``landlock``: the Landlock ABI version enforced (0: none). ``namespaces``: user (unless
    root), mount, network and PID namespaces with a read-only file system and a private
    tmpfs work directory. ``user``: "nobody" (we are root), "same-user" or "root".
    ``hidden``: directories (``/tmp``, ``/run``...) the program sees empty.
    ``seccomp``: no sockets of any kind (unix sockets on disk included)."""

    landlock: int
    namespaces: bool
    user: str
    hidden: tuple[str, ...] = ()
    #: a seccomp filter refuses every socket() (and io_uring)
    seccomp: bool = False

    @property
    def kernel_enforced(self) -> bool:
        """Whether the kernel, not only Python code, keeps the program in."""
        return self.landlock >= 1 or self.namespaces

    @property
    def network_isolated(self) -> bool:
        return self.namespaces

    def notes(self) -> list[str]:
        """Plain sentences on what is and is not isolated here."""
        notes = ["separate process, empty environment, wall-clock/CPU/memory/file-size "
                 "limits, no new processes"]
        if not self.kernel_enforced:
            return [*notes, "NO kernel-enforced isolation on this machine (neither Landlock "
                    "nor user namespaces): only Python-level guards, which a program can "
                    "undo, protect your files, processes and network; the verdict can be "
                    "forged"]
        layers = [f"Landlock ABI {self.landlock}"] if self.landlock else []
        if self.namespaces:
            layers.append("user, mount, network and PID namespaces" if self.user != "nobody"
                          else "mount, network and PID namespaces")
        notes.append("kernel-enforced isolation: " + " and ".join(layers))
        if self.landlock:
            notes.append("files: reads only in the Python runtime and its own directory, "
                         "writes only in its own directory, no programs executed")
        else:
            notes.append("files: a read-only view of the file system except its own "
                         "directory; other files it may READ (Landlock is not available)")
        if self.namespaces:
            notes.append("its directory is a private tmpfs (size-limited), gone after the run; "
                         "/proc is empty; no network at all")
            if self.hidden:
                notes.append(f"{', '.join(self.hidden)} look empty and read-only to it "
                             "(shared scratch space and the sockets of your services)")
        elif self.landlock >= 4:
            notes.append("TCP connect/bind refused; UDP is NOT blocked (no network "
                         "namespace); disk use in its directory is bounded per file only")
        else:
            notes.append("network is NOT isolated (no network namespace, Landlock below ABI 4)")
        if self.seccomp:
            notes.append("socket() and io_uring are refused (seccomp): no connection to "
                         "anything, unix sockets of your services included")
        else:
            notes.append("it may connect to unix socket files it can see (no seccomp "
                         "filter for this architecture)")
        if self.landlock >= 6:
            notes.append("it cannot signal processes outside the sandbox")
        elif self.namespaces:
            notes.append("it cannot see processes outside the sandbox, but could signal "
                         "those of its user if it guessed their ids (Landlock below ABI 6)")
        if self.user == "nobody":
            notes.append("runs as user nobody")
        notes.append("the tests run in a separate judge process; a program can still pass "
                     "by answering with values that satisfy the tests without solving the "
                     "problem (hard-coding the tested cases)")
        return notes

    def to_dict(self) -> dict[str, object]:
        return {"landlock": self.landlock, "namespaces": self.namespaces, "user": self.user,
                "hidden": list(self.hidden), "seccomp": self.seccomp,
                "kernel_enforced": self.kernel_enforced,
                "network_isolated": self.network_isolated, "notes": self.notes()}


@dataclass(frozen=True, slots=True)
class SandboxResult:
    """One run. ``status``: passed | failed | timeout | killed (a limit) | error (the sandbox
    itself could not run, or would not without kernel isolation). Anything but passed counts
    as a failure."""

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
    source: str,
    test: str,
    entry_point: str,
    *,
    support: str = "",
    limits: Limits | None = None,
) -> SandboxResult:
    """Run the untrusted ``source``; then, in the judge, the trusted ``support`` code and
    ``test`` (which defines ``check``), and ``check`` with ``entry_point`` called remotely.

    Never raises for anything the code does; cancelling kills the child."""
    limits = limits or Limits()
    nonce = secrets.token_hex(16)
    job = {
        "nonce": nonce,
        "source": source,
        "support": support,
        "test": test,
        "entry_point": entry_point,
        "cpu_seconds": limits.cpu,
        "memory_bytes": limits.memory_bytes,
        "file_bytes": limits.file_bytes,
        "disk_bytes": limits.disk_bytes,
        "require": limits.require_isolation,
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
    """What this machine allows: one trivial run (of our own code, so it runs even without
    kernel isolation). None when the sandbox cannot start."""
    probe = await run_tests("def f():\n    return 1\n", "def check(c):\n    assert c() == 1\n",
                            "f", limits=replace(limits or Limits(), require_isolation=False))
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
        isolation = _isolation(data.get("isolation"))
        status, detail = str(data.get("status")), str(data.get("detail") or "")
        if status == "killed" and isinstance(data.get("signal"), int):
            return SandboxResult("killed", _killed(data["signal"], limits), seconds, isolation,
                                 output)
        if status == "failed" and "exit_code" in data:
            detail += _last_line(output)
        if status not in ("passed", "error"):
            status = "failed"
        return SandboxResult(status, detail, seconds, isolation, output)
    if code is not None and code < 0:
        return SandboxResult("killed", _killed(-code, limits), seconds, output=output)
    # the process ended (a crash) before the tests finished
    detail = f"exited with code {code} before the tests finished" + _last_line(output)
    return SandboxResult("failed", detail, seconds, output=output)


def _isolation(data: object) -> Isolation:
    """The child's report; anything malformed counts as no isolation."""
    if not isinstance(data, dict):
        return Isolation(0, False, "?")
    landlock, hidden = data.get("landlock"), data.get("hidden")
    return Isolation(landlock if isinstance(landlock, int) else 0,
                     data.get("namespaces") is True, str(data.get("user", "?")),
                     tuple(str(d) for d in hidden) if isinstance(hidden, list) else (),
                     data.get("seccomp") is True)


def _killed(number: int, limits: Limits) -> str:
    if number == signal.SIGXCPU:
        return f"stopped at the CPU-time limit ({limits.cpu} s)"
    if number == signal.SIGKILL:
        return "killed (CPU-time or memory limit)"
    return f"killed by {_signal_name(number)}"


def _last_line(output: str) -> str:
    last = next((ln for ln in reversed(output.splitlines()) if ln.strip()), "")
    return f": {last[:200]}" if last else ""


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
