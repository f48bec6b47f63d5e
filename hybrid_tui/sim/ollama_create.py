"""The simulated Ollama's model creation: ``HEAD``/``POST /api/blobs/sha256:<hex>`` and
``POST /api/create`` (the JSON form: ``model``, ``from``, ``system``, ``parameters``,
``adapters``), streaming its status lines as NDJSON. A created model is listed by
``/api/tags`` at once and can be chatted with like any other.

Tests read :attr:`CreateRoutes.created` (request bodies, in order) and
:attr:`CreateRoutes.blobs` (digest -> size) through ``server.routes.create``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from typing import TYPE_CHECKING, Any

from hybrid_tui.sim.catalog import meta
from hybrid_tui.sim.http import Request, Response

if TYPE_CHECKING:
    from hybrid_tui.sim.ollama import OllamaRoutes

NDJSON = "application/x-ndjson"
JSON = "application/json; charset=utf-8"
_DIGEST = re.compile(r"^sha256[:-]([0-9a-fA-F]{64})$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*(?:/[A-Za-z0-9][A-Za-z0-9_.-]*)*(?::[\w.-]+)?$")


def _encode(obj: Any) -> bytes:
    from hybrid_tui.sim.ollama import go_json

    return go_json(obj)


class CreateRoutes:
    """``/api/blobs`` and ``/api/create`` for one simulated Ollama."""

    def __init__(self, routes: OllamaRoutes) -> None:
        self.routes = routes
        #: uploaded blobs: "sha256:<hex>" -> size in bytes
        self.blobs: dict[str, int] = {}
        #: every /api/create request body, in arrival order
        self.created: list[dict[str, Any]] = []

    async def handle(self, req: Request, resp: Response) -> bool:
        """Answer the request if it is one of ours; False leaves it to the caller."""
        path = req.path.rstrip("/")
        if path.startswith("/api/blobs/") and req.method in ("HEAD", "GET", "POST"):
            await self._blob(req, resp, path.removeprefix("/api/blobs/"))
            return True
        if path == "/api/create" and req.method == "POST":
            await self._create(req, resp)
            return True
        return False

    async def _send(self, resp: Response, status: int, obj: Any | None) -> None:
        body = b"" if obj is None else _encode(obj)
        await resp.send(status, [("Content-Type", JSON)], body)

    async def _blob(self, req: Request, resp: Response, name: str) -> None:
        found = _DIGEST.match(name)
        if found is None:
            await self._send(resp, 400, {"error": "invalid digest format"})
            return
        digest = f"sha256:{found.group(1).lower()}"
        if req.method != "POST":
            await resp.send(200 if digest in self.blobs else 404, [], b"")
            return
        actual = f"sha256:{hashlib.sha256(req.body).hexdigest()}"
        if actual != digest:
            await self._send(resp, 400, {"error": "digest mismatch"})
            return
        self.blobs[digest] = len(req.body)
        await resp.send(201, [], b"")

    async def _create(self, req: Request, resp: Response) -> None:
        server = self.routes.server
        try:
            body = json.loads(req.body) if req.body.strip() else None
        except (ValueError, UnicodeDecodeError):
            body = None
        if not isinstance(body, dict):
            await self._send(resp, 400, {"error": "invalid request body"})
            return
        fault = server.fault("status")
        if fault is not None:
            await self._send(resp, fault.status, {"error": fault.message or "internal error"})
            return
        name = str(body.get("model") or body.get("name") or "")
        if not _NAME.match(name):
            await self._send(resp, 400, {"error": "invalid model name"})
            return
        if not body.get("from") and not body.get("files"):
            await self._send(resp, 400, {"error": "neither 'from' or 'files' was specified"})
            return
        self.created.append(body)
        lines = self._steps(name, body)
        if body.get("stream", True) is False:
            last = lines[-1]
            await self._send(resp, 200 if "error" not in last else 500, last)
            return
        await resp.start(200, [("Content-Type", NDJSON)])
        for line in lines:
            await resp.write(_encode(line) + b"\n")
            await asyncio.sleep(0)
        await resp.end()

    def _steps(self, name: str, body: dict[str, Any]) -> list[dict[str, str]]:
        """The status lines of one creation (ending in success or an error line); on
        success the model is added to the listed models."""
        routes = self.routes
        base = routes.find(str(body.get("from") or ""))
        if base is None:
            return [{"status": "pulling manifest"},
                    {"error": "pull model manifest: file does not exist"}]  # fmt: skip
        lines = [{"status": f"using existing layer sha256:{meta(base).digest}"}]
        adapters = body.get("adapters") or {}
        if not isinstance(adapters, dict):
            return [*lines, {"error": "adapters must be a map of file name to digest"}]
        for file, digest in adapters.items():
            if digest not in self.blobs:
                return [*lines, {"error": f"adapter {file}: blob {digest} not found"}]
            lines.append({"status": f"using existing layer {digest}"})
        for key in ("system", "parameters", "template", "license"):
            value = body.get(key)
            if value:
                text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
                layer = hashlib.sha256(text.encode()).hexdigest()
                lines.append({"status": f"creating new layer sha256:{layer}"})
        lines += [{"status": "writing manifest"}, {"status": "success"}]
        models = routes.knobs.models
        assert models is not None
        if routes.find(name) is None:
            from hybrid_tui.sim.ollama import normalise

            models.append(normalise(name))
        return lines
