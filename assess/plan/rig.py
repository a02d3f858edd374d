"""The PC as the planner sees it: the parts that can change and what is known about each.

Built once from a :class:`~assess.hardware.RigProfile` and the catalog. A fact the profile lacks
stays ``None``; the checks that need it come out ``unverified``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rigready.assess.estimate import GpuTarget, gpu_from_profile
from rigready.assess.formfactor import form_factor_of, gpu_is_mobile
from rigready.assess.hardware import GpuInfo, RigProfile
from rigready.assess.match import match_gpu
from rigready.assess.score_facts import ScoreFacts, rig_facts
from rigready.assess.units import GIB
from rigready.catalog import Catalog, CpuEntry, GpuEntry

#: CPU power assumed for PSU sizing when the CPU is not in the catalog (a typical desktop
#: K-series base power; rigready's assumption, stated wherever it is used).
ASSUMED_CPU_W = 125.0


@dataclass(frozen=True, slots=True)
class RigState:
    """The current PC: GPU, CPU, memory and disks, with what could not be told."""

    gpu: GpuInfo | None
    gpu_entry: GpuEntry | None
    gpu_target: GpuTarget | None
    #: The GPU cannot be swapped (a laptop, or a laptop GPU).
    laptop: bool
    cpu_name: str | None
    cpu_entry: CpuEntry | None
    cpu_cores: int | None
    #: RAM the OS sees, GiB (None: unknown).
    ram_total_gib: float | None
    #: RAM installed as sold (sum of modules), GiB; falls back to ``ram_total_gib``.
    ram_installed_gib: float | None
    ram_available_bytes: int | None
    #: ``DDR4``/``DDR5``/``LPDDR5``... as detected.
    ram_type: str | None
    #: ``DIMM`` or ``SODIMM`` (None: unknown).
    ram_form: str | None
    ram_soldered: bool | None
    slots_total: int | None
    slots_used: int | None
    max_capacity_gib: float | None
    score: ScoreFacts
    notes: tuple[str, ...]
    #: desktop / laptop / server / vm / unknown.
    form: str = "unknown"
    #: A Thunderbolt/USB4 controller (an external GPU can be attached); None: unknown.
    thunderbolt: bool | None = None
    #: A small case (all-in-one, mini PC): a full-size card may not fit.
    compact: bool = False

    @property
    def desktop_on_gpu(self) -> bool:
        """Whether a card put in this PC would drive its desktop (and keep memory for it): not
        on a VM or server, nor where the card it has today is known to drive no display."""
        if self.form in ("vm", "server"):
            return False
        shown = self.gpu_target.drives_display if self.gpu_target else None
        return shown is not False

    @property
    def takes_internal_gpu(self) -> bool:
        """Whether a graphics card can be installed inside (a desktop or a server)."""
        return self.form in ("desktop", "server") and not self.laptop

    @property
    def has_gpu(self) -> bool:
        """Whether there is a discrete GPU today."""
        return self.gpu is not None

    @property
    def gpu_pool(self) -> tuple[float, ...]:
        """The memory (GiB) of every GPU this PC has, when it has several and every size was
        read (else empty): a task that splits a model may use them all, as scoring counts them."""
        sizes = tuple(g.vram_gib for g in self.score.gpus if g.vram_gib is not None)
        return sizes if len(sizes) > 1 and len(sizes) == len(self.score.gpus) else ()

    @property
    def vram_gib(self) -> float | None:
        """The current GPU's memory."""
        return self.gpu_target.vram_bytes / GIB if self.gpu_target else None

    @property
    def cpu_power_w(self) -> float | None:
        """The CPU's rated power from the catalog (None when the CPU is not in it)."""
        return self.cpu_entry.tdp_w if self.cpu_entry else None

    @property
    def free_slots(self) -> int | None:
        """Empty RAM slots (None when the slot counts are unknown)."""
        if self.slots_total is None or self.slots_used is None:
            return None
        return max(self.slots_total - self.slots_used, 0)

    @property
    def platform_pcie_gen(self) -> int | None:
        """The PCIe generation of the CPU's graphics lanes (from the catalog)."""
        return self.cpu_entry.pcie_gen if self.cpu_entry else None


def _words(text: str) -> tuple[str, ...]:
    return tuple(w for w in re.split(r"[^a-z0-9]+", text.lower()) if w)


def match_cpu(model: str | None, cpus: Sequence[CpuEntry]) -> CpuEntry | None:
    """The catalog CPU whose ``match`` fragment appears, word for word, in ``model``.

    A fragment must be followed by a word boundary, so ``"Ryzen 5 5600"`` does not claim a
    "Ryzen 5 5600X"; the longest matching fragment wins.
    """
    if not model:
        return None
    words = _words(model)
    best: tuple[tuple[int, int], CpuEntry] | None = None
    for entry in cpus:
        for fragment in entry.match:
            frag = _words(fragment)
            n = len(frag)
            if not n or not any(words[i:i + n] == frag for i in range(len(words) - n + 1)):
                continue
            key = (n, len("".join(frag)))
            if best is None or key > best[0]:
                best = (key, entry)
    return best[1] if best else None


def _form_factor(profile: RigProfile) -> str | None:
    forms = {(m.form_factor or "").upper().replace("-", "") for m in profile.memory.modules}
    forms.discard("")
    if len(forms) == 1:
        form = forms.pop()
        if form in ("DIMM", "SODIMM"):
            return form
    return None


def rig_state(profile: RigProfile, catalog: Catalog) -> RigState:
    """Collect what the planner needs from ``profile``."""
    notes: list[str] = []
    gpu = profile.best_gpu
    entry = target = None
    laptop = False
    if gpu is not None:
        entry = match_gpu(gpu, catalog.gpus).entry
        target = gpu_from_profile(profile, catalog.gpus)
        laptop = gpu_is_mobile(gpu) or (entry is not None and entry.segment == "laptop")
        if target is None:
            notes.append(f"{gpu.name}: VRAM unknown, treated as no usable GPU")
    cpu = profile.cpu
    cpu_entry = match_cpu(cpu.model, catalog.cpus)
    if cpu.model and cpu_entry is None:
        notes.append(f"CPU {cpu.model!r} is not in the catalog: its power and socket are unknown")
    mem = profile.memory
    total = mem.total_bytes / GIB if mem.total_bytes else None
    sizes = [m.size_bytes for m in mem.modules]
    installed = sum(s for s in sizes if s) / GIB if sizes and all(sizes) else total
    ram_type = mem.type or next((m.type for m in mem.modules if m.type), None)
    form = _form_factor(profile)
    if form is None and (laptop or (ram_type or "").upper().startswith("LP")):
        form = "SODIMM" if not (ram_type or "").upper().startswith("LP") else None
    soldered = mem.soldered
    if soldered is None and (ram_type or "").upper().startswith("LP"):
        soldered = True
        notes.append(f"{ram_type} memory is soldered to the board")
    slots_used = mem.slots_used if mem.slots_used is not None else (
        len(mem.modules) if mem.modules else None)
    chassis = form_factor_of(profile)
    laptop = laptop or chassis.kind == "laptop"
    if chassis.kind == "unknown":
        notes.append("form factor unknown (desktop or laptop?): no graphics card is offered to "
                     "install; if this is a desktop, say so (plan --form-factor desktop, or "
                     "form_factor.kind in a saved profile)")
    return RigState(
        gpu=gpu, gpu_entry=entry, gpu_target=target, laptop=laptop, cpu_name=cpu.model,
        cpu_entry=cpu_entry, cpu_cores=cpu.physical_cores, ram_total_gib=total,
        ram_installed_gib=installed, ram_available_bytes=mem.available_bytes,
        ram_type=ram_type.upper() if ram_type else None, ram_form=form, ram_soldered=soldered,
        slots_total=mem.slots_total, slots_used=slots_used,
        max_capacity_gib=mem.max_capacity_bytes / GIB if mem.max_capacity_bytes else None,
        score=rig_facts(profile, catalog), notes=tuple(notes),
        form="laptop" if laptop else chassis.kind, thunderbolt=chassis.thunderbolt,
        compact=bool(chassis.compact))


def gpu_label(entry: GpuEntry) -> str:
    """A short display name (``RTX 3060 12 GB``) without the brand words; ``(used)`` where the
    price is a used-market one."""
    words = [w for w in entry.name.split() if w not in _BRANDS]
    label = " ".join(words) or entry.name
    return f"{label} (used)" if entry.price_kind == "used" else label


_BRANDS = frozenset({"NVIDIA", "GeForce", "AMD", "Radeon", "Intel"})
