"""Plain records the store reads and writes. No SQL here; the rest of chatcli uses these types."""

from __future__ import annotations

import copy
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from functools import cache
from typing import Any, Literal, Self, Union, get_args, get_origin, get_type_hints

MessageStatus = Literal["complete", "streaming", "interrupted", "error"]


class Record:
    """One shape per record.

    ``to_dict`` and ``from_dict`` are what rows, ``--json`` and export are made of, so a field
    added to a record reaches all of them.
    """

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        """The record's fields, in declaration order."""
        return _field_names(cls)  # type: ignore[arg-type]

    def to_dict(self, *, shared: bool = False) -> dict[str, Any]:
        """The record as a JSON-ready dict (a deep copy: changing it changes nothing here).

        ``shared`` hands out the record's own dicts and lists instead, for output that is
        serialized at once (an export of 110,000 messages: 0.71 -> 0.38 s).
        """
        if shared:
            return {name: getattr(self, name) for name in self.field_names()}
        return {name: _copied(getattr(self, name)) for name in self.field_names()}

    @classmethod
    def from_fields(cls, values: dict[str, Any]) -> Self:
        """The record holding ``values`` as given: every field, each already of its type.

        Only for values known to fit (the store's own rows, or a shape ``from_dict`` checked).
        It skips the frozen dataclass's __init__, one guarded setattr per field: reading
        110,000 messages' rows into records 0.85 -> 0.45 s.
        """
        record = object.__new__(cls)
        object.__setattr__(record, "__dict__", values)
        return record

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, owned: bool = False) -> Self:
        """Build the record from :meth:`to_dict`'s shape, checking names and types.

        The record gets copies of the dicts and lists in ``data``, unless ``owned`` says no
        one else holds them (JSON just parsed: importing 100,000 messages copies ~25% less).
        Raises ValueError naming the first unknown, missing or mistyped field.
        """
        if not isinstance(data, Mapping):
            raise ValueError(f"{cls.__name__}: expected an object, got {type(data).__name__}")
        # Records of one kind nearly always come in one shape (the same fields, each value of
        # the same type): a shape seen whole and sure once needs only its value checks, and
        # its record can skip the frozen dataclass's __init__ (15 guarded setattrs). Building
        # 110,000 messages: 1.1-1.3 -> 0.55-0.6 s (without the cyclic GC, as an import runs).
        shape = (tuple(data), tuple(map(type, data.values())))
        known = shape in _known_shapes(cls)  # type: ignore[arg-type]
        if known:
            _check_values(cls, data)
        else:
            _check_fields(cls, data)
        values = dict(data) if owned else {name: _copied(value) for name, value in data.items()}
        if known:
            return cls.from_fields(values)
        try:
            record = cls(**values)
        except TypeError as error:  # a required field is missing
            raise ValueError(f"{cls.__name__}: {error}") from None
        if _whole_and_sure(cls, data):
            _known_shapes(cls).add(shape)  # type: ignore[arg-type]
        return record


def _check_fields(cls: type, data: Mapping[str, Any]) -> None:
    """Raise ValueError naming the first unknown or mistyped field."""
    checks, exact = _checks(cls), _exact_types(cls)
    unknown = data.keys() - checks.keys()
    if unknown:
        raise ValueError(f"{cls.__name__}: unknown field(s) {', '.join(sorted(unknown))}")
    for name, value in data.items():
        # A set lookup settles the usual values; the full check only the rest.
        if type(value) not in exact[name] and not checks[name](value):
            raise ValueError(f"{cls.__name__}: field '{name}' has the wrong type")


def _check_values(cls: type, data: Mapping[str, Any]) -> None:
    """The checks a known shape still needs: the fields whose values decide (Literal)."""
    checks = _checks(cls)
    for name in _value_checked(cls):
        if not checks[name](data[name]):
            raise ValueError(f"{cls.__name__}: field '{name}' has the wrong type")


def _whole_and_sure(cls: type, data: Mapping[str, Any]) -> bool:
    """Whether ``data`` gives every field, each of a type that surely fits (or value-checked)."""
    if len(data) != len(_field_names(cls)):
        return False
    exact, by_value = _exact_types(cls), _value_checked(cls)
    return all(type(value) in exact[name] or name in by_value for name, value in data.items())


@cache
def _known_shapes(cls: type) -> set[tuple[tuple[str, ...], tuple[type, ...]]]:
    return set()


@cache
def _value_checked(cls: type) -> frozenset[str]:
    """The fields no type can vouch for: their check looks at the value."""
    return frozenset(name for name, sure in _exact_types(cls).items() if not sure)


@cache
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


@cache
def _checks(cls: type) -> dict[str, Callable[[Any], bool]]:
    """One type check per field, worked out once from the type hints."""
    hints = get_type_hints(cls)
    return {name: _check_for(hints[name]) for name in _field_names(cls)}


@cache
def _exact_types(cls: type) -> dict[str, frozenset[type]]:
    """Per field, the types whose values surely pass its check (the check decides the rest)."""
    hints = get_type_hints(cls)
    return {name: _sure_types(hints[name]) for name in _field_names(cls)}


def _sure_types(hint: Any) -> frozenset[type]:
    if get_origin(hint) in (Union, types.UnionType):
        return frozenset().union(*(_sure_types(arg) for arg in get_args(hint)))
    if hint is float:
        return frozenset({float, int})
    kind = get_origin(hint) or hint
    return frozenset({kind}) if isinstance(kind, type) and kind is not Any else frozenset()


_SCALARS = frozenset({str, int, float, bool, type(None)})


def _copied(value: Any) -> Any:
    """A deep copy of JSON-shaped data (dicts, lists, scalars); much cheaper than deepcopy."""
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is dict:
        return {key: _copied(item) for key, item in value.items()}
    if kind is list:
        return [_copied(item) for item in value]
    return copy.deepcopy(value)


def _check_for(hint: Any) -> Callable[[Any], bool]:
    """A function telling whether a value fits the type ``hint`` (the simple types records use)."""
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        args = get_args(hint)
        plain = tuple(get_origin(arg) or arg for arg in args)
        if all(isinstance(kind, type) and kind not in (int, float) for kind in plain):
            return lambda value: isinstance(value, plain)  # one C call: str | None, dict | None
        options = [_check_for(arg) for arg in args]
        return lambda value: any(check(value) for check in options)
    if origin is Literal:
        allowed = get_args(hint)
        return lambda value: value in allowed
    if hint is Any:
        return lambda value: True
    if hint is float:
        return lambda value: isinstance(value, int | float) and not isinstance(value, bool)
    if hint is int:
        return lambda value: isinstance(value, int) and not isinstance(value, bool)
    kind = origin or hint
    return lambda value: isinstance(value, kind)


@dataclass(frozen=True)
class SessionRecord(Record):
    """A saved conversation."""

    id: str
    """Stable identifier (a short random hex string)."""
    name: str | None
    """Optional unique name the user gave it (``--session NAME``)."""
    title: str
    """Display title, from the first user message unless the user edited it."""
    created: float
    """Creation time, seconds since the epoch."""
    updated: float
    """Time of the last change, seconds since the epoch."""
    model: str
    """Model the session uses (catalog name or path)."""
    system_prompt: str
    """System prompt sent first on every turn ('' for none)."""
    role: str | None
    """Name of the role the system prompt came from, if any."""
    sampling: dict[str, Any] = field(default_factory=dict)
    """Sampling parameters saved with the session (SamplingParams.as_dict form)."""
    current_leaf: str | None = None
    """Id of the message at the tip of the branch being shown."""
    context_length: int | None = None
    """Context size chosen for this session (None = the settings' or the model's)."""
    overflow: str | None = None
    """Overflow policy chosen for this session (None = the configured one)."""
    draft: str = ""
    """Text typed in the chat app's input and not sent yet."""
    lora: str | None = None
    """Path of the LoRA adapter its replies use (None = none)."""
    lora_scale: float = 1.0
    """How strongly that adapter applies."""


@dataclass(frozen=True)
class MessageRecord(Record):
    """One message in a session's message tree."""

    id: str
    """Stable identifier."""
    session_id: str
    """Session the message belongs to."""
    parent_id: str | None
    """The message this one answers or follows (None for the first message)."""
    role: str
    """"user", "assistant" or "system"."""
    content: str
    """Text of the message (partial while streaming)."""
    created: float
    """Creation time, seconds since the epoch."""
    status: MessageStatus = "complete"
    """Whether the text is final, still streaming, cut short, or failed."""
    model: str | None = None
    """For replies: the model's display name."""
    model_sha256: str | None = None
    """For replies: digest of the model file."""
    sampling: dict[str, Any] | None = None
    """For replies: sampling parameters used."""
    usage: dict[str, Any] | None = None
    """For replies: token counts and timings."""
    finish_reason: str | None = None
    """For replies: "stop", "length", "interrupted" or "error"."""
    pinned: bool = False
    """Pinned messages are never dropped from the context."""
    attachments: list[dict[str, Any]] = field(default_factory=list)
    """Files attached to the message, in order: each ``{"path", "sha256", "size", "tokens"}``
    (the texts are kept once, by sha256, in the store's attachments)."""
    evaluation: dict[str, Any] | None = None
    """For replies of a local model: how the prompt and reply went through the model (which
    earlier context it reused, the token pieces it evaluated, the sampled ids), for replay;
    ``Evaluation.to_dict`` form."""


@dataclass(frozen=True)
class SummaryRecord(Record):
    """A model-written summary of a session's messages up to one message (for the context)."""

    id: str
    session_id: str
    upto_message_id: str
    """The last message the summary covers; the messages after it are sent as they are."""
    content: str
    created: float


@dataclass(frozen=True)
class WindowRecord(Record):
    """Where the sent part of a branch starts, remembered once the branch outgrew its context."""

    id: str
    session_id: str
    start_message_id: str
    """The oldest unpinned message still sent; unpinned messages before it are left out."""
    context_length: int
    """The context size the window was chosen for (another size plans afresh)."""
    created: float
