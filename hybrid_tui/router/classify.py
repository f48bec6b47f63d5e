"""Classify a prompt: its task type and how complex it is.

Complexity comes mostly from the scope the prompt names: a system (a codebase, a monolith,
several services, infrastructure, "across all 60 files", a 5,000-line script) makes it
complex on its own; a module-sized thing (a class, a module, a 300-line function) makes it at
least medium; hard problems (concurrency, distribution, security, migrations) weigh 2 each;
a behaviour that is wrong (not just an error message), speed or edge cases add 1; long
prompts, listed requirements, several questions and context files add more; words like
"simple" or "one-liner" take some away. The tables were tuned on the labelled prompts in
``tests/data/routing_prompts.yaml`` (``python -m benchmarks judgment``).

Besides the words, the shape of the request: its verb (the first word after "please" or
"can you") weighs more than the words that describe the thing ("change the log level from
DEBUG" is an edit); a request to make or change something mentions errors as behaviour to
build, so they count a quarter; a question about something shown ("what does `set -e` do?",
"why does this return None?") is analysis, the same question about nothing shown a general
one, and a hard topic in it (other than distributed state) is not hard work; a statement
about one's own system that asks nothing reports wrong behaviour; pasted code (fenced,
indented, or later lines with code punctuation) and the text of an error message choose
nothing, and debugging or explaining more than a line of pasted code is at least medium work.

Whole-word matching only ("informat" is not "format", "quicksort" is not "quick"), with the
inflections people type ("formatted", "analyse", "refactoring"). The keyword tables are indexed
into one dict at import; a call splits the prompt into words with one precompiled regex and
looks each word (and phrase) up, so it costs tens of µs, not one regex per keyword.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

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

# Categories besides the task types: scope, hard-problem and depth words (complexity),
# simplicity words, multi-file phrases, and neutral phrases that only shadow their words.
_SCOPE, _MODULE, _HARD, _DEPTH = "+scope", "+module", "+hard", "+depth"
_DISTRIBUTED = "+distributed"
_SIMPLE, _MULTI, _NEUTRAL = "-simple", "*multi", "=neutral"

# (the forms of one word or phrase, separated by "|"; ((category, weight), ...)). Each form is
# matched as whole words, case-insensitively; phrases are words separated by single spaces.
_KEYWORDS: tuple[tuple[str, tuple[tuple[str, float], ...]], ...] = (
    # template: write something new from a pattern
    ("template|templates|templated|templating", (("template", 3),)),
    ("scaffold|scaffolds|scaffolded|scaffolding", (("template", 3),)),
    ("skeleton|skeletons|starter", (("template", 3),)),
    ("stub|stubs|snippet|snippets", (("template", 2),)),
    ("example|examples", (("template", 1),)),
    ("write|writes|writing|wrote|implment|wirte", (("template", 1.5),)),
    ("create|creates|creating", (("template", 1.5),)),
    ("build|builds|building", (("template", 1.5),)),
    ("generate|generates|generating", (("template", 1.5),)),
    ("implement|implements|implementing", (("template", 1.5),)),
    # format: layout only
    ("format|formats|formatted|formatting", (("format", 3),)),
    ("reformat|reformats|reformatted|reformatting", (("format", 3),)),
    ("prettify|prettifies|prettified|prettifying", (("format", 3),)),
    ("pretty-print|pretty print|prettyprint|pretty-printed|pretty-printing", (("format", 3),)),
    ("beautify|beautifies|beautified|beautifying", (("format", 3),)),
    ("indent|indents|indented|indenting|indentation|spacing", (("format", 2),)),
    ("reindent|re-indent|reindented|re-indented", (("format", 3),)),
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
    (
        "dockerfile|makefile|setup.py|pyproject.toml|gitignore|.gitignore|docker-compose"
        "|docker compose|github actions|workflow|ci config|requirements.txt|package.json",
        (("boilerplate", 2),),
    ),
    ("argparse|cli parser|config file|repetitive", (("boilerplate", 2),)),
    # configuration and deployment files: written from a well-known pattern
    (
        "yaml|yml|tsconfig|tsconfig.json|setup.cfg|editorconfig|.editorconfig|license"
        "|systemd|unit file|helm|terraform|manifest|manifests|pre-commit|readme",
        (("boilerplate", 2),),
    ),
    ("config|configuration", (("boilerplate", 1),)),
    # analysis: understand and judge existing code
    ("analyze|analyzes|analyzed|analyzing", (("analysis", 3), (_DEPTH, 1))),
    ("analyse|analyses|analysed|analysing|analysis", (("analysis", 3), (_DEPTH, 1))),
    ("explain|explains|explained|explaining", (("analysis", 2),)),
    ("review|reviews|reviewed|reviewing", (("analysis", 2), (_DEPTH, 1))),
    (
        "evaluate|evaluates|evaluating|assess|assessing|audit|auditing",
        (("analysis", 2), (_DEPTH, 1)),
    ),
    (
        "assess whether|evaluate whether|query plan|explain the plan|execution plan",
        (("analysis", 4),),
    ),
    ("vulnerable|vulnerability|vulnerabilities|idiomatic", (("analysis", 1),)),
    (
        "what does this|what do these|difference between these|difference between this",
        (("analysis", 2),),
    ),
    ("compare|compares|comparing|comparison", (("analysis", 2), (_DEPTH, 1))),
    ("investigate|investigating|inspect|inspecting", (("analysis", 2), (_DEPTH, 1))),
    (
        "go through|look through|look over|tell me where|tell me which|tell me if"
        "|walk me through|walk through"
        "|tell me whether",
        (("analysis", 2),),
    ),
    ("pros and cons|which one|which is better|trade-offs of", (("analysis", 2), (_DEPTH, 1))),
    ("understand|understanding", (("analysis", 1),)),
    ("big-o|big o|time complexity|space complexity", (("analysis", 2), (_DEPTH, 1))),
    # planning: decide what to build and how
    ("plan|plans|planned|planning", (("planning", 3),)),
    (
        "a plan|detailed plan|plan to|plan for|plan how|into tasks|steps to|the steps"
        "|what steps|which steps",
        (("planning", 6),),
    ),
    (
        "how should|how would you|how would i|how would we|what approach|which approach"
        "|how do we"
        "|how can we|should we|what should we|roll out|rollout|best way to structure"
        "|how to structure|how to organize|how to organise|in what order|what order"
        "|where to start|where do i start|where should i start",
        (("planning", 2),),
    ),
    ("structure|organize|organise|layout", (("planning", 1),)),
    ("roadmap|roadmaps|milestone|milestones", (("planning", 3),)),
    ("strategy|strategies|approach", (("planning", 2),)),
    ("migrate|migrating|migration|outline|proposal|propose", (("planning", 2),)),
    ("design|designs|designed|designing", (("planning", 2),)),
    ("architect|architects|architected|architecting", (("planning", 2),)),
    ("architecture|architectures|architectural", (("planning", 1),)),
    ("step by step|step-by-step", (("planning", 1),)),
    # debugging: something is broken
    ("debug|debugs|debugged|debugging|bug|bugs", (("debugging", 3),)),
    ("traceback|stack trace|stacktrace|segfault|core dump", (("debugging", 3),)),
    ("crash|crashes|crashed|crashing", (("debugging", 3),)),
    ("doesn't work|does not work|won't work|isn't working|not working", (("debugging", 3),)),
    ("debugger|exception|exceptions|error|errors|err", (("debugging", 2),)),
    (
        "never ends|infinite loop|never returns|never finishes|never resolves|never completes"
        "|never fires|never runs|never gets called|never called|exit code|502s|500s|503s|504s"
        "|timeout|timeouts|timed out",
        (("debugging", 2),),
    ),
    ("fail|fails|failed|failing|failure|broken|breaks", (("debugging", 2),)),
    ("fix|fixes|fixing", (("debugging", 1), ("edit", 1))),
    ("hangs|hanging|hung|leak|leaks|leaking|deadlock|deadlocks", (("debugging", 2),)),
    ("race condition|race conditions", (("debugging", 2),)),
    # refactor: restructure without changing behaviour
    ("refactor|refactors|refactored|refactoring", (("refactor", 3),)),
    ("restructure|restructuring|reorganize|reorganise|reorganizing", (("refactor", 3),)),
    (
        "untangle|untangling|disentangle|circular import|circular imports"
        "|circular dependency|circular dependencies",
        (("refactor", 2),),
    ),
    ("decouple|decoupling|modularize|modularise|dedupe|deduplicate", (("refactor", 3),)),
    ("clean up|cleanup|cleaning up|simplify|simplifies|simplifying", (("refactor", 2),)),
    ("extract|extracting|rewrite|rewrites|rewriting", (("refactor", 2),)),
    ("dry|pythonic|split|splitting|separate|separating|break", (("refactor", 1),)),
    # asking for the same code, better: shorter, cleaner, tidier
    (
        "shorter|more concise|concise|cleaner|neater|tidier|tidy|tidy up|more elegant"
        "|elegant|less verbose",
        (("refactor", 2),),
    ),
    (
        "inheritance|composition|dependency injection|coupling|tightly coupled"
        "|separation of concerns|god class|spaghetti|tangled|mixes|does too much"
        "|too many responsibilities|behind an interface|pull out|pull it out",
        (("refactor", 2),),
    ),
    (
        "more pythonic|more idiomatic|more readable|into services|into microservices"
        "|into modules|into smaller|break up|break apart",
        (("refactor", 2),),
    ),
    (
        "optimize|optimizes|optimizing|optimise|optimises|optimising|optimization",
        (("refactor", 2),),
    ),
    # scope: what the prompt names as the thing to work on. A system (a codebase, a
    # monolith, several services, infrastructure) makes it complex on its own; a module-sized
    # thing (a class, a module, a component) makes it at least medium.
    (
        "codebase|code base|monorepo|monolith|monoliths|microservice|microservices|monolithic"
        "|infrastructure|cluster|clusters|datacenter|data center|multi-tenant|multi tenant"
        "|end-to-end|end to end|large legacy|legacy system|legacy codebase|whole system"
        "|entire system|whole app|entire app|whole application|entire application|whole backend"
        "|every service|all services|all our services|all the services|our services"
        "|multiple services|several services|many services|separate services|the services"
        "|across services|between services"
        "|every package|all packages|every module|all modules|every repository|all repositories"
        "|across the project|in the project|across the repository|across the codebase"
        "|across the repo|across repos|in the repo|in our repo"
        "|availability zone|availability zones|regions|region|replicas|nodes|continents"
        "|worldwide|globally|geo-distributed|geo-replicated",
        ((_SCOPE, 3),),
    ),
    (
        "class|classes|module|modules|component|components|package|packages|hierarchy"
        "|functions|methods|schema|library|framework|api|endpoint|endpoints|service|services"
        "|pipeline|subsystem|layer|layers|suite|backend|backends|frontend",
        ((_MODULE, 1),),
    ),
    # hard problems: concurrency, distribution, security, failure under load
    (
        "complex|complicated|intricate|sophisticated|distributed|concurrency|concurrent"
        "|concurrently|parallelism|multithreaded|multi-threaded|thread-safe|thread safe"
        "|threads|lock-free|race condition|race conditions|deadlock|deadlocks|deadlocked"
        "|safe|unsafe|consistent|inconsistent|high availability"
        "|high-availability|fault-tolerant|fault tolerant|failover|zero downtime"
        "|zero-downtime|consistency|exactly-once|idempotent"
        "|security|secure|vulnerability|vulnerabilities|vulnerable|exploit|authentication"
        "|authorization|oauth|csrf|xss|encryption|encrypted|privilege|privileges|sandbox"
        "|untrusted|safely|memory leak|memory leaks|leak|leaks|leaking|data corruption"
        "|corruption|corrupted|under load|heavy load|high load|peak traffic|in production"
        "|offline sync|real-time|event sourcing|event-sourced|cqrs|conflict-free|collaborative"
        "|concurrent edits|many clients"
        "|realtime|event-driven|event driven|state machine|trade-off|trade-offs|tradeoff"
        "|tradeoffs|migration|migrate|migrating|kubernetes|kafka|without downtime|no downtime"
        "|network blip|network failure|packet loss"
        "|multiprocessing|mutex|mutexes|semaphore|semaphores|atomically|lock contention"
        "|at-least-once|at least once|saga|sagas|backpressure"
        "|load balancer|load balancing|autoscaling|sso"
        "|single sign-on|saml|rbac|permission model|sql injection|injection|cryptographic"
        "|millions|billions|terabytes|petabytes",
        ((_HARD, 2),),
    ),
    # distributed state: hard work, and a hard topic even in a question about concepts
    (
        "consensus|replication|replicating|replicated|partition|partitions|sharding|sharded"
        "|leader election|raft|paxos|eventual consistency|crdt|crdts|vector clock|replica"
        "|vector clocks|distributed transaction|distributed transactions|two-phase commit"
        "|multi-region|cross-region|network partition|network partitions|scalable|scalability"
        "|large-scale|large scale|horizontal scaling",
        ((_DISTRIBUTED, 2),),
    ),
    ("architecture|architectures|architectural|architect|system|systems", ((_HARD, 1),)),
    (
        "production|latency|throughput|async|asynchronous|asyncio|protocol|protocols",
        ((_HARD, 0.5),),
    ),
    # more than a glance: a behaviour that is wrong (not just an error message to look up)
    (
        "wrong|incorrect|unexpected|unexpectedly|sometimes|intermittent|intermittently"
        "|randomly|flaky|only when|but only|fails when|fails on|fails only|passes|works locally"
        "|after i upgraded|after upgrading|after the upgrade|since the upgrade|segfault"
        "|stale|exits|exits immediately|fall behind|falls behind|corruption|recursion depth"
        "|timezone|reloads|twice|stuck|freezes|froze|frozen|even though|even when|even after"
        "|despite|disconnects|times out|time out"
        "|nothing happens|no output|but not|on my machine|on the server|on ci|in ci"
        "|does nothing|did nothing|works when|works if|works with|works for|worked before"
        "|memory grows|keeps growing|grows steadily|gets killed|killed|out of memory|oom"
        "|used to work|works in|until i restart|until we restart|until restart|after restarting"
        "|forever|takes forever|take forever|for some|only some|works fine|work fine"
        "|worked fine|get lost|gets lost|goes missing|go missing|disappear|disappears"
        "|whenever|every time|each time",
        (("debugging", 2), (_DEPTH, 1)),
    ),
    ("crashes|crash|crashed|hangs|hang", ((_DEPTH, 1),)),
    # ... and speed, edge cases, complexity
    (
        "slow|too slow|slower|performance|bottleneck|bottlenecks|edge case|edge cases"
        "|optimize|optimise|optimizes|optimizing|optimization|complexity",
        ((_DEPTH, 1),),
    ),
    ("algorithm|algorithms", ((_DEPTH, 0.5),)),
    # words that look like the above but are not about scope
    (
        "complex number|complex numbers|complexity of|error message|error handling"
        "|for some reason|everywhere in this file|everywhere in the file|migration file"
        "|migration files|migration script|alembic migration"
        "|alembic migrations|django migration|django migrations|schema migration"
        "|exception handling|service worker|simple list|do wrong|did wrong|doing wrong"
        "|data structure|data structures|audit log|audit logs|audit logging|audit trail",
        ((_NEUTRAL, 0),),
    ),
    # simplicity words
    (
        "simple|quick|quickly|small|tiny|minor|short|brief|a bit|single line|this line",
        ((_SIMPLE, 1),),
    ),
    ("one-liner|one-liners|one liner|trivial|basic|easy", ((_SIMPLE, 1.5),)),
    # several files at once
    (
        "across files|across all files|across multiple files|across several files"
        "|across the files|across many files",
        ((_MULTI, 2),),
    ),
    (
        "multi-file|multifile|multiple files|several files|many files|all files|every file"
        "|everywhere|throughout",
        ((_MULTI, 2),),
    ),
    (
        "whole project|entire project|whole repo|entire repo|whole repository|entire repository"
        "|entire codebase|whole codebase",
        ((_MULTI, 2), (_SCOPE, 3)),
    ),
)


def _index(
    table: tuple[tuple[str, tuple[tuple[str, float], ...]], ...],
) -> tuple[dict[str, tuple[tuple[str, float], ...]], dict[tuple[str, str], int]]:
    """Every form -> its weights, and the first two words of every phrase -> the longest
    phrase they start (so most words are looked up once, without building a phrase)."""
    forms: dict[str, tuple[tuple[str, float], ...]] = {}
    starts: dict[tuple[str, str], int] = {}
    for spelled, weights in table:
        for form in spelled.split("|"):
            form = form.strip().lower()
            forms[form] = forms.get(form, ()) + weights
            words = form.split(" ")
            if len(words) > 1:
                key = (words[0], words[1])
                starts[key] = max(starts.get(key, 2), len(words))
    return forms, starts


_FORMS, _PHRASE_START = _index(_KEYWORDS)
_PHRASE_FIRST = frozenset(first for first, _ in _PHRASE_START)
_ERROR_SUFFIXES = ("error", "exception")
#: a word: letters/digits/underscore, with inner ' - . kept ("doesn't", "multi-file", "setup.py")
_WORD = re.compile(r"\d+(?:,\d{3})+(?:-\w+)?|\w+(?:['\-.]\w+)*")
_LIST_ITEM = re.compile(r"^[ \t]*(?:[-*•]|\d{1,2}[.)])[ \t]+\S", re.MULTILINE)
_PRIORITY_RANK = {name: i for i, name in enumerate(PRIORITY)}
#: a plan is never a glance (a small one says so: "a simple blog", "my script"); the
#: other strong task types start at half a point
_STRONG_BASELINE = {"analysis": 0.5, "planning": 1.0, "debugging": 0.5, "refactor": 0.5}
#: task types whose work is reading the code the prompt pastes
_READS_CODE = frozenset({"debugging", "analysis"})
#: things that, counted from :data:`SYSTEM_COUNT` up ("three services", "60 files",
#: "hundreds of microservices"), name a system
_BIG_THINGS = frozenset({
    "files", "services", "microservices", "packages", "repos", "repositories", "modules",
    "nodes", "regions", "servers", "machines", "jobs", "workers", "apps", "applications",
    "teams", "databases", "clusters", "instances", "replicas", "devices", "tables", "hosts",
    "pods", "shards", "brokers", "tenants", "projects", "environments",
    "folders", "directories",
})  # fmt: skip
_NUMBER_WORDS = {
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "dozen": 12,
    "dozens": 24,
    "hundreds": 200,
    "thousands": 2000,
}
#: a count of big things from this many up names a system
SYSTEM_COUNT = 3
#: lines of code named ("a 300-line function", "5,000-line script", "400k lines"): from
#: this many a module, from the next a system
MODULE_LINES, SYSTEM_LINES = 100, 2000
#: only this many words of a prompt are searched for named sizes, and this many characters
#: for inline lists: the request is stated in its prose, which comes before (or instead of)
#: pasted code
SIZE_SCAN_WORDS, SIZE_SCAN_LIMIT = 200, 1_500
_SENTENCE_END = re.compile(r"[.;:!?\n]")


def _inline_list(text: str) -> bool:
    """Four or more things listed in one sentence ("timeouts, health checks, eviction and
    metrics"): three commas, or two and an "and" after them, with no sentence end between."""
    head = text[:SIZE_SCAN_LIMIT]
    commas = []
    at = head.find(", ")
    while at >= 0:
        commas.append(at)
        at = head.find(", ", at + 2)
    for i in range(len(commas) - 1):
        end = _SENTENCE_END.search(head, commas[i])
        stop = end.start() if end else len(head)
        if i + 2 < len(commas) and commas[i + 2] < stop:
            return True
        if commas[i + 1] < stop and head.find(" and ", commas[i + 1], stop) >= 0:
            return True
    return False


def _number(word: str) -> int | None:
    """``word`` as a count: "60", "5,000", "400k", "three", "hundreds"; else None."""
    if word[0].isdigit():
        digits = word.replace(",", "")
        scale = 1000 if digits.endswith("k") else 1
        digits = digits.removesuffix("k")
        return int(digits) * scale if digits.isdigit() else None
    return _NUMBER_WORDS.get(word)


def _named_sizes(words: list[str]) -> tuple[bool, float]:
    """(a system-sized scope is named, module-sized things named) from the counts and sizes
    the prompt's (lower-cased) words state: a count with the thing counted right after it
    or one word later ("three storage nodes", "hundreds of microservices"), or "every" before
    one of them ("every table"; not "all": "all the tables in my database" is one database)."""
    system, module = False, 0.0
    head = words[:SIZE_SCAN_WORDS]
    counts = [i for i, word in enumerate(head)
              if word[0].isdigit() or word in _NUMBER_WORDS or word == "every"]
    for i in counts:
        word = head[i]
        if word == "every":
            system = system or any(u + "s" in _BIG_THINGS for u in head[i + 1 : i + 4])
            continue
        count_word, _, unit = word.partition("-")  # "300-line"
        count = _number(count_word)
        if count is None:
            continue
        units = [unit] if unit else head[i + 1 : i + 3]
        if any(u in ("tb", "pb") for u in units[:1]):
            system = True
        elif any(u in ("line", "lines") for u in units[:1]):
            if count >= SYSTEM_LINES:
                system = True
            elif count >= MODULE_LINES:
                module = 1.0
        elif count >= SYSTEM_COUNT and any(u in _BIG_THINGS for u in units):
            system = True
    return system, module


_NAMED_ERROR = (("debugging", 3.0),)
#: a question about something given ("what does this do", "why is `x` None") asks to
#: understand existing code: analysis. The same question about nothing shown ("what is a
#: decorator", "how does consensus work") is a general question.
_QUESTION_OPENERS = {
    "what": frozenset({"does", "do", "is", "are", "did", "was", "exactly"}),
    "what's": frozenset(), "whats": frozenset(),
    "why": frozenset({"does", "do", "is", "are", "did", "was", "would", "doesn't", "isn't"}),
    "how": frozenset({"does", "is", "come"}),
    "which": frozenset(),
    # "is this safe?", "will this leak?": a yes/no question judging what is shown
    **dict.fromkeys(
        ("is", "are", "does", "do", "will", "would", "could", "should"), frozenset(),
    ),
}  # fmt: skip
_POINTERS = frozenset({"this", "these", "here", "below", "above", "following"})
_EXPLAIN = frozenset({"explain", "explains", "explained", "explaining"})
#: things to explain that are code, not concepts
_CODE_NOUNS = frozenset({
    "code", "function", "method", "script", "query", "regex", "snippet", "file", "line",
    "lines", "loop", "diff", "output", "error", "traceback", "log", "logs", "parser",
    "implementation", "implementations", "program", "command", "config", "configuration",
})  # fmt: skip
#: a prompt that opens with one of these asks to be told something
_QUESTION_WORDS = frozenset({
    "what", "what's", "whats", "how", "which", "where", "when", "who", "is", "are", "does",
    "do", "why", "should",
})  # fmt: skip
#: task types that do something to code: a question mentions them without asking for them
_DOING = frozenset({"template", "edit", "format", "boilerplate"})
_ASKS_ABOUT_CODE = (("analysis", 2.0),)
_DECISION = (("planning", 2.0),)
#: characters that mark a pasted line as code rather than prose
_CODE_MARKS = frozenset("=;{}()[]<>")
#: a named error and its message up to the end of its line (or a dash): the message's words
#: ("No module named ...", "unexpected indent") describe the error, not the scope of the work
_ERROR_MESSAGE = re.compile(r"\b(\w+(?:Error|Exception)):[^\n\u2014]*")
#: pasted code: fenced blocks, indented lines (not indented list items) and, after the first
#: line, lines with code punctuation. Its words ("timeout", "raise", "split") are the
#: code's, not the request's.
_PASTED = re.compile(
    r"```.*?(?:```|\Z)|^[ \t]+(?![-*\u2022]|\d{1,2}[.)])\S[^\n]*"
    r"|(?<=\n)(?![ \t]*(?:[-*\u2022]|\d{1,2}[.)])[ \t])[^\n]*[=;{}()\[\]<>][^\n]*",
    re.S | re.M,
)
#: openers of a statement about one's own code or system ("my job runs an hour late",
#: "our workers stop"): with nothing asked, a report of behaviour that is wrong
_REPORT_OPENERS = frozenset({"my", "our", "after", "since", "users", "some"})
_REPORT = (("debugging", 2.0), (_DEPTH, 1.0))
#: words before the request's verb ("please", "can you", "I need to")
_PREAMBLE = frozenset({
    "please", "pls", "plz", "kindly", "can", "could", "would", "will", "you", "help", "me",
    "i", "we", "need", "want", "to", "let's", "lets", "now", "also", "so", "ok", "okay",
    "hey", "hi", "just", "then",
})  # fmt: skip
#: verbs that make something new and take their kind from the object ("write tests",
#: "add docstrings"): they choose no task type, but the errors and failures they mention
#: are behaviour to build, not a fault to find
_MAKING_VERBS = frozenset({
    "write", "wirte", "create", "generate", "implement", "implment", "make", "build", "give",
    "add", "set",
})  # fmt: skip
#: the request's own verb (the first word after the preamble) weighs this much more
VERB_WEIGHT = 2.0
#: what debugging words count for when the request's verb asks for something else
SPEC_ERRORS = 0.25
#: pieces of code a prompt can name without a verb to ask for one
_ARTIFACTS = frozenset({
    "function", "func", "script", "snippet", "code", "query", "sql", "regex", "one-liner",
    "program", "component", "cli", "bash",
})  # fmt: skip
#: what hard-problem words add to a general question about a concept
TOPIC_HARD = 2.0
#: lines of pasted code (or a traceback) that make finding a bug or explaining code more
#: than a glance
CODE_TO_READ = 2


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
    #: what made up the complexity score, e.g. {"system scope": 3, "context files": 1}
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



def _code_lines(text: str, enough: int) -> int:
    """Lines of pasted code after the prompt's first line, counted up to ``enough``: indented
    lines, lines inside a fence and lines with code punctuation; list items are prose."""
    count = 0
    fenced = False
    for line in text[:SIZE_SCAN_LIMIT].split("\n")[1:]:
        stripped = line.strip()
        if stripped.startswith("```"):
            fenced = not fenced
            continue
        if not stripped or (not fenced and _LIST_ITEM.match(line)):
            continue
        if fenced or line[0] in " \t" or not _CODE_MARKS.isdisjoint(stripped):
            count += 1
            if count >= enough:
                break
    return count


def _asks_how_it_works(words: list[str]) -> bool:
    """``words`` open with "what does", "why is", "how does" and the like."""
    if len(words) < 2:
        return False
    seconds = _QUESTION_OPENERS.get(words[0])
    return seconds is not None and (not seconds or words[1] in seconds)


def _points_at_code(words: list[str], text: str) -> bool:
    """The prompt shows code (backticks, pasted lines) or points at some ("this", "our")."""
    return "`" in text or not _POINTERS.isdisjoint(words) or _code_lines(text, 1) > 0


def _request_verb(words: list[str]) -> int | None:
    """Where the first word after the preamble is, among the first few."""
    for i, word in enumerate(words[:5]):
        if word not in _PREAMBLE:
            return i
    return None


def _words(text: str) -> list[str]:
    """The lower-cased words of ``text`` ("5,000" is one word)."""
    return _WORD.findall(text.lower().replace("\u2019", "'"))


def _keywords(words: list[str]) -> list[tuple[str, tuple[tuple[str, float], ...]]]:
    """The keyword forms among ``words``, longest phrase first at each word, in order."""
    found = []
    i, n = 0, len(words)
    while i < n:
        word = words[i]
        if word in _PHRASE_FIRST and i + 1 < n:
            longest = _PHRASE_START.get((word, words[i + 1]), 0)
            size = min(longest, n - i)
            while size > 1:
                phrase = " ".join(words[i : i + size])
                if phrase in _FORMS:
                    found.append((phrase, _FORMS[phrase]))
                    break
                size -= 1
            if size > 1:
                i += size
                continue
        weights = _FORMS.get(word)
        if weights is not None:
            found.append((word, weights))
        elif "-" in word:
            # "well-formatted": the parts count when the compound itself is not a keyword
            found.extend((part, _FORMS[part]) for part in word.split("-") if part in _FORMS)
        i += 1
    # "NameError", "KeyError", "NullPointerException": a named error
    found.extend(
        (w, _NAMED_ERROR)
        for w in words
        if w.endswith(_ERROR_SUFFIXES) and len(w) > 6 and w not in _FORMS
    )
    return found


_Found = list[tuple[str, tuple[tuple[str, float], ...]]]


def _without(found: _Found, kinds: frozenset[str]) -> _Found:
    """``found`` without the words that count for any of ``kinds``."""
    return [(w, ws) for w, ws in found if not any(c in kinds for c, _ in ws)]


def _shape(
    words: list[str], text: str, verb: str | None, at: int | None, found: _Found
) -> tuple[_Found, bool]:
    """The keywords ``found``, adjusted for what kind of prompt it is (a report, a decision,
    a question about code or about a concept), and whether it asks about a concept."""
    if words and words[0] in _REPORT_OPENERS and not any(
        c in _PRIORITY_RANK and c not in _DOING for _, ws in found for c, _ in ws
    ):
        # the edit or template words of a report describe ("since the clocks changed")
        found = [*_without(found, _DOING), ("behaviour reported", _REPORT)]
    if verb == "should":  # "should the config live in yaml or in env vars?": a decision
        found.append(("should", _DECISION))
    if at is None or (verb not in _QUESTION_WORDS and verb not in _EXPLAIN):
        return found, False
    shown = _points_at_code(words, text)
    if verb in _EXPLAIN:
        # "explain the CAP theorem" is a general question; "explain the parser" is not
        concept = not shown and _CODE_NOUNS.isdisjoint(words) and not any(
            c in (_SCOPE, _MODULE) for _, ws in found for c, _ in ws
        )
        if concept:
            found = [(w, ws) for w, ws in found if w not in _EXPLAIN]
    elif shown and _asks_how_it_works(words[at:]):
        return [*found, ("question about code", _ASKS_ABOUT_CODE)], False
    else:
        concept = True
    # "what's the git command to undo the last commit but keep the changes" asks to be told
    # something, not to change anything
    return (_without(found, _DOING) if concept else found), concept


def _weigh_the_request(
    scores: dict[str, float],
    matches: dict[str, list[str]],
    words: list[str],
    text: str,
    verb: str | None,
    concept: bool,
) -> None:
    """Adjust the task type scores for the request's verb, and fill them in when no word
    chose a task type but the prompt shows or names code."""
    # the request's verb says what is asked; the other words describe the thing
    asked = None
    if verb is not None and verb not in _MAKING_VERBS:
        kinds = [c for c, _ in _FORMS.get(verb, ()) if c in _PRIORITY_RANK]
        if len(kinds) == 1 and kinds[0] in scores:
            asked = kinds[0]
            scores[asked] += VERB_WEIGHT
    if "debugging" in scores and (verb in _MAKING_VERBS or asked not in (None, "debugging")):
        scores["debugging"] *= SPEC_ERRORS
    if scores:
        return
    if "\n" in text and _code_lines(text, CODE_TO_READ) >= CODE_TO_READ:
        # code shown with only a description ("my merge gives more rows than either
        # input, here is the code"): a report of code that does not do what it should
        scores["debugging"] = 1.0
        matches["debugging"] = ["code shown"]
    elif not concept and not _ARTIFACTS.isdisjoint(words):
        # "js function to debounce another function", "sql to find duplicate emails": a
        # piece of code named with no verb is a piece of code to write
        scores["template"] = 1.0
        matches["template"] = [next(w for w in words if w in _ARTIFACTS)]


def classify(prompt: str, context: Sequence[tuple[str, str]] = ()) -> Classification:
    """Task type and complexity of ``prompt``; ``context`` is (label, text) pairs (files).

    Only the prompt's words choose the task type (file contents are full of words like
    "error" that say nothing about the request); the context's size and file count
    count toward complexity.
    """
    scores: dict[str, float] = {}
    matches: dict[str, list[str]] = {}
    totals = dict.fromkeys((_SCOPE, _MODULE, _HARD, _DISTRIBUTED, _DEPTH, _SIMPLE, _MULTI), 0.0)
    cx_words: list[str] = []
    simple_words: list[str] = []
    text = prompt[:SCAN_LIMIT]
    prose = _PASTED.sub("", text) if "\n" in text or "```" in text else text
    if "rror:" in prose or "xception:" in prose:
        prose = _ERROR_MESSAGE.sub(r"\1", prose)
    words = _words(prose)
    at = _request_verb(words)
    verb = words[at] if at is not None else None
    found, concept = _shape(words, text, verb, at, _keywords(words))
    for word, weights in found:
        for category, weight in weights:
            if category in totals:
                totals[category] += weight
                if category != _MULTI:
                    (simple_words if category == _SIMPLE else cx_words).append(word)
            elif category != _NEUTRAL:
                scores[category] = scores.get(category, 0.0) + weight
                matches.setdefault(category, []).append(word)

    _weigh_the_request(scores, matches, words, text, verb, concept)
    task_type = min(scores, key=lambda t: (-scores[t], _PRIORITY_RANK[t])) if scores else "general"

    contributions: dict[str, float] = {}
    scope, sized = _named_sizes(words)
    if totals[_SCOPE] or scope:
        contributions["system scope"] = 3.0
    module = totals[_MODULE] + sized
    if module:
        contributions["module scope"] = min(module, 2.0)
    if totals[_HARD] or totals[_DISTRIBUTED]:
        # a question about a hard topic ("mutex vs semaphore?") is not hard work to do,
        # unless the topic is distributed state ("how does raft elect a leader?")
        hard = totals[_HARD]
        if concept and task_type == "general":
            hard = min(hard, TOPIC_HARD)
        contributions["hard problem"] = min(hard + totals[_DISTRIBUTED], 4.0)
    if totals[_DEPTH]:
        contributions["needs thought"] = min(totals[_DEPTH], 1.0)
    length = prompt.count(" ") + prompt.count("\n") + 1
    if length >= 300:
        contributions["prompt length"] = 2.0
    elif length >= 120:
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
    multi_file = n_files >= 3 or totals[_MULTI] > 0
    if totals[_MULTI]:
        contributions["multi-file words"] = 2.0
    if totals[_SIMPLE]:
        contributions["simplicity words"] = -min(totals[_SIMPLE], 2.0)
    questions = prompt.count("?", 0, SCAN_LIMIT)
    if questions >= 2:
        contributions["several questions"] = 1.0
    items = len(_LIST_ITEM.findall(prompt, 0, SCAN_LIMIT))
    if items >= 6:
        contributions["listed requirements"] = 2.0
    elif items >= 3 or _inline_list(text):
        contributions["listed requirements"] = 1.0
    if (task_type in _READS_CODE and "\n" in text
            and _code_lines(text, CODE_TO_READ) >= CODE_TO_READ):
        contributions["code to read"] = 1.0
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
