"""The GPU an estimate is for: from a catalog entry, from a detected adapter, or typed in, with
the memory a job may use on it.

A hobbyist's single card usually drives the display: the compositor, Xorg or Wayland, a browser
and chat apps keep part of its memory, and a job gets only the rest. :attr:`GpuTarget.job_bytes`
is that rest; every fit comparison reads it (never the card's total). Where it comes from:

- this PC: the card's total less what the programs NVML lists hold now (read at detection);
- a saved profile, or a catalog card, that drives a display: a desktop's typical use,
  :data:`DESKTOP_HELD_BYTES` (sourced below), stated in the answer;
- a card that drives no display (a server, a cloud GPU, a second card): nothing held;
- the user's own figure (``--free-gib``, or ``free_for_job_bytes`` in a profile) wins.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from rigready.assess.hardware import GpuInfo, GpuMemoryHolder, RigProfile

GIB = 1024**3
#: Usable host-to-device bandwidth by PCIe generation at x16, GB/s (about 80% of the link rate).
PCIE_GB_S = {3: 12.0, 4: 25.0, 5: 50.0}

#: GPU memory a desktop keeps on the card that drives its display when it cannot be read (a
#: saved profile of another PC, a catalog card): 1.0 GiB. Published nvidia-smi readings of
#: Linux desktops range from under 0.1 GiB for a bare Xorg + GNOME Shell (Xorg 28 MiB +
#: gnome-shell 46 MiB, NVIDIA/nvidia-docker#1264) and about 0.4 GiB for a Wayland compositor
#: with its panels at login (hyprwm/Hyprland#7968) to 1.8 GiB with Chrome and other windows open
#: on Wayland (NVIDIA/egl-wayland#126, 2025-12-30), about 70 MB more per Firefox window
#: (niri-wm/niri#4372); Windows' DWM keeps its own share the same way. 1.0 GiB is the middle
#: of that range, a desktop with a browser open; rigready's judgement from those readings,
#: never a measurement of the user's PC (``--free-gib`` gives the real figure).
DESKTOP_HELD_BYTES = GIB
DESKTOP_HELD_SOURCE = ("1.0 GiB kept for the desktop it drives: a typical desktop with a "
                       "browser open, from published nvidia-smi readings")
#: Catalog segments whose cards have display outputs and usually drive the desktop they sit in.
_DISPLAY_SEGMENTS = ("desktop", "laptop", "workstation")


@dataclass(frozen=True, slots=True)
class MemoryHolder:
    """A program holding memory on the card, by name."""

    name: str
    used_bytes: int


@dataclass(frozen=True, slots=True)
class GpuTarget:
    """What the estimator needs of one GPU. Unknown figures are None (time is then unknown)."""

    name: str
    vram_bytes: int
    bandwidth_gb_s: float | None = None
    #: Dense (no sparsity) peak TFLOP/s by compute dtype: ``bf16``, ``fp16``, ``fp32``.
    dense_tflops: dict[str, float] = field(default_factory=dict)
    tgp_w: float | None = None
    pcie_gb_s: float | None = None
    #: A measured matmul throughput (TFLOP/s) that replaces the datasheet peak when known.
    measured_tflops: float | None = None
    source: str = ""
    #: Whether servers usually hold several of this card (data-center and workstation parts);
    #: "add a second GPU" is no fix for a single consumer card.
    multi_gpu: bool = False
    #: Memory other programs hold on the card (the desktop, a browser, another job), or the
    #: typical desktop allowance where it cannot be read, bytes; the job gets the rest.
    held_bytes: int = 0
    #: Where ``held_bytes`` comes from, in words (empty: nothing held, nothing said).
    held_source: str = ""
    #: The programs holding it, biggest first (read on this PC only).
    holders: tuple[MemoryHolder, ...] = ()
    #: Whether the card drives a display (None: unknown).
    drives_display: bool | None = None

    @property
    def job_bytes(self) -> int:
        """Memory available for the job: the card's total less what others hold. Counted like
        the card's total, so the driver's own reservation and the CUDA context are part of the
        job's share: every fit verdict compares an estimate's
        :attr:`~rigready.assess.estimate.breakdown.MemoryBreakdown.needs_free_bytes` (which
        counts both) with it, never with ``vram_bytes``."""
        return max(0, self.vram_bytes - self.held_bytes)

    def split_by_layers(self, gpus: int) -> GpuTarget:
        """One of ``gpus`` identical cards a job splits by layers (an inference split): the
        card that drives the desktop takes fewer layers, so what the desktop keeps counts once
        over all of them, ``held_bytes / gpus`` on each (the desktop sits on one card only).
        FSDP shards are equal, so a training job reads the card itself: there the display
        card's share binds."""
        if not self.held_bytes or gpus <= 1:
            return self
        return replace(self, held_bytes=self.held_bytes // gpus)

    def peak_tflops(self, dtype: str) -> float | None:
        """The throughput time estimates start from: measured if known, else the datasheet."""
        if self.measured_tflops:
            return self.measured_tflops
        if dtype in self.dense_tflops:
            return self.dense_tflops[dtype]
        if dtype == "bf16" and "fp16" in self.dense_tflops:
            return self.dense_tflops["fp16"]
        # no half-precision tensor figure (older GPUs): the fp32 rate is what they manage
        return self.dense_tflops.get("fp32")

    def free_note(self) -> str:
        """The memory a job gets, in words, with who holds the rest and what closing them
        frees ("" when nothing is held): "11.0 of the card's 12.0 GiB are free for the job:
        Xorg 0.4 GiB, firefox 0.7 GiB hold the rest; closing them frees 1.1 GiB"."""
        if not self.held_bytes:
            return ""
        text = (f"{self.job_bytes / GIB:.1f} of the card's {self.vram_bytes / GIB:.1f} GiB are "
                "free for the job")
        if self.holders:
            shown = self.holders[:3]
            names = ", ".join(f"{h.name} {h.used_bytes / GIB:.1f} GiB" for h in shown)
            more = len(self.holders) - len(shown)
            freed = sum(h.used_bytes for h in shown)
            return (f"{text}: {names}" + (f" and {more} more" if more else "")
                    + f" hold the rest; closing {'it' if len(shown) == 1 else 'them'} frees "
                    f"{freed / GIB:.1f} GiB")
        return f"{text} ({self.held_source}; give --free-gib if yours differs)"


def with_free_gib(target: GpuTarget, free_gib: float) -> GpuTarget:
    """``target`` with the user's own figure for the memory a job may use.

    Raises:
        ValueError: more than the card has, or not above zero.
    """
    free = int(free_gib * GIB)
    if free <= 0:
        raise ValueError(f"--free-gib must be above zero, got {free_gib:g}")
    if free > target.vram_bytes:
        raise ValueError(f"--free-gib {free_gib:g} is more than the "
                         f"{target.vram_bytes / GIB:.1f} GiB the {target.name} has")
    return replace(target, held_bytes=target.vram_bytes - free, holders=(),
                   held_source=f"you said {free_gib:g} GiB are free for the job")


def with_display(target: GpuTarget, drives_display: bool | None) -> GpuTarget:
    """``target`` sharing its memory with a desktop, or not: a card that drives the display
    keeps :data:`DESKTOP_HELD_BYTES` for it; one that does not keeps nothing (None: as is)."""
    if drives_display is None:
        return target
    if not drives_display:
        return replace(target, held_bytes=0, holders=(), drives_display=False,
                       held_source="the card drives no display: nothing else holds its memory")
    return replace(target, held_bytes=min(DESKTOP_HELD_BYTES, target.vram_bytes), holders=(),
                   drives_display=True, held_source=DESKTOP_HELD_SOURCE)


def gpu_from_entry(entry: Any, *, drives_display: bool | None = None) -> GpuTarget:
    """A catalog ``GpuEntry`` (read by field name) as a target.

    ``drives_display``: whether the card will drive a display (it then keeps a desktop's typical
    use, stated in the answer); None: a desktop, laptop or workstation card is taken to drive
    the desktop it sits in, a data-center card to drive none.
    """
    tflops = {k: float(v) for k, v in (("bf16", getattr(entry, "bf16_tflops", None)),
                                       ("fp16", getattr(entry, "fp16_tflops", None)),
                                       ("fp32", getattr(entry, "fp32_tflops", None)))
              if v}
    gen = getattr(entry, "pcie_gen", None)
    segment = getattr(entry, "segment", None)
    target = GpuTarget(
        name=str(entry.name), vram_bytes=int(float(entry.vram_gib) * GIB),
        bandwidth_gb_s=float(entry.memory_bandwidth_gb_s), dense_tflops=tflops,
        tgp_w=float(entry.tgp_w) if getattr(entry, "tgp_w", None) else None,
        pcie_gb_s=PCIE_GB_S.get(int(gen)) if gen else None,
        source=f"catalog {entry.id}",
        multi_gpu=segment in ("datacenter", "workstation"),
    )
    if drives_display is None:
        drives_display = segment in _DISPLAY_SEGMENTS
    return with_display(target, drives_display)


def gpu_from_info(info: GpuInfo, catalog_gpus: Iterable[Any] = (), *,
                  live: bool = False, headless: bool = False) -> GpuTarget | None:
    """A detected adapter as a target: its own VRAM, throughput from the matching catalog entry,
    and the memory a job may use on it.

    ``live``: the adapter was just detected on this PC, so what its programs hold was read now
    (a saved profile's list is from another time: the typical desktop use is assumed instead).
    ``headless``: the machine has no desktop on this card when nothing says otherwise (a VM or
    a server). Returns None when the adapter's VRAM is unknown.
    """
    from rigready.assess.match import match_gpu

    entry = match_gpu(info, list(catalog_gpus)).entry
    target: GpuTarget
    if entry is not None:
        base = gpu_from_entry(entry, drives_display=False)
        vram = info.vram_bytes or base.vram_bytes
        gen = info.pcie_gen_max
        pcie = PCIE_GB_S.get(gen) if gen else base.pcie_gb_s
        target = replace(base, name=info.name, vram_bytes=vram, pcie_gb_s=pcie,
                         tgp_w=info.power_limit_w or base.tgp_w,
                         source=f"detected, figures from catalog {entry.id}",
                         held_source="", drives_display=None)
    elif info.vram_bytes is None:
        return None
    else:
        target = GpuTarget(name=info.name, vram_bytes=info.vram_bytes, tgp_w=info.power_limit_w,
                           pcie_gb_s=PCIE_GB_S.get(info.pcie_gen_max)
                           if info.pcie_gen_max else None,
                           source="detected (no catalog match: time and energy unknown)")
    return _shared_with_desktop(target, info, live=live, headless=headless)


def _shared_with_desktop(target: GpuTarget, info: GpuInfo, *, live: bool,
                         headless: bool) -> GpuTarget:
    """What else holds the card's memory: the user's figure, the programs read now, a
    desktop's typical use, or nothing."""
    if info.free_for_job_bytes is not None:
        free = min(info.free_for_job_bytes, target.vram_bytes)
        return replace(target, held_bytes=target.vram_bytes - free,
                       drives_display=info.drives_display,
                       held_source=f"the profile says {free / GIB:.1f} GiB are free for the job")
    if live and info.memory_holders is not None and all(
            h.used_bytes is not None for h in info.memory_holders):
        holders = _named(info.memory_holders)
        held = min(sum(h.used_bytes for h in holders), target.vram_bytes)
        return replace(target, held_bytes=held, holders=holders,
                       drives_display=info.drives_display,
                       held_source="read now: what other programs hold on the card (NVML)"
                       if held else "read now: no other program holds memory on the card")
    display = info.drives_display
    if display is None:
        display = not headless
    return with_display(target, display)


def _named(holders: Iterable[GpuMemoryHolder]) -> tuple[MemoryHolder, ...]:
    """Holders with a size, by name (a process whose name is hidden by its pid), biggest
    first."""
    out = [MemoryHolder(h.name or (f"pid {h.pid}" if h.pid is not None else "a program"),
                        h.used_bytes or 0) for h in holders if h.used_bytes]
    return tuple(sorted(out, key=lambda h: -h.used_bytes))


def gpu_from_profile(profile: RigProfile, catalog_gpus: Iterable[Any] = ()) -> GpuTarget | None:
    """The profile's best GPU as a target (None: no GPU, or its memory unknown): read now when
    the profile is this PC just detected, a desktop's typical use assumed on a saved one whose
    card drives (or may drive) the display, nothing held on a VM or server unless it says so."""
    best = profile.best_gpu
    if best is None:
        return None
    return _read_as_profile(best, profile, catalog_gpus)


def gpus_from_profile(profile: RigProfile,
                      catalog_gpus: Iterable[Any] = ()) -> tuple[GpuTarget | None, ...]:
    """Every discrete GPU of the profile as a target, in the profile's order (None where its
    memory is unknown), each read as :func:`gpu_from_profile` reads the best one."""
    entries = list(catalog_gpus)
    return tuple(_read_as_profile(g, profile, entries) for g in profile.discrete_gpus)


def _read_as_profile(info: GpuInfo, profile: RigProfile,
                     catalog_gpus: Iterable[Any]) -> GpuTarget | None:
    return gpu_from_info(info, catalog_gpus, live=profile.origin == "detected",
                         headless=profile.form_factor.kind in ("vm", "server"))
