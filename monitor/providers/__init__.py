"""Sampling providers (GPUs through rigready.gpu's doors, psutil host, fakes): one Protocol."""

from __future__ import annotations

import logging
import os

from rigready.monitor.providers.base import (
    Provider,
    ProviderError,
    ProviderUnavailable,
    Reading,
)

__all__ = [
    "FAKE_PROVIDER_ENV",
    "Provider",
    "ProviderError",
    "ProviderUnavailable",
    "Reading",
    "default_providers",
]

log = logging.getLogger("rigready.monitor.providers")

#: Test-only switch: when set to "1", :func:`default_providers` returns the synthetic
#: :class:`~monitor.providers.fake.FakeProvider` instead of touching real hardware.
FAKE_PROVIDER_ENV = "RIGREADY_FAKE_PROVIDER"


def default_providers(*, pcie: bool = False) -> tuple[list[Provider], list[str]]:
    """The providers that work on this machine, and a line for each source that was skipped.

    Host (psutil) always; then each GPU door of :mod:`rigready.gpu` that finds a GPU: NVIDIA
    through the process's NVML door, AMD through amdgpu sysfs (numbered after the NVIDIA GPUs).

    Args:
        pcie: Ask NVML for PCIe throughput on a background thread.
    """
    if os.environ.get(FAKE_PROVIDER_ENV) == "1":
        from rigready.monitor.providers.fake import FakeProvider

        return [FakeProvider(gpus=int(os.environ.get("RIGREADY_FAKE_GPUS", "1")))], [
            f"real hardware ({FAKE_PROVIDER_ENV}=1: synthetic readings, test-only)"
        ]
    from rigready.gpu.amd_sysfs import AmdSysfs
    from rigready.gpu.nvml import nvml_door
    from rigready.monitor.providers.gpu import GpuProvider
    from rigready.monitor.providers.host import HostProvider

    providers: list[Provider] = [HostProvider()]
    skipped: list[str] = []
    nvidia_count = 0
    try:
        nvml = GpuProvider(nvml_door(), pcie=pcie)
        nvidia_count = len(nvml.disabled_fields())
        providers.append(nvml)
    except ProviderError as exc:
        skipped.append(f"NVIDIA: {exc}")
    try:
        providers.append(GpuProvider(AmdSysfs(), first_index=nvidia_count))
    except ProviderError as exc:
        skipped.append(f"AMD: {exc}")
    for line in skipped:
        log.info("provider skipped: %s", line)
    return providers, skipped
