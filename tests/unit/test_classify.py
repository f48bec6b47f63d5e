"""The classifier: task types by whole words, complexity from its parts, and speed."""

from __future__ import annotations

import time

import pytest

from hybrid_tui.router.classify import (
    COMPLEXITIES,
    PRIORITY,
    TASK_TYPES,
    TOPIC_HARD,
    VERB_WEIGHT,
    Classification,
    classify,
)


@pytest.mark.parametrize(
    ("prompt", "task_type"),
    [
        ("format this code", "format"),
        ("Reformat this JSON please", "format"),
        ("the output is badly formatted", "format"),
        ("fix the indentation of this block", "format"),
        ("prettify this html", "format"),
        ("analyze this complex system architecture", "analysis"),
        ("Analyse the results", "analysis"),
        ("give me an analysis of this loop", "analysis"),
        ("explain what this regex does", "analysis"),
        ("review my pull request", "analysis"),
        ("plan the next release", "planning"),
        ("design a scalable distributed system", "planning"),
        ("we need a roadmap for the migration", "planning"),
        ("debug this function", "debugging"),
        ("why does this crash?", "debugging"),
        ("I get a traceback when I run it", "debugging"),
        ("it doesn't work on Windows", "debugging"),
        ("it doesn’t work on Windows", "debugging"),  # typographic apostrophe
        ("refactor this class", "refactor"),
        ("clean up this module", "refactor"),
        ("rename the variable foo to bar", "edit"),
        ("fix the typo in the docstring", "edit"),
        ("change the return type to int", "edit"),
        ("generate getters and setters for this class", "boilerplate"),
        ("write unit tests for parse()", "boilerplate"),
        ("add docstrings", "boilerplate"),
        ("scaffold a flask app", "template"),
        ("give me a template for a CLI tool", "template"),
        ("write a quicksort", "template"),
        ("hello there", "general"),
        ("", "general"),
    ],
)
def test_task_type(prompt: str, task_type: str) -> None:
    assert classify(prompt).task_type == task_type


@pytest.mark.parametrize(
    ("prompt", "not_type"),
    [
        ("informat", "format"),  # a substring of a keyword is not the keyword
        ("the formatter crashed", "format"),  # a formatter is a tool, not a request to format
        ("write a static analyzer", "analysis"),
        ("open it in the editor", "edit"),
        ("a planet simulation", "planning"),
        ("the testing framework pytest", "boilerplate"),
        ("refactoring.guru has examples", "refactor"),
        ("my_format_helper is slow", "format"),
    ],
)
def test_substrings_do_not_match(prompt: str, not_type: str) -> None:
    result = classify(prompt)
    assert not_type not in result.matches, result.matches


def test_hyphenated_compound_counts_its_parts() -> None:
    result = classify("make this well-formatted")
    assert result.task_type == "format"
    assert result.matches["format"] == ("formatted",)


def test_matches_record_the_words_in_order() -> None:
    result = classify("Debug the crash, then fix the bug")
    assert result.task_type == "debugging"
    assert result.matches["debugging"] == ("debug", "crash", "fix", "bug")
    # 3 + 3 + 1 + 3, and "debug" is the request's verb: VERB_WEIGHT more
    assert result.type_scores["debugging"] == 10.0 + VERB_WEIGHT


def test_ties_follow_the_fixed_priority() -> None:
    # "understand" (analysis 1) vs "fix" (debugging 1, edit 1): three-way tie at 1
    result = classify("a fix to understand")
    tied = {t for t, s in result.type_scores.items() if s == 1}
    assert tied == {"analysis", "debugging", "edit"}
    assert result.task_type == min(tied, key=PRIORITY.index) == "debugging"


def test_phrase_beats_its_first_word() -> None:
    result = classify("do this across all files")
    assert result.multi_file
    assert result.contributions["multi-file words"] == 2.0


@pytest.mark.parametrize(
    ("prompt", "complexity"),
    [
        ("format this code", "simple"),
        ("write a quicksort", "simple"),
        ("just a quick one-liner to reverse a string", "simple"),
        ("analyze this complex system architecture", "complex"),
        ("design a scalable distributed system", "complex"),
        ("explain the codebase", "complex"),
        ("this stack trace comes from a race condition", "medium"),
        ("rename the variable tmp to count", "simple"),
        ("restructure this class so parsing and I/O are separate", "medium"),
        ("the total is wrong for orders with discounts, debug it", "medium"),
        ("why do I get NameError: name 'pd' is not defined", "simple"),
        ("add two complex numbers given as tuples", "simple"),
        ("tidy this 300-line function", "medium"),
        ("add request logging to several services", "complex"),
    ],
)
def test_complexity(prompt: str, complexity: str) -> None:
    assert classify(prompt).complexity == complexity


def test_quicksort_is_not_quick() -> None:
    assert classify("write a quicksort").simplicity_words == ()
    assert classify("write a quick sort").simplicity_words == ("quick",)


@pytest.mark.parametrize(
    "prompt", ["make the login flow secure", "plan the migration of the orders table",
               "the workers share a cache concurrently"],
)
def test_security_migration_and_concurrency_are_hard_problems(prompt: str) -> None:
    assert classify(prompt).contributions["hard problem"] >= 2


def test_hard_problem_words_are_capped_and_listed() -> None:
    result = classify("a complex complicated distributed concurrent scalable system")
    assert result.contributions["hard problem"] == 4.0
    assert result.complexity_words[:2] == ("complex", "complicated")


@pytest.mark.parametrize(
    "prompt",
    [
        "Write a detailed plan to refactor a large legacy Java monolith into services",
        "refactor the whole codebase to use dependency injection",
        "Rename the Customer model to Account across all 60 files of the backend",
        "Modularize this 5,000-line legacy script into a package",
        "add tracing to our three services",
        "outline a migration of a 2 TB database",
        "format every module of the monorepo",
    ],
)
def test_a_named_system_scope_is_complex(prompt: str) -> None:
    result = classify(prompt)
    assert result.complexity == "complex"
    assert result.contributions["system scope"] == 3.0


def test_the_issue_example_goes_to_the_strong_tier_as_a_complex_plan() -> None:
    prompt = "Write a detailed plan to refactor a large legacy Java monolith into services"
    result = classify(prompt)
    assert (result.task_type, result.complexity) == ("planning", "complex")


@pytest.mark.parametrize(
    ("prompt", "module"),
    [
        ("Refactor this 200-line function into smaller functions", 2.0),
        ("tidy this class", 1.0),
        ("tidy this 50-line function", 0.0),
        ("two services", 1.0),  # fewer than three big things: one module-sized word
    ],
)
def test_module_scope_from_words_and_named_sizes(prompt: str, module: float) -> None:
    assert classify(prompt).contributions.get("module scope", 0.0) == module
    assert "system scope" not in classify(prompt).contributions


@pytest.mark.parametrize(
    ("prompt", "task_type"),
    [
        ("why do I get NameError: name 'pd' is not defined", "debugging"),
        ("KeyError: 'id' in handle()", "debugging"),
        ("my test passes alone but fails when I run the suite", "debugging"),
        ("Write a detailed plan to refactor the parser", "planning"),
        ("Is this query going to use the index? Explain the plan.", "analysis"),
        ("docker-compose file with postgres and redis", "boilerplate"),
        ("make this more pythonic", "refactor"),
    ],
)
def test_task_type_from_phrases_and_named_errors(prompt: str, task_type: str) -> None:
    assert classify(prompt).task_type == task_type


def test_simplicity_words_lower_the_score() -> None:
    plain = classify("refactor this parser across files")
    simple = classify("refactor this small simple parser across files")
    assert simple.complexity_score < plain.complexity_score
    assert simple.contributions["simplicity words"] == -2.0


def test_context_files_count_toward_complexity_and_multi_file() -> None:
    one = classify("refactor this", [("a.py", "x = 1\n")])
    two = classify("refactor this", [("a.py", "x = 1\n"), ("b.py", "y = 2\n")])
    three = classify("refactor this", [(f"{n}.py", "z = 3\n") for n in "abc"])
    assert "context files" not in one.contributions
    assert two.contributions["context files"] == 1.0 and not two.multi_file
    assert three.contributions["context files"] == 2.0 and three.multi_file
    assert three.complexity_score == 2.5  # 2 (files) + 0.5 (refactor)
    assert three.labels == frozenset({"refactor", "multi-file"})


def test_context_text_does_not_choose_the_task_type() -> None:
    result = classify("format this", [("log.txt", "error error traceback crash bug")])
    assert result.task_type == "format"


def test_context_size_counts() -> None:
    result = classify("explain this", [("big.py", "x = 1\n" * 2000)])
    assert result.contributions["context size"] == 1.0


def test_long_prompts_and_several_questions_and_lists() -> None:
    long = classify(" ".join(["word"] * 130))
    assert long.contributions["prompt length"] == 1.0
    longer = classify(" ".join(["word"] * 310))
    assert longer.contributions["prompt length"] == 2.0
    questions = classify("what is this? and why? and how?")
    assert questions.contributions["several questions"] == 1.0
    listed = classify("build it:\n- a parser\n- a lexer\n- an emitter\n")
    assert listed.contributions["listed requirements"] == 1.0


def test_score_is_the_sum_of_contributions() -> None:
    result = classify("Why does this complex async code hang? And how do I fix it?")
    assert result.complexity_score == pytest.approx(sum(result.contributions.values()))


def test_result_shape() -> None:
    result = classify("analyze this complex system architecture")
    assert isinstance(result, Classification)
    assert result.task_type in TASK_TYPES and result.complexity in COMPLEXITIES
    assert result.labels == frozenset({"analysis", "complex"})
    assert result.matches == {"analysis": ("analyze",), "planning": ("architecture",)}
    with pytest.raises(AttributeError):
        result.task_type = "edit"  # type: ignore[misc]


def test_huge_prompt_is_bounded() -> None:
    result = classify("format " + "x " * 500_000 + " debug")
    assert result.task_type == "format"  # only the start is scanned for keywords
    assert result.contributions["prompt length"] == 2.0  # the length still counts in full


def test_fast_enough() -> None:
    prompts = [
        "format this code",
        "analyze this complex system architecture",
        "Please refactor the module so the database access is separated from the handlers "
        "and keep the public API unchanged; add tests for the new layer.",
    ]
    n = 2000
    start = time.perf_counter()
    for _ in range(n):
        for p in prompts:
            classify(p)
    per_call = (time.perf_counter() - start) / (n * len(prompts))
    assert per_call < 1e-3  # a generous sanity bound: typical is tens of µs


# The request's shape: what is asked, not only which words occur.


@pytest.mark.parametrize(
    ("prompt", "task_type"),
    [
        # the request's verb outweighs words that describe the thing
        ("change the log level from DEBUG to INFO", "edit"),
        ("Evaluate whether the cache survives a restart: what breaks and what fails?", "analysis"),
        # errors named in a request to build something are behaviour to build
        ("Write a function that parses '1h30m' into seconds and raises ValueError otherwise",
         "template"),
        ("write tests covering empty input, a timeout and a failing connection", "boilerplate"),
        # a question about code shown or pointed at is analysis ...
        ("what does `set -euo pipefail` do?", "analysis"),
        ("what does the walrus operator do here", "analysis"),
        ("is this safe to call from two threads?\n\nx += 1\ny = x\n", "analysis"),
        # ... the same question about nothing shown a general one
        ("what does HTTP 418 mean", "general"),
        ("How does consensus work in a distributed database?", "general"),
        ("what's the git command to undo the last commit but keep the changes", "general"),
        ("explain the difference between a mutex and a semaphore with an example", "general"),
        ("explain this regex", "analysis"),
        ("explain the parser", "analysis"),
        # a question that opens with "should" is a decision
        ("should the config live in yaml or in environment variables?", "planning"),
        # code shown with only a description of what it does reports a fault
        ("my merge gives more rows than either input:\n\ndf = a.merge(b)\nprint(len(df))\n",
         "debugging"),
    ],
)
def test_task_type_from_the_shape_of_the_request(prompt: str, task_type: str) -> None:
    assert classify(prompt).task_type == task_type


def test_pasted_code_does_not_choose_the_task_type() -> None:
    prompt = ("Can you explain what's going on here?\n\n"
              "    done, pending = await asyncio.wait(tasks, timeout=1)\n"
              "    raise TimeoutError('error')\n")
    result = classify(prompt)
    assert result.task_type == "analysis"
    assert "debugging" not in result.matches


def test_an_error_message_is_not_scope() -> None:
    # "module" in the message does not name a module to work on
    result = classify("ModuleNotFoundError: No module named 'yaml'")
    assert (result.task_type, result.complexity) == ("debugging", "simple")
    assert "module scope" not in result.contributions


def test_code_to_read_makes_debugging_and_explaining_medium() -> None:
    bare = classify("RuntimeError: dictionary changed size during iteration")
    pasted = classify("getting this error:\n\nRuntimeError: dictionary changed size during "
                      "iteration\n\nfor k in config:\n    if config[k] is None:\n"
                      "        del config[k]\n")
    assert bare.complexity == "simple"
    assert pasted.contributions["code to read"] == 1.0
    assert (pasted.task_type, pasted.complexity) == ("debugging", "medium")
    one_line = classify("what does this do?\n`git log --oneline | wc -l`")
    assert "code to read" not in one_line.contributions


def test_a_concept_question_is_not_hard_work_unless_it_is_distributed_state() -> None:
    threads = classify("When should I use threads instead of asyncio, and is it safe?")
    raft = classify("How does raft keep replication consistent during a network partition?")
    assert threads.task_type == raft.task_type == "general"
    assert threads.contributions["hard problem"] == TOPIC_HARD
    assert threads.complexity != "complex"
    assert raft.complexity == "complex"
    # the same hard words in a request to build are hard work
    assert classify("Implement a thread-safe pool, safe under load").complexity == "complex"


def test_symptoms_make_debugging_medium_and_data_words_do_not() -> None:
    symptom = classify("my client disconnects every 60 seconds even though the server pings")
    assert (symptom.task_type, symptom.complexity) == ("debugging", "medium")
    data = classify("sql to find duplicate emails in the users table")
    assert data.task_type != "debugging" and data.complexity == "simple"


def test_four_things_listed_with_and_are_requirements() -> None:
    listed = classify("Write a pool with timeouts, health checks, eviction and metrics")
    three = classify("a blog with posts, comments and tags")
    assert listed.contributions["listed requirements"] == 1.0
    assert "listed requirements" not in three.contributions


def test_every_one_of_many_things_is_a_system() -> None:
    result = classify("Add tenant_id to every table in our backend")
    assert result.contributions["system scope"] == 3.0
    assert "system scope" not in classify("add a column to the table").contributions


def test_a_statement_about_ones_own_system_is_a_report_of_wrong_behaviour() -> None:
    report = classify("our nightly export changed its column order and nobody touched it")
    assert report.task_type == "debugging"
    assert report.complexity == "medium"  # a behaviour described, not an error to look up
    # a statement that goes on to ask for something is context for that request
    asked = classify("our UserManager class does too much; how would you break it up?")
    assert asked.task_type != "debugging"


def test_unindented_code_lines_after_the_first_are_code() -> None:
    prompt = "my function returns None for one element\n\ndef split(xs):\n    return xs[1:]\n"
    result = classify(prompt)
    assert "refactor" not in result.matches  # "split" is the code's name, not a request
    assert result.task_type == "debugging"


@pytest.mark.parametrize(
    ("prompt", "task_type"),
    [
        ("js function to debounce another function", "template"),
        ("sql to find duplicate emails in the users table", "template"),
        ("tsconfig.json for a node 20 library with strict mode", "boilerplate"),
        ("k8s deployment and service yaml for a single nginx container", "boilerplate"),
        ("what is a function", "general"),  # a question names code without asking for it
    ],
)
def test_code_named_without_a_verb_is_code_to_write(prompt: str, task_type: str) -> None:
    assert classify(prompt).task_type == task_type
