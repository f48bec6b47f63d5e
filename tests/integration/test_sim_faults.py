"""Every fault, on both simulator kinds, checked at the byte level."""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass

import httpx
import pytest

from hybrid_tui.sim import Fault, SimKnobs, SimServer, tokenize
from hybrid_tui.sim.probe import RawResponse, raw_request

REPLY = "Hello wörld — naïve café ✓ 🙂 done"


@dataclass
class Kind:
    """How to ask one kind for a stream, and how to read its answer."""

    name: str
    path: str
    body: dict
    health: str

    def objects(self, r: RawResponse) -> list[object]:
        """Every parsed line/event; a broken one becomes the string "MALFORMED"."""
        if self.name == "ollama":
            raw = [line for line in r.body.split(b"\n") if line.strip()]
        else:
            eol = b"\r\n" if b"\r\n" in r.body else b"\n"
            raw = [b[6:] for b in r.body.split(eol + eol) if b.startswith(b"data: ")]
        out: list[object] = []
        for item in raw:
            if item == b"[DONE]":
                out.append("[DONE]")
                continue
            try:
                out.append(json.loads(item))
            except ValueError:
                out.append("MALFORMED")
        return out

    def text(self, r: RawResponse) -> str:
        parts = []
        for obj in self.objects(r):
            if not isinstance(obj, dict) or "error" in obj:
                continue
            if self.name == "ollama":
                parts.append(obj["message"]["content"])
            elif obj["choices"]:
                parts.append(obj["choices"][0]["delta"].get("content", ""))
        return "".join(parts)

    def ended(self, r: RawResponse) -> bool:
        """The protocol's own end marker arrived (done:true / [DONE])."""
        objs = self.objects(r)
        if self.name == "ollama":
            return any(isinstance(o, dict) and o.get("done") is True for o in objs)
        return "[DONE]" in objs

    def errors(self, r: RawResponse) -> list[object]:
        return [o["error"] for o in self.objects(r) if isinstance(o, dict) and "error" in o]


OLLAMA = Kind(
    "ollama",
    "/api/chat",
    {"model": "codellama:34b", "messages": [{"role": "user", "content": "hi"}]},
    "/api/tags",
)
LMSTUDIO = Kind(
    "openai",
    "/v1/chat/completions",
    {
        "model": "qwen2.5-coder-7b-instruct",
        "messages": [{"role": "user", "content": "hi"}],
        "stream": True,
    },
    "/v1/models",
)


@pytest.fixture(params=[OLLAMA, LMSTUDIO], ids=["ollama", "lmstudio"])
def kind(request) -> Kind:
    return request.param


@pytest.fixture
async def server(kind: Kind):
    async with SimServer(kind.name, SimKnobs(tokens_per_s=None, reply=REPLY)) as s:
        yield s


async def ask(kind: Kind, server: SimServer, **kw) -> RawResponse:
    return await raw_request(server.url, "POST", kind.path, kind.body, **kw)


async def test_no_fault_baseline(kind: Kind, server: SimServer) -> None:
    r = await ask(kind, server)
    assert r.complete and kind.ended(r) and kind.text(r) == REPLY


async def test_refuse_closes_the_port_and_reopens_the_same_one(
    kind: Kind, server: SimServer
) -> None:
    port = server.port
    async with httpx.AsyncClient(base_url=server.url) as client:
        assert (await client.get(kind.health)).status_code == 200  # a pooled keep-alive conn
        server.knobs.fault = Fault("refuse")
        with pytest.raises(httpx.ConnectError):
            await client.get(kind.health)
        with pytest.raises(ConnectionRefusedError):
            await raw_request(server.url, "GET", kind.health)
        server.knobs.fault = None  # the port listens again at once
        assert server.port == port
        assert (await client.get(kind.health)).status_code == 200
    assert kind.text(await ask(kind, server)) == REPLY


async def test_refuse_holds_the_port(kind: Kind, server: SimServer) -> None:
    await server.set_fault(Fault("refuse"))
    other = socket.socket()
    with pytest.raises(OSError):
        other.bind(("127.0.0.1", server.port))
    other.close()
    await server.set_fault(None)
    assert (await raw_request(server.url, "GET", kind.health)).status == 200


async def test_server_started_while_refusing(kind: Kind) -> None:
    async with SimServer(kind.name, SimKnobs(fault=Fault("refuse"))) as s:
        with pytest.raises(ConnectionRefusedError):
            await raw_request(s.url, "GET", kind.health)
        await s.set_fault(None)
        assert (await raw_request(s.url, "GET", kind.health)).status == 200


async def test_blackhole_reads_and_never_answers(kind: Kind, server: SimServer) -> None:
    server.knobs.fault = Fault("blackhole")
    r = await raw_request(server.url, "GET", kind.health, idle=0.3)
    assert r.idled and r.first_byte_s is None and not r.closed
    assert server.hits == [f"GET {kind.health}"]  # the request was read
    server.knobs.fault = None
    assert (await raw_request(server.url, "GET", kind.health)).status == 200


EXPECTED_STATUS_BODIES = {
    ("ollama", 400): {"error": "the input length exceeds the context length"},
    ("ollama", 404): {"error": "model 'codellama:34b' not found"},
    ("ollama", 500): {
        "error": "model runner has unexpectedly stopped, this may be due to "
        "resource limitations or an internal error, check ollama server logs "
        "for details"
    },
    ("ollama", 503): {"error": "server busy, please try again.  maximum pending requests exceeded"},
}


@pytest.mark.parametrize("status", [400, 404, 500, 503])
async def test_status_fault_uses_the_servers_error_body(
    kind: Kind, server: SimServer, status: int
) -> None:
    server.knobs.fault = Fault("status", status=status)
    r = await ask(kind, server)
    assert r.status == status and r.complete
    assert r.header("Content-Type") == "application/json; charset=utf-8"
    body = r.json()
    if kind.name == "ollama":
        assert body == EXPECTED_STATUS_BODIES[(kind.name, status)]
    else:
        err = body["error"]
        assert set(err) == {"message", "type", "param", "code"} and err["message"]
        assert err["type"] == ("invalid_request_error" if status < 500 else "server_error")
        if status == 404:
            assert err["code"] == "model_not_found"
    # health probes are not affected: the server is up, inference fails
    assert (await raw_request(server.url, "GET", kind.health)).status == 200


async def test_status_fault_message_override(kind: Kind, server: SimServer) -> None:
    server.knobs.fault = Fault("status", status=500, message="boom")
    body = (await ask(kind, server)).json()
    assert body == {"error": "boom"} or body["error"]["message"] == "boom"


@pytest.mark.parametrize("after", [0, 3])
async def test_die_drops_the_connection_without_terminator(
    kind: Kind, server: SimServer, after: int
) -> None:
    server.knobs.fault = Fault("die", after_tokens=after)
    r = await ask(kind, server)
    assert r.closed and not r.complete and not kind.ended(r)
    if after == 0:
        assert r.status == 0  # not even a status line
    else:
        assert r.status == 200 and len(r.chunks) == after
        assert REPLY.startswith(kind.text(r)) and kind.text(r)


async def test_error_line_mid_stream(kind: Kind, server: SimServer) -> None:
    server.knobs.fault = Fault("error_line", after_tokens=3, message="runner crashed")
    r = await ask(kind, server)
    assert r.status == 200 and r.complete  # the response itself ends properly
    assert not kind.ended(r) and len(r.chunks) == 4
    errors = kind.errors(r)
    assert errors == ["runner crashed"] or errors[0]["message"] == "runner crashed"
    assert kind.objects(r)[-1] == {"error": errors[0]}
    assert REPLY.startswith(kind.text(r))


async def test_error_line_before_any_token_is_a_500(kind: Kind, server: SimServer) -> None:
    server.knobs.fault = Fault("error_line", after_tokens=0)
    r = await ask(kind, server)
    assert r.status == 500 and "error" in r.json()


async def test_error_string_quirk_mid_stream() -> None:
    knobs = SimKnobs(tokens_per_s=None, reply=REPLY, quirks={"error_string"})
    knobs.fault = Fault("error_line", after_tokens=1)
    async with SimServer("openai", knobs) as server:
        r = await ask(LMSTUDIO, server)
    assert LMSTUDIO.errors(r) == [
        "The model has crashed without additional information. (Exit code: 18446744072635812000)"
    ]


@pytest.mark.parametrize("after", [0, 2])
async def test_malformed_line_then_normal(kind: Kind, server: SimServer, after: int) -> None:
    server.knobs.fault = Fault("malformed", after_tokens=after)
    r = await ask(kind, server)
    objs = kind.objects(r)
    assert objs.count("MALFORMED") == 1 and objs.index("MALFORMED") == after
    assert r.complete and kind.ended(r) and kind.text(r) == REPLY


async def test_stall_keeps_the_socket_open(kind: Kind, server: SimServer) -> None:
    server.knobs.fault = Fault("stall", after_tokens=2)
    r = await ask(kind, server, idle=0.3)
    assert r.idled and not r.closed and len(r.chunks) == 2 and not kind.ended(r)
    await server.wait_idle()  # hanging up ends the stalled request
    assert server.cancelled == 1


@pytest.mark.parametrize("after", [0, 4])
async def test_no_terminator(kind: Kind, server: SimServer, after: int) -> None:
    server.knobs.fault = Fault("no_terminator", after_tokens=after)
    r = await ask(kind, server)
    assert r.complete and not r.closed and not kind.ended(r)
    text = kind.text(r)
    assert text == REPLY if after == 0 else (len(r.chunks) == 4 and REPLY.startswith(text))


def _cut_inside_a_character(chunks: list[bytes]) -> bool:
    return any(0x80 <= c[0] < 0xC0 for c in chunks[1:] if c)


async def test_split_utf8_cuts_inside_characters(kind: Kind, server: SimServer) -> None:
    server.knobs.fault = Fault("split_utf8")
    r = await ask(kind, server)
    assert r.complete and kind.ended(r) and kind.text(r) == REPLY
    assert _cut_inside_a_character(r.chunks)
    for chunk in r.chunks:  # each fragment on its own is not valid UTF-8 text, often
        assert len(chunk) <= 48
    if kind.name == "openai":
        assert any(c.endswith(b"\r") for c in r.chunks)  # cut between \r and \n
    # httpx (the app's client) reassembles it all
    async with (
        httpx.AsyncClient(base_url=server.url) as client,
        client.stream("POST", kind.path, json=kind.body) as resp,
    ):
        lines = [line async for line in resp.aiter_lines()]
    assert any("ö" in line for line in lines)


async def test_split_utf8_non_streamed(kind: Kind, server: SimServer) -> None:
    server.knobs.fault = Fault("split_utf8")
    r = await raw_request(server.url, "POST", kind.path, {**kind.body, "stream": False})
    body = r.json()
    text = (
        body["message"]["content"]
        if kind.name == "ollama"
        else body["choices"][0]["message"]["content"]
    )
    assert text == REPLY


async def test_rechunk_quirk_combines_with_another_fault(kind: Kind, server: SimServer) -> None:
    server.knobs.quirks.add("rechunk")
    server.knobs.fault = Fault("die", after_tokens=5)
    r = await ask(kind, server)
    assert r.closed and not r.complete and not kind.ended(r)
    assert len(r.chunks) > 5  # re-chunked
    assert kind.text(r) == "".join(tokenize(REPLY)[:5])  # all five tokens arrived whole


@pytest.mark.parametrize("fault", ["die", "error_line", "malformed", "no_terminator", "stall"])
async def test_faults_on_non_streamed_replies(kind: Kind, server: SimServer, fault: str) -> None:
    server.knobs.fault = Fault(fault, after_tokens=2)
    r = await raw_request(server.url, "POST", kind.path, {**kind.body, "stream": False}, idle=0.3)
    if fault == "die":
        assert r.closed and r.status == 0
    elif fault == "error_line":
        assert r.status == 500 and "error" in r.json()
    elif fault == "malformed":
        assert r.status == 200 and r.complete
        with pytest.raises(ValueError):
            r.json()
    elif fault == "no_terminator":
        body = r.json()
        assert body.get("done") is False or body["choices"][0]["finish_reason"] is None
    else:
        assert r.idled and r.status == 0


async def test_faults_can_change_between_requests(kind: Kind, server: SimServer) -> None:
    server.knobs.fault = Fault("die", after_tokens=1)
    assert not (await ask(kind, server)).complete
    server.knobs.fault = None
    assert kind.text(await ask(kind, server)) == REPLY
