"""Property tests over the inputs chatcli takes from outside: config files and variables,
piped stdin, conversation histories of any shape, streamed Markdown and import files.

Each input either works or fails as one of chatcli's own errors; never anything else.
"""

from __future__ import annotations

import io
import itertools
import json
import logging
import re
import string
from pathlib import Path
from typing import Any

import pytest
import tomlkit
from fakes import FakeEngine
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from rich.console import Console
from rich.markdown import Markdown

from chatcli.cli.ask import decode_piped
from chatcli.cli.markdown_writer import MarkdownWriter
from chatcli.config import Settings, load_settings
from chatcli.core.budget import DROP_TARGET, Turn, fit_to_context, reply_reserve
from chatcli.core.portable import export_sessions, import_bundles, read_export
from chatcli.core.sessions import Sessions
from chatcli.engine.base import ChatMessage
from chatcli.errors import BadFileError, ConfigError, ContextOverflowError
from chatcli.markdown import split_finished_blocks
from chatcli.store.store import Store

FUZZ = settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
TEXT = st.text(st.characters(blacklist_categories=["Cs"]), max_size=30)
SCALARS = st.one_of(
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False),
    TEXT,
)
KEYS = st.one_of(
    st.sampled_from(
        ["model", "role", "system_prompt", "context_length", "overflow", "theme", "verbose",
         "temperature", "top_p", "top_k", "max_tokens", "seed", "stop", "gpu_layers",
         "threads", "sampling", "llama", "remote", "endpoints", "attach_max_files",
         "attach_max_mib", "api_key", "base_url", "kv_cache_gib", "kv_shift"]
    ),
    st.text(string.ascii_lowercase + "_\n'\t", min_size=1, max_size=12),
)  # fmt: skip
TOML_VALUES = st.recursive(
    SCALARS | st.lists(SCALARS, max_size=3),
    lambda inner: st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=12,
)


# --- configuration -------------------------------------------------------------------


def _load(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> None:
    config = tmp_path / "config.toml"
    config.write_text(text, encoding="utf-8")
    try:
        assert isinstance(load_settings(config, environ or {}), Settings)
    except ConfigError as error:
        assert "\n" not in str(error).strip()


@FUZZ
@given(document=st.dictionaries(KEYS, TOML_VALUES, max_size=6))
def test_any_toml_document_gives_settings_or_a_config_error(
    tmp_path: Path, document: dict[str, Any]
) -> None:
    _load(tmp_path, tomlkit.dumps(document))


@FUZZ
@given(text=st.text(max_size=200))
def test_any_config_text_gives_settings_or_a_config_error(tmp_path: Path, text: str) -> None:
    _load(tmp_path, text)


@FUZZ
@given(environ=st.dictionaries(KEYS.map(lambda key: "CHATCLI_" + key.upper()), TEXT, max_size=4))
def test_any_environment_values_give_settings_or_a_config_error(
    tmp_path: Path, environ: dict[str, str]
) -> None:
    _load(tmp_path, "", {k: v.replace("\x00", "") for k, v in environ.items()})


def test_an_environment_value_with_a_newline_is_one_line_of_error(tmp_path: Path) -> None:
    # Found by the fuzzer: the raw value was quoted as it was, newline and all.
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path / "none.toml", {"CHATCLI_TEMPERATURE": "1\n2"})
    assert str(caught.value) == (
        "environment variable CHATCLI_TEMPERATURE: '1\\n2' is not a valid value for 'temperature'"
    )


def test_an_unknown_key_with_a_newline_is_one_line_of_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = tmp_path / "config.toml"
    for document in ('"bad\\nkey" = 1', '[sampling]\n"odd\\none" = 2', '[llama]\n"x\\ny" = 3'):
        config.write_text(document + "\n")
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            load_settings(config, {})
        (warning,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert "\n" not in warning and "\\n" in warning, warning


# --- piped stdin ---------------------------------------------------------------------


@FUZZ
@given(data=st.binary(max_size=300) | st.text(max_size=100).map(lambda t: t.encode("utf-16")))
def test_any_piped_bytes_decode_to_storable_text_or_nothing(data: bytes) -> None:
    text = decode_piped(data)
    blank = not data.decode("utf-8", errors="replace").removeprefix("\ufeff").strip()
    assert (text is None) == blank
    if text is not None:
        text.encode("utf-8")  # no lone surrogates: it can be stored and tokenized


def test_a_byte_order_mark_before_piped_text_is_dropped() -> None:
    assert decode_piped("\ufeffhello".encode()) == "hello"
    assert decode_piped(b"\xef\xbb\xbf \n") is None


# --- fitting a history into the context ----------------------------------------------

WORDS = st.lists(st.sampled_from(["a", "bb", "word", "longer-word", "x" * 40]), max_size=30)
TURNS = st.lists(
    st.tuples(WORDS, WORDS, st.booleans()).map(
        lambda t: Turn(
            (ChatMessage("user", " ".join(t[0])), ChatMessage("assistant", " ".join(t[1]))),
            pinned=t[2],
        )
    ),
    max_size=25,
)


@FUZZ
@given(
    history=TURNS,
    new=WORDS,
    system=st.none() | WORDS,
    context=st.integers(1, 3000),
    max_tokens=st.none() | st.integers(0, 4000),
    policy=st.sampled_from(["drop-oldest", "error"]),
    already_dropped=st.integers(0, 30),
    margin=st.integers(0, 200),
)
def test_the_plan_always_fits_or_is_a_clear_overflow(
    history: list[Turn],
    new: list[str],
    system: list[str] | None,
    context: int,
    max_tokens: int | None,
    policy: str,
    already_dropped: int,
    margin: int,
) -> None:
    count = FakeEngine().count_tokens
    system_message = ChatMessage("system", " ".join(system)) if system is not None else None
    new_message = ChatMessage("user", " ".join(new))
    limit = context - reply_reserve(context, max_tokens) - margin
    try:
        plan = fit_to_context(
            system_message,
            history,
            new_message,
            count_tokens=count,
            context_length=context,
            max_tokens=max_tokens,
            policy=policy,
            already_dropped=already_dropped,
            margin=margin,
        )
    except ContextOverflowError as error:
        assert "\n" not in str(error) and "tokens" in str(error)
        return
    assert plan.prompt_tokens == count(plan.messages) <= limit
    # Exactly the oldest dropped_turns unpinned turns are left out, whole; nothing else.
    unpinned = [turn for turn in history if not turn.pinned]
    gone = {id(turn) for turn in unpinned[: plan.dropped_turns]}
    kept = [m for turn in history if id(turn) not in gone for m in turn.messages]
    assert plan.messages == [*([system_message] if system_message else []), *kept, new_message]
    assert plan.dropped_messages == sum(len(t.messages) for t in unpinned[: plan.dropped_turns])
    _assert_fewest_drops(
        plan.dropped_turns,
        history,
        (system_message, new_message),
        count=count,
        limit=limit,
        policy=policy,
        already_dropped=already_dropped,
    )


def _assert_fewest_drops(
    plan_drops: int, history: list[Turn], ends: tuple[ChatMessage | None, ChatMessage], **fit: Any
) -> None:
    """Dropping one turn fewer (past the remembered start) would not have fitted the target.

    The target is DROP_TARGET of the room when even dropping every unpinned turn fits it.
    """
    count, limit = fit["count"], fit["limit"]
    unpinned = [turn for turn in history if not turn.pinned]
    start = 0 if fit["policy"] == "error" else min(fit["already_dropped"], len(unpinned))
    if plan_drops <= start:
        return

    def tokens(drop: int) -> int:
        gone = {id(turn) for turn in unpinned[:drop]}
        kept = [m for turn in history if id(turn) not in gone for m in turn.messages]
        system, new = ends
        return int(count([*([system] if system else []), *kept, new]))

    target = int(limit * DROP_TARGET)
    if tokens(len(unpinned)) > target:
        target = limit
    assert tokens(plan_drops - 1) > target


# --- streamed Markdown ---------------------------------------------------------------

MARKDOWN_LINES = st.lists(
    st.sampled_from(
        ["Some words.", "", "# Heading", "- item", "  - nested", "1. first", "> quote",
         "```", "```python", "print(1)", "~~~", "    indented code", "| a | b |", "|---|---|",
         "text with `code` and *stars*", "---", "===", "<div>", "  ", "\t", "Setext"]
    ),
    max_size=25,
)  # fmt: skip


def _chunks(text: str, cuts: list[int]) -> list[str]:
    points = sorted({0, len(text), *(c % (len(text) + 1) for c in cuts)})
    return [text[a:b] for a, b in itertools.pairwise(points)]


@FUZZ
@given(
    lines=MARKDOWN_LINES,
    newline=st.sampled_from(["\n", "\r\n"]),
    cuts=st.lists(st.integers(0, 10_000), max_size=12),
)
def test_markdown_streamed_in_any_chunks_prints_each_block_once_and_all_of_them(
    lines: list[str], newline: str, cuts: list[int]
) -> None:
    text = newline.join(lines)
    assume(text)
    printed: list[str] = []
    pending = ""
    for chunk in _chunks(text, cuts):  # what MarkdownWriter.write does with each piece
        pending += chunk
        done, pending = split_finished_blocks(pending)
        printed.append(done)
    assert "".join(printed) + pending == text
    # Each block printed early starts and ends where blocks of the whole answer do, so what
    # was printed is what rendering the whole answer at once shows.
    starts = _block_starts(text)
    boundary = 0
    for piece in printed:
        boundary += len(piece)
        assert boundary in starts


@FUZZ
@given(
    lines=MARKDOWN_LINES,
    cuts=st.lists(st.integers(0, 10_000), max_size=12),
    width=st.integers(20, 100),
)
def test_ask_markdown_streamed_in_any_chunks_looks_as_the_whole_answer_rendered_at_once(
    lines: list[str], cuts: list[int], width: int
) -> None:
    text = "\n".join(lines)
    assume(text)

    def console(out: io.StringIO) -> Console:
        return Console(file=out, width=width, color_system=None, force_terminal=False)

    streamed, whole = io.StringIO(), io.StringIO()
    writer = MarkdownWriter(console(streamed))
    for chunk in _chunks(text, cuts):
        writer.write(chunk)
    writer.close()
    console(whole).print(Markdown(text))
    assert streamed.getvalue().rstrip("\n") == whole.getvalue().rstrip("\n")


def test_a_list_after_a_paragraph_streams_with_one_blank_line_between() -> None:
    # Found by the fuzzer: rich opens a list rendered on its own with an empty line, so
    # printing block by block put two blank lines where the whole answer has one.
    out = io.StringIO()
    writer = MarkdownWriter(Console(file=out, width=30, color_system=None))
    for chunk in ["Intro.\n\n", "- one\n", "- two\n\nEnd."]:
        writer.write(chunk)
    writer.close()
    assert [line.rstrip() for line in out.getvalue().splitlines()] == [
        "Intro.", "", " • one", " • two", "", "End."
    ]  # fmt: skip


def _block_starts(text: str) -> set[int]:
    line_starts = [0] + [match.end() for match in re.finditer(r"\r\n?|\n", text)]
    tokens = MarkdownIt().enable("strikethrough").enable("table").parse(text)
    return {0} | {
        line_starts[token.map[0]]
        for token in tokens
        if token.level == 0 and token.nesting >= 0 and token.map is not None
    }


# --- import files --------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=15,
)


def _valid_export(folder: Path) -> dict[str, Any]:
    with Store.open(folder / "source.db") as store:
        session = store.create_session(model="m", name="s")
        first = store.add_message(session.id, parent_id=None, role="user", content="q")
        store.add_message(session.id, parent_id=first.id, role="assistant", content="a")
        sessions = Sessions(store)
        exported: dict[str, Any] = json.loads(
            json.dumps(export_sessions(sessions, sessions.recent()))
        )
        return exported


def _spoil(document: Any, path: list[int], value: Any) -> Any:
    """``document`` with the value at a path (chosen by indexes) replaced by ``value``."""
    if not path or not isinstance(document, (dict, list)) or not document:
        return value
    keys = list(document) if isinstance(document, dict) else list(range(len(document)))
    key = keys[path[0] % len(keys)]
    copy = dict(document) if isinstance(document, dict) else list(document)
    copy[key] = _spoil(document[key], path[1:], value)
    return copy


def _import(folder: Path, document: Any) -> None:
    with Store.open(folder / "target.db") as store:
        sessions = Sessions(store)
        try:
            bundles = read_export(document)
            import_bundles(sessions, bundles)
        except BadFileError as error:
            assert "\n" not in str(error)
            assert sessions.recent() == []  # nothing written
        else:
            assert len(sessions.recent()) == len(bundles)


@FUZZ
@given(document=JSON)
def test_any_json_document_imports_or_is_a_clean_import_error(
    tmp_path_factory: pytest.TempPathFactory, document: Any
) -> None:
    _import(tmp_path_factory.mktemp("import"), document)


@FUZZ
@given(path=st.lists(st.integers(0, 50), min_size=1, max_size=6), value=JSON)
def test_a_spoiled_export_imports_or_is_a_clean_import_error(
    tmp_path_factory: pytest.TempPathFactory, path: list[int], value: Any
) -> None:
    folder = tmp_path_factory.mktemp("spoiled")
    _import(folder, _spoil(_valid_export(folder), path, value))
