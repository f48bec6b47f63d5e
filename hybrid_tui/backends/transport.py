"""The HTTP side both backend kinds share: URLs, auth, JSON GETs, probes and the stream loop.

The stream loop owns the timing rules. ``config.timeout`` bounds everything up to the first
non-empty text (connect, the status line, which Ollama withholds while a model loads, and the
first chunk); after that new text (answer or reasoning) must arrive within ``stall_timeout``
of the last: bytes that carry none (keep-alive comments, empty chunks) do not count. The
deadlines cover only the awaits on the socket, never the consumer's time between items.

Every read is bounded: a stream line by ``config.max_line_bytes``, a whole reply by
``config.max_reply_bytes``, a JSON body by
``JSON_BODY_LIMIT``, an error body by ``ERROR_BODY_LIMIT`` (compressed bodies too: they are
inflated in bounded pieces, ``bodies.py``), and every JSON request as a whole by its timeout
(a server dripping a byte at a time cannot hold a probe open).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
import re
import time
from abc import abstractmethod
from collections.abc import AsyncIterator, Iterable
from typing import TYPE_CHECKING, Any

import httpx

from hybrid_tui.backends.base import Backend, HealthReport, StreamItem, StreamStats
from hybrid_tui.backends.bodies import ACCEPT_ENCODING, body_pieces
from hybrid_tui.backends.deadline import ReadDeadline
from hybrid_tui.backends.http_errors import (
    health_kind,
    http_error,
    one_line,
    parse_error_body,
    redact,
    redact_error,
    transport_error,
)
from hybrid_tui.backends.streaming import LineTooLong
from hybrid_tui.config_values import is_loopback_host
from hybrid_tui.errors import (
    BackendError,
    BackendTimeout,
    ProtocolError,
    ResponseTooLarge,
    StreamError,
    TruncatedStream,
)

if TYPE_CHECKING:
    from hybrid_tui.backends.stream_parsers import StreamParser
    from hybrid_tui.config import BackendConfig

#: connect fast, wait as long as the first-token deadline allows for the rest
STREAM_TIMEOUT = httpx.Timeout(connect=3.0, read=None, write=30.0, pool=None)
DEFAULT_STALL_TIMEOUT = 30.0
#: how long to read on after the end marker so the connection can be reused
DRAIN_TIMEOUT = 0.5
ERROR_BODY_LIMIT = 64 * 1024
#: the most a JSON answer (a model list, ``/api/show``, a reply sent whole) may be: a long
#: list of models with their metadata is well under a megabyte
JSON_BODY_LIMIT = 8 * 1024 * 1024
EMPTY_REPLY = "empty reply (possible context overflow)"

_USERINFO = re.compile(r"//[^/@]*@")
#: loopback hosts that never go through a proxy, besides the configured ones
_LOOPBACK = ("localhost", "*.localhost", "127.0.0.1", "::1")


def make_client(
    endpoints: Iterable[str] = (),
    *,
    timeout: httpx.Timeout | float,
    limits: httpx.Limits | None = None,
) -> httpx.AsyncClient:
    """The HTTP client to share: remote servers are reached through the environment's proxy
    (``HTTP(S)_PROXY``, ``ALL_PROXY``, ``NO_PROXY``) as usual, loopback ones never. A proxy
    cannot reach a server on this machine (it would look down), and would see every prompt
    and key sent to it. ``endpoints``: the configured servers, so a loopback address other
    than 127.0.0.1 (127.0.0.2, ``[::ffff:127.0.0.1]``) is recognised too.
    """
    hosts = set(_LOOPBACK)
    for endpoint in endpoints:
        host = httpx.URL(endpoint).host
        if is_loopback_host(host):
            hosts.add(host)
    # a mount of None means "no proxy": the client's own direct connection pool
    direct = {f"all://[{h}]" if ":" in h else f"all://{h}": None for h in hosts}
    return httpx.AsyncClient(
        timeout=timeout, limits=limits or httpx.Limits(), mounts=direct, trust_env=True,
        headers={"Accept-Encoding": ACCEPT_ENCODING},
    )


def normalise_endpoint(endpoint: str, api_suffixes: tuple[str, ...] = ()) -> str:
    """The server root: no trailing ``/`` and none of ``api_suffixes`` (e.g. ``/v1``)."""
    base = endpoint.strip().rstrip("/")
    for suffix in api_suffixes:
        if base.lower().endswith(suffix):
            base = base[: -len(suffix)].rstrip("/")
    return base


def model_key(name: str) -> str:
    """A model name for comparison: lower case, no ``:latest`` tag, no ``@quant`` suffix."""
    key = name.strip().lower()
    key = key.split("@", 1)[0]
    return key.removesuffix(":latest")


def same_model(served: str, requested: str) -> bool:
    """True when ``served`` names the requested model (``publisher/`` prefixes allowed)."""
    a, b = model_key(served), model_key(requested)
    return a == b or a.endswith("/" + b) or b.endswith("/" + a)


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


class HTTPBackend(Backend):
    """A backend spoken to over HTTP with the shared ``httpx.AsyncClient``."""

    #: path endings users may include in ``endpoint`` that are stripped to find the root
    api_suffixes: tuple[str, ...] = ()

    def __init__(self, config: BackendConfig, client: httpx.AsyncClient) -> None:
        super().__init__(config, client)
        self.base_url = normalise_endpoint(config.endpoint, self.api_suffixes)
        #: seconds allowed between chunks once text has started (``stall_timeout`` option)
        self.stall_timeout = DEFAULT_STALL_TIMEOUT

    @property
    def where(self) -> str:
        """The endpoint for messages, without any credentials in it."""
        return _USERINFO.sub("//", self.base_url)

    def url(self, path: str) -> str:
        return self.base_url + path

    def headers(self) -> dict[str, str]:
        """Request headers: the bearer token from ``config.api_key_env`` when that is set."""
        key = self._api_key()
        return {"Authorization": f"Bearer {key}"} if key else {}

    def _api_key(self) -> str | None:
        env = self.config.api_key_env
        return (os.environ.get(env) or None) if env else None

    def secrets(self) -> tuple[str, ...]:
        """Values that must never appear in a message (a server may echo a bad key back)."""
        key = self._api_key()
        return (key,) if key else ()

    def _scrub(self, exc: BackendError) -> BackendError:
        return redact_error(exc, self.secrets())

    # ---- probes ---------------------------------------------------------------------------

    async def health(self, timeout: float = 5.0) -> HealthReport:
        """Probe the server within ``timeout`` s. Never raises: failures give ``ok=False``."""
        try:
            async with asyncio.timeout(timeout):
                return await self.probe(timeout)
        except TimeoutError:
            return HealthReport(
                ok=False, error=f"no answer within {timeout:g} s", error_kind="timeout"
            )
        except BackendError as exc:
            return HealthReport(ok=False, error=exc.message, error_kind=health_kind(exc))
        except Exception as exc:  # a server answering nonsense must not crash the monitor
            detail = one_line(f"{type(exc).__name__}: {exc}")
            detail = redact(detail, self.secrets())
            return HealthReport(ok=False, error=f"unexpected answer: {detail}", error_kind="other")

    @abstractmethod
    async def probe(self, timeout: float) -> HealthReport:
        """One health probe; may raise typed errors (``health`` turns them into a report)."""

    async def get_json(self, path: str, timeout: float) -> Any:
        """GET ``path`` and return its JSON. Raises typed errors for every failure."""
        return await self.request_json("GET", path, timeout)

    async def request_json(self, method: str, path: str, timeout: float,
                           body: dict[str, Any] | None = None) -> Any:
        """``method`` ``path`` (with a JSON ``body``) and return the JSON answer, all within
        ``timeout`` s and ``JSON_BODY_LIMIT`` bytes. Raises typed errors for every failure."""
        try:
            async with (
                asyncio.timeout(timeout),
                self.client.stream(method, self.url(path), json=body, headers=self.headers(),
                                   timeout=timeout) as resp,
            ):
                status = resp.status_code
                limit = ERROR_BODY_LIMIT if status >= 400 else JSON_BODY_LIMIT
                raw = await read_limited(resp, limit + 1)
        except TimeoutError:
            raise BackendTimeout(f"{method} {path}: no whole answer within {timeout:g} s",
                                 backend=self.name) from None
        except httpx.HTTPError as exc:
            raise transport_error(exc, backend=self.name, where=self.where) from exc
        if status >= 400:
            raise self._scrub(http_error(status, raw[:limit], backend=self.name))
        if len(raw) > limit:
            raise ResponseTooLarge(f"{method} {path} answered with more than {limit:,} bytes",
                                   backend=self.name)
        try:
            data = json.loads(raw)
        except ValueError:
            raise ProtocolError(
                f"{method} {path} answered with something that is not JSON", backend=self.name
            ) from None
        if isinstance(data, dict) and data.get("error"):
            raise self._scrub(http_error(status, raw, backend=self.name))
        return data

    # ---- streaming ------------------------------------------------------------------------

    def pop_stall_timeout(self, options: dict[str, Any]) -> float:
        """Take our own ``stall_timeout`` option out of ``options`` (never sent to servers)."""
        value = options.pop("stall_timeout", None)
        return float(value) if value else self.stall_timeout

    async def stream(
        self,
        path: str,
        body: dict[str, Any],
        parser: StreamParser,
        requested_model: str,
        stall_timeout: float,
    ) -> AsyncIterator[StreamItem]:
        """POST ``body`` and yield the parsed reply, then one ``StreamStats``."""
        loop = asyncio.get_running_loop()
        start = time.perf_counter()
        deadline = loop.time() + self.config.timeout
        parts: list[str] = []  # reply text so far, kept for errors' ``partial``
        first: float | None = None
        last = start
        chunks = 0
        received = 0  # body bytes, against max_reply_bytes
        thinking = Thinking()
        async with contextlib.AsyncExitStack() as stack:
            response, body_json = await self._open(stack, path, body, deadline)
            stack.push_async_exit(functools.partial(_discard_on_error, response))
            raw = body_pieces(response, self.name)
            timer = ReadDeadline()
            stack.callback(timer.close)
            at_eof = False
            # the read deadline: the first-token one, then ``stall_timeout`` after the last text
            limit = deadline
            try:
                while not parser.finished and not at_eof:
                    if body_json is not None:  # the server ignored stream: true
                        items, at_eof = parser.feed_object(body_json), True
                    else:
                        try:
                            data = await timer.wait(anext(raw), limit)
                        except StopAsyncIteration:
                            items, at_eof = parser.close(), True
                        except TimeoutError:
                            raise self._timeout(first is None, stall_timeout, parts) from None
                        except httpx.HTTPError as exc:
                            raise transport_error(
                                exc,
                                backend=self.name,
                                where=self.where,
                                partial="".join(parts),
                                streaming=True,
                            ) from exc
                        except ProtocolError as exc:  # a body that does not decode
                            raise ProtocolError(exc.message, backend=self.name,
                                                partial="".join(parts)) from None  # fmt: skip
                        else:
                            received += len(data)
                            if received > self.config.max_reply_bytes:
                                raise ResponseTooLarge(
                                    "response too large: the reply passed "
                                    f"{self.config.max_reply_bytes:,} bytes (max_reply_bytes); "
                                    "it was cut off there",
                                    backend=self.name,
                                    partial="".join(parts),
                                )
                            items = parser.feed(data)
                    if items:
                        limit = loop.time() + stall_timeout
                        last = time.perf_counter()
                        if first is None:
                            first = last
                        chunks += len(items)
                        for item in items:
                            if item.reasoning:
                                thinking.add(last)
                            else:
                                parts.append(item.text)
                                if thinking.answer is None:
                                    thinking.answer = last
                            yield item
            except LineTooLong as exc:  # leaving the block closes the connection
                raise ResponseTooLarge(
                    f"response too large: a line of the reply is longer than {exc.limit:,} "
                    "bytes (max_line_bytes); the reply was cut off",
                    backend=self.name,
                    partial="".join(parts),
                ) from None
            if parser.error is not None:
                raise self._scrub(
                    StreamError(
                        f"the server reported an error mid-reply: {parser.error}",
                        backend=self.name,
                        partial="".join(parts),
                    )
                )
            if not parser.done:
                if chunks == 0:
                    await _discard(response)  # the body has ended: it would be reused next
                    found = await self.explain_empty(path, body)
                    if found is not None:
                        raise found
                raise TruncatedStream(
                    "the reply ended without its end marker (connection closed early)",
                    backend=self.name,
                    partial="".join(parts),
                )
            if parser.cut_short:
                raise TruncatedStream(
                    "the server cut the reply short (it ended without a finish reason; "
                    "llama.cpp's Python server does this when another request arrives)",
                    backend=self.name,
                    partial="".join(parts),
                )
            end = time.perf_counter()
            if not at_eof:
                await _drain(raw)
        yield self._stats(parser, requested_model, start, first, last, end, chunks, thinking)

    async def _open(
        self, stack: contextlib.AsyncExitStack, path: str, body: dict[str, Any], deadline: float
    ) -> tuple[httpx.Response, dict[str, Any] | None]:
        """Send the request; return the open response and, for a plain JSON reply, its body."""
        try:
            async with asyncio.timeout_at(deadline):
                response = await stack.enter_async_context(
                    self.client.stream(
                        "POST",
                        self.url(path),
                        json=body,
                        headers=self.headers(),
                        timeout=STREAM_TIMEOUT,
                    )
                )
                ctype = response.headers.get("content-type", "")
                if response.status_code < 400 and not ctype.startswith("application/json"):
                    return response, None
                limit = ERROR_BODY_LIMIT if response.status_code >= 400 else JSON_BODY_LIMIT
                raw = await read_limited(response, limit + 1)
        except TimeoutError:
            raise self._timeout(True, 0.0, []) from None
        except httpx.HTTPError as exc:
            raise transport_error(exc, backend=self.name, where=self.where) from exc
        if response.status_code >= 400:
            raise self._scrub(http_error(response.status_code, raw[:limit], backend=self.name))
        if len(raw) > limit:
            raise ResponseTooLarge(
                f"response too large: the reply body is over {limit:,} bytes", backend=self.name
            )
        try:
            data = json.loads(raw)
        except ValueError:
            data = None
        if not isinstance(data, dict) or data.get("error"):
            # a 200 that carries an error body (LM Studio context overflow) or junk
            if isinstance(data, dict):
                raise self._scrub(http_error(response.status_code, raw, backend=self.name))
            msg = parse_error_body(raw).message
            raise self._scrub(ProtocolError(f"unexpected reply body: {msg}", backend=self.name))
        return response, data

    async def explain_empty(self, path: str, body: dict[str, Any]) -> BackendError | None:
        """The server's own error for a stream that ended before any text and without its
        end marker, when it can be had; None (the default) keeps the truncation error."""
        return None

    async def post_for_error(
        self, path: str, body: dict[str, Any], timeout: float
    ) -> BackendError | None:
        """POST ``body`` (not streamed) and return the error its answer carries, if any,
        all within ``timeout`` s."""
        try:
            async with (
                asyncio.timeout(timeout),
                self.client.stream(
                    "POST", self.url(path), json=body, headers=self.headers(), timeout=timeout
                ) as response,
            ):
                raw = await read_limited(response)
        except (httpx.HTTPError, TimeoutError):
            return None
        found = None
        if response.status_code >= 400:
            found = http_error(response.status_code, raw, backend=self.name)
        else:
            with contextlib.suppress(ValueError):
                data = json.loads(raw)
                if isinstance(data, dict) and data.get("error"):
                    found = http_error(response.status_code, raw, backend=self.name)
        return self._scrub(found) if found is not None else None

    def _timeout(self, before_first: bool, stall: float, parts: list[str]) -> BackendTimeout:
        if before_first:
            msg = f"no first token within {self.config.timeout:g} s (model loading or server busy?)"
        else:
            msg = f"the reply stalled: nothing for {stall:g} s"
        return BackendTimeout(msg, backend=self.name, partial="".join(parts))

    def _stats(
        self,
        parser: StreamParser,
        requested_model: str,
        start: float,
        first: float | None,
        last: float,
        end: float,
        chunks: int,
        thinking: Thinking,
    ) -> StreamStats:
        tokens = parser.completion_tokens if parser.completion_tokens is not None else chunks
        span = last - first if first is not None else 0.0
        warnings: list[str] = []
        if parser.malformed:
            warnings.append(f"skipped {plural(parser.malformed, 'malformed line')}")
        served = parser.model or requested_model
        if parser.model and requested_model and not same_model(parser.model, requested_model):
            warnings.append(f"server answered with model {served!r}, not {requested_model!r}")
        if chunks == 0:
            warnings.append(EMPTY_REPLY)
        elif thinking.answer is None:
            warnings.append("reply had reasoning but no answer text")
        return StreamStats(
            model=served,
            ttft_ms=_ms(start, thinking.answer),
            total_ms=(end - start) * 1000,
            tokens=tokens,
            tokens_per_s=tokens / span if chunks >= 2 and span > 0 else None,
            finish_reason=parser.finish_reason,
            server_prompt_tokens=parser.prompt_tokens,
            server_completion_tokens=parser.completion_tokens,
            server_tokens_per_s=parser.server_tokens_per_s,
            server_load_ms=parser.server_load_ms,
            server_prompt_eval_ms=parser.extra.get("prompt_eval_ms"),
            server_eval_ms=parser.extra.get("eval_ms"),
            thinking_ttft_ms=_ms(start, thinking.first),
            thinking_ms=_ms(thinking.first, thinking.answer or thinking.last),
            thinking_tokens=(parser.reasoning_tokens if parser.reasoning_tokens is not None
                             else thinking.chunks),
            warnings=tuple(warnings),
            extra=dict(parser.extra),
        )


class Thinking:
    """When reasoning text came (perf_counter marks), how much, and when the answer began."""

    __slots__ = ("answer", "chunks", "first", "last")

    def __init__(self) -> None:
        self.first: float | None = None
        self.last: float | None = None
        self.answer: float | None = None
        self.chunks = 0

    def add(self, now: float) -> None:
        self.chunks += 1
        self.last = now
        if self.first is None:
            self.first = now


def _ms(start: float | None, end: float | None) -> float | None:
    return None if start is None or end is None else (end - start) * 1000


async def read_limited(response: httpx.Response, limit: int = ERROR_BODY_LIMIT) -> bytes:
    """Up to ``limit`` bytes of the body (error bodies can be whole HTML pages); nothing
    beyond is read, whatever Content-Length claims. Ask for one byte more than allowed to
    tell a body that is too large."""
    buf = bytearray()
    async for data in body_pieces(response):
        buf += data
        if len(buf) >= limit:
            del buf[limit:]  # in place: a slice would copy up to JSON_BODY_LIMIT again
            break
    return bytes(buf)


async def _discard_on_error(response: httpx.Response, exc_type: type | None, *_: object) -> bool:
    """On a failure mid-stream, close the connection under ``response`` instead of letting
    it go back to the pool: after an abnormal end the server may hold it in a bad state
    (llama-cpp-python resets the next request sent on it). A cancelled or closed stream
    needs nothing: httpx never pools a connection whose body was not read to the end."""
    if exc_type is not None and issubclass(exc_type, Exception):
        await _discard(response)
    return False


async def _discard(response: httpx.Response) -> None:
    """Close the connection under ``response`` so the pool cannot hand it out again."""
    stream = response.extensions.get("network_stream")
    if stream is not None:
        with contextlib.suppress(Exception):
            await stream.aclose()


async def _drain(raw: AsyncIterator[bytes]) -> None:
    """Read to the end of the body, briefly, so the connection closes cleanly."""
    with contextlib.suppress(TimeoutError, httpx.HTTPError):
        async with asyncio.timeout(DRAIN_TIMEOUT):
            async for _ in raw:
                pass
