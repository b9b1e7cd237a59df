"""Openings: a prompt's start (the system prompt) kept on disk and restored for new chats."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

import pytest
from llama_helpers import GREEDY, SYSTEM, make_engine, reply

from chatcli.engine.base import ChatMessage, TextDelta
from chatcli.engine.openings import SHORTEST, opening_length, opening_text
from chatcli.engine.template import ChatTemplate

TEMPLATES = Path(__file__).parent.parent / "data" / "chat_templates"
QUESTION = "Where is Lyon?"


class Prompter:
    """A chat template alone."""

    def __init__(self, template: str) -> None:
        self.template = ChatTemplate(template, bos_token="<s>", eos_token="</s>", source="test")

    def render_conversation(self, messages: Sequence[ChatMessage]) -> str:
        return self.template.render([{"role": m.role, "content": m.content} for m in messages])


@pytest.mark.parametrize("name", ["smollm2", "llama3_2", "qwen2_5", "phi3"])
def test_the_opening_is_everything_before_the_first_user_words(name: str) -> None:
    prompter = Prompter((TEMPLATES / f"{name}.jinja").read_text())
    messages = [ChatMessage("system", "Be brief."), ChatMessage("user", QUESTION)]
    prompt = prompter.render_conversation(messages)

    opening = opening_text(prompter, messages, prompt)

    assert "Be brief." in opening and QUESTION not in opening
    assert prompt.startswith(opening + QUESTION)


def test_a_template_that_puts_the_system_prompt_inside_the_first_turn_still_has_one() -> None:
    prompter = Prompter(
        "{{ bos_token }}{% for m in messages %}{% if m.role == 'system' %}[SYS]{{ m.content }}"
        "[/SYS]{% else %}[INST] {{ m.content }} [/INST]{% endif %}{% endfor %}"
    )
    messages = [ChatMessage("system", "Be brief."), ChatMessage("user", QUESTION)]
    prompt = prompter.render_conversation(messages)

    assert opening_text(prompter, messages, prompt) == "<s>[SYS]Be brief.[/SYS][INST] "


def test_no_user_message_or_a_prompt_that_disagrees_has_no_opening() -> None:
    prompter = Prompter((TEMPLATES / "smollm2.jinja").read_text())
    system_only = [ChatMessage("system", "Be brief.")]
    messages = [*system_only, ChatMessage("user", QUESTION)]

    assert opening_text(prompter, system_only, prompter.render_conversation(system_only)) == ""
    assert opening_text(prompter, messages, "something else entirely") == ""


def test_the_opening_length_is_what_the_prompt_shares_and_leaves_a_token_after_it() -> None:
    opening = list(range(SHORTEST + 4))
    assert opening_length(opening, [*opening, 99, 98]) == len(opening)
    assert opening_length(opening, [*opening[:-1], 77, 98]) == len(opening) - 1  # merged token
    assert opening_length(opening, opening) == len(opening) - 1  # the prompt's last token
    assert opening_length(opening[: SHORTEST - 1], [*opening, 99]) == 0  # not worth a piece
    assert opening_length([], [1, 2, 3]) == 0


@pytest.mark.model
def test_a_new_chat_restores_the_opening_and_says_what_evaluating_it_says(tmp_path: Path) -> None:
    kv = tmp_path / "kv"
    first = make_engine(kv)
    reply(first, [SYSTEM, ChatMessage("user", "Name a river.")])
    first.close()  # waits for the background writes
    assert len(list((kv / "openings").glob("*/*.kv"))) == 1
    # Shares no word with the first question: no snapshot of that chat covers more.
    question = [SYSTEM, ChatMessage("user", "Which mountain is the tallest?")]

    warm = make_engine(kv)
    warm_text, warm_done = reply(warm, question)
    cold = make_engine(None)  # keeps nothing, evaluates the opening itself
    cold_text, cold_done = reply(cold, question)
    cold.close()

    opened = warm_done.usage.cached_prompt_tokens
    assert SHORTEST <= opened < warm_done.usage.prompt_tokens
    assert cold_done.usage.cached_prompt_tokens == 0
    assert warm_text == cold_text
    # Both record the same evaluation: the opening, then the rest, from an empty context.
    for done in (warm_done, cold_done):
        assert done.evaluation is not None
        assert (done.evaluation.base, done.evaluation.kept) == (None, 0)
        assert done.evaluation.pieces[0] == opened
    assert warm_done.evaluation is not None and cold_done.evaluation is not None
    assert warm_done.evaluation.pieces == cold_done.evaluation.pieces

    events = list(warm.replay([warm_done.evaluation], GREEDY))
    warm.close()
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == warm_text


@pytest.mark.model
def test_an_engine_that_only_reads_restores_openings_and_writes_nothing(tmp_path: Path) -> None:
    kv = tmp_path / "kv"
    reader = make_engine(kv, snapshot_writes=False)
    _, done = reply(reader, [SYSTEM, ChatMessage("user", "Name a lake.")])
    reader.close()
    assert done.usage.cached_prompt_tokens == 0
    assert list(kv.rglob("*")) == []

    writer = make_engine(kv)
    reply(writer, [SYSTEM, ChatMessage("user", "Name a river.")])
    writer.close()
    files = sorted(kv.rglob("*"))
    reader = make_engine(kv, snapshot_writes=False)
    _, done = reply(reader, [SYSTEM, ChatMessage("user", "Which lake is the deepest?")])
    reader.close()
    assert done.usage.cached_prompt_tokens >= SHORTEST
    assert sorted(kv.rglob("*")) == files


@pytest.mark.model
def test_a_damaged_opening_is_evaluated_again(tmp_path: Path) -> None:
    kv = tmp_path / "kv"
    first = make_engine(kv)
    reply(first, [SYSTEM, ChatMessage("user", "Name a river.")])
    first.close()
    for folder in kv.iterdir():
        if folder.name != "openings":
            shutil.rmtree(folder)  # the chat's snapshot: only the opening is left
    for path in (kv / "openings").rglob("*.kv"):
        path.write_bytes(b"\x00" * path.stat().st_size)
    question = [SYSTEM, ChatMessage("user", "Which lake is the deepest?")]

    again = make_engine(kv)
    again_text, done = reply(again, question)
    again.close()
    cold = make_engine(None)
    cold_text, _ = reply(cold, question)
    cold.close()

    assert done.usage.cached_prompt_tokens == 0
    assert again_text == cold_text
