"""Device proof of the GPU GEMM benchmark: quick run vs a careful reference in the same process.

Run on a CUDA machine: ``python benchmarks/gpu_gemm_proof.py [OUT_DIR] [--sustained-s 60]``.

1. The quick run through ``rigready.assess.bench.gpu_gemm.run_gpu_gemm`` (wall time measured, the
   longest gap between progress yields recorded).
2. A careful bf16 reference written independently of the benchmark code: n=8192, warm-up, then
   rounds of 100 products each timed by one CUDA event pair around the whole round, median round.
3. The quick run again (is it stable?), then the sustained bf16 run.
4. Optionally the quick storage benchmark on the current folder's disk.

It prints a summary and writes ``gpu_gemm_proof.json`` (machine, versions, every result).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Generator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# rigready.* from a checkout with nothing installed (made by packaging/pkgroot.py)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "build" / "pkgroot"))

from rigready.assess.bench.compare import compare_gpu_result, expected_gpu_tflops
from rigready.assess.bench.gpu_gemm import GpuGemmResult, run_gpu_gemm, with_expected
from rigready.assess.bench.progress import Progress
from rigready.assess.bench.records import result_to_dict

R = TypeVar("R")


def drive(gen: Generator[Progress, None, R]) -> tuple[R, float, float]:
    """Run to the end; (result, wall seconds, longest gap between yields)."""
    t0 = last = time.perf_counter()
    gap = 0.0
    try:
        while True:
            p = next(gen)
            now = time.perf_counter()
            gap = max(gap, now - last)
            last = now
            if int(p.fraction * 10) != int(getattr(drive, "_shown", -1)):
                drive._shown = int(p.fraction * 10)  # type: ignore[attr-defined]
                print(f"  {p.fraction:4.0%} {p.message}", flush=True)
    except StopIteration as stop:
        return stop.value, time.perf_counter() - t0, gap
    finally:
        gen.close()


def reference_bf16(n: int = 8192, warmup: int = 50, rounds: int = 10, per_round: int = 100
                   ) -> dict[str, Any]:
    """Median TFLOP/s of bf16 n x n products, each round of products between one event pair."""
    import torch

    dev = torch.device("cuda")
    a = [torch.randn(n, n, dtype=torch.bfloat16, device=dev) for _ in range(2)]
    b = [torch.randn(n, n, dtype=torch.bfloat16, device=dev) for _ in range(2)]
    for i in range(warmup):
        torch.mm(a[i % 2], b[i % 2])
    torch.cuda.synchronize()
    rates = []
    for _ in range(rounds):
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        for i in range(per_round):
            torch.mm(a[i % 2], b[i % 2])
        end.record()
        end.synchronize()
        seconds = start.elapsed_time(end) / 1000.0
        rates.append(2.0 * n**3 * per_round / seconds / 1e12)
    del a, b
    torch.cuda.empty_cache()
    return {"n": n, "warmup": warmup, "rounds": rounds, "per_round": per_round,
            "tflops_median": statistics.median(rates), "tflops_rounds": rates}


def int8_layouts(n: int = 8192, count: int = 20) -> dict[str, float]:
    """torch._int_mm TOPS with B row-major versus column-major (B = w.t() of a contiguous w)."""
    import torch

    a = torch.randint(-128, 127, (n, n), dtype=torch.int8, device="cuda")
    w = torch.randint(-128, 127, (n, n), dtype=torch.int8, device="cuda")
    out: dict[str, float] = {}
    for name, b in (("b_row_major", w), ("b_column_major", w.t())):
        for _ in range(3):
            torch._int_mm(a, b)
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(count):
            torch._int_mm(a, b)
        end.record()
        end.synchronize()
        out[name] = 2.0 * n**3 * count / (start.elapsed_time(end) / 1000.0) / 1e12
    return out


def machine() -> dict[str, Any]:
    """GPU, driver, CUDA and library versions."""
    import torch

    info: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(), "torch": torch.__version__,
        "torch_cuda": torch.version.cuda, "gpu": torch.cuda.get_device_name(0),
        "compute_capability": ".".join(map(str, torch.cuda.get_device_capability(0))),
    }
    try:
        import pynvml as nvml

        nvml.nvmlInit()
        info["driver"] = nvml.nvmlSystemGetDriverVersion()
        handle = nvml.nvmlDeviceGetHandleByIndex(0)
        info["power_limit_w"] = nvml.nvmlDeviceGetEnforcedPowerLimit(handle) / 1000.0
        info["max_sm_clock_mhz"] = nvml.nvmlDeviceGetMaxClockInfo(handle, nvml.NVML_CLOCK_SM)
        nvml.nvmlShutdown()
    except Exception as exc:  # noqa: BLE001 - recorded, not fatal
        info["nvml_error"] = str(exc)
    return info


def expectations(result: GpuGemmResult) -> tuple[GpuGemmResult, list[str]]:
    """Attach the catalog's peaks (when the card is in the catalog) and the sentences."""
    try:
        from rigready.assess.hardware import GpuInfo
        from rigready.assess.match import match_gpu
        from rigready.catalog import default_catalog

        entry = match_gpu(GpuInfo(vendor="nvidia", name=result.device_name or "",
                                  vram_bytes=result.vram_bytes), default_catalog().gpus).entry
    except Exception as exc:  # noqa: BLE001
        return result, [f"catalog unavailable: {exc}"]
    if entry is None:
        return result, ["no catalog entry"]
    result = with_expected(result, expected_gpu_tflops(entry))
    return result, [c.sentence for c in compare_gpu_result(result, entry)]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", nargs="?", default=os.environ.get("OUT", "."))
    parser.add_argument("--sustained-s", type=float, default=60.0)
    parser.add_argument("--storage", action="store_true", help="also run the quick storage test")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t_import = time.perf_counter()
    import torch

    torch.cuda.init()
    torch.zeros(1, device="cuda")
    init_s = time.perf_counter() - t_import
    record: dict[str, Any] = {"machine": machine(), "torch_import_and_cuda_init_s": init_s}
    print(json.dumps(record["machine"]), flush=True)

    record["int8_layouts_tops"] = int8_layouts()
    print(f"int8 layouts: {record['int8_layouts_tops']}", flush=True)
    quick, wall, gap = drive(run_gpu_gemm("quick"))
    quick, sentences = expectations(quick)
    ref = reference_bf16()
    quick2, wall2, gap2 = drive(run_gpu_gemm("quick"))
    bf16 = quick.measurement("bf16")
    bf16_2 = quick2.measurement("bf16")
    ratio = bf16.tflops / ref["tflops_median"] if bf16 else None
    ratio2 = bf16_2.tflops / ref["tflops_median"] if bf16_2 else None
    record.update({
        "quick": result_to_dict(quick), "quick_wall_s": wall, "quick_max_gap_s": gap,
        "comparisons": sentences, "reference_bf16": ref, "quick_bf16_over_reference": ratio,
        "quick_again": result_to_dict(quick2), "quick_again_wall_s": wall2,
        "quick_again_max_gap_s": gap2, "quick_again_bf16_over_reference": ratio2,
    })
    for m in quick.measurements:
        t = m.telemetry
        print(f"{m.dtype:5} n={m.n} {m.tflops:8.1f} TFLOP/s (p20 {m.gflops_p20 / 1e3:.1f}, "
              f"p80 {m.gflops_p80 / 1e3:.1f}, {m.repeats} products) "
              f"{'' if t is None else f'{t.sm_clock_mhz_median} MHz {t.temperature_c_max} C'} "
              f"{'' if t is None else f'{t.power_w_median} W {t.throttle_reasons}'}", flush=True)
    for s in quick.skipped:
        print(f"skipped {s.dtype}: {s.reason}")
    print(f"quick wall {wall:.2f} s (max gap {gap:.2f} s); again {wall2:.2f} s", flush=True)
    print(f"reference bf16 {ref['tflops_median']:.1f} TFLOP/s; quick/ref = {ratio}; "
          f"again/ref = {ratio2}", flush=True)
    print("\n".join(sentences), flush=True)
    (out / "gpu_gemm_proof.json").write_text(json.dumps(record, indent=1, default=str))

    if args.sustained_s > 0:
        sus, wall3, gap3 = drive(run_gpu_gemm("sustained", sustained_s=args.sustained_s))
        record.update({"sustained": result_to_dict(sus), "sustained_wall_s": wall3,
                       "sustained_max_gap_s": gap3})
        if sus.sustained is not None:
            tr = sus.sustained
            print(f"sustained {tr.dtype}: first {tr.first_gflops / 1e3:.1f}, last "
                  f"{tr.last_gflops / 1e3:.1f} TFLOP/s; {tr.verdict}", flush=True)
            for p in tr.points[:: max(1, len(tr.points) // 12)]:
                print(f"  t={p.t_s:5.1f}s {p.gflops / 1e3:7.1f} TFLOP/s {p.sm_clock_mhz} MHz "
                      f"{p.temperature_c} C {p.power_w} W", flush=True)
        (out / "gpu_gemm_proof.json").write_text(json.dumps(record, indent=1, default=str))

    gen = run_gpu_gemm("sustained", sustained_s=30.0)
    t_start = time.perf_counter()
    for _ in gen:
        if time.perf_counter() - t_start > 2.0:
            break
    t_close = time.perf_counter()
    gen.close()
    record["cancel_latency_s"] = time.perf_counter() - t_close
    print(f"cancel: gen.close() returned after {record['cancel_latency_s']:.3f} s", flush=True)
    (out / "gpu_gemm_proof.json").write_text(json.dumps(record, indent=1, default=str))

    if args.storage:
        from rigready.assess.bench.storage import run_storage

        st, wall4, gap4 = drive(run_storage(Path.cwd(), quick=True, force=True))
        record.update({"storage": result_to_dict(st), "storage_wall_s": wall4,
                       "storage_max_gap_s": gap4})
        for r in st.results:
            print(f"{r.test:12} {r.operation:5} {r.mb_s:9.1f} MB/s {r.iops:9.0f} IOPS "
                  f"{r.latency_us:8.1f} us", flush=True)
        print(f"storage {st.filesystem} on {st.device}, direct={st.direct_io}, wall "
              f"{wall4:.1f} s, max gap {gap4:.2f} s", flush=True)
        (out / "gpu_gemm_proof.json").write_text(json.dumps(record, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
