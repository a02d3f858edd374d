"""A stable fingerprint of the machine a benchmark ran on, to group results by machine.

It hashes what identifies the hardware to a person (CPU model, GPU UUIDs or, failing those,
names) plus the hostname. It is not a secret and not meant to be one: it only lets the history
tell "this PC" from a saved result of another machine.
"""

from __future__ import annotations

import hashlib
import socket
from collections.abc import Iterable

from rigready.assess.hardware import RigProfile
from rigready.gpu.nvml import nvml_door
from rigready.gpu.vendor import GpuDoor


def machine_fingerprint(cpu_model: str | None, gpu_ids: Iterable[str], hostname: str | None
                        ) -> str:
    """16 hex digits of SHA-256 over the CPU model, the sorted GPU ids and the hostname.

    The order of GPUs does not matter; surrounding white space, letter case and NVML's ``GPU-``
    UUID prefix (which PyTorch leaves out) do not either.
    """
    ids = sorted(_norm_id(g) for g in gpu_ids if g and g.strip())
    parts = [
        "cpu=" + (cpu_model or "").strip().lower(),
        "gpus=" + ",".join(ids),
        "host=" + (hostname or "").strip().lower(),
    ]
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()[:16]


def _norm_id(gpu_id: str) -> str:
    text = gpu_id.strip().lower()
    return text[4:] if text.startswith("gpu-") else text


def profile_fingerprint(profile: RigProfile) -> str:
    """The fingerprint of a detected (or loaded) rig: GPU UUIDs where known, else names."""
    gpu_ids = [g.uuid or g.name for g in profile.gpus]
    return machine_fingerprint(profile.cpu.model, gpu_ids, profile.system.hostname)


def _cpu_model_from_proc(text: str) -> str | None:
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("model name", "Model", "Hardware", "cpu model") and value.strip():
            return value.strip()
    return None


def current_fingerprint() -> str:
    """The fingerprint of this machine, read cheaply (``/proc/cpuinfo``, NVML UUIDs, hostname).

    Used when no detected profile is at hand; it agrees with :func:`profile_fingerprint` when
    detection read the same CPU model and GPU UUIDs.
    """
    cpu: str | None = None
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            cpu = _cpu_model_from_proc(handle.read())
    except OSError:
        import platform

        cpu = platform.processor() or None
    return machine_fingerprint(cpu, _nvml_gpu_ids(), socket.gethostname())


def _nvml_gpu_ids(door: GpuDoor | None = None) -> list[str]:
    """UUIDs of the GPUs NVML sees (the process's NVML door unless ``door`` is given)."""
    door = door or nvml_door()
    return [f.uuid for f in (door.facts(d) for d in door.devices()) if f.uuid]
