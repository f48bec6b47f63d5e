"""Fixtures for the opt-in ``real_server`` tests (``pytest -m real_server``).

One llama.cpp server (llama-cpp-python, CPU) serves the tiny models of ``tiny_model.py`` for
the whole session, started as its users start it (defaults apart from a small ``n_ctx``); a
second one, started only when a test asks, queues concurrent requests instead of interrupting
them (``interrupt_requests: false``). The LiteLLM fixtures live in ``test_litellm.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hybrid_tui.config import BackendConfig, Config, HealthConfig, RoutingConfig
from tests.real_server import servers

#: small, so a prompt of a few hundred characters overflows it (one character ~ one token)
N_CTX = 512


@pytest.fixture(scope="session")
def real_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("real_server")


@pytest.fixture(scope="session")
def tiny_models(real_dir: Path) -> Path:
    """The tiny GGUF models, written for this session."""
    reason = servers.missing("gguf", "numpy")
    if reason:
        pytest.skip(reason)
    out = real_dir / "models"
    servers.make_models(out)
    return out


def _llama(real_dir: Path, models: Path, **server: object) -> Iterator[servers.ServerProcess]:
    reason = servers.missing("llama_cpp.server")
    if reason:
        pytest.skip(reason)
    proc = servers.start_llama(real_dir, models, N_CTX, **server)
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture(scope="session")
def llama(real_dir: Path, tiny_models: Path) -> Iterator[servers.ServerProcess]:
    """llama-cpp-python's server as started by hand: it interrupts a running reply when
    another request arrives (its default ``interrupt_requests: true``)."""
    yield from _llama(real_dir, tiny_models)


@pytest.fixture(scope="session")
def llama_queueing(real_dir: Path, tiny_models: Path) -> Iterator[servers.ServerProcess]:
    """The same server with ``interrupt_requests: false``: requests wait their turn."""
    yield from _llama(real_dir, tiny_models, interrupt_requests=False)


def llama_config(
    url: str, model: str = "tiny-coder", *, max_concurrent: int = 1, timeout: float = 60.0
) -> Config:
    """A config whose only backend, ``llama``, is the llama.cpp server at ``url``."""
    backend = BackendConfig(
        name="llama",
        kind="openai",
        endpoint=url,
        tier="fast",
        models=(model,),
        max_concurrent=max_concurrent,
        timeout=timeout,
    )
    return Config(
        routing=RoutingConfig(escalation_threshold=0.0, learning_enabled=False),
        backends={"llama": backend},
        health=HealthConfig(interval=30.0, timeout=10.0),
    )


def llama_yaml(path: Path, url: str, model: str = "tiny-coder") -> Path:
    """The same config as a file, for the CLI."""
    path.write_text(
        "routing:\n  escalation_threshold: 0\n  learning_enabled: false\n"
        "backends:\n"
        f"  llama:\n    kind: openai\n    endpoint: {url}\n    tier: fast\n"
        f"    models: [{model}]\n    max_concurrent: 1\n    timeout: 60\n"
        "health:\n  timeout: 10\n",
        encoding="utf-8",
    )
    return path
