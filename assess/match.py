"""Map a detected GPU (``GpuInfo``) to its catalog entry (``GpuEntry``).

Detected names vary by driver and tool ("NVIDIA GeForce RTX 3060 Laptop GPU", "NVIDIA
A100-SXM4-80GB", "AMD Radeon RX 7900 XTX", "Tesla T4"). Both the detected name and the catalog's
``match`` fragments are normalised the same way, by the name resolver's
:func:`rigready.assess.names.normalize_name` (the one the CLI and the GUI use for typed names):
lower case, punctuation to spaces, "80 GB" joined to "80gb", and brand words (NVIDIA, AMD, Intel,
GeForce, Radeon, Tesla, Quadro, "GPU", "Graphics") dropped. A fragment matches when its words appear
together, in order, in the name and the next word of the name is not a variant word the fragment
lacks ("RTX 3060" does not match "RTX 3060 Ti"). Laptop names (Laptop, Mobile, Max-Q) match only
laptop entries and desktop names only non-laptop ones.

Among matching entries the choice prefers, in order: VRAM that agrees with the detected VRAM
(within 10 %), an exact fragment over one matched without its form-factor or memory words
(SXM, PCIe, HBM3, "80GB"), the longest fragment, a memory type the name mentions ("HBM3"), the
nearest VRAM, and the board power nearest the detected power limit. When the VRAM was not read
and the name fits entries of different VRAM equally ("RTX 3060": 12 GB or 8 GB), nothing is
picked: the match is ambiguous, lists the candidates, and the VRAM stays unknown. An unmatched
GPU keeps its detected facts and the match says so.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from rigready.assess.hardware import GpuInfo, RigProfile
from rigready.assess.names import GPU_BRAND_WORDS, GPU_VARIANT_WORDS, normalize_name
from rigready.assess.units import GIB
from rigready.catalog import Catalog, GpuEntry

Confidence = Literal["high", "medium", "low", "none"]

_LAPTOP_WORDS = frozenset({"laptop", "mobile", "maxq"})
#: Words naming a form factor or memory, dropped in the relaxed pass.
_QUALIFIER_RE = re.compile(r"^(sxm\d?|pcie|nvl|hbm\d?e?|gddr\d\w?|\d+gb)$")
_MEMORY_RE = re.compile(r"^(hbm\d?e?|gddr\d\w?)$")
_VRAM_TOLERANCE = 0.10


@dataclass(frozen=True, slots=True)
class GpuMatch:
    """The catalog entry found for one detected GPU (or none), with how sure and why."""

    gpu: GpuInfo
    entry: GpuEntry | None
    confidence: Confidence
    reason: str
    #: Ids of other entries that matched the name but were not chosen.
    alternatives: tuple[str, ...] = ()
    #: Entries the name fits equally when nothing (no VRAM reading) tells them apart; then
    #: ``entry`` is None, so that VRAM stays unknown instead of taking one variant's figure.
    candidates: tuple[GpuEntry, ...] = ()

    @property
    def ambiguous(self) -> bool:
        """Whether the name fits several entries of different VRAM and none was chosen."""
        return self.entry is None and len(self.candidates) > 1

    @property
    def matched(self) -> bool:
        """Whether a catalog entry was found."""
        return self.entry is not None


@dataclass(frozen=True, slots=True)
class _Candidate:
    entry: GpuEntry
    fragment: str
    strict: bool
    length: int
    vram_ok: bool
    memory_ok: bool
    vram_distance: float
    power_distance: float

    def key(self) -> tuple[bool, bool, int, bool, float, float]:
        return (self.vram_ok, self.strict, self.length, self.memory_ok, -self.vram_distance,
                -self.power_distance)


def normalize_gpu_name(name: str) -> tuple[str, ...]:
    """The words of a GPU name as matching sees them (the resolver's normalisation).

    >>> normalize_gpu_name("NVIDIA A100-SXM4-80GB")
    ('a100', 'sxm4', '80gb')
    """
    return normalize_name(name, GPU_BRAND_WORDS)


def is_laptop_name(name: str) -> bool:
    """Whether a detected name denotes a laptop (mobile) GPU."""
    return any(w in _LAPTOP_WORDS for w in normalize_gpu_name(name))


def _find(words: tuple[str, ...], fragment: tuple[str, ...]) -> bool:
    n = len(fragment)
    if n == 0 or n > len(words):
        return False
    for start in range(len(words) - n + 1):
        if words[start:start + n] != fragment:
            continue
        following = words[start + n] if start + n < len(words) else None
        if following is None or following not in GPU_VARIANT_WORDS:
            return True
    return False


def _detected_vram_gib(gpu: GpuInfo) -> float | None:
    if gpu.vram_bytes is not None and gpu.vram_bytes > 0:
        return gpu.vram_bytes / GIB
    for word in normalize_gpu_name(gpu.name):
        found = re.fullmatch(r"(\d+)gb", word)
        if found:
            return float(found.group(1))
    return None


def _candidates(gpu: GpuInfo, entries: Sequence[GpuEntry]) -> list[_Candidate]:
    words = normalize_gpu_name(gpu.name)
    laptop = any(w in _LAPTOP_WORDS for w in words)
    vram = _detected_vram_gib(gpu)
    memory_words = {w for w in words if _MEMORY_RE.match(w)}
    found: list[_Candidate] = []
    for entry in entries:
        if gpu.vendor in ("nvidia", "amd", "intel") and entry.vendor != gpu.vendor:
            continue
        if (entry.segment == "laptop") != laptop:
            continue
        best: tuple[bool, int, str] | None = None
        for fragment in entry.match:
            tokens = normalize_gpu_name(fragment)
            options = [(True, tokens)]
            relaxed = tuple(t for t in tokens if not _QUALIFIER_RE.match(t))
            if relaxed != tokens and relaxed:
                options.append((False, relaxed))
            for strict, toks in options:
                if _find(words, toks):
                    length = sum(len(t) for t in toks)
                    if best is None or (strict, length) > best[:2]:
                        best = (strict, length, fragment)
                    break
        if best is None:
            continue
        if vram is None:
            vram_ok, vram_distance = True, 0.0
        else:
            vram_distance = abs(math.log(vram / entry.vram_gib))
            vram_ok = abs(vram - entry.vram_gib) <= _VRAM_TOLERANCE * entry.vram_gib
        power = gpu.power_limit_w
        power_distance = abs(power - entry.tgp_w) / entry.tgp_w if power else 0.0
        memory_ok = bool(memory_words) and (entry.memory_type or "").lower() in memory_words
        found.append(_Candidate(entry, best[2], best[0], best[1], vram_ok, memory_ok,
                                vram_distance, power_distance))
    return found


def match_gpu(gpu: GpuInfo, entries: Sequence[GpuEntry]) -> GpuMatch:
    """Find the catalog entry for one detected GPU.

    Args:
        gpu: the detected GPU (its name, and VRAM and power limit where known).
        entries: the catalog's GPUs.

    Returns:
        The match; ``entry`` is None when nothing fits, and ``reason`` says what the rest of the
        program will use instead (the detected facts).
    """
    vram = _detected_vram_gib(gpu)
    vram_text = "unknown VRAM" if vram is None else f"{vram:.1f} GiB VRAM"
    candidates = sorted(_candidates(gpu, entries), key=_Candidate.key, reverse=True)
    if not candidates:
        kind = "laptop " if is_laptop_name(gpu.name) else ""
        return GpuMatch(gpu, None, "none",
                        f"no {kind}catalog entry matches {gpu.name!r}; using the detected facts "
                        f"only ({vram_text}; speed and power unknown)")
    best = candidates[0]
    if vram is None:
        same_name = [c for c in candidates
                     if (c.strict, c.length, c.memory_ok) == (best.strict, best.length,
                                                              best.memory_ok)]
        if len({c.entry.vram_gib for c in same_name}) > 1:
            listed = " or ".join(f"{c.entry.id} ({c.entry.vram_gib:g} GiB)"
                                 for c in sorted(same_name, key=lambda c: entries.index(c.entry)))
            return GpuMatch(gpu, None, "low",
                            f"{gpu.name!r} could be {listed} and the VRAM was not read, so VRAM "
                            "stays unknown", tuple(c.entry.id for c in candidates),
                            tuple(sorted((c.entry for c in same_name), key=entries.index)))
    others = tuple(c.entry.id for c in candidates[1:])
    tied = len(candidates) > 1 and candidates[1].key() == best.key()
    entry = best.entry
    how = (f"the name contains {best.fragment!r}" if best.strict else
           f"the name contains {best.fragment!r} without its form-factor or memory words")
    if vram is None:
        vram_note = f"VRAM not detected, catalog says {entry.vram_gib:g} GiB"
    elif best.vram_ok:
        vram_note = f"{vram:.1f} GiB VRAM agrees with the catalog's {entry.vram_gib:g} GiB"
    else:
        vram_note = (f"but {vram:.1f} GiB VRAM differs from the catalog's {entry.vram_gib:g} GiB;"
                     " the detected VRAM is used")
    confidence: Confidence
    if tied:
        confidence = "low"
        equal = [c.entry.id for c in candidates[1:] if c.key() == best.key()]
        vram_note += f"; equally likely: {', '.join(equal)}"
    elif not best.vram_ok:
        confidence = "low"
    elif best.strict and vram is not None:
        confidence = "high"
    else:
        confidence = "medium"
    reason = f"{entry.name} ({entry.id}): {how}; {vram_note}"
    return GpuMatch(gpu, entry, confidence, reason, others)


def match_gpus(profile: RigProfile, catalog: Catalog) -> tuple[GpuMatch, ...]:
    """Match every GPU of a profile (integrated ones too; they rarely have an entry)."""
    return tuple(match_gpu(gpu, catalog.gpus) for gpu in profile.gpus)
