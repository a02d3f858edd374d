"""The first two steps of the upgrade wizard: the goal, and the constraints (budget and the facts
rigready cannot detect). Both remember their values in the app's QSettings."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSettings, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from rigready.assess.estimate import Workload, resolve_model
from rigready.assess.estimate.inputs import METHODS, PRECISIONS
from rigready.assess.plan import (
    Goal,
    RigFacts,
    TierGoal,
    WorkloadGoal,
    parse_connectors,
    task_goal,
)
from rigready.assess.plan.facts import DEFAULT_HOURS_PER_WEEK, DEFAULT_KWH_PRICE
from rigready.desktop.defaults import (
    DEFAULT_BATCH,
    DEFAULT_BUDGET_USD,
    DEFAULT_NEW_TOKENS,
    DEFAULT_PRECISION_CHOICE,
    DEFAULT_SEQ_LEN,
    default_checkpointing,
    precision_choice_label,
    with_image_runtime,
)
from rigready.desktop.settings_values import setting_flag, setting_number
from rigready.desktop.theme import MUTED, current_theme

SEQ_CHOICES = (256, 512, 1024, 2048, 4096, 8192, 16384, 32768)
DEFAULT_MODEL = "llama-3.1-8b"
DEFAULT_METHOD = "qlora"
DEFAULT_BUDGET = DEFAULT_BUDGET_USD
KEY = "upgrade/"


def _number(settings: QSettings, key: str, default: float) -> float:
    # finite and within what a spin box holds; NaN, inf or text fall back with a warning
    return setting_number(settings, KEY + key, default, 0, 1e9)


def _flag(settings: QSettings, key: str, default: bool) -> bool:
    return setting_flag(settings, KEY + key, default)


def _muted(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setStyleSheet(f"color: {MUTED[current_theme()]};")
    return label


class GoalStep(QWidget):
    """Step 1: run or fine-tune a model, reach a tier, or be ready for an AI task."""

    changed = Signal()

    def __init__(self, catalog: Any, settings: QSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.catalog = catalog
        self.settings = settings
        root = QVBoxLayout(self)
        root.addWidget(QLabel("<h3>What do you want to do?</h3>"))
        self.kind_group = QButtonGroup(self)
        self.kind_model = QRadioButton("Run or fine-tune a model")
        self.kind_tier = QRadioButton("Reach a hardware tier")
        self.kind_task = QRadioButton("Be ready for an AI task")
        for i, radio in enumerate((self.kind_model, self.kind_tier, self.kind_task)):
            self.kind_group.addButton(radio, i)
        self.model_box = QGroupBox()
        form = QFormLayout(self.model_box)
        self.model = QComboBox()
        for entry in getattr(catalog, "models", ()):
            self.model.addItem(f"{entry.name}  ({entry.params / 1e9:.1f}B)", entry.id)
        self.method = QComboBox()
        self.method.addItems(list(METHODS))
        self.precision = QComboBox()
        self.precision.addItem(precision_choice_label(DEFAULT_METHOD), DEFAULT_PRECISION_CHOICE)
        for precision in PRECISIONS:
            self.precision.addItem(precision, precision)
        self.seq = QComboBox()
        for s in SEQ_CHOICES:
            self.seq.addItem(f"{s:,} tokens", s)
        self.batch = QSpinBox()
        self.batch.setRange(1, 512)
        self.checkpointing = QCheckBox("gradient checkpointing (less memory, ~30% slower)")
        self.new_tokens = QSpinBox()
        self.new_tokens.setRange(0, 100_000)
        self.dataset = QSpinBox()
        self.dataset.setRange(0, 100_000)
        self.dataset.setSuffix(" M tokens")
        self.dataset.setSpecialValueText("not given (10 M assumed)")
        for label, widget in (("Model", self.model), ("Method", self.method),
                              ("Precision", self.precision), ("Sequence", self.seq),
                              ("Batch", self.batch), ("", self.checkpointing),
                              ("New tokens", self.new_tokens), ("Run size", self.dataset)):
            form.addRow(label, widget)
        self.tier = QComboBox()
        for t in getattr(catalog, "tiers", ()):
            self.tier.addItem(t.name, t.id)
        self.task = QComboBox()
        for t in getattr(catalog, "tasks", ()):
            self.task.addItem(t.name, t.id)
        root.addWidget(self.kind_model)
        root.addWidget(self.model_box)
        for radio, combo in ((self.kind_tier, self.tier), (self.kind_task, self.task)):
            row = QHBoxLayout()
            row.addWidget(radio)
            row.addWidget(combo, 1)
            root.addLayout(row)
        self.now_label = QLabel()
        self.now_label.setWordWrap(True)
        self.now_label.setStyleSheet("font-size: 14px; padding-top: 8px;")
        root.addWidget(self.now_label)
        root.addStretch(1)
        self.load()
        self.kind_group.idClicked.connect(self._on_change)
        self.method.currentTextChanged.connect(self._method_defaults)
        for combo in (self.model, self.method, self.precision, self.seq, self.tier, self.task):
            combo.currentIndexChanged.connect(self._on_change)
        for spin in (self.batch, self.new_tokens, self.dataset):
            spin.valueChanged.connect(self._on_change)
        self.checkpointing.toggled.connect(self._on_change)
        self._enable()

    def load(self) -> None:
        """Fill the controls from the remembered goal (or the defaults)."""
        s = self.settings
        kind = str(s.value(KEY + "goal_kind", "model"))
        {"tier": self.kind_tier, "task": self.kind_task}.get(kind, self.kind_model).setChecked(True)
        self._select(self.model, str(s.value(KEY + "model", DEFAULT_MODEL)))
        self.method.setCurrentText(str(s.value(KEY + "method", DEFAULT_METHOD)))
        self.precision.setItemText(0, precision_choice_label(self.method.currentText()))
        self._select(self.precision, str(s.value(KEY + "precision", DEFAULT_PRECISION_CHOICE)))
        self._select(self.seq, int(_number(s, "seq", DEFAULT_SEQ_LEN)))
        self.batch.setValue(int(_number(s, "batch", DEFAULT_BATCH)))
        self.checkpointing.setChecked(_flag(s, "checkpointing",
                                            default_checkpointing(self.method.currentText())))
        self.new_tokens.setValue(int(_number(s, "new_tokens", DEFAULT_NEW_TOKENS)))
        self.dataset.setValue(int(_number(s, "dataset_m", 0)))
        self._select(self.tier, str(s.value(KEY + "tier", "mid")))
        self._select(self.task, str(s.value(KEY + "task", "")))

    @staticmethod
    def _select(combo: QComboBox, data: object) -> None:
        index = combo.findData(data)
        if index >= 0:
            combo.setCurrentIndex(index)

    def save(self) -> None:
        """Remember the goal."""
        s = self.settings
        s.setValue(KEY + "goal_kind", self.kind())
        s.setValue(KEY + "model", self.model.currentData())
        s.setValue(KEY + "method", self.method.currentText())
        s.setValue(KEY + "precision", self.precision.currentData())
        s.setValue(KEY + "seq", self.seq.currentData())
        s.setValue(KEY + "batch", self.batch.value())
        s.setValue(KEY + "checkpointing", self.checkpointing.isChecked())
        s.setValue(KEY + "new_tokens", self.new_tokens.value())
        s.setValue(KEY + "dataset_m", self.dataset.value())
        s.setValue(KEY + "tier", self.tier.currentData())
        s.setValue(KEY + "task", self.task.currentData())

    def kind(self) -> str:
        """``model``, ``tier`` or ``task``."""
        return {1: "tier", 2: "task"}.get(self.kind_group.checkedId(), "model")

    def _enable(self) -> None:
        kind = self.kind()
        self.model_box.setEnabled(kind == "model")
        self.tier.setEnabled(kind == "tier")
        self.task.setEnabled(kind == "task")
        inference = self.method.currentText() == "inference"
        self.new_tokens.setEnabled(inference)
        self.checkpointing.setEnabled(not inference)

    def _method_defaults(self, method: str) -> None:
        """A method brings the same defaults as in the CLI and Can I run it?
        (``rigready.desktop.defaults``): checkpointing on for QLoRA only; the precision it assumes.
        """
        self.checkpointing.setChecked(default_checkpointing(method))
        self.precision.setItemText(0, precision_choice_label(method))

    def _on_change(self, *_args: object) -> None:
        self._enable()
        self.save()
        self.changed.emit()

    def goal(self) -> Goal:
        """The goal the controls describe.

        Raises:
            EstimateError: an unusable model or workload.
        """
        kind = self.kind()
        cat = self.catalog
        if kind == "tier":
            return TierGoal(cat.tier(self.tier.currentData()))
        if kind == "task":
            # a task the estimator judges is planned as that job, as Readiness judges it
            return task_goal(cat.task(self.task.currentData()), cat)
        model_id = str(self.model.currentData())
        precision = self.precision.currentData()
        method = self.method.currentText()
        workload = with_image_runtime(Workload(
            method=method,  # type: ignore[arg-type]
            precision=None if precision == DEFAULT_PRECISION_CHOICE else precision,
            batch=self.batch.value(), seq_len=int(self.seq.currentData()),
            new_tokens=self.new_tokens.value(),
            checkpointing=self.checkpointing.isChecked() and method != "inference"))
        workload.check()
        name = next((m.name for m in cat.models if m.id == model_id), None)
        tokens = self.dataset.value() * 1_000_000 or None
        return WorkloadGoal(resolve_model(model_id, cat.models), workload,
                            dataset_tokens=tokens, model_name=name)


class ConstraintsStep(QWidget):
    """Step 2: the budget and the facts no probe can read, prefilled from what was remembered."""

    changed = Signal()

    def __init__(self, settings: QSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        root = QVBoxLayout(self)
        root.addWidget(QLabel("<h3>Budget and what rigready cannot see</h3>"))
        root.addWidget(_muted("Leave a fact at 'unknown' if you are not sure: the plans then "
                              "state what they assume, and every check that depends on it shows "
                              "'check' instead of 'pass'."))
        form = QFormLayout()
        self.budget = QDoubleSpinBox()
        self.budget.setRange(0, 100_000)
        self.budget.setSingleStep(50)
        self.budget.setDecimals(0)
        self.budget.setPrefix("$ ")
        self.psu_watts = QSpinBox()
        self.psu_watts.setRange(0, 3000)
        self.psu_watts.setSingleStep(50)
        self.psu_watts.setSuffix(" W")
        self.psu_watts.setSpecialValueText("unknown")
        self.connectors = QLineEdit()
        self.connectors.setPlaceholderText("unknown — e.g. 2x8-pin, or 2x8-pin, 12v-2x6")
        self.connectors_error = QLabel()
        self.clearance = QSpinBox()
        self.clearance.setRange(0, 1000)
        self.clearance.setSuffix(" mm")
        self.clearance.setSpecialValueText("unknown")
        self.kwh = QDoubleSpinBox()
        self.kwh.setRange(0, 5)
        self.kwh.setDecimals(3)
        self.kwh.setSingleStep(0.01)
        self.kwh.setSuffix(" USD/kWh")
        self.kwh.setSpecialValueText(f"unknown ({DEFAULT_KWH_PRICE:g} assumed)")
        self.hours = QDoubleSpinBox()
        self.hours.setRange(0, 168)
        self.hours.setDecimals(1)
        self.hours.setSuffix(" h a week")
        self.hours.setSpecialValueText(f"unknown ({DEFAULT_HOURS_PER_WEEK:g} h assumed)")
        self.nvidia_only = QCheckBox("only NVIDIA GPUs (CUDA)")
        for label, widget in (("Budget", self.budget), ("PSU rating", self.psu_watts),
                              ("PSU GPU plugs", self.connectors), ("", self.connectors_error),
                              ("Case GPU clearance", self.clearance),
                              ("Electricity", self.kwh), ("Use", self.hours),
                              ("GPUs", self.nvidia_only)):
            form.addRow(label, widget)
        root.addLayout(form)
        root.addWidget(_muted("The PSU's label gives its rating; its GPU plugs are the PCIe 6+2-pin"
                              " cables and any 16-pin 12VHPWR/12V-2x6 socket. Clearance is the "
                              "room from the back slot bracket to the front of the case."))
        root.addStretch(1)
        self.load()
        for dspin in (self.budget, self.kwh, self.hours):
            dspin.valueChanged.connect(self._on_change)
        for spin in (self.psu_watts, self.clearance):
            spin.valueChanged.connect(self._on_change)
        self.connectors.editingFinished.connect(self._on_change)
        self.nvidia_only.toggled.connect(self._on_change)

    def load(self) -> None:
        """Fill the controls from the remembered facts."""
        s = self.settings
        self.budget.setValue(_number(s, "budget_usd", DEFAULT_BUDGET))
        self.psu_watts.setValue(int(_number(s, "psu_watts", 0)))
        self.connectors.setText(str(s.value(KEY + "psu_connectors", "") or ""))
        self.clearance.setValue(int(_number(s, "clearance_mm", 0)))
        self.kwh.setValue(_number(s, "kwh_price", 0))
        self.hours.setValue(_number(s, "hours_per_week", 0))
        self.nvidia_only.setChecked(_flag(s, "nvidia_only", False))

    def save(self) -> None:
        """Remember the budget and facts."""
        s = self.settings
        s.setValue(KEY + "budget_usd", self.budget.value())
        s.setValue(KEY + "psu_watts", self.psu_watts.value())
        s.setValue(KEY + "psu_connectors", self.connectors.text().strip())
        s.setValue(KEY + "clearance_mm", self.clearance.value())
        s.setValue(KEY + "kwh_price", self.kwh.value())
        s.setValue(KEY + "hours_per_week", self.hours.value())
        s.setValue(KEY + "nvidia_only", self.nvidia_only.isChecked())

    def _on_change(self, *_args: object) -> None:
        self.save()
        self.changed.emit()

    def facts(self) -> RigFacts:
        """The facts typed in; 0 and an empty text mean unknown.

        Raises:
            FactsError: a connector list that cannot be read.
        """
        text = self.connectors.text().strip()
        plugs = parse_connectors(text, "PSU GPU plugs", "") if text else None
        return RigFacts(
            psu_watts=float(self.psu_watts.value()) or None, psu_connectors=plugs,
            clearance_mm=float(self.clearance.value()) or None,
            kwh_price=self.kwh.value() or None, hours_per_week=self.hours.value() or None)

    def vendors(self) -> tuple[str, ...] | None:
        """GPU vendors to consider (None: all)."""
        return ("nvidia",) if self.nvidia_only.isChecked() else None
