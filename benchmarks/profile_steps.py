"""Where a training or sampling step's time goes on the GPU (issue 22 item 5: the step-time
cases the model misses), from ``torch.profiler`` traces of the cases as
``calibrate_vision_speed.py`` builds and times them.

For each case, alone on the GPU, one process: the model is built exactly as the speed record's
child builds it; ``_timed``'s warm-up and timed steps run as the record's child runs them (so
``step_seconds`` is a clean re-measure, alone on the GPU), then as many steps again under the
profiler. The summary per case: wall time per step, GPU busy time per step (the union of kernel
intervals), the time per kernel class (convolutions, GEMMs, attention, normalisation,
elementwise and reductions, the optimizer, layout transposes, copies), kernels and host
operators per step, and the 25 kernels that take longest in all.

    python3 benchmarks/profile_steps.py --out DIR [--cases a,b,...]   # on the GPU machine
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

#: The cases outside 0.8-1.25x after issue 22, and one that agrees beside each for contrast.
DEFAULT_CASES = (
    "resnet50-full-fp32-b32-224px",
    "resnet50-full-amp-bf16-b64-224px",
    "efficientnet_b3-full-amp-bf16-b32-300px",
    "efficientnet_b0-full-amp-bf16-b64-224px",
    "sdxl-inference-b2-768px",
    "sd15-inference-b4-512px",
    "sd15-lora-b8-512px-ckpt",
    "sd15-lora-b2-768px",
)

#: Kernel classes, first match wins (lower-case substrings of the kernel's name).
CLASSES = (
    ("optimizer", ("multi_tensor", "adam")),
    ("attention", ("flash", "fmha", "attention", "sdpa", "cutlassf")),
    ("layout", ("nchwtonhwc", "nhwctonchw", "transpose", "permute")),
    ("convolution", ("conv", "implicit", "dgrad", "wgrad", "fprop", "xmma", "winograd",
                     "depthwise", "im2col", "fft")),
    ("gemm", ("gemm", "cublas", "cutlass", "sm90_", "sm80_", "nvjet", "splitk")),
    ("normalisation", ("batch_norm", "bn_", "norm", "welford")),
    ("copy", ("memcpy", "memset", "copy")),
    ("elementwise", ("",)),
)


def kernel_class(name: str) -> str:
    """The class of a CUDA kernel by its name."""
    low = name.lower()
    for cls, keys in CLASSES:
        if any(k in low for k in keys):
            return cls
    return "elementwise"


def _union_us(spans: list[tuple[float, float]]) -> float:
    busy, end = 0.0, float("-inf")
    for s, e in sorted(spans):
        if e <= end:
            continue
        busy += e - max(s, end)
        end = e
    return busy


def summarise(trace: dict[str, Any], steps: int) -> dict[str, Any]:
    """Per-step GPU figures from a Chrome trace ``torch.profiler`` exported."""
    kernels: list[dict[str, Any]] = []
    host_ops = 0
    for ev in trace.get("traceEvents", []):
        if ev.get("ph") != "X":
            continue
        cat = ev.get("cat", "")
        if cat in ("kernel", "gpu_memcpy", "gpu_memset"):
            kernels.append(ev)
        elif cat == "cpu_op":
            host_ops += 1
    spans = [(float(k["ts"]), float(k["ts"]) + float(k["dur"])) for k in kernels]
    by_class: dict[str, float] = {}
    by_name: dict[str, list[float]] = {}
    for k in kernels:
        name = str(k.get("name", "?"))
        by_class[kernel_class(name)] = by_class.get(kernel_class(name), 0.0) + float(k["dur"])
        entry = by_name.setdefault(name, [0.0, 0.0])
        entry[0] += float(k["dur"])
        entry[1] += 1
    top = sorted(by_name.items(), key=lambda kv: -kv[1][0])[:25]
    return {
        "gpu_busy_ms_per_step": round(_union_us(spans) / 1000 / steps, 3),
        "kernel_ms_per_step": round(sum(float(k["dur"]) for k in kernels) / 1000 / steps, 3),
        "kernels_per_step": round(len(kernels) / steps, 1),
        "host_ops_per_step": round(host_ops / steps, 1),
        "class_ms_per_step": {c: round(v / 1000 / steps, 3)
                              for c, v in sorted(by_class.items(), key=lambda kv: -kv[1])},
        "top_kernels": [{"name": n[:160], "class": kernel_class(n),
                         "ms_per_step": round(v[0] / 1000 / steps, 3),
                         "calls_per_step": round(v[1] / steps, 1)} for n, v in top],
    }


def _child(case: dict[str, Any], out: str, conn: Any) -> None:
    import calibrate_vision_speed as cvs
    import torch

    holder: dict[str, Any] = {}

    plain_timed = cvs._timed

    def profiled(step: Any, warmup: int, timed: int) -> list[float]:
        # first the record's own timing, unprofiled (a clean re-measure of the step), then
        # the same number of steps again under the profiler
        times = plain_timed(step, warmup, timed)
        acts = [torch.profiler.ProfilerActivity.CPU, torch.profiler.ProfilerActivity.CUDA]
        profiled_times = []
        with torch.profiler.profile(activities=acts) as prof:
            for _ in range(timed):
                t0 = time.perf_counter()
                step()
                torch.cuda.synchronize()
                profiled_times.append(time.perf_counter() - t0)
        holder["profiled_step_times_s"] = [round(t, 5) for t in profiled_times]
        path = Path(out) / f"{case['name']}.trace.json"
        prof.export_chrome_trace(str(path))
        holder["trace"] = str(path)
        holder["steps"] = timed
        return times

    cvs._timed = profiled
    try:
        kind = case["kind"]
        rec = cvs._vision(case) if kind == "vision" else cvs._diffusion(case)
        trace = json.loads(Path(holder["trace"]).read_text("utf-8"))
        rec["profile"] = summarise(trace, holder["steps"])
        rec["profile"]["profiled_step_times_s"] = holder["profiled_step_times_s"]
        rec["status"] = "ok"
    except Exception as exc:  # noqa: BLE001 - the record keeps what went wrong
        rec = {"status": "error", "error": f"{type(exc).__name__}: {exc}"[:400]}
    conn.send(rec)


def main(argv: list[str] | None = None) -> int:
    import calibrate_vision_speed as cvs

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--cases", default=",".join(DEFAULT_CASES))
    parser.add_argument("--case-timeout-s", type=float, default=90.0)
    args = parser.parse_args(argv)
    wanted = [c for c in args.cases.split(",") if c]
    known = {c["name"]: c for g in ("vision", "diffusion") for c in cvs.grid(g)}
    missing = [c for c in wanted if c not in known]
    if missing:
        print(f"profile_steps: unknown case(s): {', '.join(missing)}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    ctx = mp.get_context("spawn")
    results = []
    for name in wanted:
        parent, child = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_child, args=(known[name], str(args.out), child))
        t0 = time.perf_counter()
        proc.start()
        rec: dict[str, Any] = {"status": "timeout"}
        if parent.poll(args.case_timeout_s):
            rec = parent.recv()
        proc.join(10)
        if proc.is_alive():
            proc.kill()
        rec["name"] = name
        rec["wall_seconds"] = round(time.perf_counter() - t0, 1)
        prof = rec.get("profile", {})
        print(f"{name}: {rec['status']} step {rec.get('step_seconds')} s, gpu busy "
              f"{prof.get('gpu_busy_ms_per_step')} ms, {prof.get('class_ms_per_step')}",
              flush=True)
        results.append(rec)
    (args.out / "profile_steps.json").write_text(json.dumps(
        {"schema": "rigready-profile-steps", "version": 1,
         "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "cases": results},
        indent=1), "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
