"""Free fixes first: settings that make a workload fit the GPU this PC already has.

The estimator's own suggestions (gradient checkpointing, QLoRA instead of LoRA, a smaller
micro-batch with gradient accumulation, a shorter sequence, an 8-bit optimizer, 8/4-bit weights
for inference, several GPUs of the kind already installed) are each re-verified with the
estimator as a goal of their own, so a setting is only offered with the verdict, memory and run
time it was checked against. CPU offload is listed with its slowdown, never as reaching the goal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from rigready.assess.estimate import estimate
from rigready.assess.estimate.inputs import Workload
from rigready.assess.plan.goal import (
    REACHED,
    GpuOutcome,
    WorkloadGoal,
    run_estimate,
    workload_outcome,
)
from rigready.assess.plan.rig import RigState
from rigready.assess.plan.verdicts import need_words, verdict_text
from rigready.assess.units import GIB

_SLOWER = re.compile(r"\s*\([^)]*slower[^)]*\)")


@dataclass(frozen=True, slots=True)
class SettingFix:
    """One change of settings, re-verified on this PC's GPU."""

    change: str
    #: fits / tight / offload / no, as the estimator says for the changed job.
    verdict: str
    need_gib: float
    vram_gib: float
    #: The goal the change was re-verified against (the changed workload, in words).
    verified_goal: str
    #: What it costs: time against the original settings, or the offload slowdown.
    cost: str
    #: Whether the changed job is still the job asked for: a shorter sequence, fewer generated
    #: tokens or a smaller image is a different job (a compromise to weigh against buying),
    #: while checkpointing, QLoRA, an 8-bit optimizer or a micro-batch with accumulation are not.
    keeps_goal: bool = True
    #: The changed workload (None for CPU offload, which changes no setting of the job).
    workload: Workload | None = None
    #: GPU memory free for the job (the card less what the desktop keeps); None: all of it.
    free_gib: float | None = None

    @property
    def sizes(self) -> str:
        """``9.5 of 24.0 GiB`` (or ``... of the 11.0 GiB free (12 GiB card)``)."""
        return need_words(self.need_gib, self.vram_gib, self.free_gib)

    @property
    def reached(self) -> bool:
        """Whether the changed job fits (fits or tight)."""
        return self.verdict in REACHED

    @property
    def settles_it(self) -> bool:
        """Whether this setting alone answers the goal, so no purchase need be offered: the
        job as asked, with room (a tight fit may still run out of memory)."""
        return self.verdict == "fits" and self.keeps_goal

    @property
    def mark(self) -> str:
        """A short label for a list: works, tight (fits, little to spare), slow (CPU offload)
        or short (does not reach the goal); smaller where it fits a smaller job than asked (a
        shorter sequence) with room."""
        if self.verdict == "fits" and not self.keeps_goal:
            return "smaller"
        return _MARKS.get(self.verdict, "short")

    def describe(self) -> str:
        """``QLoRA (4-bit base): 9.5 of 24.0 GiB, fits; one run about 1.2x the time``; for CPU
        offload the memory the job needs and the GPU holds, without repeating "offload"."""
        if self.verdict == "offload":
            room = (f"{self.free_gib:.1f} GiB free on the GPU ({self.vram_gib:.0f} GiB card)"
                    if self.free_gib is not None and self.free_gib < self.vram_gib - 0.05
                    else f"the GPU holds {self.vram_gib:.1f}")
            return f"{self.change}: needs {self.need_gib:.1f} GiB, {room}; {self.cost}"
        return f"{self.change}: {self.sizes}, {verdict_text(self.verdict)}; {self.cost}"


_MARKS = {"fits": "works", "tight": "tight", "offload": "slow"}


def setting_fixes(goal: WorkloadGoal, rig: RigState, *,
                  room: bool = False) -> tuple[SettingFix, ...]:
    """Settings that help ``goal`` on the current GPU, the ones that reach it first (a
    comfortable fit before a tight one).

    ``room``: for a goal that already fits tightly, the settings that make it fit with room
    (verdict "fits"); a goal that fits comfortably gets none.
    """
    target = rig.gpu_target
    if target is None:
        return ()
    gpus = max(1, len([g for g in rig.score.gpus if g.vram_gib]))
    ram = rig.ram_available_bytes
    base = workload_outcome(goal, target, ram)
    if base.reached and not (room and base.verdict == "tight"):
        return ()
    est = estimate(goal.shape, goal.workload, target, ram_available=ram,
                   dataset_tokens=goal.run_tokens if goal.workload.training else None)
    fixes: list[SettingFix] = []
    for sugg in est.suggestions:
        wl = sugg.workload
        if wl is None:
            continue
        if wl.gpus > gpus:
            continue  # "buy more GPUs of this kind" is not a setting
        changed = replace(goal, workload=wl)
        out = workload_outcome(changed, target, ram, gpus=wl.gpus)
        if out.need_gib is None or out.vram_gib is None:
            continue
        cost = _cost(base, out)
        # the estimator's label may carry its own rough cost ("(about 30% slower)"); the run
        # time re-estimated here replaces it, so one line never states two figures
        change = _SLOWER.sub("", sugg.change) if cost != "time not estimated" else sugg.change
        if room and out.verdict != "fits":
            continue
        asked = goal.workload
        keeps = (wl.seq_len >= asked.seq_len and wl.new_tokens >= asked.new_tokens
                 and (wl.image_size or 0) >= (asked.image_size or 0))
        fixes.append(SettingFix(change, out.verdict, out.need_gib, out.vram_gib,
                                changed.label, cost, keeps, wl, free_gib=out.free_gib))
    if base.verdict == "offload":
        slow = run_estimate(goal, target, ram).verdict
        factor = slow.offload_slowdown if slow is not None else None
        fixes.append(SettingFix(
            "CPU offload (keep part of the model in system RAM)", "offload",
            base.need_gib or 0.0, target.vram_bytes / GIB, goal.label,
            f"about {factor:.1f}x slower" if factor else "much slower (slowdown unknown)",
            free_gib=target.job_bytes / GIB))
    # Reaching first, and among those the ones that settle it (the job as asked, with room);
    # within each group the estimator's order, which is the smallest change first
    # (checkpointing before QLoRA before a shorter sequence).
    return tuple(sorted(fixes, key=lambda f: (not f.reached, not f.settles_it,
                                              f.verdict == "tight")))


def _cost(base: GpuOutcome, changed: GpuOutcome) -> str:
    """The changed job's run time against the job as asked (from the speeds when the job as
    asked, not fitting, has no run time of its own)."""
    before, after = base.run_hours, changed.run_hours
    if (before is None or after is None) and base.tokens_per_s and changed.tokens_per_s:
        before, after = 1.0 / base.tokens_per_s, 1.0 / changed.tokens_per_s
    if before is None or after is None or before <= 0:
        return "time not estimated"
    ratio = after / before
    if abs(ratio - 1.0) < 0.05:
        return "about the same run time"
    return f"one run about {ratio:.1f}x the time" if ratio > 1 else \
        f"one run about {1 / ratio:.1f}x faster"



def purchase_goal(goal: WorkloadGoal) -> WorkloadGoal:
    """The goal a purchase is sized for: a training job as asked with gradient checkpointing on
    (the same method, precision, batch and sequence; it costs run time, about a third more, not
    money), so a card is never bought for memory that free setting saves. Each plan states the
    goal it was re-verified against, so the setting is never hidden."""
    wl = goal.workload
    if wl.training and not wl.checkpointing and not wl.image_size:
        return replace(goal, workload=replace(wl, checkpointing=True))
    return goal
