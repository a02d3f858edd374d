"""Replaying captured training-run output (tests/data/training) through the run parsers."""

from __future__ import annotations

import json
from pathlib import Path

from rigready.monitor.training.capture import read_capture
from rigready.monitor.training.events import RunEvent
from rigready.monitor.training.stream import StreamParser

DATA = Path(__file__).resolve().parent.parent / "data" / "training"


def replay(name: str) -> tuple[list[RunEvent], StreamParser]:
    """Every event of a capture, each parsed at its chunk's recorded time."""
    clock = [0.0]
    parser = StreamParser(clock=lambda: clock[0])
    events: list[RunEvent] = []
    for t, data in read_capture(DATA / name / "capture.jsonl"):
        clock[0] = t
        events.extend(parser.feed(data))
    events.extend(parser.close())
    return events, parser


def log_history(name: str) -> list[dict[str, float]]:
    """The Trainer's own log_history of a captured HF run."""
    state = json.loads((DATA / name / "out" / "trainer_state.json").read_text())
    return list(state["log_history"])
