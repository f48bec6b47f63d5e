"""The session model: the reducer, records (round trip and the schema-2 format), history."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hybrid_tui.chats import list_chats, load_chat, open_chat
from hybrid_tui.events import (
    Decision,
    Done,
    Error,
    Escalation,
    Failover,
    Fallback,
    Thinking,
    Token,
    Waiting,
    event_to_dict,
)
from hybrid_tui.session import (
    RECORD_SCHEMA,
    Attachment,
    Cancelled,
    Session,
    apply,
    event_from_dict,
    turn_from_record,
    turn_to_record,
)
from hybrid_tui.store import Store

FIXTURE = Path(__file__).parent.parent / "data" / "store_v2.sqlite3"


def _decision(backend: str = "lmstudio") -> Decision:
    return Decision(backend, "m", "edit", "simple", "because", id="d1")


def _done(backend: str = "lmstudio", text: str = "", escalated: bool = False, **kw) -> Done:
    return Done(backend, "m", 10.0, 3, 30.0, 0.9, escalated, 100.0, text=text, **kw)


def fold(events, *, prompt: str = "p") -> Session:
    session = Session(name="t")
    turn = session.new_turn(prompt)
    session.start(turn)
    for event in events:
        apply(session, event)
    session.active = None
    return session


# -- the reducer ---------------------------------------------------------------------------


def test_a_plain_reply_folds_into_one_reply():
    session = fold([_decision(), Token("Hel"), Token("lo"), _done(text="Hello")])
    (turn,) = session.turns
    (reply,) = turn.replies
    assert turn.status == "done" and reply.status == "done"
    assert reply.text == "Hello" and reply.chunks == 2 and turn.answer == "Hello"


def test_a_finished_reply_keeps_one_copy_of_its_text():
    """The Done event carries the whole answer too; a long chat must not hold it twice."""
    text = "word " * 1000
    done = _done(text=text)
    session = fold([_decision(), *(Token("word ") for _ in range(1000)), done])
    (reply,) = session.turns[0].replies
    assert reply.text is done.text and reply.length == len(text)


def test_thinking_is_kept_apart_from_the_answer_and_out_of_the_history():
    session = fold([_decision(), Thinking("let me see"), Thinking(" more"), Token("42"),
                    _done(text="42")])
    reply = session.turns[0].replies[0]
    assert reply.thinking == "let me see more" and reply.thinking_chunks == 2
    assert reply.text == "42"
    nxt = session.new_turn("next")
    history = session.history_before(nxt)
    assert history == [{"role": "user", "content": "p"}, {"role": "assistant", "content": "42"}]
    assert "let me see" not in json.dumps(history)


def test_every_failover_is_kept_with_its_marker():
    f1 = Failover("ollama", "lmstudio", "m2", 2, "ollama failed after 2 tokens (eof); x")
    f2 = Failover("lmstudio", "other", "m3", 3, "it broke", error_kind="stall")
    session = fold([_decision("ollama"), Token("a"), Token("b"), f1, Token("c"), f2, Token("d"),
                    _done("other", text="abcd", failover_from="lmstudio")])
    turn = session.turns[0]
    assert turn.failovers == [f1, f2] and turn.failover is f2
    reply = turn.replies[0]
    assert [offset for offset, _ in reply.marks] == [2, 3]
    assert "(eof)" in reply.marks[0][1] and "(stall)" in reply.marks[1][1]
    assert reply.backend == "other" and reply.text == "abcd"
    assert reply.marked_text.count("⤷") == 2


def test_escalation_keeps_both_replies_and_the_second_counts():
    esc = Escalation("lmstudio", "ollama", "big", 0.2, 0.5, "no code")
    session = fold([_decision(), Token("sorry"), _done(text="sorry"), esc, Token("x = 1"),
                    _done("ollama", text="x = 1", escalated=True)])
    first, second = session.turns[0].replies
    assert first.text == "sorry" and second.escalated and second.escalation == esc
    assert session.turns[0].answer == "x = 1"


def test_fallback_moves_a_waiting_reply_to_the_other_backend():
    session = fold([_decision("ollama"), Waiting("ollama", "m", "queued", 0.1),
                    Fallback("ollama", "lmstudio", "small", "down"), Token("x"),
                    _done(text="x")])
    turn = session.turns[0]
    assert turn.fallback is not None and turn.replies[0].backend == "lmstudio"
    assert turn.replies[0].wait is None


def test_an_error_keeps_the_partial_text_and_a_cancel_keeps_what_arrived():
    failed = fold([_decision(), Error("gone", backend="lmstudio", partial="half")])
    turn = failed.turns[0]
    assert turn.status == "failed" and turn.error == "gone"
    assert turn.replies[0].text == "half" and turn.replies[0].status == "failed"
    cancelled = fold([_decision(), Token("so far"), Cancelled()])
    reply = cancelled.turns[0].replies[0]
    assert cancelled.turns[0].status == "cancelled" and reply.text == "so far"
    assert reply.status == "cancelled" and "esc" in reply.end_note


def test_an_event_with_no_running_prompt_is_refused():
    with pytest.raises(ValueError):
        apply(Session(), Token("x"))


def test_a_one_prompt_choice_is_used_up_and_a_pin_stays():
    session = Session()
    session.next_force = "ollama"
    first = session.new_turn("a")
    second = session.new_turn("b")
    assert (first.force, first.force_source) == ("ollama", "next")
    assert (second.force, second.force_source) == (None, None)
    session.pin = "lmstudio"
    third = session.new_turn("c")
    prefixed = session.new_turn("d", force="ollama", force_source="prefix")
    assert (third.force, third.force_source) == ("lmstudio", "pin")
    assert (prefixed.force, prefixed.force_source) == ("ollama", "prefix")
    assert session.in_force == ("lmstudio", "pin")


def test_attachments_go_in_the_history_as_they_were_sent():
    session = fold([_decision(), Token("ok"), _done(text="ok")])
    session.turns[0].attachments = (Attachment("a.py", 4, "x=1\n"),)
    history = session.history_before(session.new_turn("next"))
    assert history[0]["content"].startswith("File: a.py\n```\nx=1\n```\n")


# -- any valid sequence: the TUI's fold and an ask --json replay agree ---------------------

_text = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=8)
_tokens = st.lists(st.one_of(_text.map(Token), _text.map(Thinking)), max_size=6)


@st.composite
def event_sequences(draw):
    events: list = [_decision()]
    events += draw(_tokens)
    kind = draw(st.sampled_from(["done", "failover", "escalation", "error", "fallback"]))
    if kind == "fallback":
        events.insert(1, Fallback("lmstudio", "ollama", "big", "down"))
    if kind == "failover":
        events.append(Failover("lmstudio", "ollama", "big", len(events) - 1, "broke"))
        events += draw(_tokens)
    if kind == "error":
        events.append(Error(draw(_text), backend="lmstudio", partial=draw(_text)))
        return events
    text = "".join(e.text for e in events if isinstance(e, Token))
    events.append(_done(text=text, warnings=("w",), confidence_notes=("n",)))
    if kind == "escalation":
        events.append(Escalation("lmstudio", "ollama", "big", 0.1, 0.5, "weak"))
        events += draw(_tokens)
        events.append(_done("ollama", text="z", escalated=True))
    return events


@settings(max_examples=150, deadline=None)
@given(event_sequences())
def test_the_tui_fold_and_a_json_replay_give_the_same_session(events):
    direct = fold(events)
    lines = [json.dumps(event_to_dict(e)) for e in events]  # what ask --json prints
    replayed = fold([event_from_dict(json.loads(line)) for line in lines])
    assert turn_to_record(direct.turns[0]) == turn_to_record(replayed.turns[0])


@settings(max_examples=100, deadline=None)
@given(event_sequences())
def test_a_record_round_trips(events):
    turn = fold(events).turns[0]
    record = json.loads(json.dumps(turn_to_record(turn)))
    assert record["schema"] == RECORD_SCHEMA
    again = turn_from_record(record)
    assert turn_to_record(again) == turn_to_record(turn)


def test_a_turn_saved_mid_reply_comes_back_failed_and_says_why():
    session = Session()
    turn = session.new_turn("p")
    session.start(turn)
    apply(session, _decision())
    apply(session, Token("part"))
    back = turn_from_record(json.loads(json.dumps(turn_to_record(turn))))
    assert back.status == "failed" and "interrupted" in (back.error or "")
    assert back.replies[0].text == "part" and back.replies[0].status == "failed"


def test_a_malformed_record_loads_as_far_as_it_can():
    turn = turn_from_record({"schema": 3, "number": "x", "prompt": 5, "replies": [
        {"backend": 1, "text": "hi", "status": "nonsense", "done": {"bad": 1},
         "marks": [[99, "m"]]},
        "not a reply"], "decision": {"backend": "only"}, "status": "done"})
    assert turn.status == "done" and turn.decision is None
    (reply,) = turn.replies
    assert reply.text == "hi" and reply.done is None and reply.marks == []


# -- records written by earlier versions ---------------------------------------------------


def test_a_store_written_by_schema_2_loads(tmp_path):
    path = tmp_path / "old.sqlite3"
    shutil.copy(FIXTURE, path)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
    with Store(path) as store:
        (chat,) = list_chats(store)
        assert chat.name == "chat-1" and chat.turns == 4
        assert chat.backends == ("lmstudio", "ollama")
        session = load_chat(store, chat.id)
    plain, escalated, failover, forced = session.turns
    assert plain.answer.startswith("Here:") and plain.replies[0].rating is True
    assert plain.decision is not None and plain.decision.task_type == "format"
    first, second = escalated.replies
    assert first.text == "Sorry, I can't help with that." and second.escalated
    assert escalated.answer == "```python\nx = 1\n```"
    (reply,) = failover.replies
    assert failover.failover is not None and failover.failover.tokens_so_far == 12
    assert reply.marks and reply.marks[0][0] == 38 and reply.backend == "lmstudio"
    assert forced.force == "ollama" and forced.decision is not None and forced.decision.forced
    assert [t.number for t in session.turns] == [1, 2, 3, 4]
    # and it carries on: a new turn is saved in the new shape beside the old ones
    with Store(path) as store:
        again = open_chat(store, resume=True)
        assert again.id == session.id and len(again.turns) == 4
        assert session.history_before(session.new_turn("next"))[1]["content"].startswith("Here:")
