"""Issue #14's cases: what limits each job, weights never rounded to fit, several GPUs only
where the method can use them, settings before purchases, no card for a machine that cannot
take one."""

from __future__ import annotations

import dataclasses

import pytest

from rigready.assess.estimate import Workload, resolve_model
from rigready.assess.hardware import FormFactorInfo, RigProfile
from rigready.assess.plan import RigFacts, WorkloadGoal, plan_upgrades
from rigready.assess.score import assess_readiness
from rigready.catalog import Catalog, default_catalog
from tests.helpers.rig_set import rig_profile
from tests.score_helpers import gpu, rig


@pytest.fixture(scope="module")
def cat() -> Catalog:
    return default_catalog()


def _task(profile: RigProfile, cat: Catalog, task_id: str):  # type: ignore[no-untyped-def]
    return next(t for t in assess_readiness(profile, cat).tasks if t.task_id == task_id)


def test_13b_in_16_bit_is_not_ready_on_a_24_gb_card(cat: Catalog) -> None:
    t = _task(rig((gpu("NVIDIA GeForce RTX 3090", 24),), ram_gib=64), cat, "llm-13b-inference")
    assert t.verdict == "not ready" and t.blocking == ("GPU",)


def test_reported_size_rounds_to_the_card_it_is(cat: Catalog) -> None:
    # 23.6 GiB reported is a 24 GB card: it meets a 24 GB minimum
    t = _task(rig((gpu("NVIDIA GeForce RTX 4090", 23.6),), ram_gib=64), cat,
              "language-model-large")
    assert t.verdict == "limited" and "24.0 GiB VRAM meets the 24 GiB minimum" in t.reason


def test_few_vcpus_slow_every_task_and_stop_none(cat: Catalog) -> None:
    result = assess_readiness(rig_profile("h200-vm-2vcpu"), cat)
    assert not result.verdicts("not ready")
    assert all("CPU" in t.slowing for t in result.tasks)
    assert result.overall_tier_name == "below entry" and result.weakest == ("cpu",)
    n = len(cat.tasks)
    assert any(f"stops 0 of {n} tasks and only slows {n}" in r for r in result.reasons)


def test_two_gpus_split_a_model_that_allows_it_and_say_the_link(cat: Catalog) -> None:
    nvlink = _task(rig_profile("dual-rtx3090-nvlink"), cat, "language-model-xl")
    pcie = _task(rig_profile("dual-rtx3090-pcie"), cat, "language-model-xl")
    assert nvlink.verdict == pcie.verdict == "limited"
    assert "NVLink" in nvlink.reason and "PCIe 4.0 x8" in pcie.reason
    one = _task(rig_profile("rtx3090-desktop"), cat, "language-model-xl")
    assert one.verdict == "not ready"


def test_two_small_gpus_do_not_pool_for_a_single_gpu_pipeline(cat: Catalog) -> None:
    two = rig((gpu("NVIDIA GeForce GTX 1660", 6), gpu("NVIDIA GeForce GTX 1660", 6, index=1)))
    sd = _task(two, cat, "stable-diffusion")
    assert sd.verdict == "limited" and "GPUs" not in sd.reason.split(";")[0]
    big = _task(two, cat, "language-model-medium")  # data-parallel: each GPU needs 10 GB
    assert big.verdict == "not ready" and "copies it to every GPU" in big.reason


def test_six_gb_cards_run_stable_diffusion_and_resnet50(cat: Catalog) -> None:
    for task in ("stable-diffusion", "image-classification-medium"):
        assert _task(rig((gpu("NVIDIA GeForce GTX 1660", 6),)), cat, task).verdict == "limited"


def test_ambiguous_vram_stays_unknown(cat: Catalog) -> None:
    t = _task(rig((gpu("NVIDIA GeForce RTX 3060", None),)), cat, "language-model-medium")
    assert t.verdict == "unknown" and "8 and 12 GiB" in t.fix and "nvidia-smi" in t.fix


def _lora_8b(cat: Catalog) -> WorkloadGoal:
    return WorkloadGoal(resolve_model("llama-3.1-8b", cat.models),
                        Workload(method="lora", seq_len=2048), model_name="Llama 3.1 8B")


def test_a_setting_comes_before_a_purchase(cat: Catalog) -> None:
    result = plan_upgrades(rig_profile("rtx3090-desktop"), _lora_8b(cat), 3000, RigFacts(), cat)
    assert result.status == "a setting reaches the goal" and not result.plans
    first = result.settings[0]
    assert "gradient checkpointing" in first.change and first.reached
    assert first.need_gib < first.vram_gib <= 24.5 and "gradient checkpointing" in \
        first.verified_goal
    assert "No purchase needed" in result.summary and result.rent.advice.choice == "use your PC"


def test_no_card_offered_to_a_vm_or_an_unknown_machine(cat: Catalog) -> None:
    goal = _lora_8b(cat)
    vm = plan_upgrades(rig_profile("cpu-only-vm"), goal, 3000, RigFacts(), cat)
    assert not any(i.kind == "gpu" for p in vm.plans for i in p.items)
    assert "virtual machine" in vm.summary
    unknown = rig((gpu("NVIDIA GeForce GTX 1660", 6),))  # "Test CPU": nothing tells
    assert dataclasses.replace(unknown, form_factor=FormFactorInfo()).form_factor.kind == \
        "unknown"
    result = plan_upgrades(unknown, goal, 3000, RigFacts(), cat)
    assert not any(i.kind == "gpu" for p in result.plans for i in p.items)
    assert any("form factor unknown" in r for r in result.reasons)
    desktop = dataclasses.replace(unknown, form_factor=FormFactorInfo(kind="desktop"))
    bought = plan_upgrades(desktop, goal, 3000, RigFacts(), cat)
    assert any(i.kind == "gpu" for p in bought.plans for i in p.items)


def test_psu_check_with_an_assumed_cpu_says_why(cat: Catalog) -> None:
    profile = rig_profile("gtx1060-desktop")
    profile = dataclasses.replace(profile, cpu=dataclasses.replace(profile.cpu,
                                                                   model="Unlisted CPU 9000"))
    goal = WorkloadGoal(resolve_model("llama-3.1-8b", cat.models),
                        Workload(method="qlora", seq_len=1024, checkpointing=True))
    result = plan_upgrades(profile, goal, 600, RigFacts(psu_watts=550), cat)
    psu = [c for p in result.plans for c in p.checks if c.name == "PSU capacity"
           and c.status == "unverified"]
    assert psu and all("assumed" in c.detail and "rated power" in c.detail for c in psu)


def test_a_second_gpu_never_makes_a_verdict_worse(cat: Catalog) -> None:
    one = assess_readiness(rig_profile("rtx3090-desktop"), cat).tasks
    for name in ("dual-rtx3090-pcie", "dual-rtx3090-nvlink"):
        two = {t.task_id: t for t in assess_readiness(rig_profile(name), cat).tasks}
        for t in one:
            g1 = next(c for c in t.checks if c.component == "GPU")
            g2 = next(c for c in two[t.task_id].checks if c.component == "GPU")
            assert _SEV[g2.verdict] <= _SEV[g1.verdict], (name, t.task_id, g2.reason)
    pcie = _task(rig_profile("dual-rtx3090-pcie"), cat, "llm-7b-inference")
    gpu_check = next(c for c in pcie.checks if c.component == "GPU")
    assert gpu_check.verdict == "ready" and "split" not in gpu_check.reason


_SEV = {"ready": 0, "limited": 1, "unknown": 2, "not ready": 3}


def test_free_settings_are_stacked_before_money(cat: Catalog) -> None:
    # Full fine-tune, 1B, batch 8 at 2,048 tokens needs ~77 GiB; checkpointing + 8-bit AdamW +
    # a smaller micro-batch with accumulation (the same effective batch) fits a 24 GB card.
    goal = WorkloadGoal(resolve_model("llama-3.2-1b", cat.models),
                        Workload(method="full", seq_len=2048, batch=8))
    result = plan_upgrades(rig_profile("rtx3090-desktop"), goal, 1500, RigFacts(), cat)
    assert result.status == "a setting reaches the goal" and result.plans == ()
    fix = result.settings[0]
    assert fix.settles_it and fix.workload is not None
    wl = fix.workload
    assert wl.checkpointing and wl.optimizer == "adamw-8bit" and 1 <= wl.batch < 8
    assert wl.seq_len == 2048 and "gradient-accumulation" in fix.change
    assert "adamw-8bit" in fix.verified_goal


def test_fix_and_cpu_wording(cat: Catalog) -> None:
    laptop = _task(rig_profile("rtx2060-laptop"), cat, "language-model-medium")
    assert laptop.fix.startswith("needs a GPU with at least 12 GiB VRAM; a laptop's GPU cannot")
    assert "or no external GPU" not in laptop.fix
    assert "no external GPU can be attached" in laptop.fix
    vm = _task(rig_profile("h200-vm-2vcpu"), cat, "llm-7b-inference")
    cpu = next(c for c in vm.checks if c.component == "CPU")
    assert "augmentation" not in cpu.reason and "tokenizing prompts" in cpu.reason
    train = _task(rig_profile("h200-vm-2vcpu"), cat, "language-model-medium")
    assert "augmentation" in next(c for c in train.checks if c.component == "CPU").reason


def test_a_gpu_with_unread_memory_is_not_called_no_gpu(cat: Catalog) -> None:
    from rigready.assess.plan import TaskGoal
    from rigready.assess.plan.verdicts import gpu_words

    result = plan_upgrades(rig_profile("rtx3060-vram-unread"),
                           TaskGoal(cat.task("language-model-medium")), 800, RigFacts(), cat)
    assert result.now.gpu_name is not None and "3060" in result.now.gpu_name
    assert result.now.verdict == "unknown" and not result.now.reached
    assert gpu_words(result.now.gpu_name, result.now.vram_gib).endswith("(memory not read)")


def test_unknown_form_factor_headline_says_cards_were_held_back(cat: Catalog) -> None:
    unknown = rig((gpu("NVIDIA GeForce GTX 1660", 6),))
    result = plan_upgrades(unknown, _lora_8b(cat), 3000, RigFacts(), cat)
    assert not result.summary.startswith("No single-GPU upgrade in the catalog")
    assert "no graphics card was offered" in result.summary
    assert "--form-factor desktop" in result.summary
