"""What a job costs in power and electricity, the same for every family: the PC's draw while its
GPUs work, and the hours, kWh and money of a dataset at a given rate.
"""

from __future__ import annotations

from rigready.assess.estimate.gpu import GpuTarget

#: Share of board power drawn on average under a training or decoding load.
POWER_SHARE = 0.85
#: Rest of the PC (CPU, board, drives, fans) while the GPU works, watts.
SYSTEM_OVERHEAD_W = 100.0
DEFAULT_ELECTRICITY_USD_KWH = 0.17


def load_watts(tgp_w: float | None, gpus: int = 1) -> float | None:
    """Watts the whole PC draws while its GPUs work (None when the board power is unknown)."""
    return None if tgp_w is None else tgp_w * POWER_SHARE * gpus + SYSTEM_OVERHEAD_W


def run_cost(rate: float | None, items: int | None, epochs: float, gpu: GpuTarget | None,
             gpus: int, electricity_usd_kwh: float, reasons: list[str]
             ) -> tuple[float | None, float | None, float | None]:
    """Hours, kWh and electricity cost of ``items`` (tokens or images) x ``epochs`` at ``rate``
    per second (None where unknown); says the power assumed in ``reasons``."""
    if not items or not rate:
        return None, None, None
    hours = items * epochs / rate / 3600.0
    watts = load_watts(gpu.tgp_w, gpus) if gpu and gpu.tgp_w else None
    if watts is None:
        return hours, None, None
    energy = watts * hours / 1000.0
    reasons.append(f"{watts:.0f} W while working ({POWER_SHARE:.0%} of board power "
                   f"+ {SYSTEM_OVERHEAD_W:.0f} W for the rest of the PC) at "
                   f"{electricity_usd_kwh:.2f} USD/kWh")
    return hours, energy, energy * electricity_usd_kwh
