"""Error mapping: error bodies of every known shape and httpx exceptions to typed errors."""

from __future__ import annotations

import itertools
import socket

import httpx
import pytest

from hybrid_tui.backends.http_errors import (
    error_from_json,
    health_kind,
    http_error,
    one_line,
    parse_error_body,
    transport_error,
)
from hybrid_tui.errors import (
    BackendBusy,
    BackendHTTPError,
    BackendTimeout,
    BackendUnavailable,
    ContextOverflow,
    ModelNotFound,
    StreamError,
)

LMS_NOT_FOUND = (
    b'{"error":{"message":"Model \\"x\\" not found. Please specify a valid model.\\n\\n'
    b'Your models:\\nqwen/qwen3-8b","type":"invalid_request_error","param":"model",'
    b'"code":"model_not_found"}}'
)
LMS_INVALID_ID = (
    b'{"error":{"message":"Invalid model identifier \\"x\\". Please specify a valid downloaded '
    b'model (e.g., a, b, c).","type":"invalid_request_error","param":"model",'
    b'"code":"model_not_found"}}'
)
LMS_NO_MODELS = (
    b'{"error":{"message":"No models loaded. Please load a model in the developer page or use '
    b'the \'lms load\' command.","type":"invalid_request_error","param":"model",'
    b'"code":null}}'
)


@pytest.mark.parametrize(
    ("status", "body", "cls", "text"),
    [
        (404, b'{"error":"model \'qwen3:8b\' not found"}', ModelNotFound,
         "model 'qwen3:8b' not found"),
        (404, b'{"error":"model \\"m\\" not found, try pulling it first"}', ModelNotFound,
         "try pulling"),
        (404, LMS_NOT_FOUND, ModelNotFound, "Your models: qwen/qwen3-8b"),
        (400, LMS_INVALID_ID, ModelNotFound, 'Invalid model identifier "x"'),
        (400, LMS_NO_MODELS, BackendHTTPError, "No models loaded."),
        (400, b'{"error":"No models loaded. Please load a model."}', BackendHTTPError, "No models"),
        (503, b'{"error":"server busy, please try again.  maximum pending requests exceeded"}',
         BackendBusy, "server busy, please try again. maximum pending"),
        (500, b'{"error":"model runner has unexpectedly stopped"}', BackendHTTPError, "runner"),
        (401, b'{"error":"unauthorized","signin_url":"https://x"}', BackendHTTPError,
         "unauthorized"),
        (400, b'{"object":"error","message":"bad temperature","code":400}', BackendHTTPError,
         "bad temperature"),
        (200, b'{"error":"Trying to keep the first 5000 tokens when context the overflows."}',
         ContextOverflow, "Trying to keep"),
        (400, b'{"error":"the input length exceeds the context length"}', ContextOverflow,
         "exceeds the context length"),
    ],
)  # fmt: skip
def test_http_error_maps_status_and_body(status, body, cls, text):
    err = http_error(status, body, backend="lmstudio")
    assert type(err) is cls
    assert err.status == status
    assert err.backend == "lmstudio"
    assert text in err.message
    assert err.message.startswith(f"HTTP {status}: ")
    assert "\n" not in str(err)
    assert str(err) == f"lmstudio: {err.message}"


def test_404_without_not_found_wording_is_a_plain_http_error():
    err = http_error(404, b"404 page not here")
    assert type(err) is BackendHTTPError


def test_non_json_body_gives_its_first_line_trimmed():
    html = b"\n\n<html><head><title>502 Bad Gateway</title></head>\n<body>nginx</body></html>"
    err = http_error(502, html)
    assert err.message == "HTTP 502: <html><head><title>502 Bad Gateway</title></head>"
    assert http_error(500, b"").message == "HTTP 500: (empty response body)"
    long = parse_error_body(b"x" * 5000).message
    assert len(long) <= 300 and long.endswith("…")


def test_error_body_shapes():
    assert parse_error_body('{"error":"s"}').message == "s"
    assert parse_error_body('{"error":{"message":"m","code":"c"}}').code == "c"
    v1 = '{"type":"error","error":{"type":"model_not_found","message":"no such model"}}'
    assert parse_error_body(v1).message == "no such model"
    assert parse_error_body('{"error":{"type":"internal_error"}}').message == "internal_error"
    assert parse_error_body('"just a json string"').message == "just a json string"
    assert parse_error_body("[1, 2]").message == "[1, 2]"
    assert error_from_json({"choices": []}) is None
    assert error_from_json([1]) is None


def test_one_line_removes_control_characters_and_newlines():
    assert one_line("a\nb\r\n\tc\x1b[2J\x07 d") == "a b c [2J d"
    assert one_line("  \n ") == ""


def _chained(outer: Exception, *causes: BaseException) -> Exception:
    """``outer`` raised from ``causes[0]`` raised from ``causes[1]`` ..., like httpx does."""
    for a, b in itertools.pairwise([outer, *causes]):
        a.__cause__ = b
    return outer


def test_connect_error_from_dns_failure():
    gai = socket.gaierror(-2, "Name or service not known")
    exc = _chained(httpx.ConnectError("[Errno -2] Name or service not known"), gai)
    err = transport_error(exc, backend="b", where="http://nohost.example:1234")
    assert isinstance(err, BackendUnavailable)
    assert err.reason == "dns"
    assert "nohost.example" in err.message
    assert health_kind(err) == "dns"


def test_connect_error_from_refusal_deep_in_the_chain():
    exc = _chained(
        httpx.ConnectError("All connection attempts failed"),
        OSError("All connection attempts failed"),
        ConnectionRefusedError(111, "Connect call failed"),
    )
    err = transport_error(exc, backend="b", where="http://127.0.0.1:9")
    assert err.reason == "refused"
    assert err.message == "connection refused at http://127.0.0.1:9 (is the server running?)"


async def test_a_real_refused_connection_maps_to_refused():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    url = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient() as client:
        with pytest.raises(httpx.ConnectError) as info:
            await client.get(url, timeout=2)
    err = transport_error(info.value, backend="b", where=url)
    assert isinstance(err, BackendUnavailable) and err.reason == "refused"


def test_other_transport_errors():
    timeout = transport_error(httpx.ConnectTimeout("t"), where="http://10.9.9.9")
    assert isinstance(timeout, BackendUnavailable) and timeout.reason == "connect-timeout"
    assert health_kind(timeout) == "connect-timeout"
    read = transport_error(httpx.ReadTimeout("r"), partial="abc")
    assert isinstance(read, BackendTimeout) and read.partial == "abc"
    assert health_kind(read) == "timeout"
    other = transport_error(httpx.ConnectError("weird"))
    assert isinstance(other, BackendUnavailable) and other.reason == "other"


def test_dropped_connection_mid_stream_keeps_partial_text():
    exc = httpx.RemoteProtocolError("peer closed connection without sending complete message body")
    err = transport_error(exc, backend="ollama", partial="def f(", streaming=True)
    assert type(err) is StreamError
    assert err.partial == "def f("
    assert "connection dropped" in err.message
    before = transport_error(exc, backend="ollama")
    assert isinstance(before, BackendUnavailable) and before.reason == "other"


def test_health_kind_words():
    assert health_kind(http_error(404, b'{"error":"model x not found"}')) == "http"
    assert health_kind(TimeoutError()) == "timeout"
    assert health_kind(StreamError("x")) == "other"
