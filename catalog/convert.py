"""Strict conversion of one parsed TOML table into its typed entry dataclass.

The dataclass field types drive the checks: ``str`` must be a non-empty string, ``int`` a whole
number, ``float`` a finite number (a whole number is accepted), ``bool`` true/false, ``date`` a
TOML date, ``Literal`` one of its values, ``tuple[X, ...]`` an array of X. Numbers must be above
zero unless the field's metadata gives other bounds.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
import types
import typing
from collections.abc import Mapping
from datetime import date
from typing import Any, Literal, Union, get_args, get_origin

import rigready.catalog.schema as schema
from rigready.catalog.errors import CatalogError
from rigready.catalog.prices import check_foreign_row, usd_placeholders

_ID_RE = re.compile(r"^[a-z0-9][a-z0-9._+-]*$")
_MAX_ID = 80


def label_for(table: str, index: int, raw: object) -> str:
    """How to name an entry in messages: its id when that is a usable string, else its position."""
    if isinstance(raw, Mapping):
        entry_id = raw.get("id")
        if isinstance(entry_id, str) and _ID_RE.match(entry_id) and len(entry_id) <= _MAX_ID:
            return entry_id
    return f"{table}[{index}]"


def convert_entry(cls: type[Any], raw: Mapping[Any, Any], path: str, label: str) -> Any:
    """Build ``cls`` from ``raw``, raising :class:`CatalogError` for the first problem found."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = _hints(cls)
    kwargs: dict[str, Any] = {}
    check_foreign_row(cls, raw, lambda key, problem: CatalogError(path, label, key, problem))
    for key, value in raw.items():
        if not isinstance(key, str) or key not in fields:
            raise CatalogError(path, label, str(key), _unknown_key(str(key), list(fields)))
        kwargs[key] = _convert(hints[key], value, path, label, key, fields[key].metadata)
    # a price in another currency gets its USD figure when the catalog's rates are known (merge)
    kwargs.update(usd_placeholders(cls, raw))
    for fname, f in fields.items():
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        if required and fname not in kwargs:
            raise CatalogError(path, label, fname, "missing required key")
    entry_id = kwargs.get("id")
    if not isinstance(entry_id, str) or not _ID_RE.match(entry_id) or len(entry_id) > _MAX_ID:
        raise CatalogError(path, label, "id", "must be lower-case letters, digits and . _ + - "
                           f"(at most {_MAX_ID} characters), such as rtx-3060-12gb")
    return cls(**kwargs)


_HINTS: dict[type[Any], dict[str, Any]] = {}


def _hints(cls: type[Any]) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls, vars(schema))
    return _HINTS[cls]


def _unknown_key(key: str, known: list[str]) -> str:
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    prefixed = [k for k in known if k.startswith(key + "_")] if key else []
    hint = close[0] if close else (prefixed[0] if prefixed else None)
    if hint:
        return f"unknown key (did you mean {hint}? units are part of the key name)"
    return "unknown key"


def _convert(
    tp: Any, value: object, path: str, label: str, key: str, meta: Mapping[str, Any]
) -> object:
    def fail(problem: str) -> CatalogError:
        return CatalogError(path, label, key, problem)

    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        options = [o for o in get_args(tp) if o is not type(None)]
        # Only X | None unions exist in the schema: TOML has no null, so the value is the X.
        return _convert(options[0], value, path, label, key, meta)
    if origin is Literal:
        allowed = get_args(tp)
        if value not in allowed or not isinstance(value, str):
            raise fail(f"must be one of {', '.join(map(str, allowed))}; found {_show(value)}")
        return value
    if origin is tuple:
        item_type = get_args(tp)[0]
        if not isinstance(value, list):
            raise fail(f"must be an array such as [\"...\"]; found {_show(value)}")
        items = []
        for i, item in enumerate(value):
            items.append(_convert(item_type, item, path, label, f"{key}[{i}]", meta))
        if key == "match" and not items:
            raise fail("must list at least one name fragment")
        if key != "power_connectors" and len(set(items)) != len(items):
            raise fail("lists the same value twice")
        return tuple(items)
    if tp is bool:
        if not isinstance(value, bool):
            raise fail(f"must be true or false; found {_show(value)}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise fail(f"must be a whole number; found {_show(value)}")
        return _in_bounds(value, meta, fail)
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise fail(f"must be a number; found {_show(value)}")
        if not math.isfinite(value):
            raise fail("must be a finite number")
        return float(_in_bounds(value, meta, fail))
    if tp is str:
        if not isinstance(value, str):
            raise fail(f"must be a string; found {_show(value)}")
        if not value.strip():
            raise fail("must not be empty")
        return value
    if tp is date:
        if type(value) is not date:
            raise fail(f"must be a TOML date such as 2026-11-22 (no quotes, no time); "
                       f"found {_show(value)}")
        return value
    raise fail(f"unsupported field type {tp!r}")  # pragma: no cover - schema bug


#: Ceiling for a number whose field sets no maximum: above every real figure (a 10^12-parameter
#: model, a PB of storage in bytes is 10^15), below what overflows the estimator's products
#: (``vram_gib = 1e300`` would turn into infinity bytes).
DEFAULT_MAX = 1e15


def _in_bounds(value: int | float, meta: Mapping[str, Any], fail: Any) -> int | float:
    low, high = meta.get("min"), meta.get("max")
    if high is None:
        high = DEFAULT_MAX
    if low is None:
        if value <= 0:
            raise fail(f"must be above zero; found {value}")
    elif value < low:
        raise fail(f"must be at least {low}; found {value}")
    if high is not None and value > high:
        raise fail(f"must be at most {high:g}; found {value:g}")
    return value


def _show(value: object) -> str:
    kind = {str: "a string", bool: "a boolean", int: "a whole number", float: "a number",
            list: "an array", dict: "a table", date: "a date"}.get(type(value))
    if kind is None:
        kind = f"a {type(value).__name__}"
    text = repr(value)
    if len(text) > 40:
        text = text[:37] + "..."
    return f"{kind} {text}" if not isinstance(value, list | dict) else kind
