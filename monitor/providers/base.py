"""The one interface every sampling provider implements, and what it returns.

A provider reads one source (NVML, amdgpu sysfs, psutil, a fake) and returns a :class:`Reading`.
Fields it cannot read are ``None``; a field that turns out unsupported is switched off and named
once in :meth:`Provider.notes`. When the whole source fails (GPU lost, driver reloaded, NVML
broken) ``read`` raises :class:`ProviderError`; the sampler records a gap, backs off and calls
``read`` again later, and the provider re-initialises itself on that call.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from rigready.monitor.sample import GpuSample, HostSample

log = logging.getLogger("rigready.monitor.providers")


class ProviderError(Exception):
    """The source as a whole could not be read this time (try again later)."""


class ProviderUnavailable(ProviderError):
    """The source does not exist on this machine (no driver, no library, no card)."""


@dataclass(frozen=True, slots=True)
class Reading:
    """What one provider read at one tick: host facts, GPU facts, or both."""

    host: HostSample | None = None
    gpus: tuple[GpuSample, ...] = ()


@runtime_checkable
class Provider(Protocol):
    """A source of readings. Implementations must be cheap to call at 1 Hz."""

    @property
    def name(self) -> str:
        """Short name used in logs and gap events ("nvml", "amdgpu", "host", "fake")."""
        ...

    def read(self) -> Reading:
        """Read every enabled field now.

        Raises:
            ProviderError: The source failed as a whole; the caller retries later.
        """
        ...

    def notes(self) -> tuple[str, ...]:
        """Human-readable lines about switched-off fields ("fan speed: not supported on GPU 0")."""
        ...

    def close(self) -> None:
        """Release the source (NVML handles, open files). Safe to call twice."""
        ...


class NoteLog:
    """Collects "logged once" notes: each distinct message is logged and kept exactly once."""

    def __init__(self, source: str) -> None:
        self._source = source
        self._notes: list[str] = []
        self._seen: set[str] = set()

    def add(self, message: str, level: int = logging.INFO) -> bool:
        """Record ``message`` unless already recorded; returns whether it was new."""
        if message in self._seen:
            return False
        self._seen.add(message)
        self._notes.append(message)
        log.log(level, "%s: %s", self._source, message)
        return True

    def all(self) -> tuple[str, ...]:
        """Every note so far, oldest first."""
        return tuple(self._notes)
