"""Reading ``chatcli eval`` data: plain text, conversations as JSON lines, a whole export."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chatcli.core.evaldata import read_eval_data
from chatcli.engine.base import ChatMessage
from chatcli.errors import BadFileError


def lines(path: Path, *items: object) -> Path:
    path.write_text("\n".join(json.dumps(item) for item in items) + "\n", encoding="utf-8")
    return path


def message(id_: str, parent: str | None, role: str, content: str) -> dict[str, object]:
    return {"id": id_, "session_id": "s1", "parent_id": parent, "role": role, "content": content}


def test_a_text_file_is_one_text_scored_whole(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("Once upon a time.\n", encoding="utf-8")

    data = read_eval_data(path)

    assert data.texts == ("Once upon a time.\n",) and data.conversations == ()


def test_plain_messages_lines_are_conversations(tmp_path: Path) -> None:
    path = lines(
        tmp_path / "chats.jsonl",
        {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]},
        {"messages": [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"}]},
    )

    data = read_eval_data(path)

    assert data.texts == ()
    assert data.conversations[1] == (ChatMessage("user", "2+2?"), ChatMessage("assistant", "4"))


def test_an_export_session_line_gives_its_shown_branch_and_system_prompt(tmp_path: Path) -> None:
    session = {"id": "s1", "system_prompt": "Be brief.", "current_leaf": "a2"}
    messages = [
        message("u1", None, "user", "hi"),
        message("a1", "u1", "assistant", "first answer"),
        message("a2", "u1", "assistant", "regenerated answer"),
    ]
    path = lines(tmp_path / "export.jsonl", {"session": session, "messages": messages})

    (conversation,) = read_eval_data(path).conversations

    assert conversation == (
        ChatMessage("system", "Be brief."),
        ChatMessage("user", "hi"),
        ChatMessage("assistant", "regenerated answer"),
    )


def test_a_whole_chatcli_export_is_read_session_by_session(tmp_path: Path) -> None:
    sessions = [
        {"session": {"id": f"s{n}", "system_prompt": "", "current_leaf": "a"}, "messages": [
            message("u", None, "user", f"question {n}"),
            message("a", "u", "assistant", f"answer {n}"),
        ]}
        for n in (1, 2)
    ]  # fmt: skip
    document = {"format": "chatcli-sessions", "format_version": 2, "sessions": sessions}
    path = tmp_path / "all.json"
    path.write_text(json.dumps(document, indent=1), encoding="utf-8")

    data = read_eval_data(path)

    assert [c[-1].content for c in data.conversations] == ["answer 1", "answer 2"]


def test_the_format_option_overrides_the_suffix(tmp_path: Path) -> None:
    path = lines(tmp_path / "chats.txt", {"messages": [{"role": "assistant", "content": "x"}]})

    assert read_eval_data(path, "chat").conversations == ((ChatMessage("assistant", "x"),),)
    assert read_eval_data(path, "auto").texts == (path.read_text(encoding="utf-8"),)


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("missing.txt", None, ["not found", "missing.txt"]),
        ("empty.txt", b"  \n", ["empty.txt is empty"]),
        ("latin1.txt", "café".encode("latin-1"), ["not UTF-8"]),
        ("bad.jsonl", b'{"messages": []}\nnot json\n', ["bad.jsonl, line 2", "not JSON"]),
        ("shape.jsonl", b'{"messages": []}\n\n[1, 2]\n', ["line 3", "not a conversation"]),
        ("role.jsonl", b'{"messages": [{"role": "bot", "content": "x"}]}', ["line 1", "'bot'"]),
        ("text.jsonl", b'{"messages": [{"role": "user", "content": 3}]}', ["not text"]),
        ("users.jsonl", b'{"messages": [{"role": "user", "content": "hi"}]}', ["no assistant"]),
    ],
)
def test_bad_data_files_are_named_errors(
    tmp_path: Path, name: str, content: bytes | None, words: list[str]
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)

    with pytest.raises(BadFileError) as raised:
        read_eval_data(path)

    assert raised.value.exit_code == 9
    for word in words:
        assert word in raised.value.message
