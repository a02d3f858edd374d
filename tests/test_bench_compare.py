from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from rigready.assess.bench.compare import (
    classify_drive,
    compare_cpu,
    compare_drive,
    compare_gemm,
    compare_gpu_result,
    disk_for_folder,
    expected_drive_class,
    expected_gpu_tflops,
    gpu_speedup,
    healthy_fraction,
)
from rigready.assess.bench.cpu_gemm import BlasInfo, CpuGemmResult
from rigready.assess.bench.fingerprint import machine_fingerprint, profile_fingerprint
from rigready.assess.bench.gemm import GemmMeasurement, Telemetry, summarize
from rigready.assess.bench.gpu_gemm import GpuGemmResult, Skipped, SustainedPoint, trace_from_points
from rigready.assess.bench.performance import measured_performance
from rigready.assess.bench.records import (
    bench_kind,
    result_from_dict,
    result_label,
    result_rows,
    result_to_dict,
)
from rigready.assess.bench.storage import StorageResult, StorageTestResult
from rigready.assess.hardware import CpuInfo, Disk, GpuInfo, MemoryInfo, RigProfile, SystemInfo


@dataclass(frozen=True)
class Entry:
    """What a catalog GpuEntry offers (the figures of the RTX 3060 12 GB row in benchmarks.md)."""

    name: str = "NVIDIA GeForce RTX 3060 12 GB"
    vendor: str = "nvidia"
    segment: str = "desktop"
    fp32_tflops: float = 12.7
    tf32_tflops: float | None = 12.7
    fp16_tflops: float | None = 25.5
    bf16_tflops: float | None = 25.5
    int8_tops: float | None = 102.0


def bf16(tflops: float, telemetry: Telemetry | None = None) -> GemmMeasurement:
    seconds = 2 * 4096**3 / (tflops * 1e12)
    return summarize("bf16", 4096, [seconds] * 5, telemetry=telemetry)


def gpu(*dtypes_tflops: tuple[str, float]) -> GpuGemmResult:
    ms = tuple(summarize(d, 4096, [2 * 4096**3 / (t * 1e12)] * 5) for d, t in dtypes_tflops)
    return GpuGemmResult(mode="quick", measurements=ms, device_name="NVIDIA GeForce RTX 3060",
                         vram_bytes=12 * 1024**3, skipped=(Skipped("int8", "old card"),))


def cpu(fp32_gflops: float, peak: float | None = 400.0) -> CpuGemmResult:
    m = summarize("fp32", 2048, [2 * 2048**3 / (fp32_gflops * 1e9)] * 3, peak_gflops=peak)
    return CpuGemmResult(measurements=(m,), blas=BlasInfo("openblas", "0.3", threads=8,
                                                          threads_source="OMP_NUM_THREADS"),
                         cpu_model="Test CPU", peak_fp32_gflops=peak, elapsed_s=2.0)


def storage(seq_read: float, rnd_q1_read: float, label: str | None = None,
            folder: str = "/data/models") -> StorageResult:
    def row(test: str, op: str, mb_s: float, block: int) -> StorageTestResult:
        return StorageTestResult(test=test, operation=op, block_bytes=block, queue_depth=1,
                                 mb_s=mb_s, iops=mb_s * 1e6 / block, latency_us=100.0,
                                 mb_s_median=mb_s, passes=3, bytes_moved=1)
    rows = (row("SEQ1M Q8T1", "read", seq_read, 1 << 20),
            row("RND4K Q1T1", "read", rnd_q1_read, 4096),
            row("SEQ1M Q8T1", "write", seq_read * 0.9, 1 << 20))
    return StorageResult(folder=folder, filesystem="ext4", device="/dev/nvme0n1p2",
                         file_size_bytes=1 << 30, direct_io=label is None, label=label,
                         forced=False, quick=True, results=rows, elapsed_s=25.0)


def test_gpu_sentence_and_verdict_against_the_catalog() -> None:
    c = compare_gemm(bf16(23.46), Entry())
    assert c.sentence == ("your NVIDIA GeForce RTX 3060 12 GB reaches 92% of its expected bf16 "
                          "throughput (23.5 of 25.5 TFLOP/s)")
    assert c.verdict == "healthy"  # GeForce goal: 85% or more
    low = compare_gemm(bf16(10.0), Entry())
    assert low.verdict == "investigate" and any("throttling" in r for r in low.reasons)
    mid = compare_gemm(bf16(17.0), Entry())
    assert mid.verdict == "below"


def test_throttle_reasons_are_named_in_the_comparison() -> None:
    tel = Telemetry(samples=10, sm_clock_mhz_median=1455.0, throttle_reasons=("sw_power_cap",))
    c = compare_gemm(bf16(20.0, tel), Entry())
    assert any("sw_power_cap" in r for r in c.reasons)
    assert any("1455 MHz" in r for r in c.reasons)


def test_expected_peaks_and_missing_figures() -> None:
    assert expected_gpu_tflops(Entry()) == {"fp32": 12.7, "tf32": 12.7, "fp16": 25.5,
                                             "bf16": 25.5, "int8": 102.0}
    no_tensor = Entry(tf32_tflops=None, bf16_tflops=None, int8_tops=None)
    assert set(expected_gpu_tflops(no_tensor)) == {"fp32", "fp16"}
    c = compare_gemm(bf16(5.0), no_tensor)
    assert c.verdict == "unknown" and c.fraction is None
    assert compare_gpu_result(gpu(("bf16", 20.0)), None) == ()


def test_healthy_fractions_follow_the_research_goals() -> None:
    assert healthy_fraction("bf16", "nvidia", "datacenter") == 0.75
    assert healthy_fraction("bf16", "nvidia", "desktop") == 0.85
    assert healthy_fraction("fp32", "nvidia", "desktop") == 0.55
    assert healthy_fraction("fp16", "amd", "desktop") == 0.45


def test_cpu_comparison_names_blas_and_threads() -> None:
    (c,) = compare_cpu(cpu(280.0))
    assert c.fraction == pytest.approx(0.7) and c.verdict == "healthy"
    assert "70% of its theoretical fp32 peak" in c.sentence and "8 threads" in c.sentence
    (unknown,) = compare_cpu(cpu(280.0, peak=None))
    assert unknown.verdict == "unknown"


def test_drive_classes_from_measured_figures() -> None:
    assert classify_drive(6800.0, 80.0)[0].key == "nvme-gen4"
    assert classify_drive(520.0, 35.0)[0].key == "sata-ssd"
    assert classify_drive(3100.0, 55.0)[0].key == "nvme-gen3"
    assert classify_drive(12000.0)[0].key == "nvme-gen5"
    assert classify_drive(180.0, 1.2)[0].key == "hdd"
    hdd_like, reasons = classify_drive(520.0, 3.0)  # fast sequential but HDD-class random
    assert hdd_like.key == "hdd" and "hard-disk class" in reasons[-1]
    assert expected_drive_class("nvme", 4).key == "nvme-gen4"  # type: ignore[union-attr]
    assert expected_drive_class("nvme", None).key == "nvme-gen3"  # type: ignore[union-attr]
    assert expected_drive_class("usb", None) is None


def test_nvme_that_behaves_like_sata_is_called_out() -> None:
    disk = Disk(name="nvme0n1", model="Samsung 990 PRO", kind="nvme", pcie_gen=4,
                mount_points=("/", "/data"))
    c = compare_drive(storage(540.0, 40.0), disk)
    assert c is not None
    assert c.sentence == "this drive behaves like a SATA SSD, not the NVMe Gen4 SSD it is"
    assert c.verdict == "investigate"
    ok = compare_drive(storage(6900.0, 85.0), disk)
    assert ok is not None and ok.verdict == "healthy"
    assert ok.sentence == "this drive performs like the NVMe Gen4 SSD it is"
    degraded = compare_drive(storage(6900.0, 85.0, label="cache bypass degraded"), disk)
    assert degraded is not None and any("page cache" in r for r in degraded.reasons)
    unknown = compare_drive(storage(2000.0, 60.0), None)
    assert unknown is not None and unknown.sentence == "this drive behaves like an NVMe Gen3 SSD"


def test_disk_for_folder_takes_the_longest_mount_point() -> None:
    root = Disk(name="sda", mount_points=("/",))
    data = Disk(name="nvme0n1", mount_points=("/data",))
    assert disk_for_folder("/data/models", [root, data]) is data
    assert disk_for_folder("/home/me", [root, data]) is root
    assert disk_for_folder("/database", [data]) is None


def test_gpu_speedup_over_cpu() -> None:
    s = gpu_speedup(gpu(("fp32", 10.0), ("bf16", 20.0)), cpu(200.0))
    assert s is not None and s.gpu_dtype == "bf16"
    assert s.factor == pytest.approx(100.0) and s.fp32_factor == pytest.approx(50.0)
    assert "100x faster" in s.sentence
    assert gpu_speedup(GpuGemmResult(mode="quick", measurements=()), cpu(200.0)) is None


def test_measured_performance_takes_the_newest_valid_of_each_kind() -> None:
    newest_gpu = gpu(("bf16", 22.0), ("fp32", 11.0))
    older_gpu = gpu(("bf16", 18.0))
    nothing = GpuGemmResult(mode="quick", measurements=(), message="install PyTorch")
    perf = measured_performance([nothing, newest_gpu, cpu(250.0), older_gpu,
                                 storage(900.0, 30.0, label="cache bypass degraded"),
                                 storage(3000.0, 55.0)])
    assert perf.gpu_bf16_tflops == pytest.approx(22.0)
    assert perf.gpu_half_tflops == pytest.approx(22.0)
    assert perf.gpu_fp32_tflops == pytest.approx(11.0)
    assert perf.cpu_fp32_gflops == pytest.approx(250.0)
    assert perf.storage_seq_read_mb_s == 3000.0  # the degraded run is skipped
    assert perf.storage_rnd4k_q1t1_read_mb_s == 55.0
    assert len(perf.sources) == 3
    empty = measured_performance([])
    assert empty.gpu_bf16_tflops is None and empty.sources == ()


def test_records_round_trip_through_json_for_every_kind() -> None:
    tel = Telemetry(samples=3, sm_clock_mhz_median=1800.0,
                    throttle_reasons=("sw_thermal_slowdown",))
    g = gpu(("bf16", 20.0))
    trace = trace_from_points("bf16", 4096, [SustainedPoint(1.0, 20000.0, 1800.0, 60.0, 150.0),
                                             SustainedPoint(2.0, 19000.0, None, None, None)],
                              ("sw_thermal_slowdown",))
    g = GpuGemmResult(mode="sustained", measurements=(summarize(
        "bf16", 4096, [0.01, 0.011], 25500.0, tel),), sustained=trace, device_name="X")
    for result in (g, gpu(("fp16", 5.0)), cpu(100.0), storage(500.0, 30.0)):
        text = json.dumps(result_to_dict(result))
        assert result_from_dict(json.loads(text)) == result
        assert bench_kind(result) in ("gemm-gpu", "gemm-cpu", "storage")
        assert result_label(result)
    with pytest.raises(ValueError, match="unknown field"):
        result_from_dict({**result_to_dict(cpu(1.0)), "bogus": 1})
    with pytest.raises(ValueError, match="kind"):
        result_from_dict({"kind": "nope", "version": 1})



def test_records_written_with_the_old_reason_names_read_back_with_todays() -> None:
    """Before the throttle table was shared, benchmark records spelt five reasons shorter."""
    tel = Telemetry(samples=3, throttle_reasons=("sw_power_cap", "sw_thermal_slowdown",
                                                 "hw_power_brake_slowdown"))
    g = GpuGemmResult(mode="quick", measurements=(summarize(
        "bf16", 4096, [0.01, 0.011], 25500.0, tel),), device_name="X")
    old = json.loads(json.dumps(result_to_dict(g)).replace(
        "sw_thermal_slowdown", "sw_thermal").replace("hw_power_brake_slowdown", "hw_power_brake"))
    assert "sw_thermal_slowdown" not in json.dumps(old)
    back = result_from_dict(old)
    assert back == g
    limits = compare_gemm(back.measurements[0], Entry()).reasons
    assert "NVML reported clock limits during the run: sw_power_cap, sw_thermal_slowdown, " \
           "hw_power_brake_slowdown" in limits

def test_cli_rows_have_the_documented_fields() -> None:
    (row,) = result_rows(cpu(100.0))
    assert {"dtype", "n", "gflops"} <= set(row) and row["gflops"] == pytest.approx(100.0)
    rows = result_rows(storage(500.0, 30.0))
    assert {"test", "mb_s", "iops", "latency_us"} <= set(rows[0])


def test_fingerprint_is_stable_and_order_free() -> None:
    a = machine_fingerprint("AMD Ryzen 9 7950X", ["GPU-1234", "GPU-abcd"], "box")
    b = machine_fingerprint(" amd ryzen 9 7950x ", ["abcd", "1234"], "BOX")
    assert a == b and len(a) == 16
    assert machine_fingerprint("AMD Ryzen 9 7950X", ["GPU-1234"], "box") != a
    profile = RigProfile(cpu=CpuInfo(model="AMD Ryzen 9 7950X"), memory=MemoryInfo(),
                         storage=(), gpus=(GpuInfo(vendor="nvidia", name="RTX", uuid="GPU-1234"),
                                           GpuInfo(vendor="nvidia", name="RTX", uuid="GPU-abcd")),
                         system=SystemInfo(hostname="box"))
    assert profile_fingerprint(profile) == a


def test_device_record_drive_sentence_is_grammatical() -> None:
    data = json.loads((Path(__file__).parent / "data" / "bench" /
                       "bench_all_h200_2026-11-22.json").read_text(encoding="utf-8"))
    kinds = [run["kind"] for run in data["runs"]]
    assert kinds == ["gemm-cpu", "gemm-gpu", "storage"]
    stored = result_from_dict(data["runs"][2]["record"])
    assert isinstance(stored, StorageResult) and stored.direct_io
    c = compare_drive(stored, None)
    assert c is not None and c.sentence == "this drive behaves like an NVMe Gen3 SSD"
