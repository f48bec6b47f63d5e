"""Fitting a chat into the answering model's context window.

A chat session sends every earlier turn with each new prompt. Once that outgrows the
model's context window, LM Studio refuses the request (HTTP 400 "context length of only N
tokens") and Ollama silently cuts the conversation from the front, system prompt first. So
before each attempt the router leaves out the oldest earlier turns (a user message and the
replies to it go together) until the rest fits the window minus a reserve for the reply.
The system prompt, the current prompt with its context files, and a partial reply being
continued after a failover are always kept; the user's own prompt is never cut. A prompt
that alone is over the window is sent whole, without earlier turns: the server's own error
(a typed :class:`~hybrid_tui.errors.ContextOverflow`) then tells the user, and the router
falls back to a backend with a bigger window.

Tokens are estimated from characters (:data:`CHARS_PER_TOKEN`), never with a tokenizer:
about right for code and English, generous to the server for English prose.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass

from hybrid_tui.backends.base import Message
from hybrid_tui.backends.transport import same_model
from hybrid_tui.health import BackendState
from hybrid_tui.router.signals import ContextSignal

log = logging.getLogger(__name__)

#: the window assumed when the server does not say (no probe yet, model not loaded, a
#: server that does not report it): LM Studio's usual load setting, and the simulators'
DEFAULT_CONTEXT_LENGTH = 8192
#: per server kind, when smaller: Ollama loads a model with 4096 tokens unless told
#: otherwise (protocols.md A.6), and cuts longer chats silently from the front
KIND_DEFAULTS = {"ollama": 4096}
#: characters per token for the estimate (BPE tokenizers: ~4 for English, ~3-3.5 for code)
CHARS_PER_TOKEN = 3.5
#: tokens each message costs beyond its text (role and separators of the chat template)
PER_MESSAGE = 4
#: tokens each request costs beyond its messages (the reply's opening)
PER_REQUEST = 3
#: the least room kept for the reply, and the share of the window kept when nothing caps it
MIN_RESERVE = 512
RESERVE_SHARE = 4


def estimate_tokens(text: str) -> int:
    """A cheap token count for ``text``: characters / :data:`CHARS_PER_TOKEN`, rounded up."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def message_tokens(message: Message) -> int:
    """The estimated tokens of one chat message, template overhead included."""
    return PER_MESSAGE + estimate_tokens(str(message.get("content") or ""))


def estimate_messages(messages: Sequence[Message]) -> int:
    """The estimated prompt tokens of a whole request."""
    return PER_REQUEST + sum(message_tokens(m) for m in messages)


def reply_reserve(context_length: int, max_tokens: int | None = None) -> int:
    """Tokens kept free for the reply: ``max_tokens`` when the reply is capped, else a
    quarter of the window (at least :data:`MIN_RESERVE`); never more than half the window."""
    if max_tokens is not None and max_tokens > 0:
        reserve = max_tokens
    else:
        reserve = max(MIN_RESERVE, context_length // RESERVE_SHARE)
    return min(reserve, context_length // 2)


@dataclass(frozen=True, slots=True)
class Window:
    """A model's context window in tokens, and where the figure came from: ``"configured"``
    (Ollama's ``num_ctx`` option, which the model is loaded with), ``"loaded"`` (the
    server's figure for the loaded model: LM Studio ``loaded_context_length``, Ollama
    ``/api/ps`` ``context_length``), ``"trained"`` (the trained maximum of a model not
    loaded yet, below the default) or ``"default"`` (a guess)."""

    tokens: int
    source: str
    model: str = ""


def window_for(state: BackendState, model: str | None, num_ctx: int | None = None) -> Window:
    """The context window of ``model`` on the backend ``state`` describes.

    On Ollama a ``num_ctx`` option is the window: the model is (re)loaded with it.
    From the last probe's (or model list's) :class:`~hybrid_tui.backends.base.ModelInfo`:
    a loaded model's ``context_length`` is the window it runs with. A model that is not
    loaded yet will be loaded with the server's own setting, which no API tells, so the
    default (:data:`KIND_DEFAULTS`, else :data:`DEFAULT_CONTEXT_LENGTH`) is assumed, or its
    trained maximum (LM Studio ``max_context_length``) when that is smaller.
    """
    default = KIND_DEFAULTS.get(state.kind, DEFAULT_CONTEXT_LENGTH)
    name = model or ""
    if num_ctx and state.kind == "ollama":
        return Window(num_ctx, "configured", name)
    info = next((m for m in state.models if name and same_model(m.name, name)), None)
    length = info.context_length if info is not None else None
    if length is None or length <= 0:
        return Window(default, "default", name)
    if info is not None and info.loaded:
        return Window(length, "loaded", name)
    if length < default:
        return Window(length, "trained", name)
    return Window(default, "default", name)


@dataclass(frozen=True, slots=True)
class Fit:
    """A request fitted to a window: the messages to send and what was left out."""

    messages: list[Message]
    #: earlier turns kept and left out (a user message with the replies that follow it)
    kept: int
    dropped: int
    #: the estimated prompt tokens of ``messages``
    tokens: int
    #: the most prompt tokens allowed: the window less the reply's reserve
    budget: int
    window: Window

    def signal(self) -> ContextSignal:
        """The figures for the decision's signals (``DecisionSignals.context``)."""
        return ContextSignal(
            context_length=self.window.tokens,
            source=self.window.source,
            budget=self.budget,
            estimated_tokens=self.tokens,
            turns_kept=self.kept,
            turns_dropped=self.dropped,
        )


def split_turns(
    messages: Sequence[Message],
) -> tuple[list[Message], list[list[Message]], list[Message]]:
    """``messages`` as (leading system messages, earlier turns, the current prompt onwards).

    The current prompt is the last user message; what follows it (a partial reply being
    continued) stays with it. Each earlier turn starts at a user message.
    """
    start = 0
    while start < len(messages) and messages[start].get("role") == "system":
        start += 1
    last = next(
        (i for i in range(len(messages) - 1, start - 1, -1) if messages[i].get("role") == "user"),
        None,
    )
    if last is None:
        return list(messages[:start]), [], list(messages[start:])
    turns: list[list[Message]] = []
    for message in messages[start:last]:
        if message.get("role") == "user" or not turns:
            turns.append([message])
        else:
            turns[-1].append(message)
    return list(messages[:start]), turns, list(messages[last:])


def fit_messages(
    messages: Sequence[Message], window: Window, *, max_tokens: int | None = None
) -> Fit:
    """``messages`` with the oldest earlier turns left out until the rest fits ``window``
    less :func:`reply_reserve`. The kept turns are the newest ones, with no gap. When the
    system prompt and the current prompt alone are over the budget, every earlier turn is
    left out and the prompt is sent whole, for the server to judge."""
    budget = window.tokens - reply_reserve(window.tokens, max_tokens)
    head, turns, tail = split_turns(messages)
    used = estimate_messages(head) + estimate_messages(tail) - PER_REQUEST
    kept = 0
    for turn in reversed(turns):
        cost = sum(message_tokens(m) for m in turn)
        if used + cost > budget:
            break
        used += cost
        kept += 1
    newest = [m for turn in turns[len(turns) - kept :] for m in turn]
    return Fit(
        messages=[*head, *newest, *tail],
        kept=kept,
        dropped=len(turns) - kept,
        tokens=used,
        budget=budget,
        window=window,
    )


def fit_for(
    state: BackendState,
    model: str | None,
    messages: Sequence[Message],
    *,
    num_ctx: int | None = None,
    max_tokens: int | None = None,
) -> Fit:
    """``messages`` fitted to ``model``'s window on the backend ``state`` describes (its
    ``num_ctx`` option when it sets one), room for ``max_tokens`` of reply kept free."""
    fit = fit_messages(messages, window_for(state, model, num_ctx), max_tokens=max_tokens)
    if fit.dropped:
        log.debug(
            "%s: left out %d of %d earlier turns to fit %s's %d-token context window (%s)",
            state.name, fit.dropped, fit.dropped + fit.kept, model, fit.window.tokens,
            fit.window.source,
        )
    return fit
