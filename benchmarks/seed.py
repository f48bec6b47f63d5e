"""The seed's router, as its design documents specify it, for comparison in the benchmarks.

The seed (a TypeScript design: ``HybridModelClient`` and ``IntelligentModelSelector`` in the
"Hybrid LLM Architecture" and "Hybrid Implementation Guide" documents) routes between two
backends, LM Studio and Ollama. Written out here in Python, rule for rule:

- task type (:func:`task_type`): the first of these substring tests on the lower-cased prompt
  that matches — "template"/"boilerplate" -> template, "format"/"lint" -> format,
  "analyze"/"review" -> analysis, "debug"/"fix" -> debugging, "refactor"/"improve" ->
  refactor, "plan"/"design" -> planning; else general;
- complexity (:func:`complexity`): a score on the prompt as typed (case-sensitive substring
  tests) — more than 3 context files +2, over 200 characters +1, "multi" or "several" +2,
  "complex" or "advanced" +3, "architecture" or "system" +2, "simple" or "quick" -1,
  "template" or "basic" -2; 4 or more is complex, 2 or more medium, else simple;
- the decision matrix (:func:`decide`): only one backend up -> it; a fast task type
  (template, format, edit, boilerplate) -> LM Studio; complex, or a complex task type
  (analysis, planning, debugging, architecture) -> Ollama; otherwise the historical success
  ratio of each backend for the task type, LM Studio only when its ratio is strictly higher.

The seed records outcomes under the key ``"<task type>-<complexity>"`` but looks the history
up under the bare task type, so the lookup never finds a record and both ratios stay at their
default 0.5: every prompt that reaches the last rule goes to Ollama. :func:`decide` keeps
that behaviour (``history`` defaults to nothing found); that is the seed's actual matrix.
"""

from __future__ import annotations

from collections.abc import Mapping

FAST = "lmstudio"
STRONG = "ollama"
#: the seed's two lists
FAST_TASKS = ("template", "format", "edit", "boilerplate")
COMPLEX_TASKS = ("analysis", "planning", "debugging", "architecture")

_TYPE_TESTS = (
    (("template", "boilerplate"), "template"),
    (("format", "lint"), "format"),
    (("analyze", "review"), "analysis"),
    (("debug", "fix"), "debugging"),
    (("refactor", "improve"), "refactor"),
    (("plan", "design"), "planning"),
)


def task_type(prompt: str) -> str:
    """The seed's ``classifyTaskType``."""
    text = prompt.lower()
    for words, kind in _TYPE_TESTS:
        if any(w in text for w in words):
            return kind
    return "general"


def complexity(prompt: str, context_files: int = 0) -> str:
    """The seed's ``assessComplexity`` (its substring tests are case-sensitive)."""
    score = 0
    if context_files > 3:
        score += 2
    if len(prompt) > 200:
        score += 1
    for words, weight in ((("multi", "several"), 2), (("complex", "advanced"), 3),
                          (("architecture", "system"), 2), (("simple", "quick"), -1),
                          (("template", "basic"), -2)):
        if any(w in prompt for w in words):
            score += weight
    if score >= 4:
        return "complex"
    return "medium" if score >= 2 else "simple"


def decide(
    task: str,
    level: str,
    *,
    up: Mapping[str, bool] | None = None,
    history: Mapping[str, float] | None = None,
) -> str:
    """The seed's ``makeRoutingDecision``: the backend, ``lmstudio`` or ``ollama``.

    ``up`` says which of the two is available (both by default); ``history`` is each
    backend's success ratio for the task type (the seed never finds one: 0.5 each).
    """
    up = up or {FAST: True, STRONG: True}
    if up.get(STRONG) and not up.get(FAST):
        return STRONG
    if up.get(FAST) and not up.get(STRONG):
        return FAST
    if task in FAST_TASKS:
        return FAST
    if level == "complex" or task in COMPLEX_TASKS:
        return STRONG
    ratios = history or {}
    return FAST if ratios.get(FAST, 0.5) > ratios.get(STRONG, 0.5) else STRONG
