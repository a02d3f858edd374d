"""Catalog entries for the parts of a PC: GPUs, CPUs, RAM kits, drives and power supplies
(re-exported by :mod:`rigready.catalog.schema`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from rigready.catalog.schema_types import (
    PCIE_RANGE,
    YEAR_RANGE,
    AtxVersion,
    CpuVendorName,
    DdrType,
    DriveKind,
    GpuSegment,
    GpuVendorName,
    ModuleFormFactor,
    PowerConnector,
    PriceKind,
    bounded,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class GpuEntry:
    """A graphics card or accelerator (``[[gpu]]`` in gpus.toml)."""

    id: str
    name: str
    vendor: GpuVendorName
    segment: GpuSegment
    match: tuple[str, ...]
    #: Other names people type for it (the name resolver finds the entry by them too).
    aliases: tuple[str, ...] = ()
    vram_gib: float
    memory_type: str | None = None
    memory_bandwidth_gb_s: float
    fp32_tflops: float
    tf32_tflops: float | None = None
    fp16_tflops: float | None = None
    bf16_tflops: float | None = None
    int8_tops: float | None = None
    tgp_w: float
    power_connectors: tuple[PowerConnector, ...]
    recommended_psu_w: float | None = None
    pcie_gen: int = bounded(*PCIE_RANGE)
    pcie_lanes: int | None = bounded(1, 16, default=None)
    compute_capability: str | None = None
    length_mm: float | None = None
    launch_year: int = bounded(*YEAR_RANGE)
    launch_price_usd: float | None = None
    street_price_usd: float | None = None
    price_date: date | None = None
    price_source: str | None = None
    #: What the price is; omitted: derived (GPU street/launch, cloud on-demand/spot, else street).
    price_kind: PriceKind | None = None
    #: ISO 4217 code of the figure as published; not USD: ``price_amount`` holds it and the
    #: loader converts it to USD with the catalog's dated exchange rate.
    price_currency: str = "USD"
    price_amount: float | None = None
    price_note: str | None = None
    #: A used-market price beside the new one (plans offer both, the used one labelled so),
    #: USD, with its own date and source.
    used_price_usd: float | None = None
    used_price_date: date | None = None
    used_price_source: str | None = None
    spec_source: str

    @property
    def half_tflops(self) -> float:
        """Dense 16-bit throughput with FP32 accumulate: the BF16/FP16 tensor figure.

        Cards without tensor cores (no figure in the catalog) run 16-bit training no faster than
        FP32, so their FP32 figure stands in.
        """
        tensor = [v for v in (self.bf16_tflops, self.fp16_tflops) if v is not None]
        return max(tensor) if tensor else self.fp32_tflops


@dataclass(frozen=True, slots=True, kw_only=True)
class CpuEntry:
    """A desktop or workstation processor (``[[cpu]]`` in cpus.toml)."""

    id: str
    name: str
    vendor: CpuVendorName
    match: tuple[str, ...]
    socket: str
    cores: int
    threads: int
    base_clock_ghz: float
    boost_clock_ghz: float
    l3_cache_mib: float
    tdp_w: float
    memory_types: tuple[DdrType, ...]
    max_memory_gib: float
    pcie_gen: int = bounded(*PCIE_RANGE)
    avx512: bool
    launch_year: int = bounded(*YEAR_RANGE)
    price_usd: float | None = None
    price_date: date | None = None
    price_source: str | None = None
    #: What the price is; omitted: derived (GPU street/launch, cloud on-demand/spot, else street).
    price_kind: PriceKind | None = None
    #: ISO 4217 code of the figure as published; not USD: ``price_amount`` holds it and the
    #: loader converts it to USD with the catalog's dated exchange rate.
    price_currency: str = "USD"
    price_amount: float | None = None
    spec_source: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RamKitEntry:
    """A memory kit as sold (``[[ram_kit]]`` in ram.toml)."""

    id: str
    name: str
    type: DdrType
    form_factor: ModuleFormFactor
    modules: int
    module_gib: float
    speed_mts: int
    price_usd: float
    price_date: date
    price_source: str
    #: What the price is; omitted: derived (GPU street/launch, cloud on-demand/spot, else street).
    price_kind: PriceKind | None = None
    #: ISO 4217 code of the figure as published; not USD: ``price_amount`` holds it and the
    #: loader converts it to USD with the catalog's dated exchange rate.
    price_currency: str = "USD"
    price_amount: float | None = None

    @property
    def total_gib(self) -> float:
        """Capacity of the whole kit."""
        return self.modules * self.module_gib


@dataclass(frozen=True, slots=True, kw_only=True)
class DriveEntry:
    """A storage drive (``[[drive]]`` in storage.toml)."""

    id: str
    name: str
    kind: DriveKind
    capacity_gb: float
    pcie_gen: int | None = bounded(*PCIE_RANGE, default=None)
    seq_read_mb_s: float
    seq_write_mb_s: float
    rnd4k_q1t1_read_mb_s: float | None = None
    price_usd: float
    price_date: date
    price_source: str
    #: What the price is; omitted: derived (GPU street/launch, cloud on-demand/spot, else street).
    price_kind: PriceKind | None = None
    #: ISO 4217 code of the figure as published; not USD: ``price_amount`` holds it and the
    #: loader converts it to USD with the catalog's dated exchange rate.
    price_currency: str = "USD"
    price_amount: float | None = None
    spec_source: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PsuEntry:
    """A power supply (``[[psu]]`` in psus.toml)."""

    id: str
    name: str
    watts: float
    atx_version: AtxVersion
    efficiency: str
    pcie_8pin: int = bounded(0)
    connectors_12v_2x6: int = bounded(0)
    price_usd: float
    price_date: date
    price_source: str
    #: What the price is; omitted: derived (GPU street/launch, cloud on-demand/spot, else street).
    price_kind: PriceKind | None = None
    #: ISO 4217 code of the figure as published; not USD: ``price_amount`` holds it and the
    #: loader converts it to USD with the catalog's dated exchange rate.
    price_currency: str = "USD"
    price_amount: float | None = None
