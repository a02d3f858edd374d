"""Checks on the committed device run (tests/data/bench/README.md says what and where)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rigready.assess.bench.gpu_gemm import GpuGemmResult
from rigready.assess.bench.records import result_from_dict

DATA = Path(__file__).parent / "data" / "bench"


@pytest.fixture(scope="module")
def record() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        (DATA / "gpu_gemm_proof_h200_2026-11-22.json").read_text(encoding="utf-8"))
    return data


def test_record_names_machine_and_versions(record: dict[str, Any]) -> None:
    m = record["machine"]
    assert m["gpu"] == "NVIDIA H200" and m["driver"] and m["torch"].startswith("2.")
    assert m["date"].startswith("2026-")


def test_quick_bf16_within_5_percent_of_the_careful_reference(record: dict[str, Any]) -> None:
    quick = result_from_dict(record["quick"])
    assert isinstance(quick, GpuGemmResult)
    bf16 = quick.measurement("bf16")
    assert bf16 is not None and bf16.n == record["reference_bf16"]["n"] == 8192
    ratio = bf16.tflops / record["reference_bf16"]["tflops_median"]
    assert ratio == pytest.approx(record["quick_bf16_over_reference"])
    assert abs(ratio - 1.0) <= 0.05
    again = result_from_dict(record["quick_again"])
    assert isinstance(again, GpuGemmResult)
    assert abs(again.measurement("bf16").tflops  # type: ignore[union-attr]
               / record["reference_bf16"]["tflops_median"] - 1.0) <= 0.05


def test_all_dtypes_measured_with_telemetry_and_fractions(record: dict[str, Any]) -> None:
    quick = result_from_dict(record["quick"])
    assert isinstance(quick, GpuGemmResult)
    assert [m.dtype for m in quick.measurements] == ["fp32", "tf32", "fp16", "bf16", "int8"]
    assert quick.skipped == ()
    for m in quick.measurements:
        assert m.repeats >= 10 and m.fraction_of_peak is not None
        assert m.telemetry is not None and m.telemetry.sm_clock_mhz_median is not None
    tf32, fp32 = quick.measurement("tf32"), quick.measurement("fp32")
    assert tf32 is not None and fp32 is not None and tf32.tflops > 3 * fp32.tflops  # TF32 took
    # a power-capped card is visible: NVML reported the software power cap during bf16
    assert "sw_power_cap" in quick.measurement("bf16").telemetry.throttle_reasons  # type: ignore[union-attr]


def test_quick_run_is_quick_and_yields_often(record: dict[str, Any]) -> None:
    assert record["quick_wall_s"] <= 10.0 and record["quick_again_wall_s"] <= 10.0
    assert record["quick_max_gap_s"] <= 0.5 and record["sustained_max_gap_s"] <= 0.5
    assert record["cancel_latency_s"] <= 1.0


def test_sustained_trace_covers_a_minute(record: dict[str, Any]) -> None:
    sus = result_from_dict(record["sustained"])
    assert isinstance(sus, GpuGemmResult) and sus.sustained is not None
    trace = sus.sustained
    assert trace.dtype == "bf16" and trace.duration_s >= 55
    assert len(trace.points) >= 45
    assert all(p.sm_clock_mhz is not None and p.power_w is not None for p in trace.points)


def test_int8_needs_column_major_b(record: dict[str, Any]) -> None:
    layouts = record["int8_layouts_tops"]
    assert layouts["b_column_major"] > 5 * layouts["b_row_major"]
