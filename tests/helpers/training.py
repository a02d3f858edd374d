"""Replaying captured training-run output (tests/data/training) through the run parsers."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

from rigready.monitor.training.events import RunEvent
from rigready.monitor.training.replay import replay_capture
from rigready.monitor.training.stream import StreamParser

DATA = Path(__file__).resolve().parent.parent / "data" / "training"
#: The captures of benchmarks/training_monitor_proof.sh on an H100 (see its README).
H100 = "h100-2026-12-06"


def replay(name: str) -> tuple[list[RunEvent], StreamParser]:
    """Every event of a capture, each parsed at its chunk's recorded time."""
    return replay_capture(DATA / name / "capture.jsonl")


def log_history(name: str) -> list[dict[str, float]]:
    """The Trainer's own log_history of a captured HF run."""
    state = json.loads((DATA / name / "out" / "trainer_state.json").read_text())
    return list(state["log_history"])


def copy_database(name: str, to: Path) -> Path:
    """A copy of a gzipped database fixture in ``to`` (a WAL reader writes beside the file)."""
    target = to / Path(name).name.removesuffix(".gz")
    with gzip.open(DATA / name) as source, target.open("wb") as out:
        shutil.copyfileobj(source, out)
    return target
