"""Measure an estimate's job on this PC's GPU, keep it in the history, and correct estimates with
what was measured here: the Qt-free use case shared by ``rigready estimate --measure`` and the
"Measure on this GPU" button of the Can I run it? page (and its "measured here" corrections).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rigready.assess.estimate import Estimate
from rigready.assess.estimate.model import ModelShape
from rigready.assess.measure.result import MeasuredRun, measured_label
from rigready.assess.measure.spec import missing_packages
from rigready.assess.measure.workload import (
    DEFAULT_TIMEOUT_S,
    MeasureError,
    apply_correction,
    correction,
    measure,
    spec_for,
)
from rigready.assess.units import GIB

__all__ = ["MeasureError", "MeasureOutcome", "config_dict_for", "corrected_here",
           "measure_here", "measure_job", "measured_history", "refusal", "render_measured",
           "unavailable_reason"]


@dataclass(frozen=True, slots=True)
class MeasureOutcome:
    """A finished measurement and whether it reached the history."""

    run: MeasuredRun
    saved_problem: str | None


def config_dict_for(model_spec: str) -> dict[str, Any] | None:
    """The user's own ``config.json`` when MODEL names one (built exactly as published)."""
    path = Path(model_spec)
    if path.is_dir():
        path = path / "config.json"
    if not (model_spec.endswith(".json") or path.name == "config.json") or not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(data, dict):
        return None
    if isinstance(data.get("text_config"), dict) and "hidden_size" not in data:
        return None  # a multimodal wrapper: build the text model from the estimator's shape
    return data


def refusal(shape: ModelShape, est: Estimate, config: dict[str, Any] | None) -> str | None:
    """Why this job cannot be measured here, in one line (a job the runner does not build
    first, then a missing package: installing packages would not help an image model); None
    when it can be."""
    try:
        spec_for(shape, est.workload, config)
    except MeasureError as exc:
        return str(exc)
    return unavailable_reason(est.workload.method)


def unavailable_reason(method: str) -> str | None:
    """Why measuring cannot run here (a missing package), in one line; None when it can."""
    missing = missing_packages(method)
    if not missing:
        return None
    return (f"measuring needs {', '.join(missing)} installed in rigready's Python "
            f"(pip install {' '.join(missing)}); nothing was run")


def _fingerprint() -> str:
    from rigready.assess.bench.fingerprint import current_fingerprint

    return current_fingerprint()


def _save(run: MeasuredRun, db_path: Path | None) -> str | None:
    from rigready.assess.bench.records import result_to_dict

    try:
        from rigready.catalog.paths import database_path
        from rigready.monitor.store import Store, StoreError
    except ImportError as exc:  # pragma: no cover - the store ships with the app
        return f"history unavailable ({exc})"
    try:
        with Store(db_path or database_path()) as store:
            store.save_bench_result(kind="measure", fingerprint=_fingerprint(),
                                    label=measured_label(run), result=result_to_dict(run))
    except (StoreError, OSError) as exc:
        return f"not saved to the history: {exc}"
    return None


def measure_here(shape: ModelShape, est: Estimate, config: dict[str, Any] | None = None, *,
                 timeout_s: float = DEFAULT_TIMEOUT_S, db_path: Path | None = None,
                 save: bool = True, stop: threading.Event | None = None) -> MeasureOutcome:
    """Run the estimate's job on this PC's GPU in a subprocess and save what it measured.

    Raises:
        MeasureError: the job cannot be measured by the runner.
    """
    run = measure(shape, est.workload, config=config, estimate_bytes=est.memory.total,
                  timeout_s=timeout_s, stop=stop)
    problem = _save(run, db_path) if save and run.status in ("ok", "oom") else None
    return MeasureOutcome(run, problem)


def measured_history(db_path: Path | None = None, limit: int = 200
                     ) -> list[tuple[str, MeasuredRun]]:
    """This PC's measured workloads, newest first (none when the history cannot be read)."""
    from rigready.assess.bench.records import result_from_dict

    try:
        from rigready.catalog.paths import database_path
        from rigready.monitor.store import Store, StoreError
    except ImportError:  # pragma: no cover - the store ships with the app
        return []
    path = db_path or database_path()
    if not path.exists():
        return []
    here = _fingerprint()
    try:
        with Store(path, readonly=True) as store:
            rows = store.list_bench_results(kind="measure", limit=limit)
    except (StoreError, OSError):
        return []
    out: list[tuple[str, MeasuredRun]] = []
    for row in rows:
        if row.fingerprint != here:
            continue
        try:
            run = result_from_dict(row.result)
        except (ValueError, TypeError):
            continue
        if isinstance(run, MeasuredRun):
            out.append((row.created, run))
    return out


def corrected_here(est: Estimate, history: list[tuple[str, MeasuredRun]]) -> Estimate:
    """The estimate of a job on this PC's GPU corrected by what was measured here (``history``:
    :func:`measured_history`, newest first); unchanged when nothing matches or there is no
    verdict to correct (no GPU)."""
    if est.verdict is None:
        return est
    return apply_correction(est, correction(history, est.shape.name, est.workload,
                                            est.memory.total))


def measure_job(shape: ModelShape, est: Estimate, config: dict[str, Any] | None,
                stop: threading.Event, db_path: Path | None = None,
                timeout_s: float = DEFAULT_TIMEOUT_S) -> Generator[str, None, MeasureOutcome]:
    """The measurement as a job for the GUI's worker: one progress line, then the outcome."""
    yield (f"Measuring {shape.name} on this GPU: building it with random weights and running "
           f"a few steps (at most {timeout_s:g} s)…")
    return measure_here(shape, est, config, timeout_s=timeout_s, db_path=db_path, stop=stop)


def render_measured(run: MeasuredRun) -> list[str]:
    """The measurement as text lines, beside the estimate."""
    head = f"Measured on this GPU ({run.gpu_name or 'GPU'}; {run.stack})"
    if run.status == "oom":
        return [head, "  does not fit, measured: the job ran out of GPU memory"]
    if run.status != "ok" or run.peak_bytes is None:
        return [head, f"  not measured: {run.status}" + (f" ({run.message})" if run.message
                                                          else "")]
    out = [head, f"  peak (as nvidia-smi shows) {run.peak_bytes / GIB:7.2f} GiB"]
    if run.estimate_bytes:
        err = (run.estimate_bytes - run.peak_bytes) / run.peak_bytes
        out.append(f"  estimate                   {run.estimate_bytes / GIB:7.2f} GiB "
                   f"({err:+.1%})")
    if run.max_allocated_bytes is not None and run.max_reserved_bytes is not None:
        out.append(f"  torch allocated / reserved {run.max_allocated_bytes / GIB:7.2f} / "
                   f"{run.max_reserved_bytes / GIB:.2f} GiB")
    if run.step_seconds is not None:
        what = "one generate() call" if run.method == "inference" else \
            "median step after a warm-up step"
        out.append(f"  step time                  {run.step_seconds:7.3f} s ({what})")
    return out
