"""The rig profile: a versioned JSON file of a :class:`~assess.hardware.RigProfile`.

Users save what was detected, edit it (add a GPU they are considering, fill in RAM details the
system hides) and load it back; every command accepts ``--profile FILE`` in place of detection.
Loading is strict: an unknown key, a wrong type or a wrong version is a :class:`ProfileError`
naming the file and the field, never a traceback and never a silently ignored value.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import types
import typing
from pathlib import Path
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

from rigready.assess.formfactor import infer_form_factor
from rigready.assess.hardware import CpuInfo, Disk, GpuInfo, MemoryInfo, RigProfile, SystemInfo
from rigready.assess.jsonfile import read_json_file
from rigready.catalog.userfiles import write_user_file

PROFILE_SCHEMA = "rigready.profile"
PROFILE_VERSION = 2
#: Versions this rigready reads. Version 1 had no ``form_factor``: it is inferred on loading
#: from the CPU model and GPUs the file holds (the only clues a saved file keeps).
READABLE_VERSIONS = (1, 2)
#: Largest whole number a profile field may hold (bytes of a 64-bit counter; SQLite's limit).
MAX_PROFILE_INT = 2**63 - 1
#: Largest decimal a profile field may hold: far above any clock, wattage or TFLOP figure, far
#: below what overflows products of two fields.
MAX_PROFILE_FLOAT = 1e15

#: Physical ceilings of fields whose generic bound would let a typo rank a PC (a CPU clock of
#: 1e12 MHz raised the score): well above any real part, so no real reading is refused.
FIELD_MAX: dict[str, float] = {
    "base_clock_mhz": 10_000, "max_clock_mhz": 10_000, "max_sm_clock_mhz": 10_000,
    "physical_cores": 4_096, "logical_cores": 8_192, "fp32_flops_per_cycle": 1_024,
    "speed_mts": 100_000, "slots_used": 128, "slots_total": 128,
    "pcie_gen": 16, "pcie_gen_max": 16, "pcie_gen_current": 16,
    "pcie_width": 32, "pcie_width_max": 32, "pcie_width_current": 32,
    "power_limit_w": 10_000, "temp_slowdown_c": 250, "temp_shutdown_c": 250,
    "memory_bus_width_bits": 16_384, "cuda_cores": 10**6, "nvlink_links": 64,
    "vram_bytes": 2**44, "l3_cache_bytes": 2**36, "free_for_job_bytes": 2**44,
    "used_bytes": 2**44, "pid": 2**32,
}

T = TypeVar("T")


def _check_ceiling(value: float, name: str, where: str) -> None:
    key = re.sub(r"\[\d+\]$", "", where).rsplit(".", 1)[-1]
    ceiling = FIELD_MAX.get(key)
    if ceiling is not None and value > ceiling:
        raise ProfileError(name, where, f"{value:g} is not a plausible value (at most "
                                        f"{ceiling:g})")


class ProfileError(ValueError):
    """A profile file that cannot be read, with the file and field it concerns."""

    def __init__(self, path: str, field: str, problem: str) -> None:
        self.path = path
        self.field = field
        self.problem = problem
        where = f"{path}: {field}" if field else path
        super().__init__(f"{where}: {problem}")


def profile_to_dict(profile: RigProfile) -> dict[str, Any]:
    """The JSON-ready form of a profile (schema and version first)."""
    body = _to_plain(profile)
    assert isinstance(body, dict)
    body.pop("origin", None)  # where it was loaded from is not part of the file
    return {"schema": PROFILE_SCHEMA, "version": PROFILE_VERSION, **body}


def profile_to_json(profile: RigProfile) -> str:
    """The profile as indented JSON text."""
    return json.dumps(profile_to_dict(profile), indent=2, sort_keys=False) + "\n"


def save_profile(profile: RigProfile, path: Path, *, force: bool = True,
                 protect: tuple[Path | None, ...] = ()) -> None:
    """Write the profile atomically through :mod:`rigready.catalog.userfiles` (temp file, fsync,
    rename), so an interrupted save never destroys an older file; a symlink keeps pointing at it.

    Args:
        profile: What to save.
        path: The file.
        force: Replace an existing file (the GUI asks first; the CLI needs ``--force``).
        protect: Files this must never overwrite (the command's inputs).

    Raises:
        catalog.userfiles.UserFileError: the file exists without ``force``, is a folder, or the
            write failed (disk full, permissions).
    """
    write_user_file(path, profile_to_json(profile), force=force, protect=protect)


def load_profile(path: Path) -> RigProfile:
    """Read and validate a profile file.

    Raises:
        ProfileError: the file is missing, not JSON, of another schema or version, or a field
            has an unknown name or a wrong type.
    """
    name = str(path)
    data = read_json_file(path, ProfileError)
    return profile_from_dict(data, name)


def profile_from_dict(data: object, name: str = "<profile>") -> RigProfile:
    """Build a profile from its JSON form; ``name`` is used in error messages."""
    if not isinstance(data, dict):
        raise ProfileError(name, "", "the top level must be a JSON object")
    body = dict(data)
    schema = body.pop("schema", None)
    if schema != PROFILE_SCHEMA:
        raise ProfileError(name, "schema", f"expected {PROFILE_SCHEMA!r}, found {schema!r}")
    version = body.pop("version", None)
    if version not in READABLE_VERSIONS:
        readable = " or ".join(str(v) for v in READABLE_VERSIONS)
        raise ProfileError(
            name, "version", f"this rigready reads version {readable}, found {version!r}"
        )
    body["origin"] = name
    profile = _from_plain(RigProfile, body, name, "")
    assert isinstance(profile, RigProfile)
    if "form_factor" not in body:
        profile = dataclasses.replace(profile, form_factor=infer_form_factor(
            cpu_model=profile.cpu.model, gpus=profile.gpus,
            sources={"kind": f"inferred when loading (the file has no form_factor; version "
                             f"{version})"}))
    return profile


def with_stated_gpu(profile: RigProfile, *, vram_bytes: int | None = None,
                    free_for_job_bytes: int | None = None) -> RigProfile:
    """``profile`` with what the user says of its GPU (the one estimates use, the best one):
    its memory when detection could not read it, and the memory a job may use on it.

    Raises:
        ProfileError: the PC has no discrete GPU to say it of, or the free memory is more than
            the card has.
    """
    if vram_bytes is None and free_for_job_bytes is None:
        return profile
    best = profile.best_gpu
    if best is None:
        raise ProfileError(profile.origin, "gpus", "there is no GPU to give its memory: use "
                           "--gpu NAME for a catalog card")
    sources = dict(best.sources)
    changed = best
    if vram_bytes is not None:
        sources["vram_bytes"] = "user (--vram-gib)"
        changed = dataclasses.replace(changed, vram_bytes=vram_bytes)
    if free_for_job_bytes is not None:
        total = changed.vram_bytes
        if total is not None and free_for_job_bytes > total:
            raise ProfileError(profile.origin, "gpus", f"{free_for_job_bytes / 2**30:g} GiB "
                               f"free is more than the {total / 2**30:g} GiB the {best.name} "
                               "has")
        sources["free_for_job_bytes"] = "user (--free-gib)"
        changed = dataclasses.replace(changed, free_for_job_bytes=free_for_job_bytes)
    changed = dataclasses.replace(changed, sources=sources)
    return dataclasses.replace(profile, gpus=tuple(changed if g is best else g
                                                   for g in profile.gpus))


def drop_non_finite(profile: RigProfile) -> RigProfile:
    """``profile`` with every NaN or infinite reading made ``None`` (unknown), with a warning
    naming the field: a sensor or driver that reports NaN must never raise a score."""
    found: list[str] = []
    cleaned = _drop_non_finite(profile, "", found)
    assert isinstance(cleaned, RigProfile)
    if not found:
        return profile
    note = f"ignored readings that were not finite numbers: {', '.join(found)}"
    return dataclasses.replace(cleaned, warnings=(*cleaned.warnings, note))


def _drop_non_finite(value: object, where: str, found: list[str]) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        found.append(where)
        return None
    if isinstance(value, tuple):
        return tuple(_drop_non_finite(v, f"{where}[{i}]", found) for i, v in enumerate(value))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {}
        for f in dataclasses.fields(value):
            old = getattr(value, f.name)
            new = _drop_non_finite(old, f"{where}.{f.name}" if where else f.name, found)
            if new is not old:
                changes[f.name] = new
        return dataclasses.replace(value, **changes) if changes else value
    return value


# --- generic, strict dataclass <-> JSON conversion -------------------------------------------


def _to_plain(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return None  # a sensor that read NaN is unknown; NaN is not JSON
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, object] = {}
        for f in dataclasses.fields(value):
            out[f.name] = _to_plain(getattr(value, f.name))
        return out
    if isinstance(value, tuple | list):
        return [_to_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _to_plain(v) for k, v in value.items()}
    return value


def _from_plain(tp: Any, value: object, name: str, where: str) -> object:
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        options = get_args(tp)
        if value is None and type(None) in options:
            return None
        errors: list[ProfileError] = []
        for option in options:
            if option is type(None):
                continue
            try:
                return _from_plain(option, value, name, where)
            except ProfileError as exc:
                errors.append(exc)
        raise errors[0] if errors else ProfileError(name, where, "must not be null")
    if origin is Literal:
        allowed = get_args(tp)
        if value not in allowed:
            raise ProfileError(name, where, f"must be one of {', '.join(map(str, allowed))}")
        return value
    if origin is tuple:
        item_type = get_args(tp)[0]
        if not isinstance(value, list):
            raise ProfileError(name, where, "must be a list")
        return tuple(
            _from_plain(item_type, v, name, f"{where}[{i}]") for i, v in enumerate(value)
        )
    if origin is dict:
        _, item_type = get_args(tp)
        if not isinstance(value, dict):
            raise ProfileError(name, where, "must be an object")
        return {
            str(k): _from_plain(item_type, v, name, f"{where}.{k}") for k, v in value.items()
        }
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        return _dataclass_from_plain(tp, value, name, where)
    if tp is bool:
        if not isinstance(value, bool):
            raise ProfileError(name, where, "must be true or false")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ProfileError(name, where, "must be a whole number")
        if value < 0:
            raise ProfileError(name, where, "must not be negative")
        if value > MAX_PROFILE_INT:
            raise ProfileError(name, where, f"is too large (at most {MAX_PROFILE_INT})")
        _check_ceiling(value, name, where)
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ProfileError(name, where, "must be a number")
        if isinstance(value, int) and value > MAX_PROFILE_INT:
            raise ProfileError(name, where, "is too large")
        if not math.isfinite(value):
            raise ProfileError(name, where, "must be a finite number (not NaN or infinity)")
        if value < 0:
            raise ProfileError(name, where, "must not be negative")
        if value > MAX_PROFILE_FLOAT:
            raise ProfileError(name, where, f"is too large (at most {MAX_PROFILE_FLOAT:g})")
        _check_ceiling(value, name, where)
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ProfileError(name, where, "must be a string")
        return value
    raise ProfileError(name, where, f"unsupported field type {tp!r}")  # pragma: no cover


def _dataclass_from_plain(cls: type[T], value: object, name: str, where: str) -> T:
    if not isinstance(value, dict):
        raise ProfileError(name, where or cls.__name__, "must be an object")
    hints = get_type_hints(cls, vars(typing) | vars(_hardware_module()))
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    kwargs: dict[str, object] = {}
    for key, raw in value.items():
        path = f"{where}.{key}" if where else str(key)
        if key not in fields:
            raise ProfileError(name, path, "unknown field")
        kwargs[key] = _from_plain(hints[key], raw, name, path)
    for fname, f in fields.items():
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        if required and fname not in kwargs:
            path = f"{where}.{fname}" if where else fname
            raise ProfileError(name, path, "missing")
    return cls(**kwargs)


def _hardware_module() -> types.ModuleType:
    import rigready.assess.hardware as hardware

    return hardware


__all__ = [
    "PROFILE_SCHEMA",
    "PROFILE_VERSION",
    "CpuInfo",
    "Disk",
    "GpuInfo",
    "MemoryInfo",
    "ProfileError",
    "RigProfile",
    "SystemInfo",
    "drop_non_finite",
    "load_profile",
    "profile_from_dict",
    "profile_to_dict",
    "profile_to_json",
    "save_profile",
    "with_stated_gpu",
]
