"""A training run's widgets, for the full-screen training monitor and the Monitor page: the
progress bar, the loss chart and the run's tiles (:class:`RunPanel`), and the per-process GPU
memory list (:class:`ProcessPanel`).

The loss chart's curves are made once and handed numpy arrays with ``setData``, only when the
run logged something new (:attr:`~rigready.desktop.monitoring.run_view.RunCharts.version`): the
raw loss faint, its smoothed curve (TensorBoard's debiased moving average) bold, the eval loss
as points on a line of the second colour, and in a replay a marker at the step shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from rigready.desktop.monitoring.run_text import (
    OUTCOME_WORDS,
    ProcessLine,
    cpu_texts,
    epoch_text,
    gib,
    outcome_level,
    percent_text,
    run_tiles,
    step_text,
    uses_gpu,
)
from rigready.desktop.monitoring.run_view import RunCharts, RunDisplay
from rigready.desktop.monitoring.text import format_elapsed
from rigready.desktop.monitoring.tiles import ValueTile
from rigready.desktop.theme import ACCENT, BACKGROUND, GOOD, MUTED, SECOND, TEXT
from rigready.monitor.ring import peak_decimate

#: (key, caption) of the run's tiles, in reading order (two columns).
RUN_TILES = (("eta", "ETA"), ("elapsed", "ELAPSED"), ("loss", "LOSS"), ("lr", "LEARNING RATE"),
             ("throughput", "THROUGHPUT"), ("vram", "RUN VRAM"))
LAST_LINES = 4
#: The loss chart hands over at least this many pixel columns of min/max (as the GPU charts).
MIN_BUCKETS = 200
#: Processes listed by name; the rest are summed on one line.
MAX_PROCESSES = 6


class LossChart(pg.PlotWidget):  # type: ignore[misc]
    """Loss over steps: raw faint, smoothed bold, eval loss as points, a step marker."""

    def __init__(self, theme: str, background: str | None = None,
                 parent: QWidget | None = None) -> None:
        """``background``: a fixed colour (the training monitor); None follows the theme."""
        super().__init__(parent=parent, background=background or BACKGROUND[theme])
        self.theme = theme
        self._fixed_background = background is not None
        self.setMenuEnabled(False)
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        self.showGrid(x=False, y=True, alpha=0.15)
        item = self.getPlotItem()
        item.layout.setContentsMargins(0, 0, 4, 0)
        # a long run logs tens of thousands of losses: they are handed over as each pixel
        # column's min and max (monitor.ring.peak_decimate, as the GPU charts do)
        self.raw = self.plot(connect="finite")
        self.smoothed = self.plot(connect="finite")
        # the y axis is drawn from a cache: its numbers change far less often than the curves
        self.getAxis("left").setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.eval = self.plot(connect="finite", symbol="o", symbolSize=7)
        self.marker = pg.InfiniteLine(angle=90, movable=False)
        self.marker.setVisible(False)
        self.addItem(self.marker, ignoreBounds=True)
        self._shown: tuple[int, int, float | None] = (-1, -1, None)
        self.retheme(theme)

    def retheme(self, theme: str) -> None:
        """Colours of ``theme`` (the page's live theme switch)."""
        self.theme = theme
        if not self._fixed_background:
            self.setBackground(BACKGROUND[theme])
        faint = QColor(ACCENT[theme])
        faint.setAlpha(130)
        self.raw.setPen(pg.mkPen(faint, width=1))
        self.smoothed.setPen(pg.mkPen(ACCENT[theme], width=3))
        self.eval.setPen(pg.mkPen(SECOND[theme], width=2))
        self.eval.setSymbolBrush(SECOND[theme])
        self.eval.setSymbolPen(pg.mkPen(SECOND[theme]))
        self.marker.setPen(pg.mkPen(MUTED[theme], width=1, style=Qt.PenStyle.DashLine))
        for name in ("left", "bottom"):
            axis = self.getAxis(name)
            axis.setPen(pg.mkPen(MUTED[theme]))
            axis.setTextPen(pg.mkPen(TEXT[theme]))

    def set_font_px(self, px: int) -> None:
        """Axis numbers at ``px`` pixels (the training monitor scales them with the window)."""
        font = QFont()
        font.setPixelSize(max(9, px))
        for name in ("left", "bottom"):
            self.getAxis(name).setStyle(tickFont=font)
        self.getAxis("left").setWidth(max(40, px * 4))

    def set_charts(self, charts: RunCharts, total: int | None) -> None:
        """Draw the series (only when they or the marker changed)."""
        key = (charts.version, total or 0, charts.marker_step)
        if key == self._shown:
            return
        if key[:2] != self._shown[:2]:
            buckets = max(MIN_BUCKETS, int(self.getPlotItem().vb.width()))
            x, y = peak_decimate(charts.loss_x, np.vstack([charts.loss, charts.loss_smoothed]),
                                 buckets)
            self.raw.setData(x, y[0], connect="finite")
            self.smoothed.setData(x, y[1], connect="finite")
            self.eval.setData(charts.eval_x, charts.eval_loss, connect="finite")
            last = max([float(a[-1]) for a in (charts.loss_x, charts.eval_x) if a.size] or [0.0])
            self.setXRange(0, max(float(total or 0), last, 1.0), padding=0.01)
            finite = charts.loss[np.isfinite(charts.loss)]
            if finite.size:
                self.enableAutoRange(axis="y")
        self.marker.setVisible(charts.marker_step is not None)
        if charts.marker_step is not None:
            self.marker.setPos(charts.marker_step)
        self._shown = key

    def points(self) -> int:
        """How many raw loss points are drawn (tests; pixel columns once decimated)."""
        x, _ = self.raw.getOriginalDataset()
        return 0 if x is None else int(x.size)


class RunPanel(QWidget):
    """Step / total with a progress bar, the loss chart and six tiles (ETA, elapsed, loss,
    learning rate, throughput, the run's VRAM), and a crashed run's last lines.

    ``compact`` (the Monitor page) puts the tiles in one row under the chart; the training
    monitor puts them in two columns beside it and scales every font with :meth:`set_scale`.
    """

    def __init__(self, theme: str, *, compact: bool,
                 colours: tuple[str, str] = ("palette(window-text)", "palette(base)"),
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.theme = theme
        self.compact = compact
        self._colours = colours
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(6 if compact else 10)
        head = QHBoxLayout()
        self.heading = QLabel("")  # the page names the run here; the monitor in its title
        self.heading.setVisible(compact)
        self.step_caption = QLabel("STEP")
        self.step = QLabel("–")
        self.percent = QLabel("")
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setTextVisible(False)
        self.bar.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        for widget in (self.heading, self.step_caption, self.step, self.percent):
            head.addWidget(widget)
        head.addWidget(self.bar, 1)
        outer.addLayout(head)
        self.last_lines = QLabel("")
        self.last_lines.setVisible(False)
        self.last_lines.setWordWrap(True)
        self.last_lines.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        outer.addWidget(self.last_lines)
        body = QHBoxLayout()
        body.setSpacing(10 if compact else 16)
        background = None if colours[1].startswith("palette(") else colours[1]
        self.chart = LossChart(theme, background)
        self.chart.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Expanding)
        self.chart_caption = QLabel("")
        chart_box = QVBoxLayout()
        chart_box.setSpacing(2)
        chart_box.addWidget(self.chart_caption)
        chart_box.addWidget(self.chart, 1)
        body.addLayout(chart_box, 3 if compact else 5)
        grid = QGridLayout()
        grid.setSpacing(8 if compact else 14)
        self.tiles: dict[str, ValueTile] = {}
        for i, (key, caption) in enumerate(RUN_TILES):
            tile = ValueTile(caption, theme, value_px=18 if compact else 40, colours=colours)
            # on the page the tiles keep their height (numbers at the top, as the GPU's)
            tile.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Maximum
                               if compact else QSizePolicy.Policy.Preferred)
            self.tiles[key] = tile
            grid.addWidget(tile, *((i // 3, i % 3) if compact else (i // 2, i % 2)))
        if compact:
            grid.setRowStretch(2, 1)
        body.addLayout(grid, 4)
        outer.addLayout(body, 1)
        self._px = 0
        self.set_scale(18 if compact else 40)

    def set_scale(self, px: int) -> None:
        """The tiles' numbers at ``px`` pixels; the step line larger, the rest in proportion."""
        if px == self._px:
            return
        self._px = px
        for tile in self.tiles.values():
            tile.set_value_px(px)
        small = max(11, round(px * 0.32))
        step_px = round(px * (1.0 if self.compact else 1.25))
        text = self._colours[0]
        self.heading.setStyleSheet(f"font-weight: 700; font-size: {max(13, small + 3)}px;")
        self.step_caption.setStyleSheet(f"color: {MUTED[self.theme]}; font-weight: 600;"
                                        f" font-size: {small}px;")
        self.step.setStyleSheet(f"color: {text}; font-weight: 700; font-size: {step_px}px;")
        self.percent.setStyleSheet(f"color: {MUTED[self.theme]}; font-weight: 600;"
                                   f" font-size: {max(small, step_px // 2)}px;")
        self.bar.setFixedHeight(max(8, step_px // 3))
        trough = QColor(MUTED[self.theme])
        trough.setAlpha(70)
        self.bar.setStyleSheet(
            f"QProgressBar {{ border: none; border-radius: {max(4, step_px // 6)}px;"
            f" background: rgba({trough.red()}, {trough.green()}, {trough.blue()}, 70); }}"
            f" QProgressBar::chunk {{ border-radius: {max(4, step_px // 6)}px;"
            f" background: {ACCENT[self.theme]}; }}")
        self.chart_caption.setStyleSheet(f"font-size: {small}px;")
        self.last_lines.setStyleSheet(f"color: {MUTED[self.theme]}; font-family: monospace;"
                                      f" font-size: {max(11, small)}px;")
        self.chart.set_font_px(max(10, small - 1))
        self._caption()

    def _caption(self) -> None:
        theme = self.theme
        self.chart_caption.setText(
            f"<span style='color:{MUTED[theme]};font-weight:600'>LOSS BY STEP</span>&nbsp;&nbsp;"
            f"<span style='color:{ACCENT[theme]}'>━ smoothed</span>&nbsp;&nbsp;"
            f"<span style='color:{MUTED[theme]}'>━ raw</span>&nbsp;&nbsp;"
            f"<span style='color:{SECOND[theme]}'>● eval</span>")

    def retheme(self, theme: str) -> None:
        """Recolour for ``theme`` (page only: the monitor is always dark)."""
        self.theme = theme
        px, self._px = self._px, 0
        self.set_scale(px)

    def show_run(self, run: RunDisplay) -> None:
        """Show ``run`` at its moment."""
        snap = run.snapshot
        if run.live or run.record is None:
            outcome = OUTCOME_WORDS.get(snap.outcome, snap.outcome)
        else:  # a replay names how the run ended, and the moment shown
            outcome = OUTCOME_WORDS.get(run.record.outcome, run.record.outcome)
            if snap.ended is None:
                outcome += f" · at {format_elapsed(snap.elapsed_s)}"
        self.heading.setText(f"{run.title} · {outcome}")
        self.heading.setToolTip(run.command)
        self.step.setText(step_text(snap))
        self.percent.setText("  ·  ".join(t for t in (percent_text(snap), epoch_text(snap))
                                          if t))
        fraction = snap.fraction
        self.bar.setValue(0 if fraction is None else round(1000 * fraction))
        self.bar.setToolTip("no total step count" if fraction is None else percent_text(snap))
        levels = {"eta": outcome_level(snap) if snap.ended is not None else "ok"}
        if snap.loss is not None and snap.loss != snap.loss:  # NaN
            levels["loss"] = "bad"
        texts = run_tiles(snap)
        gpu = uses_gpu(snap)
        if not gpu:  # a run on the CPU: its processes' CPU where its VRAM would be
            texts["vram"] = cpu_texts(run.cpu_pct)
        self.tiles["vram"].caption.setText("RUN VRAM" if gpu else "RUN CPU")
        for key, (value, detail) in texts.items():
            self.tiles[key].set_text(value, detail, levels.get(key, "ok"))
        lines = [line for line in (run.record.last_lines if run.record else ()) if line.strip()]
        crashed = snap.outcome in ("crashed", "killed") and bool(lines)
        self.last_lines.setVisible(crashed)
        if crashed:
            self.last_lines.setText("Last lines it printed:\n" + "\n".join(
                line[:200] for line in lines[-LAST_LINES:]))
        self.chart.set_charts(run.charts, snap.total)


class ProcessPanel(QWidget):
    """"GPU memory by process": who holds memory on the GPU shown, the run's own marked."""

    def __init__(self, theme: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.theme = theme
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 4)
        self.title = QLabel("GPU memory by process")
        self.title.setStyleSheet("font-weight: 600;")
        layout.addWidget(self.title)
        self.rows = QLabel("")
        self.rows.setWordWrap(True)
        self.rows.setTextFormat(Qt.TextFormat.RichText)
        self.rows.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.rows.setToolTip("What each process holds on this GPU (the driver's per-process "
                             "list); a training run's own processes are marked")
        layout.addWidget(self.rows)
        self._lines: list[str] = []
        self._shown: tuple[object, ...] = ()

    def set_lines(self, lines: Sequence[ProcessLine], unlisted: int | None, note: str) -> None:
        """Show the processes (largest first), memory nobody listed accounts for, a note."""
        key = (tuple(lines), unlisted, note, self.theme)
        if key == self._shown:
            return
        self._shown = key
        texts, html = [], []
        for line in lines[:MAX_PROCESSES]:
            text = line.text() + (" · this run" if line.ours else "")
            texts.append(text)
            html.append(f"<b style='color:{GOOD[self.theme]}'>{escape(text)}</b>" if line.ours
                        else escape(text))
        if len(lines) > MAX_PROCESSES:
            rest = sum(x.used_bytes or 0 for x in lines[MAX_PROCESSES:])
            texts.append(f"{len(lines) - MAX_PROCESSES} more · {gib(rest, 2)}")
            html.append(escape(texts[-1]))
        if unlisted is not None:
            texts.append(f"not listed by any process · {gib(unlisted, 2)}")
            html.append(f"<span style='color:{MUTED[self.theme]}'>{escape(texts[-1])}</span>")
        if note:
            html.append(f"<span style='color:{MUTED[self.theme]}'>{escape(note)}</span>")
        self._lines = texts
        self.rows.setText("<br>".join(html))

    def texts(self) -> list[str]:
        """The rows as shown, without the note (tests)."""
        return list(self._lines)

    def retheme(self, theme: str) -> None:
        """Recolour for ``theme`` (on the next :meth:`set_lines`)."""
        self.theme = theme
