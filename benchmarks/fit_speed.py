"""Fit and report the step-time model against the committed H200 measurements.

Usage: python benchmarks/fit_speed.py [--fit]   (prints per-case ratios, median and worst)
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import statistics
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# rigready.* from a checkout with nothing installed (made by packaging/pkgroot.py)
sys.path.insert(0, str(ROOT / "build" / "pkgroot"))

from rigready.assess.estimate import kernels  # noqa: E402
from rigready.assess.estimate.inputs import Workload  # noqa: E402
from rigready.assess.estimate.language import speed  # noqa: E402
from rigready.assess.estimate.shapes import shape_from_config_file  # noqa: E402

RECORD = ROOT / "tests" / "data" / "calibration" / "vision-speed" / "h200-2026-12-01.json"


def lm_cases(holdout: bool | None = None) -> list[tuple[dict[str, Any], Any, Workload, float]]:
    """(record, shape, workload, measured step seconds) of the LM training cases."""
    doc = json.loads(RECORD.read_text("utf-8"))
    out = []
    for c in doc["cases"]:
        r = c["result"]
        if c["kind"] != "lm" or c["method"] == "inference" or r.get("status") != "ok":
            continue
        if c["config"].startswith("tiny") or (holdout is not None
                                              and bool(c.get("holdout")) != holdout):
            continue
        shape = shape_from_config_file(ROOT / "tests/data/hf_configs" / f"{c['config']}.json")
        ex = c["extra"]
        wl = Workload(method=c["method"], precision=c["precision"], batch=c["batch"],
                      seq_len=c["seq"], checkpointing=bool(ex.get("checkpointing")),
                      lora_targets=tuple(ex.get("lora_targets", ("q_proj", "v_proj"))))
        out.append((c, shape, wl, float(r["step_seconds"])))
    return out


def gemm_rows() -> list[dict[str, Any]]:
    doc = json.loads(RECORD.read_text("utf-8"))
    rows: list[dict[str, Any]] = next(
        c for c in doc["cases"] if c["name"] == "gemm-sweep")["result"]["gemm"]
    return rows


def gemm_errors() -> list[float]:
    rates = kernels.REF_TFLOPS
    errs = []
    for r in gemm_rows():
        pred = kernels.gemm_seconds(r["m"], r["k"], r["n"], r["dtype"], rates[r["dtype"]],
                                    kernels.REF_BANDWIDTH_GB_S,
                                    4 if r["dtype"] in ("tf32", "fp32") else 2)
        errs.append(pred / r["seconds"])
    return errs


def predict(shape: Any, wl: Workload, peak: float | None = None,
            bandwidth: float | None = None) -> float:
    """A training step on the calibration H200 (or a GPU of ``peak`` TFLOP/s in the step's
    dtype and ``bandwidth`` GB/s)."""
    dt = speed.matmul_dtype(wl)
    rates = speed.rates_for(peak or kernels.REF_TFLOPS[dt],
                            bandwidth or kernels.REF_BANDWIDTH_GB_S, dt, reference=peak is None)
    return speed.training_step(shape, wl, wl.seq_len, rates).total_s


def h100_cases() -> list[tuple[dict[str, Any], Any, Workload, float, float, float]]:
    """The capped record's speed phase (H100, alone): (case, shape, workload, measured, H100
    bf16 peak, bandwidth)."""
    from rigready.assess.estimate.shapes import shape_from_config
    from rigready.assess.names import find_gpu
    from rigready.catalog.loader import load_catalog

    gpu = find_gpu("h100-sxm", load_catalog(None).gpus)
    out = []
    for path in sorted((ROOT / "tests" / "data" / "calibration" / "capped").glob("*.json")):
        doc = json.loads(path.read_text("utf-8"))
        for run in doc["runs"]:
            case = doc["cases"][run["name"]]
            if run["role"] != "speed" or case["kind"] != "speed-lm":
                continue
            spec = case["spec"]
            cfg = {k: v for k, v in spec["config"].items() if not k.startswith("_")}
            wl = Workload(method="full", precision=spec["precision"], batch=spec["batch"],
                          seq_len=spec["seq"], checkpointing=spec["checkpointing"])
            out.append((case, shape_from_config(cfg, case["config"]), wl,
                        float(run["result"]["step_seconds"]), float(gpu.bf16_tflops or 0),
                        float(gpu.memory_bandwidth_gb_s)))
    return out


def report(cases: list[tuple[dict[str, Any], Any, Workload, float]]) -> list[float]:
    ratios = []
    for c, shape, wl, measured in cases:
        p = predict(shape, wl)
        ratios.append(p / measured)
        print(f"  {c['name']:<48} measured {measured * 1000:8.1f} ms  predicted "
              f"{p * 1000:8.1f} ms  ratio {p / measured:5.2f}")
    return ratios


def _score(cases: list[Any], h100: list[Any] = ()) -> float:  # type: ignore[assignment]
    return max([abs(math.log(predict(s, w) / m)) for _, s, w, m in cases]
               + [abs(math.log(predict(s, w, p, b) / m)) for _, s, w, m, p, b in h100])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fit", action="store_true")
    args = parser.parse_args()
    if args.fit:
        kept = (dict(kernels.GEMM_EFFICIENCY), kernels.GEMM_LAUNCH_S)
        best = None
        for eff, launch in itertools.product((0.6, 0.65, 0.7, 0.75), (6e-6, 9e-6, 12e-6, 15e-6)):
            kernels.GEMM_EFFICIENCY = {k: eff for k in kernels.GEMM_EFFICIENCY}
            kernels.GEMM_LAUNCH_S = launch
            e = gemm_errors()
            score = statistics.median(abs(math.log(x)) for x in e)
            if best is None or score < best[0]:
                best = (score, eff, launch)
        print("gemm fit", best)
        kernels.GEMM_EFFICIENCY, kernels.GEMM_LAUNCH_S = kept  # the step fit keeps today's
        train = lm_cases(holdout=False)
        h100 = h100_cases()
        best2 = None
        for tr, so, lo, hs, lt in itertools.product(
                (4, 6, 8, 10), (0.0, 0.002, 0.004, 0.006),
                (0.0015, 0.002, 0.0025, 0.003), (0.25, 0.4, 0.5, 0.6),
                (24.0, 36.0, 48.0, 64.0)):
            speed.ELEMENTWISE_TRAFFIC, speed.STEP_OVERHEAD_S = tr, so
            speed.LAYER_OVERHEAD_S, speed.HOST_SERIAL_SHARE = lo, hs
            speed.LOSS_TRAFFIC = lt
            score = _score(train, h100)
            if best2 is None or score < best2[0]:
                best2 = (score, tr, so, lo, hs, lt)
        assert best2 is not None
        print(f"step fit: worst ratio {math.exp(best2[0]):.2f}: ELEMENTWISE_TRAFFIC "
              f"{best2[1]}, STEP_OVERHEAD_S {best2[2]}, LAYER_OVERHEAD_S {best2[3]}, "
              f"HOST_SERIAL_SHARE {best2[4]}, LOSS_TRAFFIC {best2[5]}")
        return 0
    e = gemm_errors()
    print(f"GEMM sweep: {len(e)} shapes, median ratio {statistics.median(e):.2f}, "
          f"range {min(e):.2f}-{max(e):.2f}")
    for label, flag in (("fitted", False), ("held out", True)):
        print(f"LM training steps, {label}:")
        r = report(lm_cases(holdout=flag))
        print(f"  median |error| {statistics.median(abs(x - 1) for x in r):.1%}, "
              f"worst ratio {min(r):.2f} / {max(r):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
