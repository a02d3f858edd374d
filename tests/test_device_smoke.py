"""The end-to-end CLI run on a real H100 (benchmarks/device_smoke.sh, 2026-11-22).

These files were written by the finished command line on the GPU machine (driver 580.159.04,
torch 2.11.0, nvidia-ml-py 13.610.43); the tests check that what it printed is what the code is
meant to produce there, and that the outputs load back here.
"""

from __future__ import annotations

import csv
import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from rigready.assess.profile import load_profile
from rigready.desktop.cli import main

RUN = Path(__file__).parent / "data" / "device-smoke" / "h100-2026-11-22"


def _json(name: str) -> Any:
    return json.loads((RUN / name).read_text())


def test_live_detection_on_the_h100_loads_as_a_profile() -> None:
    profile = load_profile(RUN / "detect.json")
    (gpu,) = profile.gpus
    assert gpu.name == "NVIDIA H100 80GB HBM3" and gpu.compute_capability == "9.0"
    assert gpu.vram_bytes is not None and gpu.vram_bytes > 79 * 2**30
    assert profile.system.torch_cuda_available is None  # --json ran without --check-torch
    transcript = (RUN / "transcript.txt").read_text()
    assert "PyTorch           2.11.0+cu130 (built for CUDA 13.0, CUDA available)" in transcript


def test_every_command_exited_as_expected() -> None:
    transcript = (RUN / "transcript.txt").read_text()
    statuses = [line for line in transcript.splitlines() if line.startswith("[exit")]
    assert len(statuses) >= 12
    # Only the deliberate bad input (an unknown model) failed, with status 2 and one line.
    failed = [s for s in statuses if not s.startswith("[exit 0")]
    assert failed == ["[exit 2, 0 s]"]
    assert "rigready: error: unknown model 'no-such-model'" in transcript
    assert "Traceback" not in transcript
    assert transcript.count("valid JSON") == transcript.count("NOT valid JSON") + 5


def test_score_puts_the_h100_box_in_the_top_tier_and_matches_this_machine(
        capsys: pytest.CaptureFixture[str]) -> None:
    there = _json("score.json")
    assert there["overall_tier"] == "datacenter"
    assert main(["score", "--json", "--no-bench", "--profile", str(RUN / "detect.json")]) == 0
    here = json.loads(capsys.readouterr().out)
    assert (here["overall_tier"], here["score"]) == (there["overall_tier"], there["score"])


def test_estimate_and_plan_agree_between_the_gpu_machine_and_here(
        capsys: pytest.CaptureFixture[str]) -> None:
    there = _json("estimate.json")
    assert main(["estimate", "llama-3.1-8b", "--method", "lora", "--seq", "2048", "--json",
                 "--profile", str(RUN / "detect.json")]) == 0
    here = json.loads(capsys.readouterr().out)
    assert here["total_gib"] == pytest.approx(there["total_gib"], abs=0.01)
    assert there["verdict"] == "fits"
    plan = _json("plan.json")
    assert plan["now"]["verdict"] == "fits"  # QLoRA 70B with checkpointing fits in 80 GB
    assert {"offer", "usd_per_hour", "hours", "cost_usd", "break_even_hours"} <= plan["rent"].keys()


def test_gemm_on_the_h100_reaches_a_healthy_share_of_its_peak() -> None:
    bench = _json("bench.json")
    by_dtype = {r["dtype"]: r for r in bench["results"] if r["kind"] == "gemm-gpu"}
    assert set(by_dtype) >= {"fp32", "tf32", "fp16", "bf16", "int8"}
    # benchmarks.md A3: healthy cards reach roughly 60-80 % of the dense peak with big GEMMs.
    assert 0.6 <= by_dtype["bf16"]["fraction_of_peak"] <= 0.85
    assert by_dtype["bf16"]["gflops_p20"] <= by_dtype["bf16"]["gflops"] <= \
        by_dtype["bf16"]["gflops_p80"]


def test_monitor_session_saw_the_training_loop() -> None:
    with (RUN / "monitor.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 31  # 30 s at 1 Hz, both ends included
    util = [float(r["utilization_pct"]) for r in rows]
    power = [float(r["power_w"]) for r in rows]
    assert util[0] == 0.0 and max(util) == 100.0  # idle first, then the 20 s training loop
    assert max(power) <= float(rows[0]["power_limit_w"])
    assert max(float(r["temperature_c"]) for r in rows) < float(rows[0]["temp_slowdown_c"])
    times = [float(r["time"]) for r in rows]
    assert all(0.9 < b - a < 1.1 for a, b in itertools.pairwise(times))
