"""Plausible metadata for a model known only by its name (sizes, family, digest, context).

Both simulators list models by name; the details real servers add (bytes on disk, family,
quantisation, trained context length) are derived here, deterministically.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from hybrid_tui.sim.knobs import is_embedding

# (name prefix, family, parameter count in billions, trained context length)
_KNOWN = (
    ("codellama", "llama", 7.0, 16384),
    ("deepseek-coder", "llama", 6.7, 16384),
    ("qwen2.5-coder", "qwen2", 7.6, 32768),
    ("qwen2.5", "qwen2", 7.6, 32768),
    ("qwen3", "qwen3", 8.2, 40960),
    ("llama3.2", "llama", 3.2, 131072),
    ("llama3.1", "llama", 8.0, 131072),
    ("gemma", "gemma", 2.5, 8192),
    ("mistral", "llama", 7.2, 32768),
    ("nomic-embed-text", "nomic-bert", 0.137, 2048),
    ("text-embedding-nomic-embed-text", "nomic-bert", 0.137, 2048),
)
#: name prefixes of models that reason before answering (Ollama capability "thinking")
_THINKING = ("qwen3", "deepseek-r1", "gpt-oss", "magistral", "qwq")
_PARAMS = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)([bm])(?![a-z])", re.IGNORECASE)
#: bytes per parameter at Q4_K_M (about 4.8 bits)
_Q4_BYTES = 0.6
QUANT = "Q4_K_M"
MODIFIED_AT = "2025-06-14T09:12:03.481516237Z"


@dataclass(frozen=True, slots=True)
class ModelMeta:
    """What a server tells about one model beyond its name."""

    name: str
    family: str
    parameters: float  # billions
    trained_context: int
    embedding: bool
    thinking: bool = False

    @property
    def parameter_size(self) -> str:
        if self.parameters < 1:
            return f"{round(self.parameters * 1000)}M"
        return f"{self.parameters:g}B"

    @property
    def size(self) -> int:
        """Bytes on disk (and in memory when loaded)."""
        return int(self.parameters * 1e9 * _Q4_BYTES)

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.name.encode()).hexdigest()

    @property
    def publisher(self) -> str:
        return self.name.split("/", 1)[0] if "/" in self.name else "lmstudio-community"

    def details(self) -> dict[str, object]:
        """Ollama's ``details`` object."""
        return {
            "parent_model": "",
            "format": "gguf",
            "family": self.family,
            "families": [self.family],
            "parameter_size": self.parameter_size,
            "quantization_level": QUANT if not self.embedding else "F16",
        }


def meta(name: str) -> ModelMeta:
    """Metadata for ``name`` (a known family by prefix, else guessed from the name)."""
    base = name.split("/")[-1].lower()
    family, params, ctx = base.split(":")[0].split("-")[0].rstrip("0123456789."), 7.0, 8192
    for prefix, fam, p, c in _KNOWN:
        if base.startswith(prefix):
            family, params, ctx = fam, p, c
            break
    found = _PARAMS.search(base.replace(":", "-"))
    if found:
        value = float(found.group(1))
        params = value / 1000 if found.group(2).lower() == "m" else value
    thinking = base.startswith(_THINKING) and not is_embedding(name)
    return ModelMeta(name, family or "llama", params, ctx, is_embedding(name), thinking)
