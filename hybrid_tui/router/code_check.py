"""Check the code in a reply without running it: a sharper quality signal than its wording.

Fenced blocks are extracted and each is checked by its language tag:

- Python: ``compile()`` (never executed); an interactive session (``>>>`` prompts) is
  checked line by line as typed;
- JSON (``json``; JSON Lines too), YAML (``yaml.safe_load_all``) and TOML (``tomllib``)
  are parsed; JSON with ``//`` comments or trailing commas passes (models write it, readers
  accept it);
- C-family languages, Rust, Go, JavaScript/TypeScript, Java, Kotlin, Swift, PHP, CSS and SQL
  are checked for balanced brackets, outside strings and comments;
- every fence must be closed.

A block that marks itself as an excerpt (``...``, "rest of the code unchanged") is not
checked for completeness, and untagged or other languages (shell, diff, text, HTML) are not
checked at all: a false failure escalates a good reply, so every check errs towards passing.
Bodies over :data:`CHECK_LIMIT` characters are skipped (cost, and deeply nested traps).
"""

from __future__ import annotations

import json
import re
import warnings
from dataclasses import dataclass

#: blocks larger than this are not checked
CHECK_LIMIT = 50_000

_FENCE = re.compile(r"^[ \t]{0,3}(`{3,}|~{3,})[ \t]*([^\s`]*)[^\n]*$", re.MULTILINE)
_EXCERPT = re.compile(
    r"^[ \t]*(?:(?://|#|--|/\*|<!--|;)[ \t]*)?(?:\.\.\.|…)"
    r"|(?:existing|rest of|remaining|unchanged|other|more) (?:the )?"
    r"(?:code|methods?|functions?|implementation|fields|cases|logic|imports)",
    re.IGNORECASE | re.MULTILINE,
)
_TRAILING_COMMA = re.compile(r",(\s*[}\]])")
_LINE_COMMENT = re.compile(r"^\s*//.*$|(?<=[,{\[\s])//[^\n\"]*$", re.MULTILINE)

PYTHON = frozenset({"python", "py", "python3", "py3", "pycon"})
JSON = frozenset({"json", "jsonl", "ndjson", "jsonc", "json5"})
YAML = frozenset({"yaml", "yml"})
TOML = frozenset({"toml"})
#: bracket-checked languages -> (quote characters that open strings, line-comment starts,
#: whether /* */ comments exist, whether ' opens only a one-character literal)
_BRACKETS: dict[str, tuple[str, tuple[str, ...], bool, bool]] = {}
for _names, _rules in (
    (("c", "h", "cpp", "c++", "cc", "cxx", "hpp", "objc", "cs", "csharp", "c#", "java",
      "kotlin", "kt", "scala", "dart"), ('"', ("//",), True, True)),
    (("rust", "rs"), ('"', ("//",), True, True)),
    (("go", "golang"), ('"`', ("//",), True, True)),
    (("swift",), ('"', ("//",), True, False)),
    (("javascript", "js", "jsx", "mjs", "cjs", "typescript", "ts", "tsx"),
     ("\"'`", ("//",), True, False)),
    (("php",), ("\"'", ("//", "#"), True, False)),
    (("css",), ("\"'", (), True, False)),
    (("scss", "less"), ("\"'", ("//",), True, False)),
    (("sql", "postgresql", "postgres", "mysql", "sqlite"), ("'\"", ("--",), True, False)),
):
    for _name in _names:
        _BRACKETS[_name] = _rules
_PAIRS = {")": "(", "]": "[", "}": "{"}
_CHAR_LITERAL = re.compile(r"'(?:\\.[^'\n]{0,8}|[^\\'\n])'")


@dataclass(frozen=True, slots=True)
class BlockCheck:
    """One fenced block: its tag, what was checked, and the verdict (None: not checked)."""

    language: str
    check: str
    ok: bool | None
    problem: str | None = None

    @property
    def label(self) -> str:
        """How a note names the block's language: Python, JSON, YAML, TOML, or the tag."""
        if self.language in PYTHON:
            return "Python"
        if self.language in JSON:
            return "JSON"
        if self.language in YAML:
            return "YAML"
        if self.language in TOML:
            return "TOML"
        return self.language or "code"


@dataclass(frozen=True, slots=True)
class CodeCheck:
    """Every block's check and whether every fence was closed."""

    blocks: tuple[BlockCheck, ...] = ()
    fences_closed: bool = True

    @property
    def failures(self) -> tuple[BlockCheck, ...]:
        return tuple(b for b in self.blocks if b.ok is False)

    @property
    def checked(self) -> tuple[BlockCheck, ...]:
        return tuple(b for b in self.blocks if b.ok is not None)

    @property
    def verdict(self) -> str | None:
        """"failed" (a block or a fence), "ok" (something checked, all passed), or None."""
        if self.failures or not self.fences_closed:
            return "failed"
        return "ok" if self.checked else None


def extract_blocks(reply: str) -> tuple[list[tuple[str, str]], bool]:
    """Fenced blocks as (lower-case tag, body), and whether every fence was closed (an
    unclosed block still counts, running to the end of the reply)."""
    blocks: list[tuple[str, str]] = []
    opened: re.Match[str] | None = None
    for m in _FENCE.finditer(reply):
        fence = m.group(1)
        if opened is None:
            opened = m
        elif fence[0] == opened.group(1)[0] and len(fence) >= len(opened.group(1)) and not (
            m.group(2)
        ):
            blocks.append((opened.group(2).lower(), reply[opened.end() + 1 : m.start()]))
            opened = None
    if opened is not None:
        blocks.append((opened.group(2).lower(), reply[opened.end() + 1 :]))
    return blocks, opened is None


def check_code(reply: str) -> CodeCheck:
    """Check every fenced block of ``reply`` (see the module docstring)."""
    blocks, closed = extract_blocks(reply)
    return CodeCheck(tuple(check_block(tag, body) for tag, body in blocks), closed)


def check_block(tag: str, body: str) -> BlockCheck:
    """One block's verdict by its language tag."""
    tag = tag.strip().lower().lstrip("{.").rstrip("}")
    if not body.strip():
        return BlockCheck(tag, "empty", None)
    if len(body) > CHECK_LIMIT:
        return BlockCheck(tag, "too large", None)
    if tag in PYTHON:
        problem = python_problem(body)
        return BlockCheck(tag, "compile", problem is None, problem)
    if tag in JSON:
        if tag in ("jsonc", "json5"):
            return BlockCheck(tag, "skipped", None)
        problem = json_problem(body)
        if problem is not None and _EXCERPT.search(body):
            return BlockCheck(tag, "excerpt", None)
        return BlockCheck(tag, "parse", problem is None, problem)
    if tag in YAML:
        problem = yaml_problem(body)
        return BlockCheck(tag, "parse", problem is None, problem)
    if tag in TOML:
        problem = toml_problem(body)
        return BlockCheck(tag, "parse", problem is None, problem)
    rules = _BRACKETS.get(tag)
    if rules is None:
        return BlockCheck(tag, "skipped", None)
    if _EXCERPT.search(body):
        return BlockCheck(tag, "excerpt", None)
    problem = bracket_problem(body, *rules)
    return BlockCheck(tag, "brackets", problem is None, problem)


def python_problem(source: str) -> str | None:
    """None when ``source`` compiles as Python, else a short description of why not."""
    if source.lstrip().startswith(">>>"):
        source = _session_source(source)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(source, "<reply>", "exec", dont_inherit=True)
    except SyntaxError as exc:
        return f"line {exc.lineno}: {exc.msg}"
    except (ValueError, RecursionError, MemoryError, OverflowError) as exc:
        return type(exc).__name__
    return None


def _session_source(text: str) -> str:
    """The code typed into an interactive session (``>>>`` and ``...`` lines)."""
    lines = []
    for line in text.splitlines():
        stripped = line.lstrip()
        if stripped.startswith((">>> ", "... ")) or stripped in (">>>", "..."):
            lines.append(stripped[4:])
    return "\n".join(lines) + "\n"


def json_problem(text: str) -> str | None:
    """None when ``text`` is JSON (or JSON Lines, or JSON with comments and trailing
    commas), else where it breaks."""
    try:
        json.loads(text)
        return None
    except ValueError as exc:
        first = exc
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) > 1 and all(_is_json(line) for line in lines):
        return None  # JSON Lines
    lenient = _TRAILING_COMMA.sub(r"\1", _LINE_COMMENT.sub("", text))
    if _is_json(lenient):
        return None
    if isinstance(first, json.JSONDecodeError):
        return f"line {first.lineno}: {first.msg}"
    return str(first)


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def yaml_problem(text: str) -> str | None:
    """None when ``text`` is YAML (one or more documents), else where it breaks."""
    import yaml

    try:
        for _ in yaml.safe_load_all(text):
            pass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}: " if mark is not None else ""
        return f"{where}{exc.problem or exc.context or 'invalid YAML'}"
    except (yaml.YAMLError, RecursionError, ValueError) as exc:
        return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return None


def toml_problem(text: str) -> str | None:
    """None when ``text`` is TOML, else the parser's message."""
    import tomllib

    try:
        tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return str(exc).splitlines()[0]
    except RecursionError:
        return "RecursionError"
    return None


def bracket_problem(
    text: str,
    quotes: str = '"',
    line_comments: tuple[str, ...] = ("//",),
    block_comments: bool = True,
    char_literals: bool = False,
) -> str | None:
    """None when (), [] and {} balance outside strings and comments, else the first
    mismatch with its line. A bracket after a backslash (a regex escape) is not counted."""
    stack: list[tuple[str, int]] = []
    i, n, line = 0, len(text), 1
    while i < n:
        ch = text[i]
        if ch == "\n":
            line += 1
        elif ch == "\\":
            i += 2
            continue
        elif block_comments and text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            line += text.count("\n", i, end)
            i = end
            continue
        elif any(text.startswith(c, i) for c in line_comments):
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        elif ch == "'" and char_literals:
            m = _CHAR_LITERAL.match(text, i)
            i = m.end() if m else i + 1  # a Rust lifetime or a stray quote: not a string
            continue
        elif ch == '"' and text.startswith('"""', i) and ch in quotes:
            end = text.find('"""', i + 3)  # a multi-line string (Swift, Kotlin, C#, Java)
            if end < 0:
                return f"line {line}: unterminated string"
            line += text.count("\n", i, end)
            i = end + 3
            continue
        elif ch in quotes:
            end = _string_end(text, i, ch)
            if end is None:
                return f"line {line}: unterminated string"
            line += text.count("\n", i, end)
            i = end
            continue
        elif ch in "([{":
            stack.append((ch, line))
        elif ch in _PAIRS:
            if not stack or stack[-1][0] != _PAIRS[ch]:
                return f"line {line}: unexpected {ch!r}"
            stack.pop()
        i += 1
    if stack:
        opener, at = stack[-1]
        return f"line {at}: {opener!r} is never closed"
    return None


def _string_end(text: str, start: int, quote: str) -> int | None:
    """The index after the string opened at ``start``, or None when it never ends (a
    plain string ends at the end of its line; a backtick string may span lines)."""
    i, n = start + 1, len(text)
    while i < n:
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if ch == quote:
            return i + 1
        if ch == "\n" and quote != "`":
            return None if quote == '"' else i  # ' in prose-like code: give up quietly
        i += 1
    return None if quote == "`" or quote == '"' else n
