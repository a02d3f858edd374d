"""Ask rigready the rig test set's questions and compare with a careful engineer's answers.

Used by tests/test_rig_set.py (which asserts zero false passes) and by
benchmarks/rig_agreement.py (which prints the agreement table). The questions and the expected
answers are in tests/data/rigs/questions.toml.
"""

from __future__ import annotations

import functools
import json
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rigready.assess.detect import detect_rig
from rigready.assess.estimate import Workload, estimate, gpu_from_profile, resolve_model
from rigready.assess.hardware import RigProfile
from rigready.assess.plan import (
    PlanResult,
    RigFacts,
    TaskGoal,
    WorkloadGoal,
    plan_upgrades,
    task_goal,
)
from rigready.assess.profile import load_profile, with_stated_gpu
from rigready.assess.score import assess_readiness
from rigready.catalog import Catalog
from rigready.desktop.defaults import with_image_runtime
from rigready.gpu.types import Unknown
from rigready.gpu.vendor import VendorUnavailable
from tests.helpers.fake_pynvml import replay_capture

DATA = Path(__file__).resolve().parents[1] / "data"
RIGS = DATA / "rigs"
CAPTURED = {"h100-vm": "h100-vm-2026-11-22", "cpu-only-vm": "cpu-only-vm-2026-11-22"}
#: Answers that tell the user "yes, go ahead" (run it, or no purchase needed, or buy now).
#: A "route" question asks which runtime or stack the answer's first line names as the one
#: that works on this card (llama.cpp, unsloth, transformers, ...; "none" when it names none).
YES = {"task": {"ready", "limited"}, "fit": {"fits", "tight"},
       "plan": {"none-needed", "setting", "buy"},
       "route": {"llama.cpp", "unsloth", "transformers", "diffusers", "comfyui", "cpu"}}
#: Plan answers that claim nothing needs buying.
NO_PURCHASE = {"none-needed", "setting"}


@dataclass(frozen=True, slots=True)
class Outcome:
    """One question, the engineer's answer and rigready's."""

    rig: str
    kind: str
    question: str
    truth: str
    accept: tuple[str, ...]
    answer: str
    why: str

    @property
    def agrees(self) -> bool:
        """rigready's answer is one the engineer accepts."""
        return self.answer in self.accept

    @property
    def false_pass(self) -> bool:
        """rigready says go ahead where the engineer says no.

        For plans, also: rigready says nothing needs buying where the engineer says something
        does, or "ready to buy" where the engineer would check first.
        """
        if self.agrees or self.answer not in YES[self.kind]:
            return False
        if not any(a in YES[self.kind] for a in self.accept):
            return True
        if self.kind == "plan":
            return (self.answer in NO_PURCHASE and not any(a in NO_PURCHASE for a in self.accept)
                    ) or self.answer == "buy"
        return False


def questions() -> list[dict[str, Any]]:
    """The questions of questions.toml."""
    with (RIGS / "questions.toml").open("rb") as fh:
        return list(tomllib.load(fh)["question"])


@functools.cache
def rig_profile(name: str) -> RigProfile:
    """A rig by name: a captured tree detected afresh, or a profile file."""
    if name in CAPTURED:
        tree = DATA / "detect" / CAPTURED[name]
        stat: dict[str, list[int]] = json.loads((tree / "statvfs.json").read_text("utf-8"))
        capture = tree / "nvml.json"
        nvml = (replay_capture(capture) if "devices" in capture.read_text("utf-8")
                else VendorUnavailable("nvml", Unknown(
                    "library_not_found", "no NVIDIA driver on the captured machine")))
        return detect_rig(root=tree, nvml=nvml,
                          statvfs=lambda p: (stat[p][0], stat[p][1]) if p in stat else None)
    return load_profile(RIGS / "profiles" / f"{name}.json")


def _workload(q: dict[str, Any]) -> Workload:
    """The question's job, as the CLI and the window build it (``runtime``: image generation's
    app, the CLI's default when absent)."""
    wl = Workload(method=q.get("method", "inference"), precision=q.get("precision"),
                  seq_len=int(q.get("seq", 2048)), checkpointing=bool(q.get("checkpointing")),
                  gpus=int(q.get("gpus", 1)), param_offload=bool(q.get("param_offload")))
    return with_image_runtime(wl, q.get("runtime"))


def _profile(q: dict[str, Any]) -> RigProfile:
    """The question's rig, with what the question says of its GPU's memory (``free_gib``: the
    memory a job may use on it, as ``--free-gib`` gives it)."""
    profile = rig_profile(q["rig"])
    if "free_gib" in q:
        profile = with_stated_gpu(profile, free_for_job_bytes=int(q["free_gib"] * 2**30))
    return profile


def _describe(q: dict[str, Any]) -> str:
    if q["kind"] == "task":
        return f"task {q['task']}"
    what = q.get("task") or (f"{q['model']} {q.get('method', 'inference')} {q.get('seq', 2048)}"
                             + (" ckpt" if q.get("checkpointing") else "")
                             + (f" {q['precision']}" if q.get("precision") else "")
                             + (f" x{q['gpus']} GPUs" if q.get("gpus") else "")
                             + (f" {q['free_gib']} GiB free" if "free_gib" in q else "")
                             + (" param-offload" if q.get("param_offload") else "")
                             + (f" in {q['runtime']}" if q.get("runtime") else ""))
    return f"{q['kind']} {what}" + (f" ${q['budget']:,}" if "budget" in q else "")


def plan_answer(result: PlanResult) -> str:
    """The planner's result as one of the question file's plan answers."""
    if result.status in ("no upgrade needed", "tight fit"):
        return "none-needed"
    if result.status == "a setting reaches the goal":
        return "setting"
    gpu_plans = [p for p in result.plans if p.viable]
    if not gpu_plans:
        return "rent"
    if result.status == "nothing within budget":
        return "over-budget"
    primary = next((p for p in result.plans if "best within budget" in p.labels), gpu_plans[0])
    if "external enclosure" in primary.title:
        return "external"
    return "buy" if primary.ready_to_buy else "check-first"


def answer(q: dict[str, Any], catalog: Catalog) -> str:
    """rigready's answer to one question."""
    profile = _profile(q)
    if q["kind"] == "task":
        readiness = assess_readiness(profile, catalog)
        return next(t.verdict for t in readiness.tasks if t.task_id == q["task"])
    if q["kind"] in ("fit", "route"):
        best = profile.best_gpu
        target = gpu_from_profile(profile, catalog.gpus)
        if best is None:
            return "no" if q["kind"] == "fit" else "none"
        if target is None:
            return "unknown"
        ram = profile.memory.available_bytes or profile.memory.total_bytes
        est = estimate(resolve_model(q["model"], catalog.models), _workload(q), target,
                       ram_available=ram, search=q["kind"] == "route")
        if q["kind"] == "route":
            return _route(est, profile, catalog)
        return est.verdict.status if est.verdict else "unknown"
    if "task" in q:
        goal: TaskGoal | WorkloadGoal = task_goal(catalog.task(q["task"]), catalog)
    else:
        entry = next(m for m in catalog.models if m.id == q["model"])
        goal = WorkloadGoal(resolve_model(q["model"], catalog.models), _workload(q),
                            model_name=entry.name)
    return plan_answer(plan_upgrades(profile, goal, float(q["budget"]), RigFacts(), catalog))


def _route(est: Any, profile: RigProfile, catalog: Catalog) -> str:
    """The runtime or stack the answer's first line names as working ("none": none)."""
    from rigready.assess.estimate.language.llamacpp import ram_from_memory_info
    from rigready.desktop.usecases.answers import first_line

    line = first_line(est, ram=ram_from_memory_info(profile.memory),
                      stack_figures=catalog.stack_figures)
    return line.answer.route or "none"


def run_all(catalog: Catalog) -> list[Outcome]:
    """Every question answered."""
    return [Outcome(q["rig"], q["kind"], _describe(q), q["truth"], tuple(q["accept"]),
                    answer(q, catalog), q["why"]) for q in questions()]
