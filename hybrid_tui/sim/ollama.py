"""The Ollama simulator's wire format (protocols.md A): native ``/api`` endpoints, and the
OpenAI-compatible ``/v1`` layer over them (:mod:`hybrid_tui.sim.ollama_openai`).

Byte-level choices follow the Go server: compact JSON with HTML characters escaped
(``\\u003c``), NDJSON chunks flushed one per token, ``created_at`` in RFC 3339 with
nanoseconds, integer-nanosecond metrics omitted when zero, and the status line held back
until the first token exists.
"""

from __future__ import annotations

import json
import re
import time
from typing import TYPE_CHECKING, Any

from hybrid_tui.sim.catalog import MODIFIED_AT, meta
from hybrid_tui.sim.engine import Plan, Timing, quiet_reply, stream_reply, wait_first_token
from hybrid_tui.sim.http import Request, Response, status_phrase
from hybrid_tui.sim.knobs import is_embedding
from hybrid_tui.sim.ollama_create import CreateRoutes
from hybrid_tui.sim.ollama_openai import ChunkEncoder, model_list, native_request
from hybrid_tui.sim.ollama_openai import send_error as send_openai_error
from hybrid_tui.sim.replies import reply_pieces, thinking_for
from hybrid_tui.sim.tokens import count_tokens, tokenize

if TYPE_CHECKING:
    from hybrid_tui.sim.knobs import SimKnobs
    from hybrid_tui.sim.server import SimServer

JSON = "application/json; charset=utf-8"
NDJSON = "application/x-ndjson"
CRASH = (
    "model runner has unexpectedly stopped, this may be due to resource limitations or an "
    "internal error, check ollama server logs for details"
)
BUSY = "server busy, please try again.  maximum pending requests exceeded"
DEFAULT_KEEP_ALIVE = 300.0
#: keep_alive < 0: "never" (Go's maximum duration, year 2262+)
FOREVER_NS = 2**63 - 1
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_DURATION_FULL = re.compile(r"[-+]?(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+")
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def go_json(obj: Any) -> bytes:
    """``json.Marshal`` output: compact, UTF-8, with ``<``, ``>``, ``&`` escaped."""
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    for ch, esc in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(ch, esc)
    return text.encode()


def rfc3339nano(ns: int) -> str:
    """Go's ``time.RFC3339Nano`` in UTC: trailing zeros of the fraction trimmed."""
    secs, frac = divmod(ns, 10**9)
    base = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs))
    digits = f"{frac:09d}".rstrip("0")
    return f"{base}.{digits}Z" if digits else f"{base}Z"


def parse_keep_alive(value: Any) -> float:
    """Seconds from a ``keep_alive`` value (number = seconds, Go duration string, <0 never)."""
    if value is None:
        return DEFAULT_KEEP_ALIVE
    if isinstance(value, bool):
        raise ValueError("json: cannot unmarshal bool into Go value of type api.Duration")
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip()
    if text in ("0", "-0"):
        return 0.0
    if not _DURATION_FULL.fullmatch(text):
        raise ValueError(f'time: invalid duration "{text}"')
    sign = -1.0 if text.startswith("-") else 1.0
    return sign * sum(float(n) * _UNITS[u] for n, u in _DURATION.findall(text.lstrip("-+")))


def normalise(name: str) -> str:
    """``llama3.2`` and ``llama3.2:latest`` are the same model."""
    name = name.strip().lower()
    return name if ":" in name.rsplit("/", 1)[-1] else name + ":latest"


class OllamaEncoder:
    """NDJSON chunks for one request (``field`` is "message" for chat, "response" for generate)."""

    def __init__(self, requested: str, field: str = "message") -> None:
        self.requested = requested
        self.field = field

    def fields(self, content: str = "", thinking: str = "") -> dict[str, Any]:
        obj: dict[str, Any] = {"model": self.requested, "created_at": rfc3339nano(time.time_ns())}
        if self.field == "message":
            msg = {"role": "assistant", "content": content}
            if thinking:
                msg["thinking"] = thinking
            obj["message"] = msg
        else:
            obj["response"] = content
            if thinking:
                obj["thinking"] = thinking
        return obj

    def stream_head(self) -> list[tuple[str, str]]:
        return [("Content-Type", NDJSON)]

    def json_headers(self) -> list[tuple[str, str]]:
        return [("Content-Type", JSON)]

    def piece(self, plan: Plan, text: str, reasoning: bool, index: int) -> bytes:
        obj = self.fields("", text) if reasoning else self.fields(text)
        obj["done"] = False
        return go_json(obj) + b"\n"

    def _final(self, plan: Plan, content: str, thinking: str, complete: bool) -> dict[str, Any]:
        obj = self.fields(content, thinking)
        obj["done"] = complete
        if not complete:
            return obj
        obj["done_reason"] = plan.finish
        d = plan.timing.durations()
        metrics = {
            "total_duration": d["total_duration"],
            "load_duration": d["load_duration"],
            "prompt_eval_count": plan.prompt_tokens,
            "prompt_eval_duration": d["prompt_eval_duration"],
            "eval_count": plan.completion_tokens,
            "eval_duration": d["eval_duration"],
        }
        obj.update({k: int(v) for k, v in metrics.items() if v})  # omit-if-zero, like Go
        if self.field == "response":
            obj["context"] = list(range(1, min(plan.prompt_tokens, 16) + 1))
        return obj

    def final(self, plan: Plan) -> bytes:
        return go_json(self._final(plan, "", "", True)) + b"\n"

    def body(self, plan: Plan, *, complete: bool) -> bytes:
        return go_json(self._final(plan, plan.text, plan.reasoning, complete))

    def error_event(self, message: str | None) -> bytes:
        return go_json({"error": message or CRASH}) + b"\n"

    def malformed(self, plan: Plan) -> bytes:
        whole = go_json({**self.fields("…"), "done": False})
        return whole[: len(whole) // 2] + b"\n"

    def keepalive(self) -> bytes | None:
        return None

    def default_error(self, status: int) -> str:
        return {
            400: "the input length exceeds the context length",
            404: f"model '{self.requested}' not found",
            500: CRASH,
            503: BUSY,
        }.get(status, status_phrase(status).lower() or "error")

    async def send_error(self, resp: Response, status: int, message: str | None) -> None:
        await send_error(resp, status, message or self.default_error(status))


async def send_json(resp: Response, obj: Any, status: int = 200) -> None:
    await resp.send(status, [("Content-Type", JSON)], go_json(obj))


async def send_error(resp: Response, status: int, message: str) -> None:
    await send_json(resp, {"error": message}, status)


def _parse_body(req: Request) -> tuple[dict[str, Any] | None, str | None]:
    """The JSON object in the body, or the Go-style error text."""
    if not req.body.strip():
        return None, "missing request body"
    try:
        body = json.loads(req.body)
    except json.JSONDecodeError as exc:
        bad = exc.doc[exc.pos : exc.pos + 1] or " "
        return None, f"invalid character '{bad}' looking for beginning of value"
    except (ValueError, UnicodeDecodeError):
        return None, "invalid character looking for beginning of value"
    if not isinstance(body, dict):
        kind = "array" if isinstance(body, list) else type(body).__name__
        return None, f"json: cannot unmarshal {kind} into Go value of type api.ChatRequest"
    return body, None


class OllamaRoutes:
    """Request handling for a simulated Ollama."""

    def __init__(self, server: SimServer) -> None:
        self.server = server
        #: model -> wall-clock ns when it unloads (absent: loaded by hand, pinned)
        self.expires: dict[str, int] = {}
        #: /api/blobs and /api/create (created models are added to knobs.models)
        self.create = CreateRoutes(self)
        #: model -> the num_ctx it was loaded with, when a request set one
        self.loaded_ctx: dict[str, int] = {}

    @property
    def knobs(self) -> SimKnobs:
        return self.server.knobs

    async def handle(self, req: Request, resp: Response) -> None:
        if await self.create.handle(req, resp):
            return
        route = (req.method if req.method != "HEAD" else "GET", req.path.rstrip("/") or "/")
        if route == ("GET", "/"):
            await resp.send(
                200, [("Content-Type", "text/plain; charset=utf-8")], b"Ollama is running"
            )
        elif route == ("GET", "/api/version"):
            await send_json(resp, {"version": self.knobs.version})
        elif route == ("GET", "/api/tags"):
            await send_json(resp, {"models": [self._tag(m) for m in self.knobs.models]})
        elif route == ("GET", "/api/ps"):
            await send_json(resp, {"models": self._ps()})
        elif route == ("POST", "/api/show"):
            await self._show(req, resp)
        elif route == ("POST", "/api/chat"):
            await self._infer(req, resp, "message")
        elif route == ("POST", "/api/generate"):
            await self._infer(req, resp, "response")
        elif route == ("POST", "/v1/chat/completions"):
            await self._openai_chat(req, resp)
        elif route == ("GET", "/v1/models"):
            await resp.send(
                200,
                [("Content-Type", "application/json")],
                go_json(model_list(self.knobs.models)) + b"\n",
            )
        else:
            await resp.send(404, [("Content-Type", "text/plain")], b"404 page not found")

    # -- listings ------------------------------------------------------------------------

    def find(self, requested: str) -> str | None:
        wanted = normalise(requested)
        for name in self.knobs.models:
            if normalise(name) == wanted:
                return name
        return None

    def thinks(self, name: str) -> bool:
        """Whether ``name`` has the "thinking" capability (see ``SimKnobs.thinking_models``)."""
        if is_embedding(name):
            return False
        if "thinking" in self.knobs.quirks:
            return True
        listed = self.knobs.thinking_models
        if listed is not None:
            return normalise(name) in {normalise(m) for m in listed}
        return meta(name).thinking

    def _tag(self, name: str) -> dict[str, Any]:
        m = meta(name)
        return {
            "name": name,
            "model": name,
            "modified_at": MODIFIED_AT,
            "size": m.size,
            "digest": m.digest,
            "details": m.details(),
        }

    def _prune(self) -> None:
        """Drop models whose keep-alive ran out."""
        now = time.time_ns()
        for name, at in list(self.expires.items()):
            if at <= now:
                del self.expires[name]
                self.loaded_ctx.pop(name, None)
                if name in self.knobs.loaded:
                    self.knobs.loaded.remove(name)

    def _ps(self) -> list[dict[str, Any]]:
        self._prune()
        rows = []
        for name in self.knobs.loaded:
            m = meta(name)
            at = self.expires.get(name, FOREVER_NS)
            rows.append(
                {
                    "name": name,
                    "model": name,
                    "size": m.size,
                    "digest": m.digest,
                    "details": m.details(),
                    "expires_at": rfc3339nano(at),
                    "size_vram": m.size,
                    "context_length": self.loaded_ctx.get(name, self.knobs.context_length),
                    "_at": at,
                }
            )
        rows.sort(key=lambda r: r["_at"], reverse=True)
        for r in rows:
            del r["_at"]
        return rows

    async def _show(self, req: Request, resp: Response) -> None:
        body, problem = _parse_body(req)
        if body is None:
            await send_error(resp, 400, problem or "bad request")
            return
        requested = str(body.get("model") or body.get("name") or "")
        if not requested:
            await send_error(resp, 400, "model is required")
            return
        name = self.find(requested)
        if name is None:
            await send_error(resp, 404, f"model '{requested}' not found")
            return
        m = meta(name)
        caps = ["embedding"] if m.embedding else ["completion", "tools"]
        if self.thinks(name):
            caps.append("thinking")
        await send_json(
            resp,
            {
                "license": "",
                "modelfile": f'# Modelfile generated by "ollama show"\nFROM {name}\n',
                "parameters": 'stop                           "<|im_end|>"',
                "template": "{{ .System }}\n{{ .Prompt }}",
                "details": m.details(),
                "model_info": {
                    "general.architecture": m.family,
                    "general.parameter_count": int(m.parameters * 1e9),
                    "general.file_type": 15,
                    f"{m.family}.context_length": m.trained_context,
                },
                "capabilities": caps,
                "modified_at": MODIFIED_AT,
            },
        )

    # -- chat and generate -----------------------------------------------------------------

    async def _infer(self, req: Request, resp: Response, field: str) -> None:
        timing = Timing()
        body, problem = _parse_body(req)
        if body is None:
            await send_error(resp, 400, problem or "bad request")
            return
        async with self.server.inference(req, resp, body):
            await self._infer_body(
                resp, field, body, timing, OllamaEncoder(body_model(body), field)
            )

    async def _openai_chat(self, req: Request, resp: Response) -> None:
        """``/v1/chat/completions``: translated to a native chat, answered in SSE chunks."""
        timing = Timing()
        body, problem = _parse_body(req)
        native = None
        if body is not None:
            native, problem = native_request(body)
        if body is None or native is None:
            await send_openai_error(resp, 400, problem or "bad request", go_json)
            return
        options = body.get("stream_options")
        enc = ChunkEncoder(
            body_model(native),
            include_usage=isinstance(options, dict) and options.get("include_usage") is True,
            json=go_json,
            crash=CRASH,
        )
        async with self.server.inference(req, resp, native):
            await self._infer_body(resp, "message", native, timing, enc)

    def _reject(self, body: dict[str, Any], field: str) -> tuple[int, str] | None:
        """The error status and text for a request Ollama would refuse before queueing."""
        requested = str(body.get("model") or "")
        if not requested:
            return 400, "model is required"
        name = self.find(requested)
        if name is None:
            return 404, f"model '{requested}' not found"
        if is_embedding(name):
            verb = "chat" if field == "message" else "generate"
            return 400, f'"{requested}" does not support {verb}'
        if body.get("think") not in (None, False) and not self.thinks(name):
            return 400, f'"{requested}" does not support thinking'
        try:
            parse_keep_alive(body.get("keep_alive"))
        except ValueError as exc:
            return 400, str(exc)
        if (
            body.get("truncate") is False
            and _prompt_tokens(body, field) > self.knobs.context_length
        ):
            return 400, "the input length exceeds the context length"
        if self.server.queued >= self.knobs.max_queue:
            return 503, BUSY
        return None

    async def _infer_body(
        self,
        resp: Response,
        field: str,
        body: dict[str, Any],
        timing: Timing,
        enc: OllamaEncoder | ChunkEncoder,
    ) -> None:
        server, knobs = self.server, self.knobs
        requested = body_model(body)
        status = server.fault("status")
        if status is not None:
            await enc.send_error(resp, status.status, status.message)
            return
        rejected = self._reject(body, field)
        if rejected is not None:
            await enc.send_error(resp, *rejected)
            return
        name = self.find(requested) or requested
        keep_alive = parse_keep_alive(body.get("keep_alive"))
        plan = self._plan(requested, body, field, timing)
        async with server.slot():
            timing.slotted = time.perf_counter_ns()
            self._prune()
            await server.cold_load(name)
            self.expires.pop(name, None)  # busy models do not expire
            timing.ready = time.perf_counter_ns()
            try:
                if plan is None:  # no messages / no prompt: just load (or unload)
                    reason = "unload" if keep_alive == 0 else "load"
                    fields = OllamaEncoder(requested).fields()
                    await send_json(resp, {**fields, "done_reason": reason, "done": True})
                    return
                await wait_first_token(resp, enc, knobs.first_token_delay)
                if body.get("stream", True) is False:
                    await quiet_reply(resp, enc, plan, knobs)
                else:
                    await stream_reply(resp, enc, plan, knobs)
            finally:
                self._expire(name, keep_alive)

    def _expire(self, name: str, keep_alive: float) -> None:
        if keep_alive == 0:
            self.expires.pop(name, None)
            self.loaded_ctx.pop(name, None)
            if name in self.knobs.loaded:
                self.knobs.loaded.remove(name)
        elif keep_alive < 0:
            self.expires[name] = FOREVER_NS
        else:
            self.expires[name] = time.time_ns() + int(keep_alive * 1e9)

    def _plan(
        self, requested: str, body: dict[str, Any], field: str, timing: Timing
    ) -> Plan | None:
        """What to answer; None for a load-only request (no messages, no prompt)."""
        knobs = self.knobs
        if field == "response":
            prompt = body.get("prompt")
            if not isinstance(prompt, str) or not prompt:
                return None
            messages: list[Any] = [{"role": "user", "content": prompt}]
        else:
            messages = body.get("messages") if isinstance(body.get("messages"), list) else []
            if not messages:
                return None
        pieces = reply_pieces(messages, knobs.reply, knobs.reply_tokens, model=requested)
        finish = "stop"
        options = body.get("options") if isinstance(body.get("options"), dict) else {}
        limit = options.get("num_predict") if options else None
        if isinstance(limit, int) and 0 < limit < len(pieces):
            pieces, finish = pieces[:limit], "length"
        # a thinking model reasons unless told not to (think: false)
        name = self.find(requested) or requested
        plan_pieces: list[tuple[str, bool]] = []
        if body.get("think") is not False and self.thinks(name):
            plan_pieces = [(p, True) for p in tokenize(thinking_for(messages))]
        plan_pieces += [(p, False) for p in pieces]
        num_ctx = options.get("num_ctx") if options else None
        if isinstance(num_ctx, int) and num_ctx > 0:
            self.loaded_ctx[name] = num_ctx
        window = self.loaded_ctx.get(name, knobs.context_length)
        prompt_tokens = min(_prompt_tokens(body, field), window)
        return Plan(requested, plan_pieces, prompt_tokens, finish, knobs.fault, timing)


def body_model(body: dict[str, Any]) -> str:
    return str(body.get("model") or "")


def _prompt_tokens(body: dict[str, Any], field: str) -> int:
    if field == "response":
        return count_tokens(str(body.get("prompt") or "")) + 4
    messages = body.get("messages") if isinstance(body.get("messages"), list) else []
    return (
        sum(count_tokens(str(m.get("content") or "")) + 4 for m in messages if isinstance(m, dict))
        + 2
    )
