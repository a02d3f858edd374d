"""The doors to the GPUs: one module per vendor behind one small interface.

``rigready.gpu`` sits below ``assess`` and ``monitor`` (both read GPUs, neither may import the
other) and imports no other rigready package. :mod:`rigready.gpu.nvml` is the only module of
rigready that imports ``pynvml``; :mod:`rigready.gpu.amd_sysfs` reads amdgpu's sysfs files.
Both implement :class:`~rigready.gpu.vendor.GpuDoor`; their results are the frozen dataclasses
of :mod:`rigready.gpu.types`, with None and a reason for whatever could not be read.
:mod:`rigready.gpu.throttle` is the one table of NVIDIA clock-event (throttle) reasons.
"""

from __future__ import annotations

from rigready.gpu.types import (
    DEFAULT_GROUPS,
    SAMPLE_FIELDS,
    DisplayState,
    GpuDevice,
    GpuFacts,
    GpuProcessUse,
    GpuReading,
    ProcessList,
    Unknown,
)
from rigready.gpu.vendor import GpuDoor, VendorUnavailable, find_device

__all__ = [
    "DEFAULT_GROUPS",
    "SAMPLE_FIELDS",
    "DisplayState",
    "GpuDevice",
    "GpuDoor",
    "GpuFacts",
    "GpuProcessUse",
    "GpuReading",
    "ProcessList",
    "Unknown",
    "VendorUnavailable",
    "find_device",
]
