"""The "Measure on this GPU" row of the Can I run it? page.

A button, what it is doing and Cancel: the job runs
:func:`rigready.desktop.usecases.measure.measure_job` on the project's
:class:`~rigready.desktop.worker.GeneratorWorker` (off the GUI thread); the model is built and
stepped in a subprocess with a timeout, so the window never holds GPU memory. Cancel stops the
subprocess at once. The outcome is saved to the history by the use case and handed on through
``measured``.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from rigready.assess.estimate import Estimate
from rigready.assess.estimate.model import ModelShape
from rigready.desktop.usecases.measure import measure_job, refusal, render_measured
from rigready.desktop.worker import GeneratorWorker


class MeasureBar(QWidget):
    """Run the shown estimate's job on this PC's GPU and say what was measured.

    Signals:
        measured(object): the :class:`~rigready.desktop.usecases.measure.MeasureOutcome`.
    """

    measured = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.button = QPushButton("Measure on this GPU")
        self.button.setToolTip("Build the model from its config with random weights (no "
                               "download) and run a few real steps here: the measured peak and "
                               "step time are shown beside the estimate and kept in the history")
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)
        self.busy.setMaximumWidth(80)
        self.busy.setTextVisible(False)
        self.busy.setVisible(False)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setVisible(False)
        self.cancel_button.clicked.connect(self.cancel)
        row.addWidget(self.button)
        row.addWidget(self.busy)
        row.addWidget(self.label, 1)
        row.addWidget(self.cancel_button)
        self.worker: GeneratorWorker | None = None
        self._stop = threading.Event()

    @property
    def running(self) -> bool:
        """Whether a measurement is under way."""
        return self.worker is not None

    def set_available(self, here: bool, why: str = "") -> None:
        """Enable the button for a job on this PC's GPU; otherwise say why not."""
        self.button.setEnabled(here and not self.running)
        if not self.running:
            self.label.setText("" if here else why)

    def start(self, shape: ModelShape, est: Estimate, config: dict[str, Any] | None,
              db_path: Path | None) -> None:
        """Measure ``est``'s job; a missing package or a job the runner cannot build is said
        in the label and nothing runs."""
        why = refusal(shape, est, config)
        if why:
            self.label.setText(why[0].upper() + why[1:] + ".")
            return
        self._stop = threading.Event()
        stop = self._stop
        worker = GeneratorWorker(lambda: measure_job(shape, est, config, stop, db_path), self)
        worker.progressed.connect(self.label.setText)
        worker.finished.connect(self._on_finished)
        worker.errored.connect(self._on_failed)
        worker.cancelled.connect(self._on_failed)
        self.worker = worker
        self._busy(True)
        worker.start()

    @Slot()
    def cancel(self) -> None:
        """Stop the measurement (its subprocess is killed; nothing stays on the GPU)."""
        self._stop.set()
        if self.worker is not None:
            self.worker.cancel()

    def wait(self, timeout_s: float = 30.0) -> bool:
        """Wait for a running measurement to end (tests and shutdown)."""
        return self.worker.wait(timeout_s) if self.worker is not None else True

    def _busy(self, on: bool) -> None:
        self.busy.setVisible(on)
        self.cancel_button.setVisible(on)
        self.button.setEnabled(not on)

    @Slot(object)
    def _on_finished(self, outcome: Any) -> None:
        self.worker = None
        self._busy(False)
        lines = render_measured(outcome.run)
        if outcome.saved_problem:
            lines.append(f"  {outcome.saved_problem}")
        self.label.setText("\n".join(lines))
        self.measured.emit(outcome)

    @Slot()
    def _on_failed(self, message: str = "stopped") -> None:
        self.worker = None
        self._busy(False)
        self.label.setText(f"Not measured: {message}")
