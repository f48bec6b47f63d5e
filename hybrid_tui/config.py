"""The configuration schema, loading and validation (one message per problem).

CONTRACT (implemented by the config helper; other modules rely on these names):

- dataclasses below, frozen; ``Config.backends`` keeps file order.
- ``default_config() -> Config``: built-in defaults, equal to ``config.example.yaml``.
- ``load_config(path: str | None = None, *, env: Mapping[str, str] | None = None) -> Config``:
  ``path`` (from --config) else ``$HYBRID_TUI_CONFIG`` else ``locations.config_file()`` if it
  exists else defaults. ``OLLAMA_HOST`` overrides the *default* ollama endpoint. Raises
  :class:`hybrid_tui.errors.ConfigError` for every problem.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

TIERS = ("fast", "strong")
KINDS = ("openai", "ollama")


@dataclass(frozen=True, slots=True)
class RoutingConfig:
    default_provider: str = "auto"
    escalation_threshold: float = 0.7
    confidence_scoring: bool = True
    learning_enabled: bool = True


@dataclass(frozen=True, slots=True)
class BackendConfig:
    name: str
    kind: str
    endpoint: str
    enabled: bool = True
    tier: str = "fast"
    models: tuple[str, ...] = ()
    task_types: tuple[str, ...] = ()
    max_concurrent: int = 1
    #: seconds to wait for the first token
    timeout: float = 30.0
    #: name of an environment variable holding a bearer token (OpenAI-compatible servers)
    api_key_env: str | None = None


@dataclass(frozen=True, slots=True)
class HealthConfig:
    interval: float = 30.0
    timeout: float = 5.0


@dataclass(frozen=True, slots=True)
class UIConfig:
    theme: str = "hybrid-dark"


@dataclass(frozen=True, slots=True)
class Config:
    routing: RoutingConfig = field(default_factory=RoutingConfig)
    backends: dict[str, BackendConfig] = field(default_factory=dict)
    health: HealthConfig = field(default_factory=HealthConfig)
    ui: UIConfig = field(default_factory=UIConfig)
    #: the file it came from, None for built-in defaults
    source: Path | None = None

    def enabled_backends(self) -> list[BackendConfig]:
        return [b for b in self.backends.values() if b.enabled]


def default_backends() -> dict[str, BackendConfig]:
    return {
        "lmstudio": BackendConfig(
            name="lmstudio",
            kind="openai",
            endpoint="http://localhost:1234",
            tier="fast",
            models=("qwen2.5-coder", "deepseek-coder", "codellama-7b-instruct", "gemma-2b-it"),
            task_types=("template", "edit", "format", "boilerplate"),
            max_concurrent=3,
            timeout=10.0,
        ),
        "ollama": BackendConfig(
            name="ollama",
            kind="ollama",
            endpoint="http://localhost:11434",
            tier="strong",
            models=("codellama:34b", "qwen2.5:72b"),
            task_types=("analysis", "planning", "complex", "multi-file"),
            max_concurrent=1,
            timeout=30.0,
        ),
    }
