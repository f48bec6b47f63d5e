"""A routing decision's ``signals`` turned into sections a person reads: the task type and the
words that set it, the complexity score and what it is made of, one row per candidate
backend (availability, loaded model, predicted queue / load / first token / decode / total
time, the learned estimate), the learned comparison of tiers, and anything else the router
said.

The router owns the shape of ``signals`` (documented on ``hybrid_tui.events.Decision``) and
grows it; this module reads it leniently: any key may be missing or odd-shaped (an older
stored session, a newer router), nothing here raises, and every key it does not know is
listed under "other signals" rather than dropped. Values come back as plain strings (the
screen sanitises them and never parses them as markup).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

Rows = list[tuple[str, str]]

#: keys read into the sections (everything else goes to "other signals")
_TASK_KEYS = ("task_type", "matches", "type_scores", "words")
_COMPLEXITY_KEYS = ("complexity", "complexity_score", "contributions", "multi_file",
                    "complexity_words", "simplicity_words")
_SUMMARY_KEYS = ("rule", "forced", "id")
#: per-candidate mappings (backend name -> value or record)
_PER_CANDIDATE = ("candidates", "availability", "loaded", "predicted", "bandit", "cooling",
                  "history")
#: predicted parts shown: (column, key); ``<name>_ms`` is read too (milliseconds)
_PREDICTED_PARTS = (("queue", "queue_s"), ("ttft", "ttft_s"), ("total", "total_s"))
COLUMNS = ("backend", "status", "loaded", "queue", "ttft", "total", "learned")


@dataclass(slots=True)
class Explanation:
    """The sections of one decision, each a list of (label, value) rows, and the table."""

    summary: Rows = field(default_factory=list)
    task: Rows = field(default_factory=list)
    complexity: Rows = field(default_factory=list)
    #: one dict per candidate backend, keyed by :data:`COLUMNS` (missing -> "–")
    candidates: list[dict[str, str]] = field(default_factory=list)
    #: the learned comparison of tiers (Thompson sampling), when the router made one
    tiers: Rows = field(default_factory=list)
    other: Rows = field(default_factory=list)

    @property
    def columns(self) -> list[str]:
        """The table's columns that have a value in at least one row (backend always)."""
        used = [c for c in COLUMNS if any(row.get(c, "–") != "–" for row in self.candidates)]
        return ["backend", *(c for c in used if c != "backend")]


def explain(
    signals: Mapping[str, Any] | None, *, backend: str = "", forced: bool | None = None,
    reason: str = "", model: str = "", decision_id: str = "",
) -> Explanation:
    """Read ``signals`` (``Decision.signals``) into an :class:`Explanation`.

    ``backend``, ``forced``, ``reason``, ``model`` and ``decision_id`` come from the
    decision itself."""
    sig: Mapping[str, Any] = signals if isinstance(signals, Mapping) else {}
    out = Explanation()
    used: set[str] = set()

    out.summary = _summary(sig, backend=backend, model=model, forced=forced, reason=reason,
                           decision_id=decision_id)
    used.update(_SUMMARY_KEYS)
    out.task = _task(sig)
    used.update(_TASK_KEYS)
    out.complexity = _complexity(sig)
    used.update(_COMPLEXITY_KEYS)
    out.candidates, consumed = _candidates(sig, chosen=backend)
    used.update(consumed)
    out.tiers = _tiers(sig.get("tiers"))
    used.add("tiers")
    out.other = [(key, short(value)) for key, value in sig.items() if key not in used]
    return out


# --------------------------------------------------------------------------- sections


def _summary(sig: Mapping[str, Any], *, backend: str, model: str, forced: bool | None,
             reason: str, decision_id: str) -> Rows:
    rows: Rows = []
    if backend:
        rows.append(("chosen", f"{backend}  {model}".strip()))
    if reason:
        rows.append(("reason", reason))
    is_forced = forced if forced is not None else sig.get("forced")
    if is_forced is not None:
        rows.append(("forced", "yes, by the user" if is_forced else "no (routed)"))
    if sig.get("rule"):
        rows.append(("rule", str(sig["rule"])))
    ident = decision_id or sig.get("id")
    if ident:
        rows.append(("decision id", str(ident)))
    return rows


def _task(sig: Mapping[str, Any]) -> Rows:
    task = str(sig.get("task_type") or "")
    matches = _mapping(sig.get("matches"))
    scores = _mapping(sig.get("type_scores"))
    rows: Rows = []
    if task:
        rows.append(("task type", task))
    words = sig.get("words") if isinstance(sig.get("words"), list | tuple) else None
    if not words and task:
        words = matches.get(task)
    if words:
        rows.append(("set by", _words(words)))
    elif task:
        rows.append(("set by", "no keyword matched (the default)"))
    if task in scores:
        rows.append(("score", number(scores[task])))
    others = [t for t in matches if t != task and matches.get(t)]
    others += [t for t in scores if t != task and t not in others]
    if others:
        parts = []
        for name in sorted(others, key=lambda t: -_float(scores.get(t), 0.0)):
            said = _words(matches.get(name) or [])
            score = f" ({number(scores[name])})" if name in scores else ""
            parts.append(f"{name}{score}" + (f": {said}" if said else ""))
        rows.append(("also matched", "; ".join(parts)))
    return rows


def _complexity(sig: Mapping[str, Any]) -> Rows:
    rows: Rows = []
    if sig.get("complexity"):
        rows.append(("complexity", str(sig["complexity"])))
    if "complexity_score" in sig:
        rows.append(("score", number(sig["complexity_score"])))
    contributions = _mapping(sig.get("contributions"))
    for name, value in sorted(contributions.items(), key=lambda kv: -abs(_float(kv[1], 0.0))):
        amount = _float(value, math.nan)
        shown = f"{amount:+.2f}" if math.isfinite(amount) else short(value)
        rows.append((f"  {name}", shown))
    for key, label in (("complexity_words", "complexity words"),
                       ("simplicity_words", "simplicity words")):
        if sig.get(key):
            rows.append((label, _words(sig[key])))
    if sig.get("multi_file"):
        rows.append(("multi-file", "yes"))
    return rows


def _candidates(sig: Mapping[str, Any], *, chosen: str) -> tuple[list[dict[str, str]], set[str]]:
    """One row per backend named in any per-candidate signal, in first-seen order."""
    per: dict[str, dict[str, Any]] = {}
    consumed: set[str] = set()
    for key in _PER_CANDIDATE:
        value = sig.get(key)
        if isinstance(value, Mapping) and value:
            consumed.add(key)
            for name, item in value.items():
                per.setdefault(str(name), {})[key] = item
    return [_row(name, data, chosen=chosen) for name, data in per.items()], consumed


def _row(name: str, data: Mapping[str, Any], *, chosen: str) -> dict[str, str]:
    status = data.get("availability", data.get("candidates"))
    status_text = status if isinstance(status, str) and status else "–"
    cooling = data.get("cooling")
    if cooling not in (None, False) and "cooling" not in status_text:
        status_text += f" · cooling down ({cooling} failures)"
    row = dict.fromkeys(COLUMNS, "–")
    row["backend"] = ("▸ " if name == chosen else "  ") + name
    row["status"] = status_text
    row["loaded"] = _loaded(data.get("loaded"))
    row["learned"] = _learned(data.get("bandit"), data.get("history"))
    predicted = data.get("predicted")
    if not isinstance(predicted, Mapping):
        return row
    for column, key in _PREDICTED_PARTS:
        value = _part(predicted, key)
        if value is not None:
            row[column] = value
    ahead = predicted.get("ahead")
    if isinstance(ahead, int) and not isinstance(ahead, bool) and ahead > 0:
        row["queue"] = f"{row['queue']} ({ahead} ahead)"
    elif row["queue"] in ("0 ms", "–") and ahead == 0:
        row["queue"] = "none"
    load = _part(predicted, "load_s")
    if load is not None and load != "0 ms" and row["loaded"] != "–":
        row["loaded"] += f" ({load})"
    if predicted.get("measured") is False and row["total"] != "–":
        row["total"] += " (guess)"
    return row


def _part(predicted: Mapping[str, Any], key: str) -> str | None:
    """One predicted time, from ``<name>_s`` or ``<name>_ms``."""
    for spelled in (key, key.removesuffix("_s") + "_ms"):
        if predicted.get(spelled) is not None:
            return duration(spelled, predicted[spelled])
    return None


def _loaded(value: Any) -> str:
    """``loaded`` / ``cold — will load`` for ``True``/``False`` or ``{"model", "loaded"}``
    (the model's name is in the summary; the table stays narrow)."""
    if isinstance(value, Mapping):
        value = value.get("loaded")
    if isinstance(value, bool):
        return "loaded" if value else "cold — will load"
    return "–"


def _learned(bandit: Any, history: Any) -> str:
    """The bandit's estimate ``0.82 (9/14 good)``, or the history's ``8/10 good``."""
    if isinstance(bandit, Mapping) and isinstance(bandit.get("mean"), int | float):
        samples, good = bandit.get("samples"), bandit.get("successes")
        if samples == 0:
            return f"{bandit['mean']:.2f} (prior only)"
        if isinstance(samples, int | float) and isinstance(good, int | float):
            return f"{bandit['mean']:.2f} ({good:g}/{samples:g} good)"
        if isinstance(samples, int | float):
            return f"{bandit['mean']:.2f} (n={samples:g})"
        return f"{bandit['mean']:.2f}"
    if isinstance(history, list | tuple) and len(history) == 2:
        return f"{history[0]}/{history[1]} good"
    return "–"


def _tiers(value: Any) -> Rows:
    """The learned comparison of tiers: ``fast → lmstudio  mean 0.82, n 14, draw 0.79 …``."""
    rows: Rows = []
    if not isinstance(value, Mapping):
        return rows
    for tier, item in value.items():
        if not isinstance(item, Mapping):
            rows.append((str(tier), short(item)))
            continue
        parts = [f"{k.replace('_', ' ')} {number(v) if not isinstance(v, int) else v}"
                 for k, v in item.items() if k != "backend" and v is not None]
        who = f" → {item['backend']}" if item.get("backend") else ""
        rows.append((f"{tier}{who}", ", ".join(parts)))
    return rows


# --------------------------------------------------------------------------- formatting


def duration(key: str, value: Any) -> str:
    """A predicted time for display; the key's suffix gives the unit (``_ms``, else s)."""
    amount = _float(value, math.nan)
    if not math.isfinite(amount):
        return short(value)
    seconds = amount / 1000 if key.endswith("_ms") else amount
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    return f"{seconds:.1f} s" if seconds < 100 else f"{seconds:.0f} s"


def number(value: Any) -> str:
    amount = _float(value, math.nan)
    return f"{amount:.2f}" if math.isfinite(amount) else short(value)


def short(value: Any, width: int = 160) -> str:
    """Any JSON-ish value on one line, cut to ``width``."""
    if isinstance(value, str):
        text = value
    else:
        try:
            text = json.dumps(value, ensure_ascii=False, default=str, sort_keys=True)
        except (TypeError, ValueError):
            text = repr(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def _words(words: Any) -> str:
    if isinstance(words, str):
        return f"“{words}”"
    if isinstance(words, list | tuple):
        return ", ".join(f"“{w}”" for w in words[:12]) + (" …" if len(words) > 12 else "")
    return short(words)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _float(value: Any, default: float) -> float:
    if isinstance(value, bool):
        return default
    try:
        return float(value)
    except (TypeError, ValueError):
        return default
