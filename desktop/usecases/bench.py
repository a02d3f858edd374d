"""Benchmark outcomes, the same for ``rigready bench`` and the Benchmarks page: a finished result
with the catalog's expectations and the comparisons, saving it to the history, reading the
history back, and a person's names for a history row (when, and on which machine).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rigready.desktop.usecases.errors import UsageError

if TYPE_CHECKING:  # the benchmark modules import numpy: load them only when a result is made
    from rigready.assess.bench.compare import Comparison
    from rigready.assess.bench.gpu_gemm import GpuGemmResult
    from rigready.assess.bench.records import BenchResultType
    from rigready.assess.hardware import RigProfile


@dataclass(frozen=True, slots=True)
class Outcome:
    """A finished run with what it is compared to, ready to print, show or save."""

    result: BenchResultType
    comparisons: tuple[Comparison, ...]
    notes: tuple[str, ...] = ()


def detect_this_pc() -> RigProfile:
    """A live detection (no torch subprocess), for peaks, disks and the fingerprint."""
    from rigready.assess.detect import detect_rig

    return detect_rig()


def gpu_entry_for(result: GpuGemmResult, profile: RigProfile | None) -> Any:
    """The catalog entry of the benchmarked card (None when unknown or no catalog)."""
    from rigready.assess.hardware import GpuInfo

    if result.device_name is None:
        return None
    try:
        from rigready.assess.match import match_gpu
        from rigready.catalog import default_catalog

        catalog = default_catalog()
    except Exception:  # noqa: BLE001 - no catalog: comparisons are left out, not fatal
        return None
    detected = next((g for g in (profile.gpus if profile else ())
                     if g.name == result.device_name), None)
    gpu = detected or GpuInfo(vendor="nvidia", name=result.device_name,
                              vram_bytes=result.vram_bytes)
    return match_gpu(gpu, catalog.gpus).entry


def outcome_of(result: BenchResultType, profile: RigProfile | None) -> Outcome:
    """Attach the catalog's expectations and the comparisons to a finished result."""
    from rigready.assess.bench.compare import (
        compare_cpu,
        compare_drive,
        compare_gpu_result,
        disk_for_folder,
        expected_gpu_tflops,
    )
    from rigready.assess.bench.cpu_gemm import CpuGemmResult
    from rigready.assess.bench.gpu_gemm import GpuGemmResult, with_expected

    if isinstance(result, GpuGemmResult):
        entry = gpu_entry_for(result, profile)
        if entry is None:
            notes = () if result.message else (
                "no catalog entry for this card: measured figures only",)
            return Outcome(result, (), notes)
        result = with_expected(result, expected_gpu_tflops(entry))
        return Outcome(result, compare_gpu_result(result, entry))
    if isinstance(result, CpuGemmResult):
        return Outcome(result, compare_cpu(result))
    disk = disk_for_folder(result.folder, profile.storage) if profile else None
    found = compare_drive(result, disk)
    return Outcome(result, (found,) if found else (), (result.note,))


def save_outcome(outcome: Outcome, fingerprint: str, db_path: Path | None = None) -> str | None:
    """Save to the history; None on success, else why it could not be saved."""
    from rigready.assess.bench.records import bench_kind, result_label, result_to_dict

    try:
        from rigready.catalog.paths import database_path
        from rigready.monitor.store import Store, StoreError
    except ImportError as exc:  # pragma: no cover - the store ships with the app
        return f"history unavailable ({exc})"
    try:
        with Store(db_path or database_path()) as store:
            store.save_bench_result(kind=bench_kind(outcome.result), fingerprint=fingerprint,
                                    label=result_label(outcome.result),
                                    result=result_to_dict(outcome.result))
    except (StoreError, OSError) as exc:
        return f"not saved to the history: {exc}"
    return None


def save_outcomes(outcomes: list[Outcome], fingerprint: str, db_path: Path | None = None
                  ) -> list[str]:
    """Save a run's results to the history as the machine ``fingerprint``; a GPU result that
    measured nothing (no PyTorch) is not kept. Returns why any could not be saved."""
    from rigready.assess.bench.gpu_gemm import GpuGemmResult

    problems: list[str] = []
    for o in outcomes:
        if isinstance(o.result, GpuGemmResult) and not o.result.measurements:
            continue  # nothing measured (no PyTorch): nothing worth keeping
        problem = save_outcome(o, fingerprint, db_path)
        if problem:
            problems.append(problem)
    return problems


def load_history(kind: str | None = None, limit: int = 50, db_path: Path | None = None, *,
                 include_measured: bool = False
                 ) -> list[tuple[str, str, str, BenchResultType | None]]:
    """Past runs, newest first: (created, fingerprint, label, result or None if unreadable).

    Workloads measured by ``estimate --measure`` (kind ``measure``) are left out unless asked
    for (``kind="measure"`` or ``include_measured``): they are not benchmark results.
    """
    from rigready.assess.bench.records import result_from_dict
    from rigready.catalog.paths import database_path
    from rigready.monitor.store import Store, StoreError

    path = db_path or database_path()
    if not path.exists():
        return []
    try:
        with Store(path, readonly=True) as store:
            rows = store.list_bench_results(kind=kind, limit=limit)
    except StoreError as exc:
        raise UsageError(str(exc)) from None
    out: list[tuple[str, str, str, Any]] = []
    for row in rows:
        if row.kind == "measure" and kind != "measure" and not include_measured:
            continue
        try:
            result: Any = result_from_dict(row.result)
        except (ValueError, TypeError):
            result = None
        out.append((row.created, row.fingerprint, row.label, result))
    return out


def when_text(created: str) -> str:
    """A stored ISO time as the user's local date and minute, e.g. ``2026-11-22 14:05``."""
    try:
        moment = datetime.fromisoformat(created.replace("Z", "+00:00"))
    except ValueError:
        return created
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


def machine_name(fingerprint: str, result: object, *, here: str, this_pc: str,
                 loaded: RigProfile | None) -> str:
    """A person's name for the machine a run was measured on, never a bare fingerprint."""
    detected = loaded is None or loaded.origin == "detected"
    if fingerprint == this_pc or (fingerprint == here and detected):
        return "this PC"
    if loaded is not None and fingerprint == here:
        return f"{Path(loaded.origin).stem} (loaded profile)"
    device = getattr(result, "device_name", None) or getattr(result, "cpu_model", None)
    return f"another PC ({device})" if device else f"another PC ({fingerprint[:8]})"
