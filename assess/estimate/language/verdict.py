"""Does a language model's job fit: the verdict, CPU offload and its slowdown, the largest batch
and sequence length that fit, and the cheapest changes that make a job fit."""

from __future__ import annotations

from dataclasses import replace

from rigready.assess.estimate.breakdown import MemoryBreakdown
from rigready.assess.estimate.fit import band_verdict, largest_passing
from rigready.assess.estimate.gpu import GpuTarget
from rigready.assess.estimate.inputs import Workload
from rigready.assess.estimate.language.memory import memory, weight_bytes
from rigready.assess.estimate.language.stack import error_band
from rigready.assess.estimate.language.timing import flops_per_token
from rigready.assess.estimate.model import ModelShape
from rigready.assess.estimate.result import Status, Suggestion, Verdict
from rigready.assess.units import GIB

#: Host memory bandwidth assumed for a CPU optimizer step (dual-channel DDR4/DDR5), GB/s.
HOST_RAM_GB_S = 30.0


def _fits(total: int, vram: int) -> bool:
    return total <= vram


def judge(shape: ModelShape, wl: Workload, mem: MemoryBreakdown, gpu: GpuTarget,
          ram_available: int | None = None) -> Verdict:
    """Fits / tight / offload / no for ``gpu``, with the offload slowdown.

    "fits" only when the estimate plus its own measured error band (:func:`error_band`) stays
    inside VRAM; a fit inside the band is "tight".
    """
    vram, total = gpu.vram_bytes, mem.total
    gib = f"{total / GIB:.1f} of {vram / GIB:.1f} GiB"
    within = band_verdict(total, vram, error_band(wl))
    if within is not None:
        return within
    offloaded, slowdown, why = _offload(shape, wl, mem, gpu)
    if offloaded is None:
        return Verdict("no", vram, total, None, (f"needs {gib}", why))
    if ram_available is not None and offloaded > ram_available:
        return Verdict("no", vram, total, None, (
            f"needs {gib}; offloading {offloaded / GIB:.1f} GiB to the CPU would need more "
            f"than the {ram_available / GIB:.1f} GiB of RAM available",))
    slow = f"about {slowdown:.1f}x slower" if slowdown else "slowdown unknown"
    return Verdict("offload", vram, total, slowdown, (
        f"needs {gib}; fits only by keeping {offloaded / GIB:.1f} GiB in system RAM ({why}), "
        f"{slow}",), offloaded_bytes=offloaded)


def _offload(shape: ModelShape, wl: Workload, mem: MemoryBreakdown,
             gpu: GpuTarget) -> tuple[int | None, float | None, str]:
    """Bytes moved to the CPU, the slowdown, and how (None bytes: cannot fit even so)."""
    over = mem.total - gpu.vram_bytes
    pcie = (gpu.pcie_gb_s or 12.0) * 1e9
    if wl.method == "full":
        # ZeRO-Offload: optimizer states (and fp32 masters) live and step on the CPU
        moved = mem.optimizer + (mem.weights // 2 if wl.resolved_precision.startswith("amp")
                                 else 0)
        if moved < over:
            return None, None, "even with the optimizer offloaded to the CPU it does not fit"
        p = shape.params // wl.gpus
        t_off = (16 * p) / (HOST_RAM_GB_S * 1e9) + 4 * p / pcie
        how = "DeepSpeed ZeRO-Offload of the optimizer"
        cpu_bytes = int(1.5 * (moved + 4 * p))
    else:
        # frozen weights stay in RAM and stream over PCIe (accelerate device_map offload)
        if wl.method == "qlora":
            return None, None, ("keeping part of a 4-bit QLoRA base in system RAM is not "
                                "modelled (never measured here), so no offload verdict")
        if over > mem.weights * 0.9:
            return None, None, "even with most weights in system RAM it does not fit"
        moved = over
        passes = 1 if wl.method == "inference" else 2
        t_off = passes * moved / pcie
        how = "layers streamed from system RAM over PCIe"
        cpu_bytes = int(moved)
    t_gpu = _step_seconds(shape, wl, gpu)
    slowdown = None if t_gpu is None else (t_gpu + t_off) / t_gpu
    return cpu_bytes, slowdown, how


def _step_seconds(shape: ModelShape, wl: Workload, gpu: GpuTarget) -> float | None:
    if wl.method == "inference":
        if not gpu.bandwidth_gb_s:
            return None
        return weight_bytes(shape, wl) / (0.5 * gpu.bandwidth_gb_s * 1e9)
    peak = gpu.peak_tflops("fp32" if wl.resolved_precision == "fp32" else "bf16")
    if not peak:
        return None
    tokens = wl.batch * wl.seq_len
    return tokens * flops_per_token(shape, wl, wl.seq_len) / (0.35 * peak * 1e12)


def max_batch(shape: ModelShape, wl: Workload, vram: int, limit: int = 4096) -> int:
    """Largest micro-batch that fits in ``vram`` (0: not even one)."""
    return largest_passing(1, limit,
                    lambda b: _fits(memory(shape, replace(wl, batch=b), vram).total, vram))


def max_seq(shape: ModelShape, wl: Workload, vram: int) -> int:
    """Longest sequence (prompt for inference) that fits at the chosen batch (0: none)."""
    limit = shape.max_positions or 131072
    if not wl.training:
        limit = max(1, limit - wl.new_tokens)
    return largest_passing(1, int(limit),
                    lambda s: _fits(memory(shape, replace(wl, seq_len=s), vram).total, vram))


def suggestions(shape: ModelShape, wl: Workload, vram: int,
                more_gpus: bool = True) -> tuple[Suggestion, ...]:
    """Changes that make the job fit, cheapest first (each tried on its own).

    ``more_gpus``: whether "N GPUs of this kind" is offered (not for one consumer card, where
    it means buying a second card and a board and PSU that take it). A variant that equals the
    job as it is (checkpointing already on) is never listed.
    """
    cands: list[tuple[str, Workload]] = []
    training = wl.training
    if training and not wl.checkpointing:
        cands.append(("gradient checkpointing (about 30% slower)",
                      replace(wl, checkpointing=True)))
    b = max_batch(shape, wl, vram)
    if 0 < b < wl.batch:
        steps = -(-wl.batch // b)
        extra = f" with {steps} gradient-accumulation steps" if training else ""
        cands.append((f"batch size {b}{extra}", replace(wl, batch=b)))
    if wl.method == "full":
        if wl.optimizer == "adamw":
            cands.append(("8-bit AdamW (bitsandbytes)", replace(wl, optimizer="adamw-8bit")))
        if wl.resolved_precision.startswith("amp"):
            cands.append(("pure bf16 weights and optimizer instead of AMP",
                          replace(wl, precision="bf16")))
        cands.append(("LoRA instead of full fine-tuning",
                      replace(wl, method="lora", precision="bf16")))
        if not wl.checkpointing:
            cands.append(("LoRA with gradient checkpointing",
                          replace(wl, method="lora", precision="bf16", checkpointing=True)))
    if wl.method in ("full", "lora"):
        cands.append(("QLoRA (4-bit base)", replace(wl, method="qlora", precision="nf4")))
        if not wl.checkpointing:
            cands.append(("QLoRA with gradient checkpointing",
                          replace(wl, method="qlora", precision="nf4", checkpointing=True)))
    if wl.method == "inference" and wl.resolved_precision not in ("int8", "nf4"):
        cands.append(("8-bit weights (bitsandbytes int8)", replace(wl, precision="int8")))
        cands.append(("4-bit weights (nf4)", replace(wl, precision="nf4")))
    s = max_seq(shape, wl, vram)
    if 0 < s < wl.seq_len:
        cands.append((f"sequence length {s}", replace(wl, seq_len=s)))
    for g in (2, 4, 8) if more_gpus else ():  # the fewest GPUs that fit
        if g > wl.gpus and memory(shape, replace(wl, gpus=g), vram).total <= vram:
            cands.append((f"{g} GPUs of this kind" + (" (FSDP)" if training else ""),
                          replace(wl, gpus=g)))
            break
    out: list[Suggestion] = []
    for label, changed in cands:
        if changed == wl:  # the job as it is: not a change
            continue
        total = memory(shape, changed, vram).total
        if total <= vram:
            out.append(Suggestion(label, total, _status(total, vram, changed), changed))
    if not out:
        combined = _combined(shape, wl, vram)
        if combined is not None:
            out.append(combined)
    if not any(o.status == "fits" and o.workload is not None and _same_job(wl, o.workload)
               for o in out):
        stacked = _same_job_stack(shape, wl, vram)
        if stacked is not None and all(o.change != stacked.change for o in out):
            out.append(stacked)
    return tuple(out)


def _same_job(wl: Workload, changed: Workload) -> bool:
    """Whether ``changed`` is still the job asked for: no shorter sequence, fewer generated
    tokens or smaller image (a training micro-batch with accumulation keeps the batch)."""
    return (changed.seq_len >= wl.seq_len and changed.new_tokens >= wl.new_tokens
            and (changed.image_size or 0) >= (wl.image_size or 0)
            and (changed.batch >= wl.batch or wl.training))


def _same_job_stack(shape: ModelShape, wl: Workload, vram: int) -> Suggestion | None:
    """A training job as asked, with the free settings that keep it stacked until it fits with
    room: gradient checkpointing, 8-bit AdamW (full fine-tuning), then the largest micro-batch
    that fits with room, with gradient accumulation making up the same effective batch. None
    when even all of them leave no room (a single change or a smaller job is then the answer)."""
    if not wl.training:
        return None
    steps: list[tuple[str, Workload]] = []
    current = wl
    if not wl.checkpointing:
        current = replace(current, checkpointing=True)
        steps.append(("gradient checkpointing", current))
    if wl.method == "full" and wl.optimizer == "adamw":
        current = replace(current, optimizer="adamw-8bit")
        steps.append(("8-bit AdamW", current))
    if wl.batch > 1:
        base = current

        def roomy(b: int) -> bool:
            total = memory(shape, replace(base, batch=b), vram).total
            return total <= vram and _status(total, vram, base) == "fits"
        b = largest_passing(1, wl.batch - 1, roomy)
        if b > 0:
            steps.append((f"batch size {b} with {-(-wl.batch // b)} gradient-accumulation "
                          "steps", replace(base, batch=b)))
    for n, (_, changed) in enumerate(steps, 1):
        total = memory(shape, changed, vram).total
        if n > 1 and _status(total, vram, changed) == "fits" and total <= vram:
            return Suggestion(" + ".join(label for label, _ in steps[:n]), total, "fits",
                              changed)
    return None


def _status(total: int, vram: int, wl: Workload) -> Status:
    return "fits" if total * (1 + error_band(wl)) <= vram else "tight"


def _combined(shape: ModelShape, wl: Workload, vram: int) -> Suggestion | None:
    """When no single change is enough: stack the usual ones until it fits."""
    steps: list[tuple[str, Workload]] = []
    current = wl
    if wl.training and not wl.checkpointing:
        current = replace(current, checkpointing=True)
        steps.append(("gradient checkpointing", current))
    if wl.method in ("full", "lora"):
        current = replace(current, method="qlora", precision="nf4")
        steps.append(("QLoRA", current))
    if wl.method == "inference" and wl.resolved_precision not in ("nf4",):
        current = replace(current, precision="nf4")
        steps.append(("4-bit weights", current))
    for label, changed in steps:
        total = memory(shape, changed, vram).total
        if total <= vram:
            return Suggestion(" + ".join(s for s, _ in steps[: steps.index((label, changed)) + 1]),
                              total, _status(total, vram, changed), changed)
    labels = [s for s, _ in steps]
    b = max_batch(shape, current, vram)
    if b > 0:
        current = replace(current, batch=b)
        labels.append(f"batch size {b}")
    else:
        was_batch = current.batch
        current = replace(current, batch=1)
        s = max_seq(shape, current, vram)
        if s <= 0:
            return None
        current = replace(current, seq_len=s)
        # name only what changes: a batch already at 1 is not a suggestion
        labels.append(f"sequence length {s}" if was_batch == 1
                      else f"batch size 1 and sequence length {s}")
    total = memory(shape, current, vram).total
    return (Suggestion(" + ".join(labels), total, _status(total, vram, current), current)
            if total <= vram else None)
