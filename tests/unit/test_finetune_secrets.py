"""fine-tune keeps secrets out: files that hold them are not read, key-like values are
redacted as text is read, signatures never show default values."""

from __future__ import annotations

import pytest

from hybrid_tui.finetune.profile import build_profile
from hybrid_tui.finetune.scan import scan
from hybrid_tui.finetune.secrets import is_secret_file, redact_line, redact_text, report


@pytest.mark.parametrize("name", [
    ".env", ".env.local", ".env.production", "prod.env", "server.pem", "tls.key", "cert.p12",
    "id_rsa", "id_ed25519", "id_ecdsa.pub", "id_work", ".netrc", ".npmrc", ".pypirc",
    ".git-credentials", "credentials", "credentials.json", "aws.credentials",
    "client_secret_123.apps.json", "secrets.yaml", ".pgpass", ".htpasswd",
])  # fmt: skip
def test_files_that_hold_secrets_by_name(name):
    assert is_secret_file(name)


@pytest.mark.parametrize("name", [
    "environment.py", "id_utils.py", "keyboard.py", "keys.py", "README.md", "settings.py",
    "env.py", "tokenizer.json", "credentials_test.py",
])  # fmt: skip
def test_ordinary_files_are_read(name):
    assert not is_secret_file(name)


def test_directories_of_credentials_are_not_entered():
    assert is_secret_file(".ssh", is_dir=True) and is_secret_file(".aws", is_dir=True)
    assert not is_secret_file("src", is_dir=True) and not is_secret_file(".env", is_dir=True)


KEY_LINES = [
    ('AWS = "AKIAIOSFODNN7EXAMPLE"', "AKIAIOSFODNN7EXAMPLE", "AWS access key"),
    ("token: ghp_16C7e42F292c6912E7710c838347Ae178B4a", "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
     "GitHub token"),
    ("OPENAI = 'sk-proj-4f9Qx2LmTz8Rk1Vb7Nc3'", "sk-proj-4f9Qx2LmTz8Rk1Vb7Nc3", "API key"),
    ("def connect(password='hunter2-PROD'):", "hunter2-PROD", "secret value"),
    ('    "api_key": "c0ffee-1234",', "c0ffee-1234", "secret value"),
    ("DB = 'postgres://app:pa55word@db.local/shop'", "pa55word", "password in a URL"),
    ("blob = 'q8Zr3Xk9LmP2vT7wY4bN6cJ1hF5dG0sA'", "q8Zr3Xk9LmP2vT7wY4bN6cJ1hF5dG0sA",
     "high-entropy token"),
    ("slack = 'xoxb-1234567890-abcdefghij'", "xoxb-1234567890-abcdefghij", "Slack token"),
    ("conn(accessKey='AB12cd34')", "AB12cd34", "secret value"),
    ("JWT = 'eyJhbGciOiJIUzI1.eyJzdWIiOiIxMjM0.SflKxwRJSMeKKF2QT4fw'", "SflKxwRJSMeKKF2QT4fw",
     "JSON web token"),
]  # fmt: skip


@pytest.mark.parametrize(("line", "secret", "kind"), KEY_LINES)
def test_lines_that_look_like_keys_are_redacted(line, secret, kind):
    clean, found = redact_line(line, "Python")
    assert secret not in clean and "[redacted]" in clean
    assert found == kind


@pytest.mark.parametrize("line", [
    "def parse_order(line: str, sep: str = ',') -> dict:",
    "max_tokens = 256",
    'tokenizer = "bert-base-uncased"',
    "token = make_token(user)",
    "digest = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'",
    "class TestTheDataDirectoryAndEveryDatabaseFileArePrivate:",
    "see https://github.com/ollama/ollama/blob/main/docs/api.md",
])  # fmt: skip
def test_ordinary_code_is_left_alone(line):
    assert redact_line(line, "Python") == (line, None)


def test_whole_files_are_redacted_as_each_line_would_be():
    # whole files are first searched for what a key needs, then only those lines are looked at
    lines = ["x = 1", *(line for line, _s, _k in KEY_LINES), "é = 'ünïcode'", "y = 2"]
    clean, found = redact_text("\n".join(lines), "f.py", "Python")
    expected = [redact_line(line, "Python") for line in lines]
    assert clean.split("\n") == [text for text, _kind in expected]
    assert [(r.line, r.kind) for r in found] == [
        (n, kind) for n, (_text, kind) in enumerate(expected, start=1) if kind is not None]


def test_bare_values_are_redacted_in_config_files_only():
    assert redact_line("export API_KEY=abc123def", "Shell")[0] == "export API_KEY=[redacted]"
    assert redact_line("password: hunter2", "YAML")[0] == "password: [redacted]"
    assert redact_line("api_key = load_key()", "Python")[1] is None


def test_a_private_key_block_is_redacted_whole():
    text = ("KEY = '''\n-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\nabc\n"
            "-----END RSA PRIVATE KEY-----\n'''\nx = 1")
    clean, found = redact_text(text, "k.py", "Python")
    assert "MIIE" not in clean and "abc" not in clean and clean.endswith("'''\nx = 1")
    assert [(r.line, r.kind) for r in found] == [(n, "private key") for n in range(2, 6)]


def test_the_report_names_what_was_kept_out():
    _clean, found = redact_text("a = 'AKIAIOSFODNN7EXAMPLE'\nb = 1\n", "app.py", "Python")
    line = report([".env", "id_rsa", "x.pem"], found)
    assert line == ("skipped 3 files that hold secrets: .env, id_rsa, x.pem; redacted 1 line "
                    "that looks like a key: app.py:1 (AWS access key)")
    many = report([f"f{i}.pem" for i in range(7)], [])
    assert many.endswith("redacted 0 lines that look like keys") and "… (2 more)" in many


def test_the_profile_shows_no_default_values(tmp_path):
    (tmp_path / "db.py").write_text(
        "def connect(host: str, port: int = 5432, *, user='admin', debug=False,"
        " timeout=None) -> None:\n    '''Open it.'''\n")
    (tmp_path / "api.js").write_text("export function login(user, pin = '8812', retries = 3) {}\n")
    result = scan(tmp_path)
    text = build_profile(result).text
    assert "def connect(host: str, port: int=..., *, user=..., debug=False, timeout=None)" in text
    assert "export function login(user, pin = ..., retries = ...)" in text
    assert "5432" not in text and "admin" not in text and "8812" not in text
