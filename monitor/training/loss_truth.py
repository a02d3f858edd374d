"""What can truthfully be said of a run's training loss once NaN or Inf has been seen.

Hugging Face's Trainer (``logging_nan_inf_filter``, on by default) never logs a NaN loss: a
step whose loss is NaN or Inf counts as the average of the window's finite steps, so with every
step NaN the logged loss is ``0``, and the run's summary ``train_loss`` averages those zeros in.
The gradient norm is not filtered: it turns NaN first (on the H100 NaN run of
tests/data/training/h100-2026-12-06, ``grad_norm`` is NaN at step 3 while that step's loss,
6.432, is still real; every later loss is logged as ``0``).

So after a non-finite loss, eval loss or gradient norm, a logged training loss of exactly ``0``
is the filter's, not a loss: :class:`LossWatch` counts it as NaN. The run is finite again after
:data:`RECOVER_LOGS` records in a row with every value finite and a loss that is not a filtered
``0`` (an fp16 loss-scale overflow gives one Inf gradient norm and goes on learning).

:class:`LossWatch` is fed the records in order (the tracker, the alert engine and a stored
run's records all use it), and :meth:`LossWatch.truth` gives a frozen :class:`LossTruth` whose
:meth:`~LossTruth.text` is the one wording used by the closing line, the Finished alert and
``rigready history``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from rigready.monitor.training.events import RunMetrics

#: Fully finite records in a row after which a non-finite episode is over (as ``loss_nan``
#: clears: :attr:`~.run_alerts.RunAlertConfig.nan_clear_logs`).
RECOVER_LOGS = 5
_LABELS = {"loss": "loss", "eval_loss": "eval loss", "grad_norm": "grad norm"}


def number_text(value: float) -> str:
    """``NaN``, ``Inf``, ``-Inf`` or the value to 4 significant digits."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Inf" if value > 0 else "-Inf"
    return f"{value:.4g}"


def _at(step: int | None) -> str:
    return "the first logs" if step is None else f"step {step}"


@dataclass(frozen=True, slots=True)
class LossTruth:
    """The training loss as it can be told (all None until a loss is logged)."""

    #: The loss to show now: the latest logged one, NaN/Inf while the run is non-finite.
    latest: float | None
    last_finite: float | None = None
    last_finite_step: int | None = None
    #: The first record of the current non-finite episode: its step, what and its value.
    nonfinite_step: int | None = None
    nonfinite_name: str | None = None
    nonfinite_value: float | None = None
    #: The first step whose logged loss was non-finite, or a filtered ``0`` (``filtered``).
    loss_nonfinite_step: int | None = None
    filtered: bool = False

    @property
    def finite(self) -> bool:
        """Whether no non-finite episode is going on."""
        return self.nonfinite_step is None

    @property
    def final(self) -> float | None:
        """The value a stored run keeps as its final loss: the latest finite loss, NaN while
        the loss is non-finite, and None when a NaN/Inf was seen before any loss was."""
        if self.loss_nonfinite_step is not None:
            return math.nan
        return self.latest if self.latest is not None and math.isfinite(self.latest) else None

    def text(self) -> str | None:
        """``loss 0.1234``; ``loss NaN since step 4 (logged as 0; grad norm NaN since step 3;
        last finite 6.432 at step 3)``; None when nothing was logged."""
        if self.finite:
            return None if self.latest is None else f"loss {number_text(self.latest)}"
        notes = []
        if self.loss_nonfinite_step is not None:
            shown = self.latest if self.latest is not None else math.nan
            head = f"loss {number_text(shown)} since {_at(self.loss_nonfinite_step)}"
            if self.filtered:
                notes.append("logged as 0")
        else:
            head = "loss " + ("-" if self.latest is None else number_text(self.latest))
        if self.nonfinite_name != "loss" or self.loss_nonfinite_step is None:
            value = number_text(self.nonfinite_value if self.nonfinite_value is not None
                                else math.nan)
            notes.append(f"{_LABELS.get(self.nonfinite_name or '', 'a value')} {value} since "
                         f"{_at(self.nonfinite_step)}")
        if self.last_finite is not None:
            where = "" if self.last_finite_step is None else f" at {_at(self.last_finite_step)}"
            notes.append(f"last finite {number_text(self.last_finite)}{where}")
        return head + (f" ({'; '.join(notes)})" if notes else "")

    def short(self) -> str:
        """For a table cell: ``0.1234``, ``NaN@4``, ``-``."""
        if self.loss_nonfinite_step is not None and not self.finite:
            shown = self.latest if self.latest is not None else math.nan
            return f"{number_text(shown)}@{self.loss_nonfinite_step}"
        return "-" if self.latest is None else number_text(self.latest)


class LossWatch:
    """Feed it a run's metrics records in order; :meth:`truth` says what the loss is."""

    def __init__(self, recover_logs: int = RECOVER_LOGS) -> None:
        """Nothing seen yet."""
        self._recover = recover_logs
        self._latest: float | None = None
        self._summary: float | None = None
        self._last_finite: tuple[float, int | None] | None = None
        self._episode: tuple[int | None, str, float] | None = None
        self._loss_bad: int | None = None
        self._filtered = False
        self._clean = 0

    @property
    def finite(self) -> bool:
        """Whether no non-finite episode is going on (``truth().finite``, cheaper)."""
        return self._episode is None

    def observe(self, m: RunMetrics) -> float | None:
        """Take one record; returns the training loss to plot for it (NaN for a filtered 0,
        None when it has none)."""
        if m.kind == "summary":  # an average of the run's losses, filtered zeros included
            if m.loss is not None and math.isfinite(m.loss):
                self._summary = m.loss
            return None
        bad = m.non_finite()
        if bad is not None:
            if self._episode is None:
                self._episode = (m.step, bad[0], bad[1])
            self._clean = 0
        loss = m.loss if m.kind == "train" else None
        if loss is None:
            return None
        if not math.isfinite(loss) or (self._episode is not None and loss == 0.0):
            self._filtered = self._filtered or math.isfinite(loss)
            shown = loss if not math.isfinite(loss) else math.nan
            if self._loss_bad is None:
                self._loss_bad = m.step
            self._latest = shown
            self._clean = 0
            return shown
        self._latest = loss
        self._last_finite = (loss, m.step)
        if self._episode is not None and bad is None:
            self._clean += 1
            if self._clean >= self._recover:  # learning again: the episode is over
                self._episode, self._loss_bad, self._filtered = None, None, False
        return loss

    def truth(self) -> LossTruth:
        """The loss as it can be told now."""
        latest = self._latest if self._latest is not None else (
            self._summary if self._episode is None else None)
        last = self._last_finite
        episode = self._episode
        return LossTruth(
            latest=latest, last_finite=None if last is None else last[0],
            last_finite_step=None if last is None else last[1],
            nonfinite_step=None if episode is None else episode[0],
            nonfinite_name=None if episode is None else episode[1],
            nonfinite_value=None if episode is None else episode[2],
            loss_nonfinite_step=self._loss_bad, filtered=self._filtered)


def loss_truth(records: Iterable[RunMetrics]) -> LossTruth:
    """The truth of a whole run's records (a stored run, oldest first)."""
    watch = LossWatch()
    for record in records:
        watch.observe(record)
    return watch.truth()
