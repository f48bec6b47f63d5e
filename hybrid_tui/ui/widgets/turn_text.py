"""What a turn says, as ``Content``: the prompt echo, the routing badge, the stats line and
the failover marker. Pure functions of events and text, so they are tested without an app.

Every string that came from outside (prompt, model output, backend and model names, error
messages) is sanitised and put in ``Content`` as plain text: never parsed as markup.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from textual.content import Content

from hybrid_tui.events import Decision, Done, Failover, Fallback
from hybrid_tui.safetext import sanitize
from hybrid_tui.session import Attachment, ForceSource, failover_cause
from hybrid_tui.session import failover_marker as session_failover_marker
from hybrid_tui.units import fmt_confidence, fmt_ms, fmt_rate, fmt_tps

__all__ = ["failover_cause"]

#: how each way of forcing a backend is named after the backend
FORCE_WORDS: dict[str, str] = {
    "prefix": "forced by prefix",
    "next": "forced for this prompt",
    "pin": "pinned",
    "cli": "forced",
    "other": "asked the other model",
}

#: ``figures(kind, value) -> value`` is applied to every timing figure before display, so
#: snapshot tests can freeze them ("ttft_ms", "total_ms", "tokens_per_s", "latency_ms",
#: "cooldown_s", "thinking_ttft_ms", "server_tokens_per_s", "server_prompt_ms",
#: "server_load_ms").
Figures = Callable[[str, float | None], float | None]
#: the prompt echo shows at most this many lines and characters (the prompt is sent whole)
PROMPT_LINES = 40
PROMPT_CHARS = 4_000
#: what a rating looks like next to the stats
RATING_MARK = {True: "👍", False: "👎"}
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!<>|~])")


def same_figures(kind: str, value: float | None) -> float | None:
    """The default ``Figures``: show measurements as measured."""
    return value


def tag(text: str, style: str) -> tuple[str, str]:
    return (f" {text} ", style)


def stats_content(
    done: Done, figures: Figures = same_figures, rating: bool | None = None
) -> Content:
    """``TTFT 120 ms · 412 tokens · 85.3 tok/s · confidence 0.82 · total 1.52 s``, then who
    answered when two backends did (``ollama ⤷ lmstudio``); the user's rating (👍/👎) in
    front. A model that thought gets ``first thought 80 ms`` before the TTFT (which is the
    answer's); the server's own figures, where it reports them, follow the client's tok/s:
    ``(server 88.1, prompt 35 ms)``, and ``cold load 5.10 s`` when the model had to be
    loaded first."""
    rate = figures("tokens_per_s", done.tokens_per_s)
    parts: list[str | tuple[str, str]] = []
    if rating is not None:  # first, so a long line never pushes it out of sight
        parts += [(RATING_MARK[rating], "bold"), "  "]
    if done.thinking_ttft_ms is not None:
        parts += [("first thought ", "$text-muted"),
                  fmt_ms(figures("thinking_ttft_ms", done.thinking_ttft_ms)),
                  ("  ·  ", "$text-muted")]
    parts += [
        ("TTFT ", "$text-muted"),
        fmt_ms(figures("ttft_ms", done.ttft_ms)),
        ("  ·  ", "$text-muted"),
        f"{done.tokens} tokens",
        ("  ·  ", "$text-muted"),
        fmt_tps(rate),
        *_server_parts(done, figures),
        ("  ·  confidence ", "$text-muted"),
        fmt_confidence(done.confidence),
        ("  ·  total ", "$text-muted"),
        fmt_ms(figures("total_ms", done.total_ms)),
    ]
    failover_from = getattr(done, "failover_from", None)
    if failover_from:
        parts += [("  ·  ", "$text-muted"),
                  (f"{sanitize(failover_from)} ⤷ {sanitize(done.backend)}", "$text-warning")]
    if done.warnings:
        parts += [("  ·  ", "$text-muted"), (sanitize("; ".join(done.warnings)), "$warning")]
    return Content.assemble(*parts)


def _server_parts(done: Done, figures: Figures) -> list[str | tuple[str, str]]:
    """The server's own figures for the stats line (nothing for what it did not report)."""
    parts: list[str | tuple[str, str]] = []
    rate = figures("server_tokens_per_s", done.server_tokens_per_s)
    prompt_ms = figures("server_prompt_ms", done.server_prompt_ms)
    said: list[str | tuple[str, str]] = []
    if rate is not None:
        said += [("server ", "$text-muted"), fmt_rate(rate)]
    if prompt_ms is not None:
        said += [(", " if said else "", "$text-muted"), ("prompt ", "$text-muted"),
                 fmt_ms(prompt_ms)]
    if said:  # in brackets: the line stays about as long as without them
        parts += [(" (", "$text-muted"), *said, (")", "$text-muted")]
    if done.cold_load:
        load_ms = figures("server_load_ms", done.server_load_ms)
        parts += [("  ·  ", "$text-muted"),
                  ("cold load" + (f" {fmt_ms(load_ms)}" if load_ms is not None else ""),
                   "$text-warning")]
    return parts


def badge_content(
    decision: Decision, fallback: Fallback | None = None, failover: Failover | None = None,
    force_source: ForceSource | None = None,
) -> Content:
    """`` lmstudio  qwen2.5-coder  edit · simple  forced  fallback from …`` and, under it,
    the decision's reason."""
    backend = fallback.to_backend if fallback else decision.backend
    model = fallback.model if fallback else decision.model
    parts: list[str | tuple[str, str]] = [
        tag(sanitize(backend), "bold $background on $primary"),
        " ",
        (sanitize(model or "?"), "$text-secondary"),
        "  ",
        (f"{decision.task_type} · {decision.complexity}", "$text-accent"),
    ]
    if decision.forced:
        word = FORCE_WORDS.get(force_source or "", "forced")
        parts += ["  ", tag(word, "bold $background on $warning")]
    if fallback:
        parts += ["  ", tag(f"fallback from {sanitize(fallback.from_backend)}", "$text-warning")]
    if failover:
        parts += ["  ", tag(f"failover {sanitize(failover.from_backend)} → "
                            f"{sanitize(failover.to_backend)}", "$text-warning")]
    parts += ["\n", ("↳ " + sanitize(decision.reason), "$text-muted italic")]
    return Content.assemble(*parts)


def prompt_content(
    prompt: str, stamp: str, force: str | None, source: ForceSource | None = None
) -> Content:
    """The user's prompt, literal (never markup). A long paste is cut for display only:
    at most :data:`PROMPT_LINES` lines and :data:`PROMPT_CHARS` characters, then
    ``… (N more characters)``."""
    head_text = prompt[:PROMPT_CHARS]
    lines = head_text.split("\n")
    if len(lines) > PROMPT_LINES:
        head_text = "\n".join(lines[:PROMPT_LINES])
    hidden = len(prompt) - len(head_text)
    head: list[str | tuple[str, str]] = [
        ("You", "bold $text-primary"),
        ("  " + stamp, "$text-muted"),
    ]
    if force:
        how = f" ({FORCE_WORDS[source]})" if source in ("prefix", "pin", "other") else ""
        head += [("  → " + sanitize(force) + how, "$text-warning")]
    tail = f"\n… ({hidden:,} more characters)" if hidden > 0 else ""
    return Content.assemble(*head, "\n", sanitize(head_text), (tail, "$text-muted"))


def failover_marker(failover: Failover) -> str:
    """``⤷ ollama failed after 60 tokens (connection dropped) — lmstudio continues``."""
    return sanitize(session_failover_marker(failover))


def attachment_chips(attachments: tuple[Attachment, ...]) -> Content:
    """One chip per attached file: `` @src/app.py · 4.2 kB ``."""
    parts: list[str | tuple[str, str]] = []
    for attachment in attachments:
        if parts:
            parts.append("  ")
        parts.append((f" @{sanitize(attachment.path)} · {human_size(attachment.size)} ",
                      "$text-primary on $boost"))
    return Content.assemble(*parts)


def human_size(size: int) -> str:
    if size < 1000:
        return f"{size} B"
    if size < 1_000_000:
        return f"{size / 1000:.1f} kB"
    return f"{size / 1_000_000:.1f} MB"


def markdown_literal(text: str) -> str:
    """``text`` with Markdown's punctuation escaped, so it shows as typed."""
    return _MD_SPECIAL.sub(r"\\\1", text)
