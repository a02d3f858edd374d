"""The events one sampler tick tells, besides alerts: a provider read with exponential backoff
while it fails (logged once, stored as a ``gap`` event, then a ``recovered`` one) and switched off
after an unexpected error; the ``gap`` of a tick that comes too late (the process was paused or
the machine slept); throttle episodes starting and ending. Used by
:class:`rigready.monitor.sampler.Sampler`."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from rigready.monitor.providers.base import Provider, ProviderError, Reading
from rigready.monitor.sample import Sample
from rigready.monitor.store_session import STALL_EVENT
from rigready.monitor.throttle import ThrottleLog

# the sampler's logger: these lines are the sampler's to the user
log = logging.getLogger("rigready.monitor.sampler")

MAX_BACKOFF_S = 60.0

#: An event of one tick: (kind, name, GPU index, message, value, state).
TickEvent = tuple[str, str, int | None, str, float | None, str]


@dataclass(slots=True)
class ProviderPoll:
    """One provider and its failure state (backoff, since when, switched off)."""

    provider: Provider
    failures: int = 0
    retry_at: float = 0.0
    failed_since: float | None = None
    off: bool = False

    def read(self, now: float, mono: float, interval_s: float,
             events: list[TickEvent]) -> Reading | None:
        """The provider's reading, or None while it is off or backing off (appending the
        ``gap``/``recovered`` events of a change to ``events``)."""
        name = self.provider.name
        if self.off or mono < self.retry_at:
            return None
        try:
            reading = self.provider.read()
        except ProviderError as exc:
            self.failures += 1
            delay = min(MAX_BACKOFF_S, max(1.0, interval_s) * 2 ** (self.failures - 1))
            self.retry_at = mono + delay
            if self.failed_since is None:
                self.failed_since = now
                log.warning("%s failed: %s; retrying with backoff", name, exc)
                events.append(("gap", name, None, f"{name} failed: {exc}", None, "raised"))
            else:
                log.debug("%s still failing (%d): %s; next try in %.0f s", name,
                          self.failures, exc, delay)
            return None
        except Exception as exc:
            self.off = True
            log.exception("%s raised an unexpected error and was switched off", name)
            events.append(("gap", name, None, f"{name} switched off after an unexpected "
                                              f"error: {exc!r}", None, "raised"))
            return None
        if self.failed_since is not None:
            gap = now - self.failed_since
            log.info("%s recovered after %.1f s", name, gap)
            events.append(("recovered", name, None, f"{name} back after {gap:.1f} s", gap,
                           "cleared"))
            self.failed_since = None
            self.failures = 0
        return reading


def stall_gap(last: tuple[float, float] | None, now: float, mono: float,
              interval_s: float) -> list[TickEvent]:
    """A ``gap`` event when this tick (``now``, ``mono``) comes more than two intervals after
    the ``last`` one (the process was stopped by SIGSTOP or Ctrl-Z, the machine slept or
    stalled): the samples that were never taken are counted, not silently missing."""
    if last is None:
        return []
    elapsed = max(mono - last[1], now - last[0])
    if elapsed <= 2 * interval_s:
        return []
    missed = max(1, round(elapsed / interval_s) - 1)
    message = (f"no samples for {elapsed:.1f} s (about {missed} missed at one every "
               f"{interval_s:g} s): the monitor was paused (SIGSTOP, Ctrl-Z), the "
               "computer slept or the system stalled")
    log.warning("%s", message)
    return [("gap", STALL_EVENT, None, message, elapsed, "")]


def throttle_events(throttle: ThrottleLog, sample: Sample) -> list[TickEvent]:
    """The throttle episodes that start or end with ``sample`` (``throttle`` keeps them)."""
    out: list[TickEvent] = []
    for gpu in sample.gpus:
        for change in throttle.update(sample.time, gpu.index, gpu.throttle_reasons):
            out.append(("throttle", change.reason, gpu.index, change.message,
                        change.duration_s, change.state))
    return out
