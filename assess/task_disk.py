"""The free disk space an AI task of the catalog needs, and why.

A task that names the model it downloads (``model`` in tasks.toml) needs that model's weights in
the task's precision plus a working margin; a generic task keeps the guide's figure
(``storage_gb``), which covers datasets and checkpoints of that kind of project.
"""

from __future__ import annotations

from dataclasses import dataclass

from rigready.catalog import Catalog, TaskEntry

#: Room beyond the weights, GB: tokenizer and config files, logs and outputs, and the Python
#: environment when it shares the disk (PyTorch with its CUDA libraries takes several GB).
#: A judgement, not a measurement.
WORKING_MARGIN_GB = 10.0
#: ... or this share of the weights when that is more (a larger model brings larger outputs).
WORKING_MARGIN_SHARE = 0.10


@dataclass(frozen=True, slots=True)
class DiskNeed:
    """Free disk space a task needs, GB (10^9 bytes), and where the figure comes from."""

    gb: float
    reason: str


def disk_need(task: TaskEntry, catalog: Catalog) -> DiskNeed:
    """What ``task`` needs free on disk: its model's download plus a margin, or the guide's
    figure for a generic task (also when the model is not in ``catalog``)."""
    model = next((m for m in catalog.models if m.id == task.model), None)
    if model is None or task.model_weight_bytes is None:
        return DiskNeed(task.storage_gb, "the guide's figure for this kind of task")
    weights = model.params * task.model_weight_bytes / 1e9
    margin = max(WORKING_MARGIN_GB, WORKING_MARGIN_SHARE * weights)
    return DiskNeed(weights + margin, (
        f"{model.name}'s weights, {model.params / 1e9:.1f}B parameters x "
        f"{task.model_weight_bytes:g} bytes = {weights:,.0f} GB, plus {margin:,.0f} GB of "
        "working margin"))
