"""A chat-format JSONL training set from the project's code, for external LoRA tools.

One JSON object per line, ``{"messages": [system, user, assistant]}`` (the shape mlx-lm,
axolotl, Unsloth and others read). Two kinds of example:

- *write this definition*: the user asks for a public function or class by its signature and
  docstring (Python, via ``ast``); the assistant answers with its source;
- *continue this file*: the user shows a chunk of a code file; the assistant gives the next.

Nothing is executed. Examples are capped in number and size so the file stays usable.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from hybrid_tui.finetune.profile import clean, parameters
from hybrid_tui.finetune.scan import ScanResult, SourceFile
from hybrid_tui.private_files import open_private

MAX_EXAMPLES = 2000
#: characters per example message
MAX_CHARS = 6000
#: lines per "continue this file" chunk
CHUNK_LINES = 40
#: the system message in every example (the full profile would repeat thousands of times)
SYSTEM = "You are the coding assistant for the project {name}. Follow its conventions."


@dataclass(frozen=True, slots=True)
class DatasetStats:
    """What was written."""

    path: Path
    examples: int
    definitions: int
    continuations: int


def _fence(language: str) -> str:
    return language.lower().replace("c++", "cpp").replace("c#", "csharp")


def _example(system: str, user: str, assistant: str) -> dict[str, list[dict[str, str]]]:
    return {"messages": [
        {"role": "system", "content": system},
        {"role": "user", "content": clean(user)},
        {"role": "assistant", "content": clean(assistant)},
    ]}  # fmt: skip


def definitions(f: SourceFile) -> Iterator[tuple[str, str]]:
    """(request, answer) for each documented public Python function or class in ``f``."""
    try:
        tree = ast.parse(f.text)
    except (SyntaxError, ValueError):
        return
    lines = f.text.splitlines()
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        doc = ast.get_docstring(node)
        if node.name.startswith("_") or not doc or node.end_lineno is None:
            continue
        start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
        source = "\n".join(lines[start - 1 : node.end_lineno])
        if len(source) > MAX_CHARS:
            continue
        what = "class" if isinstance(node, ast.ClassDef) else "function"
        head = source.split("\n", 1)[0].strip() if what == "class" else ""
        if what == "function":
            head = f"def {node.name}({parameters(node.args)})"
        request = (f"In `{f.path}`, write the {what} `{node.name}` (`{head}`) for this project. "
                   f"It should do this:\n\n{doc}")  # fmt: skip
        yield request, f"```python\n{source}\n```"


def continuations(f: SourceFile) -> Iterator[tuple[str, str]]:
    """(request, answer) pairs: one chunk of a code file, then the next."""
    lines = f.text.splitlines()
    lang = _fence(f.language)
    for start in range(0, len(lines) - CHUNK_LINES, CHUNK_LINES):
        shown = "\n".join(lines[start : start + CHUNK_LINES])
        nxt = "\n".join(lines[start + CHUNK_LINES : start + 2 * CHUNK_LINES])
        if not shown.strip() or not nxt.strip() or len(shown) + len(nxt) > MAX_CHARS:
            continue
        request = f"Continue `{f.path}` from here:\n\n```{lang}\n{shown}\n```"
        yield request, f"```{lang}\n{nxt}\n```"


def write_dataset(scan: ScanResult, out: str | Path, *, name: str | None = None,
                  max_examples: int = MAX_EXAMPLES) -> DatasetStats:  # fmt: skip
    """Write the JSONL file (replacing it); returns what it holds."""
    path = Path(out).expanduser()
    system = SYSTEM.format(name=clean(name or scan.root.name))
    count = defs = conts = 0
    with open_private(path) as fh:  # project code: the owner's eyes only
        for f in scan.files:
            if not f.is_code:
                continue
            pairs = [(p, "def") for p in definitions(f)] if f.language == "Python" else []
            pairs += [(p, "cont") for p in continuations(f)]
            for (request, answer), kind in pairs:
                if count >= max_examples:
                    break
                fh.write(json.dumps(_example(system, request, answer), ensure_ascii=False) + "\n")
                count += 1
                defs += kind == "def"
                conts += kind == "cont"
    return DatasetStats(path, count, defs, conts)
