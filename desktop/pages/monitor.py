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
    QFileDialog,
    QLabel,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from rigready.desktop.context import AppContext
from rigready.desktop.monitoring.alert_settings import AlertSettings, AlertSettingsDialog
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
    FloatArray,
    SeriesRing,
    ValueArray,
    column_peaks,
    sample_row,
    spans_from_events,
)
from rigready.monitor.sample import Sample

RING_CAPACITY = 86_400
LIVE_WINDOW = "5 min"


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
        self.rings: dict[int, SeriesRing] = {}
        self.gpu_names: dict[int, str] = {}
        self.mode = "live"
        self.replay: ReplayData | None = None
        self.replay_cursor: float | None = None
        self.history: HistoryData | None = None
        self.window_key = LIVE_WINDOW
        self.gpu = 0
        self._worker: GeneratorWorker | None = None
        self.latest: Sample | None = None
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
        self.controls = SourceControls()
        self.controls.start_button.clicked.connect(self.start_logging)
        self.controls.stop_button.clicked.connect(self.controller.stop_logging)
        self.controls.open_button.clicked.connect(self._on_open_database)
        self.controls.session_box.activated.connect(self._on_session_picked)
        self.controls.live_button.clicked.connect(self.show_live)
        self.controls.gpu_box.activated.connect(self._on_gpu_picked)
        layout.addWidget(self.controls)
        self.window_selector = WindowSelector()
        self.window_selector.chosen.connect(self.set_window)
        self.window_selector.set_current(self.window_key)
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
        if self.mode != "live":
            self.show_live()
        self.controller.start_logging(self.controls.label_edit.text())

    @Slot(list)
    def _on_samples(self, samples: list[Sample]) -> None:
        if samples:
            self.latest = samples[-1]
        for sample in samples:
            for g in sample.gpus:
                self.gpu_names[g.index] = g.name
            for index in [g.index for g in sample.gpus] or [0]:
                ring = self.rings.get(index)
                if ring is None:
                    ring = self.rings[index] = SeriesRing(RING_CAPACITY)
                ring.append(sample.time, sample_row(sample, index))
        if self.mode == "live":
            self.gpu = self.controls.fill_gpus(self.gpu_names, self.gpu)
            self._show_gpu_parts(bool(self.gpu_names) or not samples)
            self._update_notice()
            self.refresh()

    @Slot()
    def _on_alert(self) -> None:
        if self.mode == "live":
            self.refresh()

    @Slot(str)
    def _on_state(self, state: str) -> None:
        self.controls.start_button.setEnabled(state in ("watching", "stopped"))
        self.controls.stop_button.setEnabled(state == "logging")
        self._update_status()

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self._say(f"Could not start: {message}", bad=True)
        if self.mode == "live" and self.isVisible():
            self.controller.watch()

    def _say(self, text: str, *, bad: bool = False) -> None:
        self.header.say(text, bad=bad)

    def _update_notice(self) -> None:
        text = notice_text(bool(self.gpu_names), self.controller.skipped, self.controller.notes())
        self.notice.setText(text)
        self.notice.setVisible(bool(text))

    def _update_status(self) -> None:
        c = self.controller
        if self.mode == "replay" and self.replay is not None:
            info = self.replay.session
            self._say(f"Replaying {session_title(info)} from {self.replay.path.name} · "
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
        if self.mode == "live" and self.controller.state == "stopped" \
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

    @Slot()
    def _on_open_database(self) -> None:
        dialog = QFileDialog(self, "Open monitoring database", str(self.context.database_path),
                             "SQLite databases (*.sqlite3 *.sqlite *.db);;All files (*)")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.fileSelected.connect(lambda name: self.load_session(Path(name)))
        dialog.open()

    @Slot(int)
    def _on_session_picked(self, index: int) -> None:
        session_id = self.controls.session_box.itemData(index)
        if self.replay is not None and isinstance(session_id, int):
            self.load_session(self.replay.path, session_id)

    def _on_replay_loaded(self, data: ReplayData) -> None:
        self.mode, self.replay, self.history = "replay", data, None
        self.gpu = self.controls.fill_gpus(data.gpus, min(data.rows))
        self._show_gpu_parts(bool(data.gpus))
        self.controls.fill_sessions(
            [(s.id, session_entry(s, data.runs.get(s.id))) for s in data.sessions],
            data.session.id)
        self.controls.set_replaying(True)
        self.charts.set_following(False)
        self.window_key = "Session"
        self.window_selector.set_current("Session")
        # a run opens at its end (how it ended, its whole loss curve); a session at its
        # moment of highest power draw
        self.replay_cursor = data.run.end if data.run is not None else \
            busiest_time(*data.rows[self.gpu])
        self.notice.setVisible(False)
        self.refresh()
        self._update_status()
        self.replay_loaded.emit()

    @Slot()
    def show_live(self) -> None:
        """Leave replay and follow the live samples."""
        self.mode, self.replay, self.history = "live", None, None
        self.replay_cursor = None
        self.controls.set_replaying(False)
        self.charts.set_following(True)
        self.charts.point_at(float("nan"))  # the replay's read-out is not a live value
        self.gpu = self.controls.fill_gpus(self.gpu_names, self.gpu)
        self._show_gpu_parts(bool(self.gpu_names) or not self.rings)
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
        self.window_key = key
        self.window_selector.set_current(key)
        self.history = None
        if choice.from_store:
            path = self.replay.path if self.replay is not None else self.context.database_path
            t, _ = self._rows()
            end = float(t[-1]) if t.size else self.controller.now()
            gpus = tuple(sorted(self.replay.rows if self.replay else self.rings)) or (0,)
            span = float(choice.seconds or 0)
            self._run(lambda: load_history(path, end, span, gpus), self._on_history)
            return
        self.refresh()

    def _on_history(self, data: HistoryData) -> None:
        self.history = data
        self._update_status()
        self.refresh()

    @Slot(int)
    def _on_gpu_picked(self, index: int) -> None:
        value = self.controls.gpu_box.itemData(index)
        if isinstance(value, int):
            self.gpu = value
            self.refresh()

    # -- drawing -------------------------------------------------------------------------

    def _rows(self, history: bool = False) -> tuple[FloatArray, ValueArray]:
        if history and self.history is not None and self.gpu in self.history.rows:
            return self.history.rows[self.gpu]
        if self.mode == "replay" and self.replay is not None:
            return self.replay.rows.get(self.gpu, next(iter(self.replay.rows.values())))
        ring = self.rings.get(self.gpu) or self.rings.get(min(self.rings, default=0))
        return ring.view() if ring is not None else SeriesRing(1).view()

    def x_range(self) -> tuple[float, float] | None:
        """The time range the chosen window covers now (None before any data)."""
        if self.history is not None:
            return self.history.start, self.history.end
        t, _ = self._rows()
        if t.size == 0:
            return None
        end = float(t[-1])
        seconds = WINDOW_BY_KEY[self.window_key].seconds
        if seconds is not None:
            return end - seconds, end
        if self.replay is not None:
            return self.replay.session.started, end
        started = self.controller.session_started
        return (float(t[0]) if started is None else started), end

    def refresh(self) -> None:
        """Redraw charts, tiles, banner and events from the current source."""
        if not self.isVisible() and self.training.window is None:
            return
        t, v = self._rows(history=True)
        span = self.x_range()
        events = list(self.replay.events if self.replay is not None else self.alerts.events)
        if span is not None:
            self.charts.set_x_range(*span)  # the charts clip the rows to this range themselves
            self.charts.set_data(t, v)
            self.charts.set_spans(spans_from_events(events, gpu=self.gpu), span[1])
        else:
            self.charts.set_data(t, v)
        self.events_panel.set_events(events)
        self._show_tiles(self._rows()[1])
        run = self.runs.display(self.replay, self.replay_cursor, self.latest)
        self.runs.show(run)
        if self.mode == "replay":
            raised = [(e.name, e.message) for e in events
                      if e.kind == "alert" and e.state == "raised"]
            self.banner.show_alerts(raised, "During this session — ")
            if self.replay_cursor is not None:
                # the crosshair snaps to a sample; the moment shown stays the one chosen (a
                # run's end is a second after its last sample)
                self.charts.blockSignals(True)
                self.charts.point_at(self.replay_cursor)
                self.charts.blockSignals(False)
            self.runs.processes.setVisible(False)  # per-process memory is a live reading
        else:
            self.banner.show_alerts([*self.controller.storage_problems(),
                                     *(run.alerts if run is not None else ()),
                                     *self.alerts.active_for()])
            self.runs.show_processes(self.latest, self.gpu, run)
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

    def _show_tiles(self, v: ValueArray) -> None:
        replay = self.mode == "replay"
        row = column_peaks(v) if replay else ([float(x) for x in v[:, -1]] if v.shape[1]
                                              else None)
        self.tile_row.show_values(row, replay)

    @Slot(float)
    def _on_cursor(self, t: float) -> None:
        if self.mode == "replay" and self.replay_cursor != t:
            self.replay_cursor = t
            self.runs.show(self.runs.display(self.replay, t))
            self.training.refresh()

    def seek(self, t: float) -> None:
        """Replay: put the crosshair (and the run and the training monitor) at time ``t``."""
        self.replay_cursor = t
        self.charts.point_at(t)
        self.runs.show(self.runs.display(self.replay, t))
        self.training.refresh()

    # -- training monitor and alert settings ---------------------------------------------

    def snapshot(self) -> MonitorSnapshot:
        """What the training monitor shows now (replay: at the crosshair)."""
        if self.mode == "replay" and self.replay is not None:
            return replay_snapshot(self.replay, self.gpu, self.replay_cursor)
        t, v = self._rows()
        c = self.controller
        return live_snapshot(t, v, self.gpu, self.gpu_names, session_id=c.session_id,
                             started=c.session_started, alerts=self.alerts.active.values(),
                             run=self.runs.display(None, None, self.latest))

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
