"""benchmarks/profile_steps.py's reading of a torch.profiler Chrome trace, without a GPU: kernel
classes by name, GPU busy time as the union of overlapping kernels, per-step figures."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import profile_steps as ps


@pytest.mark.parametrize(("name", "cls"), [
    ("sm90_xmma_fprop_implicit_gemm_tf32f32_tf32f32_f32_nhwckrsc_nchw", "convolution"),
    ("void cudnn::bn_fw_tr_1C11_kernel_NCHW<float, float, int, 512, true, 1>", "normalisation"),
    ("nvjet_hsh_256x128_64x4_1x2_h_bz_coopA_NNN", "gemm"),
    ("void at::native::(anonymous namespace)::multi_tensor_apply_kernel<FusedAdamMathFunctor>",
     "optimizer"),
    ("pytorch_flash::flash_fwd_kernel<Flash_fwd_kernel_traits<64, 128, 128, 4>>", "attention"),
    ("void cudnn::ops::nchwToNhwcKernel<__half, __half, float, false, true>", "layout"),
    ("Memcpy HtoD (Pageable -> Device)", "copy"),
    ("void at::native::vectorized_elementwise_kernel<4, at::native::silu_kernel>", "elementwise"),
])
def test_kernel_class_by_name(name: str, cls: str) -> None:
    assert ps.kernel_class(name) == cls


def _kernel(name: str, ts: float, dur: float) -> dict[str, object]:
    return {"ph": "X", "cat": "kernel", "name": name, "ts": ts, "dur": dur}


def test_summary_counts_overlapping_kernels_once_and_divides_by_steps() -> None:
    trace = {"traceEvents": [
        _kernel("implicit_gemm_conv", 0.0, 1000.0),
        _kernel("elementwise_add", 500.0, 1000.0),  # overlaps the conv by 500 us
        _kernel("nvjet_gemm", 3000.0, 500.0),
        {"ph": "X", "cat": "cpu_op", "name": "aten::conv2d", "ts": 0.0, "dur": 10.0},
        {"ph": "X", "cat": "cpu_op", "name": "aten::add", "ts": 20.0, "dur": 10.0},
        {"ph": "i", "cat": "kernel", "name": "instant event, not a span", "ts": 0.0},
    ]}
    out = ps.summarise(trace, steps=2)
    assert out["gpu_busy_ms_per_step"] == pytest.approx(1.0)  # (1500 + 500) us / 2 steps
    assert out["kernel_ms_per_step"] == pytest.approx(1.25)  # every kernel's own time / 2
    assert out["kernels_per_step"] == 1.5
    assert out["host_ops_per_step"] == 1.0
    assert out["class_ms_per_step"] == {"convolution": 0.5, "elementwise": 0.5, "gemm": 0.25}
    assert [k["name"] for k in out["top_kernels"]] == [
        "implicit_gemm_conv", "elementwise_add", "nvjet_gemm"]


def test_unknown_case_is_one_line_and_exit_2(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert ps.main(["--out", str(tmp_path), "--cases", "no-such-case"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["profile_steps: unknown case(s): no-such-case"]


def test_the_committed_h100_profiles_add_up() -> None:
    """The H100 record of 2026-12-07 (tests/data/calibration/profile-steps/): every kernel the
    summary names is classed (the classes add up to the kernel time), the GPU is never busier
    than the wall clock of the profiled steps, and Stable Diffusion sampling on Hopper spends
    more of its GPU time on elementwise kernels and layout transposes than on convolutions and
    GEMMs (what ``unet_speed`` models as the time beside the MMAs)."""
    import json

    path = Path(__file__).parent / "data" / "calibration" / "profile-steps" / "h100-2026-12-07.json"
    doc = json.loads(path.read_text("utf-8"))
    assert doc["schema"] == "rigready-profile-steps"
    assert {c["name"] for c in doc["cases"]} >= {"sd15-inference-b1-512px",
                                                  "sdxl-inference-b2-768px"}
    for case in doc["cases"]:
        prof = case["profile"]
        classes = prof["class_ms_per_step"]
        assert sum(classes.values()) == pytest.approx(prof["kernel_ms_per_step"], rel=0.01)
        assert prof["gpu_busy_ms_per_step"] <= 1000 * max(prof["profiled_step_times_s"])
        if case["name"].startswith("sd15-inference"):
            beside = classes["elementwise"] + classes["layout"] + classes["normalisation"]
            assert beside > classes["convolution"] + classes["gemm"], case["name"]
