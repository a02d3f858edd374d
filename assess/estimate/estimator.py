"""The estimator's entry points that depend on the kind of model: they pick the family, the
image family (:mod:`rigready.assess.estimate.image`) for a shape that carries a walked
architecture (``shape.image``, kinds in :data:`IMAGE_KINDS`), the language-model family
(:mod:`rigready.assess.estimate.language`) for the rest, and ask it.

This module and :mod:`rigready.assess.estimate.shapes` are the only places that choose between
the families; neither family imports the other, and both return the shared types of
:mod:`rigready.assess.estimate.result`. A new family plugs in here (see docs/architecture.md).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from rigready.assess.estimate.breakdown import MemoryBreakdown
from rigready.assess.estimate.energy import DEFAULT_ELECTRICITY_USD_KWH
from rigready.assess.estimate.gpu import GpuTarget
from rigready.assess.estimate.image import estimate as image_estimate
from rigready.assess.estimate.image import memory as image_memory
from rigready.assess.estimate.image import stack as image_stack
from rigready.assess.estimate.image.shapes import IMAGE_KINDS
from rigready.assess.estimate.inputs import EstimateError, Workload
from rigready.assess.estimate.language import estimate as language_estimate
from rigready.assess.estimate.language import memory as language_memory
from rigready.assess.estimate.language import stack as language_stack
from rigready.assess.estimate.model import ModelShape, with_head
from rigready.assess.estimate.result import Estimate
from rigready.assess.estimate.useful import useful, useful_seq
from rigready.assess.units import GIB

__all__ = ["IMAGE_KINDS", "assumptions", "error_band", "estimate", "estimate_to_dict", "memory",
           "speed_lines"]


def estimate(shape: ModelShape, workload: Workload, gpu: GpuTarget | None = None, *,
             dataset_tokens: int | None = None, epochs: float = 1.0,
             utilisation: float | None = None, ram_available: int | None = None,
             electricity_usd_kwh: float = DEFAULT_ELECTRICITY_USD_KWH,
             search: bool = True) -> Estimate:
    """Estimate ``workload`` for ``shape`` on ``gpu`` (None: memory only, no verdict): the
    image family for a shape with a walked architecture, the language family otherwise.

    Args:
        shape: the model.
        workload: method, precision and sizes.
        gpu: the target GPU; its VRAM decides the verdict, its TFLOP/s and bandwidth the time.
        dataset_tokens: tokens in the dataset (training) or to generate (inference), for time
            and energy.
        epochs: passes over the dataset.
        utilisation: share of the dense peak reached (default 0.35; QLoRA 0.25).
        ram_available: system RAM free for offloading, bytes (None: not checked).
        electricity_usd_kwh: price of electricity.
        search: also search the largest batch/sequence and the suggestions (slower).

    Raises:
        EstimateError: impossible input (zero sizes, options that do not fit the method).
    """
    workload.check()
    shape = with_head(shape, workload.head)
    if dataset_tokens is not None and dataset_tokens <= 0:
        raise EstimateError(f"dataset size must be above zero, got {dataset_tokens} tokens")
    if epochs <= 0:
        raise EstimateError(f"epochs must be above zero, got {epochs}")
    # Every comparison of the families reads GpuTarget.job_bytes (the card less what the
    # desktop and other programs hold). An inference split by layers over several GPUs gives
    # the display card fewer layers, so there the desktop's share counts once over all of them
    fit_gpu = gpu if gpu is None or workload.training else gpu.split_by_layers(workload.gpus)
    if shape.image is not None:
        est = image_estimate.estimate(shape, workload, fit_gpu, dataset_items=dataset_tokens,
                                      epochs=epochs, electricity_usd_kwh=electricity_usd_kwh,
                                      search=search)
    else:
        est = language_estimate.estimate(shape, workload, fit_gpu, dataset_tokens=dataset_tokens,
                                         epochs=epochs, utilisation=utilisation,
                                         ram_available=ram_available,
                                         electricity_usd_kwh=electricity_usd_kwh, search=search)
    return _on_the_card(est, gpu)


def _on_the_card(est: Estimate, gpu: GpuTarget | None) -> Estimate:
    """``est`` answered for ``gpu`` as the user has it: the card itself, the verdict saying how
    much of it is free for the job and who holds the rest, no change that makes the job
    pointless (:mod:`~rigready.assess.estimate.useful`), and no run time or cost for a job that
    does not fit."""
    if gpu is None:
        return est
    note = gpu.free_note()
    verdict = est.verdict
    if verdict is not None and note:
        verdict = replace(verdict, reasons=(*verdict.reasons, note))
    timing = est.timing
    if verdict is not None and verdict.status == "no" and timing.hours is not None:
        timing = replace(timing, hours=None, energy_kwh=None, cost_usd=None, reasons=(
            *timing.reasons, "no run time or cost: the job does not fit this card"))
    return replace(est, gpu=gpu, verdict=verdict, timing=timing,
                   suggestions=useful(est.shape, est.workload, est.suggestions),
                   max_seq=est.max_seq if useful_seq(est.shape, est.max_seq) else 0)


def memory(shape: ModelShape, wl: Workload, vram_bytes: int | None = None) -> MemoryBreakdown:
    """The peak-memory breakdown of ``wl`` for ``shape`` (its family's model); ``vram_bytes``
    (the card's memory) sets what the driver reserves (None: an H100 80GB's)."""
    if shape.image is not None:
        return image_memory.memory(shape, wl, vram_bytes)
    return language_memory.memory(shape, wl, vram_bytes)


def assumptions(wl: Workload, kind: str | None = None, head: str = "",
                family: str = "") -> dict[str, str]:
    """The stack, recipe and runtime the figure describes (shown by the CLI and the page);
    ``kind``: the model's kind (image models have their own stacks); ``head``: an encoder's
    task head (:attr:`ModelShape.head`), named when there is one; ``family``: the model's
    family (:attr:`ModelShape.family`: SD3.5 / FLUX.1, T5, Whisper have their own)."""
    if kind in IMAGE_KINDS:
        return image_stack.assumptions(wl, kind == "diffusion", family)
    return language_stack.assumptions(wl, head, family)


def error_band(wl: Workload, kind: str | None = None, family: str = "") -> float:
    """How far below the measured need this kind of estimate has been (a share of it);
    ``kind`` and ``family``: the model's (image models have their own measured bands)."""
    if kind in IMAGE_KINDS:
        return image_stack.error_band(wl, family)
    return language_stack.error_band(wl, family)


def speed_lines(est: Estimate) -> list[str]:
    """The speed figures of an estimate as lines of text, each naming its runtime (shared by
    the CLI and the Can I run it? page)."""
    wl, t = est.workload, est.timing
    if t.images_per_s is not None and t.step_seconds is not None:
        what = "training" if wl.training else "generating" if est.shape.kind == "diffusion" \
            else "inference"
        return [f"{what}: {t.images_per_s:,.2f} images/s ({t.step_seconds:.3f} s a batch of "
                f"{wl.batch})"]
    if t.tokens_per_s is None:
        return ["unknown (no throughput figures for this GPU)"]
    if wl.training:
        step = f" ({t.step_seconds * 1000:,.0f} ms a step)" if t.step_seconds else ""
        return [f"training: {t.tokens_per_s:,.0f} tokens/s{step}"]
    lines = [f"decoding with Transformers generate(): {t.tokens_per_s:,.0f} tokens/s"
             + ("" if t.llamacpp_tokens_per_s and t.llamacpp_tokens_per_s > 1.05 * t.tokens_per_s
                else " (a llama.cpp-class runtime reads the weights no faster here)")]
    if t.llamacpp_tokens_per_s and t.llamacpp_tokens_per_s > 1.05 * t.tokens_per_s:
        lines.append(f"decoding with a llama.cpp-class runtime: about "
                     f"{t.llamacpp_tokens_per_s:,.0f} tokens/s")
    return lines


def _available(est: Estimate) -> int:
    """The memory the verdict compared the need with (0 without a GPU)."""
    if est.verdict is None:
        return 0
    v = est.verdict
    return v.available_bytes if v.available_bytes is not None else v.vram_bytes


def _gib(value: float | None) -> float | None:
    return None if value is None else round(value / GIB, 3)


def estimate_to_dict(est: Estimate) -> dict[str, Any]:
    """The JSON form used by ``rigready estimate --json``."""
    m, t = est.memory, est.timing
    return {
        "model": est.shape.name, "params": est.shape.params,
        "method": est.workload.method, "precision": est.workload.resolved_precision,
        "gpu": est.gpu.name if est.gpu else None,
        "total_gib": _gib(m.total), "needs_free_gib": _gib(m.needs_free_bytes),
        "breakdown_gib": {k: _gib(v) for k, v in m.parts().items()},
        "allocated_gib": _gib(m.allocated), "reserved_gib": _gib(m.reserved),
        "peak_phase": m.peak_phase, "gradients_total_gib": _gib(m.gradients_total),
        "trainable_params": m.trainable_params,
        "verdict": est.verdict.status if est.verdict else None,
        # the memory the verdict compared with: what the job may use on the card (the name
        # older readers know; available_gib says the same)
        "vram_gib": _gib(_available(est)) if est.verdict else None,
        "available_gib": _gib(_available(est)) if est.verdict else None,
        "margin_gib": _gib(_available(est) - m.needs_free_bytes) if est.verdict else None,
        "card_vram_gib": _gib(est.gpu.vram_bytes) if est.gpu else None,
        "held_gib": _gib(est.gpu.held_bytes) if est.gpu else None,
        "held_by": [{"name": h.name, "gib": _gib(h.used_bytes)} for h in est.gpu.holders]
        if est.gpu else [],
        "held_source": (est.gpu.held_source or None) if est.gpu else None,
        "error_band": error_band(est.workload, est.shape.kind, est.shape.family),
        "assumes": assumptions(est.workload, est.shape.kind, est.shape.head, est.shape.family),
        "head": est.shape.head or None,
        "offload_slowdown": est.verdict.offload_slowdown if est.verdict else None,
        "ram_gib": _gib(est.host.ram_bytes), "load_peak_ram_gib": _gib(est.host.load_peak_bytes),
        "disk_gib": _gib(est.host.disk_bytes),
        "max_batch": est.max_batch, "max_seq": est.max_seq,
        "tokens_per_s": None if t.tokens_per_s is None else round(t.tokens_per_s, 1),
        "utilisation": t.utilisation,
        "step_seconds": None if t.step_seconds is None else round(t.step_seconds, 4),
        "runtime": t.runtime or None,
        "llamacpp_tokens_per_s": None if t.llamacpp_tokens_per_s is None
        else round(t.llamacpp_tokens_per_s, 1),
        "images_per_s": None if t.images_per_s is None else round(t.images_per_s, 2),
        "kind": est.shape.kind, "image_size": est.shape.image_size if est.shape.image is None
        else (est.workload.image_size or est.shape.image_size),
        "hours": None if t.hours is None else round(t.hours, 3),
        "energy_kwh": None if t.energy_kwh is None else round(t.energy_kwh, 3),
        "cost_usd": None if t.cost_usd is None else round(t.cost_usd, 2),
        "suggestions": [{"change": s.change, "total_gib": _gib(s.total_bytes),
                         "needs_free_gib": _gib(s.needs_free_bytes), "verdict": s.status}
                        for s in est.suggestions],
        "reasons": [*est.reasons, *(est.verdict.reasons if est.verdict else ()),
                    *t.reasons, *est.host.reasons],
    }
