"""The LM Studio simulator's wire format (protocols.md B, F): OpenAI-compatible ``/v1``,
native ``/api/v0`` (and the ``/api/v1/models`` listing).

Streams are SSE ``data: {json}`` events flushed one per token: the first delta carries the
role with the first text, the finish reason comes on its own chunk with an empty delta,
usage only when asked for, then ``data: [DONE]``. Field-observed variations are quirks
(``SimKnobs.quirks``), never the default.
"""

from __future__ import annotations

import json
import random
import string
import time
from typing import TYPE_CHECKING, Any

from hybrid_tui.sim.catalog import QUANT, meta
from hybrid_tui.sim.engine import Plan, Timing, quiet_reply, stream_reply, wait_first_token
from hybrid_tui.sim.http import Request, Response, status_phrase
from hybrid_tui.sim.knobs import is_embedding
from hybrid_tui.sim.replies import reply_pieces
from hybrid_tui.sim.tokens import count_tokens, tokenize

if TYPE_CHECKING:
    from hybrid_tui.sim.knobs import SimKnobs
    from hybrid_tui.sim.server import SimServer

NO_MODELS = (
    "No models loaded. Please load a model in the developer page or use the 'lms load' command."
)
CRASH = "The model has crashed without additional information. (Exit code: 18446744072635812000)"
_REASONING = "The user wants working code. I will outline the steps, then answer concisely."
_ID_CHARS = string.ascii_lowercase + string.digits
_EXPRESS = [("X-Powered-By", "Express"), ("Access-Control-Allow-Origin", "*")]
JSON_HEADERS = [*_EXPRESS, ("Content-Type", "application/json; charset=utf-8")]


def js_json(obj: Any) -> bytes:
    """``JSON.stringify`` output: compact, UTF-8, nothing escaped beyond JSON's rules."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def completion_id() -> str:
    return "chatcmpl-" + "".join(random.choices(_ID_CHARS, k=21))


class ErrorShape:
    """LM Studio error bodies: the object shape, or a bare string (quirk ``error_string``)."""

    def __init__(self, quirks: set[str]) -> None:
        self.as_string = "error_string" in quirks

    def body(
        self,
        message: str,
        *,
        type_: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
    ) -> dict[str, Any]:
        if self.as_string:
            return {"error": message}
        return {"error": {"message": message, "type": type_, "param": param, "code": code}}


class SSEEncoder:
    """The SSE events of one chat completion (also its non-streamed body)."""

    def __init__(
        self,
        model: str,
        knobs: SimKnobs,
        *,
        include_usage: bool,
        native: bool,
        split: bool,
        not_found: str,
    ) -> None:
        self.model = model
        self.quirks = knobs.quirks
        self.include_usage = include_usage or "usage_always" in knobs.quirks
        self.native = native
        self.context_length = knobs.context_length
        self.errors = ErrorShape(knobs.quirks)
        self.not_found = not_found
        self.eol = b"\r\n" if split or "crlf" in knobs.quirks else b"\n"
        self.id = completion_id()
        self.created = int(time.time())
        self.reasoning_field = "reasoning" if "reasoning" in knobs.quirks else "reasoning_content"

    def _event(self, obj: Any) -> bytes:
        data = obj if isinstance(obj, bytes) else js_json(obj)
        return b"data: " + data + self.eol + self.eol

    def _chunk(self, choices: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": self.model,
            "choices": choices,
        }

    @staticmethod
    def _choice(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}

    def stream_head(self) -> list[tuple[str, str]]:
        return [
            *_EXPRESS,
            ("Content-Type", "text/event-stream"),
            ("Cache-Control", "no-cache"),
            ("Connection", "keep-alive"),
        ]

    def json_headers(self) -> list[tuple[str, str]]:
        return list(JSON_HEADERS)

    def piece(self, plan: Plan, text: str, reasoning: bool, index: int) -> bytes:
        delta: dict[str, Any] = {"role": "assistant"} if index == 0 else {}
        delta[self.reasoning_field if reasoning else "content"] = text
        return self._event(self._chunk([self._choice(delta)]))

    def final(self, plan: Plan) -> bytes:
        finish = self._chunk([self._choice({}, plan.finish)])
        if "timings" in self.quirks:
            finish["timings"] = _timings(plan)
        out = self._event(finish)
        if self.include_usage:
            out += self._event({**self._chunk([]), "usage": plan.usage})
        return out + self._event(b"[DONE]")

    def body(self, plan: Plan, *, complete: bool) -> bytes:
        message: dict[str, Any] = {"role": "assistant", "content": plan.text}
        if plan.reasoning:
            message[self.reasoning_field] = plan.reasoning
        obj: dict[str, Any] = {
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": [
                {
                    "index": 0,
                    "logprobs": None,
                    "finish_reason": plan.finish if complete else None,
                    "message": message,
                }
            ],
            "usage": plan.usage,
            "system_fingerprint": self.model,
        }
        if self.native:
            obj.update(self._native_extras(plan))
        return js_json(obj)

    def _native_extras(self, plan: Plan) -> dict[str, Any]:
        """What ``/api/v0/chat/completions`` adds to a non-streamed reply (seconds, floats)."""
        t = plan.timing
        gen = max((t.last - t.first) / 1e9, 1e-6) if t.first else 0.0
        m = meta(self.model)
        return {
            "stats": {
                "tokens_per_second": plan.completion_tokens / gen if gen else 0.0,
                "time_to_first_token": round((t.first - t.arrived) / 1e9, 3) if t.first else 0.0,
                "generation_time": round(gen, 3),
                "stop_reason": "maxPredictedTokensReached"
                if plan.finish == "length"
                else "eosFound",
            },
            "model_info": {
                "arch": m.family,
                "quant": QUANT,
                "format": "gguf",
                "context_length": self.context_length,
            },
            "runtime": {
                "name": "llama.cpp-linux-x86_64-avx2",
                "version": "1.29.0",
                "supported_formats": ["gguf"],
            },
        }

    def error_event(self, message: str | None) -> bytes:
        return self._event(self.errors.body(message or CRASH, type_="server_error"))

    def malformed(self, plan: Plan) -> bytes:
        whole = js_json(self._chunk([self._choice({"content": "…"})]))
        return b"data: " + whole[: len(whole) // 2] + self.eol + self.eol

    def keepalive(self) -> bytes | None:
        if "keepalive_comments" not in self.quirks:
            return None
        return b": keep-alive" + self.eol + self.eol

    async def send_error(self, resp: Response, status: int, message: str | None) -> None:
        if status == 404 and message is None:
            body = self.errors.body(self.not_found, param="model", code="model_not_found")
        elif status == 400 and message is None:
            body = self.errors.body(NO_MODELS, param="model")
        else:
            text = message or (CRASH if status == 500 else status_phrase(status) or "error")
            body = self.errors.body(
                text, type_="invalid_request_error" if status < 500 else "server_error"
            )
        await send_json(resp, body, status)


async def send_json(resp: Response, obj: Any, status: int = 200) -> None:
    await resp.send(status, JSON_HEADERS, js_json(obj))


class LMStudioRoutes:
    """Request handling for a simulated LM Studio."""

    def __init__(self, server: SimServer) -> None:
        self.server = server
        #: the model loaded just in time (auto-evict keeps at most one)
        self.jit: str | None = None

    @property
    def knobs(self) -> SimKnobs:
        return self.server.knobs

    @property
    def errors(self) -> ErrorShape:
        return ErrorShape(self.knobs.quirks)

    async def handle(self, req: Request, resp: Response) -> None:
        path = req.path.rstrip("/") or "/"
        method = "GET" if req.method == "HEAD" else req.method
        if method == "GET" and path in ("/v1/models", "/api/v0/models"):
            rows = [
                self._v1_row(m) if path == "/v1/models" else self._v0_row(m) for m in self._listed()
            ]
            await send_json(resp, {"data": rows, "object": "list"})
        elif method == "GET" and path.startswith(("/v1/models/", "/api/v0/models/")):
            await self._one_model(resp, path)
        elif method == "GET" and path == "/api/v1/models":
            await send_json(resp, {"models": [self._native_row(m) for m in self._listed()]})
        elif method == "POST" and path in ("/v1/chat/completions", "/api/v0/chat/completions"):
            await self._chat(req, resp, native=path.startswith("/api/"))
        else:  # LM Studio answers unknown routes with 200 and an error body
            text = f"Unexpected endpoint or method. ({req.method} {path})"
            await send_json(resp, {"error": text})

    # -- listings ------------------------------------------------------------------------

    def _listed(self) -> list[str]:
        """With JIT off (quirk ``no_jit``) only loaded models are listed."""
        if "no_jit" in self.knobs.quirks:
            return [m for m in self.knobs.models if m in self.knobs.loaded]
        return list(self.knobs.models)

    def _v1_row(self, name: str) -> dict[str, Any]:
        return {"id": name, "object": "model", "owned_by": "organization_owner"}

    def _v0_row(self, name: str) -> dict[str, Any]:
        m, loaded = meta(name), name in self.knobs.loaded
        row: dict[str, Any] = {
            "id": name,
            "object": "model",
            "type": "embeddings" if m.embedding else "llm",
            "publisher": m.publisher,
            "arch": m.family,
            "compatibility_type": "gguf",
            "quantization": QUANT,
            "state": "loaded" if loaded else "not-loaded",
            "max_context_length": m.trained_context,
        }
        if loaded:
            row["loaded_context_length"] = self.knobs.context_length
        row["capabilities"] = [] if m.embedding else ["tool_use"]
        return row

    def _native_row(self, name: str) -> dict[str, Any]:
        m = meta(name)
        instances = []
        if name in self.knobs.loaded:
            instances.append(
                {
                    "id": name,
                    "config": {
                        "context_length": self.knobs.context_length,
                        "eval_batch_size": 512,
                        "parallel": self.knobs.effective_parallel("openai"),
                        "flash_attention": True,
                        "num_experts": 0,
                        "offload_kv_cache_to_gpu": True,
                    },
                }
            )
        return {
            "type": "embedding" if m.embedding else "llm",
            "publisher": m.publisher,
            "key": name,
            "display_name": name,
            "architecture": m.family,
            "quantization": {"name": QUANT, "bits_per_weight": 4.8},
            "size_bytes": m.size,
            "params_string": m.parameter_size,
            "loaded_instances": instances,
            "max_context_length": m.trained_context,
            "format": "gguf",
            "capabilities": {"vision": False, "trained_for_tool_use": not m.embedding},
            "description": None,
        }

    async def _one_model(self, resp: Response, path: str) -> None:
        wanted = path.split("/models/", 1)[1]
        name = self.find(wanted, self._listed())
        if name is None:
            await send_json(
                resp,
                self.errors.body(
                    self._not_found_text(wanted), param="model", code="model_not_found"
                ),
                404,
            )
        elif path.startswith("/v1/"):
            await send_json(resp, self._v1_row(name))
        else:
            await send_json(resp, self._v0_row(name))

    @staticmethod
    def find(wanted: str, names: list[str]) -> str | None:
        key = wanted.strip().lower().split("@", 1)[0]
        return next((n for n in names if n.lower() == key), None)

    def _not_found_text(self, wanted: str) -> str:
        names = self._listed()
        if "unknown_model_400" in self.knobs.quirks:
            return (
                f'Invalid model identifier "{wanted}". Please specify a valid downloaded '
                f"model (e.g., {', '.join(names)})."
            )
        return (
            f'Model "{wanted}" not found. Please specify a valid model.\n\n'
            "Your models:\n" + "\n".join(names)
        )

    # -- chat ----------------------------------------------------------------------------

    async def _chat(self, req: Request, resp: Response, *, native: bool) -> None:
        timing = Timing()
        try:
            body = json.loads(req.body) if req.body.strip() else None
        except (ValueError, UnicodeDecodeError):
            body = None
        if not isinstance(body, dict):
            problem = "Invalid request body: expected a JSON object"
            await send_json(resp, self.errors.body(problem), 400)
            return
        async with self.server.inference(req, resp, body):
            await self._chat_body(resp, body, native, timing)

    def _resolve(self, requested: str) -> tuple[str | None, int, str | None]:
        """(model to serve, or None with an error status and text)."""
        knobs, quirks = self.knobs, self.knobs.quirks
        loaded = knobs.loaded or []
        if not requested or ("ignore_model" in quirks and loaded):
            return (loaded[0], 0, None) if loaded else (None, 400, NO_MODELS)
        if "no_jit" in quirks:
            if not loaded:
                return None, 400, NO_MODELS
            name = self.find(requested, loaded)
        else:
            name = self.find(requested, knobs.models)
        if name is None:
            status = 400 if "unknown_model_400" in quirks else 404
            return None, status, self._not_found_text(requested)
        return name, 0, None

    def _reject(self, body: dict[str, Any], model: str) -> tuple[int, dict[str, Any]] | None:
        """The status and error body for a chat LM Studio refuses once the model is known."""
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return 400, self.errors.body("'messages' field is required", param="messages")
        if is_embedding(model):
            text = f'Model "{model}" is an embedding model and cannot be used for chat.'
            return 400, self.errors.body(text, param="model")
        prompt_tokens = _prompt_tokens(messages)
        ctx = self.knobs.context_length
        if prompt_tokens > ctx and "overflow_empty" not in self.knobs.quirks:
            text = (
                f"Trying to keep the first {prompt_tokens} tokens when context the overflows. "
                f"However, the model is loaded with context length of only {ctx} tokens, "
                "which is not enough. Try to load the model with a larger context length, "
                "or provide a shorter input"
            )
            return (200 if "overflow_200" in self.knobs.quirks else 400), self.errors.body(text)
        return None

    async def _chat_body(
        self, resp: Response, body: dict[str, Any], native: bool, timing: Timing
    ) -> None:
        server, knobs = self.server, self.knobs
        requested = str(body.get("model") or "")
        model, status, problem = self._resolve(requested)
        enc = SSEEncoder(
            model or requested,
            knobs,
            native=native,
            include_usage=_include_usage(body),
            split=server.splitting(),
            not_found=self._not_found_text(requested),
        )
        fault = server.fault("status")
        if fault is not None:
            await enc.send_error(resp, fault.status, fault.message)
            return
        if model is None:
            code = "model_not_found" if problem != NO_MODELS else None
            error = self.errors.body(problem or NO_MODELS, param="model", code=code)
            await send_json(resp, error, status)
            return
        rejected = self._reject(body, model)
        if rejected is not None:
            await send_json(resp, rejected[1], rejected[0])
            return
        plan = self._plan(model, body, timing)
        async with server.slot():
            if await server.cold_load(model):  # JIT load; auto-evict the previous JIT model
                if self.jit not in (None, model) and self.jit in knobs.loaded:
                    knobs.loaded.remove(self.jit)
                self.jit = model
            timing.ready = time.perf_counter_ns()
            await wait_first_token(resp, enc, knobs.first_token_delay)
            if body.get("stream") is True:
                await stream_reply(resp, enc, plan, knobs)
            else:
                await quiet_reply(resp, enc, plan, knobs)

    def _plan(self, model: str, body: dict[str, Any], timing: Timing) -> Plan:
        knobs, quirks = self.knobs, self.knobs.quirks
        messages = body["messages"]
        prompt_tokens = _prompt_tokens(messages)
        pieces = reply_pieces(messages, knobs.reply, knobs.reply_tokens)
        finish = "stop"
        limit = body.get("max_tokens")
        if isinstance(limit, int) and 0 < limit < len(pieces):
            pieces, finish = pieces[:limit], "length"
        plan_pieces = [(p, False) for p in pieces]
        if body.get("reasoning_effort") == "none":  # thinking turned off
            pass
        elif "think_tags" in quirks:
            tagged = tokenize(f"<think>\n{_REASONING}\n</think>\n\n")
            plan_pieces = [(p, False) for p in tagged] + plan_pieces
        elif quirks & {"reasoning_content", "reasoning"}:
            plan_pieces = [(p, True) for p in tokenize(_REASONING)] + plan_pieces
        if prompt_tokens > knobs.context_length:  # quirk overflow_empty: no content at all
            plan_pieces = []
        return Plan(model, plan_pieces, prompt_tokens, finish, knobs.fault, timing)


def _timings(plan: Plan) -> dict[str, Any]:
    """llama.cpp server's ``timings`` (milliseconds) for a finished plan."""
    t = plan.timing
    first = t.first or t.ready
    prompt_ms = max(first - (t.ready or t.arrived), 0) / 1e6
    predicted_ms = max((t.last or first) - first, 0) / 1e6
    n = plan.completion_tokens
    return {
        "cache_n": 0,
        "prompt_n": plan.prompt_tokens,
        "prompt_ms": prompt_ms,
        "prompt_per_second": plan.prompt_tokens / prompt_ms * 1000 if prompt_ms else 0.0,
        "predicted_n": n,
        "predicted_ms": predicted_ms,
        "predicted_per_second": n / predicted_ms * 1000 if predicted_ms else 0.0,
    }


def _prompt_tokens(messages: list[Any]) -> int:
    return (
        sum(count_tokens(str(m.get("content") or "")) + 4 for m in messages if isinstance(m, dict))
        + 2
    )


def _include_usage(body: dict[str, Any]) -> bool:
    options = body.get("stream_options")
    return isinstance(options, dict) and bool(options.get("include_usage"))
