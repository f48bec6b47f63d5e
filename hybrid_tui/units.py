"""How measured figures read, in the TUI and the CLI alike: durations, token rates,
confidences and sizes. One rule each, so the same figure never reads two ways.

- a duration under a second in whole milliseconds (``850 ms``); from a second on, seconds to
  three significant figures (``1.52 s``, ``12.3 s``, ``125 s``);
- a rate to one decimal below 100 (``85.3 tok/s``), whole from 100 on (``120 tok/s``);
- a figure nobody measured as ``–``.
"""

from __future__ import annotations

import math

#: what a figure that was not measured reads as
MISSING = "–"


def _known(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def fmt_ms(ms: float | None) -> str:
    """A duration given in milliseconds: ``850 ms``, ``1.52 s``, ``12.3 s``, ``125 s``."""
    if ms is None or not _known(ms):
        return MISSING
    ms = max(0.0, ms)
    if round(ms) < 1000:
        return f"{ms:.0f} ms"
    seconds = ms / 1000
    if round(seconds, 2) < 10:
        return f"{seconds:.2f} s"
    if round(seconds, 1) < 100:
        return f"{seconds:.1f} s"
    return f"{seconds:.0f} s"


def fmt_seconds(seconds: float | None) -> str:
    """A duration given in seconds, by the same rule as :func:`fmt_ms`."""
    return fmt_ms(None if seconds is None else seconds * 1000)


def fmt_rate(rate: float | None) -> str:
    """A token rate without its unit (for a ``tok/s`` column): ``85.3``, ``120``."""
    if rate is None or not _known(rate):
        return MISSING
    return f"{rate:.1f}" if round(rate, 1) < 100 else f"{rate:.0f}"


def fmt_tps(rate: float | None) -> str:
    """A token rate with its unit: ``85.3 tok/s``, ``120 tok/s``, ``– tok/s``."""
    return f"{fmt_rate(rate)} tok/s"


def fmt_confidence(value: float | None) -> str:
    """A score in 0..1 to two decimals: ``0.82``."""
    return MISSING if value is None or not _known(value) else f"{value:.2f}"


def fmt_size(size: int | None) -> str:
    """A byte count: ``4.1 GB``, ``512 B``; empty when unknown or zero."""
    if not size:
        return ""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} B"
