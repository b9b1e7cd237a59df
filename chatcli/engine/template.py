"""Renders a model's chat template (Jinja from the model file) in a bounded sandbox.

jinja2's immutable sandbox already refuses Python internals (``__class__``, ``__globals__``)
and changes to lists and dicts. This adds what it leaves open to a hostile model file: a
template that loops for ever, builds gigabyte strings or recurses without end. Every loop
step, call, filter and output chunk checks a deadline; whatever can grow a value faster than
its inputs is checked before it runs (template_budget.py). The render context is the one
llama-cpp-python's Jinja2ChatFormatter gives, so real templates render exactly as there.
Any failure is one ModelError naming the template.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn

import jinja2
import jinja2.ext
import jinja2.nodes
from jinja2.bccache import Bucket
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

from chatcli.engine.template_budget import (
    METHOD_CHECKS,
    Budget,
    LimitExceeded,
    TemplateLimits,
    check_binop,
    check_format,
    text_size,
)
from chatcli.engine.template_filters import filter_check
from chatcli.errors import ModelError
from chatcli.paths import ensure_private_dir

MAX_TEMPLATE_CHARS = 256 << 10
"""Largest template accepted: real ones are a few KiB (the longest tool-calling ones ~20 KiB)."""

_STEPS = "chatcli_bounded_steps"
"""The internal filter every ``{% for %}`` iterates through (checks the deadline per step)."""


class TemplateRaised(Exception):
    """The template called ``raise_exception`` (it refuses the conversation)."""


class _GenerationTag(jinja2.ext.Extension):
    """Accepts Hugging Face's ``{% generation %}...{% endgeneration %}`` and keeps its body."""

    tags = {"generation"}

    def parse(self, parser: Any) -> Any:
        """Skip the tag and return the statements it encloses."""
        next(parser.stream)
        return parser.parse_statements(("name:endgeneration",), drop_needle=True)


class _BoundedCodeGenerator(CodeGenerator):
    """Compiles loops to step through the deadline check and ``~`` to a size-checked join."""

    def visit_Template(self, node: jinja2.nodes.Template, frame: Frame | None = None) -> None:
        """Route every for loop's iterable through the steps filter, then compile as usual."""
        for loop in node.find_all(jinja2.nodes.For):
            steps = jinja2.nodes.Filter(loop.iter, _STEPS, [], [], None, None)
            steps.set_lineno(loop.iter.lineno)
            steps.set_environment(self.environment)
            loop.iter = steps
        super().visit_Template(node, frame)

    def visit_Concat(self, node: jinja2.nodes.Concat, frame: Frame) -> None:
        """``a ~ b``: the parts' sizes are checked before they are joined."""
        if frame.eval_ctx.volatile:
            join = "(markup_join if context.eval_ctx.volatile else str_join)"
        else:
            join = "markup_join" if frame.eval_ctx.autoescape else "str_join"
        self.write(f"{join}(environment.checked_parts((")
        for part in node.nodes:
            self.visit(part, frame)
            self.write(", ")
        self.write(")))")


class BoundedEnvironment(ImmutableSandboxedEnvironment):
    """The immutable sandbox with a time and size budget on every render."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})
    code_generator_class = _BoundedCodeGenerator

    def __init__(self, limits: TemplateLimits) -> None:
        super().__init__(
            loader=jinja2.BaseLoader(),
            trim_blocks=True,
            lstrip_blocks=True,
            extensions=[_GenerationTag, jinja2.ext.loopcontrols],
            finalize=self._checked_output,
        )
        self.limits = limits
        self.active: Budget | None = None
        """The budget of the render in progress (renders of one template take turns)."""
        self.globals["range"] = self._range
        del self.globals["lipsum"]  # writes n paragraphs; no chat template needs it
        self.filters["tojson"] = _tojson
        self.filters = {name: self._bounded_filter(name, f) for name, f in self.filters.items()}
        self.filters[_STEPS] = self._steps

    def budget(self) -> Budget:
        """The budget of the render in progress (a fresh one while compiling)."""
        return self.active or Budget(self.limits, 0)

    def _range(self, *args: int) -> range:
        numbers = range(*args)
        if len(numbers) > self.limits.range_items:
            raise LimitExceeded(f"it asked for a range of {len(numbers):,} numbers")
        return numbers

    def _steps(self, iterable: Iterable[Any]) -> Iterator[Any]:
        budget = self.budget()
        for item in iterable:
            budget.tick()
            yield item

    def checked_parts(self, parts: tuple[Any, ...]) -> tuple[Any, ...]:
        """The parts of a ``~`` join, once their total size is known to be within bounds."""
        budget = self.budget()
        budget.charge(parts)
        return parts

    def _checked_output(self, value: Any) -> Any:
        if type(value) is not str:  # printing a container prints all it holds
            self.budget().check(text_size(value, self.budget().max_chars))
        return value

    def _bounded_filter(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        check = filter_check(name)
        passes_state = getattr(function, "jinja_pass_arg", None) is not None

        @functools.wraps(function)
        def bounded(*args: Any, **kwargs: Any) -> Any:
            budget = self.budget()
            budget.tick()
            if check is not None:
                args = check(budget, args, kwargs, 1 if passes_state else 0)
            result = function(*args, **kwargs)
            budget.charge(result)
            return result

        return bounded

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        """As the immutable sandbox, but a refused attribute stops the render at once."""
        if super().is_safe_attribute(obj, attr, value):
            return True
        raise SecurityError(f"it tried to reach Python internals ({type(obj).__name__}.{attr})")

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        """Run ``*``, ``**``, ``+`` and ``%`` once their result is known to be within bounds."""
        budget = self.active or self.budget()
        if operator == "+" and type(left) is str and type(right) is str:
            result: Any = left + right  # no bigger than its parts: counting it is enough
            budget.spent += len(result)  # (the hot path of real templates: charge() inlined)
            if len(result) > budget.max_chars or budget.spent > budget.total:
                budget.refuse(len(result))
            return result
        check_binop(budget, operator, left, right)
        result = self.binop_table[operator](left, right)
        if operator != "**":
            budget.charge(result)
        return result

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        """Call a macro, function or method after the deadline and size checks."""
        budget = __self.budget()
        budget.tick()
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, (str, bytes, int)) and not isinstance(owner, bool):
            check = METHOD_CHECKS.get(getattr(__obj, "__name__", ""))
            if check is not None:
                args = check(budget, owner, args, kwargs)
        result = super().call(__context, __obj, *args, **kwargs)
        budget.charge(result)
        return result

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """``"...".format(...)``: widths in the pattern and arguments are checked first."""
        wrapper = super().wrap_str_format(value)
        if wrapper is None:
            return None
        pattern = str(value.__self__)

        def checked(*args: Any, **kwargs: Any) -> str:
            check_format(self.budget(), pattern, (*args, *kwargs.values()))
            return wrapper(*args, **kwargs)

        return checked


def _tojson(
    value: Any,
    ensure_ascii: bool = False,
    indent: int | None = None,
    separators: tuple[str, str] | None = None,
    sort_keys: bool = False,
) -> str:
    """JSON as Hugging Face's chat templates expect it (not HTML-escaped, unlike Jinja's)."""
    return json.dumps(
        value, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys
    )


def _raise_exception(message: str) -> NoReturn:
    raise TemplateRaised(message)


def _strftime_now(pattern: str) -> str:
    return datetime.now().strftime(pattern)


class ChatTemplate:
    """A model's chat template, compiled once and rendered within ``limits``.

    ``source`` names the template in errors ("the GGUF chat template of model.gguf").
    """

    def __init__(
        self,
        template: str,
        *,
        bos_token: str,
        eos_token: str,
        source: str,
        limits: TemplateLimits | None = None,
        cache_dir: Path | None = None,
    ) -> None:
        """``cache_dir``: where compiled templates are kept for the next start (None: nowhere)."""
        self.template = template
        self.source = source
        self._context = {"bos_token": bos_token, "eos_token": eos_token}
        self._environment = BoundedEnvironment(limits or TemplateLimits())
        self._lock = threading.Lock()
        if len(template) > MAX_TEMPLATE_CHARS:
            self._fail(f"it is {len(template):,} characters long (at most {MAX_TEMPLATE_CHARS:,})")
        try:
            self._compiled = self._compile(template, cache_dir)
        except Exception as exc:  # a template that cannot compile is the template's fault
            self._fail(_reason(exc))

    def _compile(self, template: str, cache_dir: Path | None) -> jinja2.Template:
        """The compiled template, through Jinja's bytecode cache in ``cache_dir`` when it works.

        Compiling takes ~6 ms on every start; loading the cached code ~0.5 ms. The cache key
        holds this module's source, whose code generator shapes the compiled code.
        """
        environment = self._environment
        cache = _bytecode_cache(cache_dir)
        if cache is None:
            return environment.from_string(template)
        bucket = _bucket(cache, environment, template)
        if bucket.code is None:
            bucket.code = environment.compile(template)
            with contextlib.suppress(OSError):  # not kept: the next start compiles again
                cache.set_bucket(bucket)
        return environment.template_class.from_code(
            environment, bucket.code, environment.make_globals(None), None
        )

    def render(self, messages: Sequence[dict[str, Any]], add_generation_prompt: bool = True) -> str:
        """The prompt for ``messages`` (role/content dicts)."""
        input_chars = sum(len(str(m.get("content") or "")) for m in messages)
        budget = Budget(self._environment.limits, input_chars)
        with self._lock:
            self._environment.active = budget
            try:
                return self._generate(budget, messages, add_generation_prompt)
            except Exception as exc:
                self._fail(_reason(exc))
            finally:
                self._environment.active = None

    def _generate(
        self, budget: Budget, messages: Sequence[dict[str, Any]], add_generation_prompt: bool
    ) -> str:
        chunks = self._compiled.generate(
            messages=messages,
            add_generation_prompt=add_generation_prompt,
            raise_exception=_raise_exception,
            strftime_now=_strftime_now,
            functions=None,
            function_call=None,
            tools=None,
            tool_choice=None,
            **self._context,
        )
        parts: list[str] = []
        size = 0
        deadline = budget.deadline
        for chunk in chunks:
            size += len(chunk)
            if size > budget.max_chars or time.monotonic() > deadline:
                budget.check(size)
                budget.tick()
            parts.append(chunk)
        return "".join(parts)

    def _fail(self, reason: str) -> NoReturn:
        raise ModelError(f"the {self.source} cannot be used: {reason}") from None


@functools.cache
def _compiler() -> bytes:
    """What shapes compiled templates besides their text: this module and Jinja's version."""
    return Path(__file__).read_bytes() + jinja2.__version__.encode()


def _bytecode_cache(folder: Path | None) -> jinja2.FileSystemBytecodeCache | None:
    """Jinja's cache of compiled templates in the private ``folder`` (None when unusable)."""
    if folder is None:
        return None
    try:
        _compiler()
        ensure_private_dir(folder)
    except OSError:
        return None
    return jinja2.FileSystemBytecodeCache(str(folder))


def _bucket(
    cache: jinja2.FileSystemBytecodeCache, environment: BoundedEnvironment, template: str
) -> Bucket:
    """The cache's bucket for ``template``: its code, or None to compile and keep."""
    key = hashlib.sha256(_compiler() + template.encode()).hexdigest()
    try:
        return cache.get_bucket(environment, key, None, template)
    except Exception:  # a damaged file (Jinja unpickles its header unguarded): it is rewritten
        return Bucket(environment, cache.get_cache_key(key), cache.get_source_checksum(template))


def _reason(exc: BaseException) -> str:
    """Why a template failed, in one line of bounded length."""
    if isinstance(exc, (LimitExceeded, SecurityError)):
        text = str(exc)
    elif isinstance(exc, TemplateRaised):
        text = f"it refused the conversation: {exc}"
    elif isinstance(exc, RecursionError):
        text = "it recursed too deeply"
    elif isinstance(exc, MemoryError):
        text = "it ran out of memory"
    elif isinstance(exc, jinja2.TemplateSyntaxError):
        text = f"syntax error on line {exc.lineno}: {exc.message}"
    else:
        text = f"{type(exc).__name__}: {exc}"
    text = " ".join(text.split())
    return text if len(text) <= 300 else text[:297] + "..."
