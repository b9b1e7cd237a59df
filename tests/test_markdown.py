"""The one Markdown block model: finished blocks for streaming, and code blocks to copy."""

from __future__ import annotations

import pytest

from chatcli.markdown import code_blocks, split_finished_blocks


def test_blocks_before_the_last_are_finished() -> None:
    done, pending = split_finished_blocks("First para.\n\nSecond is still")

    assert (done, pending) == ("First para.\n\n", "Second is still")


def test_a_blank_line_inside_an_open_fence_finishes_nothing() -> None:
    text = "```python\nx = 1\n\ny = 2\n"

    assert split_finished_blocks(text) == ("", text)


def test_a_loose_list_is_one_block_until_something_follows() -> None:
    text = "- one\n\n- two\n"

    assert split_finished_blocks(text) == ("", text)
    done, pending = split_finished_blocks(text + "\nAfter.")
    assert (done, pending) == (text + "\n", "After.")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a\n```py\nprint(1)\n```\nb\n~~~\nls\n~~~\n", ["print(1)\n", "ls\n"]),
        ("Interrupted:\n```sh\necho hi\n", ["echo hi\n"]),  # never closed
        ("```\ncode\n`````\n", ["code\n"]),  # a longer closing fence closes it
        ("````md\n```py\nx\n```\n````\n", ["```py\nx\n```\n"]),  # a fence inside a fence
        ("- item\n\n  ```\n  nested\n  ```\n", ["nested\n"]),  # inside a list
        ("no code at all", []),
    ],
)
def test_code_blocks_are_the_parser_s(text: str, expected: list[str]) -> None:
    assert code_blocks(text) == expected
