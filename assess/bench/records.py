"""Benchmark results to and from JSON, the store's kinds and labels, and the CLI's rows.

The store (``rigready.monitor.store``) keeps each run as ``kind`` + JSON text; this module owns that
JSON: :func:`result_to_dict` writes every field of the frozen result (nested dataclasses included)
and :func:`result_from_dict` rebuilds the same object, strictly (unknown keys are errors).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, Union, get_args, get_origin, get_type_hints

from rigready.assess.bench import cpu_gemm, gemm, gpu_gemm, storage
from rigready.assess.bench.cpu_gemm import CpuGemmResult
from rigready.assess.bench.gpu_gemm import GpuGemmResult
from rigready.assess.bench.storage import StorageResult
from rigready.assess.measure import result as measure_result
from rigready.assess.measure.result import MeasuredRun, measured_label
from rigready.gpu.throttle import canonical_reasons

BenchResultType = CpuGemmResult | GpuGemmResult | StorageResult
#: Everything the history stores: benchmark results and workloads measured by ``--measure``.
RecordType = BenchResultType | MeasuredRun
KINDS: dict[str, type[Any]] = {
    "gemm-cpu": CpuGemmResult, "gemm-gpu": GpuGemmResult, "storage": StorageResult,
    "measure": MeasuredRun,
}
RECORD_VERSION = 1


def bench_kind(result: RecordType) -> str:
    """The store kind of a result: ``gemm-cpu``, ``gemm-gpu``, ``storage`` or ``measure``
    (a workload measured by ``rigready estimate --measure``)."""
    for kind, cls in KINDS.items():
        if isinstance(result, cls):
            return kind
    raise TypeError(f"not a benchmark result: {type(result).__name__}")


def result_to_dict(result: RecordType) -> dict[str, Any]:
    """A JSON-ready dictionary of the result, with its kind and record version."""
    body = _plain(result)
    assert isinstance(body, dict)
    return {"kind": bench_kind(result), "version": RECORD_VERSION, **body}


def result_from_dict(data: dict[str, Any]) -> RecordType:
    """Rebuild a result from :func:`result_to_dict` output.

    Raises:
        ValueError: unknown kind or version, unknown or missing field, or a wrong type.
    """
    body = dict(data)
    kind = body.pop("kind", None)
    version = body.pop("version", None)
    if kind not in KINDS:
        raise ValueError(f"unknown benchmark kind {kind!r}")
    if version != RECORD_VERSION:
        raise ValueError(f"benchmark record version {version!r}, expected {RECORD_VERSION}")
    built = _build(KINDS[kind], _current_reason_names(body), kind)
    assert isinstance(built, CpuGemmResult | GpuGemmResult | StorageResult | MeasuredRun)
    return built


def _current_reason_names(value: object) -> object:
    """Records written before the throttle-reason table was shared spell five reasons the old way
    (``sw_thermal``): every ``throttle_reasons`` list is read with today's names."""
    if isinstance(value, dict):
        return {k: list(canonical_reasons(v)) if k == "throttle_reasons" and isinstance(v, list)
                and all(isinstance(r, str) for r in v) else _current_reason_names(v)
                for k, v in value.items()}
    if isinstance(value, list):
        return [_current_reason_names(v) for v in value]
    return value


def _plain(value: object) -> object:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


_NAMESPACE: dict[str, Any] = {**vars(typing), **vars(gemm), **vars(cpu_gemm), **vars(gpu_gemm),
                              **vars(storage), **vars(measure_result)}


def _build(tp: Any, value: object, where: str) -> object:
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in get_args(tp):
            return None
        options = [o for o in get_args(tp) if o is not type(None)]
        last: ValueError | None = None
        for option in options:
            try:
                return _build(option, value, where)
            except ValueError as exc:
                last = exc
        raise last or ValueError(f"{where}: must not be null")
    if origin is typing.Literal:
        if value not in get_args(tp):
            raise ValueError(f"{where}: {value!r} is not one of {get_args(tp)}")
        return value
    if origin is tuple:
        if not isinstance(value, list):
            raise ValueError(f"{where}: must be a list")
        return tuple(_build(get_args(tp)[0], v, f"{where}[{i}]") for i, v in enumerate(value))
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        if not isinstance(value, dict):
            raise ValueError(f"{where}: must be an object")
        hints = get_type_hints(tp, _NAMESPACE)
        names = {f.name for f in dataclasses.fields(tp)}
        unknown = set(value) - names
        if unknown:
            raise ValueError(f"{where}: unknown field(s) {sorted(unknown)}")
        try:
            return tp(**{k: _build(hints[k], v, f"{where}.{k}") for k, v in value.items()})
        except TypeError as exc:
            raise ValueError(f"{where}: {exc}") from None
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{where}: must be a number")
        return float(value)
    if tp in (int, str, bool):
        if not isinstance(value, tp) or (tp is int and isinstance(value, bool)):
            raise ValueError(f"{where}: must be {tp.__name__}")
        return value
    raise ValueError(f"{where}: unsupported type {tp!r}")  # pragma: no cover


def result_label(result: RecordType) -> str:
    """A one-line summary for the history list."""
    if isinstance(result, MeasuredRun):
        return measured_label(result)
    if isinstance(result, CpuGemmResult):
        parts = [f"{m.dtype} {m.gflops:,.0f} GFLOP/s" for m in result.measurements]
        return "CPU GEMM: " + ", ".join(parts)
    if isinstance(result, GpuGemmResult):
        if result.message:
            return f"GPU GEMM: {result.message}"
        if result.sustained is not None:
            s = result.sustained
            return (f"GPU sustained {s.dtype} on {result.device_name}: "
                    f"{s.first_gflops / 1000:,.1f} -> {s.last_gflops / 1000:,.1f} TFLOP/s")
        parts = [f"{m.dtype} {m.tflops:,.1f}" for m in result.measurements]
        return f"GPU GEMM on {result.device_name}: " + ", ".join(parts) + " TFLOP/s"
    seq = result.find("SEQ1M Q8T1", "read")
    rnd = result.find("RND4K Q1T1", "read")
    bits = [f"SEQ1M Q8T1 read {seq.mb_s:,.0f} MB/s" if seq else "",
            f"RND4K Q1T1 read {rnd.mb_s:,.1f} MB/s" if rnd else ""]
    tag = f" ({result.label})" if result.label else ""
    return f"Storage {result.folder}: " + ", ".join(b for b in bits if b) + tag


def result_rows(result: RecordType) -> list[dict[str, Any]]:
    """The ``results[]`` rows of the CLI's JSON: GEMM ``dtype, n, gflops``; storage ``test,
    operation, mb_s, iops, latency_us``."""
    if isinstance(result, MeasuredRun):
        return [{"model": result.model, "method": result.method, "status": result.status,
                 "peak_bytes": result.peak_bytes, "step_seconds": result.step_seconds,
                 "estimate_bytes": result.estimate_bytes}]
    if isinstance(result, StorageResult):
        return [{"test": r.test, "operation": r.operation, "mb_s": round(r.mb_s, 2),
                 "iops": round(r.iops, 1), "latency_us": round(r.latency_us, 1),
                 "mb_s_median": round(r.mb_s_median, 2)} for r in result.results]
    device = "cpu" if isinstance(result, CpuGemmResult) else "gpu"
    return [{"device": device, "dtype": m.dtype, "n": m.n, "gflops": round(m.gflops, 2),
             "gflops_p20": round(m.gflops_p20, 2), "gflops_p80": round(m.gflops_p80, 2),
             "repeats": m.repeats,
             "fraction_of_peak": None if m.fraction_of_peak is None else round(
                 m.fraction_of_peak, 4)} for m in result.measurements]
