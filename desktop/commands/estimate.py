"""``rigready estimate``: can a GPU run, fine-tune or train a model, and how long will it take?"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from rigready.assess.estimate import (
    Estimate,
    EstimateError,
    GpuTarget,
    Workload,
    estimate,
    gpu_from_entry,
    gpu_from_profile,
    resolve_model,
    with_free_gib,
)
from rigready.assess.estimate.energy import DEFAULT_ELECTRICITY_USD_KWH
from rigready.assess.estimate.inputs import (
    ATTENTIONS,
    DIT_WEIGHTS,
    HEADS,
    METHODS,
    OFFLOADS,
    OPTIMIZERS,
    PRECISIONS,
    TF32_MODES,
)
from rigready.assess.estimate.model import ModelShape
from rigready.assess.names import NameLookupError, find_gpu
from rigready.catalog import Catalog, default_catalog
from rigready.desktop.commands.common import (
    add_gpu_memory_arguments,
    int_between,
    number_between,
    positive_float,
    print_json,
)
from rigready.desktop.commands.estimate_llamacpp import (
    add_runtime_arguments,
    check_runtime_fits,
    ram_target,
    run_llamacpp,
    wants_llamacpp,
)
from rigready.desktop.commands.estimate_output import (
    estimate_json,
    measured_to_dict,
    render_estimate,
)
from rigready.desktop.defaults import (
    DEFAULT_BATCH,
    DEFAULT_HEAD,
    DEFAULT_LORA_RANK,
    DEFAULT_LORA_TARGETS,
    DEFAULT_NEW_TOKENS,
    DEFAULT_SEQ_LEN,
    default_checkpointing,
    llamacpp_ctx,
    with_image_runtime,
)
from rigready.desktop.usecases.answers import FirstLine, first_line
from rigready.desktop.usecases.errors import UsageError


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``estimate`` subcommand."""
    p = subparsers.add_parser(
        "estimate", help="memory, verdict and time for running or fine-tuning a model",
        description="Estimate peak GPU memory (as nvidia-smi shows it, by component), whether it "
        "fits the GPU, the largest batch and sequence that fit, what to change if it does not, "
        "and the time and energy. MODEL is a catalog name (id, name or Hugging Face repo, "
        "any case), a Hugging Face id or URL (only its config.json is fetched), a config.json "
        "path or a parameter count such as 7B.",
    )
    p.add_argument("model", metavar="MODEL")
    add_workload_arguments(p)
    p.add_argument("--gpus", type=int_between(1, 4096), default=1)
    where = p.add_mutually_exclusive_group()
    where.add_argument("--gpu", metavar="NAME",
                       help="a catalog GPU by id or name: H200, 'RTX 4090', rtx-3060-12gb")
    where.add_argument("--profile", metavar="FILE", type=Path,
                       help="use the best GPU of a saved rig profile")
    p.add_argument("--tflops", type=number_between(0, 1e6, low_open=True),
                   help="measured matmul TFLOP/s (replaces the datasheet peak)")
    add_gpu_memory_arguments(p)
    add_run_arguments(p)
    add_runtime_arguments(p)
    p.add_argument("--electricity-usd-kwh", type=positive_float,
                   default=DEFAULT_ELECTRICITY_USD_KWH)
    p.add_argument("--measure", action="store_true",
                   help="also run the job for a few steps on this PC's GPU (model built from its "
                   "config with random weights, no download; needs torch and transformers, plus "
                   "peft / bitsandbytes for LoRA / QLoRA) and show the measured peak and step "
                   "time; saved to the history and used to correct later estimates here")
    p.add_argument("--measure-timeout", type=positive_float, default=300.0, metavar="S",
                   help="stop the measurement after S seconds (default 300)")
    p.add_argument("--json", action="store_true", help="print the estimate as JSON")
    p.set_defaults(func=_run)


def add_workload_arguments(p: argparse.ArgumentParser) -> None:
    """The job options shared by ``estimate`` and ``plan`` (method, precision, sizes, LoRA)."""
    p.add_argument("--method", choices=METHODS, default="inference")
    p.add_argument("--precision", choices=PRECISIONS,
                   help="default: bf16 (inference, lora), amp-bf16 (full), nf4 (qlora)")
    p.add_argument("--optimizer", choices=OPTIMIZERS, default="adamw")
    p.add_argument("--batch", type=int, default=DEFAULT_BATCH, help="micro-batch per GPU")
    p.add_argument("--seq", type=int, default=DEFAULT_SEQ_LEN, help="sequence (prompt) length")
    p.add_argument("--new-tokens", type=int, default=DEFAULT_NEW_TOKENS,
                   help="tokens to generate (inference)")
    p.add_argument("--checkpointing", action=argparse.BooleanOptionalAction, default=None,
                   help="gradient checkpointing (default: on for qlora, as peft's "
                   "prepare_model_for_kbit_training does; off otherwise, as in transformers' "
                   "Trainer; the window uses the same default)")
    p.add_argument("--lora-rank", type=int, default=DEFAULT_LORA_RANK)
    p.add_argument("--lora-targets", default=DEFAULT_LORA_TARGETS,
                   help="comma-separated module names, or all-linear")
    p.add_argument("--attn", choices=ATTENTIONS, default="sdpa")
    p.add_argument("--head", choices=HEADS, default=DEFAULT_HEAD,
                   help="encoders (BERT): the task head; default: the one the model's config "
                   "names in architectures (BertForMaskedLM: masked-lm)")
    p.add_argument("--image-size", type=int,
                   help="image side in pixels (vision: input; diffusion: output resolution)")
    p.add_argument("--steps", type=int, default=30,
                   help="diffusion: sampling steps per image (default 30)")
    p.add_argument("--target-tokens", type=int, default=128,
                   help="T5 / Whisper: label tokens per sample (default 128)")
    p.add_argument("--offload", choices=OFFLOADS, default="none",
                   help="diffusion: 'model' loads one component on the GPU at a time, the "
                   "others in RAM (ComfyUI / Forge, diffusers enable_model_cpu_offload)")
    p.add_argument("--vae-tiling", action="store_true",
                   help="diffusion: decode the image in 512-pixel tiles")
    p.add_argument("--weights", choices=DIT_WEIGHTS,
                   help="SD3.5 / FLUX.1: the transformer's stored format (fp8, fp8-all with "
                   "a float8 T5, or a GGUF type)")
    p.add_argument("--param-offload", action="store_true",
                   help="training with FSDP / ZeRO-3: keep the parameters in system RAM "
                   "(FSDP+QLoRA with CPU offload on several GPUs)")
    p.add_argument("--tf32", choices=TF32_MODES, default="default",
                   help="fp32 jobs: default = PyTorch's (convolutions in TF32, matmuls in fp32); "
                   "all = matmuls too; off = neither")


def add_run_arguments(p: argparse.ArgumentParser) -> None:
    """The run-size options shared by ``estimate`` and ``plan`` (utilisation, dataset, epochs)."""
    p.add_argument("--utilisation", type=number_between(0, 1, low_open=True),
                   help="share of peak throughput reached, above 0 and at most 1; replaces "
                   "the kernel-by-kernel step time with a flat share of the peak (default: "
                   "the kernel model; a flat 0.35 only where the GPU's bandwidth is unknown)")
    p.add_argument("--dataset-tokens", type=int,
                   help="tokens per epoch (or to generate); image models: images")
    p.add_argument("--epochs", type=number_between(0, 1e6, low_open=True), default=1.0)


def workload_from_args(args: argparse.Namespace) -> Workload:
    """The :class:`Workload` the shared options describe (sizes are checked by the estimator).

    Raises:
        UsageError: a negative number of tokens to generate.
    """
    if args.new_tokens < 0:
        raise UsageError(f"--new-tokens cannot be negative, got {args.new_tokens}")
    wl = Workload(method=args.method, precision=args.precision, optimizer=args.optimizer,
                  batch=args.batch, seq_len=args.seq, new_tokens=args.new_tokens,
                  checkpointing=(default_checkpointing(args.method)
                                 if args.checkpointing is None else args.checkpointing),
                  lora_rank=args.lora_rank,
                  lora_targets=tuple(t.strip() for t in args.lora_targets.split(",")
                                     if t.strip()),
                  attention=args.attn, image_size=args.image_size,
                  gpus=getattr(args, "gpus", 1), sampling_steps=getattr(args, "steps", 30),
                  head=getattr(args, "head", DEFAULT_HEAD),
                  target_tokens=getattr(args, "target_tokens", 128),
                  offload=getattr(args, "offload", "none"),
                  vae_tiling=bool(getattr(args, "vae_tiling", False)),
                  weights=getattr(args, "weights", None),
                  param_offload=bool(getattr(args, "param_offload", False)),
                  tf32=getattr(args, "tf32", "default"))
    # image generation: --runtime comfyui|diffusers, else the default app (ComfyUI-class)
    return with_image_runtime(wl, str(getattr(args, "runtime", "") or "").strip().lower())


@dataclass(frozen=True, slots=True)
class RunsOn:
    """What the job runs on: the GPU (None: none, or its memory unread), the RAM."""

    gpu: GpuTarget | None
    #: Free RAM for offloading and the CPU's answer.
    ram_available: int | None
    #: The memory facts of the profile (or of this PC for a catalog GPU), for llama.cpp.
    memory: object | None
    #: A GPU whose memory was not read: it is a GPU, not "no GPU".
    unread_gpu: str | None = None


def runs_on(args: argparse.Namespace, cat: Catalog) -> RunsOn:
    """The GPU (a catalog card, or the profile's / this PC's with what the user said of it)
    and the RAM.

    Raises:
        UsageError: an unknown or ambiguous GPU name, ``--vram-gib`` with a catalog card, or
            ``--free-gib`` beyond the card.
    """
    if args.gpu:
        try:
            entry = find_gpu(args.gpu, cat.gpus)
        except NameLookupError as exc:
            raise UsageError(str(exc)) from None
        if getattr(args, "vram_gib", None):
            raise UsageError("--vram-gib is for a GPU whose memory was not read; a catalog "
                             f"card has its own ({entry.name}: {entry.vram_gib:g} GiB)")
        gpu = gpu_from_entry(entry)
        free_gib = getattr(args, "free_gib", None)
        if free_gib:
            try:
                gpu = with_free_gib(gpu, free_gib)
            except ValueError as exc:
                raise UsageError(str(exc)) from None
        return RunsOn(gpu, None, None if getattr(args, "ram_gib", None) else _this_pc_memory())
    from rigready.desktop.commands.common import load_rig

    profile = load_rig(args)
    ram = profile.memory.available_bytes or profile.memory.total_bytes
    mine = gpu_from_profile(profile, cat.gpus)
    best = profile.best_gpu
    unread = best.name if best is not None and mine is None else None
    return RunsOn(mine, ram, profile.memory, unread)


def _this_pc_memory() -> object | None:
    """This PC's RAM for a catalog GPU's llama.cpp answer; a failed probe leaves it unknown
    (the estimate says so)."""
    from rigready.assess.detect._fs import SysRoot
    from rigready.assess.detect.memory import probe_memory

    try:
        memory, _ = probe_memory(SysRoot("/"))
    except OSError:
        return None
    return memory


def _run(args: argparse.Namespace) -> int:
    cat = default_catalog()
    # sizes are checked by estimate(), so that a bad one gives one clear line
    wl = workload_from_args(args)
    llamacpp = wants_llamacpp(args)
    try:
        shape = resolve_model(args.model, cat.models)
    except EstimateError as exc:
        raise UsageError(str(exc)) from None
    check_runtime_fits(args, shape)
    where = runs_on(args, cat)
    if llamacpp:
        ctx = llamacpp_ctx(wl, args.ctx)
        return run_llamacpp(args, shape, where.gpu, ram_target(args, where.memory), ctx=ctx,
                            unread_gpu=where.unread_gpu)
    gpu, ram = where.gpu, where.ram_available
    try:
        if gpu is not None and args.tflops:
            from dataclasses import replace

            gpu = replace(gpu, measured_tflops=args.tflops)
        if args.epochs <= 0:
            raise EstimateError(f"epochs must be above zero, got {args.epochs:g}")
        est = estimate(shape, wl, gpu, dataset_tokens=args.dataset_tokens, epochs=args.epochs,
                       utilisation=args.utilisation, ram_available=ram,
                       electricity_usd_kwh=args.electricity_usd_kwh)
    except EstimateError as exc:
        raise UsageError(str(exc)) from None
    here = not args.gpu and not args.profile
    if here:  # the measuring modules load only here
        from rigready.desktop.usecases.measure import corrected_here, measured_history

        est = corrected_here(est, measured_history())
    first = first_line(est, ram=ram_target(args, where.memory), ram_available=ram,
                       stack_figures=cat.stack_figures, unread_gpu=where.unread_gpu,
                       ctx=args.ctx)
    if not args.measure:
        if args.json:
            print_json(estimate_json(est, ram, first))
        else:
            print(render_estimate(est, ram, first))
        return 0
    return _measure(args, shape, est, here, ram, first)


def _measure(args: argparse.Namespace, shape: ModelShape, est: Estimate, here: bool,
             ram: int | None, first: FirstLine | None = None) -> int:
    """``--measure``: run the job here, then print the estimate beside the measurement."""
    from rigready.desktop.usecases.measure import (
        MeasureError,
        config_dict_for,
        measure_here,
        refusal,
        render_measured,
    )

    if not here:
        raise UsageError("--measure runs on this PC's GPU; leave out --gpu and --profile")
    why = refusal(shape, est, config_dict_for(args.model))
    if why:
        raise UsageError(why)
    if est.gpu is None:
        raise UsageError("--measure needs a GPU, and none was detected on this PC")
    print(f"measuring on {est.gpu.name}: building {shape.name} with random weights and "
          f"running a few steps (at most {args.measure_timeout:g} s)...", file=sys.stderr,
          flush=True)
    try:
        outcome = measure_here(shape, est, config_dict_for(args.model),
                               timeout_s=args.measure_timeout)
    except MeasureError as exc:
        raise UsageError(str(exc)) from None
    run = outcome.run
    if args.json:
        print_json({**estimate_json(est, ram, first), "measured": measured_to_dict(run)})
    else:
        print(render_estimate(est, ram, first))
        print("\n" + "\n".join(render_measured(run)))
    if outcome.saved_problem:
        print(f"rigready: warning: {outcome.saved_problem}", file=sys.stderr)
    return 0 if run.status in ("ok", "oom") else 1
