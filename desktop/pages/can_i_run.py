"""The "Can I run it?" page: pick a model and a job, see memory against VRAM, the verdict, what
to change, and the time and energy. Everything updates as the controls move."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from rigready.assess.estimate import (
    Estimate,
    EstimateError,
    GpuTarget,
    ModelShape,
    Workload,
    estimate,
    find_model,
    gpu_from_entry,
    gpu_from_info,
    speed_lines,
)
from rigready.assess.estimate.energy import DEFAULT_ELECTRICITY_USD_KWH
from rigready.assess.estimate.estimator import assumptions, error_band
from rigready.assess.estimate.hub import HubRef
from rigready.assess.estimate.inputs import ATTENTIONS, METHODS, OPTIMIZERS, PRECISIONS
from rigready.assess.estimate.language.llamacpp import (
    LlamaCppPlan,
    RamTarget,
    plan,
    ram_from_memory_info,
)
from rigready.assess.estimate.shapes import shape_from_config_file
from rigready.assess.hardware import RigProfile
from rigready.assess.names import normalize_name
from rigready.desktop.defaults import (
    DEFAULT_BATCH,
    DEFAULT_LORA_RANK,
    DEFAULT_LORA_TARGETS,
    DEFAULT_NEW_TOKENS,
    DEFAULT_PRECISION_CHOICE,
    DEFAULT_SEQ_LEN,
    default_checkpointing,
    precision_choice_label,
)
from rigready.desktop.pages.can_i_run_gguf import (
    RUNTIME_LLAMACPP,
    STATUS_TONE,
    kv_combo,
    plan_head,
    plan_lines,
    quant_combo,
    runtime_combo,
)
from rigready.desktop.pages.can_i_run_sources import (
    GpuSearch,
    HubFetchBar,
    catalog_gpus,
    open_config_dialog,
)
from rigready.desktop.theme import BAD, GOOD, MUTED, WARN, current_theme, page_title
from rigready.desktop.usecases.answers import cpu_answer, limits_text
from rigready.desktop.usecases.measure import corrected_here, measured_history
from rigready.desktop.widgets.breakdown_bar import GIB, PART_COLOURS, BreakdownBar
from rigready.desktop.widgets.measure_bar import MeasureBar

#: Item data role holding a catalog model's search words.
_SEARCH_ROLE = Qt.ItemDataRole.UserRole + 1


def _search_key(text: str) -> str:
    """Text as the name resolver compares it, joined: "Llama-3.1 8B" -> "llama3.18b"."""
    return "".join(normalize_name(text))


SEQ_STEPS = (128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536, 131072)
VERDICT_TEXT = {"fits": "Fits", "tight": "Tight fit", "offload": "Only with CPU offload",
                "no": "Does not fit"}


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
        #: This PC's measured workloads (history), read once and after each measurement.
        self._measured: list[tuple[str, Any]] | None = None
        outer = QVBoxLayout(self)
        title = page_title("Can I run it?")
        outer.addWidget(title)
        root = QHBoxLayout()
        outer.addLayout(root, 1)
        # the model names need room (they were cut at 1024 px); the answer keeps the most
        root.addLayout(self._build_picker(), 2)
        root.addLayout(self._build_controls(), 2)
        root.addLayout(self._build_answer(), 3)
        self._fill_models()
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
            self.method.setCurrentText(DEFAULT_METHOD)
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
        self.hub_bar.failed.connect(self._show_error)
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

    def _build_controls(self) -> QFormLayout:
        form = QFormLayout()
        self._form = form
        self.runtime = runtime_combo()
        self.quant = quant_combo()
        self.kv_type = kv_combo()
        form.addRow("Runtime", self.runtime)
        form.addRow("GGUF quant", self.quant)
        form.addRow("KV cache", self.kv_type)
        for combo in (self.runtime, self.quant, self.kv_type):
            combo.currentIndexChanged.connect(self.recompute)
        self.runtime.currentTextChanged.connect(self._runtime_changed)
        self.method = QComboBox()
        self.method.addItems(list(METHODS))
        self.precision = QComboBox()
        self.precision.addItem(precision_choice_label(self.method.currentText()),
                               DEFAULT_PRECISION_CHOICE)
        for precision in PRECISIONS:
            self.precision.addItem(precision, precision)
        self.optimizer = QComboBox()
        self.optimizer.addItems(list(OPTIMIZERS))
        self.batch = QSlider(Qt.Orientation.Horizontal)
        self.batch.setRange(1, 128)
        self.batch.setValue(DEFAULT_BATCH)
        self.batch_label = QLabel()
        self.seq = QSlider(Qt.Orientation.Horizontal)
        self.seq.setRange(0, len(SEQ_STEPS) - 1)
        self.seq.setValue(SEQ_STEPS.index(DEFAULT_SEQ_LEN))
        self.seq_label = QLabel()
        self.new_tokens = QSpinBox()
        self.new_tokens.setRange(0, 1_000_000)
        self.new_tokens.setValue(DEFAULT_NEW_TOKENS)
        self.checkpointing = QCheckBox("gradient checkpointing")
        self.checkpointing.setChecked(default_checkpointing(self.method.currentText()))
        self.lora_rank = QComboBox()
        self.lora_rank.addItems(["4", "8", "16", "32", "64", "128"])
        self.lora_rank.setCurrentText(str(DEFAULT_LORA_RANK))
        self.lora_targets = QLineEdit(DEFAULT_LORA_TARGETS)
        self.attention = QComboBox()
        self.attention.addItems(list(ATTENTIONS))
        # image models: their own inputs (0 = the model's default side)
        self.image_size = QSpinBox()
        self.image_size.setRange(0, 4096)
        self.image_size.setSingleStep(64)
        self.image_size.setSpecialValueText("model default")
        self.image_size.setSuffix(" px")
        self.steps = QSpinBox()
        self.steps.setRange(1, 500)
        self.steps.setValue(30)
        self.gpus = QSpinBox()
        self.gpus.setRange(1, 16)
        self.gpu = QComboBox()
        # a long GPU name ("NVIDIA GeForce RTX 3060 (this PC) — 12 GiB") made the form 360 px
        # wide and left the answer 140 px at 1024x640, its bullets cut: the box is
        # narrower instead; the whole name is in its tooltip and the open list
        self.gpu.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.gpu.setMinimumContentsLength(18)
        self.gpu.currentIndexChanged.connect(
            lambda index: self.gpu.setToolTip(self.gpu.itemText(index)))
        self.gpu_hint = QLabel()
        self.gpu_hint.setWordWrap(True)
        self.gpu_hint.setVisible(False)
        self.gpu_search = GpuSearch(self.gpu, lambda: catalog_gpus(self._catalog()),
                                    self._gpu_row, self._set_gpu_hint)
        self.dataset = QSpinBox()
        self.dataset.setRange(0, 10_000_000)
        self.dataset.setSuffix(" M tokens")
        self.dataset.setValue(10)
        self.epochs = QDoubleSpinBox()
        self.epochs.setRange(0.1, 1000)
        self.epochs.setValue(1.0)
        self.price = QDoubleSpinBox()
        self.price.setRange(0.0, 10.0)
        self.price.setDecimals(3)
        self.price.setValue(DEFAULT_ELECTRICITY_USD_KWH)
        self.price.setSuffix(" USD/kWh")
        for label, widget in (("Method", self.method), ("Precision", self.precision),
                              ("Optimizer", self.optimizer), ("Batch", self.batch),
                              ("", self.batch_label), ("Sequence", self.seq),
                              ("", self.seq_label), ("New tokens", self.new_tokens),
                              ("", self.checkpointing), ("LoRA rank", self.lora_rank),
                              ("LoRA targets", self.lora_targets), ("Attention", self.attention),
                              ("Image size", self.image_size), ("Sampling steps", self.steps),
                              ("GPU", self.gpu), ("", self.gpu_hint), ("GPUs", self.gpus),
                              ("Dataset", self.dataset), ("Epochs", self.epochs),
                              ("Electricity", self.price)):
            form.addRow(label, widget)
        for combo in (self.method, self.precision, self.optimizer, self.lora_rank,
                      self.attention, self.gpu):
            combo.currentIndexChanged.connect(self.recompute)
        self.gpu.currentIndexChanged.connect(lambda _index: self._set_gpu_hint(""))
        for slider in (self.batch, self.seq):
            slider.valueChanged.connect(self.recompute)
        for spin in (self.new_tokens, self.gpus, self.dataset, self.image_size, self.steps):
            spin.valueChanged.connect(self.recompute)
        for dspin in (self.epochs, self.price):
            dspin.valueChanged.connect(self.recompute)
        self.checkpointing.toggled.connect(self.recompute)
        self.lora_targets.editingFinished.connect(self.recompute)
        self.method.currentTextChanged.connect(self._method_defaults)
        self._runtime_changed(self.runtime.currentText())
        return form

    def _runtime_changed(self, runtime: str) -> None:
        """llama.cpp only runs models: it brings inference, its quant and KV-cache choices."""
        gguf = runtime == RUNTIME_LLAMACPP
        if gguf:
            self.method.setCurrentText("inference")
        for widget in (self.method, self.precision, self.optimizer, self.lora_rank,
                       self.lora_targets, self.attention):
            widget.setEnabled(not gguf)
        # the GGUF rows mean nothing to Transformers: hidden, not just greyed out
        for widget in (self.quant, self.kv_type):
            widget.setEnabled(gguf)
            self._form.setRowVisible(widget, gguf)

    def _method_defaults(self, method: str) -> None:
        """A method brings its defaults, the same as the CLI's (``rigready.desktop.defaults``):
        checkpointing on for QLoRA only, and the precision it assumes shown in the box."""
        self.checkpointing.setChecked(default_checkpointing(method))
        self.checkpointing.setEnabled(method != "inference")
        self.precision.setItemText(0, precision_choice_label(method))

    def _build_answer(self) -> QVBoxLayout:
        box = QVBoxLayout()
        self.verdict = QLabel()
        self.verdict.setStyleSheet("font-size: 20px; font-weight: 600;")
        self.verdict.setWordWrap(True)
        box.addWidget(self.verdict)
        self.bar = BreakdownBar()
        box.addWidget(self.bar)
        self.legend = QLabel()
        self.legend.setWordWrap(True)
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        box.addWidget(self.legend)
        self.measure_bar = MeasureBar()
        self.measure_bar.button.clicked.connect(self._measure)
        self.measure_bar.measured.connect(self._on_measured)
        box.addWidget(self.measure_bar)
        self.details = QLabel()
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details.setAlignment(Qt.AlignmentFlag.AlignTop)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.details)
        box.addWidget(scroll, 1)
        return box

    # ---------------------------------------------------------------- data sources
    def _catalog(self) -> Any | None:
        try:
            return self.context.catalog()
        except Exception:  # noqa: BLE001 - a broken catalog leaves the list empty
            return None

    def _fill_models(self) -> None:
        cat = self._catalog()
        for entry in getattr(cat, "models", ()):
            item = QListWidgetItem(f"{entry.name}  ({entry.params / 1e9:.2f}B)")
            item.setToolTip(item.text())  # the whole name where the list is narrow
            item.setData(Qt.ItemDataRole.UserRole, entry.id)
            # what the filter compares: the resolver's words of the name, id and repo
            item.setData(_SEARCH_ROLE, _search_key(f"{item.text()} {entry.id} "
                                                   f"{getattr(entry, 'hf_repo', '') or ''}"))
            self.model_list.addItem(item)

    def _set_gpu_hint(self, text: str) -> None:
        """Say under the GPU box why a typed name picked no GPU (hidden when there is nothing)."""
        self.gpu_hint.setText(text)
        self.gpu_hint.setVisible(bool(text))

    def _gpu_row(self, gpu_id: str) -> int:
        """The GPU combo row of a catalog GPU (-1 when it has none)."""
        source = f"catalog {gpu_id}"
        return next((i for i, t in enumerate(self._gpus) if t is not None and t.source == source),
                    -1)

    def _fill_gpus(self, profile: RigProfile | None) -> None:
        cat = self._catalog()
        entries = list(getattr(cat, "gpus", ()))
        targets: list[GpuTarget] = []
        self._ram = None
        self._ram_target = RamTarget()
        if profile is not None:
            self._ram = profile.memory.available_bytes or profile.memory.total_bytes
            self._ram_target = ram_from_memory_info(profile.memory)
            for info in profile.discrete_gpus:
                target = gpu_from_info(info, entries)
                if target is not None:
                    targets.append(target)
        mine = len(targets)
        self._no_gpu = profile is not None and not profile.discrete_gpus
        # No GPU of its own (or not detected yet): the first choice is "none", never a catalog
        # card picked silently; the answer is then the CPU's yes or no.
        choices: list[GpuTarget | None] = [*targets] if targets else [None]
        choices.extend(gpu_from_entry(e) for e in entries)
        self._gpus = choices
        self.gpu.blockSignals(True)
        self.gpu.clear()
        for i, t in enumerate(choices):
            if t is None:
                if profile is None:
                    self.gpu.addItem("No GPU chosen (detecting this PC…)")
                elif self._no_gpu:
                    self.gpu.addItem("No GPU in this PC — CPU only")
                else:
                    self.gpu.addItem(f"{profile.discrete_gpus[0].name} (this PC, memory unknown)")
                continue
            tag = " (this PC)" if i < mine else ""
            self.gpu.addItem(f"{t.name}{tag} — {t.vram_bytes / GIB:.0f} GiB")
        self.gpu.blockSignals(False)
        self.gpu.setToolTip(self.gpu.currentText())
        self.gpu_search.edit.home(False)  # the start of the name where the box is narrow

    @Slot(object)
    def _on_profile(self, profile: RigProfile) -> None:
        self._fill_gpus(profile)
        self.recompute()

    def _visible_items(self) -> list[QListWidgetItem]:
        rows = (self.model_list.item(i) for i in range(self.model_list.count()))
        return [item for item in rows if item is not None and not item.isHidden()]

    @Slot(str)
    def _filter(self, text: str) -> None:
        needle = text.lower().strip()
        key = _search_key(text)
        for i in range(self.model_list.count()):
            item = self.model_list.item(i)
            item.setHidden(bool(needle) and needle not in item.text().lower()
                           and key not in str(item.data(_SEARCH_ROLE)))
        if needle and not self._visible_items():
            # nothing matches: no answer about a model that is no longer what was asked
            self._clear_selection()
            self.shape = None
            self.model_label.setText("")
            self._show_error(f"No catalog model matches “{text.strip()}”. Press Enter to "
                             "look it up (a Hugging Face id such as Qwen/Qwen3-8B, a "
                             "config.json path, or a size such as 7B), or open a config.json.",
                             title="No match")

    def _clear_selection(self) -> None:
        self.model_list.blockSignals(True)
        self.model_list.setCurrentRow(-1)
        self.model_list.clearSelection()
        self.model_list.blockSignals(False)

    @Slot()
    def _use_typed(self) -> None:
        text = self.search.text().strip()
        if not text:
            return
        visible = self._visible_items()
        if len(visible) == 1:  # one match: that model, highlighted
            self.model_list.setCurrentItem(visible[0])
            return
        # a size such as 8B: estimate a generic model and highlight no catalog one
        self._clear_selection()
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
            self.hub_bar.fetch(found)
            return
        self.hub_bar.cancel()  # the newest choice wins over a look-up still running
        self._set_shape(found)

    def load_config(self, path: Path) -> None:
        """Use a config.json file."""
        try:
            self._set_shape(shape_from_config_file(path))
        except EstimateError as exc:
            self._show_error(str(exc))

    def _set_shape(self, shape: ModelShape) -> None:
        self.shape = shape
        image = shape.image is not None
        if image:
            self.model_label.setText(f"{shape.name}: {shape.params / 1e9:.2f}B parameters, "
                                     f"{shape.kind}, {shape.image_size} px by default")
        else:
            self.model_label.setText(f"{shape.name}: {shape.params / 1e9:.2f}B parameters, "
                                     f"{shape.num_layers} layers" + ("" if shape.exact else
                                                                     " (shape guessed)"))
        # show the inputs that mean something for this kind of model
        for widget in (self.seq, self.seq_label, self.new_tokens, self.lora_targets,
                       self.attention):
            widget.setEnabled(not image)
        self.image_size.setEnabled(image)
        self.image_size.blockSignals(True)
        self.image_size.setValue(0)  # each model starts at its own default side
        self.image_size.blockSignals(False)
        self.steps.setEnabled(shape.kind == "diffusion")
        classifier = image and shape.kind != "diffusion"
        if classifier:  # torchvision classifiers have no checkpointing switch
            self.checkpointing.setChecked(False)
        self.checkpointing.setEnabled(not classifier)
        self.recompute()

    def _show_error(self, message: str, title: str = "Cannot estimate") -> None:
        self.error = message
        self.result = None
        self.legend.setText("")
        self.verdict.setText(title)
        self.verdict.setStyleSheet(f"font-size: 20px; font-weight: 600; color: "
                                   f"{BAD[current_theme()]};")
        self.details.setText(message)
        self.bar.set_data({}, None)

    def workload(self) -> Workload:
        """The job the controls describe."""
        precision = self.precision.currentData()
        method = self.method.currentText()
        return Workload(
            method=method,  # type: ignore[arg-type]
            precision=None if precision == DEFAULT_PRECISION_CHOICE else precision,
            optimizer=self.optimizer.currentText(),  # type: ignore[arg-type]
            batch=self.batch.value(), seq_len=SEQ_STEPS[self.seq.value()],
            new_tokens=self.new_tokens.value(),
            checkpointing=self.checkpointing.isChecked() and method != "inference",
            lora_rank=int(self.lora_rank.currentText()),
            lora_targets=tuple(t.strip() for t in self.lora_targets.text().split(",")
                               if t.strip()),
            attention=self.attention.currentText(),  # type: ignore[arg-type]
            gpus=self.gpus.value(), image_size=self.image_size.value() or None,
            sampling_steps=self.steps.value())

    @Slot()
    def recompute(self) -> None:
        """Estimate again and refresh every output (timed in ``last_update_ms``)."""
        start = time.perf_counter()
        wl = self.workload()
        self.batch_label.setText(f"{wl.batch} per GPU")
        self.seq_label.setText(f"{wl.seq_len:,} tokens")
        if self.shape is None:
            return
        index = self.gpu.currentIndex()
        gpu = self._gpus[index] if 0 <= index < len(self._gpus) else None
        if self.runtime.currentText() == RUNTIME_LLAMACPP:
            self._recompute_gguf(gpu, wl.seq_len)
            self.last_update_ms = (time.perf_counter() - start) * 1000
            return
        self.gguf_result = None
        tokens = self.dataset.value() * 1_000_000 or None
        here = gpu is not None and gpu.source.startswith("detected") and self.shape.image is None
        self.measure_bar.set_available(here, "" if gpu is None else
                                       "Measuring runs on this PC's GPU: choose it above.")
        try:
            self.result = estimate(self.shape, wl, gpu, dataset_tokens=tokens,
                                   epochs=self.epochs.value(), ram_available=self._ram,
                                   electricity_usd_kwh=self.price.value())
        except EstimateError as exc:
            self._show_error(str(exc))
        else:
            if here:  # what was measured on this PC corrects the estimate
                self.result = corrected_here(self.result, self._measured_here())
            self.error = None
            self._show(self.result)
        self.last_update_ms = (time.perf_counter() - start) * 1000

    def _measured_here(self) -> list[tuple[str, Any]]:
        if self._measured is None:
            self._measured = measured_history(getattr(self.context, "database_path", None))
        return self._measured

    @Slot()
    def _measure(self) -> None:
        """Run the shown job on this PC's GPU (off the GUI thread, in a subprocess)."""
        if self.result is None or self.shape is None:
            return
        self.measure_bar.start(self.shape, self.result, None,
                               getattr(self.context, "database_path", None))

    @Slot(object)
    def _on_measured(self, _outcome: object) -> None:
        self._measured = None  # re-read: the new measurement corrects the estimate
        self.recompute()

    def _recompute_gguf(self, gpu: GpuTarget | None, ctx: int) -> None:
        """The llama.cpp answer: the sequence slider is the context length."""
        assert self.shape is not None
        self.result = None
        self.seq_label.setText(f"{ctx:,}-token context (llama.cpp -c)")
        try:
            self.gguf_result = plan(self.shape, self.quant.currentText(), ctx=ctx,
                                    kv_type=self.kv_type.currentText(), gpu=gpu,
                                    ram=self._ram_target)
        except EstimateError as exc:
            self.gguf_result = None
            self._show_error(str(exc))
            return
        self.error = None
        p = self.gguf_result
        theme = current_theme()
        parts = dict(p.gpu_parts)
        self.bar.set_data(parts, p.gpu.vram_bytes if p.gpu else None)
        self.legend.setText(" ".join(
            f"<span style='color:{PART_COLOURS[k]}'>■</span> {k.replace('_', ' ')} "
            f"{v / GIB:.1f}" for k, v in parts.items() if v))
        tone = {"good": GOOD, "warn": WARN, "bad": BAD, "muted": MUTED}[STATUS_TONE[p.status]]
        self.verdict.setText(plan_head(p))
        self.verdict.setStyleSheet(f"font-size: 20px; font-weight: 600; color: {tone[theme]};")
        self.details.setText("\n".join(plan_lines(p)))

    def _show(self, est: Estimate) -> None:
        theme = current_theme()
        m = est.memory
        self.bar.set_data(m.parts(), est.gpu.vram_bytes if est.gpu else None)
        # each swatch stays with its name: breaks only fall between items
        self.legend.setText(" &nbsp; ".join(
            f"<span style='white-space:nowrap'><span style='color:{PART_COLOURS[k]}'>■</span>"
            f"&nbsp;{k.replace('_', '&nbsp;')}&nbsp;{v / GIB:.1f}</span>"
            for k, v in m.parts().items() if v) + " &nbsp;GiB")
        status: str | None = est.verdict.status if est.verdict else None
        cpu = cpu_answer(est, self._ram) if est.gpu is None and self._no_gpu else None
        if cpu is not None:
            status = cpu[0]
        colour = {"fits": GOOD, "tight": WARN, "offload": WARN, "no": BAD}.get(status or "",
                                                                             MUTED)[theme]
        if cpu is not None:
            if est.workload.resolved_precision in ("int8", "nf4"):
                self.verdict.setText("No: 4-bit and 8-bit need a GPU")
            else:
                head = {"fits": "Yes, on the CPU", "tight": "Yes, on the CPU (tight)",
                        "no": "No, not on this PC"}.get(cpu[0], "Unknown")
                self.verdict.setText(f"{head}: needs {m.allocated / GIB:.1f} GiB of RAM")
        else:
            head = VERDICT_TEXT.get(status or "", "No GPU chosen")
            self.verdict.setText(f"{head}: {m.total / GIB:.1f} GiB")
        self.verdict.setStyleSheet(f"font-size: 20px; font-weight: 600; color: {colour};")
        lines = [f"• {cpu[1]}"] if cpu is not None else []
        if est.verdict:
            lines += [f"• {r}" for r in est.verdict.reasons]
            lines.append(f"• {limits_text(est)}")
        a = assumptions(est.workload, head=est.shape.head)
        lines.append(f"• Assumes {a['stack']}: {a['recipe']}; {a['runtime']}. Measured error "
                     f"band {error_band(est.workload):.0%}.")
        if est.suggestions:
            lines.append("\nTo make it fit:")
            lines += [f"  – {s.change} ({s.total_bytes / GIB:.1f} GiB, {s.status})"
                      for s in est.suggestions]
        t = est.timing
        lines.append("\nTime and energy" + (f" ({t.runtime})" if t.runtime else "") + ":")
        lines += [f"  {line}" for line in speed_lines(est)]
        if t.hours is not None:
            energy = (f", {t.energy_kwh:,.1f} kWh, {t.cost_usd:,.2f} USD"
                      if t.energy_kwh is not None and t.cost_usd is not None else "")
            lines.append(f"  {t.hours:,.1f} h for the dataset{energy}")
        lines.append(f"\nSystem RAM {est.host.ram_bytes / GIB:.1f} GiB, disk "
                     f"{est.host.disk_bytes / GIB:.1f} GiB")
        lines.append("\nHow:")
        lines += [f"  {r}" for r in (*est.reasons, *t.reasons)]
        self.details.setText("\n".join(line for line in lines if line is not None))
