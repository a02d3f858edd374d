"""A captured run played back as the wrapper saw it (``rigready run --capture`` files).

:func:`replay_capture` parses each chunk at its recorded time, so progress, log records and the
parser's last lines come out as they did live; :func:`shown_eta_errors` feeds those events to a
:class:`~.tracker.RunTracker` and reads its snapshot once a second, as the recorder publishes
them, to say how far the ETA a screen showed was from the run's real end. Used by the test
fixtures (tests/data/training) and by ``benchmarks/training_proof_report.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rigready.monitor.training.capture import read_capture
from rigready.monitor.training.events import RunEvent, RunProgress
from rigready.monitor.training.recorder import TICK_S
from rigready.monitor.training.stream import StreamParser
from rigready.monitor.training.tracker import RunInfo, RunTracker


def replay_capture(path: Path) -> tuple[list[RunEvent], StreamParser]:
    """Every event of a capture file, each parsed at its chunk's time, and the parser after it.

    Raises:
        OSError: The file cannot be read.
    """
    clock = [0.0]
    parser = StreamParser(clock=lambda: clock[0])
    events: list[RunEvent] = []
    for t, data in read_capture(path):
        clock[0] = t
        events.extend(parser.feed(data))
    events.extend(parser.close())
    return events, parser


def shown_eta_errors(events: Sequence[RunEvent], marks: Sequence[float] = (0.25, 0.5),
                     tick_s: float = TICK_S) -> dict[float, float]:
    """The shown ETA's error at each share of a run: ``(predicted end - real end) / run length``.

    A snapshot is taken every ``tick_s`` seconds of the events' own times, seeing the events
    before it; at each mark the first snapshot whose step is at or past it is read. The run is
    counted from its first completed step to the bar reaching its total (its real end). A mark
    no snapshot reached with an ETA is left out; no bar with a total gives ``{}``.
    """
    bars = [e for e in events if isinstance(e, RunProgress)]
    total = bars[-1].total if bars else None
    if not events or not total:
        return {}
    end = next((b.time for b in bars if b.step >= total), None)
    start = next((b.time for b in bars if b.step >= 1), None)
    if end is None or start is None or end <= start:
        return {}
    tracker = RunTracker(RunInfo(label=None, command=(), started=events[0].time,
                                 source="replay"))
    tick = events[0].time + tick_s
    errors: dict[float, float] = {}
    for event in events:
        while event.time >= tick:
            snap = tracker.snapshot(tick)
            tick += tick_s
            for mark in marks:
                if (mark not in errors and snap.step is not None and snap.eta_end is not None
                        and snap.step >= mark * total):
                    errors[mark] = (snap.eta_end - end) / (end - start)
        tracker.apply(event)
    return errors
