"""Words and numbers for a training run's views (Qt-free): progress, ETA, loss, learning rate,
throughput, the run's VRAM, its outcome, and the process list of a GPU."""

from __future__ import annotations

import math
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from rigready.desktop.monitoring.text import format_elapsed
from rigready.monitor.sample import GpuProcess
from rigready.monitor.training.tracker import RunSnapshot

GIB = 1024**3
OUTCOME_WORDS = {"running": "running", "finished": "finished", "crashed": "crashed",
                 "killed": "killed", "interrupted": "stopped by the user",
                 "unknown": "ended (no exit status recorded)"}


def _ok(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def count(value: int | None) -> str:
    """``12,345`` or an en dash."""
    return "–" if value is None else f"{value:,}"


def step_text(snap: RunSnapshot) -> str:
    """``1,234 / 5,000`` (``1,234`` without a total; an en dash before the first step)."""
    if snap.step is None:
        return "–"
    return count(snap.step) + (f" / {count(snap.total)}" if snap.total else "")


def percent_text(snap: RunSnapshot) -> str:
    """``24.7 %`` done, or empty without a total."""
    fraction = snap.fraction
    return "" if fraction is None else f"{100 * fraction:.1f} %"


def eta_texts(snap: RunSnapshot) -> tuple[str, str]:
    """(time left, detail): ``1:02:13`` and ``ends 14:32``; the outcome once the run ended."""
    if snap.ended is not None:
        return "done" if snap.outcome == "finished" else "–", OUTCOME_WORDS.get(
            snap.outcome, snap.outcome)
    if snap.eta_s is None or snap.eta_end is None:
        why = "needs a total step count" if not snap.total else "measuring the step rate…"
        return "–", why
    return format_elapsed(snap.eta_s), "ends " + time.strftime(
        "%H:%M", time.localtime(snap.eta_end))


def loss_value(value: float | None) -> str:
    """A loss as people read it: four significant digits, ``nan`` and ``inf`` as such."""
    if value is None:
        return "–"
    if not math.isfinite(value):
        return str(value)
    return f"{value:.4g}"


def loss_texts(snap: RunSnapshot) -> tuple[str, str]:
    """(loss, detail with the eval loss)."""
    if snap.eval_loss is not None:
        return loss_value(snap.loss), f"eval {loss_value(snap.eval_loss)}"
    return loss_value(snap.loss), "training loss"


def epoch_text(snap: RunSnapshot) -> str:
    """``epoch 0.38`` (the Trainer's fractional epoch), or empty."""
    return f"epoch {snap.epoch:.2f}" if _ok(snap.epoch) else ""


def lr_text(value: float | None) -> str:
    """``2.0e-04`` (learning rates span decades), or an en dash."""
    if not _ok(value):
        return "–"
    assert value is not None
    return "0" if value == 0 else f"{value:.1e}"


def rate_value(value: float | None) -> str:
    """A rate with as many digits as it deserves: ``1,234``, ``12.3``, ``1.23``."""
    if not _ok(value):
        return "–"
    assert value is not None
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def throughput_texts(snap: RunSnapshot) -> tuple[str, str]:
    """(value with unit, detail): the run's logged tokens/s or samples/s, else the bar's it/s;
    a slow bar reads in s/it."""
    value, unit = snap.throughput, snap.throughput_unit or f"{snap.unit}/s"
    if not _ok(value):
        return "–", "no rate yet"
    assert value is not None
    if unit.endswith("it/s") and 0 < value < 1:
        return f"{rate_value(1 / value)} s/it", "seconds per step"
    detail = "logged by the run" if unit != f"{snap.unit}/s" else "from the progress bar"
    return f"{rate_value(value)} {unit}", detail


def gib(value: int | None, digits: int = 1) -> str:
    """Bytes as ``18.2 GiB``, or an en dash."""
    return "–" if value is None else f"{value / GIB:.{digits}f} GiB"


def vram_texts(snap: RunSnapshot) -> tuple[str, str]:
    """(the run's VRAM now, ``peak 19.0 of 24.0 GiB``)."""
    now, peak, card = (snap.process_vram_bytes, snap.process_vram_peak_bytes,
                       snap.card_vram_total_bytes)
    if now is None and peak is None:
        return "–", "not readable"
    top = "–" if peak is None else f"{peak / GIB:.1f}"
    return gib(now), f"peak {top} of {gib(card)}" if card else f"peak {gib(peak)}"


def elapsed_texts(snap: RunSnapshot) -> tuple[str, str]:
    """(elapsed, ``since 13:02``), rounded to the second as the run's alerts say it."""
    elapsed = None if snap.elapsed_s is None else float(round(snap.elapsed_s))
    return format_elapsed(elapsed), "since " + time.strftime(
        "%H:%M", time.localtime(snap.info.started))


def uses_gpu(snap: RunSnapshot) -> bool:
    """Whether the run's GPU memory was read at all (a CPU run shows its CPU instead)."""
    return snap.card_vram_total_bytes is not None or snap.process_vram_peak_bytes is not None


def cpu_texts(cpu_pct: float | None) -> tuple[str, str]:
    """(the run's processes' CPU, what 100 % means)."""
    if not _ok(cpu_pct):
        return "–", "not readable"
    assert cpu_pct is not None
    return f"{cpu_pct:.0f} %", "its processes; 100 % = one core"


def run_tiles(snap: RunSnapshot) -> dict[str, tuple[str, str]]:
    """``{tile: (value, detail)}`` for the tiles loss, lr, throughput, vram, eta, elapsed."""
    grad = "" if snap.grad_norm is None else f"grad norm {loss_value(snap.grad_norm)}"
    return {"loss": loss_texts(snap), "lr": (lr_text(snap.learning_rate), grad),
            "throughput": throughput_texts(snap), "vram": vram_texts(snap),
            "eta": eta_texts(snap), "elapsed": elapsed_texts(snap)}


def outcome_level(snap: RunSnapshot) -> str:
    """"good" finished, "bad" crashed or killed, "ok" otherwise."""
    if snap.outcome == "finished":
        return "good"
    return "bad" if snap.outcome in ("crashed", "killed") else "ok"


@dataclass(frozen=True, slots=True)
class ProcessLine:
    """One row of the per-process GPU memory list."""

    pid: int
    name: str
    used_bytes: int | None
    ours: bool

    def text(self) -> str:
        """``python3 (pid 4242) · 18.2 GiB``."""
        used = gib(self.used_bytes, 2) if self.used_bytes is not None else "hidden by the driver"
        return f"{self.name} (pid {self.pid}) · {used}"


def process_lines(processes: Sequence[GpuProcess], ours: Collection[int]
                  ) -> list[ProcessLine]:
    """The GPU's processes, the largest holder first (the run's own marked)."""
    lines = [ProcessLine(p.pid, p.name or "?", p.used_memory_bytes, p.pid in ours)
             for p in processes]
    return sorted(lines, key=lambda line: (-(line.used_bytes or 0), line.pid))


def unlisted_bytes(processes: Sequence[GpuProcess], used: int | None) -> int | None:
    """Memory in use on the GPU that no listed process accounts for (driver, other
    containers), None when it cannot be told or is under 64 MiB."""
    if used is None or not processes:
        return None
    listed = sum(p.used_memory_bytes or 0 for p in processes)
    rest = used - listed
    return rest if rest >= 64 * 1024**2 else None
