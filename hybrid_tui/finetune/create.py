"""Create a derived Ollama model: ``POST /api/create`` with ``from``, ``system``,
``parameters`` and, for a LoRA adapter, ``adapters`` — after uploading the adapter file as a
blob (``HEAD``/``POST /api/blobs/sha256:<digest>``), since the server cannot read our disk.
Status lines stream back as NDJSON and are yielded as they come.

Whatever the server says (error bodies, status lines) is read with a size bound, made one
printable line, and has the backend's API key removed, as for every other backend call.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from hybrid_tui.backends.bodies import body_pieces
from hybrid_tui.backends.http_errors import (
    http_error,
    one_line,
    redact,
    redact_error,
    transport_error,
)
from hybrid_tui.backends.transport import HTTPBackend, read_limited
from hybrid_tui.errors import BackendError, ProtocolError, TruncatedStream, UsageError

#: creating copies layers and an upload can be large: generous, but never unbounded
CREATE_TIMEOUT = httpx.Timeout(connect=5.0, read=600.0, write=600.0, pool=10.0)
PROBE_TIMEOUT = 10.0
GGUF_MAGIC = b"GGUF"
CHUNK = 1024 * 1024
#: bytes one status line may take (real ones are under 200)
MAX_STATUS_LINE = 64 * 1024
#: what Ollama accepts as a model name: [namespace/]name[:tag]
MODEL_NAME = re.compile(
    r"^[A-Za-z0-9][A-Za-z0-9_.-]*(?:/[A-Za-z0-9][A-Za-z0-9_.-]*)?(?::[\w.-]+)?$"
)


@dataclass(frozen=True, slots=True)
class Adapter:
    """A LoRA adapter file and its blob digest (``sha256:<hex>``)."""

    path: Path
    digest: str
    size: int


def check_model_name(name: str) -> str:
    """``name`` if Ollama would accept it, else UsageError."""
    if not MODEL_NAME.match(name) or len(name) > 250:
        raise UsageError(f"invalid model name {name!r}: use letters, digits, '-', '_' and '.', "
                         "optionally a namespace/ and a :tag")
    return name


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


async def read_adapter(path: str | Path) -> Adapter:
    """Check that ``path`` is a GGUF file and hash it (in a worker thread)."""
    file = Path(path).expanduser()
    try:
        if not file.is_file():
            raise UsageError(f"adapter {path}: not found (or not a file)")
        with file.open("rb") as fh:
            magic = fh.read(4)
        size = file.stat().st_size
    except OSError as exc:
        raise UsageError(f"adapter {path}: cannot read it ({exc.strerror or exc})") from None
    if magic != GGUF_MAGIC:
        raise UsageError(f"adapter {path}: not a GGUF file (convert the LoRA adapter to GGUF "
                         "first, e.g. with llama.cpp's convert_lora_to_gguf.py)")
    digest = await asyncio.to_thread(_sha256, file)
    return Adapter(file, f"sha256:{digest}", size)


async def _chunks(path: Path) -> AsyncIterator[bytes]:
    with path.open("rb") as fh:
        while chunk := await asyncio.to_thread(fh.read, CHUNK):
            yield chunk


async def upload_adapter(backend: HTTPBackend, adapter: Adapter) -> bool:
    """Make the adapter a blob on the server; False when it was there already."""
    url = backend.url(f"/api/blobs/{adapter.digest}")
    try:
        head = await backend.client.head(url, headers=backend.headers(), timeout=PROBE_TIMEOUT)
        if head.status_code == 200:
            return False
        if head.status_code != 404:
            raise _server_error(backend, head.status_code, head.content[:MAX_STATUS_LINE])
        # streamed so the answer is read to a bound, not whole (it should be empty)
        async with backend.client.stream("POST", url, content=_chunks(adapter.path),
                                         headers=backend.headers(),
                                         timeout=CREATE_TIMEOUT) as resp:  # fmt: skip
            if resp.status_code not in (200, 201):
                raise _server_error(backend, resp.status_code,
                                    await read_limited(resp, MAX_STATUS_LINE))  # fmt: skip
    except httpx.HTTPError as exc:
        raise transport_error(exc, backend=backend.name, where=backend.where) from exc
    return True


def _server_error(backend: HTTPBackend, status: int, body: bytes) -> BackendError:
    return redact_error(http_error(status, body, backend=backend.name), backend.secrets())


def create_body(
    name: str,
    base: str,
    *,
    system: str | None = None,
    parameters: dict[str, Any] | None = None,
    adapters: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The ``/api/create`` request (streaming)."""
    body: dict[str, Any] = {"model": name, "from": base, "stream": True}
    if system:
        body["system"] = system
    if parameters:
        body["parameters"] = parameters
    if adapters:
        body["adapters"] = adapters
    return body


async def create_model(backend: HTTPBackend, body: dict[str, Any]) -> AsyncIterator[str]:
    """POST ``body`` to ``/api/create`` and yield each status line; raises a typed
    BackendError when the server reports an error or the stream ends before "success"."""
    last = ""
    try:
        async with backend.client.stream("POST", backend.url("/api/create"), json=body,
                                         headers=backend.headers(),
                                         timeout=CREATE_TIMEOUT) as resp:  # fmt: skip
            if resp.status_code >= 400:
                raise _server_error(backend, resp.status_code, await read_limited(resp))
            async for line in _lines(resp, backend.name):
                status = _status(redact(line, backend.secrets()), backend.name)
                if status is not None:
                    last = status
                    yield status
    except httpx.HTTPError as exc:
        raise transport_error(exc, backend=backend.name, where=backend.where,
                              streaming=True) from exc  # fmt: skip
    if last != "success":
        raise TruncatedStream("the model creation ended without \"success\"",
                              backend=backend.name)  # fmt: skip


async def _lines(resp: httpx.Response, backend: str) -> AsyncIterator[str]:
    """The body's lines, none longer than MAX_STATUS_LINE (a server that never sends a
    newline must not fill our memory)."""
    buffer = b""
    async for data in body_pieces(resp, backend):
        buffer += data
        *lines, buffer = buffer.split(b"\n")
        if len(buffer) > MAX_STATUS_LINE:
            raise ProtocolError(f"a status line longer than {MAX_STATUS_LINE:,} bytes",
                                backend=backend)  # fmt: skip
        for line in lines:
            yield line.decode("utf-8", "replace")
    if buffer:
        yield buffer.decode("utf-8", "replace")


def _status(line: str, backend: str) -> str | None:
    """The status a line carries; None for blank or unreadable lines (skipped)."""
    if not line.strip():
        return None
    try:
        data = json.loads(line)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    if data.get("error"):
        raise BackendError(f"the server could not create the model: {one_line(str(data['error']))}",
                           backend=backend)  # fmt: skip
    status = data.get("status")
    return one_line(str(status)) if status else None
