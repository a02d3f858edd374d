"""CPU instruction-set extensions that matter for AI work, and the FP32 FLOPs per cycle they imply.

The per-core figure is a *theoretical* peak used to compare processors, not a measurement. It is
the SIMD width (in FP32 lanes) times two (a fused multiply-add counts as two FLOPs) times the
number of vector FMA pipes a core is assumed to have:

====================================  ===================  =============================
ISA found (flags)                     FP32 FLOPs / cycle   assumption
====================================  ===================  =============================
``avx512f`` + ``fma``                 64                   2 x 512-bit FMA pipes
``avx2`` + ``fma``                    32                   2 x 256-bit FMA pipes
``avx`` (no FMA, or FMA without AVX2) 16                   256-bit add + 256-bit multiply
``sse`` / ``sse2``                    8                    128-bit add + 128-bit multiply
Arm ``asimd`` / ``neon`` (AArch64)    16                   2 x 128-bit FMA pipes
====================================  ===================  =============================

Known limits of these assumptions (documented, not corrected, because the flags cannot tell):

* AVX-512 parts with a single 512-bit FMA unit (some Xeon Bronze/Silver, Ice Lake client) or with
  256-bit data paths (AMD Zen 4, Zen 5 mobile) really retire 32 FP32 FLOPs/cycle, half the
  figure above. Desktop and server parts with ``avx512f`` most often have two units.
* Arm cores with four 128-bit pipes (Neoverse V1/V2, Apple M-series) or SVE reach 32; 16 is the
  floor that every AArch64 core with NEON meets.
* CPUs with AVX and FMA but not AVX2 (AMD Bulldozer family) run 256-bit FMA on two shared
  128-bit pipes, so they are counted like plain AVX.
"""

from __future__ import annotations

from collections.abc import Iterable

#: Extensions reported in ``CpuInfo.flags``, in this order, when the CPU has them. Names are the
#: Linux ``/proc/cpuinfo`` spellings (x86 ``flags``, Arm ``Features``).
AI_FLAGS: tuple[str, ...] = (
    "sse",
    "sse2",
    "sse4_2",
    "avx",
    "avx2",
    "fma",
    "f16c",
    "avx512f",
    "avx512bw",
    "avx512vl",
    "avx512_vnni",
    "avx512_bf16",
    "avx512_fp16",
    "avx_vnni",
    "amx_tile",
    "amx_bf16",
    "amx_int8",
    "amx_fp16",
    "neon",
    "asimd",
    "asimdhp",
    "asimddp",
    "i8mm",
    "bf16",
    "sve",
    "sve2",
)

_AARCH64 = {"aarch64", "arm64", "armv8l", "armv8b"}


def ai_flags(all_flags: Iterable[str]) -> tuple[str, ...]:
    """The AI-relevant extensions among ``all_flags`` (case-insensitive), in :data:`AI_FLAGS` order.

    py-cpuinfo and some tools spell AVX-512 extensions without the underscore
    (``avx512vnni``); both spellings are accepted.
    """
    have = {f.strip().lower() for f in all_flags}
    have |= {f.replace("avx512", "avx512_") for f in have
             if f.startswith("avx512") and "_" not in f}
    return tuple(f for f in AI_FLAGS if f in have)


def fp32_flops_per_cycle(flags: Iterable[str], architecture: str | None = None) -> int | None:
    """Theoretical FP32 FLOPs one core retires per cycle, from its ISA flags (see module doc).

    Args:
        flags: CPU flags (``/proc/cpuinfo`` spelling; any case).
        architecture: machine name (``x86_64``, ``aarch64``, ``arm64``...). On AArch64 NEON is
            mandatory, so the Arm figure applies even when no flags could be read.

    Returns:
        64, 32, 16 or 8; None when the flags are unknown on a non-Arm machine.
    """
    have = {f.strip().lower() for f in flags}
    arch = (architecture or "").lower()
    if "avx512f" in have and "fma" in have:
        return 64
    if "avx2" in have and "fma" in have:
        return 32
    if "avx" in have:
        return 16
    if "asimd" in have or "neon" in have or arch in _AARCH64:
        return 16
    if "sse" in have or "sse2" in have:
        return 8
    # x86 without readable flags: the figure depends on them, so it stays unknown.
    return None
