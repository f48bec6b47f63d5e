"""`hybrid-tui fine-tune` against the simulated Ollama: it reads a small project, sends
POST /api/create with the new name, the base model, the profile as system prompt and the
parameters, prints the server's status lines, uploads a LoRA adapter as a blob first when
one is given, and the new model then shows up in `models`."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hybrid_tui.sim import SimKnobs, SimServer, SimThread
from tests.support import dead_url

TIMEOUT = 60


@pytest.fixture
def ollama():
    server = SimServer("ollama", SimKnobs(tokens_per_s=None,
                                          models=["codellama:7b", "codellama:34b"]))
    thread = SimThread([server])
    thread.start()
    try:
        yield server
    finally:
        thread.stop()


@pytest.fixture
def project(tmp_path):
    root = tmp_path / "src"
    (root / "shop").mkdir(parents=True)
    (root / "shop" / "orders.py").write_text(
        "def parse_order(line: str) -> dict:\n"
        '    """Turn one CSV line into an order."""\n'
        "    customer, item = line.split(',')\n"
        '    return {"customer": customer, "item": item}\n'
    )
    (root / "shop" / "report.py").write_text(
        "from shop.orders import parse_order\n\n\n"
        "def summarize(lines: list[str]) -> int:\n"
        '    """Count the orders."""\n'
        "    return len([parse_order(x) for x in lines])\n"
    )
    (root / ".gitignore").write_text("private/\n")
    (root / "private").mkdir()
    (root / "private" / "keys.py").write_text("API_KEY = 'do-not-send'\n")
    (root / "icon.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(32))
    return root




def config_for(tmp_path: Path, ollama_url: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(f"backends:\n  lmstudio:\n    endpoint: {dead_url()}\n"
                    f"  ollama:\n    endpoint: {ollama_url}\n", encoding="utf-8")
    return path


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hybrid_tui", *args], capture_output=True,
                          text=True, timeout=TIMEOUT,
                          env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200"})


def test_fine_tune_creates_a_profile_model_and_prints_progress(ollama, project, tmp_path):
    config = config_for(tmp_path, ollama.url)
    done = cli("fine-tune", "--config", str(config), "--model", "codellama:7b", "--directory",
               str(project), "--new-model-name", "my-project-model")
    assert done.returncode == 0, done.stderr
    body = ollama.routes.create.created[-1]
    assert body["model"] == "my-project-model"
    assert body["from"] == "codellama:7b"
    assert "parse_order" in body["system"] and "do-not-send" not in body["system"]
    assert body["parameters"] == {"temperature": 0.2}
    assert "adapters" not in body
    err = done.stderr
    assert "read 3 text files" in err and "1 ignored" in err and "1 binary" in err
    assert "ollama: writing manifest" in err and "ollama: success" in err
    assert "no weights are trained" in err
    models = json.loads(cli("models", "--config", str(config), "--json").stdout)
    names = [m["name"] for b in models["backends"] if b["name"] == "ollama" for m in b["models"]]
    assert "my-project-model:latest" in names


def test_an_adapter_is_uploaded_as_a_blob_and_referenced(ollama, project, tmp_path):
    adapter = tmp_path / "shop-lora.gguf"
    adapter.write_bytes(b"GGUF" + bytes(range(256)) * 64)
    digest = "sha256:" + hashlib.sha256(adapter.read_bytes()).hexdigest()
    config = config_for(tmp_path, ollama.url)
    done = cli("fine-tune", "--config", str(config), "--model", "codellama:7b", "--directory",
               str(project), "--new-model-name", "shop:v1", "--adapter", str(adapter),
               "--parameter", "num_ctx=8192", "--json")
    assert done.returncode == 0, done.stderr
    assert ollama.routes.create.blobs == {digest: adapter.stat().st_size}
    body = ollama.routes.create.created[-1]
    assert body["adapters"] == {"shop-lora.gguf": digest}
    assert body["parameters"] == {"temperature": 0.2, "num_ctx": 8192}
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["weights_trained"] is True and summary["statuses"][-1] == "success"
    assert f"using existing layer {digest}" in summary["statuses"]
    # a second run finds the blob already there and does not upload it again
    uploads = sum(1 for h in ollama.hits if h.startswith("POST /api/blobs/"))
    again = cli("fine-tune", "--config", str(config), "--model", "codellama:7b", "--directory",
                str(project), "--new-model-name", "shop:v2", "--adapter", str(adapter))
    assert again.returncode == 0, again.stderr
    assert sum(1 for h in ollama.hits if h.startswith("POST /api/blobs/")) == uploads
    assert "already has it" in again.stderr


def test_dataset_out_writes_chat_jsonl(ollama, project, tmp_path):
    out = tmp_path / "train" / "set.jsonl"
    done = cli("fine-tune", "--config", str(config_for(tmp_path, ollama.url)), "--model",
               "codellama:7b", "--directory", str(project), "--new-model-name", "m1",
               "--dataset-out", str(out))
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows and all(r["messages"][0]["role"] == "system" for r in rows)
    assert any("def parse_order" in r["messages"][2]["content"] for r in rows)
    assert f"to {out}" in done.stderr


def test_a_missing_base_model_exits_1_with_the_pull_command(ollama, project, tmp_path):
    done = cli("fine-tune", "--config", str(config_for(tmp_path, ollama.url)), "--model",
               "llama9:1b", "--directory", str(project), "--new-model-name", "m2")
    assert done.returncode == 1
    assert "ollama pull llama9:1b" in done.stderr
    assert ollama.routes.create.created == []


def test_ollama_down_exits_1_naming_ollama_serve(project, tmp_path):
    done = cli("fine-tune", "--config", str(config_for(tmp_path, dead_url())), "--model",
               "codellama:7b", "--directory", str(project), "--new-model-name", "m3")
    assert done.returncode == 1
    assert "ollama serve" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--new-model-name", "bad name!"], "invalid model name"),
        (["--new-model-name", "ok", "--adapter", "{tmp}/nope.gguf"], "not found"),
        (["--new-model-name", "ok", "--adapter", "{tmp}/fake.gguf"], "not a GGUF file"),
        (["--new-model-name", "ok", "--backend", "lmstudio"], "Ollama"),
        (["--new-model-name", "ok", "--parameter", "novalue"], "KEY=VALUE"),
    ],
)
def test_usage_errors_exit_2(ollama, project, tmp_path, extra, words):
    (tmp_path / "fake.gguf").write_bytes(b"not a gguf file")
    args = [a.replace("{tmp}", str(tmp_path)) for a in extra]
    done = cli("fine-tune", "--config", str(config_for(tmp_path, ollama.url)), "--model",
               "codellama:7b", "--directory", str(project), *args)
    assert done.returncode == 2, done.stderr
    assert words in done.stderr
    assert ollama.routes.create.created == []


def test_help_says_weights_are_trained_only_with_an_adapter():
    done = cli("fine-tune", "--help")
    assert done.returncode == 0
    assert "Weights are trained ONLY when --adapter" in done.stdout


async def test_create_errors_from_the_server_become_one_clear_error(ollama_sim, make_config):
    import httpx

    from hybrid_tui.backends import make_backend
    from hybrid_tui.errors import BackendError
    from hybrid_tui.finetune.create import create_body, create_model

    config = make_config(ollama=ollama_sim.url)
    async with httpx.AsyncClient() as client:
        backend = make_backend(config.backends["ollama"], client)
        missing_blob = create_body("x1", "codellama:34b", adapters={"a.gguf": "sha256:" + "0" * 64})
        missing_base = create_body("x2", "nope:1b")
        for body, words in ((missing_blob, "not found"), (missing_base, "does not exist")):
            statuses = []
            with pytest.raises(BackendError) as caught:
                async for status in create_model(backend, body):
                    statuses.append(status)
            assert "could not create the model" in caught.value.message
            assert words in caught.value.message
        assert ollama_sim.knobs.models is not None
        assert not any(m.startswith(("x1", "x2")) for m in ollama_sim.knobs.models)
        bad_digest = await client.post(f"{ollama_sim.url}/api/blobs/sha256:{'1' * 64}",
                                       content=b"GGUF data")
        assert bad_digest.status_code == 400
        assert (await client.head(f"{ollama_sim.url}/api/blobs/sha256:{'1' * 64}")).status_code \
            == 404


#: every secret the leaky project holds; none may reach the server or the training set
LEAKS = {
    ".env": "ENV-FILE-SECRET-4417",
    ".env.production": "ENV-PROD-SECRET-2290",
    "deploy/server.pem": "PEM-FILE-SECRET-7781",
    "deploy/tls.key": "KEY-FILE-SECRET-5532",
    "id_rsa": "SSH-KEY-SECRET-9904",
    ".netrc": "NETRC-SECRET-3318",
    ".npmrc": "NPMRC-SECRET-6620",
    ".pypirc": "PYPIRC-SECRET-1145",
    "config/credentials.json": "CREDENTIALS-SECRET-8876",
    ".aws/config": "AWS-DIR-SECRET-0051",
}
IN_CODE = ("hunter2-PROD", "AKIAIOSFODNN7EXAMPLE", "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
           "sk-proj-4f9Qx2LmTz8Rk1Vb7Nc3", "q8Zr3Xk9LmP2vT7wY4bN6cJ1hF5dG0sA", "pa55word",
           "MIIEowIBAAKCAQEAsecretkeybody", "tok-7741")


@pytest.fixture
def leaky(project):
    """The project, plus one file of each kind that holds secrets and code full of keys."""
    for name, secret in LEAKS.items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(f"{secret}\n")
    (project / "shop" / "db.py").write_text(
        "AWS_KEY = 'AKIAIOSFODNN7EXAMPLE'\n"
        "GITHUB = 'ghp_16C7e42F292c6912E7710c838347Ae178B4a'\n"
        "OPENAI = 'sk-proj-4f9Qx2LmTz8Rk1Vb7Nc3'\n"
        "BLOB = 'q8Zr3Xk9LmP2vT7wY4bN6cJ1hF5dG0sA'\n"
        "URL = 'postgres://shop:pa55word@db.local/shop'\n"
        "PEM = '''\n-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAsecretkeybody\n"
        "-----END RSA PRIVATE KEY-----\n'''\n\n\n"
        "def connect(host: str, password='hunter2-PROD') -> None:\n"
        '    """Open the shop database."""\n'
        "    return None\n" + "".join(f"\n\ndef helper_{i}(x: int) -> int:\n    return x + {i}\n"
                                      for i in range(12)))  # fmt: skip
    (project / "shop" / "client.js").write_text(
        "export function login(user, token = 'tok-7741') {\n  return user;\n}\n")
    return project


def test_no_secret_reaches_the_server_or_the_training_set(ollama, leaky, tmp_path):
    out = tmp_path / "train" / "set.jsonl"
    done = cli("fine-tune", "--config", str(config_for(tmp_path, ollama.url)), "--model",
               "codellama:7b", "--directory", str(leaky), "--new-model-name", "shop-safe",
               "--dataset-out", str(out), "--json")
    assert done.returncode == 0, done.stderr
    sent = json.dumps(ollama.routes.create.created[-1], ensure_ascii=False)
    written = out.read_text(encoding="utf-8")
    assert "def connect(host: str, password=...) -> None" in sent
    assert "parse_order" in sent and "def connect" in written
    for secret in [*LEAKS.values(), *IN_CODE]:
        assert secret not in sent, secret
        assert secret not in written, secret
        assert secret not in done.stdout + done.stderr, secret
    (report,) = [ln for ln in done.stderr.splitlines() if ln.startswith("skipped ")]
    assert report.startswith("skipped 10 files that hold secrets: .aws/, .env, .env.production,")
    assert "redacted 10 lines that look like keys: shop/client.js:1 (secret value)" in report
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert sorted(summary["secret_files"]) == sorted([".aws/", *(n for n in LEAKS
                                                                 if n != ".aws/config")])
    assert len(summary["redacted"]) == 10
    assert out.stat().st_mode & 0o777 == 0o600


def test_dry_run_prints_the_exact_body_and_sends_nothing(ollama, leaky, tmp_path):
    config = config_for(tmp_path, ollama.url)
    args = ("fine-tune", "--config", str(config), "--model", "codellama:7b", "--directory",
            str(leaky), "--new-model-name", "shop-dry", "--parameter", "num_ctx=4096")
    out = tmp_path / "dry.jsonl"
    dry = cli(*args, "--dry-run", "--dataset-out", str(out))
    assert dry.returncode == 0, dry.stderr
    assert ollama.hits == [] and ollama.routes.create.created == []
    assert out.stat().st_mode & 0o777 == 0o600 and "def connect" in out.read_text()
    assert "nothing was sent" in dry.stderr and "skipped 10 files that hold secrets" in dry.stderr
    shown = json.loads(dry.stdout)
    assert shown["parameters"] == {"temperature": 0.2, "num_ctx": 4096}
    real = cli(*args)
    assert real.returncode == 0, real.stderr
    assert ollama.routes.create.created == [shown]  # byte for byte the same request


async def test_create_error_bodies_never_show_the_api_key(ollama_sim, make_config, monkeypatch):
    from dataclasses import replace

    import httpx

    from hybrid_tui.backends import make_backend
    from hybrid_tui.errors import BackendError
    from hybrid_tui.finetune.create import create_body, create_model
    from hybrid_tui.sim import Fault

    key = "sk-live-9aQ2mZx81LpT0"
    monkeypatch.setenv("SHOP_OLLAMA_KEY", key)
    config = make_config(ollama=ollama_sim.url)
    cfg = replace(config.backends["ollama"], api_key_env="SHOP_OLLAMA_KEY")
    ollama_sim.knobs.fault = Fault("status", status=401, message=f"invalid API key {key}")
    async with httpx.AsyncClient() as client:
        backend = make_backend(cfg, client)
        with pytest.raises(BackendError) as caught:
            async for _status in create_model(backend, create_body("x3", "codellama:34b")):
                pass
    assert key not in str(caught.value) and "[redacted]" in caught.value.message
    assert "HTTP 401" in caught.value.message
