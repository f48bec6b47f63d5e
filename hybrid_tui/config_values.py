"""Value helpers for the configuration: endpoint URLs, ``OLLAMA_HOST``, and how a wrong
value is described in a message.

Kept apart from :mod:`hybrid_tui.config` (which re-exports them) so the schema module stays
about the schema. Each helper raises ``ValueError`` with a one-line reason; the config
validator turns that into a :class:`~hybrid_tui.errors.ConfigError` naming the key.
"""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlsplit


def describe(value: Any) -> str:
    """A short phrase for a value of the wrong type: ``a string ('10')``."""
    if value is None or isinstance(value, bool):
        return "nothing (null)" if value is None else f"a boolean ({str(value).lower()})"
    if isinstance(value, int | float):
        return f"a number ({value})"
    if isinstance(value, str):
        return f"a string ({value if len(value) <= 40 else value[:37] + '...'!r})"
    if isinstance(value, dict):
        return "a mapping"
    return "a list" if isinstance(value, list) else f"a {type(value).__name__}"


def normalize_endpoint(value: str, *, kind: str = "openai") -> str:
    """An http(s) base URL without a trailing ``/`` (nor ``/v1`` for OpenAI-compatible
    servers, which the client adds itself). Raises ValueError with a one-line reason."""
    value = value.strip()
    if any(c.isspace() for c in value):
        raise ValueError(f"must not contain spaces: {value!r}")
    if "://" not in value:
        raise ValueError(f"no scheme in {value!r} (did you mean 'http://{value}'?)")
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https"):
        raise ValueError(f"must be an http:// or https:// URL, got {value!r}")
    try:
        host, _port = parts.hostname, parts.port
    except ValueError:
        raise ValueError(f"invalid port in {value!r}") from None
    if not host:
        raise ValueError(f"no host in {value!r}")
    if parts.username is not None or parts.password is not None:
        # not echoed: it holds a secret
        raise ValueError("must not contain a user name or password (use api_key_env)")
    if parts.query or parts.fragment:
        raise ValueError(f"must not have a query or fragment: {value!r}")
    base = f"{parts.scheme.lower()}://{parts.netloc}{parts.path}".rstrip("/")
    if kind == "openai" and base.endswith("/v1"):
        base = base[: -len("/v1")]
    return base


def insecure_endpoint(endpoint: str) -> bool:
    """True for plain http to another machine: prompts and replies travel unencrypted."""
    parts = urlsplit(endpoint)
    return parts.scheme == "http" and not is_loopback_host(parts.hostname or "")


def is_loopback_host(host: str) -> bool:
    """True for this machine by name or address: ``localhost`` (and ``*.localhost``),
    127.0.0.0/8, ``::1`` and IPv4-mapped 127.x addresses. No name is looked up."""
    host = host.lower().strip("[]").rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def parse_ollama_host(value: str) -> str:
    """``OLLAMA_HOST`` as Ollama reads it: scheme optional (http), port optional (11434, or
    80/443 when a scheme is given), and a bind-all address means this machine."""
    value = value.strip().rstrip("/")
    scheme, sep, rest = value.partition("://")
    default_port = 11434
    if not sep:
        scheme, rest = "http", value
    elif scheme.lower() not in ("http", "https"):
        raise ValueError(f"must be host[:port] or an http(s) URL, got {value!r}")
    else:
        default_port = 443 if scheme.lower() == "https" else 80
    if rest.count(":") > 1 and "[" not in rest:  # a bare IPv6 address such as "::"
        rest = f"[{rest}]"
    try:
        parts = urlsplit(f"{scheme.lower()}://{rest}")
        host, port = parts.hostname, parts.port
    except ValueError:
        raise ValueError(f"invalid host or port in {value!r}") from None
    if host in (None, "", "0.0.0.0", "::"):
        host = "127.0.0.1" if host != "::" else "::1"
    netloc = f"[{host}]" if ":" in host else host
    path = parts.path.rstrip("/")
    return f"{parts.scheme}://{netloc}:{port or default_port}{path}"
