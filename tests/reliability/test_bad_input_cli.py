"""Bad input on the command line: out-of-range numbers, odd names, odd stdin, unknown things.

In-process on the scripted backend; each case: one line on stderr with the documented exit
code, or the right output where the input is legitimate, and nothing saved lost.
"""

from __future__ import annotations

import os

import pytest
from badinput import ECHO, one_line_error, run, saved, succeeded, transcript
from fakes import ScriptedBackend

CPUS = os.cpu_count() or 1

OUT_OF_RANGE = [
    ("--temperature", "-0.5", "the least is 0"),
    ("--temperature", "2.01", "the most is 2"),
    ("--temperature", "nan", "nan is not a number"),
    ("--temperature", "inf", "the most is 2"),
    ("--temperature", "warm", "--temperature"),
    ("--top-p", "1.01", "the most is 1"),
    ("--top-p", "nan", "nan is not a number"),
    ("--top-k", "-1", "the least is 0"),
    ("--top-k", "1.5", "--top-k"),
    ("--min-p", "-0.1", "the least is 0"),
    ("--min-p", "1.5", "the most is 1"),
    ("--min-p", "nan", "nan is not a number"),
    ("--repeat-penalty", "-1", "the least is 0"),
    ("--repeat-penalty", "2.5", "the most is 2"),
    ("--repeat-penalty", "nan", "nan is not a number"),
    ("--max-tokens", "-5", "the least is 1"),
    ("--seed", "-1", "the least is 0"),
    ("--seed", "lucky", "--seed"),
    ("--ctx", "127", "the least is 128"),
    ("--ctx", "-1", "the least is 128"),
    ("--gpu-layers", "-2", "the least is -1"),
    ("--threads", "0", "the least is 1"),
    ("--threads", str(CPUS + 1), f"{CPUS} CPUs"),
    ("--threads", "100000", f"{CPUS} CPUs"),
    ("--branch", "0", "the least is 1"),
    ("--overflow", "panic", "drop-oldest"),
]


@pytest.mark.parametrize(
    ("flag", "value", "words"), OUT_OF_RANGE, ids=[f"{f}={v}" for f, v, _ in OUT_OF_RANGE]
)
def test_an_out_of_range_number_is_one_usage_line_before_anything_runs(
    flag: str, value: str, words: str, scripted_backend: ScriptedBackend
) -> None:
    line = one_line_error(run("ask", *ECHO, flag, value, "hi"), 2, flag, words)

    assert "ask --help" in line
    assert scripted_backend.built == []
    assert saved() == []


HUGE = "99999999999999999999999999"


@pytest.mark.parametrize("flag", ["--seed", "--max-tokens", "--top-k"])
def test_a_huge_but_valid_number_still_answers(flag: str) -> None:
    assert succeeded(run("ask", *ECHO, flag, HUGE, "hi")) == "hi\n"


@pytest.mark.parametrize("command", [["search", "hi"], ["sessions", "list"]])
def test_a_limit_larger_than_sqlite_integers_means_all(command: list[str]) -> None:
    succeeded(run("ask", *ECHO, "hi"))

    assert "hi" in succeeded(run(*command, "--limit", HUGE))


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["ask", "--bogus"], "No such option: --bogus"),
        (["sessions", "show"], "Missing argument"),
        (["sessions", "frobnicate"], "No such command 'frobnicate'"),
        (["search", "x", "--limit", "0"], "--limit"),
    ],
    ids=["unknown-option", "missing-argument", "unknown-subcommand", "search-limit-0"],
)
def test_a_usage_mistake_is_one_line_not_a_box(args: list[str], words: str) -> None:
    one_line_error(run(*args), 2, words, "--help")


@pytest.mark.parametrize("name", ["a/b", "..", "../../etc/passwd", "🦀 crab", "naïve café"])
def test_a_session_name_with_slashes_dots_or_emoji_is_a_fine_name(name: str) -> None:
    succeeded(run("ask", *ECHO, "--session", name, "first"))
    succeeded(run("ask", *ECHO, "--session", name, "second"))

    assert [s["name"] for s in saved()] == [name]
    assert [content for _, _, content in transcript(name)] == ["first", "first", "second", "second"]


def test_a_session_name_with_a_nul_is_a_usage_error() -> None:
    one_line_error(run("ask", *ECHO, "--session", "nul\x00here", "hi"), 2, "session name")
    assert saved() == []


@pytest.mark.parametrize("stdin", ["", " \n\t\n"], ids=["empty", "blank"])
def test_empty_stdin_and_no_prompt_is_nothing_to_ask(stdin: str) -> None:
    one_line_error(run("ask", *ECHO, stdin=stdin), 2, "nothing to ask")
    assert saved() == []


def test_invalid_utf8_on_stdin_is_read_with_replacement_characters() -> None:
    out = succeeded(run("ask", *ECHO, stdin=b"caf\xe9 \xff\xfe ok\n"))

    assert out == "caf\ufffd \ufffd\ufffd ok\n"
    assert transcript(saved()[0]["id"])[0][2] == "caf\ufffd \ufffd\ufffd ok"


def test_binary_stdin_with_nul_bytes_is_kept_as_sent() -> None:
    out = succeeded(run("ask", *ECHO, "What is this?", stdin=b"\x00\x01\x02PNG\x00"))

    assert out.startswith("\x00\x01\x02PNG\x00")
    assert transcript(saved()[0]["id"])[0][2].startswith("\x00\x01\x02PNG\x00")


def test_a_nul_in_the_prompt_argument_is_kept() -> None:
    assert succeeded(run("ask", *ECHO, "a\x00b")) == "a\x00b\n"


def test_twenty_megabytes_on_stdin_is_a_context_error_that_keeps_the_session() -> None:
    succeeded(run("ask", *ECHO, "--session", "keep", "hello"))
    big = ("word " * 4_000_000).encode()  # 20 MB

    one_line_error(run("ask", "--session", "keep", "Summarize", stdin=big), 6, "tokens")
    assert transcript("keep") == [
        ("user", "complete", "hello"),
        ("assistant", "complete", "hello"),
    ]


def test_twenty_megabytes_with_truncate_input_is_cut_to_fit() -> None:
    big = ("word " * 4_000_000).encode()

    result = run("ask", *ECHO, "--truncate-input", "--max-tokens", "5", "Sum up", stdin=big)

    assert result.exit_code == 0, result.output
    assert "does not fit the context" in result.stderr
    assert len(result.stdout.split()) == 5


def test_stdin_larger_than_the_context_is_a_context_error() -> None:
    line = one_line_error(
        run("ask", *ECHO, "--ctx", "256", "Sum up", stdin="word " * 1000), 6, "256"
    )
    assert "--ctx" in line
    assert saved() == []


UNKNOWN_SESSION = [
    ["sessions", "export", "nosuch"],
    ["sessions", "branches", "nosuch"],
    ["sessions", "rename", "nosuch", "New title"],
    ["sessions", "delete", "nosuch", "--yes"],
    ["ask", *ECHO, "--session", "nosuch", "--more"],
]


@pytest.mark.parametrize("args", UNKNOWN_SESSION, ids=[a[1] for a in UNKNOWN_SESSION])
def test_an_unknown_session_is_not_found_and_others_are_untouched(args: list[str]) -> None:
    succeeded(run("ask", *ECHO, "--session", "keep", "hello"))
    before = saved()

    more = "--more" in args  # a session to continue must exist: a usage error, not a new one
    one_line_error(run(*args), 2 if more else 5, "" if more else "nosuch")
    assert saved() == before


@pytest.mark.parametrize(
    "args",
    [["roles", "show", "pirate"], ["ask", *ECHO, "--role", "pirate", "hi"]],
    ids=["roles-show", "ask-role"],
)
def test_an_unknown_role_is_not_found_and_lists_the_known_ones(args: list[str]) -> None:
    one_line_error(run(*args), 5, "pirate", "translate")
    assert saved() == []


@pytest.mark.parametrize(
    ("model", "words"),
    [
        ("nosuchbackend:x", "unknown model"),
        ("endpoint:", "unknown endpoint"),
        ("endpoint:lab", "unknown endpoint 'lab'"),
    ],
)
def test_an_unknown_model_or_endpoint_is_not_found(model: str, words: str) -> None:
    one_line_error(run("ask", "--model", model, "hi"), 5, words)
    assert saved() == []


@pytest.mark.parametrize("query", ['"', "AND", "NEAR(", "*"])
def test_a_search_query_sqlite_cannot_parse_is_a_usage_error(query: str) -> None:
    succeeded(run("ask", *ECHO, "hi"))

    one_line_error(run("search", query), 2, "cannot search for")


def test_a_device_as_an_attachment_is_refused_not_read_forever() -> None:
    one_line_error(run("ask", *ECHO, "-f", "/dev/zero", "what is this?"), 9, "/dev/zero", "device")
    assert saved() == []


@pytest.mark.parametrize(("age", "code"), [("-5d", 2), ("99999999999999999999d", 0)])
def test_an_odd_age_for_delete_older_than_deletes_nothing(age: str, code: int) -> None:
    succeeded(run("ask", *ECHO, "--session", "keep", "hello"))

    result = run("sessions", "delete", "--older-than", age, "--yes")

    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    assert [s["name"] for s in saved()] == ["keep"]
