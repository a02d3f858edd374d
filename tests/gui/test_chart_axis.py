"""The charts' y axis labels only as many ticks as a plot's height has room for."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pyqtgraph")

from pytestqt.qtbot import QtBot

from rigready.desktop.monitoring.chart_plots import RoomyAxis


def _labels(levels: list[tuple[float, float]], low: float, high: float) -> list[float]:
    major = levels[0][0]
    first = -(-low // major) * major
    return [first + i * major for i in range(int((high - first) // major) + 1)]


def test_a_squeezed_plot_keeps_one_label_in_the_middle(qtbot: QtBot) -> None:
    axis = RoomyAxis(orientation="left")
    # 30 px (six plots under a training run in a 1024x640 window): pyqtgraph alone spaces
    # 0-100 % at 20, five labels on top of each other
    squeezed = axis.tickSpacing(0.0, 100.0, 30.0)
    assert squeezed == [(50.0, 0.0)]
    assert 50.0 in _labels(squeezed, 0.0, 100.0)
    # a clock plot, 0-9,500 MHz: one label, away from the edges
    assert axis.tickSpacing(0.0, 9500.0, 30.0)[0][0] == 5000.0
    # temperatures 30-90 °C: 50 lies inside, 100 would not
    assert axis.tickSpacing(30.0, 90.0, 30.0)[0][0] == 50.0


def test_a_roomy_plot_keeps_pyqtgraphs_ticks(qtbot: QtBot) -> None:
    axis = RoomyAxis(orientation="left")
    plain = super(RoomyAxis, axis).tickSpacing(0.0, 100.0, 200.0)
    assert axis.tickSpacing(0.0, 100.0, 200.0) == plain
    # 100 px (the same plots at 1920x1080): 0-100 at 20 still fits, six ticks of 16 px
    assert axis.tickSpacing(0.0, 100.0, 100.0)[0][0] == 20.0
