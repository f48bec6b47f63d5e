"""Score a finished reply: how much to trust it, from 0 to 1, with the reasons.

Deterministic and cheap. The reply is untrusted model output: its code is checked by
:mod:`hybrid_tui.router.code_check` (Python ``compile()``d, never executed; JSON, YAML and
TOML parsed; brackets balanced), and a failed check costs enough to escalate a fast reply.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hybrid_tui.router.code_check import (
    CHECK_LIMIT,
    PYTHON,
    CodeCheck,
    check_code,
)

#: where every reply starts before the checks below move it
BASE = 0.85
#: task types whose answer should contain code
CODE_TASKS = frozenset({"template", "format", "edit", "boilerplate", "refactor"})
#: task types whose answer should explain at some length
PROSE_TASKS = frozenset({"analysis", "planning"})
#: Python blocks larger than this are not compiled (cost, and a deeply nested trap)
COMPILE_LIMIT = CHECK_LIMIT
#: what a block that fails its check costs (enough to take a fast reply under 0.7)
CHECK_FAILED = -0.3

_CODE_ASK = re.compile(
    r"\b(?:code|function|functions|class|classes|script|snippet|implement\w*|write|program"
    r"|method|regex|query|sql|def)\b",
    re.IGNORECASE,
)
_REFUSAL = re.compile(
    r"\b(?:I['’]m sorry|I am sorry|I apologi[sz]e|my apologies|I can(?:not|['’]t)"
    r"|I['’]m (?:not able|unable)|I am (?:not able|unable)|as an AI|as a language model"
    r"|I (?:do not|don['’]t) have (?:access|the ability))\b",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Scored:
    """A reply's confidence, the notes saying what moved it, and its code check."""

    confidence: float
    notes: tuple[str, ...]
    code: CodeCheck


def score(
    reply: str,
    *,
    ttft_ms: float | None = None,
    tokens_per_s: float | None = None,
    task_type: str = "general",
    prompt: str = "",
) -> tuple[float, tuple[str, ...]]:
    """Confidence in ``reply`` (0..1, rounded to 3 places) and notes saying what moved it."""
    scored = score_reply(
        reply, ttft_ms=ttft_ms, tokens_per_s=tokens_per_s, task_type=task_type, prompt=prompt
    )
    return scored.confidence, scored.notes


def score_reply(
    reply: str,
    *,
    ttft_ms: float | None = None,
    tokens_per_s: float | None = None,
    task_type: str = "general",
    prompt: str = "",
) -> Scored:
    """:func:`score` with the code check kept (its verdict is a learning signal too)."""
    text = reply.strip()
    if not text:
        return Scored(0.0, ("empty reply",), CodeCheck())
    confidence = BASE
    notes: list[str] = []

    def adjust(delta: float, note: str) -> None:
        nonlocal confidence
        confidence += delta
        notes.append(f"{note} ({delta:+.2f})")

    code = check_code(text)
    blocks = code.blocks
    wants_code = task_type in CODE_TASKS or bool(_CODE_ASK.search(prompt, 0, 2000))
    if wants_code and not blocks:
        adjust(-0.35, "no code block")
    if not code.fences_closed:
        adjust(-0.25, "unclosed code fence")
    if blocks:
        untagged = sum(1 for b in blocks if not b.language)
        if untagged:
            adjust(-0.05, f"{untagged} code block(s) without a language tag")
        failed = code.failures
        python = [b for b in blocks if b.language in PYTHON and b.ok is not None]
        if failed:
            first = failed[0]
            verb = {"compile": "compile", "parse": "parse"}.get(first.check, "balance")
            adjust(CHECK_FAILED, f"{first.label} block does not {verb}: {first.problem}")
        elif python:
            adjust(+0.1, "Python compiles")

    refusal = _REFUSAL.search(text, 0, 600)
    if refusal:
        adjust(-0.45, f"apology or refusal: {refusal.group()!r}")

    if wants_code and len(text) < 40:
        adjust(-0.2, "very short for a code task")
    elif task_type in PROSE_TASKS and len(text) < 200:
        adjust(-0.15, "very short for an explanation")
    if len(text) > 40_000:
        adjust(-0.05, "very long reply")

    if ttft_ms is not None and ttft_ms > 20_000:
        adjust(-0.05, "slow first token")
    if tokens_per_s is not None and 0 < tokens_per_s < 2:
        adjust(-0.05, "very slow generation")

    return Scored(round(min(1.0, max(0.0, confidence)), 3), tuple(notes), code)
