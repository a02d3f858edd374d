"""The "Can I run it?" page: pick a model and a job, see memory against VRAM, the verdict, what
to change, and the time and energy. Everything updates as the controls move."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from rigready.assess.estimate import (
    Estimate,
    EstimateError,
    GpuTarget,
    ModelShape,
    estimate,
    find_model,
)
from rigready.assess.estimate.answer import Answer, llamacpp_answer
from rigready.assess.estimate.hub import HubRef
from rigready.assess.estimate.language.llamacpp import (
    LlamaCppPlan,
    RamTarget,
    plan,
    ram_from_memory_info,
)
from rigready.assess.estimate.shapes import shape_from_config_file
from rigready.assess.hardware import RigProfile
from rigready.desktop.pages.can_i_run_answer import AnswerPanel
from rigready.desktop.pages.can_i_run_form import JobForm
from rigready.desktop.pages.can_i_run_models import (
    clear_selection,
    fill_models,
    filter_models,
    visible_items,
)
from rigready.desktop.pages.can_i_run_sources import (
    HubFetchBar,
    cancelled_words,
    catalog_gpus,
    gpu_box_rows,
    hub_failure_words,
    looking_up_words,
    measure_availability,
    no_match_words,
    open_config_dialog,
)
from rigready.desktop.theme import page_title
from rigready.desktop.usecases.answers import cpu_answer, first_line, memory_not_read
from rigready.desktop.usecases.gpu_memory import is_this_pc
from rigready.desktop.usecases.measure import corrected_here, measured_history

__all__ = ["CanIRunPage"]

#: The page opens on this model and method (when the catalog has it).
DEFAULT_MODEL_ID = "llama-3.1-8b"
DEFAULT_METHOD = "qlora"


class CanIRunPage(QWidget):
    """Model list and job controls on the left, the answer on the right."""

    def __init__(self, context: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.shape: ModelShape | None = None
        self.result: Estimate | None = None
        #: The llama.cpp answer when that runtime is chosen (``result`` is then None).
        self.gguf_result: LlamaCppPlan | None = None
        self._ram_target = RamTarget()
        self.error: str | None = None
        self.last_update_ms = 0.0
        self._gpus: list[GpuTarget | None] = []
        self._ram: int | None = None
        self._no_gpu = False
        #: The profile's GPU whose memory was not read (a GPU of unknown size, not "no GPU").
        self._unread_gpu: str | None = None
        #: Whether the profile is this PC's: only then may its GPU be measured (or its
        #: measurements correct the estimate).
        self.this_pc = False
        #: The Hub model being looked up (its nearest catalog names when it is not found), and
        #: the model shown before it (Cancel goes back to it).
        self._hub_ref: HubRef | None = None
        self._before_hub: ModelShape | None = None
        #: This PC's measured workloads (history), read once and after each measurement.
        self._measured: list[tuple[str, Any]] | None = None
        outer = QVBoxLayout(self)
        title = page_title("Can I run it?")
        outer.addWidget(title)
        root = QHBoxLayout()
        outer.addLayout(root, 1)
        # the model names need room (they were cut at 1024 px); the answer keeps the most
        root.addLayout(self._build_picker(), 2)
        self.form = JobForm(self.recompute, lambda: catalog_gpus(self._catalog()),
                            self._gpu_row)
        # the form scrolls on a short window (a hint under the GPU box squeezed its rows)
        form_box = QWidget()
        form_box.setLayout(self.form.layout)
        self.form_scroll = QScrollArea()
        self.form_scroll.setWidgetResizable(True)
        self.form_scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.form_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.form_scroll.setWidget(form_box)
        bar = self.form_scroll.verticalScrollBar().sizeHint().width()
        self.form_scroll.setMinimumWidth(form_box.minimumSizeHint().width() + bar)
        root.addWidget(self.form_scroll, 2)
        self.answer = AnswerPanel()
        self.answer.measure_bar.button.clicked.connect(self._measure)
        self.answer.measure_bar.measured.connect(self._on_measured)
        root.addLayout(self.answer.layout, 3)
        fill_models(self.model_list, self._catalog())
        self._fill_gpus(getattr(context, "profile", None))
        signal = getattr(context, "profile_changed", None)
        if signal is not None:
            signal.connect(self._on_profile)
        self._start_with_the_common_question()

    def _start_with_the_common_question(self) -> None:
        """Open on what most people ask first: can this PC QLoRA fine-tune an 8B model?"""
        rows = [self.model_list.item(i) for i in range(self.model_list.count())]
        ids = [row.data(Qt.ItemDataRole.UserRole) if row is not None else None for row in rows]
        if DEFAULT_MODEL_ID in ids:
            self.form.method.setCurrentText(DEFAULT_METHOD)
            self.model_list.setCurrentRow(ids.index(DEFAULT_MODEL_ID))
        elif rows:
            self.model_list.setCurrentRow(0)

    # ---------------------------------------------------------------- building
    def _build_picker(self) -> QVBoxLayout:
        box = QVBoxLayout()
        box.addWidget(QLabel("<b>Model</b>"))
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search the catalog, or type a Hugging Face id "
                                       "(Qwen/Qwen3-8B), a config.json path or a size (7B)")
        self.search.setToolTip(self.search.placeholderText())
        self.search.textChanged.connect(self._filter)
        self.search.returnPressed.connect(self._use_typed)
        box.addWidget(self.search)
        self.hub_bar = HubFetchBar()
        self.hub_bar.fetched.connect(self._set_shape)
        self.hub_bar.failed.connect(self._on_hub_failed)
        self.hub_bar.cancelled.connect(self._on_hub_cancelled)
        box.addWidget(self.hub_bar)
        self.model_list = QListWidget()
        self.model_list.setMinimumWidth(230)
        self.model_list.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.model_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.model_list.currentItemChanged.connect(self._on_model_item)
        box.addWidget(self.model_list, 1)
        self.open_button = QPushButton("Open config.json…")
        self.open_button.clicked.connect(self._open_config)
        box.addWidget(self.open_button)
        self.model_label = QLabel()
        self.model_label.setWordWrap(True)
        box.addWidget(self.model_label)
        return box

    # ---------------------------------------------------------------- data sources
    def _catalog(self) -> Any | None:
        try:
            return self.context.catalog()
        except Exception:  # noqa: BLE001 - a broken catalog leaves the list empty
            return None

    def _gpu_row(self, gpu_id: str) -> int:
        """The GPU combo row of a catalog GPU (-1 when it has none)."""
        source = f"catalog {gpu_id}"
        return next((i for i, t in enumerate(self._gpus) if t is not None and t.source == source),
                    -1)

    def _fill_gpus(self, profile: RigProfile | None) -> None:
        cat = self._catalog()
        entries = list(getattr(cat, "gpus", ()))
        self._ram = None
        self._ram_target = RamTarget()
        if profile is not None:
            self._ram = profile.memory.available_bytes or profile.memory.total_bytes
            self._ram_target = ram_from_memory_info(profile.memory)
        self._no_gpu = profile is not None and not profile.discrete_gpus
        self.this_pc = profile is not None and is_this_pc(profile)
        self._gpus, labels = gpu_box_rows(profile, entries, self.this_pc)
        self._unread_gpu = (profile.discrete_gpus[0].name if profile is not None
                            and profile.discrete_gpus and self._gpus[0] is None else None)
        box = self.form.gpu
        box.blockSignals(True)
        box.clear()
        box.addItems(labels)
        box.blockSignals(False)
        box.setToolTip(box.currentText())
        self.form.gpu_search.edit.home(False)  # the start of the name where the box is narrow
        self.form.set_gpu_choices("", ())  # a new list: nothing typed is pending

    @Slot(object)
    def _on_profile(self, profile: RigProfile) -> None:
        self._fill_gpus(profile)
        self.recompute()

    @Slot(str)
    def _filter(self, text: str) -> None:
        if filter_models(self.model_list, text):
            # nothing matches: no answer about a model that is no longer what was asked
            clear_selection(self.model_list)
            if self.shape is not None:  # what a cancelled look-up goes back to
                self._before_hub = self.shape
            self.shape = None
            self.model_label.setText("")
            self.error = None
            self.result = None
            self.gguf_result = None
            self.answer.show_waiting(*no_match_words(text))

    @Slot()
    def _use_typed(self) -> None:
        text = self.search.text().strip()
        if not text:
            return
        visible = visible_items(self.model_list)
        if len(visible) == 1:  # one match: that model, highlighted
            self.model_list.setCurrentItem(visible[0])
            return
        # a size such as 8B: estimate a generic model and highlight no catalog one
        clear_selection(self.model_list)
        self.select_model(text)

    @Slot(QListWidgetItem, QListWidgetItem)
    def _on_model_item(self, item: QListWidgetItem | None, _old: object) -> None:
        if item is not None:
            self.select_model(str(item.data(Qt.ItemDataRole.UserRole)))

    @Slot()
    def _open_config(self) -> None:
        self.config_dialog = open_config_dialog(self, lambda path: self.load_config(Path(path)))

    # ---------------------------------------------------------------- actions
    def select_model(self, spec: str) -> None:
        """Use a catalog name, a config.json path, a parameter count or a Hub id (fetched on the
        worker thread; the answer arrives through ``hub_bar``)."""
        cat = self._catalog()
        try:
            found = find_model(spec, getattr(cat, "models", ()))
        except EstimateError as exc:
            self.hub_bar.cancel()
            self._show_error(str(exc))
            return
        if isinstance(found, HubRef):
            self._look_up(found)
            return
        self.hub_bar.cancel()  # the newest choice wins over a look-up still running
        self._hub_ref = self._before_hub = None
        self._set_shape(found)

    def _look_up(self, ref: HubRef) -> None:
        """Fetch a Hub model; until it answers, the page says it is looking (no old answer)."""
        self._hub_ref = ref
        if self.shape is not None:
            self._before_hub = self.shape
        self.shape = None
        self.result = None
        self.gguf_result = None
        self.error = None
        self.model_label.setText(f"{ref.repo_id}: looking it up…")
        self.answer.show_waiting(*looking_up_words(ref))
        self.hub_bar.fetch(ref)

    @Slot(str)
    def _on_hub_failed(self, message: str) -> None:
        ref, self._hub_ref = self._hub_ref, None
        self.model_label.setText("")
        text, title = hub_failure_words(message, ref, getattr(self._catalog(), "models", ()))
        self._show_error(text, title=title)

    @Slot()
    def _on_hub_cancelled(self) -> None:
        """Back to the model shown before the look-up, or say nothing was looked up."""
        ref, self._hub_ref = self._hub_ref, None
        before, self._before_hub = self._before_hub, None
        if before is not None:
            self._set_shape(before)
            return
        self.model_label.setText("")
        self.answer.show_waiting(*cancelled_words(ref))

    def load_config(self, path: Path) -> None:
        """Use a config.json file."""
        try:
            self._set_shape(shape_from_config_file(path))
        except EstimateError as exc:
            self._show_error(str(exc))

    def _set_shape(self, shape: ModelShape) -> None:
        self.shape = shape
        if shape.image is not None:
            self.model_label.setText(f"{shape.name}: {shape.params / 1e9:.2f}B parameters, "
                                     f"{shape.kind}, {shape.image_size} px by default")
        else:
            self.model_label.setText(f"{shape.name}: {shape.params / 1e9:.2f}B parameters, "
                                     f"{shape.num_layers} layers" + ("" if shape.exact else
                                                                     " (shape guessed)"))
        self.form.fit_to(shape)  # the inputs that mean something for this kind of model
        self.recompute()

    def _show_error(self, message: str, title: str = "Cannot estimate") -> None:
        self.error = message
        self.result = None
        self.answer.show_error(message, title)

    @Slot()
    def recompute(self) -> None:
        """Estimate again and refresh every output (timed in ``last_update_ms``)."""
        start = time.perf_counter()
        wl = self.form.workload()
        self.form.show_sizes(wl)
        if self.shape is None:
            return
        if self.form.gpu_unresolved:  # a typed GPU name is waiting for its choice
            self.result = None
            self.gguf_result = None
            candidates = self.form.gpu_candidates
            self.answer.show_choices(
                "Which GPU?", f"{self.form.gpu_question}. Choose one here, or type its full "
                "name in the GPU box.", [f"{e.name} ({e.vram_gib:g} GiB)" for e in candidates],
                lambda at: self.form.choose_gpu(candidates[at]))
            self.last_update_ms = (time.perf_counter() - start) * 1000
            return
        index = self.form.gpu.currentIndex()
        gpu = self._gpus[index] if 0 <= index < len(self._gpus) else None
        unread = self._unread_gpu if gpu is None and index == 0 else None
        if self.form.llamacpp:
            self._recompute_gguf(gpu, wl.seq_len, unread)
            self.last_update_ms = (time.perf_counter() - start) * 1000
            return
        self.gguf_result = None
        here, why = measure_availability(gpu, self.this_pc, self.shape.image is not None)
        self.answer.measure_bar.set_available(here, why)
        try:
            self.result = estimate(self.shape, wl, gpu, dataset_tokens=self.form.dataset_tokens(),
                                   epochs=self.form.epochs.value(), ram_available=self._ram,
                                   electricity_usd_kwh=self.form.price.value())
        except EstimateError as exc:
            self._show_error(str(exc))
        else:
            if here:  # what was measured on this PC corrects the estimate
                self.result = corrected_here(self.result, self._measured_here())
            self.error = None
            cpu = (cpu_answer(self.result, self._ram)
                   if self.result.gpu is None and self._no_gpu else None)
            first = first_line(self.result, ram=self._ram_target, ram_available=self._ram,
                               stack_figures=getattr(self._catalog(), "stack_figures", ()),
                               unread_gpu=unread, cli=False)
            self.answer.show_estimate(self.result, cpu, first)
        self.last_update_ms = (time.perf_counter() - start) * 1000

    def _measured_here(self) -> list[tuple[str, Any]]:
        if self._measured is None:
            self._measured = measured_history(getattr(self.context, "database_path", None))
        return self._measured

    @Slot()
    def _measure(self) -> None:
        """Run the shown job on this PC's GPU (off the GUI thread, in a subprocess)."""
        if self.result is None or self.shape is None or not self.this_pc:
            return
        self.answer.measure_bar.start(self.shape, self.result, None,
                               getattr(self.context, "database_path", None))

    @Slot(object)
    def _on_measured(self, _outcome: object) -> None:
        self._measured = None  # re-read: the new measurement corrects the estimate
        self.recompute()

    def _recompute_gguf(self, gpu: GpuTarget | None, ctx: int, unread: str | None) -> None:
        """The llama.cpp answer: the sequence slider is the context length (``unread``: the
        GPU whose memory was not read, said first)."""
        assert self.shape is not None
        self.result = None
        self.form.show_context(ctx)
        try:
            self.gguf_result = plan(self.shape, self.form.quant.currentText(), ctx=ctx,
                                    kv_type=self.form.kv_type.currentText(), gpu=gpu,
                                    ram=self._ram_target)
        except EstimateError as exc:
            self.gguf_result = None
            self._show_error(str(exc))
            return
        self.error = None
        first = (Answer("unknown", memory_not_read(unread, cli=False) + ".", "") if unread
                 else llamacpp_answer(self.gguf_result))
        self.answer.show_plan(self.gguf_result, first)
