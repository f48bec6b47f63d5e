"""What the router says: the chat messages it sends, and the words it uses when it fails."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from hybrid_tui.backends.base import Message
from hybrid_tui.backends.streaming import ThinkSplitter
from hybrid_tui.errors import BackendError

SYSTEM_PROMPT = (
    "You are a careful coding assistant. Put code in fenced blocks tagged with the language, "
    "keep explanations short, and say so plainly when you are unsure."
)

#: how to start each kind of server, for the "nothing could answer" message
START_HINTS = {
    "openai": "start LM Studio's server (Developer tab or `lms server start`)",
    "ollama": "run `ollama serve`",
}
#: failure kinds that mean "the server is not running or not reachable"
DOWN_KINDS = frozenset({"unavailable", "refused", "connect-timeout", "dns", "other", "error"})
_USERINFO = re.compile(r"//[^/@]*@")


def _fence(text: str) -> str:
    """A backtick fence longer than any run of backticks inside ``text``."""
    longest = run = 0
    for ch in text:
        run = run + 1 if ch == "`" else 0
        longest = max(longest, run)
    return "`" * max(3, longest + 1)


def context_block(context: Sequence[tuple[str, str]]) -> str:
    """Context files as labelled fenced blocks, ready to go before the prompt."""
    parts = []
    for label, text in context:
        fence = _fence(text)
        body = text if text.endswith("\n") else text + "\n"
        parts.append(f"File: {label}\n{fence}\n{body}{fence}\n")
    return "\n".join(parts)


def build_messages(
    prompt: str,
    context: Sequence[tuple[str, str]] = (),
    history: Sequence[Message] = (),
    *,
    system: str | None = SYSTEM_PROMPT,
) -> list[Message]:
    """System prompt (unless the history brings its own), history, then context + prompt.

    Only each history message's role and text are sent, and an assistant message's
    leading ``<think>`` block is left out: a model's reasoning never goes back to it."""
    messages: list[Message] = []
    if system and not (history and history[0].get("role") == "system"):
        messages.append({"role": "system", "content": system})
    for m in history:
        text = m["content"]
        if m["role"] == "assistant":
            text = without_thinking(text)
        messages.append({"role": m["role"], "content": as_text(text)})
    messages.append({"role": "user", "content": as_text(user_content(prompt, context))})
    return messages


def user_content(prompt: str, context: Sequence[tuple[str, str]] = ()) -> str:
    """The user message: context files as labelled fenced blocks, then the prompt."""
    return f"{context_block(context)}\n{prompt}" if context else prompt


def without_thinking(text: str) -> str:
    """``text`` without a leading ``<think>…</think>`` block (a reasoning trace some
    servers leave in the reply), as the stream parsers split it off."""
    if "<think>" not in text[:64]:
        return text
    answer = ThinkSplitter()
    kept = [piece for piece, reasoning in [*answer.feed(text), *answer.close()] if not reasoning]
    return "".join(kept)


def continuation(messages: Sequence[Message], partial: str) -> list[Message]:
    """``messages`` plus ``partial`` as an assistant prefix: a server asked with this
    continues that reply instead of starting a new one (used for mid-stream failover)."""
    return [*messages, {"role": "assistant", "content": as_text(partial)}]


def as_text(text: str) -> str:
    """``text`` as valid Unicode: pasted binary and control characters stay (JSON escapes
    them), but lone surrogates (undecodable bytes from argv or a file) become U+FFFD, since
    they cannot be encoded to UTF-8 and would fail the request."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return text


def hint(kind: str, error_kind: str | None, model: str | None = None) -> str | None:
    """What the user can do about a failure of a backend of ``kind``, if anything."""
    if error_kind in (None, *DOWN_KINDS):
        return START_HINTS.get(kind)
    if error_kind == "model-not-found":
        if kind == "ollama":
            return (
                f"pull it: `ollama pull {model}`" if model else "pull the model with `ollama pull`"
            )
        return "download or load the model in LM Studio"
    if error_kind == "no-model":
        return "load a chat model" if kind == "openai" else "pull a chat model with `ollama pull`"
    if error_kind == "context-overflow":
        return "shorten the prompt or the context, or load the model with a larger context length"
    return None


def nobody_answered(
    backends: Mapping[str, tuple[str, str]],
    failures: Mapping[str, BackendError],
    last_errors: Mapping[str, tuple[str | None, str | None]],
) -> str:
    """One message naming every backend, why it could not answer, and how to fix that.

    ``backends``: name -> (kind, endpoint); ``failures``: the errors of this request;
    ``last_errors``: name -> (last error, its kind) from the health monitor.
    """
    parts = []
    for name, (kind, endpoint) in backends.items():
        exc = failures.get(name)
        if exc is not None:
            why, error_kind = exc.message, exc.kind
        else:
            why, error_kind = last_errors.get(name, (None, None))
            why = why or "not reachable"
        advice = hint(kind, error_kind)
        state = "is down" if error_kind in (None, *DOWN_KINDS) else "failed"
        where = _USERINFO.sub("//", endpoint)  # never show credentials
        why = why.replace(f" at {endpoint}", "")  # the endpoint is named once, up front
        parts.append(f"{name} at {where} {state} ({why})" + (f"; {advice}" if advice else ""))
    return "no backend could answer: " + ". ".join(parts) + "."
