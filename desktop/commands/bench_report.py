"""Plain-text reports of benchmark outcomes for ``rigready bench`` (no Qt)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rigready.assess.bench.cpu_gemm import CpuGemmResult
from rigready.assess.bench.gemm import GemmMeasurement
from rigready.assess.bench.gpu_gemm import GpuGemmResult
from rigready.assess.bench.storage import StorageResult
from rigready.assess.units import format_bytes

if TYPE_CHECKING:
    from rigready.desktop.usecases.bench import Outcome


def _num(value: float | None, fmt: str = "{:,.0f}", unknown: str = "-") -> str:
    return unknown if value is None else fmt.format(value)


def _gemm_rows(measurements: tuple[GemmMeasurement, ...], tera: bool) -> list[str]:
    scale, unit = (1000.0, "TFLOP/s") if tera else (1.0, "GFLOP/s")
    out = [f"  {'dtype':<6}{'n':>6}{unit:>11}{'p20-p80':>16}{'of peak':>18}"
           + ("   SM clock  temp   power  limits" if tera else "")]
    for m in measurements:
        spread = f"{m.gflops_p20 / scale:,.1f}-{m.gflops_p80 / scale:,.1f}"
        peak = "unknown" if m.fraction_of_peak is None or m.peak_gflops is None else \
            f"{m.fraction_of_peak:.0%} of {m.peak_gflops / scale:,.1f}"
        line = f"  {m.dtype:<6}{m.n:>6}{m.gflops / scale:>11,.1f}{spread:>16}{peak:>18}"
        if tera:
            t = m.telemetry
            if t is None:
                line += "   (no NVML readings)"
            else:
                limits = ", ".join(t.throttle_reasons) or "-"
                line += (f"   {_num(t.sm_clock_mhz_median):>5} MHz "
                         f"{_num(t.temperature_c_max):>3} °C {_num(t.power_w_median):>5} W"
                         f"  {limits}")
        out.append(line)
    return out


def render_cpu(result: CpuGemmResult) -> list[str]:
    """CPU GEMM table."""
    blas = result.blas
    head = (f"CPU GEMM ({result.cpu_model or 'unknown CPU'}; numpy BLAS {blas.name or 'unknown'}"
            f" {blas.version or ''}, {blas.threads or '?'} threads [{blas.threads_source}])")
    return [head, *_gemm_rows(result.measurements, tera=False)]


def render_gpu(result: GpuGemmResult) -> list[str]:
    """GPU GEMM table, the sustained trace summary and skipped dtypes."""
    if result.message:
        return ["GPU GEMM", f"  not measured: {result.message}"]
    out = [f"GPU GEMM on {result.device_name} ({result.library}, {result.mode})"]
    out += _gemm_rows(result.measurements, tera=True)
    for s in result.skipped:
        out.append(f"  skipped {s.dtype}: {s.reason}")
    trace = result.sustained
    if trace is not None:
        out.append(f"  sustained {trace.dtype} over {trace.duration_s:.0f} s: "
                   f"{trace.first_gflops / 1000:,.1f} TFLOP/s first, "
                   f"{trace.last_gflops / 1000:,.1f} last; {trace.verdict}")
    return out


def render_storage(result: StorageResult) -> list[str]:
    """CrystalDiskMark-style table: read and write side by side."""
    bypass = "O_DIRECT" if result.direct_io else (result.label or "buffered")
    out = [f"Storage {result.folder} ({result.filesystem or 'unknown fs'} on "
           f"{result.device or 'unknown device'}, {format_bytes(result.file_size_bytes)} test "
           f"file, {bypass})",
           f"  {'test':<13}{'read MB/s':>11}{'IOPS':>10}{'lat µs':>9}"
           f"{'write MB/s':>13}{'IOPS':>10}{'lat µs':>9}"]
    names = list(dict.fromkeys(r.test for r in result.results))
    for name in names:
        rd, wr = result.find(name, "read"), result.find(name, "write")
        line = f"  {name:<13}"
        for r, first in ((rd, True), (wr, False)):
            width = 11 if first else 13
            if r is None:
                line += f"{'-':>{width}}{'-':>10}{'-':>9}"
            else:
                line += f"{r.mb_s:>{width},.1f}{r.iops:>10,.0f}{r.latency_us:>9,.1f}"
        out.append(line)
    out.append(f"  MB/s are decimal (as CrystalDiskMark); best of {result.results[0].passes} "
               f"passes" if result.results else "  no results")
    return out


def render_outcome(outcome: Outcome) -> str:
    """The result table, then comparisons, notes and warnings."""
    r = outcome.result
    if isinstance(r, CpuGemmResult):
        lines = render_cpu(r)
    elif isinstance(r, GpuGemmResult):
        lines = render_gpu(r)
    else:
        lines = render_storage(r)
    for c in outcome.comparisons:
        mark = {"healthy": "ok", "below": "below", "investigate": "!!", "unknown": "?"}[c.verdict]
        lines.append(f"  [{mark}] {c.sentence}")
        lines.extend(f"        {reason}" for reason in c.reasons)
    lines.extend(f"  note: {n}" for n in outcome.notes)
    lines.extend(f"  ! {w}" for w in r.warnings)
    return "\n".join(lines)
