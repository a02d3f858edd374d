"""The monitor database schema: column lists shared by the store, retention and export, and
the forward migrations that ``PRAGMA user_version`` counts.

Migration ``i`` (0-based) turns a version-``i`` database into version ``i + 1``. Never edit a
released migration; append a new one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

#: GpuSample fields stored as plain columns of ``samples`` (same names as the dataclass).
GPU_COLUMNS: tuple[str, ...] = (
    "name", "uuid", "pci_bus_id", "utilization_pct", "memory_utilization_pct",
    "memory_used_bytes", "memory_total_bytes", "temperature_c", "temp_slowdown_c",
    "temp_shutdown_c", "power_w", "power_limit_w", "energy_j", "sm_clock_mhz",
    "sm_clock_max_mhz", "memory_clock_mhz", "memory_clock_max_mhz", "fan_pct", "pstate",
    "pcie_tx_bytes_s", "pcie_rx_bytes_s",
)
#: HostSample fields stored as columns of ``host_samples``.
HOST_COLUMNS: tuple[str, ...] = (
    "cpu_pct", "ram_used_bytes", "ram_total_bytes", "swap_used_bytes", "disk_read_bytes_s",
    "disk_write_bytes_s",
)
#: Numeric GPU metrics kept as 1-minute min/mean/max once raw rows expire.
GPU_METRICS: tuple[str, ...] = (
    "utilization_pct", "memory_utilization_pct", "memory_used_bytes", "memory_total_bytes",
    "temperature_c", "temp_slowdown_c", "power_w", "power_limit_w", "energy_j", "sm_clock_mhz",
    "sm_clock_max_mhz", "memory_clock_mhz", "fan_pct", "pcie_tx_bytes_s", "pcie_rx_bytes_s",
)
#: Numeric host metrics kept as 1-minute min/mean/max.
HOST_METRICS: tuple[str, ...] = HOST_COLUMNS

_INT_COLUMNS = {"memory_used_bytes", "memory_total_bytes", "pstate", "ram_used_bytes",
                "ram_total_bytes", "swap_used_bytes"}
_TEXT_COLUMNS = {"name", "uuid", "pci_bus_id"}


def _column_type(name: str) -> type:
    if name in _TEXT_COLUMNS:
        return str
    return int if name in _INT_COLUMNS else float


def _stats_columns(metrics: tuple[str, ...]) -> dict[str, type]:
    out: dict[str, type] = {}
    for metric in metrics:
        for suffix in ("min", "mean", "max"):
            out[f"{metric}_{suffix}"] = float
    return out


def _v1(db: Any) -> None:
    db["sessions"].create(
        {"id": int, "label": str, "host": str, "started": float, "ended": float,
         "interval_s": float, "gpus": str, "notes": str},
        pk="id", not_null={"started"},
    )
    gpu_cols: dict[str, type] = {"session_id": int, "t": float, "gpu": int}
    gpu_cols.update({c: _column_type(c) for c in GPU_COLUMNS})
    gpu_cols.update({"throttle_reasons": str, "processes": str})
    db["samples"].create(gpu_cols, not_null={"session_id", "t", "gpu"})
    db["samples"].create_index(["t"])
    db["samples"].create_index(["session_id", "t"])
    host_cols: dict[str, type] = {"session_id": int, "t": float}
    host_cols.update({c: _column_type(c) for c in HOST_COLUMNS})
    db["host_samples"].create(host_cols, not_null={"session_id", "t"})
    db["host_samples"].create_index(["t"])
    db["host_samples"].create_index(["session_id", "t"])
    db["events"].create(
        {"id": int, "session_id": int, "t": float, "kind": str, "gpu": int, "name": str,
         "state": str, "message": str, "value": float},
        pk="id", not_null={"t", "kind"},
    )
    db["events"].create_index(["t"])
    db["events"].create_index(["session_id", "t"])
    gpu_agg: dict[str, type] = {"session_id": int, "gpu": int, "bucket": float, "n": int}
    gpu_agg.update(_stats_columns(GPU_METRICS))
    db["gpu_aggregates"].create(gpu_agg, pk=("session_id", "gpu", "bucket"))
    db["gpu_aggregates"].create_index(["bucket"])
    host_agg: dict[str, type] = {"session_id": int, "bucket": float, "n": int}
    host_agg.update(_stats_columns(HOST_METRICS))
    db["host_aggregates"].create(host_agg, pk=("session_id", "bucket"))
    db["host_aggregates"].create_index(["bucket"])
    db["bench_results"].create(
        {"id": int, "created": str, "fingerprint": str, "kind": str, "label": str,
         "result_json": str},
        pk="id", not_null={"created", "kind", "result_json"},
    )
    db["bench_results"].create_index(["kind", "created"])


def _v2(db: Any) -> None:
    """Training runs (issue 21): one ``runs`` row per followed run, keyed by the monitor session
    that holds its GPU samples; its logged metrics; its progress once a second."""
    db["runs"].create(
        {"session_id": int, "label": str, "command": str, "cwd": str, "source": str,
         "started": float, "ended": float, "outcome": str, "exit_code": int, "signal": int,
         "steps": int, "total_steps": int, "final_loss": float,
         "peak_process_vram_bytes": int, "card_vram_total_bytes": int, "out_of_memory": int,
         "last_lines": str, "job": str, "comparison": str},
        pk="session_id", not_null={"started"},
    )
    db["runs"].create_index(["started"])
    db["run_metrics"].create(
        {"session_id": int, "t": float, "step": int, "kind": str, "loss": float,
         "eval_loss": float, "learning_rate": float, "grad_norm": float, "epoch": float,
         "throughput": float, "throughput_unit": str, "extra": str, "source": str},
        not_null={"session_id", "t"},
    )
    db["run_metrics"].create_index(["session_id", "t"])
    db["run_progress"].create(
        {"session_id": int, "t": float, "step": int, "total": int, "rate": float,
         "eta_s": float, "process_vram_bytes": int, "cpu_pct": float},
        not_null={"session_id", "t"},
    )
    db["run_progress"].create_index(["session_id", "t"])


#: Forward migrations, oldest first; the schema version is their count.
MIGRATIONS: tuple[Callable[[Any], None], ...] = (_v1, _v2)
SCHEMA_VERSION = len(MIGRATIONS)
