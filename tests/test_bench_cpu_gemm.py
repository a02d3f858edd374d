from __future__ import annotations

import threading

import pytest

from rigready.assess.bench.cpu_gemm import (
    BlasInfo,
    CpuGemmResult,
    blas_from_config,
    cache_size_n,
    detect_blas,
    run_cpu_gemm,
    threads_from_env,
    time_limited_n,
)
from rigready.assess.bench.gemm import gemm_flops, quantile, summarize
from rigready.assess.bench.progress import Progress
from rigready.assess.hardware import CpuInfo
from tests.helpers.fake_gemm import drain

# numpy.show_config(mode="dicts") on the development VM (numpy 2.4.6 wheel), trimmed.
NUMPY_CONFIG = {
    "Build Dependencies": {
        "blas": {
            "name": "scipy-openblas", "found": True, "version": "0.3.31.188.0",
            "openblas configuration": "OpenBLAS 0.3.31.188.0  USE64BITINT DYNAMIC_ARCH "
                                      "NO_AFFINITY Haswell MAX_THREADS=64",
        },
    },
}



def test_quantile_interpolates_and_rejects_bad_input() -> None:
    assert quantile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert quantile([5.0], 0.2) == 5.0
    assert quantile([1.0, 3.0], 0.25) == 1.5
    with pytest.raises(ValueError):
        quantile([], 0.5)
    with pytest.raises(ValueError):
        quantile([1.0], 1.5)


def test_summarize_reports_median_throughput_and_fraction() -> None:
    n = 1000
    times = [0.2, 0.1, 0.4, 0.1, 0.1]  # median 0.1 s
    m = summarize("fp32", n, times, peak_gflops=40.0)
    assert m.gflops == pytest.approx(gemm_flops(n) / 0.1 / 1e9)  # 20 GFLOP/s
    assert m.fraction_of_peak == pytest.approx(0.5)
    assert m.gflops_p20 < m.gflops <= m.gflops_p80
    assert m.repeats == 5 and m.median_seconds == 0.1
    with pytest.raises(ValueError):
        summarize("fp32", n, [0.1, 0.0])


def test_blas_name_version_and_detail_from_numpy_config() -> None:
    assert blas_from_config(NUMPY_CONFIG) == (
        "scipy-openblas", "0.3.31.188.0",
        "OpenBLAS 0.3.31.188.0  USE64BITINT DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64")
    assert blas_from_config({}) == (None, None, None)


def test_thread_count_from_environment_else_usable_cores() -> None:
    assert threads_from_env({"OMP_NUM_THREADS": "6"}, 16) == (6, "OMP_NUM_THREADS")
    assert threads_from_env({"OPENBLAS_NUM_THREADS": "3", "OMP_NUM_THREADS": "6"}, 16)[0] == 3
    threads, source = threads_from_env({"OMP_NUM_THREADS": "junk"}, 12)
    assert threads == 12 and source.startswith("assumed")
    assert threads_from_env({}, None) == (None, "unknown")


def test_detect_blas_on_this_machine_names_a_library_and_threads() -> None:
    blas = detect_blas()
    assert blas.name  # numpy always links some BLAS
    assert blas.threads is not None and blas.threads >= 1


def test_sizes_exceed_the_cache_but_respect_the_time_limit() -> None:
    # 32 MiB L3: fp32 needs 3 n^2 4 B >= 64 MiB -> n = 3072; fp64 -> 2048
    assert cache_size_n("fp32", 32 * 1024**2) == 3072
    assert cache_size_n("fp64", 32 * 1024**2) == 2048
    assert cache_size_n("fp32", 128 * 1024**2) == 6144  # 3 n^2 4 B >= 256 MiB
    assert cache_size_n("fp32", 256 * 1024**2) == 8192
    # 100 GFLOP/s and 0.6 s per product: 2 n^3 <= 60e9 -> n <= 3107 -> 3072
    assert time_limited_n(100.0, 0.6) == 3072
    assert time_limited_n(0.001, 0.6) == 1024  # never below the smallest size


def test_run_cpu_gemm_small_sizes_measures_both_dtypes_with_peak() -> None:
    cpu = CpuInfo(model="Test CPU", physical_cores=2, max_clock_mhz=3000.0,
                  fp32_flops_per_cycle=32)  # 192 GFLOP/s fp32 peak
    result, progress = drain(run_cpu_gemm(cpu, sizes={"fp32": 96, "fp64": 96}, budget_s=0.05,
                                          min_repeats=3, seed=1))
    assert isinstance(result, CpuGemmResult)
    assert [m.dtype for m in result.measurements] == ["fp32", "fp64"]
    fp32, fp64 = result.measurements
    assert fp32.n == 96 and fp32.repeats >= 3 and fp32.gflops > 0
    assert fp32.peak_gflops == pytest.approx(192.0)
    assert fp64.peak_gflops == pytest.approx(96.0)  # fp64 is half the fp32 peak
    assert fp32.fraction_of_peak == pytest.approx(fp32.gflops / 192.0)
    assert isinstance(result.blas, BlasInfo) and result.cpu_model == "Test CPU"
    assert all(isinstance(p, Progress) for p in progress)
    assert progress[-1].fraction == 1.0
    fractions = [p.fraction for p in progress]
    assert fractions == sorted(fractions)


def test_unknown_peak_is_none_with_a_warning() -> None:
    result, _ = drain(run_cpu_gemm(None, dtypes=("fp32",), sizes={"fp32": 64}, budget_s=0.01))
    assert result.peak_fp32_gflops is None
    assert result.measurements[0].fraction_of_peak is None
    assert any("peak unknown" in w for w in result.warnings)


def test_bad_dtype_is_rejected() -> None:
    with pytest.raises(ValueError):
        next(run_cpu_gemm(None, dtypes=("fp16",)))


def test_cancel_leaves_no_worker_thread_running() -> None:
    gen = run_cpu_gemm(None, sizes={"fp32": 256, "fp64": 256}, budget_s=30.0, max_repeats=10_000)
    for _ in range(5):
        next(gen)
    gen.close()
    assert not [t for t in threading.enumerate() if t.name == "rigready-cpu-gemm"]
