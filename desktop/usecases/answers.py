"""An estimate's answer in words where the command line and the Can I run it? page say it the
same way: the first line (yes or no for this card, with the route that works), the yes or no for
a PC without a GPU (the job then runs on the CPU from RAM), a GPU whose memory was not read, and
the largest batch and sequence that fit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from rigready.assess.estimate import Estimate, EstimateError, estimate
from rigready.assess.estimate.answer import Answer, answer, is_app_route
from rigready.assess.estimate.language.llamacpp import LlamaCppPlan, RamTarget, plan
from rigready.assess.estimate.stack_need import stack_need
from rigready.assess.estimate.useful import MIN_USEFUL_SEQ
from rigready.assess.units import GIB
from rigready.desktop.defaults import DEFAULT_KV_TYPE, DEFAULT_QUANT, llamacpp_ctx


def memory_not_read(name: str, *, cli: bool = True) -> str:
    """What to say of a GPU whose memory could not be read: it is a GPU, its size is unknown."""
    how = "give --vram-gib" if cli else "fill in vram_bytes in a saved profile"
    return (f"{name}: memory not read: run `rigready detect` with the driver loaded, or {how}")


@dataclass(frozen=True, slots=True)
class FirstLine:
    """The first line of an answer and the llama.cpp placement it may rest on."""

    answer: Answer
    #: The same model as a GGUF in a llama.cpp-based app (running a decoder); None otherwise.
    gguf: LlamaCppPlan | None = None
    #: The name of a GPU whose memory was not read (the answer says so; it is not "no GPU").
    unread_gpu: str | None = None


def first_line(est: Estimate, *, ram: RamTarget | None = None,
               ram_available: int | None = None, stack_figures: Iterable[Any] = (),
               unread_gpu: str | None = None, cli: bool = True,
               ctx: int | None = None) -> FirstLine:
    """The sentence an answer starts with, for the CLI and the window alike.

    Args:
        est: the estimate (its ``gpu`` None: no GPU, or one whose memory was not read).
        ram: system RAM for the llama.cpp placement (running a decoder).
        ram_available: free RAM, for the CPU's answer on a PC without a GPU.
        stack_figures: the catalog's ``stack_figure`` entries (Unsloth's published tables).
        unread_gpu: the name of a GPU whose memory was not read (then it is not "no GPU").
        cli: word the advice for the command line (``--vram-gib``) or the window.
        ctx: the llama.cpp context asked for (default: :func:`~rigready.desktop.defaults.
            llamacpp_ctx`).
    """
    if est.gpu is None:
        if unread_gpu:
            return FirstLine(Answer("unknown", memory_not_read(unread_gpu, cli=cli) + ".", ""),
                             unread_gpu=unread_gpu)
        status, sentence = cpu_answer(est, ram_available)
        mapped = {"fits": "yes", "tight": "tight", "no": "no"}.get(status, "unknown")
        return FirstLine(Answer(mapped, sentence, "cpu" if mapped != "no" else ""))  # type: ignore[arg-type]
    wl = est.workload
    gguf = None
    if not wl.training and est.shape.kind == "decoder" and est.shape.image is None:
        try:
            gguf = plan(est.shape, DEFAULT_QUANT, ctx=llamacpp_ctx(wl, ctx),
                        kv_type=DEFAULT_KV_TYPE, gpu=est.gpu, ram=ram)
        except EstimateError:
            gguf = None  # an architecture llama.cpp's placement does not walk
    stack = None
    if wl.method in ("lora", "qlora"):
        stack = stack_need(stack_figures, est.shape.params, wl.method, est.gpu.job_bytes,
                           tokens=wl.batch * wl.seq_len)
    plain = None
    if is_app_route(wl) and est.shape.kind == "diffusion" and not wl.training:
        # the same image in a plain diffusers pipeline, said beside the app's answer
        plain = estimate(est.shape, replace(wl, image_runtime="diffusers", offload="none",
                                            vae_tiling=False), est.gpu, search=False)
    return FirstLine(answer(est, gguf=gguf, stack=stack, plain=plain), gguf)


def cpu_answer(est: Estimate, ram_available: int | None) -> tuple[str, str]:
    """Yes or no for a PC without a GPU: ``(status, sentence)``, status fits/tight/no/unknown.

    The job then runs on the CPU from system RAM: it needs about what PyTorch would allocate on a
    GPU. bitsandbytes' 4-bit and 8-bit formats need a GPU, so QLoRA and int8/nf4 are a no.
    """
    need = est.memory.allocated
    if est.workload.resolved_precision in ("int8", "nf4"):
        return "no", ("No: 4-bit and 8-bit (bitsandbytes) need a GPU; on the CPU use bf16 "
                      "weights, or a GPU")
    if ram_available is None:
        return "unknown", (f"Unknown: needs about {need / GIB:.1f} GiB of RAM, and this PC's "
                           "free RAM is unknown")
    have = ram_available / GIB
    if need > ram_available:
        return "no", (f"No: needs about {need / GIB:.1f} GiB of RAM, this PC has "
                      f"{have:.1f} GiB free")
    status = "tight" if need > 0.85 * ram_available else "fits"
    slow = "very slow to train" if est.workload.training else "slow"
    return status, (f"Yes, on the CPU: needs about {need / GIB:.1f} GiB of the {have:.1f} GiB "
                    f"free RAM ({slow} without a GPU; time unknown)")


def limits_text(est: Estimate) -> str:
    """The largest batch and sequence that fit in VRAM, in words (never "batch 0", never a
    sequence too short to be of use)."""
    if not est.max_batch:
        batch = "even batch 1 does not fit in VRAM alone"
    else:
        batch = f"largest batch that fits in VRAM: {est.max_batch}"
    if est.max_seq is None:
        return batch
    if not est.max_seq:
        return f"{batch}; no sequence of {MIN_USEFUL_SEQ} tokens or more fits"
    return f"{batch}; longest sequence: {est.max_seq:,}"
