"""Readiness verdicts from the workload estimator, for the tasks that name a model and a job.

A task of tasks.toml with ``job_method`` (QLoRA of Llama 3.1 8B, a 70B model as a GGUF file,
SDXL generation ...) is judged by the same calls ``rigready estimate`` makes:
:func:`rigready.assess.estimate.estimate` for the estimator's own stack, and the llama.cpp
planner (:func:`rigready.assess.estimate.language.llamacpp.plan`) for ``job_runtime =
"llama.cpp"``. Whatever the estimator learns (new runtimes, calibrated figures, the memory a
desktop already holds) flows into these verdicts without an edit here. Where the estimator
cannot judge (a model whose layers it does not walk, a GPU whose memory is unread) the task
falls back to its fixed minimums, and the reason says so.

What the estimator says maps to a readiness verdict: fits / runs fully on the GPU -> ready;
tight, CPU offload or a llama.cpp layer split -> limited (it runs, at a cost the reason
names); does not fit -> not ready.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Literal

from rigready.assess.estimate import (
    Estimate,
    EstimateError,
    GpuTarget,
    ModelShape,
    Workload,
    estimate,
    gpus_from_profile,
    resolve_model,
)
from rigready.assess.estimate.answer import answer, llamacpp_answer
from rigready.assess.estimate.estimator import error_band
from rigready.assess.estimate.language.llamacpp import (
    HEADROOM_MIN_BYTES,
    HEADROOM_SHARE,
    LlamaCppPlan,
    RamTarget,
    plan,
    ram_from_memory_info,
)
from rigready.assess.estimate.stack_need import StackNeed, stack_need
from rigready.assess.hardware import RigProfile
from rigready.assess.score_facts import SPLIT_OVERHEAD_GIB, split_vram_gib
from rigready.assess.units import GIB
from rigready.catalog import Catalog, TaskEntry

JobVerdict = Literal["ready", "limited", "not ready", "unknown"]
JobEffect = Literal["blocks", "slows", ""]

#: The estimator's verdicts as readiness verdicts, and what a shortfall does to the job.
_FIT_VERDICTS: dict[str, tuple[JobVerdict, JobEffect]] = {
    "fits": ("ready", ""), "tight": ("limited", "slows"), "offload": ("limited", "slows"),
    "no": ("not ready", "blocks"),
}
_PLAN_VERDICTS: dict[str, tuple[JobVerdict, JobEffect]] = {
    "gpu": ("ready", ""), "split": ("limited", "slows"), "cpu": ("limited", "slows"),
    "no-ram": ("not ready", "blocks"), "unknown-ram": ("unknown", "blocks"),
}
#: GPU memory far beyond any card, to learn what a job needs with everything on the GPU.
_UNLIMITED_BYTES = 1 << 50


@dataclass(frozen=True, slots=True)
class JobTargets:
    """What a PC offers the estimator: its GPUs (as the estimator's targets) and its RAM."""

    #: The discrete GPUs whose memory is known, best first; empty: no GPU, or none readable.
    gpus: tuple[GpuTarget, ...] = ()
    #: Discrete GPUs in the PC (some may be missing from ``gpus``: memory unread).
    gpu_count: int = 0
    #: RAM free for offloading (the same figure ``rigready estimate --profile`` uses).
    ram_available: int | None = None
    #: RAM installed, what loading a model may use once other programs are closed.
    ram_total: int | None = None
    #: RAM as the llama.cpp planner reads it (free bytes and bandwidth).
    ram: RamTarget = field(default_factory=RamTarget)

    @property
    def readable(self) -> bool:
        """Whether every GPU's memory is known (the estimator can judge this PC)."""
        return len(self.gpus) == self.gpu_count


def job_targets(profile: RigProfile, catalog: Catalog) -> JobTargets:
    """This PC's GPUs and RAM as the estimator sees them (what ``rigready estimate --profile``
    passes it): each card with the memory a job may use on it, as
    :func:`~rigready.assess.estimate.gpu_from_profile` reads it (what its programs hold when the
    profile was just detected, a desktop's typical share on a saved one, nothing on a VM or a
    server)."""
    discrete = profile.discrete_gpus
    targets = [t for t in gpus_from_profile(profile, catalog.gpus) if t is not None]
    targets.sort(key=lambda t: -t.vram_bytes)
    memory = profile.memory
    return JobTargets(gpus=tuple(targets), gpu_count=len(discrete),
                      ram_available=memory.available_bytes or memory.total_bytes,
                      ram_total=memory.total_bytes,
                      ram=ram_from_memory_info(memory))


@dataclass(frozen=True, slots=True)
class JobCheck:
    """One need of a task's job, judged by the estimator."""

    verdict: JobVerdict
    reason: str
    effect: JobEffect = ""
    #: The smallest change that meets this need (empty when it is met, or for the GPU: the
    #: caller words a GPU fix from :attr:`JobOutcome.need_gib`).
    fix: str = ""


@dataclass(frozen=True, slots=True)
class JobRefusal:
    """Why the estimator cannot judge a task's job (the fixed minimums decide instead)."""

    #: One sentence for the task's reason; empty when another check already says why (a GPU
    #: whose memory is unread).
    note: str = ""


@dataclass(frozen=True, slots=True)
class JobOutcome:
    """A task's job judged by the estimator: the GPU side, the RAM side, and the GPU memory a
    fix must bring (None when the job needs no more)."""

    gpu: JobCheck
    ram: JobCheck
    need_gib: float | None
    #: What was judged, in words: the job and where it runs (``QLoRA of Llama 3.1 8B ...``).
    route: str


def task_job(task: TaskEntry, catalog: Catalog) -> tuple[ModelShape, Workload] | None:
    """The model and workload the estimator judges for ``task`` (None: a task without a job,
    or a model the catalog lacks). A llama.cpp task's workload is plain inference."""
    if task.job_method is None or task.model is None:
        return None
    try:
        shape = resolve_model(task.model, catalog.models)
    except EstimateError:
        return None
    workload = Workload(method=task.job_method, image_size=task.job_image_px,
                        checkpointing=task.job_method in ("lora", "qlora"))
    if task.job_tokens is not None and task.job_runtime is None:
        workload = replace(workload, seq_len=task.job_tokens)
    runtime = task.job_runtime
    if runtime == "comfyui" or runtime == "diffusers":  # the app that generates the images
        workload = replace(workload, image_runtime=runtime, weights=task.job_quant)
    return shape, workload


def judge_job(task: TaskEntry, catalog: Catalog,
              targets: JobTargets) -> JobOutcome | JobRefusal | None:
    """The estimator's verdict on ``task``'s job for this PC.

    Returns None for a task without a job, and a :class:`JobRefusal` where the estimator cannot
    judge it (a model whose layers it does not walk, a GPU whose memory is unread): the task's
    fixed minimums then decide.
    """
    if task.job_method is None:
        return None
    entry = next((m for m in catalog.models if m.id == task.model), None)
    if entry is None:
        return JobRefusal(f"{task.model} is not in the model catalog, so the task's published "
                          "minimums decide")
    if not targets.readable:
        return JobRefusal()
    refused = JobRefusal(f"the estimator cannot judge {entry.name} yet (it does not walk this "
                         "model's layers), so the published minimums decide")
    job = task_job(task, catalog)
    if job is None:
        return refused
    shape, workload = job
    try:
        if task.job_runtime == "llama.cpp":
            return _judge_gguf(task, shape, targets)
        return _judge_estimate(task, shape, workload, targets, catalog)
    except EstimateError:
        return refused


# -- the estimator's own stack ---------------------------------------------------------------

def _judge_estimate(task: TaskEntry, shape: ModelShape, wl: Workload,
                    targets: JobTargets, catalog: Catalog) -> JobOutcome:
    ram = targets.ram_available
    best = targets.gpus[0] if targets.gpus else None
    est = estimate(shape, wl, best, ram_available=ram, search=False)
    split = _split_estimate(task, shape, wl, targets, est)
    if split is not None:
        est = split
    # the least a card must have free for the job with its error band (the figure the verdict
    # is judged on), plus what the desktop keeps on this PC's card: the card a fix names
    held = best.held_bytes if best is not None else 0
    need = (est.memory.needs_free_bytes * (1 + error_band(est.workload, shape.kind,
                                                          shape.family)) + held) / GIB
    judged = f"{est.timing.runtime or 'the estimator'} ({job_words(est)})"
    ram_check = _ram_check(max(est.host.load_peak_bytes, est.host.ram_bytes), targets)
    if est.verdict is None or est.gpu is None:  # no GPU in this PC: the job needs one
        return JobOutcome(
            JobCheck("not ready", f"{judged}: needs a GPU with about {need:.1f} GiB of memory "
                     "free; this PC has no discrete GPU", "blocks"), ram_check, need, judged)
    stack = (stack_need(catalog.stack_figures, shape.params, est.workload.method,
                        est.gpu.job_bytes, tokens=est.workload.batch * est.workload.seq_len)
             if est.workload.method in ("lora", "qlora") else None)
    said = answer(est, stack=stack)
    verdict, effect = _FIT_VERDICTS[est.verdict.status]
    if said.route == "unsloth":
        # the standard stack does not fit; Unsloth's published table (or rigready's own run of
        # it) says its stack does: it runs, on the figure of another stack
        verdict, effect, judged = "limited", "", f"Unsloth's published table ({job_words(est)})"
    where = "" if est.workload.gpus == 1 else f", across {est.workload.gpus} GPUs (per GPU)"
    reason = f"{route_sentence(task, est=est, stack=stack)} The job: {job_words(est)}{where}"
    return JobOutcome(JobCheck(verdict, reason, effect), ram_check,
                      None if verdict == "ready" else need, judged)


def _split_estimate(task: TaskEntry, shape: ModelShape, wl: Workload, targets: JobTargets,
                    one: Estimate) -> Estimate | None:
    """The job across every GPU when one GPU falls short and the task's method splits the
    model (FSDP): judged on the smallest card, per GPU. None when it does not help."""
    if task.multi_gpu != "split" or len(targets.gpus) < 2 or one.verdict is None \
            or one.verdict.status == "fits":
        return None
    smallest = min(targets.gpus, key=lambda t: t.vram_bytes)
    many = estimate(shape, replace(wl, gpus=len(targets.gpus)), smallest,
                    ram_available=targets.ram_available, search=False)
    order = ("no", "offload", "tight", "fits")
    if many.verdict is None or order.index(many.verdict.status) <= order.index(
            one.verdict.status):
        return None
    return many


# -- llama.cpp (GGUF) ------------------------------------------------------------------------

def _pooled(targets: JobTargets) -> GpuTarget | None:
    """Every GPU as one for llama.cpp's layer split (``--split-mode layer``): the layers are
    spread over the cards and run one after the other, so memory adds up (less a CUDA context
    and buffers per extra card) while each token still reads every layer at one card's
    bandwidth."""
    if len(targets.gpus) < 2:
        return None
    sizes = [t.vram_bytes / GIB for t in targets.gpus]
    slowest = min(targets.gpus, key=lambda t: t.bandwidth_gb_s or 0.0)
    names = dict.fromkeys(t.name for t in targets.gpus)
    name = (f"{len(sizes)}x {next(iter(names))}" if len(names) == 1
            else " + ".join(t.name for t in targets.gpus))
    return replace(targets.gpus[0], name=name, vram_bytes=int(split_vram_gib(sizes) * GIB),
                   bandwidth_gb_s=slowest.bandwidth_gb_s)


def _place(task: TaskEntry, shape: ModelShape, gpu: GpuTarget | None,
           targets: JobTargets) -> LlamaCppPlan:
    """The llama.cpp planner's answer for the task's file and context (its own default
    context unless the task names one)."""
    quant = task.job_quant or "Q4_K_M"
    if task.job_tokens:
        return plan(shape, quant, ctx=task.job_tokens, gpu=gpu, ram=targets.ram)
    return plan(shape, quant, gpu=gpu, ram=targets.ram)


def _judge_gguf(task: TaskEntry, shape: ModelShape, targets: JobTargets) -> JobOutcome:
    best = targets.gpus[0] if targets.gpus else None
    result = _place(task, shape, best, targets)
    pooled = _pooled(targets)
    if pooled is not None and task.multi_gpu == "split" and result.status != "gpu":
        several = _place(task, shape, pooled, targets)
        if several.layers_on_gpu > result.layers_on_gpu:
            result = several
    anywhere = replace(best or _any_gpu(), vram_bytes=_UNLIMITED_BYTES)
    full = _place(task, shape, anywhere, targets).gpu_bytes
    held = best.held_bytes if best is not None else 0  # the desktop's share stays on the card
    need = (full + max(HEADROOM_MIN_BYTES, HEADROOM_SHARE * full) + held) / GIB
    route = (f"a llama.cpp-based app (Ollama, LM Studio), {result.size.ftype} GGUF, "
             f"{result.ctx:,}-token context")
    verdict, effect = _PLAN_VERDICTS[result.status]
    extra = ""
    if result.gpu is not None and result.gpu is pooled:
        extra = (f", layers split over {len(targets.gpus)} GPUs (about "
                 f"{SPLIT_OVERHEAD_GIB:g} GiB lost per extra GPU)")
    # no closing full stop: the task's reason joins its checks with "; "
    gpu_check = JobCheck(verdict, f"{route_sentence(task, gguf=result)} The job: {route}"
                         f"{extra}", effect)
    ram_needed = result.ram_bytes
    if result.status == "no-ram":
        ram_check = JobCheck("not ready", f"the part that stays in system RAM needs "
                             f"{ram_needed / GIB:.1f} GiB; "
                             f"{_gib(targets.ram.available_bytes)} are free", "blocks",
                             f"{math.ceil(ram_needed / GIB)} GiB of free RAM, or a GPU that "
                             "holds more of the model")
    elif result.status == "unknown-ram":
        ram_check = JobCheck("unknown", f"the part in system RAM needs {ram_needed / GIB:.1f} "
                             "GiB; how much RAM is free is unknown", "blocks")
    else:
        ram_check = JobCheck("ready", f"{ram_needed / GIB:.1f} GiB in system RAM, "
                             f"{_gib(targets.ram.available_bytes)} free")
    return JobOutcome(gpu_check, ram_check, None if verdict == "ready" else need, route)


def _any_gpu() -> GpuTarget:
    return GpuTarget(name="a GPU", vram_bytes=_UNLIMITED_BYTES)


def _ram_check(needed: int, targets: JobTargets) -> JobCheck:
    """Loading the model and running the job against the RAM installed."""
    have = targets.ram_total
    what = f"about {needed / GIB:.1f} GiB of RAM to load the model and run the job"
    if have is None:
        return JobCheck("unknown", f"needs {what}; the RAM installed is unknown", "blocks")
    if needed > have:
        return JobCheck("not ready", f"needs {what}; this PC has {have / GIB:.1f} GiB",
                        "blocks", f"at least {math.ceil(needed / GIB)} GiB of RAM")
    return JobCheck("ready", f"{what}; this PC has {have / GIB:.1f} GiB")


def _gib(value: int | None) -> str:
    return "an unknown amount" if value is None else f"{value / GIB:.1f} GiB"


# -- the one sentence ------------------------------------------------------------------------

def route_sentence(task: TaskEntry, *, est: Estimate | None = None,
                   gguf: LlamaCppPlan | None = None, stack: StackNeed | None = None) -> str:
    """The verdict's first sentence, the one every answer starts with
    (:mod:`rigready.assess.estimate.answer`, the CLI's and the window's first line): yes or no
    for this card and the route that works (a llama.cpp-based app for a GGUF file; Unsloth's
    published figure where the standard (Q)LoRA stack does not fit and its table says it does;
    a ComfyUI / Forge-class app for image generation). ``stack``: the lighter fine-tuning
    stack's published need. The one place a readiness verdict names its route.
    """
    if gguf is not None:
        return llamacpp_answer(gguf).sentence
    if est is None:
        return task.name
    if est.gpu is None or est.verdict is None:
        return f"{est.timing.runtime or 'the estimator'} ({job_words(est)})"
    return answer(est, stack=stack).sentence


def job_words(est: Estimate) -> str:
    """The job's recipe in a few words: ``qlora, nf4, batch 1 x 2,048 tokens, gradient
    checkpointing``."""
    wl = est.workload
    if est.shape.image is not None:
        side = wl.image_size or est.shape.image_size
        size = f"{side} px" + ("" if wl.training else f", {wl.sampling_steps} steps")
    else:
        size = f"{wl.seq_len:,} tokens"
    weights = f" ({wl.weights} weights)" if wl.weights else ""
    recipe = f"{wl.method}, {wl.resolved_precision}{weights}, batch {wl.batch} x {size}"
    if wl.checkpointing:
        recipe += ", gradient checkpointing"
    return recipe
