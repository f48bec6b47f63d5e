"""Classify a prompt: its task type and how complex it is.

Whole-word matching only ("informat" is not "format", "quicksort" is not "quick"), with the
inflections people type ("formatted", "analyse", "refactoring"). The keyword tables are indexed
into one dict at import; a call splits the prompt into words with one precompiled regex and
looks each word (and phrase) up, so it costs tens of µs, not one regex per keyword.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

TASK_TYPES = (
    "template",
    "format",
    "edit",
    "boilerplate",
    "analysis",
    "planning",
    "debugging",
    "refactor",
    "general",
)
COMPLEXITIES = ("simple", "medium", "complex")

#: Ties between task types go to the earlier entry: the more specific intent wins.
PRIORITY = (
    "debugging",
    "refactor",
    "analysis",
    "planning",
    "format",
    "edit",
    "boilerplate",
    "template",
    "general",
)

#: complexity score thresholds: below MEDIUM_AT is simple, from COMPLEX_AT up is complex
MEDIUM_AT = 1.0
COMPLEX_AT = 3.0

#: only this much of a prompt is scanned for keywords (its length still counts in full)
SCAN_LIMIT = 20_000

# Categories besides the task types: complexity words, simplicity words, multi-file phrases.
_CX, _SIMPLE, _MULTI = "+complex", "-simple", "*multi"

# (the forms of one word or phrase, separated by "|"; ((category, weight), ...)). Each form is
# matched as whole words, case-insensitively; phrases are words separated by single spaces.
_KEYWORDS: tuple[tuple[str, tuple[tuple[str, float], ...]], ...] = (
    # template: write something new from a pattern
    ("template|templates|templated|templating", (("template", 3),)),
    ("scaffold|scaffolds|scaffolded|scaffolding", (("template", 3),)),
    ("skeleton|skeletons|starter", (("template", 3),)),
    ("stub|stubs|snippet|snippets", (("template", 2),)),
    ("example|examples", (("template", 1),)),
    ("write|writes|writing|wrote", (("template", 1),)),
    ("create|creates|creating", (("template", 1),)),
    ("generate|generates|generating", (("template", 1),)),
    ("implement|implements|implementing", (("template", 1),)),
    # format: layout only
    ("format|formats|formatted|formatting", (("format", 3),)),
    ("reformat|reformats|reformatted|reformatting", (("format", 3),)),
    ("prettify|prettifies|prettified|prettifying", (("format", 3),)),
    ("pretty-print|pretty print|prettyprint|pretty-printed|pretty-printing", (("format", 3),)),
    ("beautify|beautifies|beautified|beautifying", (("format", 3),)),
    ("indent|indents|indented|indenting|indentation", (("format", 2),)),
    ("pep8|pep 8|black|isort|prettier|gofmt|rustfmt|whitespace", (("format", 2),)),
    ("sort imports|sorted imports", (("format", 2),)),
    ("lint|linting|align|aligned|aligning", (("format", 1),)),
    # edit: a local change to existing code
    ("edit|edits|edited|editing", (("edit", 3),)),
    ("rename|renames|renamed|renaming|typo|typos", (("edit", 3),)),
    ("modify|modifies|modified|modifying", (("edit", 2),)),
    ("change|changes|changed|changing", (("edit", 2),)),
    ("replace|replaces|replaced|replacing", (("edit", 2),)),
    ("tweak|tweaks|tweaked|tweaking", (("edit", 2),)),
    ("convert|converts|converting|translate|translating|port", (("edit", 2),)),
    ("type hint|type hints|type annotation|type annotations", (("edit", 2),)),
    ("update|updates|updated|updating", (("edit", 1),)),
    ("add|adds|adding|remove|removes|removing|delete|deletes|deleting", (("edit", 1),)),
    # boilerplate: repetitive, well-known code
    ("boilerplate|getter|getters|setter|setters|crud", (("boilerplate", 3),)),
    ("dataclass|dataclasses|docstring|docstrings", (("boilerplate", 2),)),
    ("test|tests|unit test|unit tests", (("boilerplate", 2),)),
    ("dockerfile|makefile|setup.py|pyproject.toml|gitignore", (("boilerplate", 2),)),
    ("argparse|cli parser|config file|repetitive", (("boilerplate", 2),)),
    # analysis: understand and judge existing code
    ("analyze|analyzes|analyzed|analyzing", (("analysis", 3),)),
    ("analyse|analyses|analysed|analysing|analysis", (("analysis", 3),)),
    ("explain|explains|explained|explaining|explanation", (("analysis", 2),)),
    ("review|reviews|reviewed|reviewing", (("analysis", 2),)),
    ("evaluate|evaluates|evaluating|assess|assessing|audit|auditing", (("analysis", 2),)),
    ("compare|compares|comparing|comparison", (("analysis", 2),)),
    ("investigate|investigating|inspect|inspecting", (("analysis", 2),)),
    ("understand|understanding|why|how does", (("analysis", 1),)),
    ("big-o|big o|time complexity|space complexity", (("analysis", 2), (_CX, 0.5))),
    # planning: decide what to build and how
    ("plan|plans|planned|planning", (("planning", 3),)),
    ("roadmap|roadmaps|milestone|milestones", (("planning", 3),)),
    ("strategy|strategies|approach", (("planning", 2),)),
    ("migrate|migrating|migration|outline|proposal|propose", (("planning", 2),)),
    ("design|designs|designed|designing", (("planning", 2), (_CX, 1))),
    ("architect|architects|architected|architecting", (("planning", 2), (_CX, 1.5))),
    ("architecture|architectures|architectural", (("planning", 1), (_CX, 1.5))),
    ("step by step|step-by-step", (("planning", 1),)),
    # debugging: something is broken
    ("debug|debugs|debugged|debugging|bug|bugs", (("debugging", 3),)),
    ("traceback|stack trace|stacktrace|segfault|core dump", (("debugging", 3),)),
    ("crash|crashes|crashed|crashing", (("debugging", 3),)),
    ("doesn't work|does not work|won't work|isn't working|not working", (("debugging", 3),)),
    ("debugger|exception|exceptions|error|errors", (("debugging", 2),)),
    ("fail|fails|failed|failing|failure|broken|breaks", (("debugging", 2),)),
    ("fix|fixes|fixing", (("debugging", 1), ("edit", 1))),
    ("hangs|leak|leaks|leaking|deadlock|deadlocks", (("debugging", 2), (_CX, 0.5))),
    ("race condition|race conditions", (("debugging", 2), (_CX, 1.5))),
    # refactor: restructure without changing behaviour
    ("refactor|refactors|refactored|refactoring", (("refactor", 3),)),
    ("restructure|restructuring|reorganize|reorganise|reorganizing", (("refactor", 3),)),
    ("decouple|decoupling|modularize|modularise|dedupe|deduplicate", (("refactor", 3),)),
    ("clean up|cleanup|cleaning up|simplify|simplifies|simplifying", (("refactor", 2),)),
    ("extract|extracting|rewrite|rewrites|rewriting", (("refactor", 2),)),
    ("dry", (("refactor", 1),)),
    (
        "optimize|optimizes|optimizing|optimise|optimises|optimising|optimization",
        (("refactor", 2), (_CX, 0.5)),
    ),
    # complexity words
    ("complex|complicated|intricate|sophisticated", ((_CX, 2),)),
    ("distributed|concurrency|concurrent|concurrently", ((_CX, 1.5),)),
    ("parallel|parallelism|multithreaded|multi-threaded|thread-safe|thread safe", ((_CX, 1.5),)),
    ("scalable|scalability|scale|scaling|large-scale|large scale", ((_CX, 1.5),)),
    ("high availability|high-availability|fault-tolerant|fault tolerant", ((_CX, 1.5),)),
    ("microservice|microservices|event-driven|event driven|state machine", ((_CX, 1.5),)),
    ("trade-off|trade-offs|tradeoff|tradeoffs", ((_CX, 1.5),)),
    ("complexity|system|systems|performance|latency|throughput", ((_CX, 1),)),
    ("security|secure|authentication|authorization", ((_CX, 1),)),
    ("async|asynchronous|asyncio|production|end-to-end", ((_CX, 1),)),
    ("algorithm|algorithms|protocol|protocols", ((_CX, 0.5),)),
    # simplicity words
    ("simple|quick|quickly|just|small|tiny|minor|short|brief", ((_SIMPLE, 1),)),
    ("one-liner|one-liners|one liner|trivial|basic|easy", ((_SIMPLE, 1.5),)),
    # several files at once
    (
        "across files|across all files|across multiple files|across several files"
        "|across the files|across many files",
        ((_MULTI, 2),),
    ),
    (
        "multi-file|multifile|multiple files|several files|many files|all files|every file",
        ((_MULTI, 2),),
    ),
    ("codebase|code base|monorepo", ((_MULTI, 2),)),
    (
        "whole project|entire project|whole repo|entire repo|whole repository|entire repository"
        "|entire codebase|whole codebase",
        ((_MULTI, 2),),
    ),
)


def _index(
    table: tuple[tuple[str, tuple[tuple[str, float], ...]], ...],
) -> tuple[dict[str, tuple[tuple[str, float], ...]], dict[str, int]]:
    """Every form -> its weights, and the first word of every phrase -> its longest length."""
    forms: dict[str, tuple[tuple[str, float], ...]] = {}
    phrase_len: dict[str, int] = {}
    for spelled, weights in table:
        for form in spelled.split("|"):
            form = form.strip().lower()
            forms[form] = forms.get(form, ()) + weights
            words = form.split(" ")
            if len(words) > 1:
                phrase_len[words[0]] = max(phrase_len.get(words[0], 1), len(words))
    return forms, phrase_len


_FORMS, _PHRASE_LEN = _index(_KEYWORDS)
#: a word: letters/digits/underscore, with inner ' - . kept ("doesn't", "multi-file", "setup.py")
_WORD = re.compile(r"\w+(?:['\-.]\w+)*")
_LIST_ITEM = re.compile(r"^[ \t]*(?:[-*•]|\d{1,2}[.)])[ \t]+\S", re.MULTILINE)
_PRIORITY_RANK = {name: i for i, name in enumerate(PRIORITY)}
_STRONG_BASELINE = {"analysis": 0.5, "planning": 0.5, "debugging": 0.5, "refactor": 0.5}


@dataclass(frozen=True, slots=True)
class Classification:
    """What a prompt asks for and how hard it looks, with the evidence for both."""

    task_type: str
    complexity: str
    #: task type -> the words that matched it, in prompt order
    matches: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: task type -> summed keyword weight
    type_scores: dict[str, float] = field(default_factory=dict)
    complexity_score: float = 0.0
    #: what made up the complexity score, e.g. {"complexity words": 3.5, "context files": 1}
    contributions: dict[str, float] = field(default_factory=dict)
    multi_file: bool = False
    complexity_words: tuple[str, ...] = ()
    simplicity_words: tuple[str, ...] = ()

    @property
    def labels(self) -> frozenset[str]:
        """Names a backend's ``task_types`` can list: the task type, "complex", "multi-file"."""
        labels = {self.task_type}
        if self.complexity == "complex":
            labels.add("complex")
        if self.multi_file:
            labels.add("multi-file")
        return frozenset(labels)

    def as_signals(self) -> dict[str, Any]:
        """A JSON-ready summary for the decision's ``signals``."""
        return {
            "task_type": self.task_type,
            "complexity": self.complexity,
            "matches": {k: list(v) for k, v in self.matches.items()},
            "type_scores": dict(self.type_scores),
            "complexity_score": self.complexity_score,
            "contributions": dict(self.contributions),
            "multi_file": self.multi_file,
        }


def _keywords(text: str) -> list[tuple[str, tuple[tuple[str, float], ...]]]:
    """The keyword forms in ``text``, longest phrase first at each word, in order."""
    words = _WORD.findall(text.lower().replace("\u2019", "'"))
    found = []
    i, n = 0, len(words)
    while i < n:
        word = words[i]
        longest = _PHRASE_LEN.get(word, 1)
        step = 1
        for size in range(min(longest, n - i), 1, -1):
            phrase = " ".join(words[i : i + size])
            if phrase in _FORMS:
                found.append((phrase, _FORMS[phrase]))
                step = size
                break
        else:
            weights = _FORMS.get(word)
            if weights is not None:
                found.append((word, weights))
            elif "-" in word:
                # "well-formatted": the parts count when the compound itself is not a keyword
                found.extend((part, _FORMS[part]) for part in word.split("-") if part in _FORMS)
        i += step
    return found


def classify(prompt: str, context: Sequence[tuple[str, str]] = ()) -> Classification:
    """Task type and complexity of ``prompt``; ``context`` is (label, text) pairs (files).

    Only the prompt's words choose the task type (file contents are full of words like
    "error" that say nothing about the request); the context's size and file count
    count toward complexity.
    """
    scores: dict[str, float] = {}
    matches: dict[str, list[str]] = {}
    cx_words: list[str] = []
    simple_words: list[str] = []
    cx_total = simple_total = multi_total = 0.0
    for word, weights in _keywords(prompt[:SCAN_LIMIT]):
        for category, weight in weights:
            if category == _CX:
                cx_total += weight
                cx_words.append(word)
            elif category == _SIMPLE:
                simple_total += weight
                simple_words.append(word)
            elif category == _MULTI:
                multi_total += weight
            else:
                scores[category] = scores.get(category, 0.0) + weight
                matches.setdefault(category, []).append(word)

    task_type = min(scores, key=lambda t: (-scores[t], _PRIORITY_RANK[t])) if scores else "general"

    contributions: dict[str, float] = {}
    words = prompt.count(" ") + prompt.count("\n") + 1
    if words >= 120:
        contributions["prompt length"] = 2.0
    elif words >= 50:
        contributions["prompt length"] = 1.0
    n_files = len(context)
    context_chars = sum(len(text) for _, text in context)
    if n_files >= 3:
        contributions["context files"] = 2.0
    elif n_files == 2:
        contributions["context files"] = 1.0
    if context_chars >= 32_000:
        contributions["context size"] = 2.0
    elif context_chars >= 8_000:
        contributions["context size"] = 1.0
    multi_file = n_files >= 3 or multi_total > 0
    if multi_total:
        contributions["multi-file words"] = 2.0
    if cx_total:
        contributions["complexity words"] = min(cx_total, 4.0)
    if simple_total:
        contributions["simplicity words"] = -min(simple_total, 2.5)
    questions = prompt.count("?", 0, SCAN_LIMIT)
    if questions >= 2:
        contributions["several questions"] = 1.0
    items = len(_LIST_ITEM.findall(prompt, 0, SCAN_LIMIT))
    if items >= 6:
        contributions["listed requirements"] = 2.0
    elif items >= 3:
        contributions["listed requirements"] = 1.0
    if task_type in _STRONG_BASELINE:
        contributions[f"{task_type} task"] = _STRONG_BASELINE[task_type]

    score = round(sum(contributions.values()), 3)
    if score >= COMPLEX_AT:
        complexity = "complex"
    elif score >= MEDIUM_AT:
        complexity = "medium"
    else:
        complexity = "simple"
    return Classification(
        task_type=task_type,
        complexity=complexity,
        matches={k: tuple(v) for k, v in matches.items()},
        type_scores=scores,
        complexity_score=score,
        contributions=contributions,
        multi_file=multi_file,
        complexity_words=tuple(cx_words),
        simplicity_words=tuple(simple_words),
    )
