"""The job half of the "Can I run it?" page: runtime, method, precision, sizes, LoRA, the image
inputs, the GPU and the run's size, and the :class:`Workload` they describe.

The defaults are the CLI's (:mod:`rigready.desktop.defaults`), so the page and ``rigready
estimate`` answer the same question when nothing was touched.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSlider,
    QSpinBox,
)

from rigready.assess.estimate import ModelShape, Workload
from rigready.assess.estimate.energy import DEFAULT_ELECTRICITY_USD_KWH
from rigready.assess.estimate.inputs import ATTENTIONS, METHODS, OPTIMIZERS, PRECISIONS
from rigready.catalog import GpuEntry
from rigready.desktop.defaults import (
    DEFAULT_BATCH,
    DEFAULT_LORA_RANK,
    DEFAULT_LORA_TARGETS,
    DEFAULT_NEW_TOKENS,
    DEFAULT_PRECISION_CHOICE,
    DEFAULT_SEQ_LEN,
    default_checkpointing,
    llamacpp_ctx,
    precision_choice_label,
    with_image_runtime,
)
from rigready.desktop.pages.can_i_run_gguf import (
    RUNTIME_LLAMACPP,
    RUNTIME_TRANSFORMERS,
    image_runtime_combo,
    kv_combo,
    quant_combo,
    runtime_combo,
)
from rigready.desktop.pages.can_i_run_sources import GpuSearch

#: The sequence slider's stops (prompt tokens; llama.cpp: the context length).
SEQ_STEPS = (128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536, 131072)


class JobForm:
    """The job controls in one :class:`QFormLayout` (``layout``), which the page places.

    Args:
        on_change: called whenever a control that changes the answer moves (the page's
            recompute).
        catalog_gpus: the catalog's GPUs, for typing a GPU name into the GPU box.
        gpu_row: the GPU box's row of a catalog GPU id (-1 when it has none); the page fills
            the box, since its choices follow the profile.
    """

    def __init__(self, on_change: Callable[[], None],
                 catalog_gpus: Callable[[], Iterable[GpuEntry]],
                 gpu_row: Callable[[str], int]) -> None:
        form = QFormLayout()
        self.layout = form
        self.runtime = runtime_combo()
        self.image_runtime = image_runtime_combo()
        self.quant = quant_combo()
        self.kv_type = kv_combo()
        form.addRow("Runtime", self.runtime)
        form.addRow("Runs in", self.image_runtime)
        form.addRow("GGUF quant", self.quant)
        form.addRow("KV cache", self.kv_type)
        form.setRowVisible(self.image_runtime, False)  # image generation only
        for combo in (self.runtime, self.image_runtime, self.quant, self.kv_type):
            combo.currentIndexChanged.connect(on_change)
        self.runtime.currentTextChanged.connect(self.runtime_changed)
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
        self.gpu.setMinimumContentsLength(15)  # 18 left the answer 235 px at 1024x640
        self.gpu.currentIndexChanged.connect(
            lambda index: self.gpu.setToolTip(self.gpu.itemText(index)))
        self.gpu_hint = QLabel()
        self.gpu_hint.setWordWrap(True)
        self.gpu_hint.setVisible(False)
        #: A typed GPU name picked no GPU: no answer until one is chosen (the box still holds
        #: the previous GPU, whose verdict would answer another question). The sentence saying
        #: why and the candidates (the answer panel offers them as buttons).
        self.gpu_unresolved = False
        self.gpu_question = ""
        self.gpu_candidates: tuple[GpuEntry, ...] = ()
        self._on_change = on_change
        self.gpu_search = GpuSearch(self.gpu, catalog_gpus, gpu_row, self.set_gpu_choices)
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
        for box in (self.method, self.precision, self.optimizer, self.lora_rank,
                    self.attention, self.gpu):
            box.currentIndexChanged.connect(on_change)
        self.gpu.currentIndexChanged.connect(lambda _index: self.set_gpu_choices("", ()))
        # a long name shows its start (the GPU), not its end ("— 12 GiB"), in the narrow box
        self.gpu.currentIndexChanged.connect(lambda _index: self.gpu_search.edit.home(False))
        for slider in (self.batch, self.seq):
            slider.valueChanged.connect(on_change)
        for spin in (self.new_tokens, self.gpus, self.dataset, self.image_size, self.steps):
            spin.valueChanged.connect(on_change)
        for dspin in (self.epochs, self.price):
            dspin.valueChanged.connect(on_change)
        self.checkpointing.toggled.connect(on_change)
        self.lora_targets.editingFinished.connect(on_change)
        self.method.currentTextChanged.connect(self.method_defaults)
        self.runtime_changed(self.runtime.currentText())

    @property
    def llamacpp(self) -> bool:
        """Whether the llama.cpp runtime is chosen (the answer is then a GGUF plan)."""
        return self.runtime.currentText() == RUNTIME_LLAMACPP

    def runtime_changed(self, runtime: str) -> None:
        """llama.cpp only runs models: it brings inference, its quant and KV-cache choices, and
        the sequence slider becomes its context, the CLI's default (:data:`DEFAULT_CTX`, or the
        prompt plus the tokens to generate when longer)."""
        gguf = runtime == RUNTIME_LLAMACPP
        if gguf:
            self.method.setCurrentText("inference")
            ctx = llamacpp_ctx(self.workload())
            step = next((i for i, s in enumerate(SEQ_STEPS) if s >= ctx), len(SEQ_STEPS) - 1)
            if self.seq.value() < step:
                self.seq.setValue(step)
        for widget in (self.method, self.precision, self.optimizer, self.lora_rank,
                       self.lora_targets, self.attention):
            widget.setEnabled(not gguf)
        # the GGUF rows mean nothing to Transformers: hidden, not just greyed out
        for widget in (self.quant, self.kv_type):
            widget.setEnabled(gguf)
            self.layout.setRowVisible(widget, gguf)

    def method_defaults(self, method: str) -> None:
        """A method brings its defaults, the same as the CLI's (``rigready.desktop.defaults``):
        checkpointing on for QLoRA only, and the precision it assumes shown in the box."""
        self.checkpointing.setChecked(default_checkpointing(method))
        self.checkpointing.setEnabled(method != "inference")
        self.precision.setItemText(0, precision_choice_label(method))

    def set_gpu_hint(self, text: str) -> None:
        """Say under the GPU box why a typed name picked no GPU (hidden when there is nothing)."""
        self.gpu_hint.setText(text)
        self.gpu_hint.setVisible(bool(text))

    def set_gpu_choices(self, text: str, entries: tuple[GpuEntry, ...]) -> None:
        """A typed name picked no GPU: hold the answer until one of ``entries`` is chosen (the
        answer panel shows ``text`` and offers them). Empty: a GPU is chosen, the choices go."""
        self.gpu_question, self.gpu_candidates = text, tuple(entries[:5])
        # the whole sentence is beside the form with a button per candidate; here its start
        short = re.split(r"[:;]", text)[0] if entries else text
        self.set_gpu_hint(f"{short}: choose one on the right" if entries else short)
        unresolved = bool(text)
        if unresolved != self.gpu_unresolved:
            self.gpu_unresolved = unresolved
            self._on_change()  # the old verdict goes; a chosen GPU brings its answer
        elif unresolved:
            self._on_change()  # another unresolved name: its own candidates

    def choose_gpu(self, entry: GpuEntry) -> None:
        """Pick one of the candidates (it says it is resolved, even when the row stays)."""
        self.gpu_search.select(entry)

    def fit_to(self, shape: ModelShape) -> None:
        """Enable the inputs that mean something for this kind of model (signals blocked where
        a value is reset, so the page recomputes once, after)."""
        image = shape.image is not None
        if image:  # a language model's runtimes mean nothing to an image model
            self.runtime.blockSignals(True)
            self.runtime.setCurrentText(RUNTIME_TRANSFORMERS)
            self.runtime.blockSignals(False)
            self.runtime_changed(RUNTIME_TRANSFORMERS)
        self.layout.setRowVisible(self.runtime, not image)
        self.layout.setRowVisible(self.image_runtime, shape.kind == "diffusion")
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

    def workload(self) -> Workload:
        """The job the controls describe."""
        precision = self.precision.currentData()
        method = self.method.currentText()
        return with_image_runtime(Workload(
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
            sampling_steps=self.steps.value()), self.image_runtime.currentData())

    def show_sizes(self, wl: Workload) -> None:
        """The batch and sequence sliders' values in words."""
        self.batch_label.setText(f"{wl.batch} per GPU")
        self.seq_label.setText(f"{wl.seq_len:,} tokens")

    def show_context(self, ctx: int) -> None:
        """llama.cpp: the sequence slider is the context length."""
        self.seq_label.setText(f"{ctx:,}-token context (llama.cpp -c)")

    def dataset_tokens(self) -> int | None:
        """Tokens (image models: images) in the dataset, None for none."""
        return self.dataset.value() * 1_000_000 or None
