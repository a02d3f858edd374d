"""The reader of one TensorBoard event file, polled as it grows (used by :mod:`.watch`).

The ``tensorboard`` package's ``EventFileLoader``, whose ``Load()`` resumes where it stopped, so
a growing file is tailed (never re-read) and a record cut at the end of the file is waited for.
Scalars become metrics grouped by step (a step's group is handed on once a later step appears,
or one poll later; names as :func:`.watch_sources.group_metrics` gives them); the Trainer's
logged arguments and model config (text summaries) become :class:`~.events.RunHints`. A
``poll()`` never raises for what the file contains: a problem is one line in ``problem``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rigready.monitor.training.events import RunEvent, RunHints
from rigready.monitor.training.watch_sources import STUCK_POLLS, file_size, group_metrics

TENSORBOARD_HINT = ("reading TensorBoard event files needs the tensorboard package: "
                    "pip install 'rigready[watch]' (or pip install tensorboard)")


def tensorboard_available() -> bool:
    """Whether the ``tensorboard`` package can be imported."""
    try:
        from tensorboard.backend.event_processing import event_file_loader  # noqa: F401
    except ImportError:
        return False
    return True


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
        size = file_size(self.path)
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
