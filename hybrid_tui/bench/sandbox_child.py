"""The sandbox's child process: isolate itself, then run one untrusted program and judge it.

Started by :mod:`hybrid_tui.bench.sandbox` as ``python -I -S -B sandbox_child.py`` with an
empty environment, in a fresh temporary directory, in its own session. It reads one JSON job
from stdin and writes one JSON result to the file descriptor that was stdout. Standard
library only (system calls through ctypes): this file is never imported by the app.

The kernel does the isolating; the order matters, privileged steps first:

1. namespaces (:func:`enter_namespaces`): a new user (unless root), mount, network and PID
   namespace. The whole file system is remounted read-only, a size-limited private tmpfs is
   mounted on the work directory and an empty one on ``/proc``; the network namespace has
   nothing but a down loopback. The process then forks: its child is PID 1 of the new PID
   namespace, so every process the program leaves dies with it.
2. as root: become ``nobody``;
3. Landlock (:class:`Landlock`): reads only where the Python runtime and the work directory
   are, writes only in the work directory, no execution of any file, no TCP bind/connect
   (ABI 4+), no signals or abstract unix sockets beyond the sandbox (ABI 6+);
4. the process forks once more. The *judge* keeps the result descriptor and runs the
   problem's trusted tests; the *candidate* process drops every capability, adds a nested
   Landlock domain (so it can neither trace nor signal the judge), sets resource limits,
   runs the untrusted program and then answers the judge's calls of the entry point over a
   pipe with plain data (:func:`encode`). The verdict is the judge's: the candidate never
   holds the result descriptor and its answers are values, not objects whose ``__eq__`` it
   controls.

Python-level guards (:func:`install_guards`) come last, as a second line only. What held is
reported with the result; with ``require`` set, a machine where the kernel allows neither
Landlock nor namespaces gets an "error" result and the program never runs.
"""

import contextlib
import ctypes
import json
import os
import resource
import signal
import struct
import sys

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REC, MS_PRIVATE = 0x4000, 1 << 18
MOUNT_ATTR_RDONLY = 1
AT_FDCWD, AT_RECURSIVE = -100, 0x8000
PR_SET_NO_NEW_PRIVS, PR_SET_DUMPABLE, PR_SET_PDEATHSIG = 38, 4, 1
#: system call numbers; the same on every Linux architecture (the unified table)
SYS_MOUNT_SETATTR, SYS_LANDLOCK_CREATE, SYS_LANDLOCK_ADD_RULE, SYS_LANDLOCK_RESTRICT = (
    442, 444, 445, 446)
NOBODY = 65534
MAX_JOB_BYTES = 16 * 2**20
#: one call or answer between judge and candidate
MAX_FRAME = 8 * 2**20
MAX_DETAIL = 300
#: open files the candidate may hold (each memfd could otherwise hold file_bytes of memory)
MAX_FILES = 32

#: modules HumanEval problems and typical completions import; loaded before dropping to
#: ``nobody`` when the interpreter's files are unreadable for that user
PREIMPORT = (
    "abc", "array", "base64", "binascii", "bisect", "calendar", "cmath", "collections",
    "collections.abc", "contextlib", "copy", "dataclasses", "datetime", "decimal", "difflib",
    "encodings.idna", "enum", "fnmatch", "fractions", "functools", "glob", "hashlib", "heapq",
    "io", "itertools", "json", "math", "numbers", "operator", "pathlib", "random", "re",
    "socket", "statistics", "string", "struct", "textwrap", "time", "types", "typing",
    "unicodedata", "warnings", "weakref",
)  # fmt: skip

#: modules the untrusted code may not import (a second line: bypassable from Python)
BLOCKED_MODULES = (
    "subprocess", "_posixsubprocess", "multiprocessing", "ctypes", "_ctypes", "pty",
    "resource", "signal", "shutil", "pdb", "ipdb", "joblib", "psutil",
    "tkinter", "webbrowser", "urllib.request", "http.client", "ftplib", "smtplib",
)  # fmt: skip

#: ``os`` functions the untrusted code may not call (a second line, as above)
BLOCKED_OS = (
    "system", "popen", "kill", "killpg", "fork", "forkpty", "execv", "execve", "execl",
    "execle", "execlp", "execlpe", "execvp", "execvpe", "spawnl", "spawnle", "spawnlp",
    "spawnlpe", "spawnv", "spawnve", "spawnvp", "spawnvpe", "posix_spawn", "posix_spawnp",
    "remove", "unlink", "rmdir", "removedirs", "rename", "renames", "replace", "truncate",
    "chmod", "lchmod", "fchmod", "chown", "lchown", "fchown", "link", "symlink", "mkfifo",
    "mknod", "chroot", "chdir", "fchdir", "setuid", "setgid", "seteuid", "setegid",
    "setreuid", "setregid", "setresuid", "setresgid", "setgroups", "putenv", "unsetenv",
    "nice", "setpriority", "register_at_fork", "unshare", "setns", "sched_setaffinity",
)  # fmt: skip

#: open() modes and os.open() flags that change files
_WRITE_MODES = frozenset("wax+")
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND

LIBC = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> int:
    if result < 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")
    return result


# --------------------------------------------------------------------------- namespaces


class _MountAttr(ctypes.Structure):
    _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64),
                ("propagation", ctypes.c_uint64), ("userns_fd", ctypes.c_uint64)]


def _mount(source: str, target: str, fstype: str, flags: int, options: str) -> None:
    _check(LIBC.mount(source.encode(), target.encode(), fstype.encode(), flags,
                      options.encode()), f"mount {target}")


#: shared scratch space and where the user's services keep their sockets (ssh-agent,
#: D-Bus, X11): each hidden behind an empty read-only tmpfs, because neither Landlock (up to
#: ABI 7) nor a network namespace stops connect() to a socket file
HIDDEN = ("/tmp", "/var/tmp", "/run", "/dev/shm")


def _setattr(path: str, attr_set: int, *, recursive: bool, propagation: int = 0) -> None:
    attr = _MountAttr(attr_set, 0, propagation, 0)
    _check(LIBC.syscall(SYS_MOUNT_SETATTR, AT_FDCWD, path.encode(),
                        AT_RECURSIVE if recursive else 0, ctypes.byref(attr),
                        ctypes.sizeof(attr)), f"mount attributes of {path}")


def _under(path: str, directory: str) -> bool:
    return path == directory or path.startswith(directory.rstrip("/") + "/")


def enter_namespaces(workdir: str, disk_bytes: int, owner: int) -> list[str]:
    """New user (unless root), mount, network and PID namespaces; a read-only view of the
    file system with a private tmpfs of ``disk_bytes`` on ``workdir`` (owned by ``owner``),
    an empty ``/proc`` and the :data:`HIDDEN` directories empty. Returns those hidden (one
    holding the Python runtime is not). Raises OSError when the kernel refuses any of it."""
    uid, gid = os.getuid(), os.getgid()
    flags = CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID
    if uid != 0:
        flags |= CLONE_NEWUSER
    _check(LIBC.unshare(flags), "unshare")
    if uid != 0:
        for name, text in (("setgroups", "deny"), ("uid_map", f"0 {uid} 1"),
                           ("gid_map", f"0 {gid} 1")):
            with open(f"/proc/self/{name}", "w") as fh:
                fh.write(text)
    # private, so nothing mounted here shows up outside; and everything read-only
    _setattr("/", MOUNT_ATTR_RDONLY, recursive=True, propagation=MS_PRIVATE)
    runtime = runtime_paths()
    hidden = []
    for directory in HIDDEN:
        if os.path.islink(directory) or not os.path.isdir(directory) or any(
                _under(path, directory) for path in runtime):
            continue
        _mount("tmpfs", directory, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
               "size=64k,nr_inodes=64,mode=0755")
        if _under(workdir, directory):
            os.makedirs(workdir)  # a mount point for the work directory below
        hidden.append(directory)
    inodes = max(64, disk_bytes // 4096)
    _mount("tmpfs", workdir, "tmpfs", MS_NOSUID | MS_NODEV,
           f"size={disk_bytes},nr_inodes={inodes},mode=0700,uid={owner},gid={owner}")
    for directory in hidden:
        _setattr(directory, MOUNT_ATTR_RDONLY, recursive=False)
    _mount("tmpfs", "/proc", "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
           "size=4k,nr_inodes=4,mode=0555")
    os.chdir(workdir)  # onto the new tmpfs
    return hidden


# --------------------------------------------------------------------------- Landlock

FS_EXECUTE, FS_WRITE_FILE, FS_READ_FILE, FS_READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
FS_TRUNCATE, FS_IOCTL_DEV = 1 << 14, 1 << 15
#: every file-system right each ABI knows (1: 13 rights, 2: +refer, 3: +truncate, 5: +ioctl)
FS_BY_ABI = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 4: (1 << 15) - 1,
             5: (1 << 16) - 1}
NET_BIND_TCP, NET_CONNECT_TCP = 1 << 0, 1 << 1
SCOPE_ABSTRACT_UNIX, SCOPE_SIGNAL = 1 << 0, 1 << 1
RULE_PATH_BENEATH = 1
CREATE_RULESET_VERSION = 1


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def landlock_abi() -> int:
    """The Landlock ABI version this kernel offers; 0 when it has none (or it is disabled)."""
    version = LIBC.syscall(SYS_LANDLOCK_CREATE, None, 0, CREATE_RULESET_VERSION)
    return max(0, version)


class Landlock:
    """One Landlock ruleset: read-only paths, read-write paths, nothing else; no execution,
    no TCP (ABI 4+), signals and abstract sockets scoped to the sandbox (ABI 6+)."""

    def __init__(self, abi: int, readable: list[str], writable: list[str]) -> None:
        self.abi = abi
        self.readable = readable
        self.writable = writable

    def enforce(self) -> None:
        """Restrict this process (and what it forks) for good. Raises OSError."""
        handled = FS_BY_ABI[min(self.abi, 5)]
        attr = _RulesetAttr(handled, NET_BIND_TCP | NET_CONNECT_TCP if self.abi >= 4 else 0,
                            SCOPE_ABSTRACT_UNIX | SCOPE_SIGNAL if self.abi >= 6 else 0)
        ruleset = _check(LIBC.syscall(SYS_LANDLOCK_CREATE, ctypes.byref(attr),
                                      ctypes.sizeof(attr), 0), "landlock ruleset")
        try:
            read = FS_READ_FILE | FS_READ_DIR
            write = handled & ~FS_EXECUTE
            for paths, rights in ((self.readable, read), (self.writable, write)):
                for path in paths:
                    self._allow(ruleset, path, rights & handled)
            _check(LIBC.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
            _check(LIBC.syscall(SYS_LANDLOCK_RESTRICT, ruleset, 0), "landlock restrict")
        finally:
            os.close(ruleset)

    @staticmethod
    def _allow(ruleset: int, path: str, rights: int) -> None:
        try:
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
        except OSError:
            return  # a runtime directory that does not exist needs no rule
        try:
            if not os.path.isdir(path):  # files take file rights only
                rights &= FS_EXECUTE | FS_WRITE_FILE | FS_READ_FILE | FS_TRUNCATE | FS_IOCTL_DEV
            rule = _PathBeneath(rights, fd)
            _check(LIBC.syscall(SYS_LANDLOCK_ADD_RULE, ruleset, RULE_PATH_BENEATH,
                                ctypes.byref(rule), 0), f"landlock rule for {path}")
        finally:
            os.close(fd)


def runtime_paths() -> list[str]:
    """Where the interpreter reads from: the standard library and its extension modules."""
    paths = {os.path.dirname(os.__file__), sys.base_prefix, sys.base_exec_prefix}
    paths.update(p for p in sys.path if p)
    return sorted(os.path.realpath(p) for p in paths)


# --------------------------------------------------------------------------- seccomp

#: (audit arch, socket's number) where we know the numbers; io_uring's are the same on all
SECCOMP_ARCHES = {"x86_64": (0xC000003E, 41), "aarch64": (0xC00000B7, 198)}
IO_URING = (425, 426, 427)  # setup, enter, register: its operations bypass seccomp
X32_BIT = 0x40000000
PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 22, 2
RET_ALLOW, RET_EPERM = 0x7FFF0000, 0x00050000 | 1


class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8),
                ("k", ctypes.c_uint32)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter))]


def deny_sockets() -> bool:
    """A seccomp filter: no socket() of any family (a socket file on disk is reachable
    whatever Landlock and the network namespace say), no io_uring, no foreign system call
    ABI. False where we do not know this architecture's numbers."""
    known = SECCOMP_ARCHES.get(os.uname().machine)
    if known is None:
        return False
    arch, socket_nr = known
    load, jeq, jge, ret = 0x20, 0x15, 0x35, 0x06
    denied = (socket_nr, *IO_URING)
    code = [(load, 0, 0, 4), (jeq, 1, 0, arch), (ret, 0, 0, RET_EPERM), (load, 0, 0, 0),
            (jge, len(denied) + 1, 0, X32_BIT)]
    code += [(jeq, len(denied) - i, 0, nr) for i, nr in enumerate(denied)]
    code += [(ret, 0, 0, RET_ALLOW), (ret, 0, 0, RET_EPERM)]
    program = (_SockFilter * len(code))(*(_SockFilter(*op) for op in code))
    fprog = _SockFprog(len(code), program)
    _check(LIBC.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    _check(LIBC.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0),
           "seccomp")
    return True


# --------------------------------------------------------------------------- privileges


def _world_readable(path: str) -> bool:
    """True when user ``nobody`` could read ``path`` (every parent searchable by others)."""
    path = os.path.realpath(path)
    while True:
        try:
            if os.stat(path).st_mode & 0o005 != 0o005:
                return False
        except OSError:
            return False
        parent = os.path.dirname(path)
        if parent == path:
            return True
        path = parent


def become_nobody(workdir: str) -> bool:
    """As root: become ``nobody``, owning only ``workdir``. False when that failed."""
    if not _world_readable(os.path.dirname(os.__file__)):
        for name in PREIMPORT:
            with contextlib.suppress(ImportError):
                __import__(name)
    try:
        os.chown(workdir, NOBODY, NOBODY)
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)
    except OSError:
        return False
    return True


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


def drop_capabilities() -> None:
    """No capabilities at all (root of a user namespace has them all inside it)."""
    header = _CapHeader(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3
    data = (ctypes.c_uint32 * 6)()
    _check(LIBC.capset(ctypes.byref(header), ctypes.byref(data)), "capset")


def set_limits(job: dict) -> None:
    """CPU time, address space, file size, open files; no new processes; no core dumps."""
    cpu = max(1, int(job["cpu_seconds"]))
    memory = int(job["memory_bytes"])
    file_size = int(job["file_bytes"])
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_FSIZE, (file_size, file_size))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))
    resource.setrlimit(resource.RLIMIT_NOFILE, (MAX_FILES, MAX_FILES))
    # an oversized write fails with an error instead of killing the process unexplained
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


# --------------------------------------------------------------------------- guards


def _inside(root: str, path) -> bool:
    if isinstance(path, int):
        return True  # an already open descriptor
    full = os.path.realpath(os.path.join(root, os.fsdecode(path)))
    return full == root or full.startswith(root + os.sep)


def _disabled(name: str):
    def refuse(*_args, **_kwargs):
        raise PermissionError(f"sandbox: {name} is disabled")

    return refuse


def install_guards(workdir: str, *, block_network: bool) -> None:
    """Disable destructive calls and writes outside ``workdir`` for the code that follows.

    A second line only: code that knows Python can undo all of this."""
    import builtins
    import io

    root = os.path.realpath(workdir)
    real_open, real_os_open = builtins.open, os.open

    def guarded_open(file, mode="r", *args, **kwargs):
        if _WRITE_MODES & set(str(mode)) and not _inside(root, file):
            raise PermissionError(f"sandbox: writing outside the work directory: {file!r}")
        return real_open(file, mode, *args, **kwargs)

    def guarded_os_open(path, flags, *args, **kwargs):
        if flags & _WRITE_FLAGS and not _inside(root, path):
            raise PermissionError(f"sandbox: writing outside the work directory: {path!r}")
        return real_os_open(path, flags, *args, **kwargs)

    builtins.open = io.open = guarded_open
    os.open = guarded_os_open
    for name in BLOCKED_OS:
        if hasattr(os, name):
            setattr(os, name, _disabled(f"os.{name}"))
    for name in ("exit", "quit", "help", "breakpoint"):
        setattr(builtins, name, _disabled(name))
    blocked = list(BLOCKED_MODULES)
    if block_network:
        blocked += ["socket", "_socket", "ssl", "_ssl", "select", "selectors", "asyncio"]
    for name in blocked:
        sys.modules[name] = None  # type: ignore[assignment]  # `import name` now fails


# --------------------------------------------------------------------------- judge <-> candidate


def encode(value, depth: int = 0):
    """``value`` as JSON-ready plain data; tuples, sets, dicts and bytes tagged so that they
    come back as what they were. Raises TypeError for anything else (objects, functions)."""
    if depth > 100:
        raise TypeError("nested too deeply")
    if value is None or type(value) in (bool, int, float, str):
        return value
    kind = type(value)
    if kind is list:
        return [encode(v, depth + 1) for v in value]
    tags = {tuple: "t", set: "s", frozenset: "f"}
    if kind in tags:
        return {tags[kind]: [encode(v, depth + 1) for v in value]}
    if kind is dict:
        return {"d": [[encode(k, depth + 1), encode(v, depth + 1)] for k, v in value.items()]}
    if kind is bytes:
        return {"b": value.hex()}
    if kind is complex:
        return {"c": [value.real, value.imag]}
    raise TypeError(f"returned a {kind.__name__}, not plain data")


def decode(data):
    """The inverse of :func:`encode`; raises ValueError on anything it would not make."""
    if data is None or type(data) in (bool, int, float, str):
        return data
    if type(data) is list:
        return [decode(v) for v in data]
    if type(data) is dict and len(data) == 1:
        (tag, items), = data.items()
        if tag == "b" and type(items) is str:
            return bytes.fromhex(items)
        if tag == "c" and type(items) is list and len(items) == 2:
            return complex(*(float(v) for v in items))
        if type(items) is list:
            if tag in ("t", "s", "f"):
                return {"t": tuple, "s": set, "f": frozenset}[tag](decode(v) for v in items)
            if tag == "d":
                return {decode(k): decode(v) for k, v in items}
    raise ValueError("not an encoded value")


def send(fd: int, message) -> None:
    """One length-prefixed JSON message."""
    data = json.dumps(message).encode()
    view = memoryview(struct.pack(">I", len(data)) + data)
    while view:
        view = view[os.write(fd, view):]


def receive(fd: int):
    """One message, or None at end of file. Raises ValueError for an oversized or bad one."""
    head = _read_exactly(fd, 4)
    if head is None:
        return None
    (size,) = struct.unpack(">I", head)
    if size > MAX_FRAME:
        raise ValueError(f"an answer of {size} bytes (the limit is {MAX_FRAME})")
    body = _read_exactly(fd, size)
    if body is None:
        return None
    return json.loads(body)


def _read_exactly(fd: int, size: int) -> bytes | None:
    buf = bytearray()
    while len(buf) < size:
        chunk = os.read(fd, size - len(buf))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


class CandidateError(Exception):
    """The untrusted program raised (or answered with something that is not plain data)."""


class CandidateGone(Exception):
    """The candidate process ended (or broke the protocol) before answering."""


def _rebuilt(name: str, text: str) -> BaseException:
    """The candidate's exception as the judge's tests see it: a builtin type when it was
    one (tests may expect ValueError), else CandidateError."""
    import builtins

    cls = getattr(builtins, name, None)
    if isinstance(cls, type) and issubclass(cls, Exception):
        with contextlib.suppress(Exception):
            return cls(text)
    return CandidateError(f"{name}: {text}")


class Remote:
    """The candidate's entry point as the judge calls it: arguments out, plain data back."""

    def __init__(self, calls: int, answers: int) -> None:
        self.calls = calls
        self.answers = answers

    def __call__(self, *args, **kwargs):
        try:
            send(self.calls, {"args": encode(list(args)), "kwargs": encode(kwargs)})
            answer = receive(self.answers)
        except OSError:
            raise CandidateGone("it stopped answering") from None
        except ValueError as exc:
            raise CandidateGone(f"a broken answer: {exc}") from None
        if not isinstance(answer, dict):
            raise CandidateGone("it stopped answering")
        if "error" in answer:
            name, text = (str(x)[:MAX_DETAIL] for x in answer["error"])
            raise _rebuilt(name, text)
        try:
            return decode(answer.get("value"))
        except (ValueError, TypeError, RecursionError):
            raise CandidateGone("an answer that is not an encoded value") from None


def serve(job: dict, calls: int, answers: int) -> None:
    """In the candidate process: run the program, then answer calls until end of file."""
    import builtins

    try:
        code = compile(job["source"] + "\n", "<candidate>", "exec")
    except (SyntaxError, ValueError) as exc:
        where = f" (line {exc.lineno})" if getattr(exc, "lineno", None) else ""
        send(answers, {"failed": f"syntax error: {getattr(exc, 'msg', exc)}{where}"})
        return
    namespace = {"__name__": "__candidate__", "__builtins__": builtins}
    try:
        exec(code, namespace)
    except BaseException as exc:  # everything the untrusted code raises is a failure
        send(answers, {"failed": describe(exc)})
        return
    function = namespace.get(job["entry_point"])
    if not callable(function):
        send(answers, {"failed": f"the function {job['entry_point']!r} is not defined"})
        return
    send(answers, {"ready": True})
    while (call := receive(calls)) is not None:
        try:
            reply = {"value": encode(function(*decode(call["args"]), **decode(call["kwargs"])))}
        except BaseException as exc:
            reply = {"error": [type(exc).__name__, str(exc)[:MAX_DETAIL]]}
        send(answers, reply)


def describe(exc: BaseException) -> str:
    if isinstance(exc, AssertionError):
        text = "wrong answer (a test assertion failed" + (f": {exc})" if str(exc) else ")")
    elif isinstance(exc, MemoryError):
        text = "memory limit reached (MemoryError)"
    elif isinstance(exc, RecursionError):
        text = "recursion too deep (RecursionError)"
    elif isinstance(exc, CandidateGone):
        text = f"the program ended before the tests finished ({exc})"
    elif isinstance(exc, CandidateError):
        text = str(exc)
    else:
        text = f"{type(exc).__name__}: {exc}"
    text = " ".join(text.split())
    return text if len(text) <= MAX_DETAIL else text[: MAX_DETAIL - 1] + "…"


def judge(job: dict, calls: int, answers: int) -> dict:
    """In the judge: the trusted support code and tests, with the candidate's entry point
    replaced by :class:`Remote`. Returns the result's status and detail."""
    try:
        first = receive(answers)
    except ValueError as exc:
        return {"status": "gone", "detail": describe(CandidateGone(f"a broken message: {exc}"))}
    if first is None:
        return {"status": "gone", "detail": ""}
    if not isinstance(first, dict) or "ready" not in first:
        failed = first.get("failed") if isinstance(first, dict) else None
        return {"status": "failed", "detail": str(failed or "the program broke the protocol")}
    namespace: dict = {"__name__": "__judge__"}
    remote = Remote(calls, answers)
    try:
        exec(compile(job["support"] + "\n", "<support>", "exec"), namespace)
        namespace[job["entry_point"]] = remote  # tests may call it by name, too
        exec(compile(job["test"] + "\n", "<tests>", "exec"), namespace)
        check = namespace.get("check")
        if not callable(check):
            return {"status": "failed", "detail": "the tests define no check() function"}
        check(remote)
    except CandidateGone as exc:
        return {"status": "gone", "detail": describe(exc)}
    except Exception as exc:
        return {"status": "failed", "detail": describe(exc)}
    return {"status": "passed", "detail": ""}


# --------------------------------------------------------------------------- the run


def candidate(job: dict, workdir: str, landlock: Landlock | None, pipes: tuple, result_fd: int,
              guard_network: bool) -> None:
    """The forked candidate process; never returns."""
    try:
        calls, answers = pipes[0][0], pipes[1][1]
        os.close(result_fd)
        os.close(pipes[0][1])
        os.close(pipes[1][0])
        LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if landlock is not None:
            landlock.enforce()  # a nested domain: the judge is out of its reach
        if os.getuid() == 0:  # root of a user namespace, or root who could not drop
            drop_capabilities()
        set_limits(job)
        install_guards(workdir, block_network=guard_network)
        serve(job, calls, answers)
    except BaseException:
        pass
    os._exit(0)


def monitor(job: dict, workdir: str, result_fd: int, facts: dict) -> None:
    """Landlock, then fork the candidate and judge it; writes the result; never returns."""
    write, leave, dumps = os.write, os._exit, json.dumps
    landlock = None
    if facts["landlock"]:
        # "." (the work directory) needs no search permission on its parents, which
        # ``nobody`` may lack
        landlock = Landlock(facts["landlock"], runtime_paths(), ["."])
        try:
            landlock.enforce()
        except OSError:
            facts["landlock"], landlock = 0, None
    try:
        facts["seccomp"] = deny_sockets()  # inherited by the candidate
    except OSError:
        facts["seccomp"] = False
    kernel = bool(facts["landlock"] or facts["namespaces"])
    result = {"nonce": job["nonce"], "isolation": facts}
    if job["require"] and not kernel:
        result.update(status="error", detail="this kernel allows neither Landlock nor user "
                      "namespaces: no kernel-enforced isolation, so the program was not run")
        write(result_fd, dumps(result).encode())
        leave(0)
    guard_network = not (facts["namespaces"] or facts["seccomp"])
    to_candidate, from_candidate = os.pipe(), os.pipe()
    pid = os.fork()
    if pid == 0:
        candidate(job, workdir, landlock, (to_candidate, from_candidate), result_fd,
                  guard_network)
    os.close(to_candidate[0])
    os.close(from_candidate[1])
    LIBC.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    verdict = {"status": "failed", "detail": ""}
    try:
        set_limits(job)
        verdict = judge(job, to_candidate[1], from_candidate[0])
    except BaseException as exc:
        verdict = {"status": "failed", "detail": describe(exc)}
    finally:
        status = _reap(pid, grace=0.5 if verdict["status"] == "gone" else 0.0)
        if verdict["status"] == "gone":  # it stopped answering: say how it ended
            verdict = _ending(status, verdict["detail"])
        result.update(verdict)
        write(result_fd, dumps(result).encode())
        leave(0)


def _reap(pid: int, grace: float) -> int | None:
    """The candidate's wait status if it ends within ``grace`` seconds (None: we killed it)."""
    import time

    deadline = time.monotonic() + grace
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        if time.monotonic() >= deadline:
            break
        time.sleep(0.01)
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return None


def _ending(status: int | None, detail: str) -> dict:
    """Why the candidate stopped answering, from its wait status."""
    if status is not None and os.WIFSIGNALED(status):
        return {"status": "killed", "signal": os.WTERMSIG(status), "detail": detail}
    if status is not None and os.WIFEXITED(status):
        code = os.WEXITSTATUS(status)
        return {"status": "failed", "exit_code": code,
                "detail": f"exited with code {code} before the tests finished"}
    return {"status": "failed", "detail": detail or "the program stopped answering"}


def relay(pid: int) -> None:
    """Outside the PID namespace: wait for its first process and end the same way."""
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)
    os._exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 1)


def main() -> None:
    job = json.loads(sys.stdin.buffer.read(MAX_JOB_BYTES))
    result_fd = os.dup(1)
    os.dup2(2, 1)  # the program's prints go to stderr; stdout carries only the result
    workdir = os.getcwd()
    os.environ.clear()  # started empty; the interpreter may have set LC_CTYPE for itself
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    root = os.geteuid() == 0
    facts = {"namespaces": False, "landlock": landlock_abi(), "seccomp": False,
             "user": "same-user", "hidden": []}
    try:
        facts["hidden"] = enter_namespaces(workdir, int(job["disk_bytes"]),
                                           NOBODY if root else 0)
        facts["namespaces"] = True
    except OSError:
        pass
    if facts["namespaces"]:
        pid = os.fork()  # the first process of the new PID namespace does the rest
        if pid != 0:
            os.close(result_fd)
            relay(pid)
        LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if root:
        facts["user"] = "nobody" if become_nobody(workdir) else "root"
    monitor(job, workdir, result_fd, facts)


if __name__ == "__main__":
    main()
