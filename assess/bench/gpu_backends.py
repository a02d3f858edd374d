"""The GPU libraries a GEMM benchmark can drive: PyTorch first, else CuPy.

A backend allocates random operands (several pairs, used in rotation so a product never finds its
inputs in the L2 cache), runs a batch of products with a device event pair around each one,
waits for the last event and returns each product's time. Torch and CuPy are imported inside
functions only, so importing this module costs nothing on a machine without them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Protocol

#: Bytes per element of each dtype's operands.
ITEMSIZE = {"fp32": 4, "tf32": 4, "fp16": 2, "bf16": 2, "int8": 1}
#: Minimum compute capability for each dtype to be measured (tensor-core paths).
MIN_CAPABILITY = {"fp32": (3, 0), "tf32": (8, 0), "fp16": (5, 3), "bf16": (8, 0), "int8": (7, 5)}


class BackendUnavailable(Exception):
    """No usable GPU library or device; the message says what to install or fix."""


@dataclass(frozen=True, slots=True)
class GpuDevice:
    """The device a backend runs on, as the library reports it."""

    name: str
    index: int
    compute_capability: str | None
    vram_bytes: int | None
    free_bytes: int | None
    uuid: str | None = None
    pci_bus_id: str | None = None
    library: str = ""


class GemmBackend(Protocol):
    """What the GEMM runner needs from a GPU library."""

    def device(self) -> GpuDevice:
        """The device products run on."""
        ...

    def unsupported_reason(self, dtype: str) -> str | None:
        """Why ``dtype`` cannot be measured here, or None when it can."""
        ...

    def prepare(self, dtype: str, n: int, pairs: int) -> None:
        """Allocate ``pairs`` random n x n operand pairs of ``dtype`` (and set TF32 on/off)."""
        ...

    def run_batch(self, count: int) -> list[float]:
        """Run ``count`` products, rotating pairs; each product's seconds (device events)."""
        ...

    def release(self) -> None:
        """Free the operands."""
        ...

    def close(self) -> None:
        """Restore every library setting changed (TF32) and free memory."""
        ...


def capability_reason(dtype: str, capability: tuple[int, int] | None) -> str | None:
    """Why a card of ``capability`` cannot run ``dtype`` usefully, or None."""
    if dtype not in MIN_CAPABILITY:
        return f"unknown dtype {dtype!r}"
    if capability is None:
        return None
    need = MIN_CAPABILITY[dtype]
    if capability < need:
        return (f"needs compute capability {need[0]}.{need[1]} or newer, "
                f"this card has {capability[0]}.{capability[1]}")
    return None


def rotation_pairs(n: int, itemsize: int, free_bytes: int | None, target_bytes: int = 512 << 20
                   ) -> int:
    """How many operand pairs to rotate: enough to exceed any L2, within half the free memory.

    Returns 0 when not even one pair (plus an output) fits.
    """
    pair = 2 * n * n * itemsize
    wanted = min(8, max(2, math.ceil(target_bytes / pair)))
    if free_bytes is None:
        return wanted
    budget = free_bytes // 2 - n * n * 4  # keep room for the (up to 4-byte) output
    return max(0, min(wanted, budget // pair))


class TorchBackend:
    """PyTorch on CUDA (or ROCm, which torch exposes through the same ``torch.cuda`` API)."""

    def __init__(self, index: int = 0) -> None:
        try:
            import torch
        except ImportError as exc:
            raise BackendUnavailable("install PyTorch to measure the GPU") from exc
        if not torch.cuda.is_available():
            raise BackendUnavailable(
                f"PyTorch {torch.__version__} is installed but sees no CUDA GPU "
                "(a CPU-only build, or a driver problem): install the CUDA build of PyTorch")
        self._torch = torch
        self._index = index
        self._dev = torch.device("cuda", index)
        self._saved = self._tf32_state()
        self._pairs: list[tuple[Any, Any]] = []
        self._dtype = "fp32"
        self._next = 0

    def device(self) -> GpuDevice:
        """Name, capability, memory, UUID and PCI id of the torch device."""
        torch = self._torch
        props = torch.cuda.get_device_properties(self._index)
        free, total = torch.cuda.mem_get_info(self._index)
        uuid = getattr(props, "uuid", None)
        pci = None
        if hasattr(props, "pci_bus_id"):
            pci = (f"{getattr(props, 'pci_domain_id', 0):08X}:{props.pci_bus_id:02X}:"
                   f"{getattr(props, 'pci_device_id', 0):02X}.0")
        cuda = getattr(torch.version, "cuda", None) or getattr(torch.version, "hip", None)
        return GpuDevice(
            name=str(props.name), index=self._index,
            compute_capability=f"{props.major}.{props.minor}",
            vram_bytes=int(total), free_bytes=int(free),
            uuid=str(uuid) if uuid is not None else None, pci_bus_id=pci,
            library=f"torch {torch.__version__}" + (f" (CUDA {cuda})" if cuda else ""),
        )

    def unsupported_reason(self, dtype: str) -> str | None:
        """Capability rules, plus ``torch._int_mm`` having to exist for int8."""
        cap = tuple(self._torch.cuda.get_device_capability(self._index))
        reason = capability_reason(dtype, (int(cap[0]), int(cap[1])))
        if reason is None and dtype == "int8" and not hasattr(self._torch, "_int_mm"):
            reason = "this PyTorch has no torch._int_mm"
        return reason

    def _tf32_state(self) -> tuple[str, Any]:
        matmul = self._torch.backends.cuda.matmul
        if hasattr(matmul, "fp32_precision"):
            return "fp32_precision", matmul.fp32_precision
        return "allow_tf32", matmul.allow_tf32

    def _set_tf32(self, on: bool) -> None:
        matmul = self._torch.backends.cuda.matmul
        kind, _ = self._saved
        if kind == "fp32_precision":
            matmul.fp32_precision = "tf32" if on else "ieee"
        else:
            matmul.allow_tf32 = on

    def prepare(self, dtype: str, n: int, pairs: int) -> None:
        """Random normal operands (uniform random int8 in [-128, 126] for int8)."""
        torch = self._torch
        self.release()
        self._dtype = dtype
        if dtype in ("fp32", "tf32"):
            self._set_tf32(dtype == "tf32")
        kind = {"fp32": torch.float32, "tf32": torch.float32, "fp16": torch.float16,
                "bf16": torch.bfloat16}.get(dtype)
        for _ in range(pairs):
            if dtype == "int8":
                # cuBLAS's fast int8 kernels want B column-major ("TN"), the layout of a Linear
                # layer's weight as torch._int_mm(x, w.t()) uses it; row-major B measured ~10x
                # slower on an H200 (tests/data/bench).
                a = torch.randint(-128, 127, (n, n), dtype=torch.int8, device=self._dev)
                b = torch.randint(-128, 127, (n, n), dtype=torch.int8, device=self._dev).t()
            else:
                a = torch.randn((n, n), dtype=kind, device=self._dev)
                b = torch.randn((n, n), dtype=kind, device=self._dev)
            self._pairs.append((a, b))
        torch.cuda.synchronize(self._dev)

    def run_batch(self, count: int) -> list[float]:
        """``count`` products, each between its own pair of CUDA events."""
        torch = self._torch
        mm = torch._int_mm if self._dtype == "int8" else torch.mm
        events = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True))
                  for _ in range(count)]
        with torch.cuda.device(self._dev):
            for start, end in events:
                a, b = self._pairs[self._next % len(self._pairs)]
                self._next += 1
                start.record()
                mm(a, b)
                end.record()
            events[-1][1].synchronize()
        return [start.elapsed_time(end) / 1000.0 for start, end in events]

    def release(self) -> None:
        """Drop the operands and return cached blocks to the driver."""
        self._pairs.clear()
        self._torch.cuda.empty_cache()

    def close(self) -> None:
        """Free operands and restore the TF32 setting found at start."""
        self.release()
        kind, value = self._saved
        setattr(self._torch.backends.cuda.matmul, kind, value)


class CupyBackend:
    """CuPy fallback: fp32 and fp16 only (no bf16 dtype, no per-call TF32 switch)."""

    def __init__(self, index: int = 0) -> None:
        try:
            import cupy
        except ImportError as exc:
            raise BackendUnavailable("install PyTorch to measure the GPU") from exc
        try:
            cupy.cuda.runtime.getDeviceCount()
        except Exception as exc:
            raise BackendUnavailable(f"CuPy sees no CUDA GPU ({exc})") from exc
        self._cp = cupy
        self._index = index
        self._pairs: list[tuple[Any, Any]] = []
        self._next = 0

    def device(self) -> GpuDevice:
        """Name, capability and memory of the CuPy device."""
        cp = self._cp
        with cp.cuda.Device(self._index) as dev:
            props = cp.cuda.runtime.getDeviceProperties(self._index)
            free, total = cp.cuda.runtime.memGetInfo()
            cc = str(dev.compute_capability)
        name = props.get("name", b"GPU")
        return GpuDevice(
            name=name.decode() if isinstance(name, bytes) else str(name), index=self._index,
            compute_capability=f"{cc[:-1]}.{cc[-1]}" if len(cc) >= 2 else None,
            vram_bytes=int(total), free_bytes=int(free), library=f"cupy {cp.__version__}",
        )

    def unsupported_reason(self, dtype: str) -> str | None:
        """Only fp32 and fp16 are measured through CuPy."""
        if dtype not in ("fp32", "fp16"):
            return "CuPy path measures fp32 and fp16 only; install PyTorch for tf32/bf16/int8"
        cc = self.device().compute_capability
        major, minor = (int(x) for x in cc.split(".")) if cc else (None, None)
        return capability_reason(dtype, (major, minor) if major is not None and minor is not None
                                 else None)

    def prepare(self, dtype: str, n: int, pairs: int) -> None:
        """Random normal operands on the device."""
        cp = self._cp
        self.release()
        kind = cp.float16 if dtype == "fp16" else cp.float32
        with cp.cuda.Device(self._index):
            for _ in range(pairs):
                a = cp.random.standard_normal((n, n), dtype=cp.float32).astype(kind)
                b = cp.random.standard_normal((n, n), dtype=cp.float32).astype(kind)
                self._pairs.append((a, b))
            cp.cuda.Device(self._index).synchronize()

    def run_batch(self, count: int) -> list[float]:
        """``count`` products between CUDA event pairs."""
        cp = self._cp
        events = [(cp.cuda.Event(), cp.cuda.Event()) for _ in range(count)]
        with cp.cuda.Device(self._index):
            for start, end in events:
                a, b = self._pairs[self._next % len(self._pairs)]
                self._next += 1
                start.record()
                cp.matmul(a, b)
                end.record()
            events[-1][1].synchronize()
        return [cp.cuda.get_elapsed_time(s, e) / 1000.0 for s, e in events]

    def release(self) -> None:
        """Drop the operands and free the memory pool."""
        self._pairs.clear()
        self._cp.get_default_memory_pool().free_all_blocks()

    def close(self) -> None:
        """Free operands."""
        self.release()


def open_backend(index: int = 0) -> GemmBackend:
    """PyTorch when installed, else CuPy.

    Raises:
        BackendUnavailable: neither can run here; the message says what to install or fix.
    """
    try:
        return TorchBackend(index)
    except BackendUnavailable as torch_problem:
        try:
            import cupy  # noqa: F401
        except ImportError:
            raise torch_problem from None
        return CupyBackend(index)
