from __future__ import annotations

import sys
from typing import Any

import pytest

from rigready.assess.bench.gemm import gemm_flops
from rigready.assess.bench.gpu_backends import (
    BackendUnavailable,
    GpuDevice,
    TorchBackend,
    capability_reason,
    open_backend,
    rotation_pairs,
)
from rigready.assess.bench.gpu_gemm import (
    GpuGemmResult,
    SustainedPoint,
    default_n,
    run_gpu_gemm,
    trace_from_points,
    with_expected,
)
from rigready.assess.bench.gpu_telemetry import (
    TelemetryReading,
    TelemetrySampler,
    decode_reasons,
    summarize_telemetry,
)
from tests.helpers.fake_gemm import FakeBackend, FakeClock, FakeTelemetry, drain
from tests.helpers.fake_torch import make_fake_torch

RTX3060 = {"fp32": 8.0, "tf32": 11.0, "fp16": 24.0, "bf16": 23.5, "int8": 70.0}



def run(backend: FakeBackend, telemetry: FakeTelemetry | None = None, **kw: Any
        ) -> tuple[GpuGemmResult, list[Any]]:
    clock = backend.clock

    def tel(device: GpuDevice) -> tuple[Any, str | None]:
        return (telemetry, None) if telemetry else (None, "no NVML in this test")

    gen = run_gpu_gemm(backend_factory=lambda: backend, telemetry_factory=tel, clock=clock, **kw)
    return drain(gen)


def test_without_torch_or_cupy_the_result_says_what_to_install(monkeypatch: Any) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)
    monkeypatch.setitem(sys.modules, "cupy", None)
    with pytest.raises(BackendUnavailable, match="install PyTorch to measure the GPU"):
        open_backend()
    result, _ = drain(run_gpu_gemm())
    assert result.measurements == ()
    assert result.message == "install PyTorch to measure the GPU"


def test_torch_without_cuda_is_explained(monkeypatch: Any) -> None:
    torch, _ = make_fake_torch(cuda=False)
    monkeypatch.setitem(sys.modules, "torch", torch)
    monkeypatch.setitem(sys.modules, "cupy", None)
    result, _ = drain(run_gpu_gemm())
    assert result.message is not None and "sees no CUDA GPU" in result.message


def test_quick_run_measures_each_supported_dtype_at_the_simulated_rate() -> None:
    clock = FakeClock()
    backend = FakeBackend(clock, RTX3060, capability=(8, 6))
    telemetry = FakeTelemetry(clock, reasons_mask=0x4)
    result, progress = run(backend, telemetry, expected_tflops={"bf16": 25.5, "fp32": 12.7})
    assert [m.dtype for m in result.measurements] == ["fp32", "tf32", "fp16", "bf16", "int8"]
    for m in result.measurements:
        assert m.tflops == pytest.approx(RTX3060[m.dtype], rel=1e-9)
        assert m.repeats >= 10 and m.n == 4096  # 12 GiB card -> 4096
    bf16 = result.measurement("bf16")
    assert bf16 is not None and bf16.fraction_of_peak == pytest.approx(23.5 / 25.5)
    assert result.measurement("tf32").fraction_of_peak is None  # type: ignore[union-attr]
    tel = bf16.telemetry
    assert tel is not None and tel.samples >= 1
    assert tel.throttle_reasons == ("sw_power_cap",)
    assert tel.sm_clock_mhz_min is not None and tel.sm_clock_mhz_min < 1800.0
    assert backend.closed and telemetry.closed
    assert result.device_name == "NVIDIA GeForce RTX 3060" and result.uuid == "GPU-fake-1"
    assert progress[-1].fraction == 1.0
    # operands are rotated: several pairs prepared for a 4096 product (64 MiB per bf16 pair)
    assert ("bf16", 4096, 8) in backend.prepared


def test_old_card_skips_tensor_dtypes_with_reasons() -> None:
    clock = FakeClock()
    backend = FakeBackend(clock, RTX3060, capability=(6, 1), vram_bytes=6 * 1024**3)
    result, _ = run(backend)
    assert [m.dtype for m in result.measurements] == ["fp32", "fp16"]
    skipped = {s.dtype: s.reason for s in result.skipped}
    assert set(skipped) == {"tf32", "bf16", "int8"}
    assert "8.0" in skipped["bf16"] and "6.1" in skipped["bf16"]
    assert any("no NVML" in w for w in result.warnings)
    assert result.measurements[0].telemetry is None


def test_sustained_run_exposes_throttling() -> None:
    clock = FakeClock()
    # full speed for 20 s, then 30% slower
    backend = FakeBackend(clock, RTX3060, slowdown=lambda t: 1.0 if t < 20 else 0.7)
    telemetry = FakeTelemetry(clock, reasons_mask=0x20 | 0x1)
    result, progress = run(backend, telemetry, mode="sustained", sustained_s=60.0)
    trace = result.sustained
    assert trace is not None and trace.dtype == "bf16"
    assert 45 <= len(trace.points) <= 61  # about one point per second
    assert trace.first_gflops == pytest.approx(23_500, rel=0.01)
    assert trace.last_gflops == pytest.approx(23_500 * 0.7, rel=0.01)
    assert trace.drop_fraction == pytest.approx(0.3, abs=0.01)
    assert trace.verdict.startswith("throttling") and "sw_thermal_slowdown" in trace.verdict
    assert "gpu_idle" not in trace.throttle_reasons
    assert result.measurements[0].dtype == "bf16"
    assert any("TFLOP/s" in p.message for p in progress)


def test_steady_sustained_trace() -> None:
    points = [SustainedPoint(t_s=float(t), gflops=100.0 + (t % 3)) for t in range(1, 61)]
    trace = trace_from_points("bf16", 4096, points, ())
    assert trace is not None and trace.verdict.startswith("steady")
    assert trace_from_points("bf16", 4096, [], ()) is None


def test_cancel_closes_backend_and_telemetry() -> None:
    clock = FakeClock()
    backend = FakeBackend(clock, RTX3060)
    telemetry = FakeTelemetry(clock)
    gen = run_gpu_gemm(mode="sustained", backend_factory=lambda: backend,
                       telemetry_factory=lambda d: (telemetry, None), clock=clock)
    for _ in range(5):
        next(gen)
    gen.close()
    assert backend.closed and backend.released >= 1 and telemetry.closed


def test_with_expected_sets_fractions_after_the_run() -> None:
    clock = FakeClock()
    result, _ = run(FakeBackend(clock, RTX3060), dtypes=("fp32", "bf16"))
    updated = with_expected(result, {"bf16": 25.5})
    assert updated.measurement("bf16").fraction_of_peak == pytest.approx(23.5 / 25.5)  # type: ignore[union-attr]
    assert updated.measurement("fp32").fraction_of_peak is None  # type: ignore[union-attr]


def test_helpers_capability_rotation_and_default_size() -> None:
    assert capability_reason("bf16", (8, 0)) is None
    assert capability_reason("int8", (7, 0)) is not None
    assert capability_reason("fp32", None) is None
    assert rotation_pairs(8192, 2, 80 * 1024**3) == 2  # 256 MiB per pair
    assert rotation_pairs(1024, 2, None) == 8
    assert rotation_pairs(8192, 4, 600 * 1024**2) == 0  # does not fit
    assert default_n(24 * 1024**3) == 8192 and default_n(8 * 1024**3) == 4096
    assert default_n(None) == 4096


def test_telemetry_summary_window_and_reasons() -> None:
    readings = [TelemetryReading(t=float(t), sm_clock_mhz=1500.0 + t, temperature_c=60.0 + t,
                                 power_w=100.0, reasons_mask=0x4 if t == 2 else 0x1)
                for t in range(5)]
    s = summarize_telemetry(readings, 1.0, 3.0)
    assert s is not None and s.samples == 3
    assert (s.sm_clock_mhz_min, s.sm_clock_mhz_max, s.temperature_c_max) == (1501, 1503, 63)
    assert s.throttle_reasons == ("sw_power_cap",)
    assert summarize_telemetry(readings, 10.0, 11.0) is None
    # the monitor's table and names (rigready.gpu.throttle); bits it does not know are kept
    assert decode_reasons(0x4 | 0x40) == ("sw_power_cap", "hw_thermal_slowdown")
    assert decode_reasons(0x4 | 0x2000) == ("sw_power_cap", "unknown_0x2000")
    assert decode_reasons(None) == ()


def test_sampler_thread_collects_and_stops() -> None:
    clock = FakeClock()
    source = FakeTelemetry(clock)
    sampler = TelemetrySampler(source, interval_s=0.001, clock=clock)
    sampler.start()
    sampler.sample_now()
    sampler.stop()
    assert len(sampler.readings()) >= 1 and source.closed
    assert sampler.latest() is not None


def test_torch_backend_times_with_events_and_restores_tf32(monkeypatch: Any) -> None:
    torch, gpu = make_fake_torch({"fp32": 50.0, "tf32": 400.0, "fp16": 700.0, "bf16": 750.0,
                                  "int8": 1400.0})
    monkeypatch.setitem(sys.modules, "torch", torch)
    backend = TorchBackend()
    device = backend.device()
    assert device.compute_capability == "9.0" and device.uuid is not None
    assert device.pci_bus_id == "00000000:19:00.0"
    for dtype, rate in (("fp32", 50.0), ("tf32", 400.0), ("bf16", 750.0), ("int8", 1400.0)):
        backend.prepare(dtype, 2048, 2)
        times = backend.run_batch(3)
        assert len(times) == 3
        assert gemm_flops(2048) / times[-1] / 1e12 == pytest.approx(rate, rel=1e-6)
    assert gpu.precision_log[:2] == ["ieee", "tf32"]
    assert gpu.int8_b_column_major and all(gpu.int8_b_column_major)  # the fast cuBLAS layout
    backend.close()
    assert torch.backends.cuda.matmul.fp32_precision == "ieee"  # restored to the start value


def test_torch_backend_legacy_allow_tf32(monkeypatch: Any) -> None:
    torch, _ = make_fake_torch(legacy_tf32=True)
    monkeypatch.setitem(sys.modules, "torch", torch)
    backend = TorchBackend()
    backend.prepare("tf32", 1024, 1)
    assert torch.backends.cuda.matmul.allow_tf32 is True
    backend.close()
    assert torch.backends.cuda.matmul.allow_tf32 is False
