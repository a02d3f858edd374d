"""Words and numbers for the monitor (Qt-free): tile texts, the crosshair read-out, event lines,
alert levels and which screen the training monitor should use."""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rigready.desktop.monitoring.run_view import RunDisplay
from rigready.monitor.ring import COLUMN, FloatArray, ValueArray
from rigready.monitor.store_read import EventRecord
from rigready.monitor.training.run_alerts import RUN_ALERT_LEVELS, RUN_ALERT_TITLES

#: Alert kinds that mean "act now" (red); the others are worth a look (amber). A power cap is
#: normal for a GPU working flat out, so it is only amber. A run's alerts keep their own levels
#: (a NaN loss and a crash are red, a finished run is good news).
BAD_ALERTS = frozenset({"temperature", "thermal_throttle", "vram", "stalled", "storage"}
                       | {k for k, level in RUN_ALERT_LEVELS.items() if level == "bad"})
#: Alert kinds that are news, not trouble (green).
GOOD_ALERTS = frozenset(k for k, level in RUN_ALERT_LEVELS.items() if level == "ok")
ALERT_TITLES = {
    "temperature": "Near slowdown temperature",
    "thermal_throttle": "Thermal throttling",
    "power_throttle": "Power limited",
    "vram": "VRAM almost full",
    "stalled": "Training stalled?",
    "storage": "Database",
    **RUN_ALERT_TITLES,
}


def _ok(value: float | None) -> bool:
    return value is not None and not math.isnan(value)


def num(value: float | None, unit: str = "", digits: int = 0) -> str:
    """``value`` with ``digits`` decimals and a unit, or an en dash when unread."""
    if not _ok(value):
        return "–"
    assert value is not None
    return f"{value:.{digits}f}" + (f" {unit}" if unit else "")


def format_elapsed(seconds: float | None) -> str:
    """``h:mm:ss`` (or ``m:ss`` under an hour); an en dash when unknown."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "–"
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def clock_text(t: float) -> str:
    """Local wall-clock time ``HH:MM:SS``."""
    return time.strftime("%H:%M:%S", time.localtime(t))


def _get(row: Sequence[float] | None, name: str) -> float | None:
    if row is None:
        return None
    value = float(row[COLUMN[name]])
    return None if math.isnan(value) else value


def tile_texts(row: Sequence[float] | None) -> dict[str, tuple[str, str]]:
    """``{tile: (big value, detail line)}`` for the tiles gpu, vram, temp, power, clocks, host
    (CPU with RAM as detail), cpu and ram."""
    util, mem = _get(row, "gpu_util_pct"), _get(row, "mem_util_pct")
    used, total = _get(row, "vram_used_gib"), _get(row, "vram_total_gib")
    temp, slow = _get(row, "temp_c"), _get(row, "temp_slowdown_c")
    power, limit = _get(row, "power_w"), _get(row, "power_limit_w")
    sm, memclk = _get(row, "sm_clock_mhz"), _get(row, "mem_clock_mhz")
    cpu, ram = _get(row, "cpu_pct"), _get(row, "ram_pct")
    share = f" ({100 * used / total:.0f} %)" if used is not None and total else ""
    return {
        "gpu": (num(util, "%"), f"memory bus {num(mem, '%')}"),
        "vram": (num(used, "GiB", 1), f"of {num(total, 'GiB', 1)}{share}"),
        "temp": (num(temp, "°C"), f"slows down at {num(slow, '°C')}"),
        "power": (num(power, "W"), f"limit {num(limit, 'W')}"),
        "clocks": (num(sm, "MHz"), f"memory {num(memclk, 'MHz')}"),
        "host": (num(cpu, "%"), f"RAM {num(ram, '%')} used"),
        "cpu": (num(cpu, "%"), "all cores together"),
        "ram": (num(ram, "%"), "of the host's memory in use"),
    }


def tile_levels(row: Sequence[float] | None, temp_margin_c: float = 5.0,
                vram_pct: float = 95.0) -> dict[str, str]:
    """``{tile: "ok" | "warn" | "bad"}``: temperature near its slowdown point, VRAM nearly full."""
    levels = dict.fromkeys(("gpu", "vram", "temp", "power", "clocks", "host", "cpu", "ram"), "ok")
    temp, slow = _get(row, "temp_c"), _get(row, "temp_slowdown_c")
    if temp is not None and slow is not None:
        if temp >= slow - temp_margin_c:
            levels["temp"] = "bad"
        elif temp >= slow - 2 * temp_margin_c:
            levels["temp"] = "warn"
    used, total = _get(row, "vram_used_gib"), _get(row, "vram_total_gib")
    if used is not None and total:
        share = 100 * used / total
        levels["vram"] = "bad" if share > vram_pct else "warn" if share > vram_pct - 10 else "ok"
    return levels


#: The crosshair line's GPU values: none of them read means no GPU was sampled at that time.
_GPU_READOUT = ("gpu_util_pct", "mem_util_pct", "vram_used_gib", "vram_total_gib", "temp_c",
                "power_w", "sm_clock_mhz", "mem_clock_mhz")


def readout(t: float, row: Sequence[float]) -> str:
    """The crosshair line: time and every value at that time (on a PC without GPU readings,
    the host's values after saying so, not a row of dashes)."""
    host = [f"CPU {num(_get(row, 'cpu_pct'), '%')}", f"RAM {num(_get(row, 'ram_pct'), '%')}"]
    if all(_get(row, name) is None for name in _GPU_READOUT):
        return " · ".join([clock_text(t), "no GPU readings", *host])
    used, total = _get(row, "vram_used_gib"), _get(row, "vram_total_gib")
    parts = [
        clock_text(t),
        f"GPU {num(_get(row, 'gpu_util_pct'), '%')}",
        f"mem ctrl {num(_get(row, 'mem_util_pct'), '%')}",
        f"VRAM {num(used, digits=1)}/{num(total, 'GiB', 1)}",
        num(_get(row, "temp_c"), "°C"),
        num(_get(row, "power_w"), "W"),
        f"SM {num(_get(row, 'sm_clock_mhz'), 'MHz')}",
        f"mem {num(_get(row, 'mem_clock_mhz'), 'MHz')}",
        *host,
    ]
    return " · ".join(parts)


def alert_level(kinds: Iterable[str]) -> str:
    """"bad" if any alert in :data:`BAD_ALERTS` is active, "warn" for others, "good" when
    only good news (a finished run) is, else "ok"."""
    found = set(kinds)
    if found & BAD_ALERTS:
        return "bad"
    if found - GOOD_ALERTS:
        return "warn"
    return "good" if found else "ok"


def event_level(event: EventRecord) -> str:
    """Colour level of one event line."""
    if event.state == "cleared" or event.kind == "recovered":
        return "ok"
    if event.kind == "alert":
        return alert_level([event.name])
    return "warn" if event.kind in ("throttle", "gap") else "ok"


def format_event(event: EventRecord) -> str:
    """``HH:MM:SS  message`` for the events list."""
    text = event.message or f"{event.kind} {event.name} {event.state}".strip()
    if event.kind == "alert" and event.state == "raised":
        text = titled(event.name, text)
    return f"{clock_text(event.time)}  {text}"


def titled(kind: str, message: str) -> str:
    """``Title: message`` for an alert, without saying the title twice: a message that starts
    with it ("Finished in 1m31s") is shown as it is."""
    title = ALERT_TITLES.get(kind, kind)
    return message if message.lower().startswith(title.lower()) else f"{title}: {message}"


def live_status(state: str, session_id: int | None, label: str | None, db_name: str) -> str:
    """The page's status line while live (``state`` of the controller)."""
    if state == "logging":
        return f"Logging session {session_id}" + (f" '{label}'" if label else "") + \
            f" to {db_name}"
    return {"watching": "Live · not logging (Start logging records a session)",
            "starting": "Starting the sampler…", "switching": "Starting the sampler…",
            }.get(state, "Stopped")


def notice_text(gpu_seen: bool, skipped: Sequence[str], notes: Sequence[str]) -> str:
    """Why there are no GPU charts (no GPU, no driver), and which fields are not read."""
    lines = []
    if not gpu_seen and skipped:
        lines.append("No GPU readings, so only CPU and RAM are shown. " + "; ".join(skipped)
                     + ".")
    if notes:
        lines.append("Not read: " + "; ".join(notes))
    return "\n".join(lines)


def choose_screen(names: Sequence[str], saved: str | None, main: str | None) -> int:
    """Index of the screen the training monitor should use.

    The saved choice when that screen is still connected; otherwise the first screen that is
    not the main window's (a second screen); otherwise the first. -1 when there is no screen.
    """
    if not names:
        return -1
    if saved is not None and saved in names:
        return list(names).index(saved)
    for i, name in enumerate(names):
        if name != main:
            return i
    return 0


@dataclass(frozen=True, slots=True)
class WindowChoice:
    """One entry of the time-window selector."""

    key: str
    seconds: float | None  # None: the whole replayed or logged session
    from_store: bool = False  # read 1-minute aggregates from the database


WINDOWS: tuple[WindowChoice, ...] = (
    WindowChoice("1 min", 60), WindowChoice("5 min", 300), WindowChoice("15 min", 900),
    WindowChoice("1 h", 3600), WindowChoice("6 h", 6 * 3600), WindowChoice("24 h", 86400),
    WindowChoice("7 d", 7 * 86400, True), WindowChoice("30 d", 30 * 86400, True),
    WindowChoice("Session", None),
)
WINDOW_BY_KEY = {w.key: w for w in WINDOWS}


@dataclass(frozen=True, slots=True)
class MonitorSnapshot:
    """What the training monitor shows at one moment.

    ``times``/``values`` are the rows for the sparklines (``values`` shaped like the ring's,
    newest last); the tiles read the newest row.
    """

    title: str
    source: str
    elapsed_s: float | None
    times: FloatArray
    values: ValueArray
    alerts: tuple[tuple[str, str], ...] = ()  # (kind, message) of active alerts (run's too)
    #: The training run followed or replayed at this moment (None: no run).
    run: RunDisplay | None = None

    def latest(self) -> list[float] | None:
        """The newest row, or None without rows."""
        if self.times.size == 0:
            return None
        return [float(x) for x in self.values[:, -1]]
