"""``rigready run --model M --method lora ...``: the estimator's view of the job beside what the
run measured, and the measurement kept like ``estimate --measure``'s (issue 21, item 6).

The job is described with the same options as ``rigready estimate`` (parsed by the same
functions). When it is, the run's record holds the estimate next to what was measured (peak VRAM
of the run's own processes, steady step time) and the measurement is saved to the history as a
``measure`` result, so later estimates of the same job on this PC use it; a run that died of
"CUDA out of memory" is saved as "does not fit, measured". The estimate's answer and its
suggestions become the advice a crash report gives after "out of memory".

The history call is :func:`save_measured` alone, into the "measured here" use case
(``desktop/usecases/measure.py``).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rigready.assess.estimate import Estimate, EstimateError, Workload, estimate, resolve_model
from rigready.assess.measure.result import MeasuredRun, MeasureStatus
from rigready.assess.units import GIB
from rigready.monitor.training.events import RunEnded
from rigready.monitor.training.tracker import RunSnapshot

#: A run must show at least this many steps before its step time and peak count as measured.
MIN_STEPS = 10


@dataclass(frozen=True, slots=True)
class JobLink:
    """A described job and the estimate for it on this PC."""

    model: str
    workload: Workload
    estimate: Estimate
    #: The ``runs.job`` column: what was described and what was estimated.
    job: dict[str, Any]
    #: Lines a crash report adds after "out of memory".
    oom_advice: tuple[str, ...]


def describe_job(args: argparse.Namespace) -> JobLink:
    """The estimate for the job ``args`` describe, on this PC's GPU.

    Raises:
        EstimateError: An unknown model or sizes the estimator refuses.
        UsageError: Bad sizes (as ``estimate`` refuses them).
    """
    from rigready.catalog import default_catalog
    from rigready.desktop.commands.estimate import runs_on, workload_from_args

    cat = default_catalog()
    wl = workload_from_args(args)
    shape = resolve_model(args.model, cat.models)
    where = runs_on(args, cat)
    gpu, ram = where.gpu, where.ram_available
    est = estimate(shape, wl, gpu, ram_available=ram, dataset_tokens=args.dataset_tokens,
                   epochs=args.epochs)
    job = {"model": args.model, "resolved": shape.name, "method": wl.method,
           "precision": wl.resolved_precision, "batch": wl.batch, "seq_len": wl.seq_len,
           "checkpointing": wl.checkpointing, "lora_rank": wl.lora_rank,
           "gpu": None if est.gpu is None else est.gpu.name,
           "estimate_peak_bytes": est.memory.total,
           "estimate_step_seconds": est.timing.step_seconds,
           "verdict": None if est.verdict is None else est.verdict.status}
    return JobLink(args.model, wl, est, job, oom_advice(est))


def oom_advice(est: Estimate) -> tuple[str, ...]:
    """What the estimator says of this job after it ran out of memory."""
    if est.gpu is None:
        return ()
    total = est.memory.total / GIB
    vram = est.gpu.vram_bytes / GIB
    head = (f"The estimate for {est.shape.name} {est.workload.method} "
            f"(batch {est.workload.batch} x {est.workload.seq_len}) is {total:.1f} GiB "
            f"on this {vram:.0f} GiB GPU")
    fits = [s for s in est.suggestions if s.status in ("fits", "tight")]
    if fits:
        head += "; to make it fit: " + "; ".join(
            f"{s.change} ({s.total_bytes / GIB:.1f} GiB)" for s in fits[:3])
    else:
        head += "; no single change the estimator knows makes it fit this GPU"
    return (head,)


def steady_step_seconds(points: list[tuple[float, int]]) -> float | None:
    """Seconds per step between 10% and 90% of the steps seen (start-up and the end left out)."""
    if len(points) < 3:
        return None
    last = points[-1][1]
    if last < MIN_STEPS:
        return None
    low = next((p for p in points if p[1] >= 0.1 * last), None)
    high = next((p for p in points if p[1] >= 0.9 * last), None)
    if low is None or high is None or high[1] <= low[1] or high[0] <= low[0]:
        return None
    return (high[0] - low[0]) / (high[1] - low[1])


def compare(link: JobLink, snap: RunSnapshot, step_s: float | None) -> dict[str, Any]:
    """Estimate versus measured, for the run's record and the closing line."""
    est_peak = link.estimate.memory.total
    est_step = link.estimate.timing.step_seconds
    peak = snap.process_vram_peak_bytes or None
    return {"estimate_peak_bytes": est_peak, "measured_peak_bytes": peak,
            "peak_error": None if not peak else round((est_peak - peak) / peak, 4),
            "estimate_step_seconds": est_step, "measured_step_seconds": step_s,
            "step_error": None if not (step_s and est_step) else
            round((est_step - step_s) / step_s, 4)}


def measured_run(link: JobLink, snap: RunSnapshot, ended: RunEnded | None,
                 step_s: float | None) -> MeasuredRun | None:
    """The run as a history measurement, or None when it measured nothing sure.

    Out of memory: "does not fit, measured". Otherwise only a run that got through
    :data:`MIN_STEPS` steps with its own VRAM read.
    """
    est = link.estimate
    if est.gpu is None or ended is None:
        return None
    wl = link.workload
    status: MeasureStatus
    if ended.out_of_memory:
        status, peak = "oom", None
    elif (snap.step or 0) >= MIN_STEPS and snap.process_vram_peak_bytes:
        status, peak = "ok", snap.process_vram_peak_bytes
    else:
        return None
    return MeasuredRun(
        model=est.shape.name, method=wl.method, precision=wl.resolved_precision,
        batch=wl.batch, seq_len=wl.seq_len, new_tokens=wl.new_tokens,
        checkpointing=wl.checkpointing, lora_rank=wl.lora_rank, lora_targets=wl.lora_targets,
        status=status, gpu_name=est.gpu.name, peak_bytes=peak, max_allocated_bytes=None,
        max_reserved_bytes=None, step_seconds=step_s, estimate_bytes=est.memory.total,
        stack="the user's own training run (rigready run)",
        message=f"rigready run of {link.model}" + ("" if status == "ok" else ": out of memory"))


def save_measured(run: MeasuredRun, db_path: Path | None) -> str | None:
    """Keep ``run`` in the history like ``estimate --measure`` does; why not, or None.

    The one call into the "measured here" use case (see the module docstring).
    """
    from rigready.desktop.usecases import measure

    problem: str | None = measure._save(run, db_path)
    return problem


def close_loop(link: JobLink, snap: RunSnapshot, step_s: float | None,
               db_path: Path | None) -> tuple[dict[str, Any], str | None]:
    """The comparison for the record, and why the measurement was not saved (or None)."""
    comparison = compare(link, snap, step_s)
    run = measured_run(link, snap, snap.ended, step_s)
    if run is None:
        comparison["saved"] = False
        return comparison, None
    problem = save_measured(run, db_path)
    comparison["saved"] = problem is None
    comparison["saved_status"] = run.status
    return comparison, problem


__all__ = ["EstimateError", "JobLink", "close_loop", "compare", "describe_job",
           "measured_run", "oom_advice", "save_measured", "steady_step_seconds"]
