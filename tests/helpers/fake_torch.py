"""A tiny stand-in for ``torch`` with a simulated CUDA device, for GEMM benchmark tests.

Products take simulated device time (2n^3 / rate per dtype) on a queue that runs ahead of the
host, like a real stream: ``Event.record`` stamps the queue's time, ``Event.synchronize`` sleeps
until the host clock reaches it. Only what ``rigready.assess.bench.gpu_backends.TorchBackend`` and
``benchmarks/gpu_gemm_proof.py`` call is here.
"""

from __future__ import annotations

import time
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

GIB = 1024**3


@dataclass
class FakeTensor:
    shape: tuple[int, ...]
    dtype: str
    transposed: bool = False

    def t(self) -> FakeTensor:
        return FakeTensor(self.shape[::-1], self.dtype, not self.transposed)


@dataclass
class FakeGpu:
    """Simulated device state shared by the fake module's functions."""

    rates_tflops: dict[str, float]
    clock: Callable[[], float] = time.perf_counter
    queue_t: float = 0.0
    products: list[tuple[str, int]] = field(default_factory=list)
    precision_log: list[str] = field(default_factory=list)
    int8_b_column_major: list[bool] = field(default_factory=list)
    allocated: int = 0

    def enqueue(self, a: FakeTensor, b: FakeTensor) -> FakeTensor:
        dtype = a.dtype
        if dtype == "float32":
            key = "tf32" if self.precision_log and self.precision_log[-1] == "tf32" else "fp32"
        else:
            key = {"float16": "fp16", "bfloat16": "bf16", "int8": "int8"}[dtype]
        n = a.shape[0]
        seconds = 2.0 * n**3 / (self.rates_tflops[key] * 1e12)
        self.queue_t = max(self.queue_t, self.clock()) + seconds
        self.products.append((key, n))
        return FakeTensor((n, b.shape[1]), "int32" if dtype == "int8" else dtype)


def make_fake_torch(rates_tflops: dict[str, float] | None = None, capability: tuple[int, int] =
                    (9, 0), vram_gib: float = 80.0, cuda: bool = True,
                    legacy_tf32: bool = False) -> tuple[types.ModuleType, FakeGpu]:
    """A module object to put in ``sys.modules['torch']``, and its simulated GPU."""
    gpu = FakeGpu(rates_tflops or {"fp32": 50.0, "tf32": 380.0, "fp16": 720.0, "bf16": 750.0,
                                   "int8": 1300.0})
    torch = types.ModuleType("torch")
    torch.__version__ = "2.11.0+fake"  # type: ignore[attr-defined]
    torch.version = types.SimpleNamespace(cuda="13.0", hip=None)  # type: ignore[attr-defined]
    for name in ("float32", "float16", "bfloat16", "int8", "int32"):
        setattr(torch, name, name)

    class Matmul:
        def __init__(self) -> None:
            self._p = "ieee"
            self._allow = False

        @property
        def fp32_precision(self) -> str:
            return self._p

        @fp32_precision.setter
        def fp32_precision(self, value: str) -> None:
            assert value in ("ieee", "tf32", "none"), value
            self._p = value
            gpu.precision_log.append(value)

        @property
        def allow_tf32(self) -> bool:
            return self._allow

        @allow_tf32.setter
        def allow_tf32(self, value: bool) -> None:
            self._allow = value
            gpu.precision_log.append("tf32" if value else "ieee")

    matmul: Any = Matmul()
    if legacy_tf32:
        del type(matmul).fp32_precision
    torch.backends = types.SimpleNamespace(  # type: ignore[attr-defined]
        cuda=types.SimpleNamespace(matmul=matmul))

    class Event:
        def __init__(self, enable_timing: bool = False) -> None:
            self.t: float | None = None

        def record(self) -> None:
            self.t = max(gpu.queue_t, gpu.clock())

        def synchronize(self) -> None:
            assert self.t is not None
            delay = self.t - gpu.clock()
            if delay > 0:
                time.sleep(delay)

        def elapsed_time(self, other: Event) -> float:
            assert self.t is not None and other.t is not None
            return (other.t - self.t) * 1000.0

    class DeviceCtx:
        def __init__(self, dev: object) -> None:
            self.dev = dev

        def __enter__(self) -> None:
            return None

        def __exit__(self, *exc: object) -> None:
            return None

    props = types.SimpleNamespace(name="Fake H200", major=capability[0], minor=capability[1],
                                  uuid="1234abcd-0000-1111-2222-333344445555", pci_bus_id=0x19,
                                  pci_domain_id=0, pci_device_id=0,
                                  total_memory=int(vram_gib * GIB))

    def sync(device: object = None) -> None:
        delay = gpu.queue_t - gpu.clock()
        if delay > 0:
            time.sleep(delay)

    torch.cuda = types.SimpleNamespace(  # type: ignore[attr-defined]
        is_available=lambda: cuda,
        init=lambda: None,
        get_device_properties=lambda i: props,
        get_device_name=lambda i=0: props.name,
        get_device_capability=lambda i=0: capability,
        mem_get_info=lambda i=0: (int(vram_gib * GIB * 0.95) - gpu.allocated,
                                  int(vram_gib * GIB)),
        Event=Event, device=DeviceCtx, synchronize=sync, empty_cache=lambda: None,
    )
    torch.device = lambda kind, index=0: (kind, index)  # type: ignore[attr-defined]

    def _shape(args: tuple[Any, ...]) -> tuple[int, ...]:
        return tuple(args[0]) if len(args) == 1 and isinstance(args[0], tuple) else tuple(args)

    def randn(*args: Any, dtype: str = "float32", device: object = None) -> FakeTensor:
        return FakeTensor(_shape(args), dtype)

    def randint(low: int, high: int, size: tuple[int, ...], dtype: str = "int64",
                device: object = None) -> FakeTensor:
        assert -128 <= low < high <= 128
        return FakeTensor(tuple(size), dtype)

    def mm(a: FakeTensor, b: FakeTensor) -> FakeTensor:
        assert a.dtype == b.dtype and a.dtype != "int8"
        return gpu.enqueue(a, b)

    def int_mm(a: FakeTensor, b: FakeTensor) -> FakeTensor:
        assert a.dtype == b.dtype == "int8"
        gpu.int8_b_column_major.append(b.transposed)
        return gpu.enqueue(a, b)

    torch.randn = randn  # type: ignore[attr-defined]
    torch.randint = randint  # type: ignore[attr-defined]
    torch.zeros = randn  # type: ignore[attr-defined]
    torch.mm = mm  # type: ignore[attr-defined]
    torch._int_mm = int_mm  # type: ignore[attr-defined]
    return torch, gpu
