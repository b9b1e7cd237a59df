"""``ask -f`` through the real CLI and the real default model."""

from __future__ import annotations

from pathlib import Path

import pytest
from clitools import DETERMINISTIC, assert_one_line_error, chatcli

pytestmark = pytest.mark.model


def sessions(home: Path) -> list[dict[str, object]]:
    listed: list[dict[str, object]] = chatcli(home, "sessions", "list", "--json").json()
    return listed


def test_the_model_answers_from_an_attached_file(chatcli_home: Path, tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("The secret password is PINEAPPLE.\n")
    result = chatcli(
        chatcli_home,
        "ask",
        *DETERMINISTIC,
        "--stats",
        "-f",
        str(notes),
        "What is the secret password? Answer with the password only.",
    )
    assert result.code == 0, result.stderr
    assert "PINEAPPLE" in result.stdout
    (attached,) = result.stats()["attachments"]
    assert attached["path"] == str(notes) and attached["size"] == 34 and attached["tokens"] > 8
    session_id = str(sessions(chatcli_home)[0]["id"])
    shown = chatcli(chatcli_home, "sessions", "show", session_id)
    assert f"[attached: {notes} ({attached['tokens']} tokens)]" in shown.stdout
    follow = chatcli(chatcli_home, "ask", "-c", *DETERMINISTIC, "--stats", "Say it again.")
    assert follow.stats()["cached_prompt_tokens"] >= attached["tokens"]


def test_a_binary_file_is_refused_and_nothing_is_saved(chatcli_home: Path, tmp_path: Path) -> None:
    image = tmp_path / "photo.jpg"
    image.write_bytes(b"\xff\xd8\xff\xe0\0\x10JFIF\0")
    result = chatcli(chatcli_home, "ask", "-f", str(image), "Describe it.")
    assert_one_line_error(result, 9, "photo.jpg is a binary file")
    assert sessions(chatcli_home) == []


def test_a_folder_over_the_limit_needs_yes_when_not_on_a_terminal(
    chatcli_home: Path, tmp_path: Path
) -> None:
    for index in range(3):
        (tmp_path / "docs" / f"part{index}.txt").parent.mkdir(exist_ok=True)
        (tmp_path / "docs" / f"part{index}.txt").write_text(f"Part {index}.\n")
    limit = "2"
    refused = chatcli(
        chatcli_home,
        "ask",
        "-f",
        str(tmp_path / "docs"),
        "Count them.",
        CHATCLI_ATTACH_MAX_FILES=limit,
    )
    assert_one_line_error(refused, 2, "3 files", "over the limit (2 files", "add --yes")
    assert sessions(chatcli_home) == []
    args = ["ask", "--max-tokens", "8", *DETERMINISTIC, "--stats", "--yes"]
    allowed = chatcli(
        chatcli_home,
        *args,
        "-f",
        str(tmp_path / "docs"),
        "Count them.",
        CHATCLI_ATTACH_MAX_FILES=limit,
    )
    assert allowed.code == 0, allowed.stderr
    assert [a["path"] for a in allowed.stats()["attachments"]] == [
        str(tmp_path / "docs" / f"part{index}.txt") for index in range(3)
    ]


def test_attachments_that_do_not_fit_are_named_or_cut_fairly(
    chatcli_home: Path, tmp_path: Path
) -> None:
    big, small = tmp_path / "big.log", tmp_path / "small.txt"
    big.write_text("".join(f"line {n}: the pump reported pressure {n % 7}\n" for n in range(900)))
    small.write_text("The pump is in the basement.\n")
    args = ["ask", "--ctx", "1024", "--max-tokens", "16", *DETERMINISTIC]
    files = ["-f", str(small), "-f", str(big)]
    refused = chatcli(chatcli_home, *args, *files, "Where is the pump?")
    assert_one_line_error(refused, 6, f"largest attachments: {big}", "--truncate-input")
    assert sessions(chatcli_home) == []

    cut = chatcli(chatcli_home, *args, "--stats", "--truncate-input", *files, "Where is the pump?")
    assert cut.code == 0, cut.stderr
    assert f"warning: {big} does not fit" in cut.stderr and f"warning: {small}" not in cut.stderr
    stats = cut.stats()
    assert stats["prompt_tokens"] <= 1024 - 16
    kept = {a["path"]: a["tokens"] for a in stats["attachments"]}
    assert kept[str(small)] < 100 < 500 < kept[str(big)]  # the small one whole, the rest to the big


def test_a_20_mb_file_is_counted_and_refused_in_one_line(
    chatcli_home: Path, tmp_path: Path
) -> None:
    huge = tmp_path / "huge.txt"
    line = "the quick brown fox jumps over the lazy dog again and again\n"
    huge.write_text(line * (20 * (1 << 20) // len(line)))
    result = chatcli(chatcli_home, "ask", "-f", str(huge), "Summarize.", timeout=180)
    assert_one_line_error(result, 6, "more than the whole context", f"{huge}", "(20.0 MB)")
    assert sessions(chatcli_home) == []


def test_piped_text_and_attached_files_go_together(chatcli_home: Path, tmp_path: Path) -> None:
    recipe = tmp_path / "recipe.txt"
    recipe.write_text("Bake the bread for forty minutes.\n")
    result = chatcli(
        chatcli_home,
        "ask",
        "--max-tokens",
        "8",
        *DETERMINISTIC,
        "-f",
        str(recipe),
        "How long?",
        stdin="Notes from the kitchen.\n",
    )
    assert result.code == 0, result.stderr
    session_id = str(sessions(chatcli_home)[0]["id"])
    shown = chatcli(chatcli_home, "sessions", "show", session_id, "--json").json()
    question = shown["transcript"][0]
    assert question["content"] == "Notes from the kitchen.\n\nHow long?"
    assert [a["path"] for a in question["attachments"]] == [str(recipe)]
