"""Every step time the committed records measured, beside the estimator's figure for the same
job on the same GPU (issue 22, item 5: within 0.8-1.25x on every measured case).

Records and what a case's "step" is:

- ``vision-speed/h200-2026-12-01.json`` (H200, one job at a time): language-model training
  steps (124M-8B), classifier training and inference steps, Stable Diffusion LoRA steps and
  whole sampling runs, ``generate()`` decode steps;
- ``h200-2026-12-01*.json`` (H200 memory calibration, one job at a time): training steps,
  QLoRA included;
- ``capped/h100-2026-12-06.json`` (H100): the ``speed`` phase, run alone (fp32 classifiers
  with PyTorch's TF32 defaults and flipped, full fine-tuning of large-vocabulary models).

The capped phase's other runs shared the GPU with up to a dozen others (several capped runs at
once), so their step times are not a figure of the job alone: they are listed as
``shared GPU`` (T5, Whisper, Gemma 3, SD3.5 / FLUX.1 among them) and kept out of the target.

    python benchmarks/speed_records.py      # one line per case, the worst ratios first
"""

from __future__ import annotations

import json
import math
import statistics
import sys
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "build" / "pkgroot"))

import calibrate_capped_report as report  # noqa: E402
import fit_image_memory as fim  # noqa: E402
import fit_speed as fs  # noqa: E402

from rigready.assess.estimate import (  # noqa: E402
    Estimate,
    EstimateError,
    GpuTarget,
    Workload,
    estimate,
    gpu_from_entry,
)
from rigready.assess.estimate.image.shapes import image_shape  # noqa: E402
from rigready.assess.estimate.language import speed  # noqa: E402
from rigready.assess.estimate.language.memory import kv_cache_bytes, weight_bytes  # noqa: E402
from rigready.assess.estimate.shapes import shape_from_config  # noqa: E402
from rigready.assess.measure.workload import head_for_task  # noqa: E402
from rigready.assess.names import find_gpu  # noqa: E402
from rigready.catalog.loader import load_catalog  # noqa: E402

DATA = HERE.parent / "tests" / "data" / "calibration"
#: The target of issue 22 for every case measured alone.
LOW, HIGH = 0.8, 1.25

Case = tuple[str, str, float, float]  # label, record, predicted seconds, measured seconds


def h100() -> GpuTarget:
    """The catalog entry of the capped record's GPU (H100 SXM5 80 GB)."""
    return gpu_from_entry(find_gpu("h100-sxm", load_catalog(None).gpus))


def h200_lm() -> Iterator[Case]:
    """Training steps of the vision-speed record's language-model phase."""
    for record, shape, wl, measured in fs.lm_cases():
        yield record["name"], "vision-speed (H200)", fs.predict(shape, wl), measured


def h200_memory_records() -> Iterator[Case]:
    """Training steps of the H200 memory-calibration records."""
    for path in sorted(DATA.glob("h200-*.json")):
        doc = json.loads(path.read_text("utf-8"))
        for c in doc["cases"]:
            r = c["result"]
            if r.get("status") != "ok" or not r.get("step_seconds") or \
                    c["method"] == "inference":
                continue
            wl = Workload(method=c["method"], precision=c["precision"], batch=c["batch"],
                          seq_len=c["seq"], checkpointing=c["checkpointing"],
                          lora_rank=c["lora_rank"], lora_targets=tuple(c["lora_targets"]),
                          attention=c["attn"], head=head_for_task(c.get("task", "causal-lm")))
            shape = shape_from_config(doc["configs"][c["config"]], c["config"])
            yield c["name"], path.stem, fs.predict(shape, wl), float(r["step_seconds"])


def h200_images() -> Iterator[Case]:
    """Classifier and Stable Diffusion steps of the vision-speed record."""
    for c in fim.cases():
        ratio, _ = fim.step_ratio(c)
        measured = float(c["result"]["step_seconds"])
        yield c["name"], "vision-speed (H200)", ratio * measured, measured


def h200_decode() -> Iterator[Case]:
    """``generate()`` decode steps of the vision-speed record."""
    doc = json.loads(fs.RECORD.read_text("utf-8"))
    configs = HERE.parent / "tests" / "data" / "hf_configs"
    rates = speed.rates_for(989.0, 4800.0, "bf16", reference=True)
    for c in doc["cases"]:
        if c["kind"] != "lm" or c["method"] != "inference" or c["config"].startswith("tiny"):
            continue
        cfg = json.loads((configs / f"{c['config']}.json").read_text("utf-8"))
        shape = shape_from_config({k: v for k, v in cfg.items() if not k.startswith("_")},
                                  c["config"])
        wl = Workload(method="inference", batch=c["batch"], seq_len=c["seq"],
                      new_tokens=c["extra"]["new_tokens"])
        hf, _ = speed.decode_seconds(shape, weight_bytes(shape, wl) + kv_cache_bytes(shape, wl),
                                     rates)
        yield c["name"], "vision-speed (H200)", hf, float(c["result"]["decode_seconds_per_token"])


def capped_speed_phase() -> Iterator[Case]:
    """The capped record's speed phase (H100, alone on the GPU)."""
    gpu = h100()
    for path in sorted((DATA / "capped").glob("*.json")):
        doc = json.loads(path.read_text("utf-8"))
        for run in doc["runs"]:
            case = doc["cases"][run["name"]]
            if run["role"] != "speed" or run["result"].get("status") != "ok":
                continue
            if case["kind"] == "speed-vision":
                shape = image_shape(case["arch"], case["arch"])
                mode = "all" if case["matmul_tf32"] else \
                    "default" if case["cudnn_tf32"] else "off"
                wl = Workload(method="full", precision="fp32", batch=case["batch"],
                              image_size=case["image"], tf32=mode)  # type: ignore[arg-type]
                est = estimate(shape, wl, gpu, search=False)
            else:
                spec = case["spec"]
                cfg = {k: v for k, v in spec["config"].items() if not k.startswith("_")}
                wl = Workload(method="full", precision=spec["precision"], batch=spec["batch"],
                              seq_len=spec["seq"], checkpointing=spec["checkpointing"])
                est = estimate(shape_from_config(cfg, case["config"]), wl, gpu, search=False)
            t = est.timing.step_seconds
            assert t is not None
            yield case["name"], f"{path.stem} speed (H100)", t, float(run["result"]["step_seconds"])


def capped_shared() -> Iterator[Case]:
    """Generous runs of the capped phase (H100, sharing the GPU): indicative only."""
    gpu = h100()
    cases, runs, _ = report.load(sorted((DATA / "capped").glob("*.json")))
    for name, case in cases.items():
        if case.get("kind") not in report.JOB_KINDS:
            continue
        gen = next((r["result"] for r in runs.get(name, []) if r["role"] == "generous"
                    and r["result"].get("status") == "ok"), None)
        if gen is None or not gen.get("step_seconds"):
            continue
        try:
            shape, wl = report.workload_of(case)
            est = estimate(shape, wl, gpu, search=False)
        except (EstimateError, KeyError, ValueError):
            continue
        t = _whole_call(est, wl) if wl.method == "inference" else est.timing.step_seconds
        if t:
            yield name, "capped (H100, shared GPU)", t, float(gen["step_seconds"])


def _whole_call(est: Estimate, wl: Workload) -> float | None:
    """A whole ``generate()`` call (prefill and every new token) or a sampling run."""
    t = est.timing
    if t.images_per_s is not None:
        return t.step_seconds
    if not t.decode_tokens_per_s:
        return None
    return (t.prefill_s or 0.0) + wl.new_tokens * wl.batch / t.decode_tokens_per_s


def measured_alone() -> list[Case]:
    """Every case measured with the GPU to itself (the target applies)."""
    return [*h200_lm(), *h200_memory_records(), *h200_images(), *h200_decode(),
            *capped_speed_phase()]


def summary(cases: list[Case]) -> str:
    """The distribution of predicted / measured: median |log ratio| (as a ratio) and the worst
    ratio each way."""
    logs = sorted(math.log(pred / meas) for _, _, pred, meas in cases)
    med = statistics.median(abs(x) for x in logs)
    return (f"median |log ratio| {med:.3f} ({math.exp(med):.2f}x), worst {math.exp(logs[0]):.2f}"
            f" / {math.exp(logs[-1]):.2f}")


def main() -> int:
    """Print every case's ratio, the worst first."""
    alone = measured_alone()
    out = sorted(alone, key=lambda c: -abs(c[2] / c[3] - 1))
    bad = [c for c in alone if not LOW <= c[2] / c[3] <= HIGH]
    print(f"{len(alone)} cases measured alone; {len(bad)} outside {LOW}-{HIGH}x")
    print(summary(alone))
    for label, source, pred, meas in out:
        flag = "" if LOW <= pred / meas <= HIGH else "  <-- outside"
        print(f"{pred / meas:5.2f}  {pred * 1000:9.1f} / {meas * 1000:9.1f} ms  {source}: "
              f"{label}{flag}")
    print("\nshared GPU (indicative only):")
    for label, source, pred, meas in capped_shared():
        print(f"{pred / meas:5.2f}  {pred * 1000:9.1f} / {meas * 1000:9.1f} ms  {source}: "
              f"{label}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
