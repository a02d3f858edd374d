"""The monitor's charts (pyqtgraph): six linked plots over one time axis, with limit lines,
shaded throttle/alert spans and a crosshair read-out.

Curves are created once; each update hands them the rows of the visible window only (the ring
buffer's view clipped to the x range) after peak downsampling
(:func:`rigready.monitor.ring.peak_decimate` keeps each pixel column's min and max, one numpy pass
for all columns), so a 24 h window of 1 Hz data draws nearly as fast as a 1 minute one. pyqtgraph's
own clip-to-view and auto-downsampling are left off: they would repeat that work on data already one
point pair per pixel (measured: about 3 ms of a 24 h update).

Drawing, not data, is what costs (measured with ``benchmarks/chart_update_speed.py``): in
software rendering, alpha-blended vertical grid lines moving every second doubled the time, so
only horizontal grid lines are drawn and the y axes (whose ranges rarely change) are cached as
pixmaps; thin cosmetic pens and one downsampled point pair per pixel keep the line drawing short.
The viewport repaints in one pass (every update moves all plots; collecting many small dirty
regions cost more than it saved: 24 h update 14.8 -> 9.3 ms).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtWidgets import QGraphicsView, QLabel, QVBoxLayout, QWidget

from rigready.desktop.monitoring.chart_plots import (
    PLOTS,
    SPAN_PLOTS,
    PlotSpec,
    make_plot,
    span_colour,
    title_html,
)
from rigready.desktop.monitoring.text import readout
from rigready.desktop.theme import ACCENT, BACKGROUND, BAD, MUTED, SECOND, TEXT
from rigready.monitor.ring import (
    COLUMN,
    FloatArray,
    Span,
    ValueArray,
    nearest_index,
    peak_decimate,
    window_of,
)

MIN_BUCKETS = 200


def _last_finite(values: np.ndarray) -> float | None:
    finite = values[np.isfinite(values)]
    return float(finite[-1]) if finite.size else None


class MonitorCharts(QWidget):
    """Six plots in two columns, x-linked, under a read-out line.

    Signals:
        cursor_moved: ``float`` time under the mouse.
    """

    cursor_moved = Signal(float)

    def __init__(self, theme: str = "light", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.theme = theme
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        # The read-out wraps onto a second line in narrow windows: never cut, never wider
        # than the page (it was elided, which hid the values at the end in replay).
        self.readout_label = QLabel(" ")
        self.readout_label.setWordWrap(True)
        self.readout_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.readout_label.setStyleSheet(f"color: {MUTED[theme]};")
        layout.addWidget(self.readout_label)
        self.view = pg.GraphicsLayoutWidget()
        self.view.setBackground(BACKGROUND[theme])
        # Every update moves all six plots, so repaint the viewport in one pass instead of
        # letting Qt collect and clip dozens of small dirty regions.
        self.view.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.FullViewportUpdate)
        self.view.ci.layout.setContentsMargins(4, 4, 8, 4)
        self.view.ci.layout.setVerticalSpacing(2)
        self.view.ci.layout.setHorizontalSpacing(10)
        layout.addWidget(self.view, 1)
        self.readout_text = ""
        self.plots: dict[str, pg.PlotItem] = {}
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.limit_lines: dict[str, pg.InfiniteLine] = {}
        self.cursors: dict[str, pg.InfiniteLine] = {}
        self._regions: dict[str, list[pg.LinearRegionItem]] = {k: [] for k in SPAN_PLOTS}
        self._titles: dict[str, str] = {}
        self._limits: dict[str, float | None] = {}
        self._t: FloatArray = np.empty(0)
        self._v: ValueArray = np.empty((len(COLUMN), 0), dtype=np.float32)
        for i, spec in enumerate(PLOTS):
            row, col = i // 2, i % 2
            plot = self._make_plot(spec, bottom_row=row == (len(PLOTS) - 1) // 2)
            self.view.addItem(plot, row=row, col=col)
            self.plots[spec.key] = plot
        # Every plot follows the CPU and RAM plot's time axis: it is the one always shown (the
        # GPU plots are squeezed to nothing without GPU readings, and a zero-width master
        # would give the others a nonsense range).
        self.master = self.plots["host"]
        for key, plot in self.plots.items():
            if key != "host":
                plot.setXLink(self.master)
        #: False when the PC has no GPU readings: only the CPU and RAM plot is laid out.
        self.gpu_plots_shown = True
        self._min_sizes: dict[str, tuple[float, float]] = {}
        self._max_sizes: dict[str, tuple[float, float]] = {}
        self.view.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self._following = True
        self.master.sigXRangeChanged.connect(lambda *_: self._on_x_range_changed())
        self.set_following(True)

    # -- building ------------------------------------------------------------------------

    def _make_plot(self, spec: PlotSpec, *, bottom_row: bool) -> pg.PlotItem:
        made = make_plot(spec, self.theme, bottom_row=bottom_row)
        self.curves.update(made.curves)
        if made.limit_line is not None:
            self.limit_lines[spec.key] = made.limit_line
        self.cursors[spec.key] = made.cursor
        self._set_title(spec, made.plot, readings=True)
        return made.plot

    def _set_title(self, spec: PlotSpec, plot: pg.PlotItem, *, readings: bool) -> None:
        html = title_html(spec, self.theme, readings=readings)
        if self._titles.get(spec.key) != html:
            self._titles[spec.key] = html
            plot.setTitle(html, size="9pt")

    def show_gpu_plots(self, shown: bool) -> None:
        """Show all six plots, or (no GPU readings) the CPU and RAM plot alone, full size:
        five empty GPU charts would dominate the one that has data.

        The plots stay in their grid cells (moving pyqtgraph items between cells breaks their
        views); the GPU ones are hidden and squeezed to nothing, and every other cell of the
        host plot's row and column holds only GPU plots, so the host plot gets the space.
        """
        if shown == self.gpu_plots_shown:
            return
        self.gpu_plots_shown = shown
        for spec in PLOTS:
            if spec.key == "host":
                continue
            plot = self.plots[spec.key]
            if shown:
                plot.setMinimumSize(*self._min_sizes.pop(spec.key))
                plot.setMaximumSize(*self._max_sizes.pop(spec.key))
            else:
                self._min_sizes[spec.key] = (plot.minimumWidth(), plot.minimumHeight())
                self._max_sizes[spec.key] = (plot.maximumWidth(), plot.maximumHeight())
                plot.setMinimumSize(0, 0)
                plot.setMaximumSize(0, 0)
            plot.setVisible(shown)
        self.view.ci.layout.setHorizontalSpacing(10 if shown else 0)
        self.view.ci.layout.setVerticalSpacing(2 if shown else 0)

    def retheme(self, theme: str) -> None:
        """Recolour the background, axes, curves, limit lines, cursors and titles for ``theme``
        (called on a live theme switch)."""
        self.theme = theme
        self.view.setBackground(BACKGROUND[theme])
        colours = (ACCENT[theme], SECOND[theme])
        for spec in PLOTS:
            plot = self.plots[spec.key]
            for name in ("left", "bottom"):
                axis = plot.getAxis(name)
                axis.setPen(pg.mkPen(MUTED[theme]))
                axis.setTextPen(pg.mkPen(TEXT[theme]))
            for (column, _legend), colour in zip(spec.curves, colours, strict=False):
                self.curves[column].setPen(pg.mkPen(colour, width=1))
            line = self.limit_lines.get(spec.key)
            if line is not None:
                line.setPen(pg.mkPen(BAD[theme] if spec.key == "temp" else MUTED[theme], width=1,
                                     style=Qt.PenStyle.DashLine))
                line.label.setColor(MUTED[theme])
            self.cursors[spec.key].setPen(pg.mkPen(MUTED[theme], width=1))
            html = self._titles.pop(spec.key, "")
            self._set_title(spec, plot, readings="(no readings)" not in html)
        self.readout_label.setStyleSheet(
            f"color: {(TEXT if self.readout_text else MUTED)[theme]};")

    # -- data ----------------------------------------------------------------------------

    def set_data(self, times: FloatArray, values: ValueArray) -> None:
        """Draw these rows (views are fine: they are only read until the next call).

        Windows with more rows than two per pixel column are first reduced to each column's
        min/max per pixel (:func:`~monitor.ring.peak_decimate`, one numpy pass for all
        columns); the crosshair still reads the full rows.
        """
        self._t, self._v = times, values
        _, shown_v = self._draw_curves()
        for spec in PLOTS:
            readings = any(np.isfinite(shown_v[COLUMN[c]]).any() for c, _ in spec.curves)
            self._set_title(spec, self.plots[spec.key], readings=readings or times.size == 0)
            if spec.limit is not None:
                self._update_limit(spec, _last_finite(shown_v[COLUMN[spec.limit]]))
        if "clocks" not in self._limits or self._limits["clocks"] is None:
            top = max((_last_finite(shown_v[COLUMN[c]]) or 0.0
                       for c in ("sm_clock_max_mhz", "mem_clock_max_mhz")), default=0.0)
            if top > 0:
                self._limits["clocks"] = top
                self.plots["clocks"].setYRange(0, top * 1.08, padding=0)

    def _draw_curves(self) -> tuple[FloatArray, ValueArray]:
        """Hand the curves the stored rows inside the x range, peak-decimated to the width."""
        times, values = window_of(self._t, self._v, *self.x_range(), edge_rows=1)
        width = int(self.master.vb.width())
        shown_t, shown_v = peak_decimate(times, values, max(MIN_BUCKETS, width))
        for column, curve in self.curves.items():
            curve.setData(shown_t, shown_v[COLUMN[column]], connect="finite")
        return shown_t, shown_v

    def _on_x_range_changed(self) -> None:
        # Replay: panning or zooming re-clips and re-decimates, so a zoomed-in view shows every
        # sample rather than the pixels of the whole session. Live updates set range, then data.
        if not self._following and self._t.size:
            self._draw_curves()

    def _update_limit(self, spec: PlotSpec, value: float | None) -> None:
        if self._limits.get(spec.key) == value:
            return
        self._limits[spec.key] = value
        line = self.limit_lines[spec.key]
        plot = self.plots[spec.key]
        if value is None:
            line.setVisible(False)
            plot.enableAutoRange(axis="y")
            return
        line.setVisible(True)  # the label only re-formats while visible
        line.setPos(value)
        if spec.key == "temp":
            plot.setYRange(20, value + 6, padding=0)
        else:
            plot.setYRange(0, value * 1.08, padding=0)

    def limit(self, key: str) -> float | None:
        """The value of a plot's limit line (None when hidden)."""
        return self._limits.get(key)

    def set_x_range(self, t0: float, t1: float) -> None:
        """Show ``[t0, t1]`` (Unix seconds) on every plot."""
        if t1 <= t0:
            t1 = t0 + 1.0
        self.master.setXRange(t0, t1, padding=0)

    def x_range(self) -> tuple[float, float]:
        """The visible time range."""
        lo, hi = self.master.viewRange()[0]
        return float(lo), float(hi)

    def set_following(self, following: bool) -> None:
        """Following the live edge: no mouse panning; replay: pan and zoom along time."""
        self._following = following
        for plot in self.plots.values():
            plot.setMouseEnabled(x=not following, y=False)

    def set_spans(self, spans: Sequence[Span], now: float) -> None:
        """Shade each span (open ones up to ``now``) on the GPU plots."""
        for key in SPAN_PLOTS:
            plot, pool = self.plots[key], self._regions[key]
            while len(pool) < len(spans):
                region = pg.LinearRegionItem(movable=False, pen=pg.mkPen(None))
                region.setZValue(-10)
                plot.addItem(region, ignoreBounds=True)
                pool.append(region)
            for region, span in zip(pool, spans, strict=False):
                region.setRegion((span.start, span.end_or(now)))
                region.setBrush(span_colour(span, self.theme))
                region.setToolTip(span.message)
                region.setVisible(True)
            for region in pool[len(spans):]:
                region.setVisible(False)

    def visible_spans(self) -> int:
        """How many spans are shaded (per plot)."""
        return sum(1 for r in self._regions["util"] if r.isVisible())

    # -- crosshair -----------------------------------------------------------------------

    def _on_mouse_moved(self, pos: QPointF) -> None:
        for plot in self.plots.values():
            if plot.sceneBoundingRect().contains(pos):
                self.point_at(float(plot.vb.mapSceneToView(pos).x()))
                return

    def point_at(self, t: float) -> str:
        """Move the crosshair to the sample nearest ``t``; returns the read-out text."""
        index = nearest_index(self._t, t)
        if index is None or math.isnan(t):
            text = ""
        else:
            t = float(self._t[index])
            text = readout(t, [float(x) for x in self._v[:, index]])
        for cursor in self.cursors.values():
            cursor.setPos(t)
            cursor.setVisible(bool(text))
        self.readout_text = text
        self.readout_label.setText(text or " ")
        self.readout_label.setStyleSheet(
            f"color: {(TEXT if text else MUTED)[self.theme]};")
        if text:
            self.cursor_moved.emit(t)
        return text
