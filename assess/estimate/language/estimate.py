"""The estimate of a language model (decoders, encoders, mixtures of experts): memory, verdict,
largest batch and sequence, changes that fit, time, energy and host needs.

:func:`estimate` is the language family's entry point;
:mod:`rigready.assess.estimate.estimator` calls it for every shape without a walked image
architecture.
"""

from __future__ import annotations

from rigready.assess.estimate.gpu import GpuTarget
from rigready.assess.estimate.host import host_needs
from rigready.assess.estimate.inputs import EstimateError, Workload
from rigready.assess.estimate.language import sharded
from rigready.assess.estimate.language.memory import effective_seq, memory, regime
from rigready.assess.estimate.language.timing import timing
from rigready.assess.estimate.language.verdict import judge, max_batch, max_seq, suggestions
from rigready.assess.estimate.model import ModelShape
from rigready.assess.estimate.result import Estimate, HostNeeds, Suggestion
from rigready.assess.units import GIB


def estimate(shape: ModelShape, workload: Workload, gpu: GpuTarget | None, *,
             dataset_tokens: int | None, epochs: float, utilisation: float | None,
             ram_available: int | None, electricity_usd_kwh: float,
             search: bool) -> Estimate:
    """A language model's job (``workload`` already checked, the encoder head applied): see
    :func:`rigready.assess.estimate.estimator.estimate` for the arguments.

    Raises:
        EstimateError: LoRA targets the model does not have.
    """
    reasons = list(shape.notes)
    rg = regime(shape, workload)
    if workload.method in ("lora", "qlora"):
        unknown = [t for t in workload.lora_targets if t not in rg.targets
                   and t.lower() not in ("all-linear", "all_linear")]
        if not rg.targets:
            names = sorted({m[0] for m in shape.linear_modules()})
            raise EstimateError(f"none of the LoRA targets {', '.join(workload.lora_targets)} "
                                f"is a Linear of {shape.name} (it has {', '.join(names)})")
        if unknown and len(unknown) == len(workload.lora_targets):
            reasons.append(f"{', '.join(unknown)}: not in {shape.name}; used its equivalent "
                           f"{', '.join(sorted(rg.targets))}")
        elif unknown:
            reasons.append(f"LoRA targets not in this model, ignored: {', '.join(unknown)}")
    mem = memory(shape, workload, gpu.vram_bytes if gpu is not None else None)
    span = effective_seq(shape, workload) + (0 if workload.training else workload.new_tokens)
    if shape.seq2seq is not None:  # the decoder's positions hold the targets (T5's are relative)
        span = workload.target_tokens if workload.training else workload.new_tokens
        if shape.family == "t5":
            span = 0
    if shape.max_positions and span > shape.max_positions:
        reasons.append(f"{span:,} tokens exceed the {shape.max_positions:,} positions "
                       f"{shape.name} was trained for")
    reasons.append(f"peak during {mem.peak_phase}" + (
        f"; gradients ({mem.gradients_total / GIB:.1f} GiB) appear only as activations are "
        "freed" if mem.peak_phase != "end of backward" and mem.gradients_total else ""))
    if workload.training and (workload.gpus > 1 or workload.param_offload):
        reasons.append(f"assumes {sharded.recipe(workload)}; figures are per GPU")
    elif workload.gpus > 1:
        reasons.append("several GPUs: inference splits the layers across them; figures are "
                       "per GPU")
    verdict = mb = ms = None
    sugg: tuple[Suggestion, ...] = ()
    if gpu is not None:
        verdict = judge(shape, workload, mem, gpu, ram_available)
        if search:
            mb = max_batch(shape, workload, gpu)
            # Whisper's input is a fixed 30-second window: no sequence to search
            ms = None if shape.family == "whisper" else max_seq(shape, workload, gpu)
            if verdict.status != "fits":
                sugg = suggestions(shape, workload, gpu,
                                   more_gpus=gpu.multi_gpu or workload.gpus > 1)
    host = host_needs(shape, workload, mem)
    if workload.param_offload:  # every rank's shard lives in this PC's RAM
        flat = 2 * sharded.flat_elements(shape, workload, mem.trainable_params)
        if workload.method == "full":
            flat += 12 * shape.params  # fp32 masters and AdamW states on the CPU
        host = HostNeeds(host.ram_bytes + flat, host.load_peak_bytes, host.disk_bytes,
                         (*host.reasons, f"plus {flat / GIB:.1f} GiB of parameters offloaded "
                          "to RAM (every GPU's shard)"))
    elif verdict is not None and verdict.offloaded_bytes:
        host = HostNeeds(host.ram_bytes + verdict.offloaded_bytes, host.load_peak_bytes,
                         host.disk_bytes, (*host.reasons, "plus what is offloaded to RAM"))
    seq = effective_seq(shape, workload)
    t = timing(shape, workload, gpu, seq, dataset_tokens, epochs, utilisation,
               electricity_usd_kwh)
    return Estimate(shape=shape, workload=workload, gpu=gpu, memory=mem, verdict=verdict,
                    max_batch=mb, max_seq=ms, suggestions=sugg, timing=t, host=host,
                    reasons=tuple(reasons))
