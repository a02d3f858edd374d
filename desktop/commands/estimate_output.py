"""What ``rigready estimate`` prints: the estimate as plain text (:func:`render_estimate`) and
as JSON (:func:`estimate_json`, :func:`measured_to_dict` for ``--measure``)."""

from __future__ import annotations

from typing import Any

from rigready.assess.estimate import Estimate, estimate_to_dict, speed_lines
from rigready.assess.estimate.estimator import assumptions, error_band
from rigready.assess.estimate.language.llamacpp import plan_to_dict
from rigready.assess.measure.result import MeasuredRun
from rigready.assess.units import GIB
from rigready.desktop.usecases.answers import FirstLine, cpu_answer, limits_text


def measured_to_dict(run: MeasuredRun) -> dict[str, Any]:
    """The ``measured`` object of ``estimate --measure --json``."""
    err = None
    if run.peak_bytes and run.estimate_bytes:
        err = round((run.estimate_bytes - run.peak_bytes) / run.peak_bytes, 4)
    return {"status": run.status, "gpu": run.gpu_name, "stack": run.stack,
            "peak_gib": None if run.peak_bytes is None else round(run.peak_bytes / GIB, 3),
            "torch_max_allocated_gib": None if run.max_allocated_bytes is None else round(
                run.max_allocated_bytes / GIB, 3),
            "torch_max_reserved_gib": None if run.max_reserved_bytes is None else round(
                run.max_reserved_bytes / GIB, 3),
            "step_seconds": run.step_seconds, "estimate_error": err,
            "verdict": {"ok": "measured", "oom": "does not fit, measured"}.get(
                run.status, "not measured"),
            "message": run.message}


def _gib(value: float) -> str:
    return f"{value / GIB:6.2f} GiB"


def estimate_json(est: Estimate, ram_available: int | None,
                  first: FirstLine | None = None) -> dict[str, object]:
    """``estimate --json``: the estimate, plus ``answer`` (the first line: ``status``,
    ``sentence``, ``route``, ``notes``), ``llamacpp`` (the same model as a GGUF in a
    llama.cpp-based app, running a decoder; else null) and ``cpu``, the same yes/no the text
    output and the page give a PC without a GPU (null when there is a GPU to judge)."""
    cpu = None
    extra: dict[str, object] = {}
    if first is not None:
        a = first.answer
        extra = {"answer": {"status": a.status, "sentence": a.sentence, "route": a.route or None,
                            "notes": list(a.notes)},
                 "llamacpp": plan_to_dict(first.gguf) if first.gguf is not None else None}
    unread = first.unread_gpu if first is not None else None
    extra["gpu_memory_not_read"] = unread
    if est.gpu is None and unread is None:
        status, answer = cpu_answer(est, ram_available)
        cpu = {"verdict": status, "answer": answer,
               "ram_needed_gib": round(est.memory.allocated / GIB, 2),
               "ram_available_gib": None if ram_available is None
               else round(ram_available / GIB, 2)}
    return {**extra, **estimate_to_dict(est), "cpu": cpu}


def render_estimate(est: Estimate, ram_available: int | None = None,
                    first: FirstLine | None = None) -> str:
    """The estimate as plain text: the first line (yes or no, and the route that works),
    breakdown, verdict (or the CPU's yes/no), limits, suggestions, time. ``ram_available``:
    free RAM, for the CPU answer of a PC without a GPU."""
    wl, m, t = est.workload, est.memory, est.timing
    head = [] if first is None else [first.answer.sentence, *(
        f"  ({n})" for n in first.answer.notes), ""]
    image = est.shape.image is not None
    size = (f"{wl.image_size or est.shape.image_size} px" if image else f"{wl.seq_len} tokens"
            + (f", {wl.new_tokens} new" if not wl.training else ""))
    if image and est.shape.kind == "diffusion" and not wl.training:
        size += f", {wl.sampling_steps} steps"
    out = [*head, f"{est.shape.name} ({est.shape.params / 1e9:.2f}B parameters, "
           f"{est.shape.kind}): {wl.method}, {wl.resolved_precision}, batch {wl.batch} x {size}"
           + (", checkpointing" if wl.checkpointing else "")]
    out.append(f"\nPeak GPU memory (per GPU, during {m.peak_phase})")
    for name, value in m.parts().items():
        out.append(f"  {name.replace('_', ' '):<14}{_gib(value)}")
    out.append(f"  {'total':<14}{_gib(m.total)}   (as nvidia-smi shows; "
               f"torch allocated {m.allocated / GIB:.2f}, reserved {m.reserved / GIB:.2f})")
    out.append(f"  {'needs free':<14}{_gib(m.needs_free_bytes)}   (the least a card must have "
               f"free for the job: allocated peak, fragmentation "
               f"{m.fragmentation / GIB:.2f}, context; the verdict is judged on this)")
    if est.verdict is not None and est.gpu is not None:
        v = est.verdict
        out.append(f"\nVerdict on {est.gpu.name}: {v.status.upper()}")
        out.extend(f"  {r}" for r in v.reasons)
        out.append(f"  {limits_text(est)}")
    if first is not None and first.gguf is not None:
        g = first.gguf
        out.append(f"\nIn a llama.cpp-based app ({g.size.ftype}, {g.ctx:,}-token context): "
                   f"{g.summary} (rigready estimate ... --runtime llama.cpp for the details)")
    if est.gpu is None:
        out.append(f"\nGPU: {first.answer.sentence}" if first is not None and first.unread_gpu
                   else f"\nNo GPU: {cpu_answer(est, ram_available)[1]}")
    if est.suggestions:
        out.append("\nTo make it fit")
        out.extend(f"  - {s.change}: needs {(s.needs_free_bytes or s.total_bytes) / GIB:.1f} "
                   f"GiB free ({s.status})" for s in est.suggestions)
    host = est.host
    out.append(f"\nHost: RAM {host.ram_bytes / GIB:.1f} GiB (load peak "
               f"{host.load_peak_bytes / GIB:.1f} GiB), disk {host.disk_bytes / GIB:.1f} GiB")
    out.append("\nTime" + (f" ({t.runtime})" if t.runtime else ""))
    if est.verdict is not None and est.verdict.status == "no":
        out.append("  not estimated: the job does not fit this card")
    else:
        out.extend(f"  {line}" for line in speed_lines(est))
    if t.hours is not None:
        out.append(f"  dataset: {t.hours:,.2f} h"
                   + (f", {t.energy_kwh:,.2f} kWh, {t.cost_usd:,.2f} USD"
                      if t.energy_kwh is not None and t.cost_usd is not None else ""))
    a = assumptions(wl, est.shape.kind, est.shape.head, est.shape.family)
    out.append(f"\nAssumes {a['stack']}")
    out.append(f"  {a['recipe']}")
    out.append(f"  {a['runtime']}; error band "
               f"{error_band(wl, est.shape.kind, est.shape.family):.0%} (measured)")
    notes = [*est.reasons, *t.reasons, *est.host.reasons]
    if notes:
        out.append("\nHow")
        out.extend(f"  {r}" for r in notes)
    return "\n".join(out)
