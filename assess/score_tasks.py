"""A verdict per AI task of the catalog: ready, limited, not ready or unknown.

Each task's needs (GPU memory, RAM, CPU cores, free disk space, disk kind, the GPU's PCIe link)
are checked one by one, and each check says what a shortfall does to the job:

* it **blocks** the job (GPU memory below the minimum, RAM below the minimum, too little free
  disk): ``not ready``;
* it **slows** the job (few CPU cores for data loading, a slow disk, a GPU on a x4 link, RAM
  below the recommendation): ``limited``, with the expected cost;
* the fact is unread: ``unknown`` with how to learn it when a shortfall would block; when a
  shortfall would only slow the job, the task is at most ``limited`` and says what to check.

A task that names a model and a job (``job_method`` in tasks.toml: QLoRA of an 8B model, a
GGUF file, SDXL generation) takes its GPU and RAM checks from the workload estimator instead
(:mod:`rigready.assess.score_estimate`), the same answer ``rigready estimate`` gives.

The task's verdict is the worst of its checks (not ready > unknown > limited > ready). GPU
memory is compared as the card's marketed size, never with a tolerance: a model whose weights
need 24.2 GiB does not fit a 24 GB card. Several GPUs count only where the task's method can use
them (the catalog's ``multi_gpu``): a split pools their memory, data-parallel only speeds up.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Literal

from rigready.assess.score_estimate import JobCheck, JobOutcome, JobTargets, judge_job
from rigready.assess.score_facts import SPLIT_OVERHEAD_GIB, ScoreFacts, meets, split_vram_gib
from rigready.assess.score_gpu_fix import gpu_fix
from rigready.assess.task_disk import DiskNeed, disk_need
from rigready.catalog import Catalog, TaskEntry
from rigready.catalog.money import PriceView
from rigready.catalog.schema import DRIVE_KIND_ORDER

Verdict = Literal["ready", "limited", "not ready", "unknown"]
VERDICTS: tuple[Verdict, ...] = ("ready", "limited", "not ready", "unknown")
Effect = Literal["blocks", "slows", ""]
_KIND_NAMES = {"nvme": "NVMe SSD", "sata-ssd": "SATA SSD", "hdd": "hard disk"}
#: Tasks that run a trained model (no training data to load or augment).
_GENERATION_TASKS = frozenset({"stable-diffusion"})
_SEVERITY: dict[Verdict, int] = {"ready": 0, "limited": 1, "unknown": 2, "not ready": 3}
#: PCIe bandwidth per lane and direction, GB/s (PCI-SIG: 8, 16, 32 GT/s with 128b/130b).
PCIE_LANE_GB_S = {1: 0.25, 2: 0.5, 3: 0.985, 4: 1.969, 5: 3.938, 6: 7.563}


@dataclass(frozen=True, slots=True)
class TaskCheck:
    """One need of a task, checked."""

    #: ``GPU``, ``RAM``, ``CPU``, ``Disk space``, ``Disk speed`` or ``GPU link``.
    component: str
    verdict: Verdict
    reason: str
    fix: str = ""
    #: What a shortfall does: ``blocks`` the job or ``slows`` it; empty when it passes.
    effect: Effect = ""
    #: The GPU memory ``fix`` asks for, GiB, when it names cards and rentals with their prices
    #: (the answer warns once about each old price they name); None otherwise.
    fix_need_gib: float | None = None


@dataclass(frozen=True, slots=True)
class TaskVerdict:
    """Whether this PC can do one AI task, why, and what would make it ready."""

    task_id: str
    task: str
    verdict: Verdict
    reason: str
    #: The smallest change that would make the task ready; empty when it is ready.
    fix: str
    reasons: tuple[str, ...]
    checks: tuple[TaskCheck, ...] = ()

    @property
    def blocking(self) -> tuple[str, ...]:
        """Components whose shortfall stops this task."""
        return tuple(c.component for c in self.checks
                     if c.effect == "blocks" and c.verdict == "not ready")

    @property
    def slowing(self) -> tuple[str, ...]:
        """Components whose shortfall (or unread fact) only slows this task."""
        return tuple(c.component for c in self.checks
                     if c.effect == "slows" and c.verdict != "ready")


def task_verdicts(facts: ScoreFacts, catalog: Catalog, view: PriceView | None = None,
                  targets: JobTargets | None = None) -> tuple[TaskVerdict, ...]:
    """The verdict for every task in the catalog, in catalog order (``view`` shows the fixes'
    prices; USD when omitted). With ``targets`` (the PC as the estimator sees it), a task that
    names a job is judged by the estimator."""
    return tuple(task_verdict(facts, catalog, task, view, targets) for task in catalog.tasks)


def task_verdict(facts: ScoreFacts, catalog: Catalog, task: TaskEntry,
                 view: PriceView | None = None,
                 targets: JobTargets | None = None) -> TaskVerdict:
    """The verdict for one task (the worst of its checks).

    A task with a job (``job_method``) takes its GPU and RAM checks from the estimator
    (:mod:`rigready.assess.score_estimate`) when ``targets`` is given and the estimator can
    judge it; otherwise, and for every other task, from its fixed minimums.
    """
    job = judge_job(task, catalog, targets) if targets is not None else None
    if not isinstance(job, JobOutcome):
        gpu, ram = _gpu_check(facts, catalog, task, view), _ram_check(facts, task)
        if job is not None and job.note:
            gpu = replace(gpu, reason=f"{gpu.reason} ({job.note})")
    else:
        need = math.ceil(job.need_gib * 2) / 2 if job.need_gib is not None else None
        fix = gpu_fix(facts, catalog, need, view) if need is not None else ""
        gpu = replace(_from_job("GPU", job.gpu, fix), fix_need_gib=need if fix else None)
        ram = _from_job("RAM", job.ram, job.ram.fix + _soldered(facts) if job.ram.fix else "")
    checks = [gpu, *_link_checks(facts, task), ram, _cpu_check(facts, task),
              *_storage_checks(facts, task, disk_need(task, catalog))]
    worst = max(checks, key=lambda c: _SEVERITY[c.verdict])
    decisive = [c.reason for c in checks if c.verdict == worst.verdict]
    fixes = [c.fix for c in checks if c.verdict != "ready" and c.fix]
    return TaskVerdict(
        task_id=task.id,
        task=task.name,
        verdict=worst.verdict,
        reason="; ".join(decisive),
        fix="; ".join(dict.fromkeys(fixes)),
        reasons=tuple(f"{c.verdict}: {c.reason}" for c in checks),
        checks=tuple(checks),
    )


def _from_job(component: str, check: JobCheck, fix: str) -> TaskCheck:
    return TaskCheck(component, check.verdict, check.reason,
                     fix if check.verdict != "ready" else "", check.effect)


def _soldered(facts: ScoreFacts) -> str:
    return " - this RAM is soldered, so that means another machine" if facts.ram_soldered else ""


def _gpu_check(facts: ScoreFacts, catalog: Catalog, task: TaskEntry,
               view: PriceView | None = None) -> TaskCheck:
    low, rec = task.min_vram_gib, task.recommended_vram_gib
    if not task.gpu_required:
        if facts.has_gpu:
            return TaskCheck("GPU", "ready", "a GPU is optional for this task, and this PC has one")
        return TaskCheck("GPU", "ready", "runs on the CPU; a GPU is optional")
    if not facts.has_gpu:
        return TaskCheck("GPU", "not ready", f"needs a GPU with at least {low:g} GiB VRAM; this "
                         "PC has no discrete GPU", gpu_fix(facts, catalog, rec, view), "blocks",
                         rec)
    vram = facts.vram_gib
    if vram is None:
        how = facts.vram_problem or ("fill in the GPU's vram_bytes in the profile "
                                     "('rigready detect --save')")
        return TaskCheck("GPU", "unknown", f"the GPU's memory is unknown, so whether the "
                         f"{low:g} GiB minimum is met cannot be told", how, "blocks")
    pooled, how = _pooled_vram(facts, task)
    have = max(vram, pooled or 0.0)
    # A split is only needed where one GPU alone falls short of the recommendation: a job that
    # fits one card runs on one card, so a second GPU never makes a verdict worse.
    several = pooled is not None and pooled > vram and vram < rec
    have = pooled if several and pooled is not None else vram
    where = f"{have:.1f} GiB VRAM" + (f" ({how})" if several else "")
    if have < low:
        extra = ""
        if len(facts.gpus) > 1 and task.multi_gpu != "split":
            method = ("runs on one GPU" if task.multi_gpu == "single"
                      else "copies it to every GPU")
            extra = f" (each GPU must hold the whole job: this task's usual method {method})"
        return TaskCheck("GPU", "not ready", f"{where} is below the {low:g} GiB minimum{extra}",
                         gpu_fix(facts, catalog, rec, view), "blocks", rec)
    cost = f"; {_split_cost(facts)}" if several else ""
    dp = _data_parallel_note(facts, task)
    if have < rec:
        return TaskCheck("GPU", "limited", f"{where} meets the {low:g} GiB minimum but not the "
                         f"{rec:g} GiB recommended (smaller batches or models){cost}{dp}",
                         gpu_fix(facts, catalog, rec, view), "slows", rec)
    if several and facts.interconnect != "nvlink":
        return TaskCheck("GPU", "limited", f"{where} meets the {rec:g} GiB recommended{cost}",
                         "", "slows")
    return TaskCheck("GPU", "ready", f"{where} meets the {rec:g} GiB recommended{cost}{dp}")


def _pooled_vram(facts: ScoreFacts, task: TaskEntry) -> tuple[float | None, str]:
    """GPU memory the task can use across GPUs (None: one GPU only, or a size unknown)."""
    if task.multi_gpu != "split" or len(facts.gpus) < 2:
        return None, ""
    sizes = [g.vram_gib for g in facts.gpus]
    if any(v is None for v in sizes):
        return None, ""
    known = [v for v in sizes if v is not None]
    pooled = split_vram_gib(known)
    return pooled, (f"{len(known)} GPUs, the model split across them (FSDP, tensor/pipeline "
                    f"parallel or a layer split), about {SPLIT_OVERHEAD_GIB:g} GiB lost per "
                    "extra GPU")


def _split_cost(facts: ScoreFacts) -> str:
    link = facts.interconnect
    if link == "nvlink":
        return ("the GPUs are joined by NVLink, so exchanging weights and activations costs "
                "little")
    lanes = [g.pcie_width for g in facts.gpus if g.pcie_width]
    gens = [g.pcie_gen for g in facts.gpus if g.pcie_gen]
    if lanes and gens:
        bw = min(lanes) * PCIE_LANE_GB_S.get(min(gens), 1.0)
        speed = f"PCIe {min(gens)}.0 x{min(lanes)}, about {bw:.0f} GB/s each way"
    else:
        speed = "PCIe (lane count not read)"
    what = "no NVLink between them" if link == "pcie" else "NVLink not detected"
    return (f"{what}: every step passes weights or activations over {speed}; an RTX 3090 NVLink "
            "bridge moves 112.5 GB/s (NVIDIA), so expect the split to cost noticeably more time "
            "per step than on one big GPU, most for tensor parallel, least for a pipeline or "
            "layer split")


def _data_parallel_note(facts: ScoreFacts, task: TaskEntry) -> str:
    if len(facts.gpus) < 2 or task.multi_gpu != "data-parallel":
        return ""
    return (f"; {len(facts.gpus)} GPUs run it data-parallel (DDP): up to {len(facts.gpus)}x the "
            "samples per second, but each GPU still needs the memory above")


def _link_checks(facts: ScoreFacts, task: TaskEntry) -> list[TaskCheck]:
    """A GPU on a narrow PCIe link (a x4 slot or an external GPU) is slower to feed."""
    if not task.gpu_required or not facts.gpus:
        return []
    narrow = [g for g in facts.gpus if g.pcie_width is not None and g.pcie_width <= 4]
    if not narrow:
        return []
    g = narrow[0]
    bw = g.pcie_width * PCIE_LANE_GB_S.get(g.pcie_gen or 3, 0.985) if g.pcie_width else 0.0
    return [TaskCheck("GPU link", "limited",
                      f"{g.name} runs on a PCIe x{g.pcie_width} link (about {bw:.0f} GB/s, an "
                      "external-GPU or chipset-slot class link): loading the model and feeding "
                      "data take longer; compute on the card is not affected",
                      "a x16 slot wired to the CPU, if the board has one free", "slows")]


def _ram_check(facts: ScoreFacts, task: TaskEntry) -> TaskCheck:
    ram, low, rec = facts.ram_gib, task.min_ram_gib, task.recommended_ram_gib
    if ram is None:
        return TaskCheck("RAM", "unknown", "the amount of RAM is unknown",
                         "fill in memory.total_bytes in the profile", "blocks")
    fix = f"{rec:g} GiB RAM (add about {max(rec - ram, 0):.0f} GiB)" + _soldered(facts)
    if not meets(ram, low):
        return TaskCheck("RAM", "not ready", f"{ram:.1f} GiB RAM is below the {low:g} GiB "
                         "minimum (loading the data or model can run out of memory)", fix,
                         "blocks")
    if not meets(ram, rec):
        return TaskCheck("RAM", "limited", f"{ram:.1f} GiB RAM meets the {low:g} GiB minimum but "
                         f"not the {rec:g} GiB recommended (smaller data caches, more disk "
                         "reads)", fix, "slows")
    return TaskCheck("RAM", "ready", f"{ram:.1f} GiB RAM meets the {rec:g} GiB recommended")


def _cpu_check(facts: ScoreFacts, task: TaskEntry) -> TaskCheck:
    cores, need = facts.cpu_cores, task.min_cpu_cores
    if cores is None:
        return TaskCheck("CPU", "limited", f"the number of CPU cores is unknown: with fewer than "
                         f"{need}, data loading would be slower",
                         "fill in cpu.physical_cores in the profile", "slows")
    if cores >= need:
        return TaskCheck("CPU", "ready", f"{cores} CPU cores (needs {need})")
    if task.gpu_required and (task.id in _GENERATION_TASKS or task.id.endswith("-inference")
                              or task.job_method == "inference"):
        cost = ("loading the model, preparing the inputs (tokenizing prompts) and launching "
                "the GPU's work run on the CPU: expect slower loading and responses; the "
                "computation on the GPU is not affected")
    elif task.gpu_required:
        cost = ("data loading, decoding and augmentation run on the CPU, so the GPU will wait "
                f"for input: expect slower steps (pre-process once and cache, use {cores} "
                "DataLoader workers)")
    else:
        cost = f"the work runs on the CPU: expect about {need / cores:.0f}x longer"
    return TaskCheck("CPU", "limited", f"{cores} CPU cores, below the {need} this task expects: "
                     f"{cost}", f"a CPU (or instance) with at least {need} cores", "slows")


def _storage_checks(facts: ScoreFacts, task: TaskEntry, disk: DiskNeed) -> list[TaskCheck]:
    checks = []
    free, need = facts.free_gb, disk.gb
    if free is None:
        checks.append(TaskCheck("Disk space", "unknown", "free disk space is unknown",
                                "mount the disks or fill in free_bytes in the profile",
                                "blocks"))
    elif free < need:
        checks.append(TaskCheck("Disk space", "not ready", f"{free:,.0f} GB free, below the "
                                f"{need:,.0f} GB needed ({disk.reason})",
                                f"free up or add {need - free:,.0f} GB of disk space", "blocks"))
    else:
        checks.append(TaskCheck("Disk space", "ready", f"{free:,.0f} GB free (needs "
                                f"{need:,.0f} GB: {disk.reason})"))
    if task.storage_kind is not None:
        kind = facts.storage_class
        want = _KIND_NAMES[task.storage_kind]
        if kind is None:
            checks.append(TaskCheck("Disk speed", "limited", f"the disk kind is unknown: a disk "
                                    f"slower than a {want} would slow data loading",
                                    "run the storage benchmark to measure its speed", "slows"))
        elif DRIVE_KIND_ORDER.index(kind) < DRIVE_KIND_ORDER.index(task.storage_kind):
            checks.append(TaskCheck("Disk speed", "limited", f"the fastest disk is a "
                                    f"{_KIND_NAMES[kind]}; {want} is recommended for loading "
                                    "the data (epochs wait on the disk)",
                                    f"a faster drive ({want}) for the data", "slows"))
        else:
            checks.append(TaskCheck("Disk speed", "ready", f"{_KIND_NAMES[kind]} storage"))
    return checks
