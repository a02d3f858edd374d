"""Alert thresholds as the user sets them: kept in QSettings, edited in a small dialog.

The dialog shows the raise thresholds; the clear thresholds sit a fixed step below them (3 °C,
3 %) so an alert does not flap while a value hovers at its threshold.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from rigready.desktop.settings_values import setting_number
from rigready.monitor.alerts import ALERT_KINDS, AlertConfig

_PREFIX = "alerts/"
CLEAR_STEP = 3.0
#: As ``rigready run`` and ``monitor --watch``: a throttle reason that flips off for up to 3 s
#: (a GPU at its power cap flips ``sw_power_cap`` every second) is still sustained throttling.
THROTTLE_GRACE_S = 3.0


@dataclass(frozen=True, slots=True)
class AlertSettings:
    """What the user chose; :meth:`config` turns it into the engine's thresholds."""

    temp_margin_c: float = 5.0
    vram_pct: float = 95.0
    stall_util_pct: float = 5.0
    stall_minutes: float = 2.0
    enabled: frozenset[str] = frozenset(ALERT_KINDS)
    notify: bool = True

    def config(self) -> AlertConfig:
        """The :class:`AlertConfig` for these choices (hysteresis added)."""
        return AlertConfig(
            temp_margin_c=self.temp_margin_c,
            temp_clear_margin_c=self.temp_margin_c + CLEAR_STEP,
            vram_raise_pct=self.vram_pct,
            vram_clear_pct=max(0.0, self.vram_pct - CLEAR_STEP),
            stall_util_pct=self.stall_util_pct,
            stall_busy_pct=max(30.0, self.stall_util_pct + 10.0),
            stall_after_s=self.stall_minutes * 60.0,
            throttle_grace_s=THROTTLE_GRACE_S,
            enabled=self.enabled & frozenset(ALERT_KINDS),
        )


#: (field, label, minimum, maximum, step, suffix)
_NUMBERS: tuple[tuple[str, str, float, float, float, str], ...] = (
    ("temp_margin_c", "Warn this close to the slowdown temperature", 1, 30, 1, " °C"),
    ("vram_pct", "Warn when VRAM use is above", 50, 99.5, 0.5, " %"),
    ("stall_util_pct", "Training stalled: utilisation under", 0, 50, 1, " %"),
    ("stall_minutes", "… for at least", 0.5, 120, 0.5, " min"),
)
_KIND_LABELS = {
    "temperature": "Temperature near slowdown",
    "thermal_throttle": "Thermal throttling",
    "power_throttle": "Power throttling",
    "vram": "VRAM almost full",
    "stalled": "Training stalled?",
}


def _float(settings: QSettings, key: str, default: float, low: float, high: float) -> float:
    return setting_number(settings, _PREFIX + key, default, low, high)


def _bool(raw: object, default: bool) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str):
        return raw.strip().lower() in ("true", "1", "yes")
    return default


def load_alert_settings(settings: QSettings) -> AlertSettings:
    """The saved choices; defaults for anything missing or unreadable."""
    base = AlertSettings()
    numbers = {name: _float(settings, name, getattr(base, name), low, high)
               for name, _label, low, high, _step, _suffix in _NUMBERS}
    raw = settings.value(_PREFIX + "enabled")
    enabled: frozenset[str]
    if isinstance(raw, str):
        enabled = frozenset(k for k in raw.split(",") if k in ALERT_KINDS)
    elif isinstance(raw, list):
        enabled = frozenset(str(k) for k in raw if k in ALERT_KINDS)
    else:
        enabled = base.enabled
    notify = _bool(settings.value(_PREFIX + "notify", True), True)
    return AlertSettings(enabled=enabled, notify=notify, **numbers)


def save_alert_settings(settings: QSettings, value: AlertSettings) -> None:
    """Write the choices (and sync)."""
    for name, *_rest in _NUMBERS:
        settings.setValue(_PREFIX + name, getattr(value, name))
    settings.setValue(_PREFIX + "enabled", ",".join(k for k in ALERT_KINDS if k in value.enabled))
    settings.setValue(_PREFIX + "notify", value.notify)
    settings.sync()


class AlertSettingsDialog(QDialog):
    """Thresholds, which alerts are on, and whether to show desktop notifications.

    Open it with ``open()``; read :meth:`value` when ``accepted`` fires.
    """

    def __init__(self, value: AlertSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Alert settings")
        layout = QVBoxLayout(self)
        intro = QLabel("Alerts appear in the window, as a desktop notification and in the "
                       "session's event log. Each must hold for a few seconds before it fires.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        form = QFormLayout()
        self.spins: dict[str, QDoubleSpinBox] = {}
        for name, label, low, high, step, suffix in _NUMBERS:
            spin = QDoubleSpinBox()
            spin.setRange(low, high)
            spin.setSingleStep(step)
            spin.setDecimals(1)
            spin.setSuffix(suffix)
            spin.setValue(float(getattr(value, name)))
            spin.setObjectName(name)
            self.spins[name] = spin
            form.addRow(label, spin)
        layout.addLayout(form)
        self.kinds: dict[str, QCheckBox] = {}
        for kind in ALERT_KINDS:
            box = QCheckBox(_KIND_LABELS[kind])
            box.setChecked(kind in value.enabled)
            self.kinds[kind] = box
            layout.addWidget(box)
        self.notify_box = QCheckBox("Show desktop notifications (system tray)")
        self.notify_box.setChecked(value.notify)
        layout.addWidget(self.notify_box)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)

    def value(self) -> AlertSettings:
        """The choices as shown in the dialog now."""
        numbers = {name: spin.value() for name, spin in self.spins.items()}
        enabled = frozenset(k for k, box in self.kinds.items() if box.isChecked())
        return AlertSettings(enabled=enabled, notify=self.notify_box.isChecked(), **numbers)
