"""A small ``.gitignore`` matcher: the pattern rules of gitignore(5), for walking a tree.

Supported: comments and blank lines, ``!`` negation, trailing ``/`` (directories only),
patterns with a ``/`` anchored to their file's directory, patterns without one matching at any
depth, ``*``, ``?``, ``[...]`` classes (``!``/``^`` negated), ``**`` (leading ``**/``, trailing
``/**``, inner ``/**/``), backslash escapes, and trailing spaces trimmed unless escaped.
Deeper ``.gitignore`` files override shallower ones; later lines override earlier ones. As in
git, a file inside an ignored directory cannot be re-included (the walker never enters it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Rule:
    """One pattern line, compiled."""

    pattern: str
    regex: re.Pattern[str]
    negated: bool
    dir_only: bool
    #: the directory (relative to the root, "" for the root) whose .gitignore holds it
    base: str

    def matches(self, path: str, is_dir: bool) -> bool:
        """``path`` is relative to the walk's root, with ``/`` separators."""
        if self.dir_only and not is_dir:
            return False
        if self.base:
            if not path.startswith(self.base + "/"):
                return False
            path = path[len(self.base) + 1 :]
        return self.regex.fullmatch(path) is not None


def _class(pattern: str, i: int) -> tuple[str, int] | None:
    """The regex for a ``[...]`` class starting at ``pattern[i]``, and the index after it."""
    j = i + 1
    negate = j < len(pattern) and pattern[j] in "!^"
    if negate:
        j += 1
    start = j
    if j < len(pattern) and pattern[j] == "]":
        j += 1  # a leading ] is literal
    while j < len(pattern) and pattern[j] != "]":
        j += 2 if pattern[j] == "\\" else 1
    if j >= len(pattern):
        return None
    body = pattern[start:j].replace("\\", "\\\\").replace("^", "\\^").replace("[", "\\[")
    return (f"[^/{body}]" if negate else f"(?!/)[{body}]"), j + 1


def translate(pattern: str) -> str:
    """The regex (for ``fullmatch``) of a gitignore glob with no leading ``/``."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if pattern.startswith("**/", i) and (i == 0 or pattern[i - 1] == "/"):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("/**", i) and i + 3 == n:
            out.append("/.+")
            i += 3
        elif pattern.startswith("**", i):
            out.append("[^/]*")
            i += 2
        elif ch == "*":
            out.append("[^/]*")
            i += 1
        elif ch == "?":
            out.append("[^/]")
            i += 1
        elif ch == "[" and (found := _class(pattern, i)) is not None:
            out.append(found[0])
            i = found[1]
        elif ch == "\\" and i + 1 < n:
            out.append(re.escape(pattern[i + 1]))
            i += 2
        else:
            out.append(re.escape(ch))
            i += 1
    return "".join(out)


def parse_line(line: str, base: str = "") -> Rule | None:
    """One ``.gitignore`` line as a rule; None for blanks and comments."""
    line = line.rstrip("\n").rstrip("\r")
    stripped = line.rstrip(" ")
    if line.endswith("\\ ") and stripped.endswith("\\"):
        stripped += " "  # an escaped trailing space is kept
    line = stripped
    if not line or line.startswith("#"):
        return None
    negated = line.startswith("!")
    escaped = line.startswith("\\") and line[1:2] in ("#", "!")
    if negated or escaped:
        line = line[1:]
    dir_only = line.endswith("/") and not line.endswith("\\/")
    if dir_only:
        line = line.rstrip("/")
    if not line:
        return None
    anchored = "/" in line
    line = line.lstrip("/")
    regex = translate(line)
    if not anchored:
        regex = f"(?:.*/)?{regex}"
    return Rule(line, re.compile(regex, re.DOTALL), negated, dir_only, base)


class GitIgnore:
    """The rules of every ``.gitignore`` seen so far, in precedence order."""

    def __init__(self) -> None:
        self.rules: list[Rule] = []

    def add(self, text: str, base: str = "") -> None:
        """Add the lines of a ``.gitignore`` found in directory ``base`` (relative)."""
        for line in text.splitlines():
            rule = parse_line(line, base)
            if rule is not None:
                self.rules.append(rule)

    def ignored(self, path: str, is_dir: bool = False) -> bool:
        """Whether ``path`` (relative, ``/``-separated) is ignored: the last match decides."""
        for rule in reversed(self.rules):
            if rule.matches(path, is_dir):
                return not rule.negated
        return False
