"""stream: a 20,000-token reply at unlimited rate through ``RouterService.submit``, against
bare httpx reading the same stream (``aiter_lines`` + ``json.loads``) in the same process.

Fairness: a live simulator formats one chunk per token and is itself about as fast as a good
client, so both sides would mostly measure the server. Instead the simulator's exact response
bytes are recorded once and replayed by a child process (:mod:`benchmarks.replay`) as fast as
the socket takes them: same bytes, server cost near zero, its own core, no shared event loop
or GIL. Runs alternate router / bare so drift on a shared machine hits both alike. A raw
socket read (bytes only, no parsing) shows the ceiling the replay allows.
"""

from __future__ import annotations

import asyncio
import json
import time
from urllib.parse import urlsplit

import httpx

from benchmarks.common import Figure, Row, Settings, Target
from benchmarks.replay import Recording, ReplayProcess, record
from benchmarks.simproc import SimProcess, config_for
from hybrid_tui.backends import make_backend
from hybrid_tui.config import Config
from hybrid_tui.events import Done, Error, Token
from hybrid_tui.router.messages import build_messages
from hybrid_tui.router.service import RouterService

#: what the router asks a server for besides the chat (health probes, model lists)
PROBES = {"openai": ("/v1/models", "/api/v0/models"),
          "ollama": ("/api/version", "/api/tags", "/api/ps")}

PROMPT = "format this code for me: def f(a,b): return a+b"
KINDS = (("lmstudio", "openai"), ("ollama", "ollama"))
TIMEOUT = httpx.Timeout(30.0)


def run(settings: Settings) -> Row:
    tokens = settings.size(20_000, 2_000)
    row = Row("stream", f"{tokens:,}-token reply, unlimited rate: router service vs bare httpx")
    with SimProcess(reply_tokens=tokens) as sim:
        recording, models = asyncio.run(_record(sim.config()))
    with ReplayProcess(recording) as replay:
        config = config_for(replay.url, replay.url)
        samples = asyncio.run(_measure(config, models, settings.runs, tokens, row))
    for name, kind in KINDS:
        router, bare, raw = samples[name]
        row.add(Figure(f"router ({kind})", "tok/s", router, reference=f"bare httpx ({kind})",
                       targets=(Target(">=", 0.8, "ratio"),)))
        row.add(Figure(f"bare httpx ({kind})", "tok/s", bare))
        row.add(Figure(f"raw socket ({kind})", "tok/s", raw,
                       note="bytes only: the simulator's ceiling"))
    row.notes.append("the simulators' recorded bytes, replayed by a child process; "
                     "router and bare runs alternate")
    return row


async def _record(config: Config) -> tuple[Recording, dict[str, str]]:
    """Each backend's model (as the router picks it) and the simulators' responses."""
    recording: Recording = {}
    models: dict[str, str] = {}
    async with httpx.AsyncClient(timeout=TIMEOUT) as client:
        for name, kind in KINDS:
            backend = make_backend(config.backends[name], client)
            models[name] = backend.pick_model(await backend.models()) or ""
            url = config.backends[name].endpoint
            path, body = _request(kind, models[name])
            probes = [("GET", p, None) for p in PROBES[kind]]
            recording.update(await record(url, [*probes, ("POST", path, body)]))
    return recording, models


async def _measure(
    config: Config, models: dict[str, str], runs: int, tokens: int, row: Row
) -> dict[str, tuple[list[float], list[float], list[float]]]:
    out: dict[str, tuple[list[float], list[float], list[float]]] = {}
    async with RouterService(config) as service, httpx.AsyncClient(timeout=TIMEOUT) as client:
        for name, kind in KINDS:
            model = models[name]
            url = service.backends[name].config.endpoint
            router: list[float] = []
            bare: list[float] = []
            raw: list[float] = []
            for i in range(runs + 1):  # the first round is the warm-up
                r, got = await _router_once(service, name)
                b, n = await _bare_once(client, url, kind, model)
                s = await _raw_once(url, kind, model, tokens)
                if got != tokens or n != tokens:
                    row.notes.append(f"{name}: router saw {got}, bare saw {n} of {tokens}")
                if i:
                    router.append(r)
                    bare.append(b)
                    raw.append(s)
            out[name] = (router, bare, raw)
    return out


async def _router_once(service: RouterService, name: str) -> tuple[float, int]:
    """tok/s through submit(), from the call to the Done event; and the Token count."""
    count = 0
    start = time.perf_counter()
    async for event in service.submit(PROMPT, force=name):
        if isinstance(event, Token):
            count += 1
        elif isinstance(event, Error):
            raise RuntimeError(f"router stream failed: {event.message}")
        elif isinstance(event, Done):
            break
    return count / (time.perf_counter() - start), count


def _request(kind: str, model: str) -> tuple[str, dict[str, object]]:
    messages = build_messages(PROMPT, (), ())
    if kind == "openai":
        return "/v1/chat/completions", {
            "model": model, "messages": messages, "stream": True,
            "stream_options": {"include_usage": True},
        }
    return "/api/chat", {"model": model, "messages": messages, "stream": True}


async def _bare_once(
    client: httpx.AsyncClient, url: str, kind: str, model: str
) -> tuple[float, int]:
    """tok/s of the simplest correct reader: aiter_lines, json.loads, keep the text."""
    path, body = _request(kind, model)
    parts: list[str] = []
    start = time.perf_counter()
    async with client.stream("POST", url + path, json=body) as resp:
        resp.raise_for_status()
        async for line in resp.aiter_lines():
            if kind == "openai":
                if not line.startswith("data: ") or line == "data: [DONE]":
                    continue
                choices = json.loads(line[6:]).get("choices") or ()
                text = choices[0].get("delta", {}).get("content") if choices else None
            else:
                if not line:
                    continue
                text = json.loads(line).get("message", {}).get("content")
            if text:
                parts.append(text)
    return len(parts) / (time.perf_counter() - start), len(parts)


async def _raw_once(url: str, kind: str, model: str, tokens: int) -> float:
    """The same response read as bytes from a plain socket (tok/s of the reply length)."""
    path, body = _request(kind, model)
    data = json.dumps(body).encode()
    parts = urlsplit(url)
    start = time.perf_counter()
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    writer.write(
        f"POST {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n".encode() + data
    )
    total = 0
    while chunk := await reader.read(1 << 16):
        total += len(chunk)
    writer.close()
    await writer.wait_closed()
    if not total:
        raise RuntimeError(f"no bytes from {url}{path}")
    return tokens / (time.perf_counter() - start)
