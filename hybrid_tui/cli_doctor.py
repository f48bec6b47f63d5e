"""``hybrid-tui doctor``: check the setup and say, for every problem, the fix in one line.

It reports the config file in use (and whether it is valid), then probes every enabled
backend: reachable or not (connection refused, timed out and DNS failures told apart),
server version, models, loaded models and the model the router would pick; and which
isolation the benchmark's sandbox gets on this machine. Exit 0 when every enabled backend is
usable, 1 otherwise, 2 when the config is invalid (as everywhere).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from hybrid_tui.cli_output import console
from hybrid_tui.config import BackendConfig, Config, insecure_endpoint, load_config
from hybrid_tui.errors import ConfigError
from hybrid_tui.safetext import strip_control
from hybrid_tui.units import fmt_ms

if TYPE_CHECKING:
    from rich.console import Console

    from hybrid_tui.bench.sandbox import Isolation
    from hybrid_tui.health import BackendState

_UP = ("up", "degraded")
#: what to pull or load when a backend has no chat model and no preference is configured
FALLBACK_MODEL = {"ollama": "codellama:7b", "openai": "qwen2.5-coder-7b-instruct"}


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing doctor found: ``level`` "problem" (not usable), "warning" or "info"."""

    level: str
    text: str
    fix: str | None = None


@dataclass(slots=True)
class BackendReport:
    """One backend's diagnosis (the ``--json`` shape, via :meth:`to_dict`)."""

    name: str
    kind: str
    tier: str
    endpoint: str
    enabled: bool
    reachable: bool = False
    usable: bool = False
    error_kind: str | None = None
    error: str | None = None
    latency_ms: float | None = None
    version: str | None = None
    models: list[str] = field(default_factory=list)
    loaded: list[str] = field(default_factory=list)
    chosen_model: str | None = None
    findings: list[Finding] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["findings"] = [asdict(f) for f in self.findings]
        return data


# --------------------------------------------------------------------------- config


def config_in_use(path: str | None, env: dict[str, str] | None = None) -> tuple[str, str]:
    """(the file the config comes from, how it was chosen), in ``load_config``'s order."""
    from hybrid_tui.locations import config_file

    env = dict(os.environ) if env is None else env
    if path:
        return path, "--config"
    if env.get("HYBRID_TUI_CONFIG"):
        return env["HYBRID_TUI_CONFIG"], "$HYBRID_TUI_CONFIG"
    candidate = config_file()
    if candidate.is_file():
        return str(candidate), "the user config file"
    return "built-in defaults", f"no {candidate} exists"


# --------------------------------------------------------------------------- diagnosis


def _host_port(endpoint: str) -> tuple[str, int]:
    parts = urlsplit(endpoint)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return parts.hostname or "localhost", port


def start_fix(backend: BackendConfig) -> str:
    """How to start this kind of server on the configured address, in one line."""
    host, port = _host_port(backend.endpoint)
    if backend.kind == "ollama":
        if port == 11434 and host in ("localhost", "127.0.0.1", "::1"):
            return "run `ollama serve`"
        return f"run `OLLAMA_HOST={host}:{port} ollama serve`"
    return (f"start LM Studio's server on port {port} (Developer tab, or "
            f"`lms server start --port {port}`) and load a model")  # fmt: skip


def _model_fix(backend: BackendConfig, model: str) -> str:
    if backend.kind == "ollama":
        return f"run `ollama pull {model}`"
    return f"download and load {model} in LM Studio (`lms get {model}`, then `lms load {model}`)"


def _unreachable(backend: BackendConfig, state: BackendState) -> Finding:
    host, port = _host_port(backend.endpoint)
    kind = state.error_kind or "other"
    error = strip_control(state.last_error or "no answer")
    start = start_fix(backend)
    if kind == "refused":
        return Finding("problem", f"connection refused: nothing listens on {host}:{port}", start)
    if kind == "connect-timeout":
        return Finding("problem", f"connection to {host}:{port} timed out (host down or "
                       "firewalled?)", f"check the address in backends.{backend.name}.endpoint "
                       f"and the firewall; then {start}")  # fmt: skip
    if kind == "dns":
        return Finding("problem", f"cannot resolve the host name {host!r}",
                       f"correct the host in backends.{backend.name}.endpoint")
    if kind == "timeout":
        return Finding("problem", f"connected, but no answer in time ({error})",
                       f"the server is hung or overloaded: restart it ({start})")
    if kind == "http":
        server = "an Ollama" if backend.kind == "ollama" else "an OpenAI-compatible"
        endpoint = (f"check that {backend.endpoint} is {server} server "
                    f"(backends.{backend.name}.endpoint and kind)")  # fmt: skip
        return Finding("problem", f"the server answered with an error: {error}",
                       _key_fix(backend, error, endpoint))  # fmt: skip
    return Finding("problem", f"not reachable: {error}", start)


def _key_fix(backend: BackendConfig, error: str, otherwise: str) -> str:
    """The fix for an HTTP error: a key sent or wanted comes first. Proxies do not all say
    401: LiteLLM without a database answers a wrong key with a 400 ("No connected db.") and
    a missing one with a bare 500."""
    env = backend.api_key_env
    if env:
        return (f"check that ${env} holds a key this server accepts (LiteLLM without a "
                f"database says HTTP 400 \"No connected db.\" to a wrong key and HTTP 500 to "
                f"none); else {otherwise}")  # fmt: skip
    if error.startswith(("HTTP 401", "HTTP 403")):
        return (f"the server wants a key: export it in a variable and name that in "
                f"backends.{backend.name}.api_key_env")  # fmt: skip
    return otherwise


def diagnose(backend: BackendConfig, state: BackendState | None) -> BackendReport:
    """The findings for one backend from its probe (``state`` None: not probed)."""
    report = BackendReport(backend.name, backend.kind, backend.tier, backend.endpoint,
                           backend.enabled)  # fmt: skip
    if insecure_endpoint(backend.endpoint):
        report.findings.append(Finding(
            "warning", "plain http to another machine: prompts and replies travel unencrypted",
            "use https (a TLS proxy) or an SSH tunnel to localhost"))  # fmt: skip
    if backend.api_key_env and not os.environ.get(backend.api_key_env):
        report.findings.append(Finding(
            "warning", f"backends.{backend.name}.api_key_env names ${backend.api_key_env}, "
            "which is not set", f"export {backend.api_key_env}=<your key>"))  # fmt: skip
    if not backend.enabled:
        report.findings.append(Finding("info", "disabled in the config: not checked"))
        return report
    if state is None:
        report.findings.append(Finding("problem", "not probed", start_fix(backend)))
        return report
    report.error_kind, report.error = state.error_kind, state.last_error
    report.latency_ms, report.version = state.latency_ms, state.version
    report.models = [m.name for m in state.models]
    report.loaded = list(state.loaded)
    report.chosen_model = state.chosen_model
    if state.status not in _UP:
        report.findings.append(_unreachable(backend, state))
        return report
    report.reachable = True
    chat = [m.name for m in state.models if m.type != "embedding"]
    wanted = backend.models[0] if backend.models else FALLBACK_MODEL[backend.kind]
    if state.chosen_model is None:
        report.findings.append(Finding("problem", "the server lists no chat model",
                                       _model_fix(backend, wanted)))
        return report
    report.usable = True
    if backend.models and not any(p.lower() in m.lower() for p in backend.models for m in chat):
        report.findings.append(Finding(
            "warning", f"none of the preferred models ({', '.join(backend.models)}) is on the "
            f"server; the router uses {state.chosen_model} instead",
            _model_fix(backend, wanted) + f", or change backends.{backend.name}.models"))
    if state.loaded and state.chosen_model not in state.loaded:
        report.findings.append(Finding(
            "info", f"{state.chosen_model} is not loaded: the first reply waits while it loads"))
    if state.latency_ms is not None and state.latency_ms > 2000:
        report.findings.append(Finding(
            "warning", f"slow to answer a probe ({fmt_ms(state.latency_ms)})",
            "the machine may be busy or swapping; close other model servers"))  # fmt: skip
    return report


async def _probe(config: Config) -> tuple[dict[str, Any], Isolation | None]:
    """The backends' states and, at the same time, what the sandbox achieves here."""
    from hybrid_tui.bench.sandbox import check_isolation
    from hybrid_tui.cli_status import probe

    states, isolation = await asyncio.gather(probe(config), check_isolation())
    return states, isolation


def sandbox_summary(isolation: Isolation | None) -> tuple[bool, str]:
    """(kernel-enforced, one line) on the benchmark's sandbox."""
    if isolation is None:
        return False, "the sandbox could not start a Python process: benchmark cannot run"
    if not isolation.kernel_enforced:
        return False, ("no kernel-enforced isolation (neither Landlock nor user namespaces): "
                       "benchmark refuses to run generated code unless --no-isolation")
    return True, isolation.notes()[1]


# --------------------------------------------------------------------------- output


_MARK = {"problem": ("✗", "bold red"), "warning": ("!", "yellow"), "info": ("·", "dim")}


def _print_config(out: Console, where: str, how: str, problem: str | None) -> None:
    from rich.text import Text

    line = Text("config  ", style="bold").append(strip_control(where))
    line.append(f"  ({how})", style="dim")
    if problem is None:
        line.append("  valid", style="green")
    out.print(line)
    if problem is not None:
        out.print(Text("  ✗ ", style="bold red").append(strip_control(problem)))
        out.print(Text("    fix: ", style="bold").append(
            "correct the key named above (config.example.yaml documents every key), or move "
            "the file away to use the built-in defaults"))


def _print_backend(out: Console, r: BackendReport) -> None:
    from rich.text import Text

    mark, style = ("✓", "bold green") if r.usable else ("✗", "bold red")
    if not r.enabled:
        mark, style = "–", "dim"
    out.print(Text(f"{mark} ", style=style).append(r.name, style="bold").append(
        f"  {r.kind} · {r.tier} · {r.endpoint}", style="dim"))
    if r.reachable:
        facts = [f"reachable in {fmt_ms(r.latency_ms)}", f"version {r.version or '–'}",
                 f"{len(r.models)} models", f"loaded: {', '.join(r.loaded) or 'none'}"]
        out.print(Text("    " + strip_control(" · ".join(facts))))
        if r.chosen_model:
            out.print(Text("    router's pick: ", style="dim").append(
                strip_control(r.chosen_model), style="bold cyan"))
    for f in r.findings:
        sign, fstyle = _MARK[f.level]
        out.print(Text(f"    {sign} ", style=fstyle).append(strip_control(f.text)))
        if f.fix:
            out.print(Text("      fix: ", style="bold").append(strip_control(f.fix)))


def _print_sandbox(out: Console, isolation: Isolation | None) -> None:
    from rich.text import Text

    enforced, line = sandbox_summary(isolation)
    mark, style = ("✓", "bold green") if enforced else ("!", "yellow")
    out.print(Text(f"{mark} ", style=style).append("sandbox", style="bold").append(
        "  (benchmark's generated code)", style="dim"))
    out.print(Text("    " + line))


def run_doctor(args: argparse.Namespace) -> int:
    """The ``doctor`` command."""
    where, how = config_in_use(args.config)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        if args.json:
            data = {"config": {"path": where, "chosen_by": how, "valid": False,
                               "problem": str(exc)}, "backends": [], "ok": False}
            sys.stdout.write(json.dumps(data, indent=2) + "\n")
        else:
            _print_config(console(), where, how, str(exc))
        return 2
    states, isolation = asyncio.run(_probe(config))
    reports = [diagnose(b, states.get(b.name)) for b in config.backends.values()]
    enabled = [r for r in reports if r.enabled]
    ok = all(r.usable for r in enabled)
    if args.json:
        data = {"config": {"path": where, "chosen_by": how, "valid": True, "problem": None},
                "backends": [r.to_dict() for r in reports], "ok": ok,
                "sandbox": isolation.to_dict() if isolation else None}
        sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
        return 0 if ok else 1
    out = console()
    _print_config(out, where, how, None)
    out.print()
    for r in reports:
        _print_backend(out, r)
    _print_sandbox(out, isolation)
    out.print()
    bad = sum(not r.usable for r in enabled)
    if ok:
        everyone = "the enabled backend is" if len(enabled) == 1 else \
            f"all {len(enabled)} enabled backends are"
        out.print(f"{everyone} usable.", style="bold green")
    else:
        out.print(f"{bad} of {len(enabled)} enabled backends not usable; see the fixes above.",
                  style="bold red")
    return 0 if ok else 1
