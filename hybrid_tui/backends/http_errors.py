"""Turn httpx exceptions and server error bodies into the typed errors of :mod:`hybrid_tui.errors`.

Both servers' error shapes are accepted: ``{"error": "msg"}``, ``{"error": {"message": ...,
"code": ...}}``, LM Studio's v1 ``{"type": "error", "error": {...}}``, a bare ``{"message": ...}``
(vLLM), and non-JSON bodies (proxies, HTML pages), reduced to one printable line. Server text
is untrusted: control characters are removed and the length is capped.
"""

from __future__ import annotations

import json
import re
import socket
from dataclasses import dataclass

import httpx

from hybrid_tui.errors import (
    BackendBusy,
    BackendError,
    BackendHTTPError,
    BackendTimeout,
    BackendUnavailable,
    ContextOverflow,
    ModelNotFound,
    StreamError,
)

MAX_MESSAGE = 300
_SPACE = re.compile(r"[\s\x00-\x1f\x7f]+")
#: how servers say a prompt is longer than the context window (protocols.md D.19)
_OVERFLOW = (
    "context length",
    "context the overflows",
    "context size has been exceeded",
    "context window",
    "maximum context",
)
REDACTED = "[redacted]"


def one_line(text: str, limit: int = MAX_MESSAGE) -> str:
    """``text`` on one line: whitespace runs and control characters become one space."""
    line = _SPACE.sub(" ", text).strip()
    return line if len(line) <= limit else line[: limit - 1] + "…"


@dataclass(frozen=True, slots=True)
class ErrorBody:
    """What an error body says: its message and, when given, its machine-readable code."""

    message: str
    code: str | None = None


def parse_error_body(body: bytes | str) -> ErrorBody:
    """Read an error body of any known shape; non-JSON gives its first non-empty line."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    found = error_from_json(data) if data is not None else None
    if found is not None:
        return found
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    return ErrorBody(one_line(first) or "(empty response body)")


def error_from_json(data: object) -> ErrorBody | None:
    """The error a parsed JSON value carries, or None when it carries none."""
    if isinstance(data, str):
        return ErrorBody(one_line(data))
    if not isinstance(data, dict):
        return None
    err = data.get("error")
    if isinstance(err, str) and err:
        return ErrorBody(one_line(err))
    if isinstance(err, dict):
        msg = err.get("message") or err.get("type") or json.dumps(err)[:MAX_MESSAGE]
        code = err.get("code")
        return ErrorBody(one_line(str(msg)), str(code) if code else None)
    if data.get("object") == "error" and data.get("message"):  # vLLM
        code = data.get("code")
        return ErrorBody(one_line(str(data["message"])), str(code) if code else None)
    return None


def http_error(status: int, body: bytes | str, *, backend: str = "") -> BackendHTTPError:
    """The typed error for an HTTP error response (or a 200 carrying an error body)."""
    parsed = parse_error_body(body)
    message = f"HTTP {status}: {parsed.message}"
    lowered = parsed.message.lower()
    if parsed.code == "model_not_found" or (status == 404 and "not found" in lowered):
        return ModelNotFound(message, backend=backend, status=status)
    if status == 503:
        return BackendBusy(message, backend=backend, status=status)
    if status in (200, 400, 413) and any(words in lowered for words in _OVERFLOW):
        message += " (the prompt is too long for the model's context window)"
        return ContextOverflow(message, backend=backend, status=status)
    return BackendHTTPError(message, backend=backend, status=status)


def redact(text: str, secrets: tuple[str, ...]) -> str:
    """``text`` with every secret replaced (servers may echo a bad API key back)."""
    for secret in secrets:
        if secret and secret in text:
            text = text.replace(secret, REDACTED)
    return text


def redact_error(exc: BackendError, secrets: tuple[str, ...]) -> BackendError:
    """``exc`` with every secret removed from its message (changed in place, returned)."""
    if not any(secret and secret in exc.message for secret in secrets):
        return exc
    exc.message = redact(exc.message, secrets)
    exc.args = (f"{exc.backend}: {exc.message}" if exc.backend else exc.message,)
    return exc


def _root_causes(exc: BaseException) -> list[BaseException]:
    """``exc`` and everything in its ``__cause__``/``__context__`` chain."""
    seen: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and cur not in seen:
        seen.append(cur)
        cur = cur.__cause__ or cur.__context__
    return seen


def transport_error(
    exc: Exception,
    *,
    backend: str = "",
    where: str = "",
    partial: str = "",
    streaming: bool = False,
) -> BackendError:
    """The typed error for an httpx transport exception.

    ``where`` names the server in messages (an endpoint without credentials). ``streaming``
    True means the response had started, so a broken connection is a :class:`StreamError`
    that keeps ``partial``.
    """
    at = f" at {where}" if where else ""
    if isinstance(exc, httpx.ConnectTimeout):
        return BackendUnavailable(
            f"connection timed out{at} (host unreachable or firewalled?)",
            backend=backend,
            reason="connect-timeout",
        )
    if isinstance(exc, httpx.ConnectError):
        chain = _root_causes(exc)
        if any(isinstance(e, socket.gaierror) for e in chain):
            host = httpx.URL(where).host if where else ""
            return BackendUnavailable(
                f"cannot resolve host {host!r}" if host else "cannot resolve host name",
                backend=backend,
                reason="dns",
            )
        if any(isinstance(e, ConnectionRefusedError) for e in chain):
            return BackendUnavailable(
                f"connection refused{at} (is the server running?)", backend=backend
            )
        return BackendUnavailable(
            f"cannot connect{at}: {one_line(str(exc)) or type(exc).__name__}",
            backend=backend,
            reason="other",
        )
    if isinstance(exc, httpx.TimeoutException):
        return BackendTimeout(
            f"timed out waiting for the server{at}", backend=backend, partial=partial
        )
    detail = one_line(str(exc)) or type(exc).__name__
    if streaming:
        return StreamError(
            f"connection dropped mid-reply: {detail}", backend=backend, partial=partial
        )
    return BackendUnavailable(f"request failed{at}: {detail}", backend=backend, reason="other")


def health_kind(exc: BaseException) -> str:
    """The ``HealthReport.error_kind`` word for an error raised while probing."""
    if isinstance(exc, BackendUnavailable):
        return exc.reason
    if isinstance(exc, BackendTimeout | TimeoutError):
        return "timeout"
    if isinstance(exc, BackendHTTPError):
        return "http"
    return "other"
