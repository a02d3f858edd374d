"""Where the "Can I run it?" page gets its model and GPU from, beyond the catalog list.

- :class:`HubFetchBar`: fetches a Hugging Face Hub model's config.json off the GUI thread (the
  project's :class:`~desktop.worker.GeneratorWorker` running
  :func:`rigready.assess.estimate.hub.hub_model_job`), with a busy bar, what it is doing, and
  Cancel.
- :class:`GpuSearch`: makes the GPU combo box typeable; its completer lists what the name
  resolver (:mod:`rigready.assess.names`, the CLI's) suggests for the typed text, and Enter picks
  the GPU the text names, or hands the candidates on (an ambiguous or unknown name). Its popup
  is as wide as its longest suggestion (the box itself is narrow), within the screen.
- :func:`open_config_dialog`: the config.json file dialog, opened with ``open()``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from PySide6.QtCore import QStringListModel, Qt, Signal, Slot
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QComboBox,
    QCompleter,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QWidget,
)

from rigready.assess.estimate import GpuTarget, gpu_from_entry, gpus_from_profile
from rigready.assess.estimate.hub import HubRef, hub_model_job, parse_hub_ref
from rigready.assess.estimate.resolve import with_nearest
from rigready.assess.hardware import RigProfile
from rigready.assess.names import describe_failure, gpu_resolver
from rigready.assess.units import GIB
from rigready.catalog import GpuEntry
from rigready.desktop.worker import GeneratorWorker


class HubFetchBar(QWidget):
    """A one-line busy bar with Cancel for a Hub look-up; hidden while idle.

    Signals:
        fetched(object): the :class:`~assess.estimate.model.ModelShape` of the model.
        failed(str): one sentence saying what went wrong and what to do.
        cancelled: the user pressed Cancel (a newer choice replacing the look-up says nothing).
    """

    fetched = Signal(object)
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)  # no percentage to show: the Hub answers in one or two steps
        self.busy.setMaximumWidth(80)
        self.busy.setTextVisible(False)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self._on_cancel_clicked)
        row.addWidget(self.busy)
        row.addWidget(self.label, 1)
        row.addWidget(self.cancel_button)
        self.worker: GeneratorWorker | None = None
        self.setVisible(False)

    @property
    def running(self) -> bool:
        """Whether a look-up is under way (and its answer still wanted)."""
        return self.worker is not None

    def fetch(self, ref: HubRef) -> None:
        """Look ``ref`` up on a pool thread; a look-up already running is dropped."""
        self.cancel()
        worker = GeneratorWorker(lambda: hub_model_job(ref), self)
        worker.progressed.connect(self._on_progress)
        worker.finished.connect(self._on_finished)
        worker.errored.connect(self._on_failed)
        self.worker = worker
        self.label.setText(f"Looking up {ref.repo_id} on the Hugging Face Hub…")
        self.setVisible(True)
        worker.start()

    @Slot()
    def cancel(self) -> None:
        """Stop waiting: the worker stops at its next step and its answer is ignored."""
        if self.worker is not None:
            self.worker.cancel()
            self.worker = None
        self.setVisible(False)

    @Slot()
    def _on_cancel_clicked(self) -> None:
        was_running = self.running
        self.cancel()
        if was_running:
            self.cancelled.emit()

    def _current(self) -> bool:
        # a cancelled or replaced look-up may still report; only the current one counts
        return self.worker is not None and self.sender() is self.worker

    @Slot(object)
    def _on_progress(self, step: object) -> None:
        if self._current():
            self.label.setText(f"{str(step).capitalize()}…")

    @Slot(object)
    def _on_finished(self, shape: object) -> None:
        if self._current():
            self.worker = None
            self.setVisible(False)
            self.fetched.emit(shape)

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        if self._current():
            self.worker = None
            self.setVisible(False)
            self.failed.emit(message)


def no_match_words(text: str) -> tuple[str, str]:
    """The answer's title and sentence while the typed model matches no catalog name."""
    ref = parse_hub_ref(text)
    if ref is not None:
        return ("Not in the catalog: press Enter",
                f"Press Enter to look {ref.repo_id} up on the Hugging Face Hub (only its "
                "config.json is fetched; a copy in the Hugging Face cache works offline).")
    return ("No match", f"No catalog model matches “{text.strip()}”. Press Enter to look it up "
            "(a Hugging Face id such as Qwen/Qwen3-8B, a config.json path, or a size such as "
            "7B), or open a config.json.")


def looking_up_words(ref: HubRef) -> tuple[str, str]:
    """The answer's title and sentence while a Hub look-up runs (never "No match")."""
    return ("Looking it up on the Hugging Face Hub…",
            f"Fetching the config.json of {ref.repo_id} (from the Hugging Face cache when it is "
            "there); the answer follows as soon as it arrives. Cancel stops waiting.")


def cancelled_words(ref: HubRef | None) -> tuple[str, str]:
    """The answer's title and sentence after the user cancelled a look-up."""
    name = ref.repo_id if ref is not None else "The model"
    return ("Look-up cancelled", f"{name} was not looked up. Choose a catalog model, or press "
            "Enter in the search box to try again.")


def hub_failure_words(message: str, ref: HubRef | None,
                      models: Iterable[Any]) -> tuple[str, str]:
    """The answer's sentence and title for a failed look-up: the Hub's words and the nearest
    catalog models (the same as ``rigready estimate`` says)."""
    text = with_nearest(message, ref, models) if ref is not None else message
    return text, ("Not found on the Hub" if "no model" in message else "Cannot estimate")


def open_config_dialog(parent: QWidget, on_path: Callable[[str], None]) -> QFileDialog:
    """Open (window-modal, not blocking) a file dialog for a config.json; ``on_path`` gets the
    chosen file. Returns the dialog so callers and tests can reach it."""
    dialog = QFileDialog(parent, "Open a Hugging Face config.json")
    dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
    dialog.setNameFilter("config.json (*.json)")
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.fileSelected.connect(on_path)
    dialog.open()
    return dialog


def _label(entry: GpuEntry) -> str:
    return f"{entry.name} — {entry.vram_gib:g} GiB ({entry.id})"


class GpuSearch:
    """Typing in the GPU combo box finds catalog GPUs with the shared name resolver.

    Args:
        combo: the page's GPU combo box (made editable here).
        entries: returns the catalog's GPUs (read at each keystroke, so a reloaded catalog
            counts).
        index_of: the combo row of a catalog GPU id (-1 when it has none).
        on_unresolved: told the sentence and the candidates (or the nearest GPUs) when the typed
            text names no single GPU.
    """

    def __init__(self, combo: QComboBox, entries: Callable[[], Iterable[GpuEntry]],
                 index_of: Callable[[str], int],
                 on_unresolved: Callable[[str, tuple[GpuEntry, ...]], None]) -> None:
        self.combo = combo
        self._entries = entries
        self._index_of = index_of
        self._on_unresolved = on_unresolved
        self._by_label: dict[str, GpuEntry] = {}
        combo.setEditable(True)
        combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.model = QStringListModel(combo)
        self.completer = QCompleter(self.model, combo)
        self.completer.setCompletionMode(QCompleter.CompletionMode.UnfilteredPopupCompletion)
        self.completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        combo.setCompleter(self.completer)
        self.completer.activated.connect(self._on_chosen)
        edit = combo.lineEdit()
        assert edit is not None  # an editable combo box always has one
        self.edit = edit
        edit.setPlaceholderText("Type a GPU: H200, RTX 4090, 4060 Ti 16 GB…")
        edit.textEdited.connect(self._on_typed)
        edit.returnPressed.connect(self._on_enter)

    def suggestions(self) -> list[str]:
        """What the completer lists now."""
        return self.model.stringList()

    def _show(self, entries: Iterable[GpuEntry]) -> None:
        self._by_label = {_label(e): e for e in entries}
        self.model.setStringList(list(self._by_label))
        self._fit_popup()

    def _fit_popup(self) -> None:
        """The popup as wide as its longest line (it was the narrow box's width, every name
        cut), but never wider than the screen the box is on."""
        popup = self.completer.popup()
        if popup is None or not self._by_label:
            return
        metrics = popup.fontMetrics()
        widest = max(metrics.horizontalAdvance(label) for label in self._by_label)
        wanted = widest + popup.verticalScrollBar().sizeHint().width() + 24
        screen = self.combo.screen() or QGuiApplication.primaryScreen()
        if screen is not None:
            wanted = min(wanted, screen.availableGeometry().width() - 16)
        popup.setMinimumWidth(max(self.combo.width(), wanted))
    @Slot(str)
    def _on_typed(self, text: str) -> None:
        if not text.strip():
            self._show(())
            return
        resolver = gpu_resolver(self._entries())
        found = resolver.resolve(text)
        # the named GPU or the equal candidates first, then the nearest others
        first = found.candidates or ()
        rest = [e for e in resolver.suggest(text, limit=8) if e not in first]
        self._show([*first, *rest][:8])

    @Slot(str)
    def _on_chosen(self, label: str) -> None:
        entry = self._by_label.get(label)
        if entry is not None:
            self._select(entry)

    @Slot()
    def _on_enter(self) -> None:
        text = self.edit.text()
        if text in self._by_label:
            self._select(self._by_label[text])
            return
        if self.combo.findText(text) >= 0:
            self.combo.setCurrentIndex(self.combo.findText(text))
            return
        found = gpu_resolver(self._entries()).resolve(text)
        if found.entry is not None:
            self._select(found.entry)
            return
        choices = tuple(found.candidates or found.suggestions)
        self._show(choices)
        self._on_unresolved(describe_failure("gpu", found), choices)
        self.completer.complete()

    def select(self, entry: GpuEntry) -> None:
        """Choose ``entry`` in the box (a candidate the user picked)."""
        self._select(entry)

    def _select(self, entry: GpuEntry) -> None:
        index = self._index_of(entry.id)
        if index >= 0:
            self.combo.setCurrentIndex(index)
            # the edit shows the chosen row, not what was typed, from its start
            self.edit.setText(self.combo.itemText(index))
            self.edit.home(False)
            self._on_unresolved("", ())  # chosen: even the row it already was


def gpu_box_rows(profile: RigProfile | None, entries: list[GpuEntry], this_pc: bool
                 ) -> tuple[list[GpuTarget | None], list[str]]:
    """The GPU box's choices and their labels: the profile's GPUs first, tagged "this PC" or
    "loaded profile", then every catalog GPU.

    A profile without a GPU of its own (or none detected yet) starts with "none", never a
    catalog card picked silently; the answer is then the CPU's yes or no.
    """
    # the profile's own GPUs with the memory free for a job as estimate --profile reads it:
    # what this PC's programs hold now, a desktop's share on a saved profile, none on a VM
    targets = [t for t in (gpus_from_profile(profile, entries) if profile else ())
               if t is not None]
    mine = len(targets)
    choices: list[GpuTarget | None] = [*targets] if targets else [None]
    choices.extend(gpu_from_entry(e) for e in entries)
    where = "this PC" if this_pc else "loaded profile"
    labels = []
    for i, t in enumerate(choices):
        if t is not None:
            tag = f" ({where})" if i < mine else ""
            labels.append(f"{t.name}{tag} — {t.vram_bytes / GIB:.0f} GiB")
        elif profile is None:
            labels.append("No GPU chosen (detecting this PC…)")
        elif not profile.discrete_gpus:
            labels.append("No GPU in this PC — CPU only")
        else:
            labels.append(f"{profile.discrete_gpus[0].name} ({where}, memory unknown)")
    return choices, labels


def measure_availability(gpu: GpuTarget | None, this_pc: bool, image: bool) -> tuple[bool, str]:
    """Whether "Measure on this GPU" may run for the chosen GPU, and why not: only this PC's
    own GPU (not a loaded profile of another PC, not a catalog card), language models only."""
    detected = gpu is not None and gpu.source.startswith("detected")
    if detected and this_pc and not image:
        return True, ""
    if gpu is None:
        return False, ""
    if image:
        return False, "Measuring runs language models; image models are estimated only."
    if detected:
        return False, "The loaded profile is another PC's: measuring runs on this PC's GPU."
    return False, "Measuring runs on this PC's GPU: choose it above."


def catalog_gpus(catalog: Any) -> tuple[GpuEntry, ...]:
    """The catalog's GPUs, or none when the catalog could not be loaded."""
    return tuple(getattr(catalog, "gpus", ()))
