"""``hybrid-tui fine-tune``: scan a directory, build its profile, optionally write a training
set, and create a derived Ollama model, printing each step and the server's status lines.

Weights are trained only when ``--adapter`` supplies a LoRA adapter (GGUF) trained elsewhere,
e.g. on the ``--dataset-out`` file; otherwise the new model is the base model plus the
project profile as its system prompt. Exit 0 created, 1 the server could not, 2 usage.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from hybrid_tui.backends import ModelInfo, make_backend
from hybrid_tui.backends.transport import HTTPBackend, make_client, same_model
from hybrid_tui.cli_output import message
from hybrid_tui.config import BackendConfig, Config, load_config
from hybrid_tui.errors import BackendError, BackendTimeout, BackendUnavailable, UsageError
from hybrid_tui.finetune.create import (
    Adapter,
    check_model_name,
    create_body,
    create_model,
    read_adapter,
    upload_adapter,
)
from hybrid_tui.finetune.dataset import write_dataset
from hybrid_tui.finetune.profile import build_profile
from hybrid_tui.finetune.scan import scan

#: a low temperature suits code; more with --parameter KEY=VALUE
DEFAULT_PARAMETERS: dict[str, Any] = {"temperature": 0.2}
CLIENT_TIMEOUT = 30.0
#: seconds the model list may take as a whole (httpx's timeouts bound each read only)
LIST_TIMEOUT = 15.0


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def ollama_backend(config: Config, name: str | None) -> BackendConfig:
    """The backend to create the model on: ``name``, else the first enabled Ollama one."""
    if name is not None:
        backend = config.backends.get(name)
        if backend is None:
            raise UsageError(f"unknown backend {name!r} (configured: {', '.join(config.backends)})")
        if backend.kind != "ollama":
            raise UsageError(f"backend {name!r} is kind {backend.kind!r}; fine-tune creates "
                             "models on an Ollama server (kind: ollama)")
        return backend
    for backend in config.enabled_backends():
        if backend.kind == "ollama":
            return backend
    raise UsageError("no enabled Ollama backend in the config; fine-tune needs one")


def parse_parameters(items: list[str]) -> dict[str, Any]:
    """``KEY=VALUE`` pairs (numbers and true/false parsed; a repeated key makes a list)."""
    params: dict[str, Any] = dict(DEFAULT_PARAMETERS)
    given: dict[str, list[Any]] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--parameter {item!r}: expected KEY=VALUE")
        value: Any = raw
        for cast in (int, float):
            try:
                value = cast(raw)
                break
            except ValueError:
                continue
        if raw.lower() in ("true", "false"):
            value = raw.lower() == "true"
        given.setdefault(key.strip(), []).append(value)
    for key, values in given.items():
        params[key] = values if len(values) > 1 or key == "stop" else values[0]
    return params


async def _create(args: argparse.Namespace, cfg: BackendConfig, body: dict[str, Any],
                  adapter: Adapter | None) -> dict[str, Any]:  # fmt: skip
    """Talk to the server: base model present, adapter uploaded, ``body`` sent to
    ``/api/create`` as it is, model listed."""
    async with make_client([cfg.endpoint], timeout=CLIENT_TIMEOUT) as client:
        backend = make_backend(cfg, client)
        assert isinstance(backend, HTTPBackend)
        models = await listed_models(backend)
        if not any(same_model(m.name, args.model) for m in models):
            raise BackendError(f"the base model {args.model!r} is not on {cfg.name} at "
                               f"{backend.where}; pull it first: `ollama pull {args.model}`",
                               backend=cfg.name)  # fmt: skip
        if adapter is not None:
            message(f"uploading the adapter {adapter.path.name} ({adapter.size:,} bytes) "
                    f"as blob {adapter.digest[:19]}…")  # fmt: skip
            uploaded = await upload_adapter(backend, adapter)
            message("  uploaded" if uploaded else "  the server already has it")
        message(f"creating {args.new_model_name} from {args.model} on {cfg.name} "
                f"({backend.where}):")  # fmt: skip
        statuses = []
        async for status in create_model(backend, body):
            statuses.append(status)
            message(f"  {cfg.name}: {status}", style="dim")
        listed = [m.name for m in await listed_models(backend)
                  if same_model(m.name, args.new_model_name)]  # fmt: skip
    return {"statuses": statuses, "listed": listed, "adapter": adapter is not None}


async def listed_models(backend: HTTPBackend) -> list[ModelInfo]:
    """The server's models, within ``LIST_TIMEOUT`` in all."""
    try:
        async with asyncio.timeout(LIST_TIMEOUT):
            return await backend.models()
    except TimeoutError:
        raise BackendTimeout(f"the model list did not arrive within {LIST_TIMEOUT:g} s",
                             backend=backend.name) from None  # fmt: skip


def run_finetune(args: argparse.Namespace) -> int:
    """The ``fine-tune`` command."""
    config = load_config(args.config)
    cfg = ollama_backend(config, args.backend)
    check_model_name(args.new_model_name)
    params = parse_parameters(args.parameter)
    directory = Path(args.directory).expanduser()
    if not directory.is_dir():
        raise UsageError(f"--directory {args.directory}: not a directory")
    if args.adapter and not Path(args.adapter).expanduser().is_file():
        raise UsageError(f"--adapter {args.adapter}: not found (or not a file)")

    message(f"reading {directory.resolve()} …")
    result = scan(directory)
    message(result.summary())
    kept_out = bool(result.secret_files or result.redactions)
    message(result.secrets_report(), style="yellow" if kept_out else "dim")
    if not result.files:
        raise UsageError(f"--directory {args.directory}: no text files to learn from")
    profile = build_profile(result, name=args.new_model_name.split(":")[0])
    langs = ", ".join(lang for lang, _f, _s in profile.languages[:4]) or "none detected"
    message(f"project profile: {len(profile.text):,} characters (budget {profile.budget:,}); "
            f"languages: {langs}; {plural(len(profile.apis), 'key API')}")  # fmt: skip
    dataset = None
    if args.dataset_out:
        stats = write_dataset(result, args.dataset_out, name=profile.name)
        dataset = {"path": str(stats.path), "examples": stats.examples}
        message(f"wrote {plural(stats.examples, 'chat example')} ("
                f"{plural(stats.definitions, 'definition')}, "
                f"{plural(stats.continuations, 'continuation')}) to {stats.path}")  # fmt: skip
    adapter = asyncio.run(read_adapter(args.adapter)) if args.adapter else None
    body = create_body(args.new_model_name, args.model, system=profile.text, parameters=params,
                       adapters={adapter.path.name: adapter.digest} if adapter else None)
    if args.dry_run:
        sys.stdout.write(json.dumps(body, indent=2, ensure_ascii=False) + "\n")
        message(f"dry run: the body above is what POST /api/create would send to {cfg.name}; "
                "nothing was sent" + (" (the adapter would be uploaded first)" if adapter
                                      else ""), style="bold")  # fmt: skip
        return 0
    if not args.adapter:
        message("no --adapter: no weights are trained; the new model is the base model with "
                "this project's profile as its system prompt", style="yellow")
    try:
        outcome = asyncio.run(_create(args, cfg, body, adapter))
    except BackendUnavailable as exc:
        from hybrid_tui.cli_doctor import start_fix

        raise BackendError(f"{exc.message}; {start_fix(cfg)}", backend=cfg.name) from None
    what = ("with the LoRA adapter" if outcome["adapter"]
            else "system-prompt profile, no new weights")  # fmt: skip
    message(f"created {args.new_model_name} from {args.model} ({what}); listed by {cfg.name} as "
            f"{', '.join(outcome['listed']) or '(not listed yet)'}", style="bold green")
    message(f"use it: put {args.new_model_name!r} first in backends.{cfg.name}.models in your "
            f"config, or try: hybrid-tui ask --backend {cfg.name} \"…\"", style="dim")
    if args.json:
        summary = {"model": args.new_model_name, "from": args.model, "backend": cfg.name,
                   "adapter": args.adapter, "weights_trained": outcome["adapter"],
                   "files": len(result.files), "skipped": dict(result.skipped),
                   "secret_files": result.secret_files,
                   "redacted": [asdict(r) for r in result.redactions],
                   "profile_chars": len(profile.text), "dataset": dataset,
                   "statuses": outcome["statuses"], "listed": outcome["listed"]}  # fmt: skip
        sys.stdout.write(json.dumps(summary) + "\n")
    return 0
