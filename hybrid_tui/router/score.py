"""Score a finished reply: how much to trust it, from 0 to 1, with the reasons.

Deterministic and cheap. The reply is untrusted model output: Python blocks are only
``compile()``d (never executed), and only up to a size limit.
"""

from __future__ import annotations

import re
import warnings

#: where every reply starts before the checks below move it
BASE = 0.85
#: task types whose answer should contain code
CODE_TASKS = frozenset({"template", "format", "edit", "boilerplate", "refactor"})
#: task types whose answer should explain at some length
PROSE_TASKS = frozenset({"analysis", "planning"})
#: Python blocks larger than this are not compiled (cost, and a deeply nested trap)
COMPILE_LIMIT = 50_000

_CODE_ASK = re.compile(
    r"\b(?:code|function|functions|class|classes|script|snippet|implement\w*|write|program"
    r"|method|regex|query|sql|def)\b",
    re.IGNORECASE,
)
_FENCE = re.compile(r"^[ \t]{0,3}(`{3,}|~{3,})[ \t]*([^\s`]*)[^\n]*$", re.MULTILINE)
_REFUSAL = re.compile(
    r"\b(?:I['’]m sorry|I am sorry|I apologi[sz]e|my apologies|I can(?:not|['’]t)"
    r"|I['’]m (?:not able|unable)|I am (?:not able|unable)|as an AI|as a language model"
    r"|I (?:do not|don['’]t) have (?:access|the ability))\b",
    re.IGNORECASE,
)
_PYTHON_TAGS = frozenset({"python", "py", "python3", "py3"})


def _closes(opening: str, fence: str, tag: str) -> bool:
    """A closing fence: same character, at least as long, and no info string."""
    return fence[0] == opening[0] and len(fence) >= len(opening) and not tag


def _blocks(reply: str) -> tuple[list[tuple[str, str]], bool]:
    """Fenced blocks as (tag, body), and whether every fence was closed (an unclosed block
    still counts, running to the end of the reply)."""
    blocks: list[tuple[str, str]] = []
    opened: re.Match[str] | None = None
    for m in _FENCE.finditer(reply):
        fence = m.group(1)
        if opened is None:
            opened = m
        elif _closes(opened.group(1), fence, m.group(2)):
            body = reply[opened.end() + 1 : m.start()]
            blocks.append((opened.group(2).lower(), body))
            opened = None
    if opened is not None:
        blocks.append((opened.group(2).lower(), reply[opened.end() + 1 :]))
    return blocks, opened is None


def _compile_error(source: str) -> str | None:
    """None when ``source`` compiles as Python, else a short description of why not."""
    if len(source) > COMPILE_LIMIT:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(source, "<reply>", "exec", dont_inherit=True)
    except SyntaxError as exc:
        return f"line {exc.lineno}: {exc.msg}"
    except (ValueError, RecursionError, MemoryError, OverflowError) as exc:
        return type(exc).__name__
    return None


def score(
    reply: str,
    *,
    ttft_ms: float | None = None,
    tokens_per_s: float | None = None,
    task_type: str = "general",
    prompt: str = "",
) -> tuple[float, tuple[str, ...]]:
    """Confidence in ``reply`` (0..1, rounded to 3 places) and notes saying what moved it."""
    text = reply.strip()
    if not text:
        return 0.0, ("empty reply",)
    confidence = BASE
    notes: list[str] = []

    def adjust(delta: float, note: str) -> None:
        nonlocal confidence
        confidence += delta
        notes.append(f"{note} ({delta:+.2f})")

    blocks, balanced = _blocks(text)
    wants_code = task_type in CODE_TASKS or bool(_CODE_ASK.search(prompt, 0, 2000))
    if wants_code and not blocks:
        adjust(-0.35, "no code block")
    if not balanced:
        adjust(-0.25, "unclosed code fence")
    if blocks:
        untagged = sum(1 for tag, _ in blocks if not tag)
        if untagged:
            adjust(-0.05, f"{untagged} code block(s) without a language tag")
        python = [body for tag, body in blocks if tag in _PYTHON_TAGS]
        errors = [e for e in map(_compile_error, python) if e]
        if errors:
            adjust(-0.3, f"Python block does not compile: {errors[0]}")
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

    return round(min(1.0, max(0.0, confidence)), 3), tuple(notes)
