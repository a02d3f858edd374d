"""The capped-run runner of issue 22 without a GPU: card caps, the bracket walk's reading of
runs, PyTorch's out-of-memory message, the grid's cases and the configs they name."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from rigready.assess.estimate import estimate
from rigready.assess.measure.spec import MeasureSpec
from rigready.assess.measure.tasks import oom_figures

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCH))

import calibrate_capped as cc  # noqa: E402
import calibrate_capped_grid as grid  # noqa: E402
import calibrate_capped_report as report  # noqa: E402

GIB = 2**30
#: The message torch 2.11's caching allocator raises under set_per_process_memory_fraction
#: (format of c10/cuda/CUDACachingAllocator.cpp: "allowed" appears when a fraction is set).
OOM = ("OutOfMemoryError: CUDA out of memory. Tried to allocate 1.96 GiB. GPU 0 has a total "
       "capacity of 79.19 GiB of which 60.12 GiB is free. Process 4242 has 18.97 GiB memory in "
       "use. 11.18 GiB allowed; Including non-PyTorch memory, this process has 11.70 GiB memory "
       "in use. Of the allocated memory 10.85 GiB is allocated by PyTorch, and 152.00 MiB is "
       "reserved by PyTorch but unallocated.")


def test_oom_message_figures() -> None:
    got = oom_figures(OOM)
    assert got["oom_tried_bytes"] == int(1.96 * GIB)
    assert got["oom_allowed_bytes"] == int(11.18 * GIB)
    assert got["oom_process_in_use_bytes"] == int(11.70 * GIB)
    assert got["oom_allocated_bytes"] == int(10.85 * GIB)
    assert got["oom_reserved_unallocated_bytes"] == 152 * 2**20


def test_card_caps_leave_reservation_and_context() -> None:
    ctx = int(0.4 * GIB)
    caps = [cc.card_cap(n, ctx) for n in cc.CARDS]
    assert caps == sorted(caps)
    for n, cap in zip(cc.CARDS, caps, strict=True):
        # the driver keeps 0.25-0.35 GiB on these cards (the estimator's figure)
        assert n * GIB - ctx - 0.36 * GIB < cap < n * GIB - ctx - 0.24 * GIB
    assert cc.card_cap(24, 0) == pytest.approx(24 * GIB - 0.348 * GIB, rel=2e-3)


def test_spec_round_trips_the_cap_and_target() -> None:
    spec = MeasureSpec(name="x", config={"model_type": "t5"}, method="full",
                       precision="amp-bf16", batch=2, seq=64, task="seq2seq", target_seq=16,
                       cap_bytes=11 * GIB)
    assert MeasureSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec


def test_grid_cases_cover_every_family_with_a_held_out_third() -> None:
    cases = grid.capped()
    names = [c["name"] for c in cases]
    assert len(names) == len(set(names))
    families = {c["family"] for c in cases}
    assert {"lm-inference", "lora", "qlora", "full", "encoder", "image-classifier",
            "diffusion-unet", "t5", "whisper", "gemma3-vision",
            "diffusion-transformer"} <= families
    held = [c for c in cases if c["holdout"]]
    assert 0.2 <= len(held) / len(cases) <= 0.4
    for fam in families:
        assert any(not c["holdout"] for c in cases if c["family"] == fam), fam
    json.dumps(grid.phases("capped"))  # every case travels as JSON to its child


def test_family_configs_name_their_source() -> None:
    root = Path(__file__).parent / "data"
    for path in [*(root / "hf_configs" / "families").glob("*.json"),
                 *(root / "diffusion_configs").glob("*.json")]:
        data = json.loads(path.read_text(encoding="utf-8"))
        assert data.get("_source"), path.name
    for case in grid.capped():
        if case["kind"] == "lm":
            assert case["spec"]["config"].get("model_type"), case["name"]


def test_only_takes_several_names_and_keeps_the_context_probe(
        capsys: pytest.CaptureFixture[str]) -> None:
    """The re-measurement of issue 22's two build artefacts names both jobs and the context."""
    assert cc.main(["--list", "--only",
                    "cuda-context,sd15-inference-b1-512px,gemma-3-4b-it-inference"]) == 0
    listed = [line.split()[1] for line in capsys.readouterr().out.splitlines()]
    assert listed == ["cuda-context", "sd15-inference-b1-512px",
                      "gemma-3-4b-it-inference-bf16-b1-s512-gen64"]


def test_generous_only_runs_no_card(monkeypatch: pytest.MonkeyPatch) -> None:
    """``--generous-only``: one generous run per case, no bracket walk after a pass."""
    import argparse

    args = argparse.Namespace(budget_s=60.0, pool_gib=70.0, ram_gib=50.0, max_procs=4,
                              resume=None, generous_only=True)
    capped = cc.Capped(args, peaks=None, context=int(0.7 * GIB), sink=lambda e: None)  # type: ignore[arg-type]
    roles: list[str] = []

    def one(case: dict[str, object], cap: int | None, role: str, card: int | None
            ) -> dict[str, object]:
        roles.append(role)
        return {"status": "ok", "max_allocated_bytes": 9 * GIB}

    monkeypatch.setattr(capped, "_one", one)
    capped._case({"name": "x", "reserve_gib": 13})
    assert roles == ["generous"]
    args.generous_only = False
    roles.clear()
    capped._case({"name": "x", "reserve_gib": 13})
    assert roles[0] == "generous" and any(r.startswith("card-") for r in roles)


def test_a_later_record_supersedes_the_generous_run_it_repeats(tmp_path: Path) -> None:
    """A re-measurement (``--generous-only``) saved as its own record replaces the older
    generous figures of the same job, whatever the files are called; a card run that timed out
    in one call does not hide a decisive one of another."""
    import calibrate_capped_report as report

    def doc(date: str, alloc: float, card: str) -> dict[str, object]:
        caps = {str(n): n * GIB for n in report.CARDS}
        return {"date": date, "card_caps_bytes": caps, "cases": {"job": {"kind": "lm"}},
                "runs": [{"name": "job", "role": "generous", "cap_bytes": 30 * GIB,
                          "result": {"status": "ok", "max_allocated_bytes": alloc * GIB}},
                         {"name": "job", "role": "card-8", "cap_bytes": 8 * GIB,
                          "result": {"status": card}}]}

    (tmp_path / "b-old.json").write_text(json.dumps(doc("2026-12-06T15:50:00", 9.0, "oom")))
    (tmp_path / "a-new.json").write_text(json.dumps(doc("2026-12-06T19:30:00", 7.5, "timeout")))
    cases, runs, _ = report.load(sorted(tmp_path.glob("*.json")))
    caps = {n: n * GIB for n in report.CARDS}
    b = report.bracket(cases["job"], runs["job"], caps)
    assert b["generous"]["max_allocated_bytes"] == 7.5 * GIB
    assert b["status"][8] == "oom"


def test_sd_refit_grid_keeps_the_capped_grids_jobs_and_holdout_marks() -> None:
    refit = grid.phases("sd-refit")
    assert [c["name"] for c in refit["context"]] == ["cuda-context"]
    capped = {c["name"]: c for c in grid.capped()}
    jobs = refit["capped"]
    assert {c["kind"] for c in jobs} == {"diffusion"}
    assert all(c["method"] == "inference" for c in jobs)
    shared = [c for c in jobs if c["name"] in capped]
    # the two sampling jobs of the capped grid come back as they were, held-out mark included
    assert {c["name"] for c in shared} == {
        n for n, c in capped.items() if c["kind"] == "diffusion" and c["method"] == "inference"}
    assert all(c == capped[c["name"]] for c in shared)
    # the new sizes are fitted on, never held out
    assert all(not c["holdout"] for c in jobs if c["name"] not in capped)


def test_sd_tiled_grid_decodes_in_comfyuis_tiles_and_is_held_out() -> None:
    tiled = grid.phases("sd-tiled")
    jobs = tiled["capped"]
    assert jobs and all(c["vae_tiling"] and c["holdout"] for c in jobs)
    assert all(c["name"].endswith("-tiled") for c in jobs)
    # the estimator is asked the tiled question: a tiled job needs less than the same job
    # decoded whole (SDXL's 1024 px decode is the peak of the plain pipeline)
    for case in jobs:
        shape, wl = report.workload_of(case)
        whole = report.workload_of({**case, "vae_tiling": False})[1]
        assert wl.vae_tiling and not whole.vae_tiling
        assert estimate(shape, wl, search=False).memory.total < \
            estimate(shape, whole, search=False).memory.total
    # every job a record holds is named once, the tiled ones included
    names = [c["name"] for c in grid.recorded()]
    assert len(names) == len(set(names)) and {c["name"] for c in jobs} <= set(names)
