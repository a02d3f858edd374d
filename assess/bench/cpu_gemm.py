"""CPU matrix-product throughput through numpy's BLAS (float32 and float64).

Method: random inputs (never zeros), a square size large enough that the three matrices exceed
the last-level cache (capped so one product stays under ``max_product_s`` on slow CPUs), one
warm-up product (BLAS thread pools spin up on first use), then timed products (``perf_counter``)
until the time budget is spent and at least ``min_repeats`` ran; the median is reported. Each
product runs on a helper thread (numpy releases the GIL inside BLAS) so the generator keeps
yielding progress, and a cancel waits for at most the product in flight.
"""

from __future__ import annotations

import ctypes
import os
import threading
import time
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from rigready.assess.bench.gemm import GemmMeasurement, gemm_flops, summarize
from rigready.assess.bench.progress import Clock, Progress
from rigready.assess.hardware import CpuInfo

#: Candidate square sizes, smallest first.
SIZES: tuple[int, ...] = (1024, 1536, 2048, 3072, 4096, 6144, 8192)
_ITEMSIZE = {"fp32": 4, "fp64": 8}
_NP_DTYPE: dict[str, Any] = {"fp32": np.float32, "fp64": np.float64}


@dataclass(frozen=True, slots=True)
class BlasInfo:
    """The BLAS library numpy calls and the threads it uses (None = could not be read)."""

    name: str | None
    version: str | None = None
    detail: str | None = None
    threads: int | None = None
    #: Where ``threads`` came from: a BLAS call, an environment variable, or an assumption.
    threads_source: str = "unknown"


@dataclass(frozen=True, slots=True)
class CpuGemmResult:
    """CPU GEMM throughput per data type, with the BLAS used and the theoretical peak."""

    measurements: tuple[GemmMeasurement, ...]
    blas: BlasInfo
    cpu_model: str | None
    peak_fp32_gflops: float | None
    elapsed_s: float
    warnings: tuple[str, ...] = ()

    def measurement(self, dtype: str) -> GemmMeasurement | None:
        """The measurement of ``dtype`` (``"fp32"``/``"fp64"``), or None."""
        return next((m for m in self.measurements if m.dtype == dtype), None)


def blas_from_config(config: Mapping[str, Any]) -> tuple[str | None, str | None, str | None]:
    """Name, version and build detail of the BLAS in a numpy ``show_config`` dictionary."""
    deps = config.get("Build Dependencies")
    blas = deps.get("blas") if isinstance(deps, Mapping) else None
    if not isinstance(blas, Mapping):
        return None, None, None
    name = blas.get("name")
    version = blas.get("version")
    detail = blas.get("openblas configuration")
    return (
        str(name) if name else None,
        str(version) if version else None,
        str(detail).strip() if detail else None,
    )


def threads_from_env(env: Mapping[str, str], usable_cores: int | None) -> tuple[int | None, str]:
    """BLAS threads implied by the environment, else all usable cores (stated as assumed)."""
    for var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS", "OMP_NUM_THREADS"):
        value = env.get(var, "").split(",")[0].strip()
        if value.isdigit() and int(value) > 0:
            return int(value), var
    if usable_cores:
        return usable_cores, "assumed: every usable core (no BLAS thread query answered)"
    return None, "unknown"


_THREAD_QUERIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("openblas", ("scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads",
                  "openblas_get_num_threads64_", "openblas_get_num_threads")),
    ("mkl_rt", ("MKL_Get_Max_Threads",)),
    ("blis", ("bli_thread_get_num_threads",)),
)


def _blas_threads_from_library() -> tuple[int | None, str]:
    """Ask the loaded BLAS library itself (found in /proc/self/maps) for its thread count."""
    try:
        with open("/proc/self/maps", encoding="utf-8") as maps:
            paths = {line.split()[-1] for line in maps if "/" in line and ".so" in line}
    except OSError:
        return None, "unknown"
    for marker, symbols in _THREAD_QUERIES:
        for path in sorted(p for p in paths if marker in os.path.basename(p).lower()):
            try:
                lib = ctypes.CDLL(path)
            except OSError:
                continue
            for symbol in symbols:
                func = getattr(lib, symbol, None)
                if func is None:
                    continue
                func.restype = ctypes.c_int
                func.argtypes = []
                value = int(func())
                if value > 0:
                    return value, f"{symbol}()"
    return None, "unknown"


def detect_blas() -> BlasInfo:
    """The BLAS numpy was built with and the thread count it will use."""
    config: Mapping[str, Any] = {}
    try:
        shown: Any = np.show_config(mode="dicts")
        if isinstance(shown, Mapping):
            config = shown
    except TypeError:  # numpy < 1.26 has no mode argument
        config = getattr(getattr(np, "__config__", None), "CONFIG", {}) or {}
    name, version, detail = blas_from_config(config)
    threads, source = _blas_threads_from_library()
    if threads is None:
        usable = (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                  else os.cpu_count())
        threads, source = threads_from_env(os.environ, usable)
    return BlasInfo(name=name, version=version, detail=detail, threads=threads,
                    threads_source=source)


def cache_size_n(dtype: str, l3_bytes: int | None) -> int:
    """Smallest candidate size whose three matrices take at least twice the L3 (min 2048)."""
    target = 2 * (l3_bytes or 32 * 1024**2)
    for n in SIZES:
        if n >= 2048 and 3 * n * n * _ITEMSIZE[dtype] >= target:
            return n
    return SIZES[-1]


def time_limited_n(gflops_estimate: float, max_product_s: float) -> int:
    """Largest candidate size whose estimated product time stays within ``max_product_s``."""
    fitting = [n for n in SIZES if gemm_flops(n) / (gflops_estimate * 1e9) <= max_product_s]
    return fitting[-1] if fitting else SIZES[0]


def _timed_product(
    work: Callable[[], None], clock: Clock, poll_s: float
) -> Generator[None, None, float]:
    """Run ``work`` on a helper thread, yielding every ``poll_s`` while it runs; its duration."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            start = clock()
            work()
            box["seconds"] = clock() - start
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread below
            box["error"] = exc

    thread = threading.Thread(target=target, name="rigready-cpu-gemm", daemon=True)
    thread.start()
    try:
        while thread.is_alive():
            thread.join(poll_s)
            if thread.is_alive():
                yield None
    finally:
        thread.join()  # a cancel waits for the product in flight; BLAS cannot be interrupted
    if "error" in box:
        raise box["error"]
    seconds: float = box["seconds"]
    return seconds


def run_cpu_gemm(
    cpu: CpuInfo | None = None,
    dtypes: tuple[str, ...] = ("fp32", "fp64"),
    sizes: Mapping[str, int] | None = None,
    budget_s: float = 1.5,
    min_repeats: int = 3,
    max_repeats: int = 50,
    max_product_s: float = 0.6,
    clock: Clock = time.perf_counter,
    seed: int | None = None,
) -> Generator[Progress, None, CpuGemmResult]:
    """Measure numpy GEMM throughput; yields progress, returns a :class:`CpuGemmResult`.

    Args:
        cpu: the detected CPU (its peak and L3 size); None leaves the peak unknown.
        dtypes: ``"fp32"`` and/or ``"fp64"``.
        sizes: fixed square size per dtype (tests); default picks one per the module doc.
        budget_s: timed seconds per dtype after warm-up.
        min_repeats: timed products per dtype at least, whatever the budget.
        max_repeats: timed products per dtype at most.
        max_product_s: longest one product may take when the size is chosen automatically.
        clock: monotonic seconds.
        seed: random seed for the inputs (None = fresh entropy).
    """
    unknown = [d for d in dtypes if d not in _ITEMSIZE]
    if unknown or not dtypes:
        raise ValueError(f"CPU GEMM measures fp32 and fp64, not {unknown or 'nothing'}")
    started = clock()
    rng = np.random.default_rng(seed)
    blas = detect_blas()
    peak32 = cpu.peak_fp32_gflops if cpu is not None else None
    warnings: list[str] = []
    if peak32 is None:
        warnings.append("theoretical CPU peak unknown (cores, clock or ISA not detected)")
    results: list[GemmMeasurement] = []
    poll = 0.2
    for i, dtype in enumerate(dtypes):
        base = i / len(dtypes)
        share = 1.0 / len(dtypes)
        np_dtype = _NP_DTYPE[dtype]
        n = (sizes or {}).get(dtype)
        if n is None:
            yield Progress(base, f"CPU {dtype}: choosing the matrix size")
            probe_n = SIZES[0]
            pa = rng.standard_normal((probe_n, probe_n), dtype=np_dtype)
            pb = rng.standard_normal((probe_n, probe_n), dtype=np_dtype)
            pc = np.empty_like(pa)
            probe_s = 0.0
            for _ in range(2):  # the first call also spins up the BLAS thread pool
                probe = _timed_product(partial(_matmul, pa, pb, pc), clock, poll)
                probe_s = yield from _progress_while(probe, base, f"CPU {dtype}: probing")
            estimate = gemm_flops(probe_n) / probe_s / 1e9
            n_cache = cache_size_n(dtype, cpu.l3_cache_bytes if cpu else None)
            n = min(n_cache, time_limited_n(estimate, max_product_s))
            if n < n_cache:
                warnings.append(f"{dtype}: n={n} (time-limited below the cache-filling "
                                f"{n_cache}); a slow CPU keeps each product under "
                                f"{max_product_s:.1f} s")
            del pa, pb, pc
        if n <= 0:
            raise ValueError(f"matrix size must be above zero, got {n}")
        a = rng.standard_normal((n, n), dtype=np_dtype)
        yield Progress(base, f"CPU {dtype} n={n}: random inputs")
        b = rng.standard_normal((n, n), dtype=np_dtype)
        c = np.empty_like(a)
        yield Progress(base, f"CPU {dtype} n={n}: random inputs")

        product = partial(_matmul, a, b, c)
        warm = _timed_product(product, clock, poll)
        yield from _progress_while(warm, base, f"CPU {dtype} n={n}: warm-up")
        times: list[float] = []
        t0 = clock()
        while len(times) < max_repeats and (len(times) < min_repeats or clock() - t0 < budget_s):
            done = min(1.0, max((clock() - t0) / budget_s, len(times) / min_repeats))
            step = _timed_product(product, clock, poll)
            times.append((yield from _progress_while(
                step, base + share * done, f"CPU {dtype} n={n}: timing product {len(times) + 1}")))
        peak = None if peak32 is None else (peak32 if dtype == "fp32" else peak32 / 2)
        results.append(summarize(dtype, n, times, peak))
        del a, b, c
    yield Progress(1.0, "CPU GEMM done")
    return CpuGemmResult(
        measurements=tuple(results),
        blas=blas,
        cpu_model=cpu.model if cpu else None,
        peak_fp32_gflops=peak32,
        elapsed_s=clock() - started,
        warnings=tuple(warnings),
    )


def measured_gflops(dtypes: tuple[str, ...] = ("fp32", "fp64"), n: int = SIZES[0],
                    seed: int | None = None) -> dict[str, float]:
    """GFLOP/s of a quick n x n product per dtype (the second of two: the first spins up the
    BLAS threads); a fraction of a second, for estimating a longer run before it starts."""
    rng = np.random.default_rng(seed)
    rates: dict[str, float] = {}
    for dtype in dtypes:
        a = rng.standard_normal((n, n), dtype=_NP_DTYPE[dtype])
        b = rng.standard_normal((n, n), dtype=_NP_DTYPE[dtype])
        c = np.empty_like(a)
        seconds = 0.0
        for _ in range(2):
            start = time.perf_counter()
            _matmul(a, b, c)
            seconds = time.perf_counter() - start
        rates[dtype] = gemm_flops(n) / max(seconds, 1e-9) / 1e9
    return rates


def _matmul(a: Any, b: Any, c: Any) -> None:
    np.matmul(a, b, out=c)


def _progress_while(
    gen: Generator[None, None, float], fraction: float, message: str
) -> Generator[Progress, None, float]:
    """Forward a waiting generator's ticks as progress; return its value."""
    try:
        while True:
            next(gen)
            yield Progress(fraction, message)
    except StopIteration as stop:
        value: float = stop.value
    finally:
        gen.close()
    yield Progress(fraction, message)  # a yield after every product, however short
    return value
