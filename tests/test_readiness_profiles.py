"""Readiness of the committed real-machine profiles and the hand-written hobbyist PCs,
against the built-in catalog."""

from __future__ import annotations

from pathlib import Path

import pytest

from rigready.assess.profile import load_profile
from rigready.assess.score import Readiness, assess_readiness
from rigready.catalog import Catalog, load_catalog

PROFILES = Path(__file__).parent / "data" / "profiles"
HOBBYIST = PROFILES / "hobbyist"
REAL = sorted(PROFILES.glob("*.json"))
GPU_BOXES = [p for p in REAL if any(k in p.name for k in ("h100", "h200"))]
CPU_ONLY = [p for p in REAL if p.name.startswith("cpu-only")]


@pytest.fixture(scope="module")
def cat() -> Catalog:
    return load_catalog(None)


def _assess(path: Path, cat: Catalog) -> Readiness:
    return assess_readiness(load_profile(path), cat)


def _hobbyist(cat: Catalog) -> dict[str, Readiness]:
    return {p.stem: _assess(p, cat) for p in sorted(HOBBYIST.glob("*.json"))}


@pytest.mark.skipif(not GPU_BOXES, reason="no H100/H200 profile committed in tests/data/profiles")
@pytest.mark.parametrize("path", GPU_BOXES, ids=lambda p: p.name)
def test_h100_h200_box_is_top_tier(path: Path, cat: Catalog) -> None:
    r = _assess(path, cat)
    top = max(t.rank for t in cat.tiers)
    assert r.overall_rank == top, r.reasons
    assert r.component("gpu").rank == top
    assert all(m.entry is not None and m.confidence == "high" for m in r.matches)
    assert r.score >= 60
    # Nothing that needs a GPU fails for lack of GPU memory below 80 GiB.
    for t in r.tasks:
        need = cat.task(t.task_id).min_vram_gib
        if need <= 80:
            assert "VRAM is below" not in t.reason


@pytest.mark.skipif(not CPU_ONLY, reason="no cpu-only profile committed in tests/data/profiles")
@pytest.mark.parametrize("path", CPU_ONLY, ids=lambda p: p.name)
def test_cpu_only_box(path: Path, cat: Catalog) -> None:
    r = _assess(path, cat)
    assert r.component("gpu").rank == 0 and r.overall_rank == 0
    assert "gpu" in r.weakest
    for t in r.tasks:
        task = cat.task(t.task_id)
        if task.job_runtime == "llama.cpp":  # llama.cpp runs a GGUF file on the CPU, slowly
            assert t.verdict in ("limited", "not ready"), t
            assert t.verdict == "not ready" or "runs the Q4_K_M file on the CPU" in t.reason, t
        elif task.gpu_required:
            assert t.verdict == "not ready"
            assert "no discrete GPU" in t.reason and "GPU with at least" in t.fix
    assert r.score < 40


def test_every_real_profile_scores_without_error(cat: Catalog) -> None:
    for path in REAL:
        r = _assess(path, cat)
        assert 0 <= r.score <= 100
        assert len(r.tasks) == len(cat.tasks)


def test_hobbyist_profiles_exist() -> None:
    names = {p.stem for p in HOBBYIST.glob("*.json")}
    assert names == {
        "laptop-rtx3060-laptop-6gb-16gb-lpddr5", "desktop-gtx1660-16gb-ddr4",
        "desktop-rtx3060-12gb-32gb-ddr4", "workstation-rtx3090-64gb", "cpu-only-i5-12400-16gb",
    }


def test_hobbyist_gpus_match_the_right_entries(cat: Catalog) -> None:
    found = {stem: [m.entry.id if m.entry else None for m in r.matches if not m.gpu.integrated]
             for stem, r in _hobbyist(cat).items()}
    assert found["laptop-rtx3060-laptop-6gb-16gb-lpddr5"] == ["rtx-3060-laptop-6gb"]
    assert found["desktop-gtx1660-16gb-ddr4"] == ["gtx-1660"]
    assert found["desktop-rtx3060-12gb-32gb-ddr4"] == ["rtx-3060-12gb"]
    assert found["workstation-rtx3090-64gb"] == ["rtx-3090"]
    assert found["cpu-only-i5-12400-16gb"] == []


def test_hobbyist_order(cat: Catalog) -> None:
    r = _hobbyist(cat)
    order = ["cpu-only-i5-12400-16gb", "desktop-gtx1660-16gb-ddr4",
             "laptop-rtx3060-laptop-6gb-16gb-lpddr5", "desktop-rtx3060-12gb-32gb-ddr4",
             "workstation-rtx3090-64gb"]
    scores = [r[name].score for name in order]
    assert scores == sorted(scores) and len(set(scores)) == len(scores)
    ready = [sum(t.verdict == "ready" for t in r[name].tasks) for name in order]
    assert ready[0] <= ready[1] <= ready[3] <= ready[4]
    high = r["workstation-rtx3090-64gb"].overall_rank
    low = r["desktop-gtx1660-16gb-ddr4"].overall_rank
    assert high is not None and low is not None and high > low


def test_laptop_fixes_respect_what_a_laptop_can_change(cat: Catalog) -> None:
    r = _hobbyist(cat)["laptop-rtx3060-laptop-6gb-16gb-lpddr5"]
    assert "ram" in r.weakest and "soldered" in r.component("ram").lift
    assert "laptop's GPU cannot be swapped" in r.component("gpu").lift
    vram_fixes = [t.fix for t in r.tasks if "VRAM is below" in t.reason]
    assert vram_fixes and all("laptop's GPU cannot be swapped" in f for f in vram_fixes)


def test_hobbyist_verdicts_follow_the_task_table(cat: Catalog) -> None:
    # Every verdict agrees with the task's VRAM figures for the single-GPU desktops.
    for stem, vram in (("desktop-gtx1660-16gb-ddr4", 6.0), ("desktop-rtx3060-12gb-32gb-ddr4", 12.0),
                       ("workstation-rtx3090-64gb", 24.0)):
        r = _hobbyist(cat)[stem]
        for t in r.tasks:
            task = cat.task(t.task_id)
            if task.job_method is not None:  # the estimator judges these (test_score_estimate)
                continue
            if task.gpu_required and vram < task.min_vram_gib * 0.92:
                assert t.verdict == "not ready", (stem, t)
            if task.gpu_required and vram < task.recommended_vram_gib * 0.92:
                assert t.verdict != "ready", (stem, t)


@pytest.mark.parametrize(("field", "value"), [("max_clock_mhz", 1e12), ("physical_cores", 10**7)])
def test_an_implausible_reading_is_refused_not_scored(tmp_path: Path, field: str,
                                                      value: float) -> None:
    """A CPU clock of 1e12 MHz passed the generic bound and raised the score (54 -> 60)."""
    import json

    from rigready.assess.profile import ProfileError

    data = json.loads((HOBBYIST / "desktop-rtx3060-12gb-32gb-ddr4.json").read_text())
    data["cpu"][field] = value
    path = tmp_path / "p.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ProfileError, match=rf"cpu\.{field}: .*not a plausible value"):
        load_profile(path)


def test_every_committed_profile_is_within_the_physical_ceilings() -> None:
    data = Path(__file__).parent / "data"
    paths = [p for p in sorted(data.rglob("*.json"))
             if '"schema": "rigready.profile"' in p.read_text(errors="replace")[:200]]
    assert len(paths) >= 25
    for path in paths:
        load_profile(path)  # raises on a reading above its field's ceiling
