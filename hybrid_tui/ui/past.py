"""Turns taken off the screen in long sessions, kept as data.

Every mounted widget costs each screen update time (Textual lays out and walks them all), so
a session of hundreds of turns would slow down turn by turn. ``Conversation`` keeps only the
newest turns mounted; older ones become :class:`PastTurn` records holding everything the app
still needs from them: the chat history sent with the next prompt, the transcript export,
and the stored record to rebuild the turn on screen when the reader asks for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hybrid_tui.ui.export import ReplyRecord, TurnRecord
from hybrid_tui.ui.runner import turn_record
from hybrid_tui.ui.widgets.turn import TurnView
from hybrid_tui.ui.widgets.turn_text import stats_content


@dataclass(frozen=True, slots=True)
class PastTurn:
    """A finished turn no longer on screen."""

    number: int
    prompt: str
    status: str
    #: the final answer (what the chat history sends), "" if none finished
    answer: str
    #: ``turn_record`` of the turn: how it is rebuilt on screen
    record: dict[str, Any]
    #: the turn as the transcript export writes it
    export: TurnRecord


def export_record(turn: TurnView) -> TurnRecord:
    """``turn`` as the transcript export writes it."""
    return TurnRecord(
        number=turn.number, stamp=turn.stamp, prompt=turn.prompt, status=turn.status,
        badge=turn.decision.reason if turn.decision else "", error=turn.error or "",
        replies=[
            ReplyRecord(r.backend, r.model, r.marked_text, r.status,
                        stats=stats_content(r.done, rating=r.rating).plain if r.done else "")
            for r in turn.replies
        ],
    )


def past_turn(turn: TurnView) -> PastTurn:
    """What stays of ``turn`` once it leaves the screen."""
    return PastTurn(turn.number, turn.prompt, turn.status, turn.answer, turn_record(turn),
                    export_record(turn))
