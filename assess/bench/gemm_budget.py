"""What a GEMM run of a size the user chose (``bench gemm --n N``) will take, said before it starts.

An n x n product needs three n x n matrices (A, B and the result) and ``2 * n**3`` operations.
With ``--n 65536`` the CPU run needed 3 x 32 GiB in fp64 and died with MemoryError; with
``--n 12000`` on a small CPU each of its eight products (fp32 and fp64: one warm-up and at least
three timed) took over a minute while the bar sat at 0%. Here the memory is compared with what
is available (RAM, or the GPU's memory) and the time is estimated from a measured rate (a short
1024 x 1024 probe on the CPU) or the catalog's peak for the GPU, before any matrix is made.
Pure functions: the caller measures and decides.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rigready.assess.bench.gemm import gemm_flops
from rigready.assess.bench.progress import BenchError

if TYPE_CHECKING:
    from rigready.assess.hardware import RigProfile

#: Bytes per element of each dtype the runners measure.
ITEMSIZE = {"fp64": 8, "fp32": 4, "tf32": 4, "fp16": 2, "bf16": 2, "int8": 1}
#: Products per dtype at least: the CPU runner's warm-up and three timed; the GPU runner's
#: warm-up and ten timed.
CPU_PRODUCTS = 4
GPU_PRODUCTS = 11
#: Share of the memory a run may plan to use (the rest for the system and the runner).
MEMORY_SHARE = 0.8
#: Share of the GPU's dense peak assumed when estimating its time (a healthy card reaches
#: 55-85%; a lower share over-estimates the time rather than under-estimating it).
GPU_PEAK_SHARE = 0.5
#: Longest estimated run started without ``--allow-long``.
MAX_PLANNED_S = 120.0
GIB = 2**30


def matrices_bytes(n: int, dtype: str) -> int:
    """Memory of the three n x n matrices of one product."""
    return 3 * n * n * ITEMSIZE[dtype]


def largest_n(available_bytes: int, dtype: str) -> int:
    """The largest multiple of 1024 whose matrices fit in the plannable share of memory."""
    n = int((MEMORY_SHARE * available_bytes / (3 * ITEMSIZE[dtype])) ** 0.5)
    return max(0, n // 1024 * 1024)


@dataclass(frozen=True, slots=True)
class GemmBudget:
    """Memory and time of a run: ``seconds`` is None when no rate is known."""

    device: str
    n: int
    dtypes: tuple[str, ...]
    bytes_needed: int
    bytes_available: int | None
    seconds: float | None
    rate_note: str

    @property
    def fits(self) -> bool:
        """Whether the matrices fit in the plannable share of the memory (unknown: assumed)."""
        return self.bytes_available is None or (
            self.bytes_needed <= MEMORY_SHARE * self.bytes_available)

    def sentence(self) -> str:
        """``CPU GEMM n=12000 (fp32, fp64): 3.2 GiB of 20.1 GiB available, about 9 min (at
        the measured ...)``."""
        memory = f"{self.bytes_needed / GIB:.1f} GiB"
        if self.bytes_available is not None:
            memory += f" of {self.bytes_available / GIB:.1f} GiB available"
        time = ("time unknown" if self.seconds is None
                else f"about {_duration(self.seconds)}")
        return (f"{self.device} GEMM n={self.n} ({', '.join(self.dtypes)}): {memory}, {time}"
                + (f" ({self.rate_note})" if self.rate_note else ""))


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    if seconds < 5400:
        return f"{round(seconds / 60)} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.0f} days"


def cpu_budget(n: int, dtypes: tuple[str, ...], available_bytes: int | None,
               gflops: Mapping[str, float]) -> GemmBudget:
    """The CPU run's memory (its largest dtype's matrices: one dtype at a time) and time at the
    measured rate per dtype (GFLOP/s)."""
    needed = max(matrices_bytes(n, d) for d in dtypes)
    rates = [gflops.get(d) for d in dtypes]
    seconds = None if any(r is None or r <= 0 for r in rates) else sum(
        CPU_PRODUCTS * gemm_flops(n) / (r * 1e9) for r in rates if r)
    note = ", ".join(f"{gflops[d]:.0f} GFLOP/s {d}" for d in dtypes if gflops.get(d))
    return GemmBudget("CPU", n, dtypes, needed, available_bytes, seconds,
                      f"at the measured {note}" if note else "")


def gpu_budget(n: int, dtypes: tuple[str, ...], vram_bytes: int | None,
               peak_tflops: Mapping[str, float], fixed_s: float = 0.0) -> GemmBudget:
    """The GPU run's memory and time at :data:`GPU_PEAK_SHARE` of the catalog's dense peak per
    dtype (TFLOP/s); ``fixed_s`` is a sustained loop's own length."""
    needed = max(matrices_bytes(n, d) for d in dtypes)
    known = [peak_tflops.get(d) for d in dtypes]
    seconds = None if any(p is None or p <= 0 for p in known) else fixed_s + sum(
        GPU_PRODUCTS * gemm_flops(n) / (GPU_PEAK_SHARE * p * 1e12) for p in known if p)
    note = (f"at {GPU_PEAK_SHARE:.0%} of the card's catalog peak" if seconds is not None
            else "this card's peak is not in the catalog")
    return GemmBudget("GPU", n, dtypes, needed, vram_bytes, seconds, note)


def check_budget(budget: GemmBudget, *, allow_long: bool,
                 max_s: float = MAX_PLANNED_S) -> None:
    """Refuse a run whose matrices do not fit, or whose estimate is over ``max_s`` unless the
    user asked for a long run.

    Raises:
        BenchError: one line with the figures and what to do.
    """
    if not budget.fits:
        assert budget.bytes_available is not None
        biggest = max(budget.dtypes, key=lambda d: ITEMSIZE[d])
        room = largest_n(budget.bytes_available, biggest)
        where = "RAM" if budget.device == "CPU" else "GPU memory"
        raise BenchError(
            f"--n {budget.n} needs {budget.bytes_needed / GIB:.1f} GiB for three {biggest} "
            f"matrices, more than {MEMORY_SHARE:.0%} of the {budget.bytes_available / GIB:.1f} "
            f"GiB of {where} available" + (f"; at most --n {room}" if room >= 1024 else ""))
    if budget.seconds is not None and budget.seconds > max_s and not allow_long:
        raise BenchError(f"{budget.sentence()}: longer than {_duration(max_s)}; add "
                         "--allow-long to run it anyway, or choose a smaller --n")


#: What each run measures (the CPU runner's dtypes; the GPU quick run's; the sustained loop's).
CPU_DTYPES = ("fp32", "fp64")
GPU_QUICK_DTYPES = ("fp32", "tf32", "fp16", "bf16", "int8")


def gemm_budgets(n: int, profile: RigProfile, device: str | None, *, sustained: bool = False,
                 sustained_s: float = 60.0, allow_long: bool = False) -> list[GemmBudget]:
    """Check a ``bench gemm --n N`` run on ``device`` (None: CPU and GPU) before it starts: the
    CPU side is measured with a short probe, the GPU side uses the detected card's memory and
    its catalog peak. Returns the budgets (to be said before starting).

    Raises:
        BenchError: the matrices do not fit, or the estimate is too long without
            ``allow_long``.
    """
    budgets: list[GemmBudget] = []
    if device in (None, "cpu") and not sustained:
        from rigready.assess.bench.cpu_gemm import measured_gflops

        budgets.append(cpu_budget(n, CPU_DTYPES, profile.memory.available_bytes,
                                  measured_gflops(CPU_DTYPES)))
    gpu = profile.gpus[0] if profile.gpus else None
    if device in (None, "gpu") and gpu is not None:
        dtypes = ("bf16",) if sustained else GPU_QUICK_DTYPES
        budgets.append(gpu_budget(n, dtypes, gpu.vram_bytes, _catalog_peaks(gpu),
                                  sustained_s if sustained else 0.0))
    for budget in budgets:
        check_budget(budget, allow_long=allow_long)
    return budgets


def _catalog_peaks(gpu: object) -> dict[str, float]:
    try:
        from rigready.assess.bench.compare import expected_gpu_tflops
        from rigready.assess.match import match_gpu
        from rigready.catalog import default_catalog

        entry = match_gpu(gpu, default_catalog().gpus).entry  # type: ignore[arg-type]
    except Exception:  # noqa: BLE001 - no catalog: the time is unknown, not an error
        return {}
    return expected_gpu_tflops(entry) if entry is not None else {}
