"""A project profile: languages, layout, conventions and key APIs, within a size budget.

The profile becomes the derived model's system prompt, so it is written to a model: short
declarative lines, most useful first. Key APIs are ranked by how many other files mention
them. Everything comes from the scanned text only; nothing is executed or imported.
"""

from __future__ import annotations

import ast
import copy
import re
from collections import Counter
from dataclasses import dataclass, field

from hybrid_tui.finetune.scan import ScanResult, SourceFile

#: characters; a system prompt of about 1,500 tokens leaves room in any context window
DEFAULT_BUDGET = 6000
KEY_FILES = ("README.md", "README.rst", "README", "pyproject.toml", "setup.py", "setup.cfg",
             "package.json", "tsconfig.json", "Cargo.toml", "go.mod", "Makefile", "Dockerfile",
             ".editorconfig", "requirements.txt")  # fmt: skip
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
#: ``= value`` of one parameter in a JavaScript/TypeScript signature
_DEFAULT = re.compile(r"""=\s*(?:"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`|[^,)]*)""")
_SIGNATURES = {
    "JavaScript": re.compile(
        r"^\s*export\s+(?:default\s+)?(?:async\s+)?(?:function\s*\*?\s*(\w+)\s*(\([^)]*\))"
        r"|class\s+(\w+)|const\s+(\w+)\s*=)", re.M),
    "Go": re.compile(r"^func\s+(?:\([^)]*\)\s*)?([A-Z]\w*)\s*(\([^)]*\))", re.M),
    "Rust": re.compile(r"^\s*pub\s+(?:async\s+)?(?:fn\s+(\w+)\s*(\([^)]*\))|struct\s+(\w+)"
                       r"|enum\s+(\w+)|trait\s+(\w+))", re.M),
    "Java": re.compile(r"^\s*public\s+(?:static\s+)?(?:final\s+)?(?:class|interface|[\w<>\[\]]+)"
                       r"\s+(\w+)\s*(\([^)]*\))?", re.M),
}  # fmt: skip
_SIGNATURES["TypeScript"] = _SIGNATURES["JavaScript"]


@dataclass(frozen=True, slots=True)
class Api:
    """One public definition: where, what, and how often other files mention it."""

    path: str
    name: str
    signature: str
    summary: str = ""
    mentions: int = 0

    def line(self) -> str:
        text = f"- {self.path}: {self.signature}"
        return text + (f" — {self.summary}" if self.summary else "")


@dataclass(slots=True)
class Profile:
    """The profile text and the facts behind it."""

    name: str
    text: str
    languages: list[tuple[str, int, int]] = field(default_factory=list)
    apis: list[Api] = field(default_factory=list)
    budget: int = DEFAULT_BUDGET


def clean(text: str) -> str:
    """Project text made safe for a prompt and a terminal: no control characters."""
    return _CONTROL.sub("", text)


#: defaults that say how a function behaves and cannot hold a secret
_PLAIN_DEFAULTS = (None, True, False, Ellipsis)


def parameters(args: ast.arguments) -> str:
    """A function's parameters as source, every default value but None/True/False shown as
    ``...``: a default can be a password (``def connect(password='hunter2')``), and the
    profile is readable by anyone who can read the server's modelfile."""
    def hide(node: ast.expr) -> ast.expr:
        if isinstance(node, ast.Constant) and any(node.value is v for v in _PLAIN_DEFAULTS):
            return node
        return ast.Constant(value=Ellipsis)

    shown = copy.copy(args)
    shown.defaults = [hide(d) for d in args.defaults]
    shown.kw_defaults = [None if d is None else hide(d) for d in args.kw_defaults]
    return ast.unparse(shown)


def _regex_parameters(signature: str) -> str:
    """``signature`` with the default values inside its parentheses shown as ``...``."""
    head, paren, rest = signature.partition("(")
    if not paren:
        return signature
    inside, close, tail = rest.rpartition(")")
    if not close:
        inside, tail = rest, ""
    return head + "(" + _DEFAULT.sub("= ...", inside) + close + tail


def languages(scan: ScanResult) -> list[tuple[str, int, int]]:
    """(language, files, bytes) for code files, most bytes first."""
    files: Counter[str] = Counter()
    size: Counter[str] = Counter()
    for f in scan.files:
        if f.is_code:
            files[f.language] += 1
            size[f.language] += f.size
    return [(lang, files[lang], n) for lang, n in size.most_common()]


def layout(scan: ScanResult, limit: int = 12) -> list[str]:
    """Top-level directories with their file counts, and the key files present."""
    dirs: Counter[str] = Counter()
    for f in scan.files:
        parts = f.path.split("/")
        if len(parts) > 1:
            dirs[parts[0] + "/" + (parts[1] + "/" if len(parts) > 2 else "")] += 1
    lines = [f"- {d} ({n} files)" for d, n in sorted(dirs.most_common(limit))]
    present = [f.path for f in scan.files if f.path in KEY_FILES]
    if present:
        lines.append("- key files: " + ", ".join(present))
    return lines


def _indent_style(files: list[SourceFile]) -> str | None:
    tabs = spaces = 0
    widths: Counter[int] = Counter()
    for f in files:
        previous = 0
        for line in f.text.splitlines():
            if not line.strip():
                continue
            lead = line[: len(line) - len(line.lstrip())]
            if lead.startswith("\t"):
                tabs += 1
            elif lead:
                spaces += 1
                width = len(lead)
                if width > previous:
                    widths[width - previous] += 1
            previous = len(lead.expandtabs(4))
    if not tabs and not spaces:
        return None
    if tabs > spaces:
        return "tabs"
    width = widths.most_common(1)[0][0] if widths else 4
    return f"{width} spaces"


def _naming(files: list[SourceFile]) -> str | None:
    names: list[str] = []
    for f in files:
        names += re.findall(r"(?:def|function|func|fn)\s+([A-Za-z_]\w*)", f.text)
    snake = sum(1 for n in names if "_" in n.strip("_") and n.lower() == n)
    camel = sum(1 for n in names if re.search(r"[a-z][A-Z]", n))
    if snake + camel < 3:
        return None
    return "snake_case functions" if snake >= camel else "camelCase functions"


def _line_length(files: list[SourceFile]) -> int | None:
    lengths = sorted(len(line) for f in files for line in f.text.splitlines() if line.strip())
    if len(lengths) < 20:
        return None
    return lengths[int(len(lengths) * 0.99) - 1]


def _python_habits(files: list[SourceFile]) -> list[str]:
    defs = annotated = documented = 0
    quotes: Counter[str] = Counter()
    for f in files:
        try:
            tree = ast.parse(f.text)
        except (SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                defs += 1
                annotated += node.returns is not None or any(
                    a.annotation is not None for a in node.args.args if a.arg != "self")
                documented += ast.get_docstring(node) is not None
        quotes["double"] += len(re.findall(r'(?<![\w"])"[^"\n]*"', f.text))
        quotes["single"] += len(re.findall(r"(?<![\w'])'[^'\n]*'", f.text))
    habits = []
    if defs >= 3:
        habits.append(f"type hints on {annotated * 100 // defs}% of functions")
        habits.append(f"docstrings on {documented * 100 // defs}% of functions")
    if sum(quotes.values()) >= 10:
        habits.append(f"mostly {quotes.most_common(1)[0][0]}-quoted strings")
    return habits


def _tooling(scan: ScanResult) -> list[str]:
    text = {f.path: f.text for f in scan.files if "/" not in f.path}
    tools = []
    pyproject = text.get("pyproject.toml", "") + text.get("setup.cfg", "")
    for tool in ("ruff", "black", "isort", "mypy", "pytest", "flake8"):
        if f"[tool.{tool}" in pyproject or f"[{tool}" in pyproject:
            tools.append(tool)
    if any(f.path.split("/")[-1].startswith("test_") and f.language == "Python"
           for f in scan.files) and "pytest" not in tools:
        tools.append("pytest-style tests")  # fmt: skip
    package = text.get("package.json", "")
    for tool in ("eslint", "prettier", "jest", "vitest", "mocha"):
        if f'"{tool}' in package:
            tools.append(tool)
    if ".editorconfig" in text:
        tools.append(".editorconfig")
    return tools


def conventions(scan: ScanResult, langs: list[tuple[str, int, int]]) -> list[str]:
    """Observed conventions per main language, and the configured tools."""
    lines = []
    for lang, _files, _size in langs[:3]:
        files = [f for f in scan.files if f.language == lang]
        facts = [x for x in (_indent_style(files), _naming(files)) if x]
        width = _line_length(files)
        if width:
            facts.append(f"lines up to about {width} characters")
        if lang == "Python":
            facts += _python_habits(files)
        if facts:
            lines.append(f"- {lang}: " + "; ".join(facts))
    tools = _tooling(scan)
    if tools:
        lines.append("- tools configured: " + ", ".join(tools))
    return lines


def _python_apis(f: SourceFile) -> list[Api]:
    try:
        tree = ast.parse(f.text)
    except (SyntaxError, ValueError):
        return []
    out = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            if node.name.startswith("_"):
                continue
            if isinstance(node, ast.ClassDef):
                bases = ", ".join(ast.unparse(b) for b in node.bases)
                signature = f"class {node.name}" + (f"({bases})" if bases else "")
            else:
                returns = f" -> {ast.unparse(node.returns)}" if node.returns else ""
                signature = f"def {node.name}({parameters(node.args)}){returns}"
            doc = (ast.get_docstring(node) or "").strip().split("\n")[0]
            out.append(Api(f.path, node.name, signature, doc[:120]))
    return out


def _regex_apis(f: SourceFile) -> list[Api]:
    pattern = _SIGNATURES.get(f.language)
    if pattern is None:
        return []
    out = []
    for match in pattern.finditer(f.text):
        groups = [g for g in match.groups() if g]
        if groups:
            signature = _regex_parameters(" ".join(match.group(0).split()))
            out.append(Api(f.path, groups[0], signature))
    return out


def key_apis(scan: ScanResult) -> list[Api]:
    """Public definitions, most-mentioned by other files first."""
    apis: list[Api] = []
    for f in scan.files:
        if f.is_code and not f.path.split("/")[-1].startswith("test"):
            apis += _python_apis(f) if f.language == "Python" else _regex_apis(f)
    words_by_file = {f.path: set(_WORD.findall(f.text)) for f in scan.files if f.is_code}
    mentions: Counter[str] = Counter()
    for words in words_by_file.values():
        mentions.update(words)
    ranked = []
    for api in apis:
        own = 1 if api.name in words_by_file.get(api.path, ()) else 0
        ranked.append(Api(api.path, api.name, api.signature[:200], api.summary,
                          mentions[api.name] - own))  # fmt: skip
    ranked.sort(key=lambda a: (-a.mentions, a.path, a.name))
    return ranked


def readme_summary(scan: ScanResult, limit: int = 400) -> str | None:
    """The README's first paragraph of prose."""
    readme = next((f for f in scan.files if f.path.lower().startswith("readme")), None)
    if readme is None:
        return None
    for block in re.split(r"\n\s*\n", readme.text):
        text = " ".join(block.split())
        if text and not text.startswith(("#", "<", "!", "[", "```", "=", "-")):
            return text if len(text) <= limit else text[: limit - 1] + "…"
    return None


def build_profile(scan: ScanResult, *, name: str | None = None,
                  budget: int = DEFAULT_BUDGET) -> Profile:  # fmt: skip
    """The profile of a scanned project as a system prompt of at most ``budget`` characters."""
    name = clean(name or scan.root.name or "project")
    langs = languages(scan)
    total = sum(size for _l, _f, size in langs) or 1
    parts = [
        f'You are the coding assistant for the project "{name}". Write code that fits it: '
        "use its languages, layout, conventions and existing APIs (listed below) rather than "
        "inventing new ones, and put code in fenced blocks tagged with the language."
    ]
    summary = readme_summary(scan)
    if summary:
        parts.append(f"About the project: {summary}")
    if langs:
        parts.append("Languages: " + ", ".join(
            f"{lang} {size * 100 // total}% ({files} files)" for lang, files, size in langs[:6]))
    sections = (("Layout:", layout(scan)), ("Conventions:", conventions(scan, langs)))
    for title, lines in sections:
        if lines:
            parts.append("\n".join([title, *lines]))
    text = clean("\n\n".join(parts))
    apis = key_apis(scan)
    used: list[Api] = []
    if apis:
        header = "\n\nKey APIs (most used first):"
        room = budget - len(text) - len(header)
        lines = []
        for api in apis:
            line = clean(api.line())
            if len(line) + 1 > room:
                break
            lines.append(line)
            used.append(api)
            room -= len(line) + 1
        if lines:
            text += header + "\n" + "\n".join(lines)
    if len(text) > budget:
        text = text[: budget - 1].rsplit("\n", 1)[0]
    return Profile(name=name, text=text, languages=langs, apis=used, budget=budget)
