"""``hybrid-tui status`` and ``hybrid-tui models``: probe every backend now and show the result.

Every configured backend is listed, however many (several Ollama hosts, any OpenAI-compatible
servers), with its tier, the model the router would use and whether that model is in memory
("loaded") or would be loaded first ("not loaded": the first reply waits for it).
Both exit 0 when at least one enabled backend is up, else 1 (with how to start each server).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from hybrid_tui.cli_output import (
    console,
    error,
    message,
    quiet_logging,
)
from hybrid_tui.config import BackendConfig, Config, insecure_endpoint, load_config
from hybrid_tui.safetext import strip_control
from hybrid_tui.units import fmt_ms, fmt_size

if TYPE_CHECKING:
    from rich.table import Table

    from hybrid_tui.health import BackendState

_UP = ("up", "degraded")
_STATUS_STYLE = {"up": "bold green", "down": "bold red", "degraded": "yellow"}


async def probe(config: Config) -> dict[str, Any]:
    """A fresh probe of every enabled backend, through the router service's health monitor."""
    from hybrid_tui.router.service import RouterService

    # probing needs no learning store: leave the SQLite file alone
    quiet = replace(config, routing=replace(config.routing, learning_enabled=False))
    service = RouterService(quiet, poll=False)
    try:
        return dict(await service.health.refresh())
    finally:
        await service.aclose()


def _safe(text: object) -> str:
    return strip_control(str(text)) if text is not None else ""


def _warnings(backend: BackendConfig) -> list[str]:
    if insecure_endpoint(backend.endpoint):
        return ["plain http to another machine: prompts and replies travel unencrypted"]
    return []


def backend_record(backend: BackendConfig, state: BackendState | None) -> dict[str, Any]:
    """One backend as a JSON-ready dict (the ``status --json`` shape)."""
    record: dict[str, Any] = {
        "name": backend.name,
        "kind": backend.kind,
        "tier": backend.tier,
        "endpoint": backend.endpoint,
        "enabled": backend.enabled,
        "status": "disabled" if not backend.enabled else "unknown",
        "latency_ms": None,
        "version": None,
        "chosen_model": None,
        "chosen_loaded": None,
        "loaded_known": False,
        "loaded": [],
        "models": [],
        "model_count": 0,
        "last_error": None,
        "error_kind": None,
        "cooldown_s": None,
        "max_concurrent": backend.max_concurrent,
        "queue": 0,
        "predicted_tps": None,
        "warnings": _warnings(backend),
    }
    if state is not None:
        left = state.cooldown_left
        record.update(
            status=f"cooling down {left:.0f} s" if left is not None else state.status,
            cooldown_s=round(left, 1) if left is not None else None,
            latency_ms=state.latency_ms,
            version=state.version,
            chosen_model=state.chosen_model,
            chosen_loaded=state.chosen_loaded,
            loaded_known=state.loaded_known,
            loaded=list(state.loaded),
            models=[m.name for m in state.models],
            model_count=len(state.models),
            last_error=state.last_error,
            error_kind=state.error_kind,
            queue=state.queue,
            predicted_tps=state.predicted_tps,
        )
    return record


def _model_cell(r: dict[str, Any]) -> Any:
    """The model the router would use, marked loaded / not loaded when the server says."""
    from rich.text import Text

    cell = Text(_safe(r["chosen_model"]))
    if r["chosen_model"] and r["chosen_loaded"] is not None:
        if r["chosen_loaded"]:
            cell.append(" (loaded)", style="green")
        else:
            cell.append(" (not loaded)", style="yellow")
    return cell


def _status_cell(status: str) -> Any:
    from rich.text import Text

    default = "yellow" if status.startswith("cooling") else "dim"
    return Text(status, style=_STATUS_STYLE.get(status, default))


def _table(title: str) -> Table:
    from rich import box
    from rich.table import Table

    return Table(title=title, title_justify="left", title_style="bold", header_style="bold",
                 box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)


#: below this many columns the status table stacks its cells, two lines per backend
WIDE_STATUS = 120


def status_table(records: list[dict[str, Any]], *, width: int = WIDE_STATUS) -> Table:
    """The ``status`` table: one row per configured backend (stacked cells when narrow)."""
    from rich.text import Text

    table = _table("hybrid-tui backends")
    wide = width >= WIDE_STATUS
    columns = (("backend", "kind", "tier", "endpoint", "status", "latency", "model", "loaded",
                "models", "last error") if wide
               else ("backend", "status", "endpoint", "model", "last error"))
    for column in columns:
        short = column in ("backend", "kind", "tier", "endpoint", "status", "latency", "models")
        table.add_column(column, overflow="fold", no_wrap=short,
                         justify="right" if column in ("latency", "models") else "left")
    for r in records:
        name = Text(r["name"], style="bold")
        latency = fmt_ms(r["latency_ms"]) if r["latency_ms"] is not None else ""
        loaded = ", ".join(_safe(m) for m in r["loaded"])
        count = str(r["model_count"]) if r["enabled"] else ""
        error = Text(_safe(r["last_error"]), style="red")
        if wide:
            table.add_row(name, r["kind"], r["tier"], Text(r["endpoint"]),
                          _status_cell(r["status"]), latency, _model_cell(r),
                          Text(loaded), count, error)
            continue
        name.append(f"\n{r['kind']} · {r['tier']}", style="dim")
        status = _status_cell(r["status"]).append(f"\n{latency}", style="")
        model = _model_cell(r)
        if r["status"] in _UP:
            model.append(f"\n{count} models; loaded: {loaded or 'none'}", style="dim")
        table.add_row(name, status, Text(r["endpoint"]), model, error)
    return table


def models_table(config: Config, states: dict[str, Any]) -> Table:
    """The ``models`` table: every model of every enabled backend, loaded and picked marked."""
    from rich.text import Text

    table = _table("models per backend")
    for column in ("backend", "model", "loaded", "pick", "type", "size", "context"):
        table.add_column(column, overflow="fold", no_wrap=column != "model",
                         justify="right" if column in ("size", "context") else "left")
    for backend in config.enabled_backends():
        state = states.get(backend.name)
        if state is None or state.status not in _UP:
            reason = _safe(state.last_error) if state is not None else "not probed"
            table.add_row(Text(backend.name, style="bold"), Text(f"down: {reason}", style="red"))
            continue
        if not state.models:
            table.add_row(Text(backend.name, style="bold"), Text("no models listed", style="dim"))
        for i, model in enumerate(state.models):
            table.add_row(
                Text(backend.name if i == 0 else "", style="bold"),
                Text(_safe(model.name)),
                Text("loaded", style="green") if model.loaded else "",
                Text("← router's pick", style="bold cyan")
                if model.name == state.chosen_model else "",
                model.type,
                fmt_size(model.size),
                str(model.context_length or ""),
            )
    return table


def _models_record(backend: BackendConfig, state: BackendState | None) -> dict[str, Any]:
    models = [] if state is None else [
        {"name": m.name, "loaded": m.loaded, "chosen": m.name == state.chosen_model,
         "type": m.type, "size": m.size, "context_length": m.context_length}
        for m in state.models
    ]
    return {
        "name": backend.name,
        "status": state.status if state is not None else "unknown",
        "chosen_model": state.chosen_model if state is not None else None,
        "error": state.last_error if state is not None else None,
        "models": models,
    }


def _report_down(config: Config, states: dict[str, Any]) -> int:
    """Exit code 0 when an enabled backend is up; else 1, saying how to start each one."""
    enabled = config.enabled_backends()
    if any(states.get(b.name) is not None and states[b.name].status in _UP for b in enabled):
        return 0
    from hybrid_tui.router.messages import hint

    parts = []
    for b in enabled:
        state = states.get(b.name)
        why = _safe(state.last_error) if state is not None and state.last_error else "down"
        advice = hint(b.kind, state.error_kind if state is not None else None)
        parts.append(f"{b.name} at {b.endpoint} is down ({why})"
                     + (f"; {advice}" if advice else ""))
    error("no backend is up: " + ". ".join(parts) + ".")
    return 1


def run_status(args: argparse.Namespace) -> int:
    """The ``status`` command."""
    config = load_config(args.config)
    quiet_logging()
    states = asyncio.run(probe(config))
    records = [backend_record(b, states.get(b.name)) for b in config.backends.values()]
    if args.json:
        sys.stdout.write(json.dumps({"backends": records}, indent=2, default=str) + "\n")
    else:
        out = console()
        out.print(status_table(records, width=out.width))
        for r in records:
            for warning in r["warnings"]:
                message(f"warning: {r['name']}: {warning}", style="yellow")
    return _report_down(config, states)


def run_models(args: argparse.Namespace) -> int:
    """The ``models`` command."""
    config = load_config(args.config)
    quiet_logging()
    states = asyncio.run(probe(config))
    if args.json:
        records = [_models_record(b, states.get(b.name)) for b in config.enabled_backends()]
        sys.stdout.write(json.dumps({"backends": records}, indent=2, default=str) + "\n")
    else:
        console().print(models_table(config, states))
    return _report_down(config, states)
