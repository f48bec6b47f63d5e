"""Config loading: defaults, lookup order, OLLAMA_HOST, and one clear line per bad shape."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from hybrid_tui.config import (
    BackendConfig,
    Config,
    default_backends,
    default_config,
    insecure_endpoint,
    load_config,
    normalize_endpoint,
    parse_ollama_host,
)
from hybrid_tui.errors import ConfigError, HybridError

REPO = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str | bytes, name: str = "config.yaml") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- good configs


def test_example_file_equals_builtin_defaults():
    loaded = load_config(REPO / "config.example.yaml", env={})
    assert loaded.source == REPO / "config.example.yaml"
    assert replace(loaded, source=None) == default_config(env={})


def test_example_file_documents_every_key():
    text = (REPO / "config.example.yaml").read_text(encoding="utf-8")
    keys = ["default_provider", "escalation_threshold", "confidence_scoring", "learning_enabled",
            "kind", "endpoint", "enabled", "tier", "models", "task_types", "max_concurrent",
            "timeout", "api_key_env", "interval", "theme: hybrid-dark"]
    for key in keys:
        assert key in text, key
    assert "# api_key_env:" in text  # optional, so commented out


def test_defaults_have_both_servers():
    config = default_config(env={})
    assert list(config.backends) == ["lmstudio", "ollama"]
    assert config.backends["lmstudio"].endpoint == "http://localhost:1234"
    assert config.backends["ollama"].endpoint == "http://localhost:11434"
    assert config.routing.default_provider == "auto"
    assert config.source is None


@pytest.mark.parametrize("text", ["", "\n\n", "# just a comment\n", "---\n"])
def test_empty_file_means_defaults(tmp_path, text):
    path = write(tmp_path, text)
    config = load_config(path, env={})
    assert config.backends == default_backends()
    assert config.source == path


def test_omitted_sections_keep_defaults(tmp_path):
    config = load_config(write(tmp_path, "routing:\n  escalation_threshold: 0.5\n"), env={})
    assert config.routing.escalation_threshold == 0.5
    assert config.routing.learning_enabled is True
    assert config.backends == default_backends()
    assert config.health.interval == 30.0


def test_backends_mapping_replaces_defaults_and_keeps_order(tmp_path):
    text = (
        "backends:\n"
        "  vllm:\n    kind: openai\n    endpoint: https://gpu-box:8000/v1/\n    tier: strong\n"
        "  lmstudio:\n    endpoint: http://127.0.0.1:4321\n"
    )
    config = load_config(write(tmp_path, text), env={})
    assert list(config.backends) == ["vllm", "lmstudio"]
    vllm = config.backends["vllm"]
    assert vllm.endpoint == "https://gpu-box:8000"  # trailing /v1 and / dropped
    assert vllm.tier == "strong"
    assert vllm.models == ()  # another name: no model preference
    assert vllm.max_concurrent == default_backends()["lmstudio"].max_concurrent
    lms = config.backends["lmstudio"]
    assert lms == replace(default_backends()["lmstudio"], endpoint="http://127.0.0.1:4321")


def test_named_backend_with_no_body_takes_its_defaults(tmp_path):
    config = load_config(write(tmp_path, "backends:\n  ollama:\n"), env={})
    assert config.backends == {"ollama": default_backends()["ollama"]}


def test_one_disabled_backend_is_allowed(tmp_path):
    text = "backends:\n  lmstudio: {enabled: false}\n  ollama: {}\n"
    config = load_config(write(tmp_path, text), env={})
    assert [b.name for b in config.enabled_backends()] == ["ollama"]


def test_api_key_env_and_provider(tmp_path):
    text = (
        "routing: {default_provider: box}\n"
        "backends:\n  box: {kind: openai, endpoint: 'http://box:1234', api_key_env: BOX_KEY}\n"
    )
    config = load_config(write(tmp_path, text), env={})
    assert config.backends["box"].api_key_env == "BOX_KEY"
    assert config.routing.default_provider == "box"


def test_whole_number_floats_and_ints_are_accepted(tmp_path):
    text = "backends:\n  ollama: {max_concurrent: 2.0, timeout: 45}\nhealth: {interval: 0.5}\n"
    config = load_config(write(tmp_path, text), env={})
    assert config.backends["ollama"].max_concurrent == 2
    assert config.backends["ollama"].timeout == 45.0
    assert config.health.interval == 0.5


# --------------------------------------------------------------------------- where it is found


def test_lookup_order(tmp_path, monkeypatch):
    cli = write(tmp_path, "routing: {escalation_threshold: 0.1}\n", "cli.yaml")
    env_file = write(tmp_path, "routing: {escalation_threshold: 0.2}\n", "env.yaml")
    user_dir = tmp_path / "config"
    user_dir.mkdir()
    write(user_dir, "routing: {escalation_threshold: 0.3}\n")
    env = {"HYBRID_TUI_CONFIG": str(env_file)}
    assert load_config(str(cli), env=env).routing.escalation_threshold == 0.1
    assert load_config(None, env=env).routing.escalation_threshold == 0.2
    assert load_config(None, env={}).routing.escalation_threshold == 0.3
    (user_dir / "config.yaml").unlink()
    assert load_config(None, env={}).source is None


def test_env_var_naming_a_missing_file_is_an_error(tmp_path):
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as err:
        load_config(None, env={"HYBRID_TUI_CONFIG": str(missing)})
    assert str(missing) in str(err.value)
    assert "not found" in str(err.value)


def test_os_environ_is_the_default_env(tmp_path, monkeypatch):
    monkeypatch.setenv("HYBRID_TUI_CONFIG", str(write(tmp_path, "ui: {theme: hybrid-light}\n")))
    assert load_config().ui.theme == "hybrid-light"


# --------------------------------------------------------------------------- OLLAMA_HOST


@pytest.mark.parametrize(
    ("value", "endpoint"),
    [
        ("0.0.0.0:11434", "http://127.0.0.1:11434"),
        ("0.0.0.0", "http://127.0.0.1:11434"),
        ("myhost", "http://myhost:11434"),
        ("myhost:9999", "http://myhost:9999"),
        ("http://box:11434", "http://box:11434"),
        ("http://box", "http://box:80"),
        ("https://box/", "https://box:443"),
        ("[::1]:5000", "http://[::1]:5000"),
        ("::", "http://[::1]:11434"),
    ],
)
def test_ollama_host_forms(value, endpoint):
    assert parse_ollama_host(value) == endpoint
    assert default_config(env={"OLLAMA_HOST": value}).backends["ollama"].endpoint == endpoint


def test_ollama_host_fills_an_omitted_endpoint_only(tmp_path):
    env = {"OLLAMA_HOST": "box:1"}
    implicit = load_config(write(tmp_path, "backends:\n  ollama: {timeout: 9}\n"), env=env)
    assert implicit.backends["ollama"].endpoint == "http://box:1"
    explicit = load_config(
        write(tmp_path, "backends:\n  ollama: {endpoint: 'http://here:2'}\n", "b.yaml"), env=env)
    assert explicit.backends["ollama"].endpoint == "http://here:2"
    assert default_config(env={"OLLAMA_HOST": "  "}).backends["ollama"].endpoint.endswith("11434")


def test_bad_ollama_host_is_a_config_error():
    with pytest.raises(ConfigError) as err:
        default_config(env={"OLLAMA_HOST": "ftp://box"})
    assert "OLLAMA_HOST" in str(err.value)


def test_normalize_endpoint():
    assert normalize_endpoint("HTTP://Box:1234/", kind="openai") == "http://Box:1234"
    assert normalize_endpoint("http://box:11434/v1", kind="ollama") == "http://box:11434/v1"


# --------------------------------------------------------------------------- bad configs

BAD = [
    # (id, file text, substrings the one-line message must contain)
    ("yaml-syntax", "routing:\n  default_provider: [auto\n",
     ["YAML syntax error", "line 3"]),
    ("yaml-tab", "routing:\n\tdefault_provider: auto\n", ["YAML syntax error", "line 2"]),
    ("yaml-duplicate-key", "health:\n  interval: 1\n  interval: 2\n",
     ["duplicate key 'interval'", "line 3"]),
    ("top-list", "- routing\n- backends\n", ["top level must be a mapping", "got a list"]),
    ("top-scalar", "hello\n", ["top level must be a mapping", "got a string ('hello')"]),
    ("unknown-section", "routng:\n  default_provider: auto\n",
     ["unknown key 'routng'", "did you mean 'routing'"]),
    ("unknown-routing-key", "routing:\n  escalation_treshold: 0.5\n",
     ["routing: unknown key 'escalation_treshold'", "did you mean 'escalation_threshold'",
      "line 2"]),
    ("unknown-backend-key", "backends:\n  ollama:\n    timout: 5\n",
     ["backends.ollama: unknown key 'timout'", "did you mean 'timeout'"]),
    ("unknown-key-no-match", "ui:\n  wallpaper: x\n",
     ["ui: unknown key 'wallpaper'", "expected one of: theme"]),
    ("api-key-inline", "backends:\n  lmstudio:\n    api_key: sk-123\n",
     ["unknown key 'api_key'", "did you mean 'api_key_env'"]),
    ("bool-not-number", "backends:\n  ollama:\n    timeout: true\n",
     ["backends.ollama.timeout", "expected a number", "boolean"]),
    ("string-not-number", "health:\n  interval: '30'\n",
     ["health.interval", "expected a number", "string"]),
    ("number-not-bool", "routing:\n  learning_enabled: 1\n",
     ["routing.learning_enabled", "expected true or false", "number"]),
    ("string-not-list", "backends:\n  lmstudio:\n    models: qwen2.5-coder\n",
     ["backends.lmstudio.models", "expected a list of strings", "[qwen2.5-coder]"]),
    ("list-item-not-string", "backends:\n  lmstudio:\n    task_types: [edit, {x: 1}]\n",
     ["backends.lmstudio.task_types[1]", "non-empty string"]),
    ("section-not-mapping", "health: 5\n", ["health", "expected a mapping", "number (5)"]),
    ("backend-not-mapping", "backends:\n  ollama: [1, 2]\n",
     ["backends.ollama", "expected a mapping", "list"]),
    ("backends-a-list", "backends:\n  - lmstudio\n", ["backends", "mapping of name -> backend"]),
    ("backends-empty", "backends: {}\n", ["backends", "no backends configured"]),
    ("all-disabled", "backends:\n  ollama: {enabled: false}\n", ["every backend is disabled"]),
    ("threshold-high", "routing:\n  escalation_threshold: 1.5\n",
     ["routing.escalation_threshold", "between 0 and 1", "1.5"]),
    ("threshold-negative", "routing:\n  escalation_threshold: -0.1\n",
     ["routing.escalation_threshold", "between 0 and 1"]),
    ("threshold-nan", "routing:\n  escalation_threshold: .nan\n", ["finite number"]),
    ("interval-zero", "health:\n  interval: 0\n", ["health.interval", "greater than 0", "0"]),
    ("health-timeout-negative", "health:\n  timeout: -5\n",
     ["health.timeout", "greater than 0", "-5"]),
    ("backend-timeout-zero", "backends:\n  ollama:\n    timeout: 0\n",
     ["backends.ollama.timeout", "greater than 0"]),
    ("max-concurrent-zero", "backends:\n  lmstudio:\n    max_concurrent: 0\n",
     ["backends.lmstudio.max_concurrent", "at least 1"]),
    ("max-concurrent-fraction", "backends:\n  lmstudio:\n    max_concurrent: 1.5\n",
     ["backends.lmstudio.max_concurrent", "whole number"]),
    ("unknown-kind", "backends:\n  box:\n    kind: llama\n    endpoint: http://box\n",
     ["backends.box.kind", "unknown kind 'llama'"]),
    ("kind-server-name", "backends:\n  box:\n    kind: lmstudio\n    endpoint: http://box\n",
     ["backends.box.kind", "unknown kind 'lmstudio'", "did you mean 'openai'"]),
    ("unknown-tier", "backends:\n  ollama:\n    tier: strongest\n",
     ["backends.ollama.tier", "unknown tier 'strongest'", "did you mean 'strong'"]),
    ("unknown-provider", "routing:\n  default_provider: olama\n",
     ["routing.default_provider", "unknown provider 'olama'", "did you mean 'ollama'"]),
    ("provider-not-configured", "routing: {default_provider: lmstudio}\n"
     "backends:\n  ollama: {}\n", ["routing.default_provider", "'lmstudio'"]),
    ("endpoint-no-scheme", "backends:\n  ollama:\n    endpoint: localhost:11434\n",
     ["backends.ollama.endpoint", "no scheme", "did you mean 'http://localhost:11434'"]),
    ("endpoint-ftp", "backends:\n  ollama:\n    endpoint: ftp://box:11434\n",
     ["backends.ollama.endpoint", "http:// or https://"]),
    ("endpoint-bad-port", "backends:\n  ollama:\n    endpoint: http://box:99999\n",
     ["backends.ollama.endpoint", "invalid port"]),
    ("endpoint-no-host", "backends:\n  ollama:\n    endpoint: 'http://:11434'\n",
     ["backends.ollama.endpoint", "no host"]),
    ("endpoint-not-string", "backends:\n  ollama:\n    endpoint: 11434\n",
     ["backends.ollama.endpoint", "expected a string"]),
    ("missing-kind", "backends:\n  box:\n    endpoint: http://box\n",
     ["backends.box", "missing required key 'kind'"]),
    ("missing-endpoint", "backends:\n  box:\n    kind: ollama\n",
     ["backends.box", "missing required key 'endpoint'"]),
    ("reserved-name", "backends:\n  auto:\n    kind: ollama\n    endpoint: http://box\n",
     ["backends.auto", "reserved"]),
    ("bad-name", "backends:\n  'my box':\n    kind: ollama\n    endpoint: http://box\n",
     ["invalid backend name 'my box'"]),
    ("api-key-env-holds-key", "backends:\n  lmstudio:\n    api_key_env: sk-abc123-secret\n",
     ["backends.lmstudio.api_key_env", "NAME of an environment variable"]),
    ("theme-empty", "ui:\n  theme: ''\n", ["ui.theme", "must not be empty"]),
    ("key-not-word", "routing:\n  1: x\n", ["routing", "keys must be words"]),
]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_bad_config_gives_one_clear_line(tmp_path, text, expected):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(path, env={})
    message = str(err.value)
    assert message.startswith(f"{path}: "), message
    assert "\n" not in message
    assert len(message) < len(str(path)) + 160, message
    for part in expected:
        assert part in message, (part, message)


def test_planted_key_is_never_echoed(tmp_path):
    path = write(tmp_path, "backends:\n  lmstudio:\n    api_key_env: sk-PLANTED-987\n")
    with pytest.raises(ConfigError) as err:
        load_config(path, env={})
    assert "PLANTED" not in str(err.value)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"routing:\x00\n", "NUL bytes"),
        (b"routing:\n  default_provider: \xff\xfe\n", "not UTF-8"),
    ],
    ids=["nul-bytes", "not-utf8"],
)
def test_bad_bytes(tmp_path, content, expected):
    path = write(tmp_path, content)
    with pytest.raises(ConfigError) as err:
        load_config(path, env={})
    assert str(err.value).startswith(str(path))
    assert expected in str(err.value)


def test_missing_file_named_by_option(tmp_path):
    missing = tmp_path / "missing.yaml"
    with pytest.raises(ConfigError) as err:
        load_config(missing, env={})
    assert str(err.value) == f"{missing}: config file not found"


def test_directory_is_not_a_config(tmp_path):
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path, env={})
    assert "is a directory" in str(err.value)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root reads any file")
def test_unreadable_file(tmp_path):
    path = write(tmp_path, "ui: {theme: x}\n")
    path.chmod(0)
    try:
        with pytest.raises(ConfigError) as err:
            load_config(path, env={})
        assert "cannot read" in str(err.value)
    finally:
        path.chmod(0o600)


def test_config_error_is_a_hybrid_error_with_parts(tmp_path):
    path = write(tmp_path, "health:\n  interval: 0\n")
    with pytest.raises(HybridError) as err:
        load_config(path, env={})
    assert isinstance(err.value, ConfigError)
    assert err.value.path == str(path)
    assert err.value.key == "health.interval"


def test_config_objects_are_frozen():
    config = default_config(env={})
    assert isinstance(config, Config)
    with pytest.raises(AttributeError):
        config.backends["ollama"].timeout = 1  # type: ignore[misc]
    assert isinstance(config.backends["ollama"], BackendConfig)


@pytest.mark.parametrize(
    ("endpoint", "insecure"),
    [("http://localhost:1234", False), ("http://127.0.0.5:1", False), ("http://[::1]:2", False),
     ("https://gpu-box", False), ("http://gpu-box:11434", True), ("http://10.0.0.2", True)],
)
def test_insecure_endpoint(endpoint, insecure):
    assert insecure_endpoint(endpoint) is insecure


def test_credentials_in_endpoint_are_refused_without_echo(tmp_path):
    path = write(tmp_path, "backends:\n  ollama:\n    endpoint: http://me:s3cr3t@box:11434\n")
    with pytest.raises(ConfigError) as err:
        load_config(path, env={})
    assert "api_key_env" in str(err.value)
    assert "s3cr3t" not in str(err.value)
