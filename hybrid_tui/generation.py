"""Generation settings: sampling options, the system prompt and the think setting.

Per backend they come from the config (``backends.NAME.options``, ``system_prompt``,
``think``); a chat may override any of them (the TUI's chat settings). A value left as None
means "not set": the next layer down decides, and at the bottom the server's own default
does (nothing is sent). :meth:`ChatSettings.over` stacks a chat's override on a backend's
settings.

The checks here are the one definition of what a valid value is: the config validator turns
their :class:`OptionError` into a one-line config error naming the key, and a settings screen
can use the same functions on what a user types. No textual, no I/O.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from hybrid_tui.config_values import describe

#: ``think`` levels besides true/false (Ollama's ``think``, OpenAI's ``reasoning_effort``)
THINK_LEVELS = ("low", "medium", "high")
#: options only an Ollama server takes per request (LM Studio sets them when it loads a model)
OLLAMA_ONLY = ("num_ctx", "keep_alive")

TEMPERATURE_MAX = 2.0
MAX_TOKENS_MAX = 1_000_000
NUM_CTX_MIN, NUM_CTX_MAX = 256, 16_777_216
SEED_MAX = 2**63 - 1
MAX_STOP = 16
#: Go durations as Ollama reads ``keep_alive``: "5m", "1h30m", "90s", "-1m"
_DURATION = re.compile(r"[-+]?(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+")


class OptionError(ValueError):
    """A bad setting: ``key`` names it (``temperature``, ``stop[1]``), ``problem`` says why."""

    def __init__(self, key: str, problem: str) -> None:
        self.key = key
        self.problem = problem
        super().__init__(f"{key}: {problem}")


@dataclass(frozen=True, slots=True)
class GenerationOptions:
    """Sampling and loading options; None leaves the value to the server."""

    #: 0 (always the likeliest token) .. 2 (very random)
    temperature: float | None = None
    #: nucleus sampling: only the tokens making up this share of the probability (0 < p <= 1)
    top_p: float | None = None
    #: the most tokens one reply may have (Ollama ``num_predict``)
    max_tokens: int | None = None
    #: a fixed seed makes a reply repeatable on the same server and model
    seed: int | None = None
    #: the reply ends before any of these strings
    stop: tuple[str, ...] | None = None
    #: Ollama only: the context window the model is loaded with, in tokens
    num_ctx: int | None = None
    #: Ollama only: how long the model stays in memory after a reply ("5m", seconds, -1 =
    #: always, 0 = unload at once)
    keep_alive: str | float | None = None

    def over(self, override: GenerationOptions) -> GenerationOptions:
        """These options with every value ``override`` sets put in their place."""
        changed = {f.name: getattr(override, f.name) for f in fields(override)
                   if getattr(override, f.name) is not None}
        if not changed:
            return self
        return GenerationOptions(**{**self.values(), **changed})

    def values(self) -> dict[str, Any]:
        """The values that are set, by name, in field order."""
        return {f.name: getattr(self, f.name) for f in fields(self)
                if getattr(self, f.name) is not None}


OPTION_KEYS = tuple(f.name for f in fields(GenerationOptions))


@dataclass(frozen=True, slots=True)
class ChatSettings:
    """What a chat asks of a backend besides the messages."""

    options: GenerationOptions = field(default_factory=GenerationOptions)
    #: None: the built-in system prompt; "": no system prompt at all
    system_prompt: str | None = None
    #: None: the server's default; True/False; or one of :data:`THINK_LEVELS`
    think: bool | str | None = None

    def over(self, override: ChatSettings | None) -> ChatSettings:
        """These settings with a chat's ``override`` on top (its None values keep ours)."""
        if override is None:
            return self
        return ChatSettings(
            options=self.options.over(override.options),
            system_prompt=(override.system_prompt if override.system_prompt is not None
                           else self.system_prompt),
            think=override.think if override.think is not None else self.think,
        )

    def describe(self) -> list[tuple[str, str]]:
        """The values in force as (name, value) rows for a view: every option that is set,
        the system prompt (its first line, or "built-in" / "none") and think."""
        rows = [(name, _shown(value)) for name, value in self.options.values().items()]
        if self.system_prompt is None:
            prompt = "built-in"
        elif not self.system_prompt:
            prompt = "none"
        else:
            first = self.system_prompt.splitlines()[0]
            prompt = first if len(first) <= 60 else first[:59] + "…"
        think = "server default" if self.think is None else _shown(self.think)
        return [*rows, ("system prompt", prompt), ("think", think)]

    def request_options(self) -> dict[str, Any]:
        """The options a backend's ``stream_chat`` takes (it maps them onto its protocol):
        every set option, and ``think`` when set."""
        out = self.options.values()
        if "stop" in out:
            out["stop"] = list(out["stop"])
        if self.think is not None:
            out["think"] = self.think
        return out


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, tuple):
        return ", ".join(repr(v) for v in value)
    return f"{value:g}" if isinstance(value, float) else str(value)


# --------------------------------------------------------------------------- checks


def _number(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise OptionError(key, f"expected a number, got {describe(value)}")
    if not math.isfinite(value):
        raise OptionError(key, f"must be a finite number, got {value}")
    return float(value)


def _whole(key: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise OptionError(key, f"expected a whole number, got {describe(value)}")
    if not low <= value <= high:
        raise OptionError(key, f"must be between {low:,} and {high:,}, got {value:,}")
    return value


def check_option(key: str, value: Any) -> Any:
    """``value`` as option ``key`` takes it (``stop`` as a tuple); OptionError if it is of
    the wrong type, out of range, or ``key`` is no option."""
    if key == "temperature":
        number = _number(key, value)
        if not 0 <= number <= TEMPERATURE_MAX:
            raise OptionError(key, f"must be between 0 and {TEMPERATURE_MAX:g}, got {value}")
        return number
    if key == "top_p":
        number = _number(key, value)
        if not 0 < number <= 1:
            raise OptionError(key, f"must be greater than 0 and at most 1, got {value}")
        return number
    if key == "max_tokens":
        return _whole(key, value, 1, MAX_TOKENS_MAX)
    if key == "seed":
        return _whole(key, value, 0, SEED_MAX)
    if key == "num_ctx":
        return _whole(key, value, NUM_CTX_MIN, NUM_CTX_MAX)
    if key == "stop":
        return _stop(value)
    if key == "keep_alive":
        return _keep_alive(value)
    raise OptionError(key, f"unknown option (expected one of: {', '.join(OPTION_KEYS)})")


def _stop(value: Any) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise OptionError("stop", f"expected a list of strings, got {describe(value)}")
    if len(items) > MAX_STOP:
        raise OptionError("stop", f"at most {MAX_STOP} stop strings, got {len(items)}")
    for i, item in enumerate(items):
        if not isinstance(item, str) or not item:
            raise OptionError(f"stop[{i}]", f"expected a non-empty string, got {describe(item)}")
    return tuple(items)


def _keep_alive(value: Any) -> str | float:
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("-+").replace(".", "", 1).isdigit():
            return float(text)  # Ollama reads a bare number as seconds
        if _DURATION.fullmatch(text):
            return text
        raise OptionError("keep_alive", f"expected a duration such as 5m, 1h or 30s, or a "
                          f"number of seconds, got {describe(value)}")
    return _number("keep_alive", value)


def check_think(value: Any) -> bool | str:
    """``think`` as given: true, false or a level; OptionError for anything else."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in THINK_LEVELS:
        return value.strip().lower()
    raise OptionError("think", f"expected true, false, {', '.join(THINK_LEVELS)}; got "
                      f"{describe(value)}")


def options_from(data: Mapping[str, Any]) -> GenerationOptions:
    """Options from a mapping of key -> raw value (None values are left unset); raises
    OptionError for the first bad key or value."""
    clean: dict[str, Any] = {}
    for key, value in data.items():
        if not isinstance(key, str) or key not in OPTION_KEYS:
            raise OptionError(str(key), f"unknown option (expected one of: "
                              f"{', '.join(OPTION_KEYS)})")
        if value is not None:
            clean[key] = check_option(key, value)
    return GenerationOptions(**clean)


def settings_from_dict(data: Any) -> ChatSettings | None:
    """``ChatSettings`` back from its JSON form (a stored turn, an ``ask --json`` line);
    lenient: a value that does not check is left unset, and anything but a mapping is
    None."""
    if not isinstance(data, Mapping):
        return None
    options = GenerationOptions()
    given = data.get("options")
    if isinstance(given, Mapping):
        clean: dict[str, Any] = {}
        for key in OPTION_KEYS:
            if given.get(key) is not None:
                try:
                    clean[key] = check_option(key, given[key])
                except OptionError:
                    continue
        options = GenerationOptions(**clean)
    prompt = data.get("system_prompt")
    think = data.get("think")
    try:
        think = check_think(think) if think is not None else None
    except OptionError:
        think = None
    return ChatSettings(options, prompt if isinstance(prompt, str) else None, think)
