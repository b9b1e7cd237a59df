"""Finding and reading attached files: globs, folders, .gitignore, encodings, bad files."""

from __future__ import annotations

import codecs
import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatcli.core.attachments import (
    Attachment,
    check_attachments,
    find_files,
    read_attachment,
    read_files,
    text_digest,
    with_attachments,
)
from chatcli.core.truncate import fair_shares
from chatcli.errors import BadFileError, NotFoundError
from chatcli.store.records import MessageRecord


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A small project: sources, a log the .gitignore hides, a binary, a hidden folder."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "src" / "pkg").mkdir(parents=True)
    (tmp_path / "src" / "main.py").write_text("print('main')\n")
    (tmp_path / "src" / "pkg" / "util.py").write_text("def util(): ...\n")
    (tmp_path / "src" / "notes.md").write_text("# notes\n")
    (tmp_path / "src" / "build.log").write_text("noise\n")
    (tmp_path / "src" / "build").mkdir()
    (tmp_path / "src" / "build" / "out.py").write_text("generated = 1\n")
    (tmp_path / "src" / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR")
    (tmp_path / "src" / ".git").mkdir()
    (tmp_path / "src" / ".git" / "config").write_text("[core]\n")
    return tmp_path


def names(paths: list[Path]) -> list[str]:
    return [path.as_posix() for path in paths]


def test_a_folder_brings_its_text_files_and_skips_binaries_and_hidden_ones(tree: Path) -> None:
    found = find_files(["src"])
    assert names(found.paths) == [
        "src/build/out.py",
        "src/build.log",
        "src/main.py",
        "src/notes.md",
        "src/pkg/util.py",
    ]
    assert found.from_expansion and found.skipped_binary == 1


def test_a_folder_honours_its_gitignore_files(tree: Path) -> None:
    (tree / "src" / ".gitignore").write_text("*.log\nbuild/\n")
    (tree / "src" / "pkg" / ".gitignore").write_text("util.py\n")
    assert names(find_files(["src"]).paths) == ["src/main.py", "src/notes.md"]


def test_globs_recurse_with_two_stars_and_each_file_comes_once(tree: Path) -> None:
    found = find_files(["src/**/*.py", "src/main.py"])
    assert names(found.paths) == ["src/build/out.py", "src/main.py", "src/pkg/util.py"]
    assert names(find_files(["src/*.md"]).paths) == ["src/notes.md"]


def test_a_missing_file_or_an_empty_glob_is_a_clear_error(tree: Path) -> None:
    with pytest.raises(NotFoundError, match=r"no such file: nope\.txt"):
        find_files(["nope.txt"])
    with pytest.raises(NotFoundError, match=r"no files match src/\*\.rs"):
        find_files(["src/*.rs"])


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("héllo wörld\n".encode(), "héllo wörld\n"),
        (codecs.BOM_UTF8 + "héllo\n".encode(), "héllo\n"),
        (codecs.BOM_UTF16_LE + "héllo\n".encode("utf-16-le"), "héllo\n"),
        (codecs.BOM_UTF16_BE + "héllo\n".encode("utf-16-be"), "héllo\n"),
        (b"", ""),
    ],
    ids=["utf-8", "utf-8-bom", "utf-16-le", "utf-16-be", "empty"],
)
def test_each_text_encoding_is_read(tmp_path: Path, data: bytes, expected: str) -> None:
    path = tmp_path / "text.txt"
    path.write_bytes(data)
    attachment = read_attachment(path)
    assert attachment.text == expected
    assert attachment.size == len(data)
    assert attachment.sha256 == text_digest(expected)


def test_latin1_and_binary_files_are_refused_by_name(tmp_path: Path) -> None:
    latin = tmp_path / "latin.txt"
    latin.write_bytes("café".encode("latin-1"))
    with pytest.raises(BadFileError, match=r"latin.txt is not UTF-8 or UTF-16 text \(byte 3\)"):
        read_attachment(latin)
    binary = tmp_path / "image.bin"
    binary.write_bytes(b"\x00\x01\x02 data")
    with pytest.raises(BadFileError, match=r"image\.bin is a binary file"):
        read_attachment(binary)
    broken = tmp_path / "broken16.txt"
    broken.write_bytes(codecs.BOM_UTF16_LE + b"\x00\xd8")  # a lone surrogate
    with pytest.raises(BadFileError, match=r"broken16\.txt is not valid UTF-16"):
        read_attachment(broken)


def test_a_file_that_disappears_after_it_was_found_is_named(tree: Path) -> None:
    found = find_files(["src/*.py"])
    os.remove("src/main.py")
    with pytest.raises(NotFoundError, match=r"src/main\.py disappeared"):
        read_files(found)


def test_an_unreadable_file_is_a_one_line_error(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads every file")
    locked = tmp_path / "locked.txt"
    locked.write_text("x")
    locked.chmod(0)
    with pytest.raises(BadFileError, match="cannot read"):
        read_attachment(locked)


def test_files_whose_names_look_alike_are_framed_apart(tmp_path: Path) -> None:
    first = Attachment("notes.txt", "apples", 6)
    second = Attachment("notes.txt.bak", "pears", 5)
    text = with_attachments("Which fruit?", [first, second])
    assert text == (
        '<file path="notes.txt">\napples\n</file>\n\n'
        '<file path="notes.txt.bak">\npears\n</file>\n\nWhich fruit?'
    )
    assert first.sha256 != second.sha256


@given(st.lists(st.integers(1, 5000), min_size=1, max_size=8), st.integers(0, 20000))
def test_fair_shares_fit_the_room_and_cut_the_largest_first(sizes: list[int], room: int) -> None:
    shares = fair_shares(sizes, room)
    assert sum(shares) <= room
    assert all(0 <= share <= size for share, size in zip(shares, sizes, strict=True))
    if sum(sizes) <= room:
        assert shares == sizes
    cut = [size - share for size, share in zip(sizes, shares, strict=True)]
    for i, j in [(i, j) for i in range(len(sizes)) for j in range(len(sizes))]:
        if sizes[i] <= sizes[j]:
            assert shares[i] <= shares[j] and (cut[i] == 0 or cut[j] > 0)


def message_with(refs: list[dict[str, object]]) -> MessageRecord:
    return MessageRecord("m1", "s1", None, "user", "hi", 0.0, attachments=refs)


def test_an_import_checks_every_attachment_reference_and_text() -> None:
    text = "hello"
    ref = {"path": "a.txt", "sha256": text_digest(text), "size": 5, "tokens": 2}
    assert check_attachments([message_with([ref])], {text_digest(text): text}) == {
        text_digest(text): text
    }
    bad = [
        ([ref], {}, "the text of a.txt is missing"),
        ([ref], {text_digest(text): "other"}, "does not match its digest"),
        ([], {text_digest(text): text}, "not used by any message"),
        ([{**ref, "size": "5"}], {text_digest(text): text}, "malformed attachment"),
        ([{**ref, "extra": 1}], {text_digest(text): text}, "malformed attachment"),
        ([ref], [text], "must map sha256 digests to texts"),
    ]
    for refs, texts, words in bad:
        with pytest.raises(ValueError, match=words):
            check_attachments([message_with(refs)], texts)
