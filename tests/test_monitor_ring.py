"""The Qt-free ring buffer and series conversions behind the monitor charts."""

from __future__ import annotations

import math
import shutil
from collections import deque
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rigready.monitor.ring import (
    COLUMN,
    COLUMNS,
    GIB,
    GPU_SERIES_COLUMNS,
    HOST_SERIES_COLUMNS,
    SeriesRing,
    column_peaks,
    nearest_index,
    peak_decimate,
    rows_from_aggregates,
    rows_from_series,
    sample_row,
    window_of,
)
from rigready.monitor.sample import GpuSample, HostSample, Sample
from rigready.monitor.store import Store

H200 = Path(__file__).parent / "data" / "monitor" / "h200-2026-11-22" / "h200-session.sqlite3"
INF = float("inf")


def row(value: float, columns: int = 3) -> list[float]:
    return [value + i / 10 for i in range(columns)]


def test_wrap_around_keeps_the_newest_rows_in_time_order() -> None:
    ring = SeriesRing(5, columns=3)
    assert len(ring) == 0 and ring.latest() is None and ring.view()[0].size == 0
    for t in range(8):
        ring.append(100.0 + t, row(t))
    times, values = ring.view()
    assert times.tolist() == [103.0, 104.0, 105.0, 106.0, 107.0]
    assert values[0].tolist() == [3.0, 4.0, 5.0, 6.0, 7.0]
    assert values[2].tolist() == pytest.approx([3.2, 4.2, 5.2, 6.2, 7.2])
    bounds = (ring.first_time, ring.last_time, len(ring))
    assert bounds == (103.0, 107.0, 5)
    latest = ring.latest()
    assert latest is not None and latest[0] == 107.0 and latest[1][1] == pytest.approx(7.1)


def test_views_are_zero_copy_slices_even_after_wrapping() -> None:
    ring = SeriesRing(4, columns=2)
    for t in range(11):  # wrapped twice and a bit
        ring.append(float(t), [t, -t])
        times, values = ring.view()
        assert times.tolist() == [float(x) for x in range(max(0, t - 3), t + 1)]
        assert values[1].tolist() == [-float(x) for x in range(max(0, t - 3), t + 1)]
    times, values = ring.view()
    assert np.shares_memory(times, ring._t) and np.shares_memory(values, ring._v)


def test_window_slices_inclusive_bounds() -> None:
    ring = SeriesRing(100, columns=1)
    for t in range(150):
        ring.append(1000.0 + t, [t])
    times, values = ring.window(1120.0, 1130.0)
    assert times[0] == 1120.0 and times[-1] == 1130.0 and len(times) == 11
    assert values[0].tolist() == [float(v) for v in range(120, 131)]
    assert ring.window(0.0, 1049.0)[0].size == 0  # before the oldest row kept (1050)
    assert ring.window(1200.0, 1300.0)[0].size == 0
    assert ring.window(1140.5, 1e9)[0].tolist() == [float(t) for t in range(1141, 1150)]


def test_missing_values_stay_nan() -> None:
    ring = SeriesRing(3, columns=2)
    ring.append(1.0, [math.nan, 5.0])
    _, values = ring.view()
    assert math.isnan(values[0, 0]) and values[1, 0] == 5.0


def test_clock_stepping_back_restarts_and_duplicates_are_ignored() -> None:
    ring = SeriesRing(10, columns=1)
    for t in (10.0, 11.0, 12.0):
        ring.append(t, [t])
    ring.append(12.0, [99.0])  # same time: ignored
    assert ring.view()[1][0].tolist() == [10.0, 11.0, 12.0]
    ring.append(5.0, [5.0])  # the wall clock was set back
    assert ring.view()[0].tolist() == [5.0] and ring.restarts == 1


def test_extend_matches_appending_one_by_one() -> None:
    bulk, single = SeriesRing(50, columns=2), SeriesRing(50, columns=2)
    times = np.arange(120, dtype=np.float64)
    values = np.vstack([times * 2, times * 3])
    bulk.extend(times[:30], values[:, :30])
    bulk.extend(times[25:], values[:, 25:])  # overlaps: rows up to 29 are not added twice
    for i, t in enumerate(times):
        single.append(float(t), values[:, i].tolist())
    assert np.array_equal(bulk.view()[0], single.view()[0])
    assert np.array_equal(bulk.view()[1], single.view()[1])
    assert bulk.view()[0].tolist() == [float(t) for t in range(70, 120)]


def test_extend_rejects_bad_input_and_restarts_on_an_older_batch() -> None:
    ring = SeriesRing(10, columns=2)
    with pytest.raises(ValueError, match="sorted"):
        ring.extend([3.0, 1.0], [[1, 2], [3, 4]])
    with pytest.raises(ValueError, match="values"):
        ring.extend([1.0, 2.0], [[1, 2]])
    with pytest.raises(ValueError, match="expected 2 values"):
        ring.append(1.0, [1.0])
    ring.extend([100.0, 101.0], [[1, 2], [3, 4]])
    ring.extend([1.0, 2.0], [[5, 6], [7, 8]])
    assert ring.view()[0].tolist() == [1.0, 2.0] and ring.restarts == 1
    with pytest.raises(ValueError):
        SeriesRing(0)


@settings(max_examples=60, deadline=None)
@given(capacity=st.integers(1, 40),
       steps=st.lists(st.floats(0.01, 5.0, allow_nan=False), min_size=0, max_size=150))
def test_ring_equals_a_bounded_list(capacity: int, steps: list[float]) -> None:
    ring = SeriesRing(capacity, columns=1)
    reference: deque[tuple[float, float]] = deque(maxlen=capacity)
    t = 0.0
    for i, step in enumerate(steps):
        t += step
        ring.append(t, [float(i)])
        reference.append((t, float(i)))
    times, values = ring.view()
    assert times.tolist() == [r[0] for r in reference]
    assert values[0].tolist() == [r[1] for r in reference]
    if reference:
        mid = reference[len(reference) // 2][0]
        assert ring.window(mid, INF)[0].tolist() == [r[0] for r in reference if r[0] >= mid]


def test_nearest_index_and_window_of() -> None:
    times = np.array([10.0, 20.0, 30.0])
    assert [nearest_index(times, t) for t in (0.0, 14.9, 15.1, 29.0, 99.0)] == [0, 0, 1, 2, 2]
    assert nearest_index(np.empty(0), 5.0) is None and nearest_index(times, math.nan) is None
    values = np.array([[1.0, 2.0, 3.0]], dtype=np.float32)
    t, v = window_of(times, values, 15.0, 30.0)
    assert t.tolist() == [20.0, 30.0] and v.tolist() == [[2.0, 3.0]]


def test_sample_row_maps_fields_and_units() -> None:
    gpu = GpuSample(index=1, name="G", utilization_pct=97.0, memory_used_bytes=12 * GIB,
                    memory_total_bytes=24 * GIB, temperature_c=71.0, power_w=300.5,
                    sm_clock_mhz=1800.0)
    host = HostSample(cpu_pct=12.5, ram_used_bytes=8 * GIB, ram_total_bytes=32 * GIB)
    values = sample_row(Sample(time=5.0, host=host, gpus=(gpu,)), 1)
    assert len(values) == len(COLUMNS)
    assert values[COLUMN["gpu_util_pct"]] == 97.0 and values[COLUMN["vram_used_gib"]] == 12.0
    assert values[COLUMN["vram_total_gib"]] == 24.0 and values[COLUMN["power_w"]] == 300.5
    assert values[COLUMN["ram_pct"]] == 25.0 and values[COLUMN["cpu_pct"]] == 12.5
    assert math.isnan(values[COLUMN["mem_util_pct"]])  # not read: NaN, not zero
    absent = sample_row(Sample(time=5.0, host=host, gpus=(gpu,)), 0)  # no GPU 0
    assert all(math.isnan(absent[COLUMN[c]]) for c in COLUMNS[:12])
    assert absent[COLUMN["cpu_pct"]] == 12.5


def test_column_peaks_ignore_gaps() -> None:
    values = np.array([[1.0, math.nan, 3.0], [math.nan] * 3], dtype=np.float32)
    peaks = column_peaks(values)
    assert peaks[0] == 3.0 and math.isnan(peaks[1])


@pytest.fixture
def h200(tmp_path: Path) -> Store:
    copy = tmp_path / "h200.sqlite3"
    shutil.copy(H200, copy)
    return Store(copy, readonly=True)


def test_rows_from_the_real_h200_session(h200: Store) -> None:
    with h200 as store:
        gpu = store.series_between(-INF, INF, GPU_SERIES_COLUMNS, gpu=0, session_id=1)
        host = store.series_between(-INF, INF, HOST_SERIES_COLUMNS, gpu=None, session_id=1)
        samples = store.session_samples(1)
    times, values = rows_from_series(gpu, host)
    assert times.tolist() == [s.time for s in samples]  # 86 ticks, one row each
    expected = np.array([sample_row(s, 0) for s in samples], dtype=np.float32).T
    assert np.allclose(values, expected, equal_nan=True)
    peaks = dict(zip(COLUMNS, column_peaks(values), strict=True))
    assert peaks["gpu_util_pct"] == 100.0 and peaks["temp_c"] == 59.0
    assert peaks["power_w"] == pytest.approx(699.135, abs=1e-3)
    assert peaks["vram_used_gib"] == pytest.approx(22852534272 / GIB, rel=1e-6)
    assert peaks["sm_clock_mhz"] == 1980.0 and peaks["cpu_pct"] == pytest.approx(15.7)


def test_rows_from_the_real_sessions_aggregates(h200: Store) -> None:
    with h200 as store:
        aggregates = store.aggregates_between(0, 2e10, bucket_s=60)
        samples = store.session_samples(1)
    times, values = rows_from_aggregates(aggregates, 0)
    assert times.tolist() == sorted({a.bucket for a in aggregates})
    minute = [s for s in samples if times[0] <= s.time < times[0] + 60]
    power = [s.gpus[0].power_w or 0.0 for s in minute]
    assert values[COLUMN["power_w"], 0] == pytest.approx(sum(power) / len(power), rel=1e-5)
    assert np.isnan(values[COLUMN["mem_clock_max_mhz"]]).all()  # not kept in aggregates
    host_only = rows_from_aggregates(aggregates, 7)[1]  # no GPU 7: host columns only
    assert np.isnan(host_only[COLUMN["gpu_util_pct"]]).all()
    assert np.isfinite(host_only[COLUMN["cpu_pct"]]).all()


def test_peak_decimate_keeps_spikes_gaps_and_the_tail() -> None:
    times = np.arange(1000, dtype=np.float64)
    values = np.zeros((2, 1000), dtype=np.float32)
    values[0, 333] = 50.0  # a one-second spike
    values[0, 600] = -7.0  # and a dip
    values[1, :100] = np.nan  # a column not read for the first 100 s
    t, v = peak_decimate(times, values, 10)  # 10 runs of 100 rows, no tail
    assert t.tolist() == [float(x) for x in range(0, 1000, 100) for _ in (0, 1)]
    assert v[0].max() == 50.0 and v[0].min() == -7.0
    assert v[0, 6:8].tolist() == [0.0, 50.0] and v[0, 12:14].tolist() == [-7.0, 0.0]
    assert np.isnan(v[1, :2]).all() and np.isfinite(v[1, 2:]).all()
    long_t = np.arange(1005.0)
    long_v = np.vstack([long_t, -long_t]).astype(np.float32)
    t2, v2 = peak_decimate(long_t, long_v, 10)  # 100-row runs and a 5-row tail kept as is
    assert t2.size == 2 * 10 + 5 and t2[-5:].tolist() == [1000.0, 1001.0, 1002.0, 1003.0, 1004.0]
    assert v2[0, -5:].tolist() == [1000.0, 1001.0, 1002.0, 1003.0, 1004.0]
    assert v2[1, :2].tolist() == [-99.0, 0.0]  # min then max of the first run
    small_t, small_v = peak_decimate(times[:20], values[:, :20], 10)
    assert small_t is not None and np.shares_memory(small_t, times)  # short: unchanged views
    assert small_v.shape == (2, 20)
