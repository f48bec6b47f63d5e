"""Typed errors. Each failure mode has one class and one clear, single-line message."""

from __future__ import annotations


class HybridError(Exception):
    """Base class for every error hybrid-tui raises on purpose."""


class ConfigError(HybridError):
    """The configuration is unusable. Rendered as ``<file>: <key>: <problem>``; CLI exit 2."""

    def __init__(self, problem: str, *, path: str | None = None, key: str | None = None) -> None:
        self.problem = problem
        self.path = path
        self.key = key
        parts = [p for p in (path or "<defaults>", key) if p]
        super().__init__(": ".join([*parts, problem]))


class UsageError(HybridError):
    """Bad command-line usage; CLI exit 2."""


class BackendError(HybridError):
    """A backend could not serve a request. ``backend`` is the configured name."""

    #: a short word for logs and the routing log: refused, timeout, http, stream, ...
    kind = "error"

    def __init__(self, message: str, *, backend: str = "", partial: str = "") -> None:
        self.message = message
        self.backend = backend
        #: text received before the failure (never lost: shown and kept in the transcript)
        self.partial = partial
        super().__init__(f"{backend}: {message}" if backend else message)


class BackendUnavailable(BackendError):
    """Could not connect at all: refused, unreachable, DNS failure."""

    kind = "unavailable"

    def __init__(self, message: str, *, backend: str = "", reason: str = "refused") -> None:
        #: "refused" | "connect-timeout" | "dns" | "other"
        self.reason = reason
        super().__init__(message, backend=backend)


class BackendTimeout(BackendError):
    """Connected, but the first token (or the next one) did not come in time."""

    kind = "timeout"


class BackendHTTPError(BackendError):
    """The server answered with an error status or an error body before streaming."""

    kind = "http"

    def __init__(self, message: str, *, backend: str = "", status: int = 0) -> None:
        self.status = status
        super().__init__(message, backend=backend)


class ModelNotFound(BackendHTTPError):
    """The requested model is not on the server (Ollama 404, LM Studio model_not_found)."""

    kind = "model-not-found"


class BackendBusy(BackendHTTPError):
    """The server refused for load (Ollama 503 queue full)."""

    kind = "busy"


class ContextOverflow(BackendHTTPError):
    """The prompt does not fit the model's context window (LM Studio "Trying to keep the
    first N tokens…", Ollama "the input length exceeds the context length")."""

    kind = "context-overflow"


class NoModelAvailable(BackendError):
    """The server is up but lists no usable chat model."""

    kind = "no-model"


class StreamError(BackendError):
    """The stream started and then failed: an error line/event, or the connection dropped."""

    kind = "stream"


class TruncatedStream(StreamError):
    """The stream ended without its end marker (no done:true / [DONE])."""

    kind = "truncated"


class ProtocolError(StreamError):
    """The server sent bytes that are not the protocol (malformed JSON line, wrong content)."""

    kind = "protocol"


class StoreError(HybridError):
    """The SQLite store could not be read or written, even after retrying (disk full, held
    locked by another process, unreadable). One line naming the file; CLI exit 1."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        self.message = message
        #: True when trying again later may work (busy, disk full), False when it will not
        self.transient = transient
        super().__init__(message)


class ChatMissing(StoreError):
    """The chat a turn belongs to is not in the store: the file was moved aside as unreadable
    and a fresh one started, or another instance deleted the chat. Nothing was written; the
    chat has to be made again before its turns can be saved."""


class ResponseTooLarge(ProtocolError):
    """The server sent more than a reply may hold: a stream line (or SSE event) over the line
    limit, or a JSON body over its cap. Nothing more is read and the connection is closed."""

    kind = "too-large"
