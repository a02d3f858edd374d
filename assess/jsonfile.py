"""Reading a user's JSON file (a rig profile, a facts file, a config.json) defensively.

One clear error per problem, never a traceback and never a hang: only regular files of at most
:data:`MAX_JSON_BYTES`, parsed by the one strict JSON reader every part of the app uses
(:func:`rigready.catalog.userjson.parse_json_text`): nesting at most :data:`MAX_DEPTH` deep, no
``NaN``/``Infinity`` (not JSON, though Python's parser accepts them), no number that overflows to
infinity (``1e999``) and no integer longer than :data:`MAX_INT_DIGITS` digits.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from rigready.catalog.userfiles import UserFileError, read_user_text
from rigready.catalog.userjson import MAX_INT_DIGITS, MAX_JSON_DEPTH, json_problem, parse_json_text

#: Builds the caller's error from (file, field, problem); the field is "" for file-level problems.
ErrorFactory = Callable[[str, str, str], Exception]

MAX_JSON_BYTES = 8 * 1024 * 1024
MAX_DEPTH = MAX_JSON_DEPTH

__all__ = ["MAX_DEPTH", "MAX_INT_DIGITS", "MAX_JSON_BYTES", "ErrorFactory", "parse_json_text",
           "read_json_file"]


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
    except ValueError as exc:
        raise error(where, "", json_problem(exc)) from None
