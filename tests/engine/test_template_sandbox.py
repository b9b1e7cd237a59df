"""A model's chat template renders in a bounded sandbox: real templates exactly as
llama-cpp-python would, hostile ones as one clean ModelError, quickly, with no side effect."""

from __future__ import annotations

import shutil
import struct
from pathlib import Path
from typing import Any

import gguf
import pytest
from clitools import assert_one_line_error, chatcli
from llama_cpp.llama_chat_format import Jinja2ChatFormatter

from chatcli.catalog import resolve_model
from chatcli.engine.template import MAX_TEMPLATE_CHARS, ChatTemplate
from chatcli.engine.template_budget import TemplateLimits
from chatcli.errors import ModelError

TEMPLATES = Path(__file__).parent.parent / "data" / "chat_templates"
FAST = TemplateLimits(seconds=0.2)
"""Short enough that the tests that run into the deadline finish quickly."""

Messages = list[dict[str, Any]]

CHAT: Messages = [
    {"role": "user", "content": "Hello  "},
    {"role": "assistant", "content": "Hi! How can I help?"},
    {"role": "user", "content": "Write *one* line\nof {{ jinja }} {% raw %} & <html>."},
]
WITH_SYSTEM: Messages = [{"role": "system", "content": " Be brief. "}, *CHAT]
LONG_CHAT: Messages = [
    {"role": "user" if i % 2 == 0 else "assistant", "content": f"turn {i} " * 30} for i in range(20)
]
TOOL_TURNS: Messages = [
    {"role": "user", "content": "What's the weather in Paris?"},
    {
        "role": "assistant",
        "content": "",
        "tool_calls": [
            {"function": {"name": "weather", "arguments": {"city": "Paris", "unit": "°C"}}}
        ],
    },
    {"role": "tool", "content": '{"temperature": 21}'},
]


def _template(source: str, limits: TemplateLimits = FAST) -> ChatTemplate:
    return ChatTemplate(
        source, bos_token="<s>", eos_token="</s>", source="GGUF chat template of x.gguf",
        limits=limits,
    )  # fmt: skip


def _llama_cpp(source: str, messages: Messages) -> str:
    formatter = Jinja2ChatFormatter(template=source, eos_token="</s>", bos_token="<s>")
    return str(formatter(messages=messages).prompt)  # type: ignore[arg-type]


def _error(source: str, messages: Messages = CHAT, limits: TemplateLimits = FAST) -> str:
    with pytest.raises(ModelError) as caught:
        _template(source, limits).render(messages)
    message = str(caught.value)
    assert caught.value.exit_code == 4
    assert "\n" not in message
    assert message.startswith("the GGUF chat template of x.gguf cannot be used: "), message
    return message


@pytest.mark.parametrize("name", sorted(p.stem for p in TEMPLATES.glob("*.jinja")))
@pytest.mark.parametrize("messages", [CHAT, WITH_SYSTEM, LONG_CHAT, TOOL_TURNS])
def test_real_templates_render_exactly_as_llama_cpp_renders_them(
    name: str, messages: Messages
) -> None:
    source = (TEMPLATES / f"{name}.jinja").read_text()
    try:
        expected = _llama_cpp(source, messages)
    except ValueError as refused:  # the template's own raise_exception (Gemma: no system role)
        assert f"refused the conversation: {refused}" in _error(source, messages)
    else:
        assert _template(source).render(messages) == expected


def test_the_template_of_the_default_model_is_one_of_the_test_copies() -> None:
    smollm = (TEMPLATES / "smollm2.jinja").read_text()
    assert _template(smollm).render(CHAT).startswith("<|im_start|>system\nYou are a helpful")


NESTED_RANGES = "{% for i in range(10**5) %}{% for j in range(10**5) %}{% endfor %}{% endfor %}"
HOSTILE = {
    "python internals": "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "cycler globals": "{{ cycler.__init__.__globals__.os.system('id') }}",
    "template reference context": "{{ self._TemplateReference__context }}",
    "lipsum globals": "{{ lipsum.__globals__['os'] }}",
    "flask config": "{{ config.items() }}",
    "flask request": "{{ request.application.__globals__.__builtins__ }}",
    "format reaching attributes": "{{ '{0.__class__.__mro__}'.format('') }}",
    "nested ranges": NESTED_RANGES,
    "nested loops over a long string": (
        "{% set s = 'ab' * 400000 %}{% for a in s %}{% for b in s %}{% endfor %}{% endfor %}"
    ),
    "huge range": "{% for i in range(10**12) %}{% endfor %}",
    "string repeat": "{{ 'a' * 10**10 }}",
    "list repeat": "{{ ([1] * 10**10)|length }}",
    "huge power": "{{ 2 ** (10**9) }}",
    "center filter": "{{ 'x'|center(10**9) }}",
    "center filter with a literal width": "{{ 'x'|center(1000000000) }}",
    "str.ljust": "{{ 'x'.ljust(10**9) }}",
    "str.zfill": "{{ '1'.zfill(10**9) }}",
    "str.format width": "{{ '{:>999999999}'.format(1) }}",
    "percent width": "{{ '%999999999d' % 1 }}",
    "percent star width": "{{ '%*d' % (10**9, 1) }}",
    "format filter width": "{{ '%999999999s'|format('x') }}",
    "indent filter": "{{ ('a\n' * 1000)|indent(10**6) }}",
    "replace amplification": "{% set s = 'a' * 100000 %}{{ s|replace('a', s) }}",
    "str.replace amplification": "{% set s = 'a' * 100000 %}{{ s.replace('a', s) }}",
    "join amplification": "{% set s = 'a' * 100000 %}{{ range(100000)|join(s) }}",
    "str.join amplification": "{% set s = 'a' * 100000 %}{{ s.join(range(100000)|map('string')) }}",
    "expandtabs": "{{ ('\t' * 100000).expandtabs(100000) }}",
    "to_bytes": "{{ (1).to_bytes(10**9, 'big') }}",
    "batch filler": "{{ [1]|batch(10**9, 0)|list }}",
    "doubling by concatenation": (
        "{% set ns = namespace(s='ab') %}{% for i in range(64) %}"
        "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s|length }}"
    ),
    "doubling by plus": (
        "{% set ns = namespace(s='ab') %}{% for i in range(64) %}"
        "{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s|length }}"
    ),
    "printing a list of long strings": (
        "{% set s = 'a' * 1000000 %}{% set l = [s, s, s, s, s, s, s, s] %}{{ l }}"
    ),
    "concatenating a list of long strings": (
        "{% set s = 'a' * 1000000 %}{% set l = [s, s, s, s, s, s, s, s] %}{{ l ~ '' }}"
    ),
    "gathering many long strings": (
        "{% set s = 'a' * 1000000 %}{{ range(100000)|map('replace', '', s)|list|length }}"
    ),
    "huge output": "{% for i in range(100000) %}{{ 'x' * 1000 }}{% endfor %}",
    "recursive macro": "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}",
    "exponential macro": "{% macro f(n) %}{{ f(n - 1) }}{{ f(n - 1) }}{% endmacro %}{{ f(80) }}",
    "recursive loop": "{% for x in [1] recursive %}{{ loop([1]) }}{% endfor %}",
    "syntax error": "{% for %}",
    "deeply nested expression": "{{ " + "(" * 5000 + "1" + ")" * 5000 + " }}",
}


@pytest.mark.parametrize("source", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_template_is_one_clean_model_error(source: str) -> None:
    _error(source)


def test_template_that_reaches_for_the_os_runs_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    attempts = [
        f"{{{{ cycler.__init__.__globals__.os.system('touch {marker}') }}}}",
        f"{{{{ joiner.__init__.__globals__['os'].popen('touch {marker}').read() }}}}",
        f"{{{{ namespace.__init__.__globals__.os.system('touch {marker}') }}}}",
        f"{{{{ raise_exception.__globals__['__builtins__']['open']('{marker}', 'w') }}}}",
        f"{{{{ ''.__class__.__base__.__subclasses__()[0]('{marker}') }}}}",
    ]
    for source in attempts:
        assert "tried to reach" in _error(source)
    assert not marker.exists()


def test_endless_loop_is_stopped_by_the_default_time_limit() -> None:
    message = _error(NESTED_RANGES, limits=TemplateLimits())
    assert "ran longer than 2 s" in message


def test_raise_exception_refuses_the_conversation_with_its_message() -> None:
    message = _error("{{ raise_exception('Conversation roles must\nalternate') }}")
    assert message.endswith("it refused the conversation: Conversation roles must alternate")


def test_oversized_template_is_refused_before_compiling() -> None:
    with pytest.raises(ModelError, match="characters long"):
        _template("x" * (MAX_TEMPLATE_CHARS + 1))


def test_long_messages_raise_the_size_bounds_with_them() -> None:
    smollm = (TEMPLATES / "smollm2.jinja").read_text()
    long = "word " * 600_000  # 3 M characters: above the 1 Mi floor of the bounds
    prompt = _template(smollm).render([{"role": "user", "content": long}])
    assert long in prompt


def test_a_failed_render_leaves_the_template_usable() -> None:
    template = _template("{% if messages|length > 1 %}{{ 'a' * 10**10 }}{% endif %}ok")
    with pytest.raises(ModelError):
        template.render(CHAT)
    assert template.render(CHAT[:1]) == "ok"


def _with_chat_template(source: Path, target: Path, template: str) -> Path:
    """A copy of the GGUF ``source`` whose ``tokenizer.chat_template`` is ``template``.

    Only the header changes: the field is rewritten in place and the tensor data (whose
    offsets count from the aligned end of the header) is copied after new padding.
    """
    reader = gguf.GGUFReader(str(source))
    field = reader.fields["tokenizer.chat_template"]
    field_end = field.offset + sum(part.nbytes for part in field.parts)
    last = reader.tensors[-1].field
    header_end = last.offset + sum(part.nbytes for part in last.parts)
    key, value = b"tokenizer.chat_template", template.encode()
    new_field = struct.pack("<Q", len(key)) + key + struct.pack("<IQ", 8, len(value)) + value
    with source.open("rb") as old, target.open("wb") as new:
        head = old.read(header_end)
        header = head[: field.offset] + new_field + head[field_end:]
        new.write(header + bytes(-len(header) % reader.alignment))
        old.seek(reader.data_offset)
        shutil.copyfileobj(old, new)
    return target


@pytest.mark.model
@pytest.mark.parametrize(
    ("template", "reason"),
    [
        (NESTED_RANGES, "ran longer than 2 s"),
        ("{{ cycler.__init__.__globals__.os.system('touch MARKER') }}", "Python internals"),
        ("{{ 'a' * 10**10 }}", "tried to build a value"),
    ],
)  # fmt: skip
def test_ask_with_a_hostile_gguf_template_fails_in_one_line(
    chatcli_home: Path, tmp_path: Path, template: str, reason: str
) -> None:
    marker = tmp_path / "marker"
    model = _with_chat_template(
        resolve_model("").path, tmp_path / "hostile.gguf", template.replace("MARKER", str(marker))
    )
    result = chatcli(chatcli_home, "ask", "--model", str(model), "hi", timeout=60)
    assert_one_line_error(result, 4, "GGUF chat template of hostile.gguf cannot be used", reason)
    assert not marker.exists()


def test_generation_tags_of_training_templates_render_their_body_as_llama_cpp_does() -> None:
    source = (
        "{% for m in messages %}<{{ m.role }}>{% if m.role == 'assistant' %}"
        "{% generation %}{{ m.content }}{% endgeneration %}{% else %}{{ m.content }}{% endif %}"
        "{% endfor %}"
    )
    assert _template(source).render(CHAT) == _llama_cpp(source, CHAT)
    assert "Hi! How can I help?" in _template(source).render(CHAT)
