"""Readers of one log file each, polled as the file grows (used by :mod:`.watch`).

- :class:`TensorBoardSource`: the ``tensorboard`` package's ``EventFileLoader``, whose
  ``Load()`` resumes where it stopped, so a growing file is tailed (never re-read) and a record
  cut at the end of the file is waited for. Scalars become metrics grouped by step (a step's
  group is handed on once a later step appears, or one poll later); the Trainer's logged
  arguments and model config (text summaries) become :class:`~.events.RunHints`.
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

from rigready.monitor.training.events import RunEvent, RunHints, RunMetrics, RunProgress
from rigready.monitor.training.tqdm_parse import EVAL_LOSS_NAMES, LOSS_NAMES, LR_NAMES
from rigready.monitor.training.trainer_log import kind_of, metrics_from_dict

#: Longest line of a CSV file taken; a longer one is skipped.
MAX_CSV_LINE = 1024 * 1024
#: Largest trainer_state.json read (it holds the whole log history).
MAX_STATE_BYTES = 256 * 1024 * 1024
#: Polls with a grown but unreadable file tail before it is called broken.
STUCK_POLLS = 5
TENSORBOARD_HINT = ("reading TensorBoard event files needs the tensorboard package: "
                    "pip install 'rigready[watch]' (or pip install tensorboard)")


def tensorboard_available() -> bool:
    """Whether the ``tensorboard`` package can be imported."""
    try:
        from tensorboard.backend.event_processing import event_file_loader  # noqa: F401
    except ImportError:
        return False
    return True


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


class TensorBoardSource:
    """One ``events.out.tfevents.*`` file."""

    kind = "tensorboard"

    def __init__(self, path: Path) -> None:
        """Open the file with ``EventFileLoader``.

        Raises:
            ImportError: tensorboard is not installed.
        """
        from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

        self.path = path
        self.problem: str | None = None
        self._loader = EventFileLoader(str(path))
        self._held: tuple[int, float, dict[str, float]] | None = None
        self._size_read = 0
        self._stuck = 0
        self.records = 0

    def poll(self) -> list[RunEvent]:
        """New events since the last poll."""
        out: list[RunEvent] = []
        got = 0
        try:
            for event in self._loader.Load():
                got += 1
                self._event(event, out)
        except Exception as exc:  # noqa: BLE001 - a malformed record: skip past it
            self.problem = f"{self.path}: a record could not be read ({type(exc).__name__}); " \
                           "skipped"
        self.records += got
        size = _size(self.path)
        if got:
            self._size_read, self._stuck = size, 0
        elif size > self._size_read:
            self._stuck += 1
            if self._stuck >= STUCK_POLLS and self.problem is None:
                self.problem = (f"{self.path}: {size - self._size_read} bytes at its end are "
                                "not a complete TensorBoard record (truncated or corrupt); "
                                "waiting for more")
        if not got and self._held is not None:  # nothing new: the held step is complete
            out.extend(self._release())
        return out

    def _release(self) -> list[RunEvent]:
        held, self._held = self._held, None
        if held is None:
            return []
        step, time, values = held
        return list(group_metrics(step, time, values, "tensorboard"))

    def _event(self, event: Any, out: list[RunEvent]) -> None:
        from tensorboard.util import tensor_util

        if not event.HasField("summary"):
            return
        for value in event.summary.value:
            plugin = value.metadata.plugin_data.plugin_name
            if plugin == "text" and value.HasField("tensor"):
                hints = _text_hints(value.tag, tensor_util.make_ndarray(value.tensor),
                                    event.wall_time)
                if hints is not None:
                    out.append(hints)
                continue
            if value.HasField("tensor"):
                array = tensor_util.make_ndarray(value.tensor)
                if array.size != 1 or array.dtype.kind not in "fiu":
                    continue
                number = float(array.reshape(-1)[0])
            elif value.HasField("simple_value"):
                number = float(value.simple_value)
            else:
                continue
            step = int(event.step)
            if self._held is not None and self._held[0] != step:
                out.extend(self._release())
            if self._held is None:
                self._held = (step, float(event.wall_time), {})
            self._held[2][value.tag] = number


def _text_hints(tag: str, array: Any, wall_time: float) -> RunHints | None:
    """The Trainer's ``args/text_summary`` and ``model_config/text_summary`` as hints."""
    if tag not in ("args/text_summary", "model_config/text_summary") or array.size < 1:
        return None
    raw = array.reshape(-1)[0]
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    if tag == "args/text_summary":
        return _args_hints(data, float(wall_time))
    name = data.get("_name_or_path") or data.get("name_or_path")
    return RunHints(time=float(wall_time), model=name if isinstance(name, str) and name else None,
                    model_config=text, source="tensorboard")


def _args_hints(data: dict[str, Any], wall_time: float) -> RunHints:
    """The Trainer's logged ``TrainingArguments``."""

    def count(key: str) -> int | None:
        value = data.get(key)
        return value if type(value) is int and value > 0 else None

    lr, epochs, checkpointing = (data.get(k) for k in (
        "learning_rate", "num_train_epochs", "gradient_checkpointing"))
    precision = "bf16" if data.get("bf16") is True else "fp16" if data.get("fp16") is True else \
        "fp32" if data.get("bf16") is False and data.get("fp16") is False else None
    return RunHints(time=wall_time, total_steps=count("max_steps"),
                    batch_per_device=count("per_device_train_batch_size"),
                    grad_accum=count("gradient_accumulation_steps"),
                    epochs=round(epochs) if isinstance(epochs, int | float) and epochs > 0 and
                    count("max_steps") is None else None,
                    learning_rate=float(lr) if isinstance(lr, int | float) else None,
                    precision=precision, source="tensorboard",
                    gradient_checkpointing=checkpointing if isinstance(checkpointing, bool)
                    else None)


def _size(path: Path) -> int:
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
