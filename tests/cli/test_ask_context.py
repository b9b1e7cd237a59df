"""Context handling through the real CLI: snapshots across processes, overflow, truncation."""

from __future__ import annotations

from pathlib import Path

import pytest
from clitools import DETERMINISTIC, chatcli

pytestmark = pytest.mark.model

SHORT = ["--max-tokens", "32", *DETERMINISTIC, "--stats"]


def snapshots(home: Path) -> list[Path]:
    return sorted((home / "cache" / "kv").glob("*/*.kv"))


def test_continuing_in_a_new_process_loads_the_kv_snapshot(chatcli_home: Path) -> None:
    first = chatcli(chatcli_home, "ask", *SHORT, "Describe a lighthouse.")
    assert first.code == 0 and len(snapshots(chatcli_home)) == 1
    second = chatcli(chatcli_home, "ask", *SHORT, "-c", "Who lives there?")
    assert second.code == 0
    stats = second.stats()
    assert stats["cached_prompt_tokens"] >= first.stats()["prompt_tokens"]
    assert len(snapshots(chatcli_home)) == 1  # the longer snapshot replaced the shorter one


def test_corrupt_snapshot_is_ignored_and_the_answer_still_comes(chatcli_home: Path) -> None:
    assert chatcli(chatcli_home, "ask", *SHORT, "Name a river.").code == 0
    for path in (chatcli_home / "cache" / "kv").rglob("*.kv"):  # snapshots and openings
        path.write_bytes(b"garbage")
    result = chatcli(chatcli_home, "ask", *SHORT, "-c", "How long is it?")
    assert result.code == 0
    assert result.stdout.strip()
    assert result.stats()["cached_prompt_tokens"] == 0
    assert "Traceback" not in result.stderr


def test_no_save_keeps_no_snapshot(chatcli_home: Path) -> None:
    assert chatcli(chatcli_home, "ask", *SHORT, "--no-save", "hi").code == 0
    assert list((chatcli_home / "cache" / "kv").rglob("*.kv")) == []  # nor an opening


def test_no_save_uses_the_opening_a_saved_ask_kept_and_adds_nothing(chatcli_home: Path) -> None:
    fresh = chatcli(chatcli_home, "ask", *SHORT, "--no-save", "Name a mountain.")
    assert chatcli(chatcli_home, "ask", *SHORT, "Name a river.").code == 0
    kept = sorted((chatcli_home / "cache" / "kv").rglob("*"))
    warm = chatcli(chatcli_home, "ask", *SHORT, "--no-save", "Name a mountain.")
    assert warm.code == 0, warm.stderr
    assert fresh.stats()["cached_prompt_tokens"] == 0
    assert 0 < warm.stats()["cached_prompt_tokens"] < warm.stats()["prompt_tokens"]
    assert warm.stdout == fresh.stdout  # the opening's state is the one evaluating it gives
    assert sorted((chatcli_home / "cache" / "kv").rglob("*")) == kept


def test_session_longer_than_the_context_still_answers_and_says_what_was_dropped(
    chatcli_home: Path,
) -> None:
    paragraph = "Lighthouses guide ships along dangerous coasts at night. " * 12
    args = ["ask", "--ctx", "512", "--max-tokens", "24", *DETERMINISTIC, "--session", "long"]
    for turn in range(4):
        result = chatcli(chatcli_home, *args, f"{paragraph} Question {turn}: summarize.")
        assert result.code == 0, result.stderr
    final = chatcli(chatcli_home, *args, "--stats", "What was the last question number?")
    assert final.code == 0
    stats = final.stats()
    assert stats["dropped_messages"] > 0
    assert stats["prompt_tokens"] <= 512 - 24
    notice = [line for line in final.stderr.splitlines() if "outside the context" in line]
    assert len(notice) == 1 and notice[0].startswith("chatcli: ")
    shown = chatcli(chatcli_home, "sessions", "show", "long", "--json").json()
    assert len(shown["transcript"]) == 10  # nothing was deleted from the store


def test_truncate_input_cuts_the_middle_of_piped_text_with_a_warning(chatcli_home: Path) -> None:
    lines = "\n".join(f"log line {n}: all systems nominal" for n in range(400))
    args = ["ask", "--ctx", "512", "--max-tokens", "16", *DETERMINISTIC, "--stats"]
    refused = chatcli(chatcli_home, *args, "What happened last?", stdin=lines)
    assert refused.code == 6 and "tokens" in refused.stderr
    result = chatcli(chatcli_home, *args, "--truncate-input", "What happened last?", stdin=lines)
    assert result.code == 0, result.stderr
    assert "warning" in result.stderr and "left out" in result.stderr
    assert result.stats()["prompt_tokens"] <= 512 - 16
    sent = chatcli(chatcli_home, "sessions", "list", "--json").json()[0]["id"]
    question = chatcli(chatcli_home, "sessions", "show", sent, "--json").json()["transcript"][0]
    text = question["content"]
    assert text.startswith("log line 0:") and "log line 399:" in text
    assert "characters cut to fit the context" in text
    assert text.endswith("What happened last?")  # the instruction is never cut


def test_summarize_policy_keeps_a_summary_note_of_dropped_turns(chatcli_home: Path) -> None:
    paragraph = "The harbour master logs every ship, its cargo and its captain. " * 10
    args = ["ask", "--ctx", "512", "--max-tokens", "24", *DETERMINISTIC, "--session", "sum"]
    first = chatcli(chatcli_home, *args, "--overflow", "summarize", f"{paragraph} Note 0.")
    assert first.code == 0, first.stderr
    for turn in range(1, 4):
        assert chatcli(chatcli_home, *args, f"{paragraph} Note {turn}.").code == 0
    final = chatcli(chatcli_home, *args, "--stats", "What do we know so far?")
    assert final.code == 0, final.stderr
    assert final.stats()["summarized"] is True
    assert "a summary of them was sent" in final.stderr
    shown = chatcli(chatcli_home, "sessions", "show", "sum", "--json").json()
    assert shown["overflow"] == "summarize"
    assert len(shown["summaries"]) == 1 and shown["summaries"][0]["content"].strip()
    assert len(shown["transcript"]) == 10


def test_a_chat_past_the_context_reuses_its_cached_prefix_on_every_turn_but_drops(
    chatcli_home: Path,
) -> None:
    args = ["ask", "--ctx", "1024", "--max-tokens", "60", "--ignore-eos", *DETERMINISTIC]
    previous: dict[str, int] | None = None
    drops = 0
    for turn in range(20):
        more = ["-c"] if turn else []
        text = f"Tell me fact number {turn} about the ocean, in detail."
        result = chatcli(chatcli_home, *args, "--stats", *more, text)
        assert result.code == 0, result.stderr
        stats = result.stats()
        if previous is not None and stats["dropped_messages"] == previous["dropped_messages"]:
            assert stats["cached_prompt_tokens"] >= previous["prompt_tokens"], (turn, stats)
        elif previous is not None:
            drops += 1
        previous = stats
    assert 1 <= drops <= 3


def test_a_drop_turn_in_a_new_process_restores_the_snapshot_and_shifts_out_the_old_turns(
    chatcli_home: Path,
) -> None:
    """``ask -c`` past the context: the drop turn reuses the kept turns' KV, not just the system."""
    args = ["ask", "--ctx", "512", "--max-tokens", "60", *DETERMINISTIC, "--stats"]
    previous: dict[str, int] | None = None
    drop_turns = []
    for turn in range(12):
        more = ["-c"] if turn else []
        question = f"Tell me fact {turn} about the moon, in detail."
        result = chatcli(chatcli_home, *args, *more, question)
        assert result.code == 0, result.stderr
        stats = result.stats()
        if previous is not None and stats["dropped_messages"] > previous["dropped_messages"]:
            drop_turns.append(stats)
        previous = stats
    assert drop_turns, "the chat never outgrew its context"
    for stats in drop_turns:
        assert stats["cached_prompt_tokens"] >= stats["prompt_tokens"] // 2, stats
