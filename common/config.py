"""One way to turn YAML layers into frozen dataclasses: typed merging, value ranges, `a.b=value` overrides.

The tracking, model and training configurations are frozen dataclasses. A layer (a YAML mapping, or
the command line) replaces some of their keys; `merge` checks every key exists and every value has
the field's type (an int is accepted for a float, a list for a tuple), recursing into nested
dataclasses. A field's valid range lives beside it (`field(metadata=within(0, 1))`), and
`check_ranges` checks them all in one place: NaN and infinities lie outside every range.
`parse_overrides` reads the one override syntax of every command, `section.key=value` with the
value parsed as YAML.
"""
from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import yaml

from common.errors import UserError

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

T = TypeVar("T", bound="DataclassInstance")


def within(low: float | None = None, high: float | None = None, *, above: float | None = None,
           choices: tuple | None = None, note: str = "", flag: str | None = None) -> dict:
    """Field metadata: the value lies in [low, high] (`above`: strictly greater), or is one of `choices`.

    Errors name the key and `note` (" (--batch-size)"), or only `flag` for settings that are a command
    line option and no config key (`--line-width`)."""
    return {"range": (low, high, above, choices, note), "flag": flag}


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _kinds(hint: Any) -> tuple:
    """The alternatives of a type hint (`int | None` -> (int, NoneType))."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return typing.get_args(hint)
    return (hint,)


def _coerce(where: str, hint: Any, value: Any, error: type[UserError]) -> Any:
    """`value` as the type `hint` asks for, or `error` naming the key, the type and the value."""
    for kind in _kinds(hint):
        if kind is Any:
            return value
        if kind is type(None) and value is None:
            return None
        origin = typing.get_origin(kind)
        if origin is tuple and isinstance(value, (list, tuple)):
            element = (typing.get_args(kind) or (Any,))[0]
            return tuple(_coerce(f"{where}[{index}]", element, item, error) for index, item in enumerate(value))
        if kind is float and isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if kind in (int, str, bool) and type(value) is kind:
            return value
    names = " or ".join("null" if kind is type(None) else getattr(kind, "__name__", str(kind)) for kind in _kinds(hint))
    raise error(f"{where} must be {names}, not {value!r}.")


def merge(instance: T, layer: Mapping[str, Any], origin: str, error: type[UserError], prefix: str = "") -> T:
    """`instance` with the keys of `layer` replaced, checked against the dataclass; `origin` names the layer."""
    if not isinstance(layer, Mapping):
        raise error(f"{origin}: {prefix.rstrip('.') or 'the file'} must be a mapping of keys, not {layer!r}.")
    hints = _hints(type(instance))
    names = [f.name for f in dataclasses.fields(instance)]
    changes = {}
    for key, value in layer.items():
        where = f"{prefix}{key}"
        if key not in hints or key not in names:
            raise error(f"{origin}: unknown key {where}; known keys: {', '.join(names)}.")
        current = getattr(instance, key)
        if dataclasses.is_dataclass(current) and not isinstance(current, type) and not isinstance(value, type(current)):
            changes[key] = merge(current, value or {}, origin, error, f"{where}.")
        else:
            changes[key] = _coerce(f"{origin}: {where}", hints[key], value, error)
    return dataclasses.replace(instance, **changes)


def check_ranges(instance: Any, error: type[UserError], prefix: str = "") -> None:
    """Raise `error` for the first field outside the range its metadata gives (NaN and infinities are outside
    every range)."""
    for field in dataclasses.fields(instance):
        value = getattr(instance, field.name)
        where = f"{prefix}{field.name}"
        if dataclasses.is_dataclass(value):
            check_ranges(value, error, f"{where}.")
            continue
        if "range" not in field.metadata or value is None:
            continue
        low, high, above, choices, note = field.metadata["range"]
        if field.metadata.get("flag"):
            where, note = field.metadata["flag"], ""
        if choices is not None:
            if value not in choices:
                raise error(f"{where}{note} must be one of {', '.join(map(str, choices))}, not {value!r}.")
            continue
        number = _as_float(value)
        inside = (math.isfinite(number) and (low is None or number >= low) and (high is None or number <= high)
                  and (above is None or number > above))
        if not inside:
            raise error(f"{where}{note} must be {_describe(low, high, above)}, not {value!r}.")


def _as_float(value: float) -> float:
    """The number as a float; an int too large for one (10**20 is fine, 10**400 is not) as an infinity."""
    try:
        return float(value)
    except OverflowError:
        return math.copysign(math.inf, value)


def _describe(low: float | None, high: float | None, above: float | None) -> str:
    if above is not None:
        return f"greater than {above:g}" + (f" and at most {high:g}" if high is not None else "")
    if low is not None and high is not None:
        return f"between {low:g} and {high:g}"
    return f"at least {low:g}" if low is not None else f"at most {high:g}"


def parse_overrides(items: Iterable[str], error: type[UserError]) -> dict:
    """`["a.b=1", "a.c=x"]` -> `{"a": {"b": 1, "c": "x"}}`; values are YAML (`null`, `true`, `[1, 2]`)."""
    layer: dict = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key or any(not part for part in key.split(".")):
            raise error(f"override {item!r} must look like section.key=value.")
        try:
            value = yaml.safe_load(text) if text.strip() else ""
        except yaml.YAMLError:
            value = text
        except RecursionError:
            raise error(f"override {item[:40]!r}... is nested too deeply to read.") from None
        node = layer
        *sections, last = key.split(".")
        for part in sections:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise error(f"override {item!r}: {part!r} is given both a value and keys.")
        node[last] = value
    return layer
