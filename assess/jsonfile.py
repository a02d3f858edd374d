"""Reading a user's JSON file (a rig profile, a facts file, a config.json) defensively.

One clear error per problem, never a traceback and never a hang: only regular files of at most
:data:`MAX_JSON_BYTES` (see :mod:`rigready.catalog.userfiles`), nesting at most :data:`MAX_DEPTH`
deep, no ``NaN``/``Infinity`` (not JSON, though Python's parser accepts them), no number that
overflows to infinity (``1e999``) and no integer longer than :data:`MAX_INT_DIGITS` digits.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

from rigready.catalog.userfiles import UserFileError, read_user_text

#: Builds the caller's error from (file, field, problem); the field is "" for file-level problems.
ErrorFactory = Callable[[str, str, str], Exception]

MAX_JSON_BYTES = 8 * 1024 * 1024
MAX_DEPTH = 64
MAX_INT_DIGITS = 30


class _BadNumber(ValueError):
    pass


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _BadNumber(f"the number {text[:30]} is too large")
    return value


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise _BadNumber(f"a {len(text)}-digit number is too large")
    return int(text)


def _reject_constant(text: str) -> object:
    raise _BadNumber(f"{text} is not a number JSON allows")


def _depth_exceeds(text: str, limit: int) -> bool:
    """Whether brackets outside strings nest deeper than ``limit`` (before parsing recurses)."""
    depth = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > limit:
                return True
        elif ch in "]}":
            depth -= 1
    return False


def parse_json_text(text: str) -> object:
    """JSON text parsed strictly (limits in the module docstring).

    Raises:
        ValueError: with a one-line reason (``json.JSONDecodeError`` for syntax errors).
    """
    if _depth_exceeds(text, MAX_DEPTH):
        raise ValueError(f"nested more than {MAX_DEPTH} levels deep")
    try:
        data: object = json.loads(text, parse_float=_parse_float, parse_int=_parse_int,
                                  parse_constant=_reject_constant)
    except RecursionError:  # pragma: no cover - the depth check comes first
        raise ValueError("nested too deeply") from None
    return data


def read_json_file(path: Path, error: ErrorFactory) -> object:
    """The parsed JSON of ``path``.

    Raises:
        Exception: ``error(str(path), "", problem)`` when the file cannot be read, is not a
            regular text file within the size limit, or is not valid, finite JSON (with the line
            of the first mistake).
    """
    where = str(path)
    try:
        text = read_user_text(path, limit=MAX_JSON_BYTES, kind="JSON")
    except UserFileError as exc:
        problem = str(exc).removeprefix(f"{where}: ")
        raise error(where, "", problem) from None
    try:
        return parse_json_text(text)
    except json.JSONDecodeError as exc:
        raise error(where, "", f"not valid JSON (line {exc.lineno}: {exc.msg})") from None
    except ValueError as exc:
        raise error(where, "", f"not valid JSON ({exc})") from None
