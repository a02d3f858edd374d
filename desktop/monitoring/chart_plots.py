"""The monitor's six plots, made once: what each shows (:data:`PLOTS`), one pyqtgraph plot
item with its curves, limit line and crosshair (:func:`make_plot`), its title and the colour of
a shaded span. :class:`~rigready.desktop.monitoring.charts.MonitorCharts` lays them out and feeds
them."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QGraphicsItem

from rigready.desktop.theme import ACCENT, BAD, MUTED, SECOND, TEXT, WARN
from rigready.monitor.ring import Span

GRID_ALPHA = 0.15


@dataclass(frozen=True, slots=True)
class PlotSpec:
    """One plot: key, title, unit, its curves (column, legend) and an optional limit line."""

    key: str
    title: str
    unit: str
    curves: tuple[tuple[str, str], ...]
    limit: str | None = None  # column holding the limit line's value
    limit_label: str = ""
    fixed_range: tuple[float, float] | None = None


PLOTS: tuple[PlotSpec, ...] = (
    PlotSpec("util", "Utilisation", "%", (("gpu_util_pct", "GPU"),
                                          ("mem_util_pct", "memory bus")),
             fixed_range=(0, 105)),
    PlotSpec("vram", "VRAM", "GiB", (("vram_used_gib", "used"),), "vram_total_gib", "total"),
    PlotSpec("temp", "Temperature", "°C", (("temp_c", "GPU"),), "temp_slowdown_c", "slowdown"),
    PlotSpec("power", "Power", "W", (("power_w", "draw"),), "power_limit_w", "limit"),
    PlotSpec("clocks", "Clocks", "MHz", (("sm_clock_mhz", "SM"), ("mem_clock_mhz", "memory"))),
    PlotSpec("host", "CPU and RAM", "%", (("cpu_pct", "CPU"), ("ram_pct", "RAM")),
             fixed_range=(0, 105)),
)
#: Plots that show throttle and alert spans (all GPU plots).
SPAN_PLOTS = ("util", "vram", "temp", "power", "clocks")


def span_colour(span: Span, theme: str) -> QColor:
    """Translucent fill for a span: red for heat and memory, amber for power, grey otherwise."""
    hot = span.name in ("temperature", "thermal_throttle", "vram") or "thermal" in span.name \
        or span.name == "hw_slowdown"
    base = BAD if hot else WARN if span.kind == "throttle" or "power" in span.name else MUTED
    colour = QColor(base[theme])
    colour.setAlpha(36)
    return colour


class _TitleLabel(pg.LabelItem):  # type: ignore[misc]
    """A plot title that lets its plot be narrower than its text.

    pyqtgraph makes a title's text width its minimum on every resize, which pushed the
    right-hand column of plots under the events panel in narrow windows. This title is left
    aligned and clipped to its plot instead, so it never runs into the neighbouring plot.
    """

    def __init__(self, parent: pg.PlotItem) -> None:
        super().__init__("", size="9pt", justify="left", parent=parent)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemClipsChildrenToShape)

    def updateMin(self) -> None:
        """As pyqtgraph's, but no minimum width."""
        super().updateMin()
        self.setMinimumWidth(0)


def shrinkable_title(plot: pg.PlotItem) -> None:
    """Swap the plot's title label for a :class:`_TitleLabel` (same place in its layout)."""
    old = plot.titleLabel
    plot.layout.removeItem(old)
    old.setParentItem(None)
    if old.scene() is not None:
        old.scene().removeItem(old)
    plot.titleLabel = _TitleLabel(plot)
    plot.layout.addItem(plot.titleLabel, 0, 1)


@dataclass(frozen=True, slots=True)
class MadePlot:
    """A plot item and the parts the charts update: curves by column, limit line, crosshair."""

    plot: pg.PlotItem
    curves: dict[str, pg.PlotDataItem]
    limit_line: pg.InfiniteLine | None
    cursor: pg.InfiniteLine


#: Pixels a y-axis label needs, with a small gap to the next one (11 px text).
LABEL_PITCH_PX = 16


class RoomyAxis(pg.AxisItem):  # type: ignore[misc]
    """A y axis that labels only as many ticks as its height has room for.

    pyqtgraph labels every major tick, and picks their spacing from the axis length alone
    (about log(pixels) ticks), so a plot squeezed to 30 pixels (a small window with a training
    run above the charts) printed "80 60 40 20" on top of each other."""

    def tickSpacing(self, minVal: float, maxVal: float, size: float
                    ) -> list[tuple[float, float]]:
        """pyqtgraph's spacing, widened in 1-2-5 steps until the labels fit the height."""
        levels: list[tuple[float, float]] = super().tickSpacing(minVal, maxVal, size)
        room = max(2, int(size // LABEL_PITCH_PX))
        span = maxVal - minVal
        if not levels or span <= 0 or span / levels[0][0] + 1 <= room:
            return levels
        major = levels[0][0]
        while span / major + 1 > room:
            wider = _next_nice(major)
            if not _inside(minVal, maxVal, wider):  # a label at the range's ends is clipped
                break
            major = wider
        return [(major, 0.0)]


def _next_nice(step: float) -> float:
    """The next tick spacing of the 1-2-5 series: 1 -> 2 -> 5 -> 10 -> 20 ..."""
    mantissa = step / 10 ** math.floor(math.log10(step))
    return step * (2.5 if round(mantissa) == 2 else 2)


def _inside(low: float, high: float, step: float) -> bool:
    """Whether a multiple of ``step`` lies in the middle of ``low`` .. ``high`` (a label near
    either end is cut off by the plot's edge)."""
    margin = 0.2 * (high - low)
    first = math.ceil((low + margin) / step) * step
    return first <= high - margin


def make_plot(spec: PlotSpec, theme: str, *, bottom_row: bool) -> MadePlot:
    """One plot of ``spec`` in ``theme`` (x axis shown on the ``bottom_row`` only)."""
    text = TEXT[theme]
    axis = pg.DateAxisItem(orientation="bottom")
    plot = pg.PlotItem(axisItems={"bottom": axis, "left": RoomyAxis(orientation="left")})
    plot.showGrid(x=False, y=True, alpha=GRID_ALPHA)
    plot.hideButtons()
    plot.setMenuEnabled(False)
    for name in ("left", "bottom"):
        ax = plot.getAxis(name)
        ax.setPen(pg.mkPen(MUTED[theme]))
        ax.setTextPen(pg.mkPen(text))
    left = plot.getAxis("left")
    left.setWidth(46)
    left.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
    if not bottom_row:
        plot.hideAxis("bottom")  # the x axes are linked; times show on the bottom row
    colours = (ACCENT[theme], SECOND[theme])
    curves: dict[str, pg.PlotDataItem] = {}
    for (column, _legend), colour in zip(spec.curves, colours, strict=False):
        # connect="finite" leaves gaps at NaN even with the finite check skipped.
        curves[column] = plot.plot(pen=pg.mkPen(colour, width=1), connect="finite",
                                   skipFiniteCheck=True, autoDownsampleFactor=1.0)
    line = None
    if spec.limit is not None:
        line = pg.InfiniteLine(angle=0, movable=False,
                               pen=pg.mkPen(BAD[theme] if spec.key == "temp" else MUTED[theme],
                                            width=1, style=Qt.PenStyle.DashLine),
                               label=f"{spec.limit_label} {{value:.0f}} {spec.unit}",
                               labelOpts={"position": 0.02, "color": MUTED[theme],
                                          "anchors": [(0, 0), (0, 0)]})
        line.setVisible(False)
        plot.addItem(line, ignoreBounds=True)
    cursor = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(MUTED[theme], width=1))
    cursor.setVisible(False)
    plot.addItem(cursor, ignoreBounds=True)
    if spec.fixed_range is not None:
        plot.setYRange(*spec.fixed_range, padding=0)
    shrinkable_title(plot)
    return MadePlot(plot, curves, line, cursor)


def title_html(spec: PlotSpec, theme: str, *, readings: bool) -> str:
    """A plot's title: name, unit, a key where two curves share it, "(no readings)"."""
    colours = (ACCENT[theme], SECOND[theme])
    # a key only where two curves share a plot: one curve needs no legend, and the
    # shorter title fits two columns of plots in a 1024 px window
    keys = "  ".join(f"<span style='color:{c}'>━ {legend}</span>"
                     for (_col, legend), c in zip(spec.curves, colours, strict=False)
                     ) if len(spec.curves) > 1 else ""
    missing = "" if readings else f"  <span style='color:{MUTED[theme]}'>(no readings)</span>"
    return (f"<span style='color:{TEXT[theme]};font-weight:600'>{spec.title}</span>"
            f" <span style='color:{MUTED[theme]}'>{spec.unit}</span>&nbsp;&nbsp;"
            f"{keys}{missing}")
