"""Does a language model's job fit: the verdict, CPU offload and its slowdown, the largest batch
and sequence length that fit, and the cheapest changes that make a job fit.

Every check compares the least memory the job needs on a card
(:attr:`~rigready.assess.estimate.breakdown.MemoryBreakdown.needs_free_bytes`) with the memory
available for it (:attr:`~rigready.assess.estimate.gpu.GpuTarget.job_bytes`), never the peak a
roomy card shows."""

from __future__ import annotations

from dataclasses import replace

from rigready.assess.estimate.breakdown import MemoryBreakdown
from rigready.assess.estimate.fit import band_verdict, largest_passing, needs_text, status_of
from rigready.assess.estimate.gpu import GpuTarget
from rigready.assess.estimate.inputs import Workload
from rigready.assess.estimate.language import sharded
from rigready.assess.estimate.language.memory import lora_params, memory, regime, weight_bytes
from rigready.assess.estimate.language.stack import error_band
from rigready.assess.estimate.language.timing import flops_per_token
from rigready.assess.estimate.model import ModelShape
from rigready.assess.estimate.result import Status, Suggestion, Verdict
from rigready.assess.units import GIB

#: Host memory bandwidth assumed for a CPU optimizer step (dual-channel DDR4/DDR5), GB/s.
HOST_RAM_GB_S = 30.0


def _need(shape: ModelShape, wl: Workload, gpu: GpuTarget) -> MemoryBreakdown:
    return memory(shape, wl, gpu.vram_bytes)


def _runs(shape: ModelShape, wl: Workload, gpu: GpuTarget) -> bool:
    return _need(shape, wl, gpu).needs_free_bytes <= gpu.job_bytes


def judge(shape: ModelShape, wl: Workload, mem: MemoryBreakdown, gpu: GpuTarget,
          ram_available: int | None = None) -> Verdict:
    """Fits / tight / offload / no for ``gpu``, with the offload slowdown.

    "fits" only when the job's least need plus its own measured error band
    (:func:`error_band`) stays inside the memory available; a fit inside the band is "tight".
    """
    vram, need = gpu.vram_bytes, mem.needs_free_bytes
    within = band_verdict(mem, gpu, error_band(wl))
    if within is not None:
        return within
    have = f"{gpu.job_bytes / GIB:.1f} GiB available for the job"
    offloaded, slowdown, why = _offload(shape, wl, mem, gpu)
    if offloaded is None:
        return Verdict("no", vram, need, None, (f"{needs_text(mem)}; {have}", why),
                       available_bytes=gpu.job_bytes)
    if ram_available is not None and offloaded > ram_available:
        return Verdict("no", vram, need, None, (
            f"{needs_text(mem)}; {have}; offloading {offloaded / GIB:.1f} GiB to the CPU "
            f"would need more than the {ram_available / GIB:.1f} GiB of RAM available",),
            available_bytes=gpu.job_bytes)
    slow = f"about {slowdown:.1f}x slower" if slowdown else "slowdown unknown"
    return Verdict("offload", vram, need, slowdown, (
        f"{needs_text(mem)}; {have}; fits only by keeping {offloaded / GIB:.1f} GiB in system "
        f"RAM ({why}), {slow}",), offloaded_bytes=offloaded, available_bytes=gpu.job_bytes)


def _offload(shape: ModelShape, wl: Workload, mem: MemoryBreakdown,
             gpu: GpuTarget) -> tuple[int | None, float | None, str]:
    """Bytes moved to the CPU, the slowdown, and how (None bytes: cannot fit even so)."""
    over = mem.needs_free_bytes - gpu.job_bytes
    pcie = (gpu.pcie_gb_s or 12.0) * 1e9
    if wl.method == "qlora" and wl.gpus == 1 and not wl.param_offload:
        return None, None, ("keeping part of a 4-bit QLoRA base in system RAM on one GPU is not "
                            "modelled")
    if wl.gpus > 1 or wl.param_offload:
        return _param_offload(shape, wl, gpu)
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


def _param_offload(shape: ModelShape, wl: Workload,
                   gpu: GpuTarget) -> tuple[int | None, float | None, str]:
    """FSDP with the parameters in system RAM (Answer.AI's FSDP+QLoRA with CPU offload; ZeRO-3
    offload for LoRA and full fine-tuning)."""
    if wl.param_offload:
        return None, None, "even with the parameters in system RAM it does not fit"
    changed = replace(wl, param_offload=True)
    if not _runs(shape, changed, gpu):
        return None, None, "even with the parameters in system RAM (FSDP CPU offload) it " \
            "does not fit"
    trainable = lora_params(shape, regime(shape, wl).targets, wl.lora_rank) \
        if wl.method != "full" else shape.params
    per_rank = 2 * sharded.flat_elements(shape, wl, trainable) // wl.gpus
    if wl.method == "full":
        per_rank += 12 * shape.params // wl.gpus  # fp32 masters and AdamW states in RAM
    t_gpu = _step_seconds(shape, wl, gpu)
    t_off = sharded.offload_seconds(shape, wl, trainable, gpu.pcie_gb_s)
    slowdown = None if t_gpu is None else (t_gpu + t_off) / t_gpu
    how = ("FSDP CPU offload of the parameters (Answer.AI's FSDP+QLoRA recipe); slowdown from "
           "the run measured on an H100 (7.9x there), scaled by this PC's PCIe bandwidth"
           if wl.method == "qlora" else "FSDP / ZeRO-3 with the parameters offloaded to RAM")
    return int(per_rank), slowdown, how


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


def max_batch(shape: ModelShape, wl: Workload, gpu: GpuTarget, limit: int = 4096) -> int:
    """Largest micro-batch that runs on ``gpu`` (0: not even one)."""
    return largest_passing(1, limit, lambda b: _runs(shape, replace(wl, batch=b), gpu))


def max_seq(shape: ModelShape, wl: Workload, gpu: GpuTarget) -> int:
    """Longest sequence (prompt for inference) that runs at the chosen batch (0: none)."""
    limit = shape.max_positions or 131072
    if not wl.training:
        limit = max(1, limit - wl.new_tokens)
    return largest_passing(1, int(limit), lambda s: _runs(shape, replace(wl, seq_len=s), gpu))


def _suggestion(shape: ModelShape, label: str, changed: Workload,
                gpu: GpuTarget) -> Suggestion | None:
    """``changed`` as a suggestion when it runs on ``gpu`` (None otherwise)."""
    mem = _need(shape, changed, gpu)
    need = mem.needs_free_bytes
    if need > gpu.job_bytes:
        return None
    return Suggestion(label, mem.total, status_of(need, gpu.job_bytes, error_band(changed)),
                      changed, needs_free_bytes=need)


def suggestions(shape: ModelShape, wl: Workload, gpu: GpuTarget,
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
    b = max_batch(shape, wl, gpu)
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
    if training and not wl.param_offload and wl.gpus > 1:
        cands.append(("parameters offloaded to system RAM (FSDP CPU offload, much slower)",
                       replace(wl, param_offload=True, checkpointing=True)))
    if wl.method == "inference" and wl.resolved_precision not in ("int8", "nf4"):
        cands.append(("8-bit weights (bitsandbytes int8)", replace(wl, precision="int8")))
        cands.append(("4-bit weights (nf4)", replace(wl, precision="nf4")))
    s = max_seq(shape, wl, gpu)
    if 0 < s < wl.seq_len:
        cands.append((f"sequence length {s}", replace(wl, seq_len=s)))
    for g in (2, 4, 8) if more_gpus else ():  # the fewest GPUs that fit
        if g > wl.gpus and _runs(shape, replace(wl, gpus=g), gpu):
            cands.append((f"{g} GPUs of this kind" + (" (FSDP)" if training else ""),
                          replace(wl, gpus=g)))
            break
    out: list[Suggestion] = []
    for label, changed in cands:
        if changed == wl:  # the job as it is: not a change
            continue
        found = _suggestion(shape, label, changed, gpu)
        if found is not None:
            out.append(found)
    if not out:
        combined = _combined(shape, wl, gpu)
        if combined is not None:
            out.append(combined)
    if not any(o.status == "fits" and o.workload is not None and _same_job(wl, o.workload)
               for o in out):
        stacked = _same_job_stack(shape, wl, gpu)
        if stacked is not None and all(o.change != stacked.change for o in out):
            out.append(stacked)
    return tuple(out)


def _same_job(wl: Workload, changed: Workload) -> bool:
    """Whether ``changed`` is still the job asked for: no shorter sequence, fewer generated
    tokens or smaller image (a training micro-batch with accumulation keeps the batch)."""
    return (changed.seq_len >= wl.seq_len and changed.new_tokens >= wl.new_tokens
            and (changed.image_size or 0) >= (wl.image_size or 0)
            and (changed.batch >= wl.batch or wl.training))


def _status(shape: ModelShape, wl: Workload, gpu: GpuTarget) -> Status | None:
    need = _need(shape, wl, gpu).needs_free_bytes
    return None if need > gpu.job_bytes else status_of(need, gpu.job_bytes, error_band(wl))


def _same_job_stack(shape: ModelShape, wl: Workload, gpu: GpuTarget) -> Suggestion | None:
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
        b = largest_passing(1, wl.batch - 1,
                            lambda n: _status(shape, replace(base, batch=n), gpu) == "fits")
        if b > 0:
            steps.append((f"batch size {b} with {-(-wl.batch // b)} gradient-accumulation "
                          "steps", replace(base, batch=b)))
    for n, (_, changed) in enumerate(steps, 1):
        if n > 1 and _status(shape, changed, gpu) == "fits":
            found = _suggestion(shape, " + ".join(label for label, _ in steps[:n]), changed,
                                gpu)
            if found is not None:
                return found
    return None


def _combined(shape: ModelShape, wl: Workload, gpu: GpuTarget) -> Suggestion | None:
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
    for n, (_, changed) in enumerate(steps, 1):
        found = _suggestion(shape, " + ".join(s for s, _ in steps[:n]), changed, gpu)
        if found is not None:
            return found
    labels = [s for s, _ in steps]
    b = max_batch(shape, current, gpu)
    if b > 0:
        current = replace(current, batch=b)
        labels.append(f"batch size {b}")
    else:
        was_batch = current.batch
        current = replace(current, batch=1)
        s = max_seq(shape, current, gpu)
        if s <= 0:
            return None
        current = replace(current, seq_len=s)
        # name only what changes: a batch already at 1 is not a suggestion
        labels.append(f"sequence length {s}" if was_batch == 1
                      else f"batch size 1 and sequence length {s}")
    return _suggestion(shape, " + ".join(labels), current, gpu)
