"""Replaying real replies of the default model: identical, turn after turn, across processes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from clitools import assert_one_line_error, chatcli

import chatcli as api

pytestmark = pytest.mark.model

SAMPLED = ["--temperature", "0.9", "--max-tokens", "16", "--stats"]


def test_a_first_reply_sampled_at_a_seed_replays_identical(chatcli_home: Path) -> None:
    asked = chatcli(chatcli_home, "ask", *SAMPLED, "--seed", "11", "--session", "r", "Name a bird.")
    assert asked.code == 0, asked.stderr

    replayed = chatcli(chatcli_home, "replay", "r")

    assert replayed.code == 0, replayed.stderr
    assert replayed.stdout.startswith("identical: reply ")


def test_a_third_turn_resumed_from_a_snapshot_replays_its_whole_chain(chatcli_home: Path) -> None:
    for seed, question in (("1", "Name a river."), ("2", "How long is it?"), ("3", "And why?")):
        asked = chatcli(chatcli_home, "ask", *SAMPLED, "--seed", seed, "--session", "t", question)
        assert asked.code == 0, asked.stderr
    assert asked.stats()["cached_prompt_tokens"] > 0  # the new process restored a KV snapshot

    replayed = chatcli(chatcli_home, "replay", "t", "--json")

    assert replayed.code == 0, replayed.stderr
    outcome = json.loads(replayed.stdout)
    assert outcome["identical"] and outcome["generations_evaluated"] == 3
    assert outcome["replayed"] == outcome["recorded"] and outcome["diff"] == ""


def test_another_model_digest_is_said_in_one_line_with_exit_11(
    chatcli_home: Path, tmp_path: Path
) -> None:
    assert chatcli(chatcli_home, "ask", *SAMPLED, "--seed", "5", "--session", "d", "Hi.").code == 0
    exported = json.loads(chatcli(chatcli_home, "sessions", "export", "d").stdout)
    for session in exported["sessions"]:
        for message in session["messages"]:
            if message["role"] == "assistant":
                message["model_sha256"] = "0" * 64
                assert message["evaluation"]["sampled"]  # the record travels with the export
    assert chatcli(chatcli_home, "sessions", "delete", "d", "--yes").code == 0
    changed = tmp_path / "changed.json"
    changed.write_text(json.dumps(exported))
    assert chatcli(chatcli_home, "sessions", "import", str(changed)).code == 0

    result = chatcli(chatcli_home, "replay", "d")

    assert_one_line_error(result, 11, "not reproducible: the model file differs")


def test_several_turns_in_one_process_replay_identical_from_python() -> None:
    with api.open_session("several") as chat:
        for seed, question in enumerate(("Name a tree.", "Where does it grow?", "Why there?")):
            chat.ask(question, temperature=0.8, seed=seed, max_tokens=16)
        replies = [m for m in chat.history() if m.role == "assistant"]

        outcomes = [chat.replay(), chat.replay(replies[0].id)]
        after = chat.ask("Thanks.", temperature=0, max_tokens=4)

    assert [o.identical for o in outcomes] == [True, True], [o.diff() for o in outcomes]
    assert outcomes[0].chain_length == 3 and outcomes[1].chain_length == 1
    assert after  # the engine still answers after a replay emptied its cache
