"""Loopback servers are never reached through ``HTTP(S)_PROXY``/``ALL_PROXY``; remote ones are.

The proxy is a fake on loopback that records every request it is sent and answers each with
a canned JSON body, so a request that went through it is seen (and its answer recognised).
Before the bypass, a proxy in the environment made the local servers look down and would
have carried every prompt and API key through it.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
import time

import httpx
import pytest

from hybrid_tui.backends import make_backend
from hybrid_tui.backends.transport import make_client
from hybrid_tui.config import BackendConfig
from hybrid_tui.errors import BackendTimeout
from hybrid_tui.finetune import cli as finetune_cli
from hybrid_tui.sim import SimKnobs, SimServer
from tests.hostile import RawRequest, RawServer
from tests.support import collect

PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
PROXIED = b'{"version": "via proxy", "models": []}'


async def canned(server: RawServer, request: RawRequest, writer: asyncio.StreamWriter) -> None:
    length = b"Content-Length: %d\r\n" % len(PROXIED)
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" + length
                 + b"Connection: close\r\n\r\n" + PROXIED)  # fmt: skip


@pytest.fixture
async def proxy(monkeypatch):
    """A recording proxy on loopback, named by every proxy variable; no NO_PROXY."""
    async with RawServer(canned) as server:
        for var in PROXY_VARS:
            monkeypatch.setenv(var, server.url)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        yield server


def ollama_at(url: str, client: httpx.AsyncClient):
    return make_backend(BackendConfig(name="ollama", kind="ollama", endpoint=url), client)


def ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return True


async def test_the_fake_proxy_really_catches_a_plain_client(proxy, ollama_sim):
    """The attack as it was: a client that trusts the environment sends loopback traffic
    to the proxy (which here answers for the server)."""
    async with httpx.AsyncClient() as client:
        report = await ollama_at(ollama_sim.url, client).health()
    assert report.version == "via proxy"
    assert {r.target for r in proxy.requests} >= {f"{ollama_sim.url}/api/version"}


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "127.0.0.2", "::1"])
async def test_loopback_endpoints_bypass_the_proxy(proxy, host):
    if host == "::1" and not ipv6_loopback():
        pytest.skip("no IPv6 loopback here")
    bind = "127.0.0.1" if host == "localhost" else host
    async with SimServer("ollama", SimKnobs(tokens_per_s=None), host=bind) as server:
        netloc = f"[{host}]" if ":" in host else host
        url = f"http://{netloc}:{server.port}"
        async with make_client([url], timeout=5.0) as client:
            backend = ollama_at(url, client)
            report = await backend.health()
            text = [d async for d in backend.stream_chat([{"role": "user", "content": "hi"}],
                                                         server.knobs.loaded[0])]  # fmt: skip
    assert report.ok and report.version == server.knobs.version, report
    assert text
    assert proxy.requests == []


async def test_remote_endpoints_still_use_the_proxy(proxy):
    remote = "http://models.example.invalid:11434"  # never resolved: the proxy answers
    async with make_client([remote], timeout=5.0) as client:
        report = await ollama_at(remote, client).health()
    assert report.ok and report.version == "via proxy"
    assert f"{remote}/api/version" in {r.target for r in proxy.requests}


def own_address() -> str | None:
    """This machine's address on its main interface (not loopback), or None. A UDP
    "connect" sends nothing; it only picks the route."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))
            address = s.getsockname()[0]
    except OSError:
        return None
    return None if address.startswith("127.") else address


async def test_no_proxy_still_applies_to_remote_endpoints(proxy, monkeypatch):
    """A server on this machine's own (non-loopback) address counts as remote: proxied,
    unless NO_PROXY names it, as the environment says."""
    address = own_address()
    if address is None:
        pytest.skip("no non-loopback interface")
    async with SimServer("ollama", SimKnobs(tokens_per_s=None), host="0.0.0.0") as server:
        url = f"http://{address}:{server.port}"
        async with make_client([url], timeout=5.0) as client:
            assert (await ollama_at(url, client).health()).version == "via proxy"
        monkeypatch.setenv("NO_PROXY", address)
        async with make_client([url], timeout=5.0) as client:
            assert (await ollama_at(url, client).health()).version == server.knobs.version
    assert {r.target.split("/api/")[0] for r in proxy.requests} == {url}


async def test_the_router_service_reaches_local_servers_past_the_proxy(
    proxy, lmstudio_sim, ollama_sim, make_config
):
    from hybrid_tui.events import Done
    from hybrid_tui.router.service import RouterService

    async with RouterService(make_config(lmstudio=lmstudio_sim.url, ollama=ollama_sim.url),
                             poll=False) as service:  # fmt: skip
        await service.health.refresh()
        assert {s.status for s in service.health.states().values()} <= {"up", "degraded"}
        events = await collect(service.submit("write a hello world in python"))
    assert any(isinstance(ev, Done) for ev in events)
    assert proxy.requests == []


async def test_the_fine_tune_model_list_has_an_overall_timeout(monkeypatch):
    async def drip(server: RawServer, request: RawRequest, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 100000\r\n\r\n{")  # fmt: skip
        await server.pour(writer, b" ", pause=0.05)

    monkeypatch.setattr(finetune_cli, "LIST_TIMEOUT", 0.5)
    async with RawServer(drip) as server, make_client([server.url], timeout=30.0) as client:
        backend = ollama_at(server.url, client)
        start = time.perf_counter()
        with pytest.raises(BackendTimeout) as info:
            await finetune_cli.listed_models(backend)  # type: ignore[arg-type]
    assert time.perf_counter() - start < 3.0
    assert "did not arrive within 0.5 s" in info.value.message


async def test_status_in_a_proxied_shell_sees_the_local_servers(proxy, lmstudio_sim, ollama_sim,
                                                                tmp_path):  # fmt: skip
    path = tmp_path / "config.yaml"
    path.write_text(f"backends:\n  lmstudio:\n    endpoint: {lmstudio_sim.url}\n"
                    f"  ollama:\n    endpoint: {ollama_sim.url}\n", encoding="utf-8")  # fmt: skip
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hybrid_tui", "status", "--json", "--config", str(path),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=dict(os.environ))
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    states = {b["name"]: b["status"] for b in json.loads(out)["backends"]}
    assert set(states.values()) <= {"up", "degraded"}, states
    assert proxy.requests == []
