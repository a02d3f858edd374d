"""Throttle (clock-event) episodes per GPU and reason, with a hold time before "ended".

Under a steady training load a power-capped GPU flips ``sw_power_cap`` on and off every second or
two (seen on an H100 at 650-670 W of 700 W). Logging every flip floods the event list, so a
reason *starts* the first time it is seen and *ends* only after it has been absent for
``clear_after_s``; the end event says how long the episode lasted and in how many of its samples
the reason was actually active. ``gpu_idle`` is ignored: it only says the GPU has no work.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True, slots=True)
class ThrottleChange:
    """A throttle reason starting ("raised") or ending ("cleared") on one GPU."""

    time: float
    gpu: int
    reason: str
    state: Literal["raised", "cleared"]
    message: str
    #: Episode length in seconds (on "cleared").
    duration_s: float | None = None


@dataclass(slots=True)
class _Episode:
    started: float
    last_seen: float
    samples: int = 0
    active_samples: int = 0


@dataclass(slots=True)
class ThrottleLog:
    """Feed it samples' throttle reasons in time order; it returns episode starts and ends."""

    clear_after_s: float = 10.0
    ignore: frozenset[str] = frozenset({"gpu_idle"})
    _open: dict[tuple[int, str], _Episode] = field(default_factory=dict)

    def reset(self) -> None:
        """Forget open episodes (a new session)."""
        self._open.clear()

    def update(self, time: float, gpu: int,
               reasons: tuple[str, ...] | None) -> list[ThrottleChange]:
        """Judge one GPU's reasons at ``time``; None (unreadable) changes nothing."""
        if reasons is None:
            return []
        current = {r for r in reasons if r not in self.ignore}
        out: list[ThrottleChange] = []
        for reason in sorted(current):
            episode = self._open.get((gpu, reason))
            if episode is None:
                self._open[(gpu, reason)] = _Episode(time, time)
                out.append(ThrottleChange(time, gpu, reason, "raised",
                                          f"GPU {gpu} throttling: {reason}"))
            else:
                episode.last_seen = time
        for (index, reason), episode in list(self._open.items()):
            if index != gpu:
                continue
            episode.samples += 1
            if reason in current:
                episode.active_samples += 1
            elif time - episode.last_seen >= self.clear_after_s:
                del self._open[(index, reason)]
                length = episode.last_seen - episode.started
                out.append(ThrottleChange(
                    time, gpu, reason, "cleared",
                    f"GPU {gpu} {reason} ended after {length:.0f} s (active in "
                    f"{episode.active_samples} of {episode.samples} samples)", length))
        return out

    def close(self, time: float) -> list[ThrottleChange]:
        """End every open episode (the session stops); returns their "cleared" changes."""
        out = []
        for (gpu, reason), episode in sorted(self._open.items()):
            length = episode.last_seen - episode.started
            out.append(ThrottleChange(
                time, gpu, reason, "cleared",
                f"GPU {gpu} {reason} still active when the session ended ({length:.0f} s, "
                f"active in {episode.active_samples} of {episode.samples} samples)", length))
        self._open.clear()
        return out

    def open_reasons(self, gpu: int) -> tuple[str, ...]:
        """Reasons with an open episode on ``gpu``."""
        return tuple(sorted(r for (i, r) in self._open if i == gpu))
