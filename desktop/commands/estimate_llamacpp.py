"""``rigready estimate --runtime llama.cpp``: a GGUF model on the GPU and in system RAM."""

from __future__ import annotations

import argparse

from rigready.assess.estimate import EstimateError, GpuTarget, ModelShape
from rigready.assess.estimate.answer import llamacpp_answer
from rigready.assess.estimate.inputs import IMAGE_RUNTIMES
from rigready.assess.estimate.language.gguf import FILE_TYPES, KV_TYPES, normalise_quant
from rigready.assess.estimate.language.llamacpp import (
    LlamaCppPlan,
    RamTarget,
    plan,
    plan_to_dict,
    ram_from_memory_info,
)
from rigready.assess.units import GIB
from rigready.desktop.commands.common import int_between, number_between, print_json
from rigready.desktop.defaults import (
    DEFAULT_CTX,
    DEFAULT_IMAGE_RUNTIME,
    DEFAULT_KV_TYPE,
    DEFAULT_QUANT,
)
from rigready.desktop.usecases.answers import memory_not_read
from rigready.desktop.usecases.errors import UsageError

#: Language models' runtimes, then image generation's (the image family's own names).
RUNTIMES = ("transformers", "llama.cpp", *IMAGE_RUNTIMES)


def add_runtime_arguments(p: argparse.ArgumentParser) -> None:
    """The runtime options of ``estimate``: which runtime, and llama.cpp's GGUF quant, context
    and KV type."""
    p.add_argument("--runtime", default="",
                   help="language models: transformers (PyTorch, the default) or llama.cpp "
                   "(GGUF files, as Ollama and LM Studio run them); image generation: "
                   f"comfyui (ComfyUI / Forge-class apps, the default: {DEFAULT_IMAGE_RUNTIME}) "
                   "or diffusers (a plain pipeline, every part on the GPU)")
    p.add_argument("--quant", default=DEFAULT_QUANT,
                   help=f"GGUF file type for llama.cpp ({', '.join(FILE_TYPES)}); default "
                   f"{DEFAULT_QUANT}")
    p.add_argument("--ctx", type=int_between(1, 16_777_216),
                   help=f"llama.cpp context length in tokens (-c); default {DEFAULT_CTX:,} "
                   "(Ollama's on cards under 24 GiB), or the prompt plus the tokens to "
                   "generate when longer")
    p.add_argument("--kv-type", default=DEFAULT_KV_TYPE,
                   help=f"llama.cpp KV-cache type ({', '.join(KV_TYPES)}), default "
                   f"{DEFAULT_KV_TYPE}")
    p.add_argument("--ram-gib", type=number_between(0, 65536, low_open=True),
                   help="system RAM free for the model, GiB (default: from the profile or "
                   "this PC)")
    p.add_argument("--ram-gb-s", type=number_between(0, 100_000, low_open=True),
                   help="system RAM bandwidth, GB/s (default: detected speed x channels)")


def wants_llamacpp(args: argparse.Namespace) -> bool:
    """Whether ``--runtime`` picks llama.cpp; an unknown runtime is a usage error.

    Raises:
        UsageError: an unknown runtime, or llama.cpp asked to fine-tune.
    """
    runtime = str(args.runtime).strip().lower()
    if runtime in ("llama.cpp", "llamacpp", "gguf", "llama-cpp"):
        if args.method != "inference":
            raise UsageError(f"llama.cpp runs models (inference); it does not {args.method} "
                             "them: drop --runtime or use --method inference")
        return True
    if runtime not in ("", *RUNTIMES):
        raise UsageError(f"unknown runtime {args.runtime!r} (choose from {', '.join(RUNTIMES)})")
    return False


def check_runtime_fits(args: argparse.Namespace, shape: ModelShape) -> None:
    """An image-generation runtime asked for a model that generates no images, or a language
    model's runtime for one that does, is a usage error.

    Raises:
        UsageError: the runtime does not run this kind of model.
    """
    runtime = str(getattr(args, "runtime", "") or "").strip().lower()
    generates = shape.kind == "diffusion" and args.method == "inference"
    if runtime in IMAGE_RUNTIMES and not generates:
        raise UsageError(f"--runtime {runtime} is for generating images with a diffusion "
                         f"model; {shape.name} {args.method} takes transformers or llama.cpp")
    if runtime in ("transformers", "llama.cpp", "llamacpp", "gguf", "llama-cpp") and generates:
        raise UsageError(f"--runtime {runtime} does not generate images: use comfyui or "
                         "diffusers (or leave --runtime out)")


def run_llamacpp(args: argparse.Namespace, shape: ModelShape, gpu: GpuTarget | None,
                 ram: RamTarget, *, ctx: int, unread_gpu: str | None = None) -> int:
    """Estimate, then print text or JSON. ``gpu``: the card, with what else holds it (the plan
    compares with its memory free for the job); ``unread_gpu``: a GPU whose memory was not
    read (said first, never "without a GPU")."""
    try:
        quant = normalise_quant(args.quant)
        result = plan(shape, quant, ctx=ctx, kv_type=args.kv_type.strip().lower(),
                      gpu=gpu, ram=ram)
    except EstimateError as exc:
        raise UsageError(str(exc)) from None
    first = (memory_not_read(unread_gpu) + "." if unread_gpu
             else llamacpp_answer(result).sentence)
    note = gpu.free_note() if gpu is not None else ""
    if args.json:
        print_json({"answer": first, "gpu_memory_not_read": unread_gpu,
                    "held_source": (gpu.held_source or None) if gpu else None,
                    **plan_to_dict(result)})
    else:
        print(first + "\n")
        print(render_plan(result, unread_gpu) + (f"\n  {note}" if note else ""))
    return 0


def ram_target(args: argparse.Namespace, memory_info: object | None) -> RamTarget:
    """RAM from the options, else from the profile's (or this PC's) memory."""
    detected = ram_from_memory_info(memory_info) if memory_info is not None else RamTarget()
    free = int(args.ram_gib * GIB) if args.ram_gib else detected.available_bytes
    bandwidth = args.ram_gb_s or detected.bandwidth_gb_s
    source = "given" if args.ram_gib else (detected.source or "unknown")
    return RamTarget(available_bytes=free, bandwidth_gb_s=bandwidth, source=source)


def render_plan(p: LlamaCppPlan, unread_gpu: str | None = None) -> str:
    """The llama.cpp estimate as plain text (``unread_gpu``: a GPU whose memory was not read,
    so the placement shown is the CPU-only one)."""
    s = p.shape
    out = [f"{s.name} ({s.params / 1e9:.2f}B parameters): llama.cpp {p.size.ftype}, "
           f"{p.ctx:,}-token context, KV cache {p.kv_type}"]
    where = (f"on {p.gpu.name}" if p.gpu else
             f"with nothing on the {unread_gpu} (its memory was not read)" if unread_gpu
             else "without a GPU")
    out.append(f"\nVerdict {where}: {p.summary}")
    out.append(f"\n  GGUF file       {p.size.total_bytes / 1e9:7.2f} GB "
               f"({p.size.bits_per_weight:.2f} bits per weight)")
    out.append(f"  KV cache        {p.kv_bytes / GIB:7.2f} GiB")
    out.append(f"  on the GPU      {p.gpu_bytes / GIB:7.2f} GiB "
               f"({p.layers_on_gpu} of {p.layers_total} layers"
               + (", output head" if p.output_on_gpu else "") + ")")
    out.append(f"  in system RAM   {p.ram_bytes / GIB:7.2f} GiB")
    if p.tokens_per_s is not None and p.tokens_per_s_full_ctx is not None:
        out.append(f"  decoding        about {p.tokens_per_s:,.1f} tokens/s "
                   f"({p.tokens_per_s_full_ctx:,.1f} with the context full)")
    out.append("\nHow")
    out.extend(f"  {r}" for r in (*s.notes, *p.reasons))
    return "\n".join(out)
