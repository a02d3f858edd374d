"""Time one update of the monitor charts with 24 h of 1 Hz data in the ring buffers.

Target (issue 7, item 4): one chart update under 10 ms. An update is what the Monitor page does
each second: append the new sample to the ring, hand the window's rows to all nine curves of the
six plots through ``setData``, move the time range, and let Qt paint (``processEvents``; the
script counts the paint events to show each update was drawn exactly once). Run:

    QT_QPA_PLATFORM=offscreen python benchmarks/chart_update_speed.py [--updates 200]

Prints the median and 95th percentile per window (24 h, 1 h, 5 min), split into the data part
(ring slice, ``setData``, range) and the whole update including the paint, and the same for a
full page refresh (charts plus tiles, banner and events list), and that refresh again while a
10-hour training run is followed live (its loss chart, tiles and progress; one new logged loss a
second).
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# rigready.* from a checkout with nothing installed (made by packaging/pkgroot.py)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "build" / "pkgroot"))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from rigready.monitor.ring import COLUMN, COLUMNS, SeriesRing

DAY = 86_400
T0 = 1_795_000_000.0


def day_of_data(seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """24 h of plausible 1 Hz rows: training bursts, noise, a few sensor gaps (NaN)."""
    rng = np.random.default_rng(seed)
    t = T0 + np.arange(DAY, dtype=np.float64)
    busy = ((np.arange(DAY) // 1800) % 3 != 0).astype(np.float32)  # 1 h on, 30 min off
    v = np.empty((len(COLUMNS), DAY), dtype=np.float32)

    def put(name: str, values: np.ndarray) -> None:
        v[COLUMN[name]] = values

    noise = rng.normal(0, 1, DAY).astype(np.float32)
    put("gpu_util_pct", np.clip(busy * 97 + 2 * noise, 0, 100))
    put("mem_util_pct", np.clip(busy * 45 + 3 * noise, 0, 100))
    put("vram_used_gib", 1.2 + busy * 20.5)
    put("vram_total_gib", np.full(DAY, 23.6, np.float32))
    put("temp_c", 38 + busy * 36 + noise)
    put("temp_slowdown_c", np.full(DAY, 90, np.float32))
    put("power_w", 30 + busy * 300 + 8 * noise)
    put("power_limit_w", np.full(DAY, 350, np.float32))
    put("sm_clock_mhz", 210 + busy * 1650 + 15 * noise)
    put("mem_clock_mhz", 405 + busy * 9096)
    put("sm_clock_max_mhz", np.full(DAY, 2100, np.float32))
    put("mem_clock_max_mhz", np.full(DAY, 9501, np.float32))
    put("cpu_pct", np.clip(12 + busy * 20 + 4 * noise, 0, 100))
    put("ram_pct", 40 + busy * 15)
    gaps = rng.choice(DAY, 20, replace=False)
    v[: COLUMN["mem_clock_max_mhz"] + 1, gaps] = np.nan  # GPU readings lost for a tick
    return t, v


class Feed:
    """A ring holding the day minus the last rows, which :meth:`next_row` then appends."""

    def __init__(self, t: np.ndarray, v: np.ndarray, keep_back: int) -> None:
        self.t, self.v = t, v
        self.ring = SeriesRing(DAY)
        self.ring.extend(t[:-keep_back], v[:, :-keep_back])
        self._next = DAY - keep_back

    def next_row(self) -> float:
        """Append the next sample (the last one again when none is left); its time."""
        k = min(self._next, DAY - 1)
        self._next += 1
        self.ring.append(float(self.t[k]), self.v[:, k].tolist())
        return self.ring.last_time or T0


def new_rows(step: int, t: float) -> Any:
    """One second of a live run: a logged loss and a progress row."""
    from rigready.monitor.store_runs import ProgressRow, RunRowsAfter
    from rigready.monitor.training.events import RunMetrics

    loss = 2.0 + 3.0 * math.exp(-step / 20_000) + 0.05 * math.sin(step)
    metrics = RunMetrics(t, step, loss=loss, learning_rate=2e-4, grad_norm=0.5, epoch=step / 1e4)
    progress = ProgressRow(t, step, 180_000, 5.0, (180_000 - step) / 5, 18 << 30, 150.0)
    return RunRowsAfter((metrics,), (progress,), (), 0, 0, 0)


def long_run(page: Any) -> Any:
    """A live run 10 hours in: 36,000 progress rows and 7,200 logged losses (every 5 steps of
    5 steps/s), followed by the page as if its poller had read them."""
    from rigready.desktop.monitoring.run_view import LiveRun
    from rigready.monitor.store_runs import RunRecord, RunRowsAfter

    start = T0 + DAY - 36_000
    record = RunRecord(1, "bench", ("python", "train.py"), None, "wrapper", start, None,
                       "running", None, None, None, 180_000, None, None, 24 << 30, False, (),
                       None, None)
    run = LiveRun(record)
    rows = [new_rows(5 * i, start + i) for i in range(1, 36_001)]
    metrics = tuple(r.metrics[0] for i, r in enumerate(rows) if i % 5 == 0)
    run.apply(record, RunRowsAfter(metrics, tuple(r.progress[0] for r in rows), (), 0, 0, 0))
    page.runs.live = run
    return run


def count_paints(widget: object) -> list[int]:
    """Wrap ``widget.paintEvent``; the returned list's only item counts the calls."""
    count = [0]
    original = widget.paintEvent  # type: ignore[attr-defined]

    def counted(event: object) -> None:
        count[0] += 1
        original(event)

    widget.paintEvent = counted  # type: ignore[attr-defined]
    return count


def timed(update: Callable[[int], float], count: int) -> tuple[list[float], list[float]]:
    """Run ``update`` (which returns when its data part ended); total and data times in ms."""
    for i in range(5):  # warm up caches and pyqtgraph's first layout
        update(i)
    total, data = [], []
    for i in range(count):
        start = time.perf_counter()
        data_done = update(i)
        end = time.perf_counter()
        total.append((end - start) * 1000)
        data.append((data_done - start) * 1000)
    return total, data


def p95(ms: list[float]) -> float:
    ordered = sorted(ms)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def report(label: str, result: tuple[list[float], list[float]], paints: float) -> None:
    total, data = result
    print(f"{label:32s} update median {statistics.median(total):6.2f} ms  p95 {p95(total):6.2f}"
          f" ms | data part median {statistics.median(data):5.2f} ms | "
          f"paints/update {paints:.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--updates", type=int, default=200, help="timed updates per window")
    parser.add_argument("--size", default="1100x640", help="chart widget size, WxH")
    args = parser.parse_args()
    width, height = (int(x) for x in args.size.split("x"))
    app = QApplication(sys.argv[:1])
    from rigready.desktop.monitoring.charts import MonitorCharts

    t, v = day_of_data()
    keep_back = args.updates + 10
    charts = MonitorCharts("light")
    charts.resize(width, height)
    charts.show()
    app.processEvents()
    paints = count_paints(charts.view)
    print(f"{platform.node()} · {platform.machine()} · {os.cpu_count()} CPUs · "
          f"load {os.getloadavg()[0]:.2f} · Python {platform.python_version()} · "
          f"{DAY:,} rows x {len(COLUMNS)} columns in the ring · {width}x{height} px")

    for label, seconds in (("charts, 24 h window", DAY), ("charts, 1 h window", 3600),
                           ("charts, 5 min window", 300)):
        feed = Feed(t, v, keep_back)

        def update(_i: int, feed: Feed = feed, seconds: float = seconds) -> float:
            end = feed.next_row()
            charts.set_x_range(end - seconds, end)  # the page's order: range, then data
            charts.set_data(*feed.ring.view())  # the charts clip to the range themselves
            data_done = time.perf_counter()
            app.processEvents()  # the paint
            return data_done

        paints[0] = 0
        result = timed(update, args.updates)
        report(label, result, paints[0] / (args.updates + 5))

    from rigready.desktop.context import AppContext
    from rigready.desktop.monitoring.controller import MonitorController
    from rigready.desktop.pages.monitor import MonitorPage

    scratch = Path(os.environ.get("TMPDIR", "/tmp")) / "rigready-chart-bench.ini"
    context = AppContext(settings=QSettings(str(scratch), QSettings.Format.IniFormat),
                         db_path=Path("/nonexistent/bench.sqlite3"))
    page = MonitorPage(context, controller=MonitorController(context.database_path,
                                                             providers=lambda: ([], [])),
                       autostart=False)
    page.resize(width + 300, height + 250)
    feed = Feed(t, v, keep_back)
    page.source.rings[0] = feed.ring
    page.show()
    app.processEvents()
    page.set_window("24 h")
    page_paints = count_paints(page.charts.view)

    def page_update(_i: int) -> float:
        feed.next_row()
        page.refresh()
        data_done = time.perf_counter()
        app.processEvents()
        return data_done

    result = timed(page_update, args.updates)
    report("whole page, 24 h window", result, page_paints[0] / (args.updates + 5))
    run = long_run(page)
    step = [run.tracker.step or 0]

    def run_update(_i: int) -> float:
        feed.next_row()
        step[0] += 5  # one new logged loss and one progress row a second, as a poll brings
        run.apply(run.record, new_rows(step[0], T0 + DAY + step[0] / 5))
        page.refresh()
        data_done = time.perf_counter()
        app.processEvents()
        return data_done

    page_paints[0] = 0
    result = timed(run_update, args.updates)
    report("whole page + a 10 h run", result, page_paints[0] / (args.updates + 5))
    page.shutdown()
    scratch.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
