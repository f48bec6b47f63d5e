"""The configuration schema, loading and validation (one message per problem).

CONTRACT (implemented by the config helper; other modules rely on these names):

- dataclasses below, frozen; ``Config.backends`` keeps file order.
- ``default_config() -> Config``: built-in defaults, equal to ``config.example.yaml``.
- ``load_config(path: str | None = None, *, env: Mapping[str, str] | None = None) -> Config``:
  ``path`` (from --config) else ``$HYBRID_TUI_CONFIG`` else ``locations.config_file()`` if it
  exists else defaults. ``OLLAMA_HOST`` overrides the *default* ollama endpoint. Raises
  :class:`hybrid_tui.errors.ConfigError` for every problem.

Every problem is reported as ONE line naming the file, the key path (``backends.ollama.timeout``)
and what is wrong, with the line number when the YAML parser knows it.
"""

from __future__ import annotations

import difflib
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from hybrid_tui.config_values import describe as _describe
from hybrid_tui.config_values import insecure_endpoint as insecure_endpoint  # re-exported
from hybrid_tui.config_values import normalize_endpoint, parse_ollama_host
from hybrid_tui.errors import ConfigError
from hybrid_tui.generation import (
    OLLAMA_ONLY,
    OPTION_KEYS,
    ChatSettings,
    GenerationOptions,
    OptionError,
    check_option,
    check_think,
)

TIERS = ("fast", "strong")
KINDS = ("openai", "ollama")

#: force values the router understands besides backend names; never usable as a backend name
RESERVED_NAMES = ("auto", "fast", "strong")
#: bigger config files are refused rather than read (a config is a few hundred bytes)
MAX_CONFIG_BYTES = 1_000_000
#: a bigger ``system_prompt_file`` is refused (it would crowd the chat out of the window)
MAX_SYSTEM_PROMPT_BYTES = 100_000
#: what every built-in backend asks of its model unless the config says otherwise: near
#: deterministic code, and a cap that keeps a runaway reply from filling the window
DEFAULT_OPTIONS = GenerationOptions(temperature=0.1, max_tokens=2048)

#: server names people write as ``kind``, and the protocol they speak
_KIND_ALIASES = {"lmstudio": "openai", "lm-studio": "openai", "lm_studio": "openai",
                 "vllm": "openai", "llamacpp": "openai", "llama.cpp": "openai"}
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True, slots=True)
class RoutingConfig:
    """How prompts are routed (``routing:``)."""

    default_provider: str = "auto"
    escalation_threshold: float = 0.7
    confidence_scoring: bool = True
    learning_enabled: bool = True
    #: seconds a reply may go without a new chunk once it has started; then it fails over
    stall_timeout: float = 30.0
    #: failed requests in a row after which a backend is skipped for ``cooldown_seconds``
    cooldown_failures: int = 3
    cooldown_seconds: float = 30.0
    #: a medium prompt meant for the strong tier goes to the fast tier when the strong
    #: tier's predicted completion time is more than this many times the fast tier's
    max_slowdown: float = 4.0
    #: how much likelier to succeed a backend must be, per doubling of its predicted time,
    #: to be preferred over a faster one (0: speed never outweighs learned quality)
    slowdown_cost: float = 0.1


@dataclass(frozen=True, slots=True)
class BackendConfig:
    """One server (an entry of ``backends:``); ``name`` is its key there."""

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
    #: sampling options sent with every request (None values are left to the server)
    options: GenerationOptions = field(default_factory=GenerationOptions)
    #: None: the built-in system prompt; "": none (``system_prompt_file`` is read into it)
    system_prompt: str | None = None
    #: None: the server's default; True/False or a level (low, medium, high)
    think: bool | str | None = None
    #: the longest line (or SSE event) a reply stream may send, in bytes; longer: cut off
    max_line_bytes: int = 1024 * 1024
    #: the most a reply's body may be, in bytes (text and the server's framing); beyond it
    #: the reply is cut off, what came is kept: a server that never stops must not fill memory
    max_reply_bytes: int = 64 * 1024 * 1024

    @property
    def settings(self) -> ChatSettings:
        """What this backend asks of its model before any chat's override."""
        return ChatSettings(self.options, self.system_prompt, self.think)


@dataclass(frozen=True, slots=True)
class HealthConfig:
    """Background probing (``health:``), in seconds."""

    interval: float = 30.0
    timeout: float = 5.0


@dataclass(frozen=True, slots=True)
class UIConfig:
    """The terminal UI (``ui:``)."""

    theme: str = "hybrid-dark"
    #: action name -> key, over the defaults in ``hybrid_tui.keymap.ACTIONS``
    keys: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Config:
    """The whole validated configuration."""

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
            options=DEFAULT_OPTIONS,
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
            options=DEFAULT_OPTIONS,
        ),
    }


def default_config(*, env: Mapping[str, str] | None = None) -> Config:
    """The built-in defaults (equal to ``config.example.yaml``), plus ``OLLAMA_HOST`` if set."""
    return _apply_ollama_host(Config(backends=default_backends()), env, explicit=())


def load_config(path: str | os.PathLike[str] | None = None, *,
                env: Mapping[str, str] | None = None) -> Config:
    """Find, read and validate the configuration; see the module docstring for the order."""
    env = os.environ if env is None else env
    if path is None and env.get("HYBRID_TUI_CONFIG"):
        path = env["HYBRID_TUI_CONFIG"]
    if path is None:
        from hybrid_tui.locations import config_file

        candidate = config_file()
        if not candidate.is_file():
            return default_config(env=env)
        path = candidate
    file = Path(path).expanduser()
    return parse_config_text(_read(file), path=file, env=env)


def parse_config_text(text: str, *, path: Path | None = None,
                      env: Mapping[str, str] | None = None) -> Config:
    """Validate YAML text as a config (``path`` is only used in messages and ``source``)."""
    shown = str(path) if path is not None else "<config>"
    if "\x00" in text:
        raise ConfigError("file contains NUL bytes (is it a binary file?)", path=shown)
    data = _parse_yaml(text, shown)
    if data is None:  # empty, or only comments: the defaults
        return replace(default_config(env=env), source=path)
    if not isinstance(data, dict):
        raise ConfigError(
            f"the top level must be a mapping of sections (routing, backends, health, ui), "
            f"got {_describe(data)}", path=shown)
    return _Validator(shown, env, path).config(data, source=path)


# --------------------------------------------------------------------------- reading + YAML


def _read(file: Path) -> str:
    shown = str(file)
    try:
        if not file.exists():
            raise ConfigError("config file not found", path=shown)
        if file.is_dir():
            raise ConfigError("is a directory, not a config file", path=shown)
        if file.stat().st_size > MAX_CONFIG_BYTES:
            raise ConfigError(f"file is larger than {MAX_CONFIG_BYTES:,} bytes", path=shown)
        raw = file.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read the file: {exc.strerror or exc}", path=shown) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text (bad byte at offset {exc.start})", path=shown) from None


class _Map(dict):
    """A YAML mapping that remembers the line of each key (for messages)."""

    lines: dict[Any, int]


def _parse_yaml(text: str, shown: str) -> Any:
    import yaml

    class Loader(yaml.SafeLoader):
        """SafeLoader whose mappings refuse duplicate keys and keep line numbers."""

    def construct_map(loader: Loader, node: Any) -> Any:
        data = _Map()
        data.lines = {}
        yield data
        seen: set[str] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                if key_node.value in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key_node.value!r}", key_node.start_mark)
                seen.add(key_node.value)
        loader.flatten_mapping(node)
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node)
            if not isinstance(key, str | int | float | bool | None):
                raise yaml.constructor.ConstructorError(
                    None, None, "a key must be a plain word", key_node.start_mark)
            data[key] = loader.construct_object(value_node)
            data.lines[key] = key_node.start_mark.line + 1

    Loader.add_constructor("tag:yaml.org,2002:map", construct_map)
    try:
        return yaml.load(text, Loader=Loader)  # a SafeLoader subclass: no arbitrary objects
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = exc.problem or exc.context or "invalid YAML"
        if "'\\t'" in problem:
            problem += " (indent with spaces, not tabs)"
        raise ConfigError(f"YAML syntax error{where}: {problem}", path=shown) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"YAML error: {str(exc).splitlines()[0]}", path=shown) from None


# --------------------------------------------------------------------------- validation


def _suggest(word: str, options: list[str] | tuple[str, ...]) -> str:
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    if close:
        return f" (did you mean {close[0]!r}?)"
    return f" (expected one of: {', '.join(options)})" if options else ""


def _keys(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls) if f.name not in ("name", "source"))


_SECTIONS = ("routing", "backends", "health", "ui")
_ROUTING_KEYS = _keys(RoutingConfig)
_BACKEND_KEYS = (*_keys(BackendConfig), "system_prompt_file")
_HEALTH_KEYS, _UI_KEYS = _keys(HealthConfig), _keys(UIConfig)
_MISSING = object()


class _Validator:
    """Turns parsed YAML into a :class:`Config`, raising one :class:`ConfigError` at a time."""

    def __init__(self, shown: str, env: Mapping[str, str] | None,
                 path: Path | None = None) -> None:
        self.shown = shown
        self.env = env
        #: relative paths in the file (``system_prompt_file``) are read from its directory
        self.base_dir = path.parent if path is not None else Path.cwd()

    def fail(self, key: str | None, problem: str, line: int | None = None) -> ConfigError:
        if line is not None:
            problem = f"{problem} (line {line})"
        return ConfigError(problem, path=self.shown, key=key)

    def section(self, data: dict, name: str, prefix: str | None,
                allowed: tuple[str, ...]) -> dict:
        """``data[name]`` as a mapping (missing or null -> ``{}``); unknown keys refused."""
        value = data.get(name)
        key = f"{prefix}.{name}" if prefix else name
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.fail(key, f"expected a mapping, got {_describe(value)}", _line(data, name))
        self.known(value, key, allowed)
        return value

    def known(self, data: dict, key: str | None, allowed: tuple[str, ...]) -> None:
        for k in data:
            if not isinstance(k, str):
                raise self.fail(key, f"keys must be words, got {_describe(k)}", _line(data, k))
            if k not in allowed:
                raise self.fail(key, f"unknown key {k!r}{_suggest(k, allowed)}", _line(data, k))

    # ---- scalar checks: ``default`` when the key is absent, else the clean value or raise

    def get(self, data: dict, name: str, prefix: str) -> tuple[Any, str, int | None]:
        return data.get(name, _MISSING), f"{prefix}.{name}", _line(data, name)

    def number(self, data: dict, name: str, prefix: str, default: float, *,
               low: float | None = None, high: float | None = None,
               positive: bool = False) -> float:
        value, key, line = self.get(data, name, prefix)
        if value is _MISSING:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(key, f"expected a number, got {_describe(value)}", line)
        if not math.isfinite(value):
            raise self.fail(key, f"must be a finite number, got {value}", line)
        if positive and value <= 0:
            raise self.fail(key, f"must be greater than 0, got {value}", line)
        if (low is not None and value < low) or (high is not None and value > high):
            raise self.fail(key, f"must be between {low:g} and {high:g}, got {value}", line)
        return float(value)

    def integer(self, data: dict, name: str, prefix: str, default: int, *, minimum: int) -> int:
        value, key, line = self.get(data, name, prefix)
        if value is _MISSING:
            return default
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, f"expected a whole number, got {_describe(value)}", line)
        if value < minimum:
            raise self.fail(key, f"must be at least {minimum}, got {value}", line)
        return value

    def boolean(self, data: dict, name: str, prefix: str, default: bool) -> bool:
        value, key, line = self.get(data, name, prefix)
        if value is _MISSING:
            return default
        if not isinstance(value, bool):
            raise self.fail(key, f"expected true or false, got {_describe(value)}", line)
        return value

    def string(self, data: dict, name: str, prefix: str, default: str,
               options: tuple[str, ...] = (), what: str = "") -> str:
        """A non-empty string; with ``options``, one of them (``what`` names the kind)."""
        value, key, line = self.get(data, name, prefix)
        if value is _MISSING:
            return default
        if not isinstance(value, str):
            raise self.fail(key, f"expected a string, got {_describe(value)}", line)
        if not value.strip():
            raise self.fail(key, "must not be empty", line)
        if options and value.strip() not in options:
            raise self.fail(key, f"unknown {what} {value!r}{_suggest(value, options)}", line)
        return value.strip()

    def words(self, data: dict, name: str, prefix: str,
              default: tuple[str, ...]) -> tuple[str, ...]:
        value, key, line = self.get(data, name, prefix)
        if value is _MISSING:
            return default
        if value is None:
            return ()
        if not isinstance(value, list):
            hint = f" (write [{value}])" if isinstance(value, str) else ""
            raise self.fail(key, f"expected a list of strings, got {_describe(value)}{hint}",
                            line)
        for i, item in enumerate(value):
            if not isinstance(item, str) or not item.strip():
                raise self.fail(f"{key}[{i}]", f"expected a non-empty string, got "
                                f"{_describe(item)}", line)
        return tuple(item.strip() for item in value)

    # ---- sections

    def config(self, data: dict, *, source: Path | None) -> Config:
        self.known(data, None, _SECTIONS)
        backends, explicit = self.backends(data)
        routing = self.routing(data, backends)
        h, hd = self.section(data, "health", None, _HEALTH_KEYS), HealthConfig()
        health = HealthConfig(
            interval=self.number(h, "interval", "health", hd.interval, positive=True),
            timeout=self.number(h, "timeout", "health", hd.timeout, positive=True),
        )
        u = self.section(data, "ui", None, _UI_KEYS)
        ui = UIConfig(theme=self.string(u, "theme", "ui", UIConfig().theme),
                      keys=self.keymap(u))
        config = Config(routing=routing, backends=backends, health=health, ui=ui, source=source)
        return _apply_ollama_host(config, self.env, explicit=explicit)

    def keymap(self, u: dict) -> dict[str, str]:
        """``ui.keys``: action name -> key; an unknown action or a bad key name is an error."""
        from hybrid_tui.keymap import keymap_problems

        keys = u.get("keys")
        if keys is None:
            return {}
        if not isinstance(keys, dict):
            raise self.fail("ui.keys", f"expected a mapping of action to key, got "
                            f"{_describe(keys)}", _line(u, "keys"))
        problems = keymap_problems(keys)
        if problems:
            name = next(iter(keys)) if len(keys) == 1 else None
            raise self.fail(f"ui.keys.{name}" if name else "ui.keys", problems[0],
                            _line(u, "keys"))
        return {str(k): str(v) for k, v in keys.items()}

    def routing(self, data: dict, backends: dict[str, BackendConfig]) -> RoutingConfig:
        r = self.section(data, "routing", None, _ROUTING_KEYS)
        d = RoutingConfig()
        provider = self.string(r, "default_provider", "routing", d.default_provider)
        if provider != "auto" and provider not in backends:
            options = ["auto", *backends]
            raise self.fail("routing.default_provider", f"unknown provider {provider!r}"
                            f"{_suggest(provider, options)}", _line(r, "default_provider"))
        return RoutingConfig(
            default_provider=provider,
            escalation_threshold=self.number(r, "escalation_threshold", "routing",
                                             d.escalation_threshold, low=0.0, high=1.0),
            confidence_scoring=self.boolean(r, "confidence_scoring", "routing",
                                            d.confidence_scoring),
            learning_enabled=self.boolean(r, "learning_enabled", "routing", d.learning_enabled),
            stall_timeout=self.number(r, "stall_timeout", "routing", d.stall_timeout,
                                      positive=True),
            cooldown_failures=self.integer(r, "cooldown_failures", "routing",
                                           d.cooldown_failures, minimum=1),
            cooldown_seconds=self.number(r, "cooldown_seconds", "routing", d.cooldown_seconds,
                                         positive=True),
            max_slowdown=self.number(r, "max_slowdown", "routing", d.max_slowdown, low=1.0,
                                     high=1000.0),
            slowdown_cost=self.number(r, "slowdown_cost", "routing", d.slowdown_cost, low=0.0,
                                      high=1.0),
        )

    def backends(self, data: dict) -> tuple[dict[str, BackendConfig], tuple[str, ...]]:
        """The backends (a given mapping replaces the defaults) and the names whose endpoint
        the file sets explicitly (``OLLAMA_HOST`` must not override those)."""
        value = data.get("backends")
        if value is None:
            return default_backends(), ()
        if not isinstance(value, dict):
            raise self.fail("backends", f"expected a mapping of name -> backend, got "
                            f"{_describe(value)}", _line(data, "backends"))
        if not value:
            raise self.fail("backends", "no backends configured; list at least one",
                            _line(data, "backends"))
        out: dict[str, BackendConfig] = {}
        explicit: list[str] = []
        for name, body in value.items():
            out[name] = self.backend(value, name, body)
            if isinstance(body, dict) and "endpoint" in body:
                explicit.append(name)
        if not any(b.enabled for b in out.values()):
            raise self.fail("backends", "every backend is disabled; enable at least one",
                            _line(data, "backends"))
        return out, tuple(explicit)

    def backend(self, parent: dict, name: Any, body: Any) -> BackendConfig:
        line = _line(parent, name)
        if not isinstance(name, str) or not _NAME_RE.match(name):
            raise self.fail("backends", f"invalid backend name {name!r} (use letters, digits, "
                            "'-', '_' or '.')", line)
        key = f"backends.{name}"
        if name in RESERVED_NAMES:
            raise self.fail(key, f"{name!r} is reserved (it means a routing mode); pick "
                            "another name", line)
        if body is None:
            body = {}
        if not isinstance(body, dict):
            raise self.fail(key, f"expected a mapping, got {_describe(body)}", line)
        self.known(body, key, _BACKEND_KEYS)
        builtin = default_backends().get(name)
        if "kind" in body:
            if isinstance(body["kind"], str) and body["kind"] in _KIND_ALIASES:
                raise self.fail(f"{key}.kind", f"unknown kind {body['kind']!r} (did you mean "
                                f"{_KIND_ALIASES[body['kind']]!r}?)", _line(body, "kind"))
            kind = self.string(body, "kind", key, "", KINDS, "kind")
        elif builtin is not None:
            kind = builtin.kind
        else:
            raise self.fail(key, "missing required key 'kind' (openai or ollama)", line)
        # omitted fields come from the built-in backend of that name, else from its kind's
        base = builtin if builtin is not None and builtin.kind == kind else _kind_template(kind)
        if "endpoint" not in body and base is not builtin:
            raise self.fail(key, "missing required key 'endpoint' (e.g. http://localhost:8000)",
                            line)
        endpoint = base.endpoint
        if "endpoint" in body:
            endpoint = self.endpoint(body, key, kind)
        api_key_env = None
        if "api_key_env" in body and body["api_key_env"] is not None:
            api_key_env = self.string(body, "api_key_env", key, "")
            if not _ENV_NAME_RE.match(api_key_env):
                # never echo the value: it may be the key itself, pasted in by mistake
                raise self.fail(f"{key}.api_key_env", "must be the NAME of an environment "
                                "variable holding the key (e.g. LMSTUDIO_API_KEY), not the key",
                                _line(body, "api_key_env"))
        return BackendConfig(
            name=name,
            kind=kind,
            endpoint=endpoint,
            enabled=self.boolean(body, "enabled", key, base.enabled),
            tier=self.string(body, "tier", key, base.tier, TIERS, "tier"),
            models=self.words(body, "models", key, base.models),
            task_types=self.words(body, "task_types", key, base.task_types),
            max_concurrent=self.integer(body, "max_concurrent", key, base.max_concurrent,
                                        minimum=1),
            timeout=self.number(body, "timeout", key, base.timeout, positive=True),
            api_key_env=api_key_env,
            options=self.options(body, key, kind, base.options),
            system_prompt=self.system_prompt(body, key, base.system_prompt),
            think=self.think(body, key, base.think),
            max_line_bytes=self.integer(body, "max_line_bytes", key, base.max_line_bytes,
                                        minimum=1024),
            max_reply_bytes=self.integer(body, "max_reply_bytes", key, base.max_reply_bytes,
                                         minimum=64 * 1024),
        )

    def options(self, body: dict, key: str, kind: str,
                default: GenerationOptions) -> GenerationOptions:
        """``options:`` as given (it replaces the defaults: a key left out is not sent)."""
        if "options" not in body:
            return default
        given = self.section(body, "options", key, OPTION_KEYS)
        prefix = f"{key}.options"
        clean: dict[str, Any] = {}
        for name, value in given.items():
            if value is None:
                continue
            if name in OLLAMA_ONLY and kind != "ollama":
                raise self.fail(f"{prefix}.{name}", "only an Ollama backend takes this per "
                                "request (set it where the server loads the model)",
                                _line(given, name))
            try:
                clean[name] = check_option(name, value)
            except OptionError as exc:
                raise self.fail(f"{prefix}.{exc.key}", exc.problem, _line(given, name)) from None
        return GenerationOptions(**clean)

    def system_prompt(self, body: dict, key: str, default: str | None) -> str | None:
        """``system_prompt`` (text, "" for none) or ``system_prompt_file`` (read now)."""
        if "system_prompt" in body and "system_prompt_file" in body:
            raise self.fail(f"{key}.system_prompt_file", "give system_prompt or "
                            "system_prompt_file, not both", _line(body, "system_prompt_file"))
        if "system_prompt_file" in body:
            name = self.string(body, "system_prompt_file", key, "")
            return self.read_prompt(name, f"{key}.system_prompt_file",
                                    _line(body, "system_prompt_file"))
        value, where, line = self.get(body, "system_prompt", key)
        if value is _MISSING or value is None:
            return default if value is _MISSING else None
        if not isinstance(value, str):
            raise self.fail(where, f"expected text, got {_describe(value)}", line)
        return value.strip()

    def read_prompt(self, name: str, key: str, line: int | None) -> str:
        file = (self.base_dir / Path(name).expanduser()).resolve()
        try:
            if file.stat().st_size > MAX_SYSTEM_PROMPT_BYTES:
                raise self.fail(key, f"{file} is larger than {MAX_SYSTEM_PROMPT_BYTES:,} "
                                "bytes", line)
            text = file.read_bytes().decode("utf-8-sig")
        except FileNotFoundError:
            raise self.fail(key, f"file not found: {file}", line) from None
        except UnicodeDecodeError:
            raise self.fail(key, f"{file} is not UTF-8 text", line) from None
        except OSError as exc:
            raise self.fail(key, f"cannot read {file}: {exc.strerror or exc}", line) from None
        if "\x00" in text:
            raise self.fail(key, f"{file} contains NUL bytes (is it a binary file?)", line)
        return text.strip()

    def think(self, body: dict, key: str, default: bool | str | None) -> bool | str | None:
        value, where, line = self.get(body, "think", key)
        if value is _MISSING:
            return default
        if value is None:
            return None
        try:
            return check_think(value)
        except OptionError as exc:
            raise self.fail(where, exc.problem, line) from None

    def endpoint(self, body: dict, key: str, kind: str) -> str:
        value = self.string(body, "endpoint", key, "")
        try:
            return normalize_endpoint(value, kind=kind)
        except ValueError as exc:
            raise self.fail(f"{key}.endpoint", str(exc), _line(body, "endpoint")) from None


def _kind_template(kind: str) -> BackendConfig:
    """Defaults for a backend of ``kind`` under another name: the built-in one of that kind,
    with no model preference (the first model the server lists is used)."""
    base = next(b for b in default_backends().values() if b.kind == kind)
    return replace(base, models=())


def _line(data: dict, key: Any) -> int | None:
    lines = getattr(data, "lines", None)
    return lines.get(key) if lines else None


def _apply_ollama_host(config: Config, env: Mapping[str, str] | None,
                       *, explicit: tuple[str, ...]) -> Config:
    """Point the built-in ``ollama`` backend at ``$OLLAMA_HOST`` unless the file sets it."""
    env = os.environ if env is None else env
    raw = (env.get("OLLAMA_HOST") or "").strip()
    b = config.backends.get("ollama")
    if not raw or b is None or b.kind != "ollama" or "ollama" in explicit:
        return config
    try:
        endpoint = parse_ollama_host(raw)
    except ValueError as exc:
        raise ConfigError(str(exc), path="$OLLAMA_HOST") from None
    backends = dict(config.backends)
    backends["ollama"] = replace(b, endpoint=endpoint)
    return replace(config, backends=backends)
