"""Pilot tests: a thinking model's reasoning shown live in its own block, folded away when the
answer starts, toggled by key or click, and never sent back in the chat history."""

from __future__ import annotations

from tests.ui.helpers import SIZE, card_status, settle, wait_for

COMPLEX = "analyze this complex system architecture and plan a migration"


async def test_thinking_streams_then_folds_and_stays_out_of_the_history(make_app, ollama_sim):
    ollama_sim.knobs.quirks.add("thinking")
    ollama_sim.knobs.tokens_per_s = 60.0
    ollama_sim.knobs.reply_tokens = 40  # the answer: long enough to see the block fold
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: card_status(app, "ollama") == "up")
        view = await app.send(COMPLEX, force="ollama")
        turn = view.turn
        # while it thinks: the block is there, open, and the answer has not started
        await wait_for(pilot, lambda: bool(view.replies) and view.replies[0].thinking
                       is not None and turn.current.thinking_chunks > 3, what="thinking")
        block = view.replies[0].thinking
        await pilot.pause(0.1)
        assert turn.current.parts == [] and block.expanded
        assert "thinking ·" in str(block.render()) and "tokens" in str(block.render())
        # the answer starts: the block folds to its label
        await wait_for(pilot, lambda: bool(turn.current.parts), what="answer")
        await pilot.pause(0.2)
        assert not block.expanded
        await wait_for(pilot, lambda: app.idle, timeout=60)
        await settle(pilot)
        reply = turn.current
        assert reply.thinking.startswith("The user asks about") and reply.text
        assert reply.thinking not in reply.text
        label = str(block.render())
        assert label.startswith("▸ thinking ·") and f"{reply.thinking_chunks} tokens" in label
        # ctrl+t (or a click) shows it again
        await pilot.press("ctrl+t")
        assert block.expanded and "Edge cases first" in str(block.render())
        app.conversation.anchor(False)
        app.conversation.scroll_to_widget(block, animate=False, top=True)
        await settle(pilot)
        await pilot.click(block)
        assert not block.expanded
        # the next prompt's request carries the answer, never the thinking
        ollama_sim.knobs.tokens_per_s = None
        await app.send("and the rollback plan?", force="ollama")
        await wait_for(pilot, lambda: app.idle, timeout=60)
        sent = ollama_sim.requests[-1]["messages"]
        assert any(m["role"] == "assistant" and m["content"] == reply.text for m in sent)
        assert "Edge cases first" not in str(sent)
