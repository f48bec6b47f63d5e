"""Confidence scoring of finished replies."""

from __future__ import annotations

import pytest

from hybrid_tui.router.score import BASE, score

GOOD_PY = (
    "Here is the function:\n\n```python\ndef add(a: int, b: int) -> int:\n"
    "    return a + b\n```\n\nIt adds two numbers."
)
BROKEN_PY = "Here you go:\n\n```python\ndef add(a, b:\n    return a + b\n```\n"
UNTAGGED = "Here you go:\n\n```\ndef add(a, b):\n    return a + b\n```\n"
UNCLOSED = "Here you go:\n\n```python\ndef add(a, b):\n    return a + b\n"
PROSE = (
    "The design separates reading from writing. Requests enter through a queue, a pool of "
    "workers drains it, and results are written back through one writer so the store never "
    "sees two writers at once. The trade-off is latency under bursts."
)


def test_empty_reply_scores_zero() -> None:
    assert score("", task_type="format") == (0.0, ("empty reply",))
    assert score("  \n\t ", task_type="analysis")[0] == 0.0


def test_good_python_answer_scores_high() -> None:
    confidence, notes = score(GOOD_PY, task_type="template", prompt="write an add function")
    assert confidence == pytest.approx(BASE + 0.1)
    assert notes == ("Python compiles (+0.10)",)


def test_python_that_does_not_compile_scores_lower() -> None:
    good, _ = score(GOOD_PY, task_type="template")
    bad, notes = score(BROKEN_PY, task_type="template")
    assert bad < good
    assert any("does not compile" in n and "line 1" in n for n in notes)


def test_code_is_compiled_never_run(tmp_path) -> None:
    marker = tmp_path / "ran"
    reply = f"```python\nopen({str(marker)!r}, 'w').write('x')\n```\n"
    score(reply, task_type="template")
    assert not marker.exists()


def test_missing_code_block_when_code_is_asked() -> None:
    confidence, notes = score(PROSE, task_type="general", prompt="write a function that adds")
    assert "no code block (-0.35)" in notes
    assert confidence < BASE


def test_prose_is_fine_when_no_code_is_asked() -> None:
    confidence, notes = score(PROSE, task_type="analysis", prompt="analyze this architecture")
    assert (confidence, notes) == (BASE, ())


def test_untagged_and_unclosed_fences() -> None:
    _, untagged_notes = score(UNTAGGED, task_type="edit")
    assert any("without a language tag" in n for n in untagged_notes)
    unclosed, notes = score(UNCLOSED, task_type="edit")
    assert "unclosed code fence (-0.25)" in notes
    assert unclosed < score(GOOD_PY, task_type="edit")[0]


def test_fences_of_other_length_and_tilde() -> None:
    nested = "````markdown\n```python\nx = 1\n```\n````\n"
    _, notes = score(nested, task_type="edit")
    assert not any("unclosed" in n for n in notes)
    tilde = "~~~python\nx = (\n~~~\n"
    _, notes = score(tilde, task_type="edit")
    assert any("does not compile" in n for n in notes)


@pytest.mark.parametrize(
    "apology",
    [
        "I'm sorry, I cannot help with that.",
        "I am sorry, but that is not possible.",
        "As an AI language model, I can't run code.",
        "I apologize, I am unable to do that.",
        "I’m sorry — I can’t help.",
    ],
)
def test_apologies_and_refusals_score_low(apology: str) -> None:
    confidence, notes = score(apology, task_type="template", prompt="write a quicksort")
    assert confidence < 0.3
    assert any("apology or refusal" in n for n in notes)


def test_apology_is_worse_than_plain_text() -> None:
    plain = "Sure. Use the sorted builtin with a key function to do that in one call."
    sorry = "I'm sorry, but I cannot use the sorted builtin with a key function here."
    assert score(sorry, prompt="how?")[0] < score(plain, prompt="how?")[0]


def test_length_for_the_task() -> None:
    _, short_code = score("`x`", task_type="format")
    assert "very short for a code task (-0.20)" in short_code
    _, short_prose = score("It is fine.", task_type="analysis")
    assert "very short for an explanation (-0.15)" in short_prose
    _, huge = score("word " * 10_000, task_type="general")
    assert "very long reply (-0.05)" in huge


def test_slow_replies_lose_a_little() -> None:
    fast, _ = score(PROSE, task_type="analysis", ttft_ms=300, tokens_per_s=50)
    slow, notes = score(PROSE, task_type="analysis", ttft_ms=60_000, tokens_per_s=1)
    assert fast - slow == pytest.approx(0.1)
    assert "slow first token (-0.05)" in notes and "very slow generation (-0.05)" in notes


def test_deterministic_and_bounded() -> None:
    replies = [GOOD_PY, BROKEN_PY, UNTAGGED, UNCLOSED, PROSE, "I'm sorry", "x" * 50_000]
    for reply in replies:
        first = score(reply, task_type="edit", prompt="fix the code", ttft_ms=1.0)
        assert first == score(reply, task_type="edit", prompt="fix the code", ttft_ms=1.0)
        assert 0.0 <= first[0] <= 1.0


def test_pathological_python_does_not_raise() -> None:
    deep = "```python\nx = " + "(" * 5000 + ")" * 5000 + "\n```\n"
    confidence, _ = score(deep, task_type="edit")
    assert 0.0 <= confidence <= 1.0
    nul = "```python\nx = '\x00'\n```\n"
    assert 0.0 <= score(nul, task_type="edit")[0] <= 1.0
