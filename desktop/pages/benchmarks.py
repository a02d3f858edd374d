"""The "Benchmarks" page: run GEMM and storage benchmarks, compare with the catalog, see history.

Runs happen in a :class:`~desktop.worker.GeneratorWorker` (off the GUI thread); Cancel asks the
worker to close the generator at its next yield (every half second at most), so the storage
test file is removed and GPU memory freed within a second. Results are saved to the database
and listed in the history table, newest first.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from rigready.assess.bench.compare import gpu_speedup
from rigready.assess.bench.cpu_gemm import CpuGemmResult, run_cpu_gemm
from rigready.assess.bench.fingerprint import current_fingerprint, profile_fingerprint
from rigready.assess.bench.gpu_gemm import GpuGemmResult, run_gpu_gemm
from rigready.assess.bench.progress import Progress
from rigready.assess.bench.records import BenchResultType
from rigready.assess.bench.storage import StorageResult, default_storage_folder, run_storage
from rigready.assess.hardware import RigProfile
from rigready.desktop.context import AppContext
from rigready.desktop.pages.benchmarks_results import ResultsList
from rigready.desktop.theme import MUTED, current_theme, page_title
from rigready.desktop.usecases.bench import (
    Outcome,
    detect_this_pc,
    load_history,
    machine_name,
    outcome_of,
    save_outcomes,
    when_text,
)
from rigready.desktop.worker import GeneratorWorker

Job = Callable[[], Generator[Progress, None, Any]]


@dataclass(frozen=True, slots=True)
class RunBundle:
    """What one press of Start produced."""

    results: tuple[BenchResultType, ...]
    profile: RigProfile | None


#: Order of the kinds when several saved results are shown together.
_KIND_ORDER: dict[type, int] = {CpuGemmResult: 0, GpuGemmResult: 1, StorageResult: 2}


class BenchmarksPage(QWidget):
    """Start/cancel benchmarks, watch progress, compare with expectations, browse history.

    Signals:
        results_saved: a run's results were saved (the window tells the pages that read them,
            such as Readiness, to look again).
    """

    results_saved = Signal()

    def __init__(self, context: AppContext) -> None:
        super().__init__()
        self.context = context
        self.worker: GeneratorWorker | None = None
        #: The fingerprint of this PC once detected or measured (names history rows).
        self._this_pc: str | None = None
        #: kind -> factory of the generator to run; tests replace these with fakes.
        self.factories: dict[str, Callable[[RigProfile | None], Generator[Progress, None, Any]]]
        self.factories = {"cpu": self._cpu_job, "gpu": self._gpu_job, "storage": self._storage_job}
        self.outcomes: list[Outcome] = []

        outer = QVBoxLayout(self)
        title = page_title("Benchmarks")
        outer.addWidget(title)
        hint = QLabel("Matrix-multiply throughput (CPU and GPU, timed with device events on "
                      "random data) and CrystalDiskMark's storage tests with the page cache "
                      "bypassed. Results are compared with what the catalog expects.")
        hint.setWordWrap(True)
        hint.setStyleSheet(f"color: {MUTED[current_theme()]};")
        outer.addWidget(hint)

        controls = QGridLayout()
        self.cpu_box = QCheckBox("CPU GEMM")
        self.gpu_box = QCheckBox("GPU GEMM")
        self.storage_box = QCheckBox("Storage")
        for box in (self.cpu_box, self.storage_box):
            box.setChecked(True)
        # GPU GEMM is ticked only once this PC is known to have a GPU (see _on_profile_changed)
        self.gpu_box.setChecked(False)
        self.gpu_mode = QComboBox()
        self.gpu_mode.addItems(["Quick (about 10 s)", "Sustained (60 s, shows throttling)"])
        self.folder = QLineEdit(str(default_storage_folder()))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        self.quick_storage = QCheckBox("Quick storage test (256 MiB, about 25 s)")
        self.quick_storage.setChecked(True)
        controls.addWidget(self.cpu_box, 0, 0)
        controls.addWidget(self.gpu_box, 0, 1)
        controls.addWidget(self.gpu_mode, 0, 2)
        controls.addWidget(self.storage_box, 1, 0)
        controls.addWidget(self.folder, 1, 1, 1, 2)
        controls.addWidget(browse, 1, 3)
        controls.addWidget(self.quick_storage, 2, 1, 1, 2)
        outer.addLayout(controls)

        buttons = QHBoxLayout()
        self.start_button = QPushButton("Start")
        self.start_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.cancel_button)
        buttons.addStretch(1)
        outer.addLayout(buttons)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.status = QLabel("Ready.")
        self.status.setWordWrap(True)
        outer.addWidget(self.progress)
        outer.addWidget(self.status)

        self.results_box = ResultsList()
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.results_box)
        outer.addWidget(scroll, 2)
        self.speedup = QLabel("")
        self.speedup.setStyleSheet("font-weight: 600;")
        outer.addWidget(self.speedup)

        outer.addWidget(QLabel("History"))
        self.history_empty = QLabel("No runs saved yet: each run's results are kept here, "
                                    "newest first.")
        self.history_empty.setWordWrap(True)
        self.history_empty.setStyleSheet(f"color: {MUTED[current_theme()]};")
        outer.addWidget(self.history_empty)
        self.history = QTableWidget(0, 3)
        self.history.setHorizontalHeaderLabels(["When", "Machine", "Result"])
        self.history.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.history.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.history.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.history.setToolTip("Select a run to see its results above")
        self.history.itemSelectionChanged.connect(self._show_selected_run)
        outer.addWidget(self.history, 1)
        self.refresh_history()
        if not self.show_latest_saved():
            self.show_outcomes([])  # the placeholder, not an empty box
        context.profile_changed.connect(lambda _profile: self._on_profile_changed())

    # -- jobs ------------------------------------------------------------------------------

    def _cpu_job(self, profile: RigProfile | None) -> Generator[Progress, None, Any]:
        return run_cpu_gemm(profile.cpu if profile else None)

    def _gpu_job(self, profile: RigProfile | None) -> Generator[Progress, None, Any]:
        return run_gpu_gemm("sustained" if self.gpu_mode.currentIndex() == 1 else "quick")

    def _storage_job(self, profile: RigProfile | None) -> Generator[Progress, None, Any]:
        return run_storage(Path(self.folder.text().strip()), quick=self.quick_storage.isChecked())

    def selected(self) -> list[str]:
        """The kinds ticked, in run order."""
        boxes = (("cpu", self.cpu_box), ("gpu", self.gpu_box), ("storage", self.storage_box))
        return [kind for kind, box in boxes if box.isChecked()]

    def _bundle(self, kinds: list[str]) -> Generator[Progress, None, RunBundle]:
        # A benchmark measures the machine it runs on. With a saved profile of another
        # machine loaded, its results must not be stored as that machine's (they replaced its
        # results and changed its readiness score): measure and save as this PC.
        profile = self.context.profile
        if profile is None or profile.origin != "detected":
            yield Progress(0.0, "detecting this PC")
            profile = detect_this_pc()
        results: list[BenchResultType] = []
        for i, kind in enumerate(kinds):
            gen = self.factories[kind](profile)
            try:
                while True:
                    p = next(gen)
                    yield Progress((i + p.fraction) / len(kinds), p.message)
            except StopIteration as stop:
                results.append(stop.value)
            finally:
                gen.close()
        return RunBundle(tuple(results), profile)

    # -- slots -----------------------------------------------------------------------------

    @Slot()
    def start(self) -> None:
        """Run the ticked benchmarks in the background."""
        if self.worker is not None and self.worker.running:
            return
        kinds = self.selected()
        if not kinds:
            self.status.setText("Tick at least one benchmark.")
            return
        self.worker = GeneratorWorker(lambda: self._bundle(kinds), self)
        self.worker.progressed.connect(self._on_progress)
        self.worker.finished.connect(self._on_finished)
        self.worker.errored.connect(self._on_error)
        self.worker.cancelled.connect(self._on_cancelled)
        self._set_running(True)
        self.status.setText("Starting…")
        self.worker.start()

    @Slot()
    def cancel(self) -> None:
        """Stop at the next yield; the running benchmark cleans up after itself."""
        if self.worker is not None and self.worker.running:
            self.worker.cancel()
            self.status.setText("Cancelling…")
            self.cancel_button.setEnabled(False)

    def _set_running(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)

    @Slot(object)
    def _on_progress(self, p: Progress) -> None:
        self.progress.setValue(round(p.fraction * 1000))
        self.status.setText(p.message)

    @Slot(str)
    def _on_error(self, message: str) -> None:
        self._set_running(False)
        self.status.setText(f"Stopped: {message}")

    @Slot()
    def _on_cancelled(self) -> None:
        self._set_running(False)
        self.progress.setValue(0)
        self.status.setText("Cancelled; nothing was left behind.")

    @Slot(object)
    def _on_finished(self, bundle: RunBundle) -> None:
        self._set_running(False)
        self.progress.setValue(1000)
        self.outcomes = [outcome_of(r, bundle.profile) for r in bundle.results]
        fingerprint = (profile_fingerprint(bundle.profile) if bundle.profile
                       else current_fingerprint())
        self._this_pc = fingerprint  # what was measured is this PC
        problems = save_outcomes(self.outcomes, fingerprint, self.context.database_path)
        self.results_saved.emit()
        self.show_outcomes(self.outcomes)
        self.refresh_history()
        loaded = self.context.profile
        note = ""
        if loaded is not None and loaded.origin != "detected" and \
                profile_fingerprint(loaded) != fingerprint:
            note = (f" Measured on this PC and saved as this PC's results; the loaded profile "
                    f"{Path(loaded.origin).name} and its score are unchanged.")
        self.status.setText("Done." + note + (f" {problems[0]}" if problems else ""))

    @Slot()
    def _browse(self) -> None:
        chosen = QFileDialog.getExistingDirectory(self, "Folder to test", self.folder.text())
        if chosen:
            self.folder.setText(chosen)

    # -- views -----------------------------------------------------------------------------

    def show_outcomes(self, outcomes: list[Outcome]) -> None:
        """Replace the result bars with these outcomes."""
        self.results_box.show_outcomes(outcomes)
        self._show_speedup([o.result for o in outcomes])

    def _show_speedup(self, results: list[BenchResultType]) -> None:
        cpu = next((r for r in results if isinstance(r, CpuGemmResult)), None)
        gpu = next((r for r in results if isinstance(r, GpuGemmResult) and r.measurements), None)
        if cpu is None or gpu is None:
            history = [r for *_, r in self._history_rows if r is not None]
            cpu = cpu or next((r for r in history if isinstance(r, CpuGemmResult)), None)
            gpu = gpu or next((r for r in history if isinstance(r, GpuGemmResult)
                               and r.measurements), None)
        speed = gpu_speedup(gpu, cpu) if cpu and gpu else None
        self.speedup.setText(speed.sentence if speed else "")

    def show_latest_saved(self) -> bool:
        """Show this machine's newest saved result of each kind, when nothing ran this session.

        Returns:
            Whether saved results were shown.
        """
        if self.outcomes or (self.worker is not None and self.worker.running):
            return False
        here = self._here()
        newest: dict[str, tuple[str, BenchResultType]] = {}
        for created, fingerprint, _label, result in self._history_rows:  # newest first
            if result is not None and fingerprint == here:
                newest.setdefault(type(result).__name__, (created, result))
        if not newest:
            return False
        picked = sorted(newest.values(), key=lambda pair: _KIND_ORDER.get(type(pair[1]), 9))
        self.show_outcomes([outcome_of(result, self.context.profile) for _, result in picked])
        dates = sorted({created[:10] for created, _ in picked})
        self.status.setText(f"Showing this PC's latest saved results ({', '.join(dates)}). "
                            "Select a run in the history to see it, or Start to measure again.")
        return True

    def _on_profile_changed(self) -> None:
        profile = self.context.profile
        if profile is not None and profile.origin == "detected":
            self._this_pc = profile_fingerprint(profile)
            has_gpu = bool(profile.discrete_gpus)
            self.gpu_box.setEnabled(has_gpu)
            self.gpu_box.setChecked(has_gpu)
            self.gpu_box.setToolTip("" if has_gpu else "No GPU was detected in this PC")
        self.refresh_history()
        self.show_latest_saved()
        if profile is not None and profile.origin != "detected" and not self.outcomes:
            self.status.setText(f"Showing the loaded profile {Path(profile.origin).name}. "
                                "Start measures this PC and saves the results as this PC's.")

    @Slot()
    def _show_selected_run(self) -> None:
        rows = {index.row() for index in self.history.selectedIndexes()}
        if len(rows) != 1:
            return
        created, _fingerprint, label, result = self._history_rows[rows.pop()]
        if result is None:
            self.status.setText(f"The run of {created} cannot be read by this version.")
            return
        self.show_outcomes([outcome_of(result, self.context.profile)])
        self.status.setText(f"Run of {created}: {label}")

    def _here(self) -> str:
        profile = self.context.profile
        return profile_fingerprint(profile) if profile else current_fingerprint()

    def refresh_history(self) -> None:
        """Reload the history table from the database."""
        try:
            self._history_rows = load_history(db_path=self.context.database_path)
        except Exception as exc:  # noqa: BLE001 - an unreadable database must not break the page
            self._history_rows = []
            self.status.setText(f"History unavailable: {exc}")
        here = self._here()
        this_pc = self._this_pc or current_fingerprint()
        self.history.setRowCount(len(self._history_rows))
        self.history_empty.setVisible(not self._history_rows)
        for row, (created, fingerprint, label, result) in enumerate(self._history_rows):
            machine = machine_name(fingerprint, result, here=here, this_pc=this_pc,
                                   loaded=self.context.profile)
            for col, text in enumerate((when_text(created), machine, label)):
                item = QTableWidgetItem(text)
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                if col == 1:
                    item.setToolTip(f"machine fingerprint {fingerprint}")
                if col == 0:
                    item.setToolTip(created)
                self.history.setItem(row, col, item)
        self.history.resizeColumnToContents(0)
        self.history.resizeColumnToContents(1)

