"""YAML theme files -> Textual ``Theme`` objects, validated on load.

A theme file is a flat mapping::

    name: hybrid-dark            # required; how config (ui.theme) and the palette name it
    dark: true
    primary: "#7AA2F7"           # required
    secondary: ...               # optional colours: secondary accent foreground background
    ...                          #   surface panel boost success warning error
    variables: {}                # optional Textual design variables, e.g. footer-key-foreground

Shipped themes live in ``locations.builtin_themes_dir()``; the user's in
``locations.user_themes_dir()`` (a user theme may replace a shipped one by using its name).
A bad file never stops the app: it is skipped and reported as one line naming it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml
from textual.color import Color, ColorParseError
from textual.theme import Theme

from hybrid_tui import locations

COLOURS = (
    "primary",
    "secondary",
    "accent",
    "foreground",
    "background",
    "surface",
    "panel",
    "boost",
    "success",
    "warning",
    "error",
)
KEYS = frozenset({"name", "dark", "variables", *COLOURS})
DEFAULT_THEME = "hybrid-dark"


class ThemeFileError(ValueError):
    """One theme file is unusable; the message names the file and the problem."""


@dataclass(frozen=True, slots=True)
class ThemeSet:
    """Every theme that loaded, in load order, and one line per file that did not."""

    themes: dict[str, Theme]
    problems: tuple[str, ...]


def _colour(path: Path, key: str, value: object) -> str:
    if not isinstance(value, str):
        raise ThemeFileError(f"{path.name}: {key}: expected a colour string, got {value!r}")
    try:
        Color.parse(value)
    except ColorParseError:
        raise ThemeFileError(f"{path.name}: {key}: {value!r} is not a colour") from None
    return value


def parse_theme(path: Path, data: object) -> Theme:
    """Build a ``Theme`` from the parsed YAML of ``path``; raise ThemeFileError if it is bad."""
    if not isinstance(data, dict):
        raise ThemeFileError(f"{path.name}: expected a mapping of theme keys")
    unknown = sorted(str(k) for k in data if k not in KEYS)
    if unknown:
        raise ThemeFileError(f"{path.name}: unknown key {unknown[0]!r}")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ThemeFileError(f"{path.name}: name: required, a non-empty string")
    if "primary" not in data:
        raise ThemeFileError(f"{path.name}: primary: required")
    dark = data.get("dark", True)
    if not isinstance(dark, bool):
        raise ThemeFileError(f"{path.name}: dark: expected true or false")
    variables = data.get("variables") or {}
    if not isinstance(variables, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in variables.items()
    ):
        raise ThemeFileError(f"{path.name}: variables: expected a mapping of strings")
    colours = {
        key: _colour(path, key, data[key]) for key in COLOURS if data.get(key) is not None
    }
    return Theme(name=name.strip(), dark=dark, variables=dict(variables), **colours)


def load_theme_file(path: Path) -> Theme:
    """Read and validate one file. Raises ThemeFileError with a one-line message."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ThemeFileError(f"{path.name}: cannot read: {exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise ThemeFileError(f"{path.name}: not valid YAML{where}") from None
    return parse_theme(path, data)


def theme_files(directories: Iterable[Path]) -> list[Path]:
    """``*.yaml``/``*.yml`` files of each existing directory, sorted by name within it."""
    files: list[Path] = []
    for directory in directories:
        if directory.is_dir():
            found = [*directory.glob("*.yaml"), *directory.glob("*.yml")]
            files.extend(sorted(found, key=lambda p: p.name))
    return files


def load_themes(directories: Iterable[Path] | None = None) -> ThemeSet:
    """Every theme in ``directories`` (default: shipped, then the user's), bad ones skipped."""
    if directories is None:
        directories = (locations.builtin_themes_dir(), locations.user_themes_dir())
    themes: dict[str, Theme] = {}
    problems: list[str] = []
    for path in theme_files(directories):
        try:
            theme = load_theme_file(path)
        except ThemeFileError as exc:
            problems.append(str(exc))
        else:
            themes[theme.name] = theme
    return ThemeSet(themes, tuple(problems))
