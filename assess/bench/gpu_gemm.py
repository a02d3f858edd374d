"""GPU matrix-product throughput: fp32 (TF32 off), tf32, fp16, bf16 and int8, timed correctly.

Method (``benchmarks.md`` A1): random operands rotated among several buffers, a warm-up, a CUDA
event pair around every product (never a host clock without synchronising), the median of many
products, and NVML telemetry (SM clock, temperature, power, throttle reasons) sampled on a thread
through the run. The quick run spends ``warmup_s + budget_s`` per dtype (about 6 s for five);
the sustained run loops bf16 for ``sustained_s`` seconds and reports throughput per second so
a card that throttles shows a falling line.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, replace
from typing import Literal

from rigready.assess.bench.gemm import GemmMeasurement, gemm_flops, summarize
from rigready.assess.bench.gpu_backends import (
    ITEMSIZE,
    BackendUnavailable,
    GemmBackend,
    GpuDevice,
    open_backend,
    rotation_pairs,
)
from rigready.assess.bench.gpu_telemetry import (
    TelemetrySampler,
    TelemetrySource,
    open_nvml_source,
)
from rigready.assess.bench.progress import Clock, Progress
from rigready.gpu.throttle import LIMITING_REASONS

QUICK_DTYPES: tuple[str, ...] = ("fp32", "tf32", "fp16", "bf16", "int8")
GIB = 1024**3
#: A sustained run reports a drop when its last 10 s fall this far below its first 10 s.
THROTTLE_DROP = 0.05

TelemetryFactory = Callable[[GpuDevice], tuple[TelemetrySource | None, str | None]]


@dataclass(frozen=True, slots=True)
class Skipped:
    """A dtype that was not measured, and why."""

    dtype: str
    reason: str


@dataclass(frozen=True, slots=True)
class SustainedPoint:
    """Throughput over about one second of a sustained run, with the card's state then."""

    t_s: float
    gflops: float
    sm_clock_mhz: float | None = None
    temperature_c: float | None = None
    power_w: float | None = None


@dataclass(frozen=True, slots=True)
class SustainedTrace:
    """A long single-dtype loop: throughput over time, to expose throttling."""

    dtype: str
    n: int
    duration_s: float
    points: tuple[SustainedPoint, ...]
    first_gflops: float
    last_gflops: float
    #: 1 - last/first (positive = slower at the end).
    drop_fraction: float
    throttle_reasons: tuple[str, ...]
    verdict: str


@dataclass(frozen=True, slots=True)
class GpuGemmResult:
    """GPU GEMM throughput per dtype (or why none could be measured)."""

    mode: Literal["quick", "sustained"]
    measurements: tuple[GemmMeasurement, ...]
    skipped: tuple[Skipped, ...] = ()
    device_name: str | None = None
    compute_capability: str | None = None
    vram_bytes: int | None = None
    uuid: str | None = None
    library: str | None = None
    sustained: SustainedTrace | None = None
    #: Set when nothing could be measured ("install PyTorch to measure the GPU").
    message: str | None = None
    elapsed_s: float = 0.0
    warnings: tuple[str, ...] = ()

    def measurement(self, dtype: str) -> GemmMeasurement | None:
        """The measurement of ``dtype``, or None."""
        return next((m for m in self.measurements if m.dtype == dtype), None)


def default_n(vram_bytes: int | None) -> int:
    """8192 on cards with 16 GiB or more, else 4096 (``benchmarks.md`` A1 recipe)."""
    return 8192 if vram_bytes is not None and vram_bytes >= 16 * GIB else 4096


def _nvml_factory(device: GpuDevice) -> tuple[TelemetrySource | None, str | None]:
    return open_nvml_source(device.uuid, device.pci_bus_id, device.index)


def run_gpu_gemm(
    mode: Literal["quick", "sustained"] = "quick",
    expected_tflops: Mapping[str, float] | None = None,
    dtypes: tuple[str, ...] = QUICK_DTYPES,
    n: int | None = None,
    warmup_s: float = 0.4,
    budget_s: float = 0.8,
    min_repeats: int = 10,
    sustained_s: float = 60.0,
    backend_factory: Callable[[], GemmBackend] = open_backend,
    telemetry_factory: TelemetryFactory = _nvml_factory,
    clock: Clock = time.perf_counter,
) -> Generator[Progress, None, GpuGemmResult]:
    """Measure GPU GEMM throughput; yields progress, returns a :class:`GpuGemmResult`.

    Args:
        mode: ``"quick"`` (each dtype briefly) or ``"sustained"`` (one bf16 loop).
        expected_tflops: the catalog's dense peak per dtype (``fp32``, ``tf32``, ``fp16``,
            ``bf16``, ``int8``), in TFLOP/s (TOPS for int8); compared with each median.
        dtypes: dtypes for the quick run.
        n: square size (default :func:`default_n`).
        warmup_s: warm-up seconds per dtype.
        budget_s: timed seconds per dtype.
        min_repeats: timed products per dtype at least.
        sustained_s: length of the sustained loop.
        backend_factory: opens the GPU library (tests pass a fake).
        telemetry_factory: opens the NVML source for a device (tests pass a fake).
        clock: monotonic seconds.
    """
    started = clock()
    yield Progress(0.0, "GPU: opening the device")
    try:
        backend = backend_factory()
    except BackendUnavailable as exc:
        return GpuGemmResult(mode=mode, measurements=(), message=str(exc),
                             elapsed_s=clock() - started)
    sampler: TelemetrySampler | None = None
    warnings: list[str] = []
    try:
        device = backend.device()
        source, problem = telemetry_factory(device)
        if source is None:
            warnings.append(problem or "no GPU telemetry")
        else:
            sampler = TelemetrySampler(source, clock=clock)
            sampler.start()
        size = n or default_n(device.vram_bytes)
        peaks = {k: v * 1000.0 for k, v in (expected_tflops or {}).items()}
        runner = _Runner(backend, device, sampler, clock, warnings)
        if mode == "sustained":
            dtype = next((d for d in ("bf16", "fp16", "fp32")
                          if backend.unsupported_reason(d) is None), "fp32")
            trace, measurement = yield from runner.sustained(dtype, size, sustained_s,
                                                             peaks.get(dtype))
            measured: tuple[GemmMeasurement, ...] = (measurement,) if measurement else ()
            skipped: tuple[Skipped, ...] = ()
        else:
            trace = None
            found, skipped_list = [], []
            for i, dtype in enumerate(dtypes):
                reason = backend.unsupported_reason(dtype)
                if reason is not None:
                    skipped_list.append(Skipped(dtype, reason))
                    continue
                m = yield from runner.quick(dtype, size, warmup_s, budget_s, min_repeats,
                                            peaks.get(dtype), i / len(dtypes), 1 / len(dtypes))
                if isinstance(m, Skipped):
                    skipped_list.append(m)
                else:
                    found.append(m)
            measured, skipped = tuple(found), tuple(skipped_list)
        yield Progress(1.0, "GPU GEMM done")
        return GpuGemmResult(
            mode=mode, measurements=measured, skipped=skipped, device_name=device.name,
            compute_capability=device.compute_capability, vram_bytes=device.vram_bytes,
            uuid=device.uuid, library=device.library, sustained=trace,
            elapsed_s=clock() - started, warnings=tuple(warnings),
        )
    finally:
        if sampler is not None:
            sampler.stop()
        backend.close()


class _Runner:
    """The timing loops, sharing the backend, telemetry and clock."""

    def __init__(self, backend: GemmBackend, device: GpuDevice, sampler: TelemetrySampler | None,
                 clock: Clock, warnings: list[str]) -> None:
        self.backend = backend
        self.device = device
        self.sampler = sampler
        self.clock = clock
        self.warnings = warnings

    def _prepare(self, dtype: str, n: int) -> int | Skipped:
        """Allocate operands, shrinking n on small cards; the size used or why none fits."""
        free = self.device.free_bytes
        while n >= 1024:
            pairs = rotation_pairs(n, ITEMSIZE[dtype], free)
            if pairs > 0:
                self.backend.prepare(dtype, n, pairs)
                return n
            n //= 2
        return Skipped(dtype, "not enough free GPU memory for a 1024 x 1024 product")

    def _batch_size(self, per_product_s: float) -> int:
        return max(1, min(500, int(0.2 / max(per_product_s, 1e-6))))

    def quick(self, dtype: str, n: int, warmup_s: float, budget_s: float, min_repeats: int,
              peak: float | None, base: float, share: float
              ) -> Generator[Progress, None, GemmMeasurement | Skipped]:
        """Warm up, then time products for ``budget_s``; the median measurement."""
        yield Progress(base, f"GPU {dtype}: allocating operands")
        size = self._prepare(dtype, n)
        if isinstance(size, Skipped):
            return size
        try:
            first = self.backend.run_batch(1)[0]  # library set-up happens here
            yield Progress(base, f"GPU {dtype} n={size}: warm-up")
            batch = self._batch_size(first)
            t0 = self.clock()
            while self.clock() - t0 < warmup_s:
                times = self.backend.run_batch(batch)
                batch = self._batch_size(statistics.median(times))
                yield Progress(base + share * 0.3 * min(1.0, (self.clock() - t0) / warmup_s),
                               f"GPU {dtype} n={size}: warm-up")
            timed: list[float] = []
            t1 = self.clock()
            while len(timed) < min_repeats or self.clock() - t1 < budget_s:
                timed.extend(self.backend.run_batch(batch))
                done = min(1.0, (self.clock() - t1) / budget_s)
                yield Progress(base + share * (0.3 + 0.7 * done),
                               f"GPU {dtype} n={size}: {len(timed)} products timed")
            if self.sampler is not None:
                self.sampler.sample_now()  # at least one reading inside the window
            t2 = self.clock()
        finally:
            self.backend.release()
        telemetry = self.sampler.summary(t1, t2) if self.sampler else None
        return summarize(dtype, size, timed, peak, telemetry)

    def sustained(self, dtype: str, n: int, duration_s: float, peak: float | None
                  ) -> Generator[Progress, None, tuple[SustainedTrace | None,
                                                       GemmMeasurement | None]]:
        """Loop ``dtype`` for ``duration_s``, one point per second of throughput."""
        yield Progress(0.0, f"GPU sustained {dtype}: allocating operands")
        size = self._prepare(dtype, n)
        if isinstance(size, Skipped):
            self.warnings.append(f"sustained run skipped: {size.reason}")
            return None, None
        points: list[SustainedPoint] = []
        every: list[float] = []
        try:
            batch = self._batch_size(self.backend.run_batch(1)[0])
            t0 = self.clock()
            window: list[float] = []
            w0 = t0
            msg = f"GPU sustained {dtype} n={size}"
            while self.clock() - t0 < duration_s:
                times = self.backend.run_batch(batch)
                window.extend(times)
                batch = self._batch_size(statistics.median(times))
                now = self.clock()
                if now - w0 >= 1.0:
                    if self.sampler is not None:
                        self.sampler.sample_now()
                        now = self.clock()
                    points.append(self._point(size, window, now - t0, w0, now))
                    every.extend(window)
                    window, w0 = [], now
                    last = points[-1]
                    state = "" if last.sm_clock_mhz is None else (
                        f" at {last.sm_clock_mhz:.0f} MHz, {last.temperature_c or 0:.0f} °C, "
                        f"{last.power_w or 0:.0f} W")
                    msg = f"GPU sustained {dtype}: {last.gflops / 1000:.1f} TFLOP/s{state}"
                yield Progress((now - t0) / duration_s, msg)
            t_end = self.clock()
        finally:
            self.backend.release()
        if not every:
            return None, None
        telemetry = self.sampler.summary(t0, t_end) if self.sampler else None
        measurement = summarize(dtype, size, every, peak, telemetry)
        return trace_from_points(dtype, size, points, telemetry.throttle_reasons
                                 if telemetry else ()), measurement

    def _point(self, n: int, times: list[float], t: float, w0: float, w1: float
               ) -> SustainedPoint:
        rate = gemm_flops(n) * len(times) / sum(times) / 1e9
        tel = self.sampler.summary(w0, w1) if self.sampler else None
        if tel is None:
            return SustainedPoint(t_s=t, gflops=rate)
        return SustainedPoint(t_s=t, gflops=rate, sm_clock_mhz=tel.sm_clock_mhz_median,
                              temperature_c=tel.temperature_c_max, power_w=tel.power_w_median)


def trace_from_points(dtype: str, n: int, points: list[SustainedPoint],
                      reasons: tuple[str, ...]) -> SustainedTrace | None:
    """Summarise a sustained run: first versus last 10 s, and a verdict naming the cause."""
    if not points:
        return None
    duration = points[-1].t_s
    head = [p.gflops for p in points if p.t_s <= min(10.0, duration / 3)] or [points[0].gflops]
    tail = [p.gflops for p in points if p.t_s >= duration - min(10.0, duration / 3)] \
        or [points[-1].gflops]
    first, last = statistics.median(head), statistics.median(tail)
    drop = 1.0 - last / first if first > 0 else 0.0
    limiting = [r for r in reasons if r in LIMITING_REASONS]
    if drop >= THROTTLE_DROP:
        cause = f" ({', '.join(limiting)})" if limiting else ""
        verdict = (f"throttling: {drop:.0%} slower after {duration:.0f} s than in the first "
                   f"seconds{cause}")
    else:
        held = f"; the card ran at its limit ({', '.join(limiting)})" if limiting else ""
        verdict = f"steady: throughput held within {THROTTLE_DROP:.0%} for {duration:.0f} s{held}"
    return SustainedTrace(dtype=dtype, n=n, duration_s=duration, points=tuple(points),
                          first_gflops=first, last_gflops=last, drop_fraction=drop,
                          throttle_reasons=reasons, verdict=verdict)


def with_expected(result: GpuGemmResult, expected_tflops: Mapping[str, float]) -> GpuGemmResult:
    """The result with each measurement's peak and fraction set from ``expected_tflops``.

    For callers that learn the card's catalog entry only after the run (from its name).
    """
    measured = []
    for m in result.measurements:
        peak = expected_tflops.get(m.dtype)
        if peak is None or peak <= 0:
            measured.append(m)
            continue
        measured.append(replace(m, peak_gflops=peak * 1000.0,
                                fraction_of_peak=m.gflops / (peak * 1000.0)))
    return replace(result, measurements=tuple(measured))
