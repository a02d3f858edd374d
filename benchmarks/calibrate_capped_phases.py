"""The speed and FSDP phases of ``calibrate_capped.py`` against today's estimator (issue 22).

- Speed: fp32 classifier steps with PyTorch's TF32 switches as they come and flipped, and
  full fine-tuning steps of small large-vocabulary models split into forward / backward /
  optimizer plus the output head and loss alone, each beside today's step time for the same
  job on the same GPU (``estimate`` on the catalog's H100 SXM5, the card ``nvidia-smi`` calls
  "NVIDIA H100 80GB HBM3"), with the estimator's own terms and its head matmuls.
- FSDP + QLoRA: per rank, the resident bytes after sharding against the sharding arithmetic
  (every flat parameter's element count x 2 bytes / world, plus what FSDP leaves unsharded),
  the step's peak against "world-1 peak - shards saved + the root unit gathered", and today's
  per-GPU estimate for ``--gpus N``.

    python benchmarks/calibrate_capped_phases.py             # markdown on stdout
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "build" / "pkgroot"))

from rigready.assess.estimate import (  # noqa: E402
    Workload,
    estimate,
    gpu_from_entry,
    kernels,
)
from rigready.assess.estimate.gpu import GpuTarget  # noqa: E402
from rigready.assess.estimate.image.shapes import image_shape  # noqa: E402
from rigready.assess.estimate.language import speed  # noqa: E402
from rigready.assess.estimate.language.memory import fsdp_qlora_memory  # noqa: E402
from rigready.assess.estimate.model import ModelShape  # noqa: E402
from rigready.assess.estimate.shapes import shape_from_config  # noqa: E402
from rigready.assess.names import find_gpu  # noqa: E402
from rigready.catalog.loader import load_catalog  # noqa: E402

GIB = 2**30
RECORDS = HERE.parent / "tests" / "data" / "calibration" / "capped"


def reference_gpu() -> GpuTarget:
    """The catalog entry of the GPU the record was made on (H100 SXM5 80 GB)."""
    return gpu_from_entry(find_gpu("h100-sxm", load_catalog(None).gpus))


def _runs(paths: list[Path], role: str | None = None, kind: str | None = None
          ) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    out = []
    for path in paths:
        doc = json.loads(path.read_text(encoding="utf-8"))
        for run in doc["runs"]:
            case = doc["cases"][run["name"]]
            if (role is None or run["role"] == role) and (kind is None or case["kind"] == kind):
                out.append((case, run))
    return out


def vision_speed(paths: list[Path], gpu: GpuTarget) -> list[str]:
    """fp32 classifier steps: TF32 as PyTorch ships it and flipped, and today's figure."""
    lines = ["| case | cuDNN TF32 / matmul TF32 | measured step ms | today's estimate ms | "
             "estimate / measured |", "|---|---|---|---|---|"]
    for case, run in _runs(paths, "speed", "speed-vision"):
        r = run["result"]
        mode = "all" if case["matmul_tf32"] else "default" if case["cudnn_tf32"] else "off"
        wl = Workload(method="full", precision="fp32", batch=case["batch"],
                      image_size=case["image"], tf32=mode)  # type: ignore[arg-type]
        est = estimate(image_shape(case["arch"], case["arch"]), wl, gpu, search=False)
        t = est.timing.step_seconds or float("nan")
        lines.append(f"| {case['name']} | {case['cudnn_tf32']} / {case['matmul_tf32']} | "
                     f"{r['step_seconds'] * 1000:.1f} | {t * 1000:.1f} | "
                     f"{t / r['step_seconds']:.2f} |")
    defaults = next((run["result"].get("tf32_defaults") for _, run in
                     _runs(paths, "speed", "speed-vision")), None)
    if defaults:
        lines += ["", "PyTorch's switches as the process found them: " + ", ".join(
            f"`{k}` = {v}" for k, v in defaults.items())]
    return lines


def _head_seconds(shape: ModelShape, wl: Workload, rates: speed.Rates, weight_grad: bool) -> float:
    """Today's kernel model of the output head and loss alone: the head's matmuls (forward,
    input gradient, weight gradient when counted) plus the logits' memory traffic."""
    m, h, v = wl.batch * wl.seq_len, shape.hidden_size, shape.vocab_size
    dt = speed.matmul_dtype(wl)
    gemms = [(m, h, v), (m, v, h)] + ([(h, m, v)] if weight_grad else [])
    t = sum(kernels.gemm_seconds(a, b, c, dt, rates.matmul_tflops, rates.bandwidth_gb_s)
            for a, b, c in gemms)
    return t + 24.0 * m * v / (kernels.BANDWIDTH_EFFICIENCY * rates.bandwidth_gb_s * 1e9)


def lm_speed(paths: list[Path], gpu: GpuTarget) -> list[str]:
    """Full fine-tuning steps in parts beside today's step time and its terms."""
    lines = ["| case | vocab, tied | fwd / bwd / opt ms | step ms | head+loss alone ms (share) "
             "| today's step ms (matmul / attn / memory / host) | today / measured | today's "
             "head ms as modelled / with its weight gradient |",
             "|---|---|---|---|---|---|---|---|"]
    for case, run in _runs(paths, "speed", "speed-lm"):
        r, spec = run["result"], case["spec"]
        cfg = {k: v for k, v in spec["config"].items() if not k.startswith("_")}
        shape = shape_from_config(cfg, case["config"])
        wl = Workload(method="full", precision=spec["precision"], batch=spec["batch"],
                      seq_len=spec["seq"], checkpointing=spec["checkpointing"])
        est = estimate(shape, wl, gpu, search=False)
        dt = speed.matmul_dtype(wl)
        peak = gpu.peak_tflops(dt) or 0.0
        rates = speed.rates_for(peak, gpu.bandwidth_gb_s or 0.0, dt)
        st = speed.training_step(shape, wl, wl.seq_len, rates)
        t = est.timing.step_seconds or float("nan")
        counted = not shape.tie_word_embeddings  # the model counts the head's weight grad so
        head_model = _head_seconds(shape, wl, rates, counted)
        head_full = _head_seconds(shape, wl, rates, True)
        ms = [r[f"{k}_seconds"] * 1000 for k in ("forward", "backward", "optimizer", "step")]
        share = r["head_loss_seconds"] / r["step_seconds"]
        lines.append(
            f"| {case['name'].removesuffix('-speed')} | {r['vocab_size']:,}, "
            f"{'tied' if r['tied_embeddings'] else 'untied'} | {ms[0]:.1f} / {ms[1]:.1f} / "
            f"{ms[2]:.1f} | {ms[3]:.1f} | {r['head_loss_seconds'] * 1000:.1f} ({share:.0%}) | "
            f"{t * 1000:.1f} ({st.matmul_s * 1000:.0f} / {st.attention_s * 1000:.0f} / "
            f"{st.memory_s * 1000:.0f} / {st.overhead_s * 1000:.0f}) | "
            f"{t / r['step_seconds']:.2f} | {head_model * 1000:.1f} / {head_full * 1000:.1f} |")
    return lines


def _arith(rank: dict[str, Any], world: int) -> tuple[int, int, int]:
    """(bytes of this rank's shards, the largest unit unsharded, left unsharded) from the flat
    parameters FSDP made (bf16: 2 bytes an element; 4-bit weights stored as bf16 pairs)."""
    flats = rank["flat_params"]
    shards = 2 * sum(f["sharded_numel"] for f in flats)
    root = 2 * max(f["unsharded_numel"] for f in flats)
    unsharded_total = 2 * sum(f["unsharded_numel"] for f in flats)
    rest = int(rank["model_before_fsdp_bytes"]) - unsharded_total
    return shards, root, rest


def fsdp(paths: list[Path]) -> list[str]:
    """Per-rank memory of FSDP + QLoRA against the sharding arithmetic and today's estimate."""
    lines = ["| run | rank | resident after sharding GiB (arithmetic) | step peak allocated / "
             "reserved GiB | process peak GiB | peak predicted from world 1 GiB | step s | "
             "estimate per GPU: allocated / total / needs free GiB |",
             "|---|---|---|---|---|---|---|---|"]
    base: dict[str, int] = {}
    for case, run in _runs(paths, None, "fsdp"):
        r = run["result"]
        if r.get("status") != "ok":
            lines.append(f"| {case['name']} | - | {r.get('status')} | | | | | |")
            continue
        world = int(case["world"])
        ranks = r.get("ranks") or [r]
        cfg = {k: v for k, v in case["config"].items() if not k.startswith("_")}
        shape = shape_from_config(cfg, case["name"])
        wl = Workload(method="qlora", batch=case["batch"], seq_len=case["seq"],
                      checkpointing=True, lora_targets=("all-linear",), gpus=world,
                      param_offload=bool(case.get("offload_params")))
        # FSDP's own world-1 run; a user's --gpus 1 gets the standard recipe
        mem = fsdp_qlora_memory(shape, wl)
        today = (f"{mem.allocated / GIB:.2f} / {mem.total / GIB:.2f} / "
                 f"{mem.needs_free_bytes / GIB:.2f}")
        for rank in ranks:
            shards, root, rest = _arith(rank, world)
            after, peak = int(rank["after_shard_allocated_bytes"]), int(rank["max_allocated_bytes"])
            offload = bool(case.get("offload_params"))
            arith = (0 if offload else shards) + rest
            key = cfg.get("hidden_size", 0)
            if world == 1:
                base[str(key)] = peak - after
            transient = base.get(str(key))
            predicted = ("-" if transient is None or world == 1 else
                         f"{(after + transient + root) / GIB:.2f}")
            proc = r.get("nvml_process_peak_bytes") if world == 1 or case["mode"] == "fake" \
                else None
            steps = rank.get("step_times_s") or []
            lines.append(
                f"| {case['name']} | {rank.get('rank', 0)} | {after / GIB:.3f} ({arith / GIB:.3f}) "
                f"| {peak / GIB:.2f} / {rank['max_reserved_bytes'] / GIB:.2f} | "
                f"{f'{proc / GIB:.2f}' if proc else '-'} | {predicted} | "
                f"{steps[-1] if steps else '-'} | {today} |")
    lines += ["", "Arithmetic: shards = 2 bytes x the rank's flat-parameter elements (nothing "
              "with CPU offload of parameters), plus what FSDP left unsharded (the model before "
              "FSDP less 2 bytes x every flat element: bitsandbytes' quantization statistics). "
              "Predicted peak: this rank's resident bytes + the world-1 run's step transient "
              "(its peak less its resident bytes) + the largest unit unsharded (the root unit: "
              "embeddings, final norm and an untied head, all-gathered for the step when the "
              "world is above 1). Process peaks of gloo ranks are not recorded (the parent "
              "polled the child that spawned them). The estimate: `estimate --method qlora "
              "--lora-targets all-linear --gpus N [--param-offload]` per GPU (Answer.AI's "
              "recipe, assess/estimate/language/sharded.py; before issue 22 it answered 14.95 "
              "GiB total for --gpus 1 and 2: it did not shard the 4-bit weights)."]
    return lines


def main(argv: list[str] | None = None) -> int:
    """Print the three tables."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("records", nargs="*", type=Path)
    args = parser.parse_args(argv)
    paths = args.records or sorted(RECORDS.glob("*.json"))
    if not paths:
        parser.error(f"no capped-run record in {RECORDS}")
    gpu = reference_gpu()
    out = ["### TF32: fp32 classifiers", "", *vision_speed(paths, gpu), "",
           "### Large vocabularies: full fine-tuning steps in parts", "", *lm_speed(paths, gpu),
           "", "### FSDP + QLoRA ranks", "", *fsdp(paths)]
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
