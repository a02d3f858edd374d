"""The "This PC" page: one card per component, units a person reads, warnings visible."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from rigready.assess.hardware import Disk, GpuInfo, RigProfile
from rigready.assess.units import format_bytes, format_mhz, format_watts
from rigready.desktop.context import AppContext
from rigready.desktop.theme import MUTED, WARN, current_theme, page_title
from rigready.desktop.usecases.gpu_memory import GpuMemoryUse, gpu_memory_use, is_this_pc
from rigready.desktop.widgets.card import Card

#: Programs listed per GPU before "and N more".
SHOWN_HOLDERS = 6
#: Re-read the programs on this PC's GPUs when the page is shown, at most this often (seconds).
REREAD_S = 2.0

_DISK_KINDS = {
    "nvme": "NVMe SSD",
    "sata-ssd": "SATA SSD",
    "hdd": "Hard disk",
    "usb": "USB drive",
    "virtual": "Virtual disk",
    "mmc": "SD/eMMC",
    "unknown": "Unknown kind",
}


def _src(sources: dict[str, str], *fields: str) -> str | None:
    found = [sources[f] for f in fields if f in sources]
    return ", ".join(dict.fromkeys(found)) or None


def _opt(value: object, suffix: str = "") -> str | None:
    return None if value is None else f"{value}{suffix}"


def cpu_card(profile: RigProfile) -> Card:
    """The processor card."""
    cpu = profile.cpu
    card = Card("Processor", cpu.model or "Unknown CPU")
    s = cpu.sources
    cores = None
    if cpu.physical_cores is not None or cpu.logical_cores is not None:
        cores = f"{_opt(cpu.physical_cores) or '?'} cores, {_opt(cpu.logical_cores) or '?'} threads"
    card.add_row("Cores", cores, _src(s, "physical_cores", "logical_cores"))
    clock = None
    if cpu.base_clock_mhz or cpu.max_clock_mhz:
        clock = f"{format_mhz(cpu.base_clock_mhz)} base, {format_mhz(cpu.max_clock_mhz)} max"
    card.add_row("Clock", clock, _src(s, "base_clock_mhz", "max_clock_mhz"))
    card.add_row("L3 cache", format_bytes(cpu.l3_cache_bytes, unknown="") or None,
                 _src(s, "l3_cache_bytes"))
    card.add_row("Architecture", cpu.architecture, _src(s, "architecture"))
    card.add_row("AI instructions", ", ".join(cpu.flags) if cpu.flags else None, _src(s, "flags"))
    peak = cpu.peak_fp32_gflops
    card.add_row("FP32 peak (theory)", None if peak is None else f"{peak:,.0f} GFLOP/s",
                 _src(s, "fp32_flops_per_cycle"))
    return card


def memory_card(profile: RigProfile) -> Card:
    """The system memory card."""
    mem = profile.memory
    s = mem.sources
    card = Card("Memory", format_bytes(mem.total_bytes) + " installed")
    card.add_row("Available now", format_bytes(mem.available_bytes, unknown="") or None,
                 _src(s, "available_bytes"))
    kind = mem.type
    if kind and mem.speed_mts:
        kind = f"{kind}-{mem.speed_mts}"
    card.add_row("Type", kind, _src(s, "type", "speed_mts"))
    slots = None
    if mem.slots_total is not None:
        slots = f"{_opt(mem.slots_used) or '?'} of {mem.slots_total} used"
    card.add_row("Slots", slots, _src(s, "slots_used", "slots_total"))
    card.add_row("Maximum supported", format_bytes(mem.max_capacity_bytes, unknown="") or None,
                 _src(s, "max_capacity_bytes"))
    soldered = {True: "yes (cannot be upgraded)", False: "no", None: None}[mem.soldered]
    card.add_row("Soldered", soldered, _src(s, "soldered"))
    return card


def gpu_card(gpu: GpuInfo) -> Card:
    """One card per GPU."""
    s = gpu.sources
    subtitle = {"nvidia": "NVIDIA", "amd": "AMD", "intel": "Intel", "other": "Other"}[gpu.vendor]
    if gpu.integrated:
        subtitle += " · integrated, shares system memory"
    card = Card(gpu.name, subtitle)
    card.add_row("Video memory", format_bytes(gpu.vram_bytes, unknown="") or None,
                 _src(s, "vram_bytes"))
    if gpu.vendor == "nvidia":
        card.add_row("Compute capability", gpu.compute_capability, _src(s, "compute_capability"))
        card.add_row("CUDA cores", _opt(gpu.cuda_cores), _src(s, "cuda_cores"))
        driver = None
        if gpu.driver_version:
            driver = gpu.driver_version + (f" (CUDA {gpu.cuda_driver_version})"
                                           if gpu.cuda_driver_version else "")
        card.add_row("Driver", driver, _src(s, "driver_version"))
    card.add_row("Power limit", format_watts(gpu.power_limit_w, unknown="") or None,
                 _src(s, "power_limit_w"))
    link = None
    if gpu.pcie_gen_max is not None:
        link = f"Gen {gpu.pcie_gen_max} x{_opt(gpu.pcie_width_max) or '?'}"
        if gpu.pcie_gen_current is not None:
            link += f" (now Gen {gpu.pcie_gen_current} x{_opt(gpu.pcie_width_current) or '?'})"
    card.add_row("PCIe link", link, _src(s, "pcie_gen_max"))
    if gpu.temp_slowdown_c is not None:
        card.add_row("Slows down at", f"{gpu.temp_slowdown_c} °C", _src(s, "temp_slowdown_c"))
    return card


def display_text(use: GpuMemoryUse) -> str | None:
    """Whether the desktop draws on the GPU, in words (None: not read)."""
    if use.drives_display is None:
        return None
    return "yes: the desktop shares its memory" if use.drives_display else "no"


def holders_text(use: GpuMemoryUse) -> str | None:
    """The programs holding the GPU's memory, biggest first, one a line (None: not read)."""
    if use.holders is None:
        return None
    if not use.holders:
        return f"none ({use.when})"
    lines = []
    for h in use.holders[:SHOWN_HOLDERS]:
        name = h.name or "a process rigready may not name"
        pid = f" (pid {h.pid})" if h.pid is not None else ""
        lines.append(f"{name}{pid}: {format_bytes(h.used_bytes, unknown='size hidden')}")
    more = len(use.holders) - SHOWN_HOLDERS
    if more > 0:
        lines.append(f"and {more} more")
    count = len(use.holders)
    lines.append(f"{format_bytes(use.held_bytes)} held by {count} program"
                 f"{'' if count == 1 else 's'} ({use.when})")
    return "\n".join(lines)


def add_memory_rows(card: Card, use: GpuMemoryUse) -> tuple[QLabel, QLabel]:
    """The display and programs rows of a GPU card; returns their value labels."""
    source = "NVML (nvmlDeviceGetDisplayActive, compute and graphics process lists)"
    shown = card.add_row("Drives a display", display_text(use), source)
    held = card.add_row("Programs on it", holders_text(use), source)
    if use.why:  # why the list is missing or partial, where the source would be
        held.setToolTip(use.why)
    return shown, held


def disk_card(disk: Disk) -> Card:
    """One card per physical disk."""
    s = disk.sources
    card = Card(disk.model or disk.name, f"{_DISK_KINDS[disk.kind]} · /dev/{disk.name}")
    card.add_row("Capacity", format_bytes(disk.total_bytes, unknown="") or None,
                 _src(s, "total_bytes"))
    if disk.pcie_gen is not None:
        card.add_row("PCIe link", f"Gen {disk.pcie_gen} x{_opt(disk.pcie_width) or '?'}",
                     _src(s, "pcie_gen"))
    card.add_row("Mounted at", ", ".join(disk.mount_points) or "not mounted",
                 _src(s, "mount_points"))
    if disk.mount_points:
        card.add_row("Free", format_bytes(disk.free_bytes, unknown="") or None,
                     _src(s, "free_bytes"))
    return card


def software_card(profile: RigProfile) -> Card:
    """Operating system and the AI software stack."""
    system = profile.system
    card = Card("Software", system.os or "Unknown OS")
    card.add_row("Kernel", system.kernel, _src(system.sources, "kernel"))
    card.add_row("Python", system.python, _src(system.sources, "python"))
    if system.torch_version is None:
        torch = "not installed — GPU benchmarks and training need it"
    else:
        cuda = {True: "CUDA available", False: "no CUDA", None: "CUDA not checked"}[
            system.torch_cuda_available
        ]
        torch = f"{system.torch_version} ({cuda})"
    card.add_row("PyTorch", torch, _src(system.sources, "torch_version"))
    if system.torch_cuda_version:
        card.add_row("PyTorch CUDA", system.torch_cuda_version,
                     _src(system.sources, "torch_cuda_version"))
    return card


class ThisPcPage(QWidget):
    """Cards for CPU, memory, each GPU, each disk and the software, plus detection warnings."""

    redetect_requested = Signal()

    def __init__(self, context: AppContext) -> None:
        super().__init__()
        self.context = context
        self.cards: list[Card] = []
        #: Whether the profile shown is this PC's (its GPUs are read live).
        self.this_pc = False
        #: Per discrete GPU: its "Drives a display" and "Programs on it" value labels.
        self.memory_labels: list[tuple[QLabel, QLabel]] = []
        self._read_at = 0.0
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 18, 24, 12)
        header = QHBoxLayout()
        self.title = page_title("This PC")
        header.addWidget(self.title)
        header.addStretch(1)
        self.redetect_button = QPushButton("Detect again")
        self.redetect_button.clicked.connect(self.redetect_requested)
        header.addWidget(self.redetect_button)
        layout.addLayout(header)
        self.summary = QLabel("Detecting hardware…")
        self.summary.setWordWrap(True)  # a long "Loaded from PATH" was cut at 1024x640
        self.summary.setStyleSheet(f"color: {MUTED[current_theme()]};")
        layout.addWidget(self.summary)
        self.warnings = QLabel()
        self.warnings.setWordWrap(True)
        self.warnings.setTextFormat(Qt.TextFormat.PlainText)
        self.warnings.setVisible(False)
        layout.addWidget(self.warnings)

        self._grid_host = QWidget()
        self._grid = QGridLayout(self._grid_host)
        self._grid.setContentsMargins(0, 8, 0, 8)
        self._grid.setSpacing(14)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(self._grid_host)
        layout.addWidget(scroll, 1)
        context.profile_changed.connect(self.show_profile)
        if context.profile is not None:
            self.show_profile(context.profile)

    @Slot(object)
    def show_profile(self, profile: RigProfile) -> None:
        """Rebuild the cards for ``profile``."""
        for card in self.cards:
            self._grid.removeWidget(card)
            card.deleteLater()
        self.cards = [cpu_card(profile), memory_card(profile)]
        self.this_pc = is_this_pc(profile)
        uses = iter(self._memory_use(profile))
        self.memory_labels = []
        for g in profile.gpus:
            card = gpu_card(g)
            if not g.integrated:
                use = next(uses, None)
                if use is not None:
                    self.memory_labels.append(add_memory_rows(card, use))
            self.cards.append(card)
        self.cards += [disk_card(d) for d in profile.storage]
        self.cards.append(software_card(profile))
        columns = 2
        for i, card in enumerate(self.cards):
            self._grid.addWidget(card, i // columns, i % columns)
        origin = (
            "Detected live" if profile.origin == "detected" else f"Loaded from {profile.origin}"
        )
        gpu_text = f"{len(profile.gpus)} GPU" + ("" if len(profile.gpus) == 1 else "s")
        host = profile.system.hostname or "this PC"
        self.summary.setText(f"{host} · {gpu_text} · {len(profile.storage)} disk(s) · {origin}"
                             " · hover a value to see where it came from")
        if profile.warnings:
            self.warnings.setText("⚠ " + "\n⚠ ".join(profile.warnings))
            self.warnings.setStyleSheet(
                f"color: {WARN[current_theme()]}; border: 1px solid {WARN[current_theme()]};"
                " border-radius: 6px; padding: 8px;"
            )
            self.warnings.setVisible(True)
        else:
            self.warnings.setVisible(False)

    def _memory_use(self, profile: RigProfile) -> tuple[GpuMemoryUse, ...]:
        self._read_at = time.monotonic()
        return gpu_memory_use(profile, this_pc=self.this_pc)

    def refresh_memory_use(self) -> None:
        """Read the programs on this PC's GPUs again (they come and go)."""
        profile = self.context.profile
        if profile is None or not self.this_pc:
            return
        for (shown, held), use in zip(self.memory_labels, self._memory_use(profile),
                                      strict=False):
            shown.setText(display_text(use) or "unknown")
            held.setText(holders_text(use) or "unknown")
            held.setToolTip(use.why)

    def showEvent(self, event: QShowEvent) -> None:
        """Coming back to the page shows the programs on the GPUs as they are now."""
        super().showEvent(event)
        if time.monotonic() - self._read_at >= REREAD_S:
            self.refresh_memory_use()
