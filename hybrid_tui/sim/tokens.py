"""Splitting reply text into model-token-sized pieces, the same way for both server kinds.

Real tokenizers emit words with their leading space, cut long words into sub-words, and give
newlines, punctuation and indentation their own tokens. Joining the pieces gives back the
text exactly.
"""

from __future__ import annotations

import re

_PIECE = re.compile(
    r"\r?\n"  # a newline
    r"| ?[^\W\d_]+"  # a word with its leading space
    r"| ?\d{1,3}"  # numbers in groups of up to three digits
    r"| ?_+"
    r"| ?[^\w\s]"  # one punctuation mark or symbol
    r"|[^\S\n]+"  # a run of other white space (indentation)
    r"|.",
    re.DOTALL,
)
_LONG = 8
_SUBWORD = 4


def tokenize(text: str) -> list[str]:
    """Token-sized pieces of ``text``; ``"".join(tokenize(t)) == t`` always."""
    pieces: list[str] = []
    for match in _PIECE.finditer(text):
        piece = match.group()
        if len(piece) <= _LONG:
            pieces.append(piece)
            continue
        for start in range(0, len(piece), _SUBWORD):
            pieces.append(piece[start : start + _SUBWORD])
    return pieces


def count_tokens(text: str) -> int:
    """How many tokens ``text`` is, by the same measure."""
    return len(tokenize(text))


def fit_tokens(pieces: list[str], n: int) -> list[str]:
    """Exactly ``n`` pieces: ``pieces`` repeated (a blank line between copies) or trimmed."""
    if n <= 0:
        return []
    if not pieces:
        pieces = tokenize("ok")
    out = list(pieces)
    while len(out) < n:
        out += ["\n", "\n", *pieces]
    return out[:n]
