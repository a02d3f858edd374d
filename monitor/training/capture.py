"""A run's output stream with the time each chunk arrived (``rigready run --capture FILE``).

One JSON object per line: ``{"t": <unix seconds>, "b64": "<the bytes, base64>"}``. Used for bug
reports, for the proof driver and for test fixtures (tests/data/training/): replaying the
chunks through :class:`~.stream.StreamParser` with their times reproduces what the wrapper saw,
ETA included.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO


def chunk_line(t: float, data: bytes) -> str:
    """One captured chunk as a line (with its newline)."""
    return json.dumps({"t": round(t, 6), "b64": base64.b64encode(data).decode("ascii")}) + "\n"


def write_chunk(out: IO[str], t: float, data: bytes) -> None:
    """Append one chunk."""
    out.write(chunk_line(t, data))


def read_capture(path: Path) -> Iterator[tuple[float, bytes]]:
    """The chunks of a capture file in order; a torn last line (killed writer) is skipped.

    Raises:
        OSError: The file cannot be read.
    """
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            try:
                item = json.loads(line)
                yield float(item["t"]), base64.b64decode(item["b64"])
            except (ValueError, KeyError, TypeError):
                continue


def raw_bytes(path: Path) -> bytes:
    """The whole stream as the terminal received it."""
    return b"".join(data for _, data in read_capture(path))
