"""Keep secrets out of what ``fine-tune`` sends to the server or writes to a training set.

The profile becomes a system prompt that anyone who can read the server's modelfile sees, and
a training set is shared with whatever trains on it. So, as files are read:

- files whose names say they hold secrets (``.env*``, ``*.pem``, ``*.key``, SSH keys
  ``id_*``, ``.netrc``, ``.npmrc``, ``.pypirc``, credentials files, ...) and directories such
  as ``.ssh/`` are not read at all;
- in every other file, values that look like keys are replaced with ``[redacted]``: known
  token shapes (``AKIA…``, ``ghp_…``, ``sk-…``, ...), private-key blocks, passwords in URLs,
  quoted values given to names like ``password`` or ``api_key``, and long high-entropy
  tokens (base64-like; a hex-only key is not recognised by its entropy).

Both are counted so the user sees what was kept out. A pattern cannot know every secret: the
report and ``--dry-run`` exist so that a person can look.
"""

from __future__ import annotations

import fnmatch
import math
import re
from collections import Counter
from dataclasses import dataclass

from hybrid_tui.backends.http_errors import REDACTED

#: file names (case-insensitive globs) that hold credentials, not code
SECRET_FILES = (
    ".env", ".env.*", "*.env", "*.pem", "*.key", "*.p12", "*.pfx", "*.jks", "*.keystore",
    "*.ppk", "*.kdbx", ".netrc", "_netrc", ".npmrc", ".pypirc", ".git-credentials", ".pgpass",
    ".htpasswd", ".dockercfg", ".boto", ".s3cfg", "credentials", "credentials.*",
    "*.credentials", "*-credentials.json", "client_secret*.json", "secrets.yml",
    "secrets.yaml", "secrets.json", "secrets.toml", ".secrets*",
)  # fmt: skip
#: SSH keys: id_rsa, id_ed25519, id_work, their .pub halves (not id_utils.py)
_SSH_KEY = re.compile(r"^id_[^.]+(\.pub)?$|^id_[^.]+-cert\.pub$", re.I)
#: directories that hold nothing but credentials
SECRET_DIRS = frozenset({".ssh", ".aws", ".gnupg", ".docker", ".kube", ".password-store"})

_AWS = ("akia", "asia", "agpa", "aida", "aroa", "aipa", "anpa", "anva")
#: (what it is, what a line must hold for it (ASCII lower-cased), the pattern)
_TOKENS = (
    ("AWS access key", _AWS,
     re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA)[0-9A-Z]{16}\b")),
    ("GitHub token", ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
     re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_\w{22,})")),
    ("GitLab token", ("glpat-",), re.compile(r"\bglpat-[\w-]{20,}")),
    ("API key", ("sk-",), re.compile(r"\bsk-[\w-]{16,}")),
    ("Stripe key", ("k_live_", "k_test_"), re.compile(r"\b[rsp]k_(?:live|test)_\w{16,}")),
    ("Slack token", ("xox",), re.compile(r"\bxox[abposr]-[\w-]{10,}")),
    ("Google API key", ("aiza",), re.compile(r"\bAIza[\w-]{35}")),
    ("npm token", ("npm_",), re.compile(r"\bnpm_[A-Za-z0-9]{36}\b")),
    ("Hugging Face token", ("hf_",), re.compile(r"\bhf_[A-Za-z0-9]{30,}\b")),
    ("JSON web token", ("eyj",), re.compile(r"\beyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]{8,}")),
)  # fmt: skip
#: what a name that says it is secret holds (ASCII lower-cased); _NAMED spells the same
_KEYWORDS = ("passw", "pwd", "secret", "token", "api_key", "api-key", "apikey", "access_key",
             "access-key", "accesskey", "private_key", "private-key", "privatekey", "auth_key",
             "auth-key", "authkey", "credential")  # fmt: skip
#: the password in scheme://user:password@host
_URL_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^/\s:@'\"]+:)([^/\s@'\"]+)(@)", re.I)
#: a quoted value given to a name that says it is secret (code, JSON, YAML, INI alike)
_NAMED = re.compile(
    r"""(?ix)
    (\b[\w.-]*(?:passw(?:or)?d|pwd|secret|token|api[_-]?key|apikey|access[_-]?key
       |private[_-]?key|auth[_-]?key|credentials?)(?:[_.-][\w.-]*)?["']?  # the name
     (?:\s*:\s*[\w.\[\], |]{1,40}?)?                           # an annotation (password: str)
     \s*(?:=|:|=>|:=)\s*)                                      # assigned, defaulted or keyed
    (["'])([^"'\s]{4,})(\2)                                    # a quoted value, no spaces
    """
)
#: an unquoted value given to such a name in a config file or script (API_KEY=abc123)
_NAMED_BARE = re.compile(
    r"(?i)^(\s*(?:export\s+)?[\w.-]*(?:passw(?:or)?d|pwd|secret|token|api[_-]?key|apikey"
    r"|access[_-]?key|private[_-]?key|auth[_-]?key|credentials?)(?:[_.-][\w.-]*)?\s*[:=]\s*)"
    r"([^\s'\"#;,]{4,})\s*$"
)
#: where bare values are configuration, not code (``token = make_token()``)
_CONFIG_LANGUAGES = frozenset({"YAML", "INI", "TOML", "Shell", "Text", "Dockerfile",
                               "Makefile"})  # fmt: skip
_CANDIDATE = re.compile(r"[A-Za-z0-9+/_=-]{32,}")
#: bits per character above which a mixed-case token with digits reads as random
ENTROPY_BITS = 4.5
#: a private-key block, to its end marker or the end of the text
_PEM_BLOCK = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----.*?"
                        r"(?:-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|\Z)", re.S)
#: what a line must hold (ASCII lower-cased) for any pattern above to match it. Looking for
#: these in the whole file's bytes first keeps a large project fast: most lines hold none
_NEEDLE_BYTES = tuple(needle.encode() for needle in (
    *(needle for _name, needles, _pattern in _TOKENS for needle in needles), "://", *_KEYWORDS))
_CANDIDATE_BYTES = re.compile(_CANDIDATE.pattern.encode())


def is_secret_file(name: str, is_dir: bool = False) -> bool:
    """True for a file or directory whose name says it holds credentials."""
    if is_dir:
        return name in SECRET_DIRS
    lowered = name.lower()
    return bool(_SSH_KEY.match(name)) or any(fnmatch.fnmatchcase(lowered, pattern)
                                             for pattern in SECRET_FILES)  # fmt: skip


def entropy(text: str) -> float:
    """Shannon entropy of ``text`` in bits per character."""
    counts = Counter(text)
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def _random_looking(token: str) -> bool:
    has_all = (any(c.isdigit() for c in token) and any(c.islower() for c in token)
               and any(c.isupper() for c in token))  # fmt: skip
    return has_all and entropy(token) >= ENTROPY_BITS


@dataclass(frozen=True, slots=True)
class Redaction:
    """One line with something that looked like a key: where, and what it looked like."""

    path: str
    line: int
    kind: str


def redact_line(line: str, language: str) -> tuple[str, str | None]:
    """``line`` with every key-like value replaced, and the kind of the first one (None
    when the line is clean)."""
    kind: str | None = None
    lowered = line.lower()
    # a pattern runs only on a line holding what it needs: most hinted lines need one or none
    for name, needles, pattern in _TOKENS:
        if any(needle in lowered for needle in needles):
            line, n = pattern.subn(REDACTED, line)
            kind = kind or (name if n else None)
    if "://" in line:
        line, n = _URL_PASSWORD.subn(rf"\1{REDACTED}\3", line)
        kind = kind or ("password in a URL" if n else None)
    if any(keyword in lowered for keyword in _KEYWORDS):
        line, n = _NAMED.subn(rf"\1\2{REDACTED}\4", line)
        if not n and language in _CONFIG_LANGUAGES:
            line, n = _NAMED_BARE.subn(rf"\1{REDACTED}", line)
        kind = kind or ("secret value" if n else None)
    found = [m for m in _CANDIDATE.findall(line) if _random_looking(m)] if len(line) >= 32 else []
    for token in found:
        line = line.replace(token, REDACTED)
    kind = kind or ("high-entropy token" if found else None)
    return line, kind


def redact_text(text: str, path: str, language: str) -> tuple[str, list[Redaction]]:
    """``text`` with key-like values (and whole private-key blocks) replaced, and one
    :class:`Redaction` per changed line."""
    lines = text.split("\n")
    kinds: dict[int, str] = {}
    for block in _PEM_BLOCK.finditer(text):
        first = text.count("\n", 0, block.start())
        for i in range(first, first + text.count("\n", block.start(), block.end() - 1) + 1):
            lines[i] = REDACTED
            kinds[i] = "private key"
    for i in sorted(_hinted_lines(text) - kinds.keys()):
        lines[i], kind = redact_line(lines[i], language)
        if kind is not None:
            kinds[i] = kind
    found = [Redaction(path, i + 1, kind) for i, kind in sorted(kinds.items())]
    return "\n".join(lines), found


def _hinted_lines(text: str) -> set[int]:
    """Indexes of the lines that hold a needle or a long token (in UTF-8 bytes, where ASCII
    lower-casing keeps every offset)."""
    data = text.encode("utf-8", "surrogatepass")
    lowered = data.lower()
    offsets = [m.start() for m in _CANDIDATE_BYTES.finditer(data)]
    for needle in _NEEDLE_BYTES:  # bytes.find is a fast substring search; a regex is not
        at = lowered.find(needle)
        while at >= 0:
            offsets.append(at)
            at = lowered.find(needle, at + 1)
    offsets.sort()
    lines: set[int] = set()
    line = previous = 0
    for offset in offsets:
        line += data.count(b"\n", previous, offset)
        previous = offset
        lines.add(line)
    return lines


def report(secret_files: list[str], redactions: list[Redaction], limit: int = 5) -> str:
    """One line for the user: the files skipped and the lines redacted, with a few names."""
    def some(items: list[str]) -> str:
        shown = ", ".join(items[:limit])
        return shown + (f", … ({len(items) - limit} more)" if len(items) > limit else "")

    files = len(secret_files)
    lines = len(redactions)
    noun = "file that holds" if files == 1 else "files that hold"
    parts = [f"skipped {files} {noun} secrets" + (f": {some(secret_files)}" if files else "")]
    where = [f"{r.path}:{r.line} ({r.kind})" for r in redactions]
    what = "line that looks like a key" if lines == 1 else "lines that look like keys"
    parts.append(f"redacted {lines} {what}" + (f": {some(where)}" if lines else ""))
    return "; ".join(parts)
