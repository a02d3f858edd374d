"""The FP32 FLOPs-per-cycle rule and the AI flag filter (pure functions)."""

from __future__ import annotations

import pytest

from rigready.assess.detect.isa import AI_FLAGS, ai_flags, fp32_flops_per_cycle


@pytest.mark.parametrize(
    ("flags", "arch", "expected"),
    [
        ("sse sse2 avx avx2 fma avx512f avx512bw", "x86_64", 64),
        ("sse sse2 avx avx2 fma", "x86_64", 32),
        ("sse sse2 avx", "x86_64", 16),
        # Bulldozer-style AVX + FMA without AVX2 counts like plain AVX.
        ("sse sse2 avx fma", "x86_64", 16),
        # AVX-512 without FMA reported (never seen in practice): no 512-bit FMA assumed.
        ("sse sse2 avx avx2 avx512f", "x86_64", 16),
        ("sse sse2", "x86_64", 8),
        ("fp asimd evtstrm aes", "aarch64", 16),
        ("", "arm64", 16),  # NEON is mandatory on AArch64 (macOS reports no flags)
        ("", "x86_64", None),  # flags unreadable: unknown, not the SSE floor
        ("", None, None),
        ("AVX2 FMA", None, 32),  # case-insensitive
    ],
)
def test_fp32_flops_per_cycle(flags: str, arch: str | None, expected: int | None) -> None:
    assert fp32_flops_per_cycle(flags.split(), arch) == expected


def test_ai_flags_keeps_order_and_only_relevant_flags() -> None:
    raw = ["fpu", "vme", "amx_tile", "avx2", "sse", "fma", "avx512vnni", "pni", "avx512f"]
    assert ai_flags(raw) == ("sse", "avx2", "fma", "avx512f", "avx512_vnni", "amx_tile")


def test_ai_flags_known_list_has_no_duplicates() -> None:
    assert len(AI_FLAGS) == len(set(AI_FLAGS))
