"""Read a project directory the way git sees it: ``.gitignore`` respected, binaries and large
files skipped, symlinks not followed, and every skip counted so the user can see what was read.
Files that hold secrets are not read and key-like values are redacted as text is read (see
:mod:`~hybrid_tui.finetune.secrets`), so nothing downstream ever sees them.

A few directories no one wants in a training set (``.git``, virtualenvs, ``node_modules``,
caches) are ignored by default; a project ``.gitignore`` can re-include them with ``!``.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from hybrid_tui.finetune.gitignore import GitIgnore
from hybrid_tui.finetune.secrets import Redaction, is_secret_file, redact_text, report

#: bigger files are skipped (generated code, data, minified bundles)
MAX_FILE_BYTES = 256 * 1024
#: stop after this many text files (a monorepo would take minutes and blow any budget)
MAX_FILES = 5000
SNIFF_BYTES = 8192

DEFAULT_IGNORES = (
    ".git/", ".hg/", ".svn/", "__pycache__/", "node_modules/", ".venv/", "venv/", ".tox/",
    ".nox/", ".mypy_cache/", ".pytest_cache/", ".ruff_cache/", ".idea/", ".vscode/",
    "*.egg-info/", "*.pyc", ".DS_Store",
)  # fmt: skip

#: extensions that are never text worth reading
BINARY_EXTENSIONS = frozenset({
    ".png", ".jpg", ".jpeg", ".gif", ".bmp", ".ico", ".webp", ".pdf", ".zip", ".gz", ".tgz",
    ".bz2", ".xz", ".7z", ".tar", ".jar", ".war", ".so", ".dll", ".dylib", ".exe", ".bin", ".o",
    ".a", ".class", ".pyc", ".pyo", ".whl", ".gguf", ".safetensors", ".pt", ".pth", ".onnx",
    ".npy", ".npz", ".sqlite", ".sqlite3", ".db", ".woff", ".woff2", ".ttf", ".otf", ".mp3",
    ".mp4", ".wav", ".mov", ".avi", ".psd",
})  # fmt: skip

LANGUAGES = {
    ".py": "Python", ".pyi": "Python", ".js": "JavaScript", ".mjs": "JavaScript",
    ".cjs": "JavaScript", ".jsx": "JavaScript", ".ts": "TypeScript", ".tsx": "TypeScript",
    ".go": "Go", ".rs": "Rust", ".java": "Java", ".kt": "Kotlin", ".c": "C", ".h": "C",
    ".cc": "C++", ".cpp": "C++", ".hpp": "C++", ".cs": "C#", ".rb": "Ruby", ".php": "PHP",
    ".swift": "Swift", ".scala": "Scala", ".sh": "Shell", ".bash": "Shell", ".sql": "SQL",
    ".html": "HTML", ".css": "CSS", ".scss": "CSS", ".vue": "Vue", ".svelte": "Svelte",
    ".lua": "Lua", ".r": "R", ".jl": "Julia", ".ex": "Elixir", ".exs": "Elixir",
    ".hs": "Haskell", ".ml": "OCaml", ".dart": "Dart", ".zig": "Zig",
    ".md": "Markdown", ".rst": "reStructuredText", ".toml": "TOML", ".yaml": "YAML",
    ".yml": "YAML", ".json": "JSON", ".ini": "INI", ".cfg": "INI",
}  # fmt: skip
NAMED_FILES = {"Makefile": "Makefile", "Dockerfile": "Dockerfile", "CMakeLists.txt": "CMake"}
#: languages that are documentation or configuration, not code
NOT_CODE = frozenset({"Markdown", "reStructuredText", "TOML", "YAML", "JSON", "INI", "Text"})


@dataclass(frozen=True, slots=True)
class SourceFile:
    """A text file that was read. ``path`` is relative to the root, ``/``-separated."""

    path: str
    language: str
    text: str

    @property
    def size(self) -> int:
        return len(self.text.encode("utf-8"))

    @property
    def is_code(self) -> bool:
        return self.language not in NOT_CODE


@dataclass(slots=True)
class ScanResult:
    """What was read and what was skipped, and why."""

    root: Path
    files: list[SourceFile] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)
    #: files (and directories, with a trailing "/") not read because they hold secrets
    secret_files: list[str] = field(default_factory=list)
    #: lines of the files read in which key-like values were replaced
    redactions: list[Redaction] = field(default_factory=list)

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)

    def summary(self) -> str:
        """One line: what was read and what was skipped."""
        langs = Counter(f.language for f in self.files)
        count = len(self.files)
        read = f"read {count} text file{'' if count == 1 else 's'} ({self.total_bytes:,} bytes"
        read += f"; {', '.join(f'{n} {lang}' for lang, n in langs.most_common(4))})" if langs \
            else ")"
        reasons = {"ignored": "ignored (.gitignore and defaults)", "binary": "binary",
                   "too_large": f"larger than {MAX_FILE_BYTES // 1024} kB",
                   "symlink": "symlinks", "unreadable": "unreadable",
                   "secret": "holding secrets",
                   "limit": f"beyond the {MAX_FILES}-file limit"}  # fmt: skip
        skips = [f"{n} {reasons.get(k, k)}" for k, n in self.skipped.items() if n]
        return read + ("; skipped " + ", ".join(skips) if skips else "")

    def secrets_report(self) -> str:
        """One line: which files were kept out as secret, which lines were redacted."""
        return report(self.secret_files, self.redactions)


def language_of(name: str) -> str:
    if name in NAMED_FILES:
        return NAMED_FILES[name]
    return LANGUAGES.get(os.path.splitext(name)[1].lower(), "Text")


def read_text(path: Path, size: int, max_bytes: int) -> tuple[str | None, str | None]:
    """(text, None) or (None, the skip reason) for one regular file."""
    if size > max_bytes:
        return None, "too_large"
    if path.suffix.lower() in BINARY_EXTENSIONS:
        return None, "binary"
    try:
        data = path.read_bytes()
    except OSError:
        return None, "unreadable"
    if b"\x00" in data[:SNIFF_BYTES]:
        return None, "binary"
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError:
        return None, "binary"


def scan(
    directory: str | os.PathLike[str],
    *,
    max_file_bytes: int = MAX_FILE_BYTES,
    max_files: int = MAX_FILES,
) -> ScanResult:
    """Walk ``directory`` (without following symlinks) and read its text files."""
    root = Path(directory).resolve()
    result = ScanResult(root)
    rules = GitIgnore()
    rules.add("\n".join(DEFAULT_IGNORES))
    info_exclude = root / ".git" / "info" / "exclude"
    if info_exclude.is_file():
        rules.add(_read_rules(info_exclude))
    _walk(root, "", rules, result, max_file_bytes, max_files)
    result.files.sort(key=lambda f: f.path)
    return result


def _read_rules(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _walk(
    directory: Path, rel: str, rules: GitIgnore, result: ScanResult, max_bytes: int, limit: int
) -> None:
    ignore_file = directory / ".gitignore"
    if ignore_file.is_file():
        rules.add(_read_rules(ignore_file), rel)
    try:
        entries = sorted(os.scandir(directory), key=lambda e: e.name)
    except OSError:
        result.skipped["unreadable"] += 1
        return
    for entry in entries:
        path = f"{rel}/{entry.name}" if rel else entry.name
        try:
            if entry.is_symlink():
                result.skipped["symlink"] += 1
                continue
            is_dir = entry.is_dir(follow_symlinks=False)
            if rules.ignored(path, is_dir):
                result.skipped["ignored"] += 1
                continue
            if is_secret_file(entry.name, is_dir):
                result.skipped["secret"] += 1
                result.secret_files.append(path + "/" if is_dir else path)
                continue
            if is_dir:
                _walk(Path(entry.path), path, rules, result, max_bytes, limit)
                continue
            if not entry.is_file(follow_symlinks=False):
                continue  # sockets, fifos, devices
            if len(result.files) >= limit:
                result.skipped["limit"] += 1
                continue
            text, reason = read_text(Path(entry.path), entry.stat().st_size, max_bytes)
        except OSError:
            result.skipped["unreadable"] += 1
            continue
        if text is None:
            result.skipped[reason or "unreadable"] += 1
            continue
        language = language_of(entry.name)
        text, found = redact_text(text, path, language)
        result.redactions += found
        result.files.append(SourceFile(path, language, text))
