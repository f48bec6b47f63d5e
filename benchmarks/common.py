"""What every benchmark shares: settings, figures with targets, statistics, machine facts,
the printed table and the JSON line.

A benchmark returns a :class:`Row`: named :class:`Figure` objects, each holding its raw
samples, optionally the name of its reference figure in the same row (measured in the same
run, so the ratio survives a noisy machine) and its targets from the issue table.
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: the repository root (``benchmarks/`` lives in it and runs from it)
ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True, slots=True)
class Settings:
    """How hard to run: ``quick`` shrinks sizes and repeats (CI proves the suite works)."""

    quick: bool = False
    #: timed runs after the warm-up (None: 5, or 2 with ``quick``)
    runs_override: int | None = None
    #: the oterm row: oterm's own venv (None: under the user cache dir), and whether the
    #: row may pip-install oterm there when it is missing
    oterm_venv: str | None = None
    oterm_install: bool = True

    @property
    def runs(self) -> int:
        if self.runs_override is not None:
            return max(1, self.runs_override)
        return 2 if self.quick else 5

    def size(self, full: int, quick: int) -> int:
        return quick if self.quick else full


@dataclass(frozen=True, slots=True)
class Target:
    """One goal from the issue: ``op`` is ``>=`` or ``<=``; ``on`` is ``value`` (the median)
    or ``ratio`` (the median over the reference's median)."""

    op: str
    value: float
    on: str = "value"

    def met(self, value: float, ratio: float | None) -> bool:
        x = ratio if self.on == "ratio" else value
        if x is None:
            return False
        return x >= self.value if self.op == ">=" else x <= self.value

    def describe(self, unit: str) -> str:
        sign = "≥" if self.op == ">=" else "≤"
        if self.on == "ratio":
            return f"{sign} {self.value:g}× ref"
        return f"{sign} {fmt(self.value)} {unit}".rstrip()


@dataclass(slots=True)
class Figure:
    """One measured quantity: every sample, its unit, its reference and targets."""

    name: str
    unit: str
    samples: list[float]
    reference: str | None = None
    targets: tuple[Target, ...] = ()
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.samples) if self.samples else float("nan")

    @property
    def min(self) -> float:
        return min(self.samples) if self.samples else float("nan")

    @property
    def max(self) -> float:
        return max(self.samples) if self.samples else float("nan")


@dataclass(slots=True)
class Row:
    """One benchmark's result. ``skipped`` or ``error`` say why there are no figures."""

    name: str
    what: str
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    skipped: str | None = None
    error: str | None = None
    seconds: float = 0.0

    def add(self, figure: Figure) -> Figure:
        self.figures.append(figure)
        return figure

    def figure(self, name: str) -> Figure | None:
        return next((f for f in self.figures if f.name == name), None)

    def ratio(self, fig: Figure) -> float | None:
        """``fig``'s median over its reference's median (None without a reference)."""
        ref = self.figure(fig.reference) if fig.reference else None
        if ref is None or not ref.samples or not ref.median:
            return None
        return fig.median / ref.median

    def met(self, fig: Figure) -> bool | None:
        """All of ``fig``'s targets met; None when it has none."""
        if not fig.targets:
            return None
        ratio = self.ratio(fig)
        return all(t.met(fig.median, ratio) for t in fig.targets)


# -- statistics ---------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100), linear between the closest ranks."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * q / 100
    lo = int(k)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def repeat(runs: int, once: Callable[[], float], *, warmup: int = 1) -> list[float]:
    """Call ``once`` ``warmup`` times (discarded), then ``runs`` times; the samples."""
    for _ in range(warmup):
        once()
    return [once() for _ in range(runs)]


def fmt(x: float | None) -> str:
    """A figure with three significant digits, thousands separated."""
    if x is None or x != x:  # None or NaN
        return "–"
    a = abs(x)
    if a >= 1000:
        return f"{x:,.0f}"
    if a >= 100:
        return f"{x:.0f}"
    if a >= 10:
        return f"{x:.1f}"
    if a >= 1:
        return f"{x:.2f}"
    return f"{x:.3g}"


# -- machine ------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    """nproc, RAM, load, CPU model, OS, Python and library versions."""
    info: dict[str, Any] = {
        "nproc": os.cpu_count(),
        "ram_gb": _ram_gb(),
        "cpu": _cpu_model(),
        "os": platform.platform(terse=True),
        "python": platform.python_version(),
    }
    try:
        info["load_avg"] = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        info["load_avg"] = None
    for lib in ("textual", "httpx", "rich"):
        try:
            from importlib.metadata import version

            info[lib] = version(lib)
        except Exception:
            info[lib] = None
    info["git"] = _git_head()
    return info


def _ram_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _git_head() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
            text=True, timeout=5, check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def rss_mb() -> float:
    """This process's resident set size now, in MB (Linux /proc; else the peak)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 1024 / 1024
    except (OSError, ValueError, IndexError):
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- output -------------------------------------------------------------------------------


def figure_dict(row: Row, fig: Figure) -> dict[str, Any]:
    ratio = row.ratio(fig)
    ref = row.figure(fig.reference) if fig.reference else None
    return {
        "name": fig.name,
        "unit": fig.unit,
        "median": _num(fig.median),
        "min": _num(fig.min),
        "max": _num(fig.max),
        "runs": len(fig.samples),
        "samples": [_num(s) for s in fig.samples],
        "reference": fig.reference,
        "reference_median": _num(ref.median) if ref else None,
        "ratio": _num(ratio),
        "target": " and ".join(t.describe(fig.unit) for t in fig.targets) or None,
        "targets": [{"op": t.op, "value": t.value, "on": t.on} for t in fig.targets],
        "met": row.met(fig),
        "note": fig.note or None,
    }


def _num(x: float | None) -> float | None:
    if x is None or x != x:
        return None
    return round(float(x), 6)


def report(rows: list[Row], settings: Settings, argv: Sequence[str]) -> dict[str, Any]:
    """The whole run as one JSON-ready object."""
    return {
        "suite": "hybrid-tui benchmarks",
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "command": " ".join(["python -m benchmarks", *argv]),
        "quick": settings.quick,
        "runs": settings.runs,
        "machine": machine(),
        "rows": {
            row.name: {
                "what": row.what,
                "seconds": round(row.seconds, 2),
                "skipped": row.skipped,
                "error": row.error,
                "notes": row.notes,
                "figures": [figure_dict(row, f) for f in row.figures],
            }
            for row in rows
        },
        "all_met": all(row.met(f) is not False for row in rows for f in row.figures),
    }


def table(row: Row) -> str:
    """The row as aligned text: figure, median, min, max, reference, ratio, target, met."""
    head = f"== {row.name}: {row.what}  ({row.seconds:.1f} s)"
    if row.skipped:
        return f"{head}\n   skipped: {row.skipped}"
    if row.error:
        return f"{head}\n   error: {row.error}"
    cols = ["figure", "median", "min", "max", "unit", "ref", "ratio", "target", "met"]
    lines = [cols]
    for fig in row.figures:
        ratio = row.ratio(fig)
        met = row.met(fig)
        lines.append([
            fig.name, fmt(fig.median), fmt(fig.min), fmt(fig.max), fig.unit,
            fig.reference or "", f"{ratio:.3g}×" if ratio is not None else "",
            " and ".join(t.describe(fig.unit) for t in fig.targets),
            {True: "yes", False: "NO", None: ""}[met],
        ])
    widths = [max(len(str(r[i])) for r in lines) for i in range(len(cols))]
    out = [head]
    for r in lines:
        out.append("   " + "  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)))
    out += [f"   note: {n}" for n in row.notes]
    return "\n".join(out)


def markdown(result: dict[str, Any]) -> str:
    """The report's figures as a Markdown table (for BENCHMARKS.md)."""
    out = ["| row | figure | median (min–max) | reference | ratio | target | met? |",
           "|---|---|---|---|---|---|---|"]
    for name, row in result["rows"].items():
        if row["skipped"] or row["error"]:
            out.append(f"| {name} | {row['skipped'] or row['error']} | | | | | |")
            continue
        for f in row["figures"]:
            spread = fmt(f["median"])
            if f["runs"] > 1:
                spread += f" ({fmt(f['min'])}–{fmt(f['max'])})"
            spread = f"{spread} {f['unit']}".rstrip()
            ref = f"{f['reference']}: {fmt(f['reference_median'])}" if f["reference"] else "—"
            ratio = f"{f['ratio']:.3g}×" if f["ratio"] is not None else "—"
            met = {True: "yes", False: "**no**", None: ""}[f["met"]]
            out.append(f"| {name} | {f['name']} | {spread} | {ref} | {ratio} | "
                       f"{f['target'] or ''} | {met} |")
    return "\n".join(out)


def say(*parts: object) -> None:
    """Progress for the human reader (stderr, so stdout stays tables + the JSON line)."""
    print(*parts, file=sys.stderr, flush=True)
