"""Headlines that never claim more than is known (issue 14, items 1 and 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rigready.assess.profile import load_profile
from rigready.assess.score import assess_readiness
from rigready.catalog import load_catalog
from rigready.desktop.cli import main

RIGS = Path(__file__).parent / "data" / "rigs" / "profiles"


def test_unread_vram_makes_the_overall_tier_an_upper_bound(
        capsys: pytest.CaptureFixture[str]) -> None:
    cat = load_catalog()
    unread = assess_readiness(load_profile(RIGS / "rtx3060-vram-unread.json"), cat)
    assert unread.component("gpu").rank is None and unread.overall_rank
    # both RTX 3060 variants put this PC lower than the CPU, RAM and drive alone do
    for variant in ("rtx3060-8gb-desktop.json", "rtx3060-12gb-desktop.json"):
        known = assess_readiness(load_profile(RIGS / variant), cat)
        assert known.overall_rank is not None and known.overall_rank < unread.overall_rank
        assert known.overall_text() == known.overall_tier_name
    assert unread.overall_text() == f"at most {unread.overall_tier_name} (GPU unknown)"
    assert main(["score", "--profile", str(RIGS / "rtx3060-vram-unread.json")]) == 0
    headline = capsys.readouterr().out.splitlines()[2]
    assert f"Overall tier: at most {unread.overall_tier_name} (GPU unknown)" in headline


def test_below_entry_needs_no_bound() -> None:
    # the H200 VM's drive kind is unknown, but below entry cannot be lower
    r = assess_readiness(load_profile(RIGS / "h200-vm-2vcpu.json"), load_catalog())
    assert r.component("storage").rank is None and r.overall_rank == 0
    assert r.overall_text() == r.overall_tier_name


def test_a_laptop_without_thunderbolt_is_told_why_no_gpu_is_offered(
        capsys: pytest.CaptureFixture[str]) -> None:
    laptop = RIGS / "rtx2060-laptop.json"
    assert main(["plan", "llama-3.1-8b", "--method", "qlora", "--seq", "1024",
                 "--profile", str(laptop), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert all(not p["items"] or all(i["kind"] != "gpu" for i in p["items"])
               for p in data["plans"])
    assert data["summary"].startswith("This is a laptop: its GPU is soldered")
    assert "without Thunderbolt/USB4" in data["summary"]
    assert "renting" in data["summary"]
