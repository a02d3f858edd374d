"""The workload estimator: can this GPU run, fine-tune or train model X, and how long will it take?

``estimate(shape, workload, gpu)`` is a pure function: memory (per component, as NVML shows it),
the verdict, the largest batch and sequence that fit, the cheapest changes that make it fit, time,
energy and host needs. Models come from :func:`resolve_model` (a catalog name, a
``config.json`` path, a parameter count or a Hugging Face Hub id); GPUs from
:mod:`rigready.assess.estimate.gpu`.

The package is layered (``lint-imports`` checks it; docs/architecture.md has the picture):

- :mod:`~rigready.assess.estimate.resolve` and :mod:`~rigready.assess.estimate.hub` turn what
  the user typed into a :class:`ModelShape`;
- :mod:`~rigready.assess.estimate.estimator` and :mod:`~rigready.assess.estimate.shapes` choose
  the family: :mod:`rigready.assess.estimate.language` (transformer language models, llama.cpp)
  or :mod:`rigready.assess.estimate.image` (classifiers, Stable Diffusion); neither family
  imports the other;
- below both, the shared types and helpers: :mod:`~rigready.assess.estimate.result` (the
  answers), :mod:`~rigready.assess.estimate.breakdown` (memory parts),
  :mod:`~rigready.assess.estimate.model` (the shape), :mod:`~rigready.assess.estimate.inputs`
  (the workload, :class:`EstimateError`), :mod:`~rigready.assess.estimate.gpu`, and the fit,
  host, energy and kernel-rate helpers.

This module only re-exports the public API; nothing inside the package imports it.

The memory formulas are checked against peaks measured on an H100 (``benchmarks/
calibrate_memory.py``, ``tests/data/calibration/``).
"""

from __future__ import annotations

from rigready.assess.estimate.breakdown import MemoryBreakdown
from rigready.assess.estimate.estimator import estimate, estimate_to_dict, speed_lines
from rigready.assess.estimate.gpu import (
    GpuTarget,
    gpu_from_entry,
    gpu_from_info,
    gpu_from_profile,
    gpus_from_profile,
    with_free_gib,
)
from rigready.assess.estimate.inputs import EstimateError, Workload
from rigready.assess.estimate.model import ModelShape
from rigready.assess.estimate.resolve import find_model, resolve_model
from rigready.assess.estimate.result import Estimate

__all__ = [
    "Estimate",
    "EstimateError",
    "GpuTarget",
    "MemoryBreakdown",
    "ModelShape",
    "Workload",
    "estimate",
    "estimate_to_dict",
    "find_model",
    "gpu_from_entry",
    "gpu_from_info",
    "gpu_from_profile",
    "gpus_from_profile",
    "resolve_model",
    "speed_lines",
    "with_free_gib",
]
