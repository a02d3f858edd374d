"""The one strict JSON reader: every JSON the app reads (a user's file, a cache, a settings file,
a download, a pack's manifest) is parsed by :func:`parse_json_text` here.

Nesting is limited to :data:`MAX_JSON_DEPTH` (checked before the parser recurses, so 100,000
brackets are one line, not a RecursionError), ``NaN``/``Infinity`` are refused (not JSON, though
Python's parser accepts them), as are numbers that overflow to infinity and integers longer than
:data:`MAX_INT_DIGITS` digits. Files are read with :mod:`rigready.catalog.userfiles` (regular
files only, never waited on, bounded in size).
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

from rigready.catalog.userfiles import DEFAULT_READ_LIMIT, UserFileError, read_user_text

#: Deepest JSON nesting accepted (real files nest a handful of levels).
MAX_JSON_DEPTH = 64
#: Longest JSON integer accepted, in digits (Python refuses over 4,300 anyway, slowly).
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


#: A JSON string (skipped whole, brackets inside it do not count; an unterminated one runs to
#: the end, so no position is scanned twice) or one bracket.
_STRING_OR_BRACKET = re.compile(r'"(?:[^"\\]+|\\.)*(?:"|\\?\Z)|[\[\]{}]', re.DOTALL)


def json_depth_exceeds(text: str, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether brackets outside strings nest deeper than ``limit`` (checked before parsing
    recurses: Python's parser raises RecursionError near 1,000 levels)."""
    depth = 0
    for match in _STRING_OR_BRACKET.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > limit:
                return True
        elif token in "]}":
            depth -= 1
    return False


def parse_json_text(text: str) -> object:
    """JSON text parsed strictly (the limits in the module docstring).

    Raises:
        ValueError: with a one-line reason (``json.JSONDecodeError`` for syntax errors).
    """
    if json_depth_exceeds(text, MAX_JSON_DEPTH):
        raise ValueError(f"nested more than {MAX_JSON_DEPTH} levels deep")
    try:
        data: object = json.loads(text, parse_float=_parse_float, parse_int=_parse_int,
                                  parse_constant=_reject_constant)
    except RecursionError:  # pragma: no cover - the depth check comes first
        raise ValueError("nested too deeply") from None
    return data


def json_problem(exc: ValueError) -> str:
    """The one-line reason for a :func:`parse_json_text` failure."""
    if isinstance(exc, json.JSONDecodeError):
        return f"not valid JSON (line {exc.lineno}: {exc.msg})"
    return f"not valid JSON ({exc})"


def parse_json_bytes(raw: bytes, what: str) -> object:
    """UTF-8 JSON bytes (a download, a pack member) parsed as :func:`parse_json_text`.

    Raises:
        UserFileError: ``what: not valid JSON (...)`` or not UTF-8.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise UserFileError(f"{what}: not UTF-8 text (expected JSON)") from None
    try:
        return parse_json_text(text)
    except ValueError as exc:
        raise UserFileError(f"{what}: {json_problem(exc)}") from None


def read_user_json(path: Path | str, *, limit: int = DEFAULT_READ_LIMIT) -> object:
    """The parsed JSON of a regular file of at most ``limit`` bytes (FIFOs, devices and folders
    refused at once, never waited on; nesting and numbers bounded as :func:`parse_json_text`).

    Raises:
        UserFileError: one line: unreadable, not a regular file, too large, not JSON.
    """
    text = read_user_text(path, limit=limit, kind="JSON")
    try:
        return parse_json_text(text)
    except ValueError as exc:
        raise UserFileError(f"{path}: {json_problem(exc)}") from None
