"""Readers of one log file each, polled as the file grows (used by :mod:`.watch`).

- :class:`~.watch_tensorboard.TensorBoardSource` (in :mod:`.watch_tensorboard`): TensorBoard
  event files, whose scalars are named and grouped by :func:`group_metrics` here.
- :class:`TrainerStateSource`: ``trainer_state.json`` (rewritten whole at each save, not
  atomically: a half-written file is retried at the next poll); new ``log_history`` entries,
  ``global_step`` / ``max_steps``.
- :class:`CsvSource`: Lightning's ``metrics.csv`` (rows appended, ``\r\n`` line ends; the file
  is rewritten with a wider header when a new metric appears); read from the last offset, a
  partial last line is waited for, a rewrite is detected by the header and re-read past the rows
  already taken. Its ``step`` column counts from 0 (the row written after a run's 400th and last
  step says 399: Lightning logs ``global_step - 1``), so a row's step is taken as ``step + 1``,
  the steps done, as the bar and the Trainer count them.

Each ``poll()`` returns new events and never raises for what a file contains: a problem is one
line in :attr:`problem` (the watcher prints it once).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rigready.monitor.training.events import RunEvent, RunMetrics, RunProgress
from rigready.monitor.training.tqdm_parse import EVAL_LOSS_NAMES, LOSS_NAMES, LR_NAMES
from rigready.monitor.training.trainer_log import kind_of, metrics_from_dict

#: Longest line of a CSV file taken; a longer one is skipped.
MAX_CSV_LINE = 1024 * 1024
#: Largest trainer_state.json read (it holds the whole log history).
MAX_STATE_BYTES = 256 * 1024 * 1024
#: Polls with a grown but unreadable file tail before it is called broken.
STUCK_POLLS = 5
def _canonical(name: str) -> tuple[str, str]:
    """A scalar's name as (kind, field): ("train", "loss"), ("eval", "eval_loss")..."""
    low = name.lower()
    for prefix, kind in (("train/", "train"), ("eval/", "eval"), ("val/", "eval"),
                         ("validation/", "eval")):
        if low.startswith(prefix):
            rest = low[len(prefix):]
            if kind == "eval":
                return "eval", "eval_loss" if rest == "loss" else f"eval_{rest}"
            if rest.startswith("train_"):  # the Trainer's final summary: train/train_runtime
                return "summary", rest
            return kind, rest
    if low in EVAL_LOSS_NAMES:
        return "eval", "eval_loss"
    if low in LOSS_NAMES or low in ("loss/current", "loss/average"):
        return "train", "loss"
    if low in LR_NAMES or low.startswith("lr-") or low.startswith("lr/"):
        return "train", "learning_rate"
    if low.startswith("val_") or low.startswith("valid_"):
        return "eval", f"eval_{low.split('_', 1)[1]}"
    return "train", low


def group_metrics(step: int, time: float, values: dict[str, float],
                  source: str) -> list[RunMetrics]:
    """Scalars of one step (canonical field names) as metrics records, per kind."""
    by_kind: dict[str, dict[str, float]] = {}
    for name, value in values.items():
        kind, field = _canonical(name)
        by_kind.setdefault(kind, {})[field] = value
    out = []
    for kind in ("train", "eval", "summary"):
        fields = by_kind.get(kind)
        if not fields:
            continue
        if kind == "eval" and "eval_loss" not in fields and not any(
                k.startswith("eval_") for k in fields):
            continue
        if kind == "train" and not {"loss", "learning_rate", "grad_norm"} & set(fields):
            continue  # epoch or hp_metric alone is no training log
        m = metrics_from_dict(fields, time, step)
        out.append(_with_source(m, source))
    return out


def _with_source(m: RunMetrics, source: str) -> RunMetrics:
    from dataclasses import replace

    return replace(m, source=source)


def file_size(path: Path) -> int:
    """The file's size in bytes (0 when it cannot be read)."""
    try:
        return path.stat().st_size
    except OSError:
        return 0


class TrainerStateSource:
    """One ``trainer_state.json`` (the watcher keeps the newest of a folder's)."""

    kind = "trainer_state"

    def __init__(self, path: Path) -> None:
        """Remember the file; nothing is read until :meth:`poll`."""
        self.path = path
        self.problem: str | None = None
        self._stamp: tuple[int, int] | None = None
        self._seen: set[tuple[int | None, str]] = set()
        self._bad = 0
        self.records = 0

    def poll(self) -> list[RunEvent]:
        """New log entries and the step counter, when the file changed."""
        try:
            st = self.path.stat()
        except OSError:
            return []
        stamp = (st.st_mtime_ns, st.st_size)
        if stamp == self._stamp:
            return []
        if st.st_size > MAX_STATE_BYTES:
            self.problem = f"{self.path} is larger than {MAX_STATE_BYTES >> 20} MiB; not read"
            self._stamp = stamp
            return []
        try:
            data = json.loads(self.path.read_bytes())
        except (OSError, ValueError):
            self._bad += 1  # written right now (not atomically): retry at the next poll
            if self._bad >= STUCK_POLLS:
                self.problem = f"{self.path} is not valid JSON"
                self._stamp = stamp
            return []
        self._bad = 0
        self._stamp = stamp
        if not isinstance(data, dict):
            self.problem = f"{self.path} is not a trainer state (no JSON object)"
            return []
        return self._entries(data, st.st_mtime)

    def _entries(self, data: dict[str, Any], mtime: float) -> list[RunEvent]:
        out: list[RunEvent] = []
        history = data.get("log_history")
        for entry in history if isinstance(history, list) else []:
            if not isinstance(entry, dict):
                continue
            step = entry.get("step")
            fields = {k: float(v) for k, v in entry.items()
                      if isinstance(v, int | float) and not isinstance(v, bool) and k != "step"}
            if not fields:
                continue
            key = (step if isinstance(step, int) else None, kind_of(fields))
            if key in self._seen:
                continue
            self._seen.add(key)
            self.records += 1
            out.append(_with_source(metrics_from_dict(fields, mtime, key[0]), "trainer_state"))
        step, total = data.get("global_step"), data.get("max_steps")
        if isinstance(step, int):
            out.append(RunProgress(time=mtime, step=step,
                                   total=total if isinstance(total, int) and total > 0 else None,
                                   source="trainer_state"))
        return out


class CsvSource:
    """One Lightning ``metrics.csv``."""

    kind = "csv"

    def __init__(self, path: Path) -> None:
        """Remember the file; nothing is read until :meth:`poll`."""
        self.path = path
        self.problem: str | None = None
        self._offset = 0
        self._header: list[str] | None = None
        self._header_line = b""
        self._rows_taken = 0
        self._row_index = 0
        self._partial = b""
        self.records = 0

    def poll(self) -> list[RunEvent]:
        """Rows appended since the last poll (all rows past those taken, after a rewrite)."""
        try:
            with self.path.open("rb") as handle:
                first = handle.readline(MAX_CSV_LINE)
                if self._header is not None and first != self._header_line:
                    self._restart()  # rewritten with a wider header
                size = os.fstat(handle.fileno()).st_size
                if size < self._offset:
                    self._restart()  # truncated and rewritten
                handle.seek(self._offset)
                data = handle.read()
        except OSError as exc:
            self.problem = f"cannot read {self.path}: {exc.strerror}"
            return []
        self._offset += len(data)
        return list(self._lines(self._partial + data))

    def _restart(self) -> None:
        self._offset = 0
        self._header = None
        self._partial = b""
        self._row_index = 0

    def _lines(self, data: bytes) -> Iterator[RunEvent]:
        lines = data.split(b"\n")
        self._partial = lines.pop()  # no newline yet: wait for the rest of that line
        if len(self._partial) > MAX_CSV_LINE:
            self._partial = b""
            self.problem = f"{self.path}: a line longer than {MAX_CSV_LINE >> 10} KiB skipped"
        index = self._row_index
        for raw in lines:
            if self._header is None:
                self._header_line = raw + b"\n"
                self._header = next(csv.reader(io.StringIO(
                    raw.rstrip(b"\r").decode("utf-8", "replace"))), [])
                index = 0
                continue
            index += 1
            if index <= self._rows_taken:
                continue  # already taken before the file was rewritten
            self._rows_taken = index
            yield from self._row(raw)
        self._row_index = index

    def _row(self, raw: bytes) -> Iterator[RunEvent]:
        assert self._header is not None
        # Lightning writes "\r\n" line ends (the csv module's default)
        cells = next(csv.reader(io.StringIO(raw.rstrip(b"\r").decode("utf-8", "replace"))), [])
        values: dict[str, float] = {}
        for name, cell in zip(self._header, cells, strict=False):
            try:
                value = float(cell)
            except ValueError:
                continue
            values[name] = value
        step_value = values.pop("step", None)
        # the zero-based index of the last optimizer step: the steps done are one more (the
        # H100 capture's 4 x 100-step run ends with "3,399,..." while its bar says 400/400)
        step = None if step_value is None or not math.isfinite(step_value) else \
            int(step_value) + 1
        now = _mtime(self.path)
        if step is not None:
            yield RunProgress(time=now, step=step, total=None, source="csv")
        for m in group_metrics(step or 0, now, values, "csv"):
            self.records += 1
            yield m if step is not None else _with_step(m, None)


def _with_step(m: RunMetrics, step: int | None) -> RunMetrics:
    from dataclasses import replace

    return replace(m, step=step)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        import time

        return time.time()
