"""The Monitor page's training-run parts: the run followed live (through
:class:`~rigready.desktop.monitoring.run_follower.RunFollower`) or replayed, its panel, its
alerts (banner, recent events, notifications) and the per-process GPU memory list.

Notifications: a run's alerts are notified here only when the run's own rigready does not
notify them itself (started with ``--no-desktop-notify``, or without a desktop session: over
SSH, in tmux, in a container), and only those raised after the window began following it (a
run found half-way shows its earlier alerts in the banner and the events, without popping
them up). While such a rigready notifies, the window's own GPU alerts that it also raises
(VRAM, throttling, temperature) are not notified twice either.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtWidgets import QSplitter, QVBoxLayout, QWidget

from rigready.desktop.monitoring.live_alerts import LiveAlerts
from rigready.desktop.monitoring.replay import ReplayData
from rigready.desktop.monitoring.run_follower import RunFollower, RunPoll
from rigready.desktop.monitoring.run_text import process_lines, unlisted_bytes
from rigready.desktop.monitoring.run_view import LiveRun, RunDisplay
from rigready.desktop.monitoring.run_widgets import ProcessPanel, RunPanel
from rigready.monitor.sample import Sample

#: GPU alert kinds that ``rigready run`` / ``monitor --watch`` raise and notify themselves.
RUN_NOTIFIES_GPU_KINDS = frozenset({"temperature", "thermal_throttle", "power_throttle", "vram"})
#: A run alert raised this long before following began still pops up (the first poll's).
FRESH_S = 10.0


class RunSection(QObject):
    """See the module docstring. Signal ``changed``: the followed run has news."""

    changed = Signal()

    def __init__(self, db_path: Path, alerts: LiveAlerts, theme: str, *,
                 follower: RunFollower | None = None,
                 clock: Callable[[], float] = time.time, parent: QObject | None = None) -> None:
        """Create the widgets (the page places them) and the follower (started by
        :meth:`start`)."""
        super().__init__(parent)
        self.alerts = alerts
        self._clock = clock
        self.follower = follower or RunFollower(db_path, parent=self)
        self.follower.polled.connect(self._on_poll)
        self.panel = RunPanel(theme, compact=True)
        self.panel.setVisible(False)
        self.processes = ProcessPanel(theme)
        self.processes.setVisible(False)
        self.live: LiveRun | None = None
        self.split: QSplitter | None = None
        self._since = 0.0
        self._run_notifies = False

    def start(self) -> None:
        """Begin looking for a live run in the database (no-op when already)."""
        if not self.follower.running:
            self._since = self._clock()
            self.follower.start()

    def stop(self) -> None:
        """Stop following (the window is closing)."""
        self.follower.stop()

    def use_follower(self, follower: RunFollower) -> None:
        """Follow through ``follower`` from now on (tests and the smoke tour fake the lock)."""
        running = self.follower.running
        self.follower.stop()
        self.follower.polled.disconnect(self._on_poll)
        self.follower = follower
        follower.polled.connect(self._on_poll)
        if running:
            self.start()

    @Slot(object)
    def _on_poll(self, poll: RunPoll) -> None:
        if poll.new or self.live is None or self.live.session_id != poll.record.session_id:
            self.live = LiveRun(poll.record)
            self._run_notifies = poll.notifies is True
        live = self.live
        fresh = live.apply(poll.record, poll.rows)
        if poll.pids is not None:
            live.pids = poll.pids
        if not poll.recording:
            live.stopped_recording(self._clock())
        going = live.tracker.ended is None
        self.alerts.quiet_kinds = RUN_NOTIFIES_GPU_KINDS if going and self._run_notifies \
            else frozenset()
        for event in fresh:
            self.alerts.add_run_event(
                event, label=live.record.label,
                notify=not self._run_notifies and event.time >= self._since - FRESH_S)
        self.changed.emit()

    def display(self, replay: ReplayData | None, at: float | None,
                sample: Sample | None = None) -> RunDisplay | None:
        """The run to show: the replayed session's at ``at`` (its end when None), else the
        live one now (``sample``: the window's newest reading, for the card's memory)."""
        if replay is not None:
            if replay.run is None:
                return None
            return replay.run.at(replay.run.end if at is None else at)
        if self.live is None:
            return None
        totals = [g.memory_total_bytes for g in (sample.gpus if sample else ())
                  if g.memory_total_bytes]
        return self.live.display(self._clock(), max(totals, default=None))

    def above(self, below: QWidget) -> QSplitter:
        """The run's panel above ``below`` (the GPU charts) in a splitter; hidden (no run),
        it takes no room."""
        self.split = QSplitter(Qt.Orientation.Vertical)
        self.split.addWidget(self.panel)
        self.split.addWidget(below)
        self.split.setChildrenCollapsible(False)
        self.split.setStretchFactor(0, 2)
        self.split.setStretchFactor(1, 3)
        return self.split

    def beside(self, events: QWidget) -> QWidget:
        """A column: the per-process memory list above ``events``."""
        column = QWidget()
        layout = QVBoxLayout(column)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.processes)
        layout.addWidget(events, 1)
        return column

    def show(self, run: RunDisplay | None) -> None:
        """Show ``run`` in the panel, or hide it. When the panel appears it gets two fifths of
        the height (the splitter keeps the user's own split afterwards)."""
        appearing = run is not None and self.panel.isHidden()
        self.panel.setVisible(run is not None)
        if run is not None:
            self.panel.show_run(run)
        if appearing and self.split is not None:
            total = sum(self.split.sizes()) or self.split.height()
            self.split.setSizes([total * 2 // 5, total - total * 2 // 5])

    def show_processes(self, sample: Sample | None, gpu: int, run: RunDisplay | None,
                       note: str = "") -> None:
        """The processes holding memory on GPU ``gpu`` in ``sample`` (the sampler's own
        reading: nothing is polled twice), the run's own marked."""
        g = None if sample is None else next((x for x in sample.gpus if x.index == gpu), None)
        if g is None:
            self.processes.setVisible(False)
            return
        ours = run.pids if run is not None else frozenset()
        lines = process_lines(g.processes, ours)
        if not lines and not note:
            note = "No process holds memory on this GPU (or the driver does not list them)."
        self.processes.set_lines(lines, unlisted_bytes(g.processes, g.memory_used_bytes), note)
        self.processes.setVisible(True)
