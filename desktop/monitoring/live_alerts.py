"""The live side of alerts: which are active, the recent-events list, notifications and the
user's thresholds, for one :class:`~desktop.monitoring.controller.MonitorController`, plus the
alerts of a followed training run (:meth:`LiveAlerts.add_run_event`)."""

from __future__ import annotations

from collections import deque

from PySide6.QtCore import QObject, QSettings, Signal, Slot
from PySide6.QtWidgets import QWidget

from rigready.desktop.monitoring.alert_settings import (
    AlertSettings,
    AlertSettingsDialog,
    load_alert_settings,
    save_alert_settings,
)
from rigready.desktop.monitoring.controller import MonitorController
from rigready.desktop.monitoring.notify import AlertNotifier
from rigready.monitor.alerts import AlertEvent, throttle_alert_kind
from rigready.monitor.store_read import EventRecord

MAX_EVENTS = 500


class LiveAlerts(QObject):
    """Keeps active alerts and recent events from the controller; notifies on raised alerts.

    Signals:
        changed: An alert was raised or cleared.
    """

    changed = Signal()

    def __init__(self, controller: MonitorController, settings: QSettings,
                 notifier: AlertNotifier | None = None, parent: QObject | None = None) -> None:
        """Load the thresholds from ``settings`` and hand them to ``controller``."""
        super().__init__(parent)
        self.controller = controller
        self.settings = settings
        self.values = load_alert_settings(settings)
        self.notifier = notifier or AlertNotifier(parent=self)
        self.notifier.enabled = self.values.notify
        controller.set_alert_config(self.values.config())
        self.events: deque[EventRecord] = deque(maxlen=MAX_EVENTS)
        self.active: dict[tuple[str, int], AlertEvent] = {}
        #: GPU alert kinds not notified here because the run followed now has its own rigready
        #: notifying them (one notification per alert, not two).
        self.quiet_kinds: frozenset[str] = frozenset()
        #: Open throttle episodes by ("throttle:REASON", gpu).
        self._episodes: dict[tuple[str, int], AlertEvent] = {}
        controller.alert_changed.connect(self._on_alert)
        controller.event_logged.connect(self._on_event)
        controller.state_changed.connect(self._on_state)

    def active_for(self, gpu: int | None = None) -> list[tuple[str, str]]:
        """(kind, message) of the active alerts, of one GPU or all."""
        return [(e.kind, e.message) for e in self.active.values() if gpu is None or e.gpu == gpu]

    @Slot(object)
    def _on_alert(self, event: AlertEvent) -> None:
        key = (event.kind, event.gpu)
        if event.state == "raised":
            self.active[key] = event
            if event.kind not in self.quiet_kinds:
                self.notifier.notify(event)
        else:
            self.active.pop(key, None)
        self._sync_episodes()
        self.events.append(EventRecord(0, self.controller.session_id, event.time, "alert",
                                       event.kind, event.state, event.gpu, event.message,
                                       event.value))
        self.changed.emit()

    def add_run_event(self, event: EventRecord, *, label: str | None, notify: bool) -> None:
        """A followed run's alert (read from the database): into the recent events, and a
        notification when it was raised and ``notify``."""
        self.events.append(event)
        if notify and event.state == "raised":
            self.notifier.notify_text(event.name, event.message, event.time, label)
        self.changed.emit()

    @Slot(object)
    def _on_event(self, event: EventRecord) -> None:
        """Keep the event; a throttle episode counts as active while it lasts, so "All clear"
        is never shown in the second a throttle reason appears (its alert waits
        ``raise_after_s``, and a reason that flips never raises it)."""
        self.events.append(event)
        if event.kind != "throttle" or event.gpu is None:
            return
        key = (f"throttle:{event.name}", event.gpu)
        kind = throttle_alert_kind(event.name)
        if event.state == "raised" and kind is not None:
            self._episodes[key] = AlertEvent(event.time, kind, event.gpu, "raised",
                                             event.message)
        elif event.state != "cleared" or self._episodes.pop(key, None) is None:
            return
        self._sync_episodes()
        self.changed.emit()

    def _sync_episodes(self) -> None:
        """Show open throttle episodes among the active alerts, unless the alert of their kind
        is itself active (one line per condition in the banner)."""
        for key in [k for k in self.active if k[0].startswith("throttle:")]:
            del self.active[key]
        for key, episode in self._episodes.items():
            if (episode.kind, episode.gpu) not in self.active:
                self.active[key] = episode

    @Slot(str)
    def _on_state(self, state: str) -> None:
        if state in ("starting", "switching"):
            self.active.clear()  # a new sampler judges its alerts afresh
            self._episodes.clear()

    def open_dialog(self, parent: QWidget) -> AlertSettingsDialog:
        """Edit the thresholds in a dialog opened with ``open()``; applied on OK."""
        dialog = AlertSettingsDialog(self.values, parent)
        dialog.accepted.connect(lambda: self.apply(dialog.value()))
        dialog.open()
        return dialog

    def apply(self, value: AlertSettings) -> None:
        """Save new thresholds and hand them to the running sampler."""
        self.values = value
        save_alert_settings(self.settings, value)
        self.controller.set_alert_config(value.config())
        self.notifier.enabled = value.notify
