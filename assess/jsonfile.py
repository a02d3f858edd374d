"""Reading a user's JSON file (a rig profile, a facts file) with one clear error per problem."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

#: Builds the caller's error from (file, field, problem); the field is "" for file-level problems.
ErrorFactory = Callable[[str, str, str], Exception]


def read_json_file(path: Path, error: ErrorFactory) -> object:
    """The parsed JSON of ``path``.

    Raises:
        Exception: ``error(str(path), "", problem)`` when the file cannot be read, is not text or
            is not valid JSON (with the line of the first mistake).
    """
    where = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise error(where, "", f"cannot read the file ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise error(where, "", "not a text file (expected JSON)") from None
    try:
        data: object = json.loads(text)
    except json.JSONDecodeError as exc:
        raise error(where, "", f"not valid JSON (line {exc.lineno}: {exc.msg})") from None
    return data
