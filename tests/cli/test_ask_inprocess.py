"""``chatcli ask`` in-process (typer's CliRunner) on the scripted backend: every path, fast.

The backend is registered through the registry (conftest), and chosen with
``--model scripted:...`` the way a user chooses any backend. The real-model subprocess tests
in tests/cli/test_ask.py and beside it stay as the end-to-end layer.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fakes import ScriptedBackend
from typer.testing import CliRunner, Result

from chatcli.assembly import open_sessions
from chatcli.cli.main import app

ECHO = ["--model", "scripted:echo"]


def ask(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(app, ["ask", *args], input=stdin)


def saved_sessions() -> list[dict[str, object]]:
    with open_sessions() as sessions:
        return [item.to_dict() for item in sessions.summaries()]


def one_line_error(result: Result, code: int, *words: str) -> None:
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("chatcli: error: ")
    assert "Traceback" not in result.output
    for word in words:
        assert word in lines[0]


def test_the_answer_alone_goes_to_stdout_and_is_saved() -> None:
    result = ask(*ECHO, "hello there")

    assert result.exit_code == 0, result.output
    assert result.stdout == "hello there\n"
    assert [s["title"] for s in saved_sessions()] == ["hello there"]


def test_piped_text_is_the_material_and_the_argument_the_instruction() -> None:
    result = ask(*ECHO, "Summarize.", stdin="line one\nline two\n")

    assert result.stdout == "line one\nline two\n\nSummarize.\n"


def test_json_answer_carries_the_saved_ids_and_usage() -> None:
    data = json.loads(ask(*ECHO, "--json", "hi").stdout)

    (session,) = saved_sessions()
    assert data["answer"] == "hi"
    assert data["session_id"] == session["id"]
    assert data["finish_reason"] == "stop"
    assert data["usage"]["completion_tokens"] == 1


def test_named_session_is_created_then_continued(scripted_backend: ScriptedBackend) -> None:
    ask(*ECHO, "--session", "trip", "first")
    ask(*ECHO, "--session", "trip", "second")

    (session,) = saved_sessions()
    assert session["name"] == "trip"
    assert session["messages"] == 4
    sent = [m.content for m in scripted_backend.built[-1].requests[-1]]
    assert sent[-3:] == ["first", "first", "second"]


def test_continue_takes_the_latest_session_and_its_model() -> None:
    ask(*ECHO, "one")
    result = ask("--continue", "two")  # no --model: the session's own

    assert result.exit_code == 0, result.output
    assert result.stdout == "two\n"
    assert saved_sessions()[0]["messages"] == 4


def test_continue_without_any_session_is_a_not_found_error() -> None:
    one_line_error(ask(*ECHO, "--continue", "hi"), 5, "no saved session")


def test_continue_and_session_together_are_a_usage_error() -> None:
    one_line_error(ask(*ECHO, "--continue", "--session", "x", "hi"), 2, "not both")
    assert saved_sessions() == []


def test_no_save_leaves_nothing_behind() -> None:
    result = ask(*ECHO, "--no-save", "--json", "hi")

    assert json.loads(result.stdout)["session_id"] is None
    assert saved_sessions() == []


def test_a_first_message_that_cannot_fit_leaves_no_empty_session() -> None:
    result = ask(*ECHO, "--ctx", "128", "--max-tokens", "8", "word " * 400)

    one_line_error(result, 6, "tokens", "--ctx")
    assert saved_sessions() == []


def test_a_failed_later_message_keeps_the_session_and_its_messages() -> None:
    ask(*ECHO, "--session", "keep", "--ctx", "128", "short")
    result = ask(*ECHO, "--session", "keep", "--ctx", "128", "--max-tokens", "8", "word " * 400)

    assert result.exit_code == 6
    assert saved_sessions()[0]["messages"] == 2


def test_stats_is_one_json_line_on_stderr() -> None:
    result = ask(*ECHO, "--stats", "hi")

    stats = json.loads(result.stderr.strip().splitlines()[-1])
    assert stats["model"] == "scripted:echo"
    assert stats["completion_tokens"] == 1
    assert result.stdout == "hi\n"


def test_system_and_overflow_flags_are_saved_with_the_session(
    scripted_backend: ScriptedBackend,
) -> None:
    ask(*ECHO, "--session", "s", "--system", "Be brief.", "--overflow", "error", "hi")

    with open_sessions() as sessions:
        session = sessions.require("s")
    assert (session.system_prompt, session.overflow) == ("Be brief.", "error")
    assert scripted_backend.built[-1].requests[-1][0].content == "Be brief."


def test_sampling_flags_reach_the_engine(scripted_backend: ScriptedBackend) -> None:
    ask(*ECHO, "--temperature", "0", "--seed", "7", "--stop", "END", "hi")

    params = scripted_backend.built[-1].params[-1]
    assert (params.temperature, params.seed, params.stop) == (0.0, 7, ("END",))


@pytest.mark.parametrize(
    ("flag", "value", "words"),
    [
        ("--temperature", "3", "the most is 2"),
        ("--top-p", "-0.1", "the least is 0"),
        ("--max-tokens", "0", "the least is 1"),
    ],
)
def test_out_of_range_sampling_is_refused_before_anything_runs(
    flag: str, value: str, words: str, scripted_backend: ScriptedBackend
) -> None:
    result = ask(*ECHO, flag, value, "hi")

    assert result.exit_code == 2
    assert words in result.output
    assert scripted_backend.built == []


def test_the_backend_reads_its_own_config_section(chatcli_home: Path) -> None:
    config = chatcli_home / "config" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text('[scripted]\nreply = "from the config"\n', encoding="utf-8")

    assert ask("--model", "scripted:fixed", "hi").stdout == "from the config\n"


def test_an_unknown_key_in_a_backend_section_is_a_warning_and_ignored(
    chatcli_home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = chatcli_home / "config" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text("[scripted]\ncolour = 1\n", encoding="utf-8")

    assert ask(*ECHO, "hi").stdout == "hi\n"
    (warning,) = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert "unknown scripted setting 'colour' (ignored)" in warning and "line 2" in warning


def test_nothing_to_ask_is_a_usage_error() -> None:
    one_line_error(ask(*ECHO), 2, "nothing to ask")


def test_more_continues_the_last_reply_of_the_session(chatcli_home: Path) -> None:
    config = chatcli_home / "config" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text('[scripted]\nreply = "alpha beta gamma"\n', encoding="utf-8")
    cut = ask("--model", "scripted:fixed", "--session", "s", "--max-tokens", "1", "go")
    assert cut.stdout == "alpha \n"

    more = ask("--session", "s", "--more", "--max-tokens", "2")

    assert more.exit_code == 0, more.output
    assert more.stdout == "alpha beta \n"  # the scripted backend says its line again
    with open_sessions() as sessions:
        reply = sessions.history(sessions.require("s"))[-1]
    assert reply.content == "alpha alpha beta "


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--more"], "add -c or --session"),
        (["--session", "s", "--more", "new question"], "takes no prompt"),
    ],
)
def test_more_is_refused_without_a_session_or_with_a_prompt(args: list[str], words: str) -> None:
    one_line_error(ask(*ECHO, *args), 2, words)


def test_more_after_a_complete_reply_says_there_is_nothing_to_continue() -> None:
    ask(*ECHO, "--session", "s", "hi")

    one_line_error(ask("--session", "s", "--more"), 2, "ended on its own")
    assert saved_sessions()[0]["messages"] == 2


def test_numbers_in_notices_are_written_one_way(chatcli_home: Path) -> None:
    ask(*ECHO, "--session", "long", "--ctx", "2048", "word " * 300)
    for _ in range(6):
        ask(*ECHO, "--session", "long", "--ctx", "2048", "word " * 300)
    result = ask(*ECHO, "--session", "long", "--ctx", "2048", "word " * 300)

    notice = next(line for line in result.stderr.splitlines() if "outside the context" in line)
    assert "(2,048 tokens)" in notice
