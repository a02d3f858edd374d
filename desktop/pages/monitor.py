"""The "Monitor" page: live GPU and host charts, session logging, alerts, replay of saved
sessions, the training run followed or replayed, per-process GPU memory and the second-screen
training monitor.

Live: :class:`~desktop.monitoring.controller.MonitorController` runs the sampler on its own
thread and hands over samples once a second; the page keeps them in one ring buffer per GPU
(24 h at 1 Hz) and redraws only while it (or the training monitor) is on screen. Replay: a saved
session is read on the thread pool and charted from arrays; the tiles then show its peaks, the
crosshair reads any moment of it and starts at the moment of highest power draw. The 7-day and
30-day views read the store's 1-minute aggregates, also on the thread pool. A run started with
``rigready run`` or followed with ``rigready monitor --watch`` is found in the database and
followed off the GUI thread (:mod:`rigready.desktop.monitoring.page_run`).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal, Slot
from PySide6.QtGui import QResizeEvent, QShowEvent
from PySide6.QtWidgets import (
    QLabel,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from rigready.desktop.context import AppContext
from rigready.desktop.monitoring.alert_settings import AlertSettings, AlertSettingsDialog
from rigready.desktop.monitoring.chart_source import LIVE_WINDOW, ChartSource
from rigready.desktop.monitoring.charts import MonitorCharts
from rigready.desktop.monitoring.controller import MonitorController
from rigready.desktop.monitoring.live_alerts import LiveAlerts
from rigready.desktop.monitoring.notify import AlertNotifier
from rigready.desktop.monitoring.page_run import RunSection
from rigready.desktop.monitoring.panels import (
    AlertBanner,
    EventsPanel,
    PageHeader,
    SourceControls,
    WindowSelector,
)
from rigready.desktop.monitoring.replay import (
    HistoryData,
    ReplayData,
    load_history,
    load_replay,
    session_entry,
    session_title,
)
from rigready.desktop.monitoring.run_follower import RunFollower
from rigready.desktop.monitoring.snapshots import busiest_time, live_snapshot, replay_snapshot
from rigready.desktop.monitoring.text import (
    WINDOW_BY_KEY,
    MonitorSnapshot,
    live_status,
    notice_text,
)
from rigready.desktop.monitoring.tiles import GpuTileRow
from rigready.desktop.monitoring.training_link import TrainingMonitorLink
from rigready.desktop.theme import MUTED, current_theme
from rigready.desktop.worker import GeneratorWorker
from rigready.monitor.ring import (
    spans_from_events,
)
from rigready.monitor.sample import Sample


class MonitorPage(QWidget):
    """Live and replayed monitoring. Signal ``replay_loaded`` fires when a session is shown."""

    replay_loaded = Signal()

    def __init__(self, context: AppContext, *, controller: MonitorController | None = None,
                 notifier: AlertNotifier | None = None, autostart: bool = True,
                 follower: RunFollower | None = None) -> None:
        super().__init__()
        self.context = context
        self.settings = context.settings
        self.theme = current_theme()
        self.controller = controller or MonitorController(context.database_path, parent=self)
        self.alerts = LiveAlerts(self.controller, self.settings, notifier, self)
        self.notifier = self.alerts.notifier
        self.autostart = autostart
        self.source = ChartSource()
        self._worker: GeneratorWorker | None = None
        self.runs = RunSection(context.database_path, self.alerts, self.theme,
                               follower=follower, clock=self.controller.now, parent=self)
        self.training = TrainingMonitorLink(self.settings, self.snapshot, self,
                                            on_open=self._ensure_live)
        self._build()
        c = self.controller
        c.samples_ready.connect(self._on_samples)
        self.alerts.changed.connect(self._on_alert)
        self.runs.changed.connect(self._on_alert)
        c.state_changed.connect(self._on_state)
        c.failed.connect(self._on_failed)
        self._on_state(c.state)

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 18, 24, 12)
        layout.setSpacing(8)
        self.header = PageHeader(self.theme)
        self.status = self.header.status
        self.header.settings_button.clicked.connect(self.open_alert_settings)
        self.header.training_button.clicked.connect(self.open_training_monitor_dialog)
        layout.addWidget(self.header)
        self.controls = SourceControls(self.context.database_path)
        self.controls.start_button.clicked.connect(self.start_logging)
        self.controls.stop_button.clicked.connect(self.controller.stop_logging)
        self.controls.database_chosen.connect(lambda name: self.load_session(Path(name)))
        self.controls.session_chosen.connect(self._on_session_picked)
        self.controls.live_button.clicked.connect(self.show_live)
        self.controls.gpu_box.activated.connect(self._on_gpu_picked)
        layout.addWidget(self.controls)
        self.window_selector = WindowSelector()
        self.window_selector.chosen.connect(self.set_window)
        self.window_selector.set_current(self.source.window_key)
        layout.addWidget(self.window_selector)
        self.notice = QLabel("")
        self.notice.setWordWrap(True)
        self.notice.setStyleSheet(f"color: {MUTED[self.theme]};")
        self.notice.setVisible(False)
        layout.addWidget(self.notice)
        self.banner = AlertBanner(self.theme)
        layout.addWidget(self.banner)
        self.tile_row = GpuTileRow(self.theme)
        self.tiles = self.tile_row.tiles
        layout.addWidget(self.tile_row)
        split = QSplitter()
        self.charts = MonitorCharts(self.theme)
        self.charts.cursor_moved.connect(self._on_cursor)
        self.events_panel = EventsPanel(self.theme)
        right = self.runs.beside(self.events_panel)  # per-process memory above the events
        split.addWidget(self.charts)
        split.addWidget(right)
        split.setStretchFactor(0, 4)
        split.setChildrenCollapsible(False)
        right.setMinimumWidth(170)
        split.setSizes([1000, 220])
        layout.addWidget(self.runs.above(split), 1)  # the run above the GPU charts

    # -- live ----------------------------------------------------------------------------

    @Slot()
    def start_logging(self) -> None:
        """Record a session with the label typed (a replay switches back to live)."""
        if self.source.mode != "live":
            self.show_live()
        self.controller.start_logging(self.controls.label_edit.text())

    @Slot(list)
    def _on_samples(self, samples: list[Sample]) -> None:
        self.source.add_samples(samples)
        if self.source.mode == "live":
            self.source.gpu = self.controls.fill_gpus(self.source.gpu_names, self.source.gpu)
            self._show_gpu_parts(bool(self.source.gpu_names) or not samples)
            self._update_notice()
            self.refresh()

    @Slot()
    def _on_alert(self) -> None:
        if self.source.mode == "live":
            self.refresh()

    @Slot(str)
    def _on_state(self, state: str) -> None:
        self.controls.start_button.setEnabled(state in ("watching", "stopped"))
        self.controls.stop_button.setEnabled(state == "logging")
        self._update_status()

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self._say(f"Could not start: {message}", bad=True)
        if self.source.mode == "live" and self.isVisible():
            self.controller.watch()

    def _say(self, text: str, *, bad: bool = False) -> None:
        self.header.say(text, bad=bad)

    def _update_notice(self) -> None:
        c = self.controller
        text = notice_text(bool(self.source.gpu_names), c.skipped, c.notes())
        self.notice.setText(text)
        self.notice.setVisible(bool(text))

    def _update_status(self) -> None:
        c = self.controller
        if self.source.mode == "replay" and self.source.replay is not None:
            info = self.source.replay.session
            self._say(f"Replaying {session_title(info)} from {self.source.replay.path.name} · "
                      f"{info.duration_s or 0:.0f} s · {info.ticks} samples")
        else:
            self._say(live_status(c.state, c.session_id, c.session_label, c.db_path.name))

    def showEvent(self, event: QShowEvent) -> None:
        """Start watching the first time the page is shown; redraw after being hidden."""
        super().showEvent(event)
        loading = self._worker is not None and self._worker.running  # a replay, say
        if self.autostart and not loading:
            self._ensure_live()
        self.refresh()

    def _ensure_live(self) -> None:
        """Sample (live values) and look for a run, unless already (the page or the training
        monitor is on screen)."""
        if self.source.mode == "live" and self.controller.state == "stopped" \
                and not self.controller.busy:
            self.controller.watch()
        self.runs.start()

    def shutdown(self) -> None:
        """The window is closing: remember its screen, close the monitor, stop the sampler."""
        if getattr(self.window(), "remember_state", True):
            self.training.main_screen()
        self.training.close()
        if self._worker is not None:
            self._worker.cancel()
        self.runs.stop()
        self.controller.shutdown()

    # -- replay and history --------------------------------------------------------------

    def load_session(self, db_path: Path, session_id: int | None = None) -> None:
        """Replay a saved session (the newest when ``session_id`` is None) on the thread pool."""
        self._run(lambda: load_replay(Path(db_path), session_id), self._on_replay_loaded)

    @Slot(int)
    def _on_session_picked(self, session_id: int) -> None:
        if self.source.replay is not None:
            self.load_session(self.source.replay.path, session_id)

    def _on_replay_loaded(self, data: ReplayData) -> None:
        self.source.show_replay(data)
        self.source.gpu = self.controls.fill_gpus(data.gpus, min(data.rows))
        self._show_gpu_parts(bool(data.gpus))
        self.controls.fill_sessions(
            [(s.id, session_entry(s, data.runs.get(s.id))) for s in data.sessions],
            data.session.id)
        self.controls.set_replaying(True)
        self.charts.set_following(False)
        self.window_selector.set_current("Session")
        # a run opens at its end (how it ended, its whole loss curve); a session at its
        # moment of highest power draw
        self.source.replay_cursor = data.run.end if data.run is not None else \
            busiest_time(*data.rows[self.source.gpu])
        self.notice.setVisible(False)
        self.refresh()
        self._update_status()
        self.replay_loaded.emit()

    @Slot()
    def show_live(self) -> None:
        """Leave replay and follow the live samples."""
        self.source.show_live()
        self.controls.set_replaying(False)
        self.charts.set_following(True)
        self.charts.point_at(float("nan"))  # the replay's read-out is not a live value
        self.source.gpu = self.controls.fill_gpus(self.source.gpu_names, self.source.gpu)
        self._show_gpu_parts(bool(self.source.gpu_names) or not self.source.rings)
        self.set_window(LIVE_WINDOW)
        if self.controller.state == "stopped" and not self.controller.busy:
            self.controller.watch()
        self._update_status()

    def _run(self, job: Callable[[], Generator[str, None, Any]],
             done: Callable[[Any], None]) -> None:
        if self._worker is not None and self._worker.running:
            self._worker.cancel()
        worker = GeneratorWorker(job, self)
        worker.progressed.connect(lambda text: self._say(str(text)))
        worker.finished.connect(done)
        worker.errored.connect(lambda message: self._say(message, bad=True))
        self._worker = worker
        worker.start()

    # -- choices -------------------------------------------------------------------------

    @Slot(str)
    def set_window(self, key: str) -> None:
        """Show the last minute … 30 days, or the whole session ("Session")."""
        choice = WINDOW_BY_KEY[key]
        self.source.window_key = key
        self.window_selector.set_current(key)
        self.source.history = None
        if choice.from_store:
            replay = self.source.replay
            path = replay.path if replay is not None else self.context.database_path
            t, _ = self.source.rows()
            end = float(t[-1]) if t.size else self.controller.now()
            gpus = tuple(sorted(replay.rows if replay else self.source.rings)) or (0,)
            span = float(choice.seconds or 0)
            self._run(lambda: load_history(path, end, span, gpus), self._on_history)
            return
        self.refresh()

    def _on_history(self, data: HistoryData) -> None:
        self.source.history = data
        self._update_status()
        self.refresh()

    @Slot(int)
    def _on_gpu_picked(self, index: int) -> None:
        value = self.controls.gpu_box.itemData(index)
        if isinstance(value, int):
            self.source.gpu = value
            self.refresh()

    # -- drawing -------------------------------------------------------------------------

    def x_range(self) -> tuple[float, float] | None:
        """The time range the chosen window covers now (None before any data)."""
        return self.source.x_range(self.controller.session_started)

    def refresh(self) -> None:
        """Redraw charts, tiles, banner and events from the current source."""
        if not self.isVisible() and self.training.window is None:
            return
        t, v = self.source.rows(history=True)
        span = self.x_range()
        replay = self.source.replay
        events = list(replay.events if replay is not None else self.alerts.events)
        if span is not None:
            self.charts.set_x_range(*span)  # the charts clip the rows to this range themselves
            self.charts.set_data(t, v)
            self.charts.set_spans(spans_from_events(events, gpu=self.source.gpu), span[1])
        else:
            self.charts.set_data(t, v)
        self.events_panel.set_events(events)
        self.tile_row.show_values(self.source.tile_values(), self.source.mode == "replay")
        run = self.runs.display(self.source.replay, self.source.replay_cursor, self.source.latest)
        self.runs.show(run)
        if self.source.mode == "replay":
            raised = [(e.name, e.message) for e in events
                      if e.kind == "alert" and e.state == "raised"]
            self.banner.show_alerts(raised, "During this session — ")
            if self.source.replay_cursor is not None:
                # the crosshair snaps to a sample; the moment shown stays the one chosen (a
                # run's end is a second after its last sample)
                self.charts.blockSignals(True)
                self.charts.point_at(self.source.replay_cursor)
                self.charts.blockSignals(False)
            self.runs.processes.setVisible(False)  # per-process memory is a live reading
        else:
            self.banner.show_alerts([*self.controller.storage_problems(),
                                     *(run.alerts if run is not None else ()),
                                     *self.alerts.active_for()])
            self.runs.show_processes(self.source.latest, self.source.gpu, run)
        self.training.refresh()

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Size the tiles' numbers to the tiles, so "1980 MHz" is never cut at 1024 px."""
        super().resizeEvent(event)
        self.tile_row.fit(self.width() - 48)

    def _show_gpu_parts(self, gpu: bool) -> None:
        """Without GPU readings only the CPU/RAM chart and tile are shown, and no GPU box."""
        self.charts.show_gpu_plots(gpu)
        self.tile_row.show_gpu(gpu)
        self.controls.gpu_box.setVisible(gpu)


    @Slot(float)
    def _on_cursor(self, t: float) -> None:
        if self.source.mode == "replay" and self.source.replay_cursor != t:
            self.source.replay_cursor = t
            self.runs.show(self.runs.display(self.source.replay, t))
            self.training.refresh()

    def seek(self, t: float) -> None:
        """Replay: put the crosshair (and the run and the training monitor) at time ``t``."""
        self.source.replay_cursor = t
        self.charts.point_at(t)
        self.runs.show(self.runs.display(self.source.replay, t))
        self.training.refresh()

    # -- training monitor and alert settings ---------------------------------------------

    def snapshot(self) -> MonitorSnapshot:
        """What the training monitor shows now (replay: at the crosshair)."""
        if self.source.mode == "replay" and self.source.replay is not None:
            return replay_snapshot(self.source.replay, self.source.gpu, self.source.replay_cursor)
        t, v = self.source.rows()
        c = self.controller
        return live_snapshot(t, v, self.source.gpu, self.source.gpu_names, session_id=c.session_id,
                             started=c.session_started, alerts=self.alerts.active.values(),
                             run=self.runs.display(None, None, self.source.latest))

    @Slot()
    def open_training_monitor_dialog(self) -> None:
        """Ask which screen to use (dialog opened with open()), then show the monitor."""
        self.training.open_dialog()

    @Slot()
    def open_alert_settings(self) -> AlertSettingsDialog:
        """Edit the alert thresholds (dialog opened with open())."""
        return self.alerts.open_dialog(self)

    @property
    def alert_settings(self) -> AlertSettings:
        """The thresholds in use."""
        return self.alerts.values
