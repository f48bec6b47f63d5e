"""The sandbox that runs generated code: correct code passes, wrong code fails, and code that
loops, allocates without bound, deletes files, opens sockets, forks or exits early is stopped
and scored as a failure, with nothing outside its temporary directory changed."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest

from hybrid_tui.bench.sandbox import Isolation, Limits, check_isolation, run_tests
from hybrid_tui.bench.sandbox_child import decode, encode

CHECK = "def check(candidate):\n    assert candidate(2) == 4\n    assert candidate(5) == 10\n"
ROOT = os.geteuid() == 0


def snapshot(directory: Path) -> dict[str, tuple[int, bytes]]:
    """Every file under ``directory`` with its mode and content."""
    return {
        str(p.relative_to(directory)): (p.stat().st_mode, p.read_bytes() if p.is_file() else b"")
        for p in sorted(directory.rglob("*"))
    }


@pytest.fixture
def limits(tmp_path):
    """Short limits, temp dirs under a folder the test can inspect."""
    parent = tmp_path / "sandboxes"
    parent.mkdir()
    return Limits(timeout=3.0, memory_bytes=256 * 2**20, workdir_parent=str(parent))


@pytest.fixture
def canary(tmp_path):
    """A directory with a file that no sandboxed program may change."""
    home = tmp_path / "outside"
    home.mkdir()
    (home / "canary.txt").write_text("still here\n")
    (home / "sub").mkdir()
    (home / "sub" / "data.bin").write_bytes(b"\x00\x01")
    return home


async def test_a_correct_completion_passes(limits):
    result = await run_tests("def double(x):\n    return x * 2\n", CHECK, "double", limits=limits)
    assert result.passed, result.detail
    assert result.status == "passed"


async def test_a_wrong_completion_fails_with_the_reason(limits):
    result = await run_tests("def double(x):\n    return x + 2\n", CHECK, "double", limits=limits)
    assert not result.passed
    assert result.status == "failed"
    assert "assertion" in result.detail


async def test_a_syntax_error_fails(limits):
    result = await run_tests("def double(x:\n    return x\n", CHECK, "double", limits=limits)
    assert result.status == "failed"
    assert "syntax error" in result.detail


async def test_a_missing_function_fails(limits):
    result = await run_tests("def other(x):\n    return x * 2\n", CHECK, "double", limits=limits)
    assert result.status == "failed"
    assert "'double' is not defined" in result.detail


async def test_an_endless_loop_is_stopped_at_the_wall_clock_limit(limits):
    # a CPU limit far above the wall clock, so that only the wall clock can stop it
    quick = Limits(timeout=1.0, cpu_seconds=60, workdir_parent=limits.workdir_parent)
    source = "def double(x):\n    while True:\n        pass\n"
    result = await run_tests(source, CHECK, "double", limits=quick)
    assert result.status == "timeout"
    assert not result.passed
    assert result.seconds < 30  # a generous sanity bound, not a timing assertion
    assert list(Path(limits.workdir_parent).iterdir()) == []


async def test_an_endless_loop_is_stopped_at_the_cpu_limit(limits):
    tight = Limits(timeout=60.0, cpu_seconds=1, workdir_parent=limits.workdir_parent)
    source = "def double(x):\n    while True:\n        pass\n"
    result = await run_tests(source, CHECK, "double", limits=tight)
    assert result.status == "killed"
    assert "CPU" in result.detail
    assert not result.passed
    assert list(Path(limits.workdir_parent).iterdir()) == []


def test_by_default_the_wall_clock_fires_before_the_cpu_limit():
    assert Limits(timeout=1.0).cpu > 1.0
    assert Limits(timeout=2.5).cpu >= 3


async def test_unbounded_allocation_is_stopped_and_fails(limits):
    source = "def double(x):\n    hoard = []\n    while True:\n        hoard.append(' ' * 10**6)\n"
    result = await run_tests(source, CHECK, "double", limits=limits)
    assert not result.passed
    assert result.status in ("failed", "killed", "timeout")
    if result.status == "failed":
        assert "memory" in result.detail.lower()


async def test_deleting_or_overwriting_files_outside_fails_and_changes_nothing(
    limits, canary, tmp_path
):
    before = snapshot(tmp_path / "outside")
    attempts = textwrap.dedent(f"""
        import os, pathlib
        target = {str(canary / "canary.txt")!r}
        folder = {str(canary)!r}
        errors = []
        for attempt in (
            lambda: os.remove(target),
            lambda: os.unlink(target),
            lambda: pathlib.Path(target).unlink(),
            lambda: open(target, "w").write("gone"),
            lambda: os.rename(target, target + ".moved"),
            lambda: os.truncate(target, 0),
            lambda: os.system("rm -rf " + folder),
            lambda: __import__("shutil").rmtree(folder),
        ):
            try:
                attempt()
            except Exception as exc:
                errors.append(type(exc).__name__)

        def double(x):
            raise RuntimeError("blocked: " + ",".join(errors))
    """)
    result = await run_tests(attempts, CHECK, "double", limits=limits)
    assert not result.passed
    assert "PermissionError" in result.detail
    assert snapshot(tmp_path / "outside") == before
    assert list(Path(limits.workdir_parent).iterdir()) == []  # its own temp dir is gone too


async def test_a_completion_that_deletes_a_file_is_scored_a_failure(limits, canary):
    source = f"import os\n\ndef double(x):\n    os.remove({str(canary / 'canary.txt')!r})\n" \
        "    return x * 2\n"
    result = await run_tests(source, CHECK, "double", limits=limits)
    assert result.status == "failed"
    assert (canary / "canary.txt").read_text() == "still here\n"


async def test_writing_inside_its_own_directory_is_allowed(limits):
    source = textwrap.dedent("""
        def double(x):
            with open("scratch.txt", "w") as fh:
                fh.write(str(x))
            with open("scratch.txt") as fh:
                return int(fh.read()) * 2
    """)
    result = await run_tests(source, CHECK, "double", limits=limits)
    assert result.passed, result.detail


async def test_a_socket_to_a_loopback_listener_never_connects(limits):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port = listener.getsockname()[1]
        source = textwrap.dedent(f"""
            import socket
            def double(x):
                s = socket.socket()
                s.settimeout(2)
                s.connect(("127.0.0.1", {port}))
                s.sendall(b"leak")
                return x * 2
        """)
        result = await run_tests(source, CHECK, "double", limits=limits)
        listener.settimeout(0.3)
        with pytest.raises(TimeoutError):
            listener.accept()  # nothing ever arrived
    assert result.status == "failed"


async def test_starting_processes_is_refused(limits):
    for source in (
        "import os\n\ndef double(x):\n    os.fork()\n    return x * 2\n",
        "import subprocess\n\ndef double(x):\n    return x * 2\n",
        "import os\n\ndef double(x):\n    os.system('true')\n    return x * 2\n",
    ):
        result = await run_tests(source, CHECK, "double", limits=limits)
        assert result.status == "failed", source


async def test_exiting_before_the_tests_is_not_a_pass(limits):
    for source in ("import os\nos._exit(0)\n", "import sys\nsys.exit(0)\n",
                   "def double(x):\n    raise SystemExit(0)\n"):
        result = await run_tests(source, CHECK, "double", limits=limits)
        assert not result.passed, source


async def test_printing_a_flood_is_capped(limits):
    source = "print('x' * 5_000_000)\n\ndef double(x):\n    return x * 2\n"
    result = await run_tests(source, CHECK, "double", limits=limits)
    assert result.passed, result.detail
    assert len(result.output) <= limits.output_bytes


async def test_the_program_sees_an_empty_environment(limits, monkeypatch):
    monkeypatch.setenv("HYBRID_TUI_SECRET_FOR_TEST", "s3cret")
    source = "import os\n\ndef double(x):\n    assert not os.environ, dict(os.environ)\n" \
        "    return x * 2\n"
    result = await run_tests(source, CHECK, "double", limits=limits)
    assert result.passed, result.detail


@pytest.mark.skipif(not ROOT, reason="dropping to nobody needs root")
async def test_as_root_the_sandbox_runs_as_nobody_and_says_what_holds(limits):
    isolation = await check_isolation(limits)
    assert isolation is not None
    assert isolation.user == "nobody"
    assert any("runs as user nobody" in note for note in isolation.notes())
    if isolation.namespaces:
        assert isolation.network_isolated
        assert any("no network at all" in note for note in isolation.notes())


def test_the_guards_alone_block_deletion_writes_and_sockets(tmp_path, canary):
    """Where namespaces are refused (no privileges), the Python-level guards still hold."""
    work = tmp_path / "work"
    work.mkdir()
    script = textwrap.dedent(f"""
        import os, sys
        from hybrid_tui.bench.sandbox_child import install_guards
        install_guards(os.getcwd(), block_network=True)
        results = []
        for name, attempt in (
            ("remove", lambda: os.remove({str(canary / "canary.txt")!r})),
            ("write", lambda: open({str(canary / "canary.txt")!r}, "a").write("x")),
            ("os.open", lambda: os.open({str(canary / "new.txt")!r}, os.O_CREAT | os.O_WRONLY)),
            ("socket", lambda: __import__("socket")),
            ("fork", lambda: os.fork()),
        ):
            try:
                attempt()
                results.append(name + ":allowed")
            except (PermissionError, ImportError):
                results.append(name + ":blocked")
        with open("inside.txt", "w") as fh:
            fh.write("ok")
        print(" ".join(results))
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=work, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["remove:blocked", "write:blocked", "os.open:blocked",
                                   "socket:blocked", "fork:blocked"]
    assert (work / "inside.txt").read_text() == "ok"
    assert (canary / "canary.txt").read_text() == "still here\n"
    assert not (canary / "new.txt").exists()


@pytest.mark.parametrize("value", [
    None, True, 0, -7, 2**70, 1.5, float("inf"), "", "naïve\n", [1, [2, (3,)]], (1, "a"),
    (), {"k": [1, 2], 3: (4,)}, {1, 2}, frozenset({"x"}), b"\x00\xff", 1 + 2j,
    [{"t": [1]}],  # a dict that looks like a tag stays a dict
])
def test_answers_cross_from_candidate_to_judge_as_the_same_plain_values(value):
    back = decode(json.loads(json.dumps(encode(value))))
    assert back == value and type(back) is type(value)


@pytest.mark.parametrize("value", [object(), len, iter([1]), [1, object()], {"k": max}])
def test_answers_that_are_not_plain_data_are_refused(value):
    with pytest.raises(TypeError):
        encode(value)


@pytest.mark.parametrize("data", [{"x": []}, {"t": 1}, {"a": 1, "b": 2}, {"b": "zz"}])
def test_the_judge_refuses_what_encode_never_makes(data):
    with pytest.raises(ValueError):
        decode(data)


async def test_a_value_that_equals_everything_does_not_pass(limits):
    source = ("class Anything:\n    def __eq__(self, other):\n        return True\n\n\n"
              "def double(x):\n    return Anything()\n")
    result = await run_tests(source, CHECK, "double", limits=limits)
    assert result.status == "failed"
    assert "not plain data" in result.detail


async def test_tests_that_call_the_function_by_name_reach_the_program(limits):
    test = "def check(candidate):\n    assert double(2) == candidate(2) == 4\n"
    result = await run_tests("def double(x):\n    return x * 2\n", test, "double",
                             support="def double(x):\n    pass\n", limits=limits)
    assert result.passed, result.detail


async def test_the_program_sees_a_read_only_world_with_empty_shared_directories(limits):
    isolation = await check_isolation(limits)
    if isolation is None or not isolation.namespaces:
        pytest.skip("this kernel allows no namespaces")
    places = (*isolation.hidden, "/proc")
    source = textwrap.dedent(f"""
        import errno, posix
        def double(x):
            seen = {{}}
            for place in {places!r}:
                try:
                    seen[place] = posix.listdir(place)
                except OSError as exc:
                    seen[place] = exc.errno
            writes = []
            for target in [p + "/x" for p in {places!r}] + ["/etc/x", "/x"]:
                try:
                    posix.open(target, posix.O_CREAT | posix.O_WRONLY, 0o600)
                    writes.append(target)
                except OSError:
                    pass
            assert not writes, writes
            # empty, or (Landlock) not even readable
            assert all(v in ([], errno.EACCES) for v in seen.values()), seen
            return x * 2
    """)
    result = await run_tests(source, CHECK, "double", limits=limits)
    assert result.passed, result.detail
    assert "/tmp" in isolation.hidden and "/dev/shm" in isolation.hidden


async def test_its_directory_holds_no_more_than_the_disk_limit(limits):
    isolation = await check_isolation(limits)
    if isolation is None or not isolation.namespaces:
        pytest.skip("this kernel allows no namespaces (no private tmpfs)")
    small = replace(limits, disk_bytes=4 * 2**20, file_bytes=2**20)
    source = textwrap.dedent("""
        import posix
        def double(x):
            total = 0
            try:
                for n in range(32):
                    fd = posix.open(f"f{n}", posix.O_CREAT | posix.O_WRONLY, 0o600)
                    total += posix.write(fd, b"x" * 2**20)
                    posix.close(fd)
            except OSError:
                pass
            return total
    """)
    test = "def check(candidate):\n    assert 0 < candidate(0) <= 4 * 2**20\n"
    result = await run_tests(source, test, "double", limits=small)
    assert result.passed, result.detail


async def test_open_files_are_limited(limits):
    source = textwrap.dedent("""
        def double(x):
            held = [open(f"f{n}", "w") for n in range(64)]
            return x * 2
    """)
    result = await run_tests(source, CHECK, "double", limits=limits)
    assert result.status == "failed"
    assert "Too many open files" in result.detail


def test_the_notes_say_what_holds_and_what_does_not():
    none = Isolation(0, False, "same-user").notes()
    assert any("NO kernel-enforced isolation" in n and "forged" in n for n in none)
    full = Isolation(7, True, "same-user", ("/tmp", "/run"), seccomp=True)
    text = " | ".join(full.notes())
    assert "Landlock ABI 7 and user, mount, network and PID namespaces" in text
    assert "no network at all" in text and "/tmp, /run look empty" in text
    assert "cannot signal processes outside" in text and "socket() and io_uring" in text
    assert "hard-coding the tested cases" in text
    old = " | ".join(Isolation(3, False, "same-user").notes())
    assert "network is NOT isolated" in old and "unix socket files" in old
    tcp_only = " | ".join(Isolation(5, False, "same-user", seccomp=True).notes())
    assert "UDP is NOT blocked" in tcp_only and "could signal" not in tcp_only
    namespaces_only = " | ".join(Isolation(0, True, "same-user").notes())
    assert "may READ" in namespaces_only and "could signal those of its user" in namespaces_only
    assert Isolation(0, True, "nobody").kernel_enforced and not Isolation(0, False, "nobody") \
        .kernel_enforced
