"""The sandbox's child process: isolate itself, then run one untrusted program and its tests.

Started by :mod:`hybrid_tui.bench.sandbox` as ``python -I -S -B sandbox_child.py`` with an
empty environment, in a fresh temporary directory, in its own session. It reads one JSON job
from stdin and writes one JSON result (carrying the job's nonce) to the file descriptor that
was stdout; the untrusted program's own stdout is sent to stderr, so whatever it prints
cannot pose as a result. Standard library only: this file is never imported by the app.

The order matters. Everything that needs privileges happens first, the untrusted code last:

1. a new network namespace (nothing but a down loopback inside it) when we may make one;
2. as root: the work directory is handed to ``nobody`` and the process becomes ``nobody``
   (after importing the modules HumanEval code uses, in case the interpreter's files are not
   readable by ``nobody``), and ``no_new_privs`` is set; then, if step 1 was refused, a
   network namespace inside a new user namespace, which unprivileged users may often make;
3. resource limits: CPU seconds, address space, file size, no new processes, no core files;
4. guards against destructive calls (file deletion, process control, writes outside the work
   directory; and sockets when there is no network namespace). Guards are a second line, not
   a security boundary: the OS-level steps are what isolate.
"""

import contextlib
import json
import os
import resource
import signal
import sys

CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
PR_SET_NO_NEW_PRIVS = 38
NOBODY = 65534
MAX_JOB_BYTES = 16 * 2**20
MAX_DETAIL = 300

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

#: modules the untrusted code may not import at all
BLOCKED_MODULES = (
    "subprocess", "_posixsubprocess", "multiprocessing", "ctypes", "_ctypes", "pty",
    "resource", "signal", "shutil", "pdb", "ipdb", "joblib", "psutil",
    "tkinter", "webbrowser", "urllib.request", "http.client", "ftplib", "smtplib",
)  # fmt: skip

#: ``os`` functions the untrusted code may not call
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


def _libc():
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True)
    except (ImportError, OSError):
        return None


def _unshare(libc, flags: int) -> bool:
    if hasattr(os, "unshare"):  # Python 3.12+
        try:
            os.unshare(flags)
            return True
        except OSError:
            return False
    return libc is not None and libc.unshare(flags) == 0


def isolate_network(libc, *, user_namespace: bool = False) -> str:
    """A new, empty network namespace: "namespace", or "guard" when the kernel refuses.

    Without privileges a network namespace may still be had inside a new user namespace
    (``user_namespace``); that is tried only after privileges are dropped."""
    flags = CLONE_NEWUSER | CLONE_NEWNET if user_namespace else CLONE_NEWNET
    return "namespace" if _unshare(libc, flags) else "guard"


def set_limits(job: dict) -> None:
    """CPU time, address space, file size; no child processes or threads; no core dumps."""
    cpu = max(1, int(job["cpu_seconds"]))
    memory = int(job["memory_bytes"])
    file_size = int(job["file_bytes"])
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_FSIZE, (file_size, file_size))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))
    # an oversized write fails with an error instead of killing the process unexplained
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


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


def drop_privileges(libc, workdir: str) -> str:
    """As root: become ``nobody`` (owning only ``workdir``). Returns who the code runs as."""
    if os.geteuid() != 0:
        user = "same-user"
    else:
        if not _world_readable(os.path.dirname(os.__file__)):
            for name in PREIMPORT:
                with contextlib.suppress(ImportError):
                    __import__(name)
        try:
            os.chown(workdir, NOBODY, NOBODY)
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            user = "nobody"
        except OSError:
            user = "root"
    if libc is not None:
        libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    return user


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
    """Disable destructive calls and writes outside ``workdir`` for the code that follows."""
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


def _describe(exc: BaseException) -> str:
    if isinstance(exc, AssertionError):
        text = "wrong answer (a test assertion failed" + (f": {exc})" if str(exc) else ")")
    elif isinstance(exc, MemoryError):
        text = "memory limit reached (MemoryError)"
    elif isinstance(exc, RecursionError):
        text = "recursion too deep (RecursionError)"
    else:
        text = f"{type(exc).__name__}: {exc}"
    text = " ".join(text.split())
    return text if len(text) <= MAX_DETAIL else text[: MAX_DETAIL - 1] + "…"


def run(job: dict) -> tuple[str, str]:
    """Run the program, then ``check(entry_point)``: ("passed" | "failed", detail)."""
    import builtins

    source = job["source"] + "\n\n" + job["test"] + "\n"
    try:
        code = compile(source, "<candidate>", "exec")
    except (SyntaxError, ValueError) as exc:
        where = f" (line {exc.lineno})" if getattr(exc, "lineno", None) else ""
        return "failed", f"syntax error: {getattr(exc, 'msg', exc)}{where}"
    namespace = {"__name__": "__candidate__", "__builtins__": builtins}
    try:
        exec(code, namespace)
        candidate = namespace.get(job["entry_point"])
        check = namespace.get("check")
        if not callable(candidate):
            return "failed", f"the function {job['entry_point']!r} is not defined"
        if not callable(check):
            return "failed", "the tests define no check() function"
        check(candidate)
    except BaseException as exc:  # everything the untrusted code raises is a failure
        return "failed", _describe(exc)
    return "passed", ""


def main() -> None:
    job = json.loads(sys.stdin.buffer.read(MAX_JOB_BYTES))
    # kept before the untrusted code runs, which could replace the module attributes
    write, leave, dumps = os.write, os._exit, json.dumps
    result_fd = os.dup(1)
    os.dup2(2, 1)  # the program's prints go to stderr; stdout carries only the result
    workdir = os.getcwd()
    os.environ.clear()  # started empty; the interpreter may have set LC_CTYPE for itself
    libc = _libc()
    network = isolate_network(libc)
    user = drop_privileges(libc, workdir)
    if network != "namespace":
        network = isolate_network(libc, user_namespace=True)
    set_limits(job)
    install_guards(workdir, block_network=network != "namespace")
    status, detail = "failed", ""
    try:
        status, detail = run(job)
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except BaseException:
            pass
        result = {"nonce": job["nonce"], "status": status, "detail": detail,
                  "isolation": {"network": network, "user": user}}
        write(result_fd, dumps(result).encode())
        leave(0)


if __name__ == "__main__":
    main()
