"""What the user wants to do, and whether one GPU (plus the host) reaches it.

A goal is a workload for the estimator (model, method, sizes), one of the guide's hardware tiers,
or one of its AI tasks. :func:`gpu_outcome` judges one GPU; :func:`host_needs_of` says what the
rest of the PC needs (RAM, disk, CPU cores), which the planner then checks and buys for.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from rigready.assess.estimate import Estimate, GpuTarget, ModelShape, Workload, estimate
from rigready.assess.estimate.energy import DEFAULT_ELECTRICITY_USD_KWH, load_watts
from rigready.assess.score_estimate import task_job
from rigready.assess.score_facts import nominal_vram_gib, split_vram_gib
from rigready.assess.task_disk import disk_need
from rigready.assess.units import GIB
from rigready.catalog import Catalog, GpuEntry, TaskEntry, TierEntry
from rigready.catalog.schema import DriveKind

#: One training run when the user gives no dataset size: 10 M tokens (e.g. 5,000 samples of
#: 2,048 tokens), one epoch. rigready's assumption, stated in every result that uses it.
DEFAULT_RUN_TOKENS = 10_000_000
#: The guide's inference cost unit (seed 000, final lab: "the cost of running inference for
#: 1 million queries").
DEFAULT_QUERIES = 1_000_000
REACHED = frozenset({"fits", "tight", "ready"})
_METHOD_WORDS = {"inference": "Run", "lora": "LoRA fine-tune", "qlora": "QLoRA fine-tune",
                 "full": "Full fine-tune"}


@dataclass(frozen=True, slots=True)
class WorkloadGoal:
    """Run or fine-tune one model (the estimator's inputs)."""

    shape: ModelShape
    workload: Workload
    #: Tokens per epoch (training) or to generate (inference); None: a stated default run.
    dataset_tokens: int | None = None
    epochs: float = 1.0
    utilisation: float | None = None
    #: Inference only: queries whose cost is estimated (the guide's "1 million queries").
    queries: int = DEFAULT_QUERIES
    #: Display name (the catalog's ``name``); the shape's name when None.
    model_name: str | None = None

    @property
    def label(self) -> str:
        """``LoRA fine-tune Llama 3.1 8B at 2,048 tokens``."""
        wl = self.workload
        extra = ", gradient checkpointing" if wl.checkpointing else ""
        if wl.method == "full" and wl.optimizer != "adamw":
            extra = f", {wl.optimizer}{extra}"
        batch = f", batch {wl.batch}" if wl.batch != 1 else ""
        name = self.model_name or self.shape.name
        if self.shape.image is not None:  # image models: a side in pixels, not tokens
            side = wl.image_size or self.shape.image_size
            if self.shape.kind == "diffusion" and not wl.training:
                app = ("ComfyUI / Forge-class app" if wl.image_runtime == "comfyui"
                       else "plain diffusers pipeline")
                return f"Generate images with {name} at {side:,} px ({app}{batch})"
            return (f"{_METHOD_WORDS[wl.method]} {name} at {side:,} px "
                    f"({wl.resolved_precision}{batch}{extra})")
        return (f"{_METHOD_WORDS[wl.method]} {name} at {wl.seq_len:,} tokens "
                f"({wl.resolved_precision}{batch}{extra})")

    @property
    def run_tokens(self) -> int:
        """Tokens in one run (the default when not given)."""
        return self.dataset_tokens or DEFAULT_RUN_TOKENS


@dataclass(frozen=True, slots=True)
class TierGoal:
    """Reach one of the guide's hardware tiers (its minimums)."""

    tier: TierEntry

    @property
    def label(self) -> str:
        """``Reach the Enthusiast tier``."""
        return f"Reach the {self.tier.name} tier"


@dataclass(frozen=True, slots=True)
class TaskGoal:
    """Be ready for one AI task of the guide (its recommended sizes)."""

    task: TaskEntry

    @property
    def label(self) -> str:
        """``Be ready for Object detection (small)``."""
        return f"Be ready for {self.task.name}"


Goal = WorkloadGoal | TierGoal | TaskGoal


def task_goal(task: TaskEntry, catalog: Catalog) -> TaskGoal | WorkloadGoal:
    """The goal of being ready for ``task``: a task the estimator judges (QLoRA of an 8B model,
    SDXL in a ComfyUI-class app) is planned as that job, as the Readiness page judges it; a
    GGUF file in llama.cpp (the planner re-checks with the estimator's own stack) and the
    guide's tasks by their fixed figures. The wizard and ``rigready plan --task`` share it."""
    job = task_job(task, catalog) if task.job_runtime != "llama.cpp" else None
    if job is None:
        return TaskGoal(task)
    shape, workload = job
    name = next((m.name for m in catalog.models if m.id == task.model), None)
    return WorkloadGoal(shape, workload, model_name=name)


@dataclass(frozen=True, slots=True)
class GpuOutcome:
    """The goal judged on one GPU (or on no GPU)."""

    #: fits/tight/offload/no (workloads), ready/not ready (tiers, tasks), "no GPU".
    verdict: str
    #: GPU memory the goal needs, GiB (None for a task that needs no GPU).
    need_gib: float | None
    vram_gib: float | None
    gpu_name: str | None
    tokens_per_s: float | None = None
    #: GPU memory free for the job (the card less what the desktop keeps), GiB; None: all.
    free_gib: float | None = None
    #: Hours for one run (training: the dataset; inference: the queries).
    run_hours: float | None = None
    #: Inference: seconds per query, batching as in the workload.
    query_seconds: float | None = None
    #: Watts the PC draws while the GPU works (estimator: 85% of board power + 100 W).
    load_w: float | None = None
    reasons: tuple[str, ...] = ()

    @property
    def reached(self) -> bool:
        """Whether the GPU side of the goal is met."""
        return self.verdict in REACHED


@dataclass(frozen=True, slots=True)
class HostNeeds:
    """What the rest of the PC must have for the goal."""

    ram_gib: float | None = None
    #: Compare ``ram_gib`` with RAM free for the job (workloads) rather than installed.
    ram_is_free_ram: bool = False
    disk_free_gb: float | None = None
    disk_kind: DriveKind | None = None
    #: Tiers: capacity of ``disk_kind`` or faster drives, GB.
    disk_capacity_gb: float | None = None
    cpu_cores: int | None = None
    gpu_required: bool = True
    reasons: tuple[str, ...] = ()


def run_estimate(goal: WorkloadGoal, gpu: GpuTarget | None, ram_available: int | None = None,
                 kwh: float = DEFAULT_ELECTRICITY_USD_KWH, gpus: int = 1) -> Estimate:
    """The estimator's answer for ``goal`` on ``gpu`` (``gpus`` of them)."""
    wl = goal.workload if gpus == goal.workload.gpus else replace(goal.workload, gpus=gpus)
    tokens = goal.dataset_tokens if not wl.training else goal.run_tokens
    return estimate(goal.shape, wl, gpu, dataset_tokens=tokens, epochs=goal.epochs,
                    utilisation=goal.utilisation, ram_available=ram_available,
                    electricity_usd_kwh=kwh, search=False)


def workload_outcome(goal: WorkloadGoal, gpu: GpuTarget | None, ram_available: int | None = None,
                     gpus: int = 1) -> GpuOutcome:
    """Verdict, memory, speed and run time of a workload on ``gpu``."""
    est = run_estimate(goal, gpu, ram_available, gpus=gpus)
    # the least memory free the job needs: the figure the verdict is judged on (what
    # nvidia-smi shows on a roomy card, est.memory.total, can be more)
    need = est.memory.needs_free_bytes / GIB
    if gpu is None or est.verdict is None:
        return GpuOutcome("no GPU", need, None, None,
                          reasons=("this job needs a GPU; this PC has none",))
    t = est.timing
    reasons = list(est.verdict.reasons)
    query_s = run_h = None
    wl = est.workload
    if wl.training or t.images_per_s is not None:
        run_h = t.hours
    elif t.decode_tokens_per_s:
        step_s = wl.batch / t.decode_tokens_per_s
        query_s = ((t.prefill_s or 0.0) + wl.new_tokens * step_s) / wl.batch
        run_h = (t.hours if goal.dataset_tokens else goal.queries * query_s / 3600.0)
    if t.images_per_s is not None:
        reasons.append(f"{t.images_per_s:,.1f} images/s")
    elif t.tokens_per_s is None:
        reasons.append("speed unknown: no throughput figures for this GPU")
    watts = load_watts(gpu.tgp_w or None, gpus)
    return GpuOutcome(est.verdict.status, need, gpu.vram_bytes / GIB, gpu.name,
                      tokens_per_s=t.tokens_per_s, run_hours=run_h, query_seconds=query_s,
                      load_w=watts, reasons=tuple(reasons), free_gib=gpu.job_bytes / GIB)


def catalog_outcome(goal: TierGoal | TaskGoal, vram_gib: float | None, half_tflops: float | None,
                    name: str | None, tgp_w: float | None,
                    pool: Sequence[float] = ()) -> GpuOutcome:
    """Whether a GPU of ``vram_gib`` (and 16-bit speed) meets a tier's or task's GPU needs.

    ``pool``: the memory (GiB) of every GPU the job may spread over (a cloud offer's GPUs, or
    this PC's): where the task's method splits a model (the catalog's ``multi_gpu``) they pool
    their memory, as scoring pools a PC's GPUs, when one alone falls short; a tier is judged per
    GPU.
    """
    if isinstance(goal, TierGoal):
        need, speed = goal.tier.gpu_min_vram_gib, goal.tier.gpu_min_fp16_tflops
        required = True
    else:
        need, speed = goal.task.recommended_vram_gib, None
        required = goal.task.gpu_required
    if not required:
        return GpuOutcome("ready", None, vram_gib, name, load_w=load_watts(tgp_w),
                          reasons=("no GPU needed",))
    if vram_gib is None:
        return GpuOutcome("no GPU", need, None, name,
                          reasons=(f"needs a GPU with {need:g} GiB; this PC has none",))
    # the card's marketed size against the need: no tolerance on top
    have = nominal_vram_gib(vram_gib)
    reasons = [f"{vram_gib:.1f} GiB VRAM, needs {need:g} GiB"]
    shown, label, used = vram_gib, name, 1
    if len(pool) > 1 and have < need and isinstance(goal, TaskGoal) \
            and goal.task.multi_gpu == "split":
        have = shown = split_vram_gib([nominal_vram_gib(v) for v in pool])
        used = len(pool)
        each = " + ".join(f"{v:.0f}" for v in pool)
        reasons = [f"{have:.1f} GiB VRAM ({len(pool)} GPUs, {each} GiB, the model split across "
                   f"them), needs {need:g} GiB"]
        if name:
            label = (f"{len(pool)}x {name}" if len(set(pool)) == 1
                     else f"{name} and {len(pool) - 1} more GPU(s)")
    ok = have >= need
    if speed is not None:
        if half_tflops is None:
            reasons.append("16-bit speed unknown (no catalog figure)")
            ok = False
        else:
            reasons.append(f"{half_tflops:g} TFLOPS 16-bit, needs {speed:g}")
            ok = ok and half_tflops >= speed
    return GpuOutcome("ready" if ok else "not ready", need, shown, label,
                      load_w=load_watts(tgp_w, used), reasons=tuple(reasons))


def gpu_outcome(goal: Goal, target: GpuTarget | None, entry: GpuEntry | None,
                ram_available: int | None = None, pool: Sequence[float] = ()) -> GpuOutcome:
    """The goal judged on one GPU: ``target`` for the estimator, ``entry`` for catalog speed;
    ``pool``: a task goal may split a model over these GPUs (see :func:`catalog_outcome`)."""
    if isinstance(goal, WorkloadGoal):
        return workload_outcome(goal, target, ram_available)
    vram = target.vram_bytes / GIB if target else None
    half = entry.half_tflops if entry else None
    return catalog_outcome(goal, vram, half, target.name if target else None,
                           target.tgp_w if target else None, pool)


def host_needs_of(goal: Goal, catalog: Catalog) -> HostNeeds:
    """RAM, disk and CPU the goal needs beyond the GPU (``catalog``: the models a task
    downloads, for its disk need)."""
    if isinstance(goal, WorkloadGoal):
        est = run_estimate(goal, None)
        return HostNeeds(ram_gib=est.host.ram_bytes / GIB, ram_is_free_ram=True,
                         disk_free_gb=est.host.disk_bytes / 1e9, disk_kind="sata-ssd",
                         reasons=est.host.reasons)
    if isinstance(goal, TierGoal):
        t = goal.tier
        return HostNeeds(ram_gib=t.ram_min_gib, disk_kind=t.storage_kind,
                         disk_capacity_gb=t.storage_min_gb, cpu_cores=t.cpu_min_cores,
                         reasons=(f"the {t.name} tier's minimums ({t.source})",))
    task = goal.task
    disk = disk_need(task, catalog)
    return HostNeeds(ram_gib=task.recommended_ram_gib, disk_free_gb=disk.gb,
                     disk_kind=task.storage_kind, cpu_cores=task.min_cpu_cores,
                     gpu_required=task.gpu_required,
                     reasons=(f"{task.name}: recommended sizes ({task.source})",
                              f"free disk: {disk.reason}"))
