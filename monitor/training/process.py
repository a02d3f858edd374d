"""The run's process tree: which pids are the run's, how much CPU they use, how much VRAM.

Per-process GPU memory comes from the sampler's own readings
(:class:`~rigready.monitor.sample.GpuSample.processes`, which the GPU provider fills from
``rigready.gpu``'s ``processes()`` per device every couple of seconds).
:func:`process_tree_vram` is the ONE place that turns those into "the run's VRAM", so another
source changes one function.
In a container without ``--pid=host`` NVML reports host pids that match none of ours: the
result is then 0, and :func:`vram_note` says why.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from rigready.monitor.sample import Sample

log = logging.getLogger("rigready.monitor.training")


def process_tree_vram(sample: Sample, pids: Collection[int]) -> int | None:
    """Bytes of VRAM the processes ``pids`` hold on every GPU of ``sample``.

    None when the sample has no GPU or no GPU lists its processes' memory; per-process values
    NVML leaves unknown (Windows WDDM, MIG) count as nothing.
    """
    if not sample.gpus:
        return None
    readable = False
    total = 0
    for gpu in sample.gpus:
        for proc in gpu.processes:
            readable = True
            if proc.pid in pids and proc.used_memory_bytes is not None:
                total += proc.used_memory_bytes
    if not readable and all(g.memory_used_bytes is None for g in sample.gpus):
        return None
    return total


def vram_note(sample: Sample, pids: Collection[int]) -> str | None:
    """Why the run's VRAM reads 0 while the GPU holds memory (container pid namespace)."""
    listed = {p.pid for g in sample.gpus for p in g.processes}
    if listed and not listed & set(pids):
        return ("the GPU lists processes but none of this run's; in a container, run with "
                "--pid=host so NVML's process ids match")
    return None


#: Seconds between looks for new descendants: finding them reads every process of the machine
#: (psutil's ``children(recursive=True)``), which cost more than the rest of a tick.
CHILDREN_EVERY_S = 5.0


@dataclass(slots=True)
class ProcessTree:
    """A root pid and its descendants (psutil), with their CPU use since the last call."""

    root: int
    children_every_s: float = CHILDREN_EVERY_S
    _procs: dict[int, Any] = field(default_factory=dict)
    _primed: set[int] = field(default_factory=set)
    _warned: bool = False
    _looked: float = float("-inf")
    _alive: frozenset[int] = frozenset()

    def pids(self) -> frozenset[int]:
        """The root and every descendant still alive (empty once the root is gone). New
        descendants are looked for every :attr:`children_every_s`; between looks the known
        ones are checked."""
        import time

        now = time.monotonic()
        if now - self._looked < self.children_every_s and self._alive:
            return self._still_alive()
        self._looked = now
        try:
            import psutil

            root = self._procs.get(self.root) or psutil.Process(self.root)
            self._procs[self.root] = root
            children = root.children(recursive=True)
        except Exception as exc:  # noqa: BLE001 - gone, or psutil missing: no tree
            if not self._warned and type(exc).__name__ not in ("NoSuchProcess", "ZombieProcess"):
                self._warned = True
                log.debug("process tree of %s unreadable: %s", self.root, exc)
            return frozenset()
        for child in children:
            self._procs.setdefault(child.pid, child)
        alive = {self.root, *(c.pid for c in children)}
        for pid in list(self._procs):
            if pid not in alive:
                del self._procs[pid]
                self._primed.discard(pid)
        self._alive = frozenset(alive)
        return self._alive

    def _still_alive(self) -> frozenset[int]:
        gone = set()
        for pid, proc in self._procs.items():
            try:
                running = proc.is_running() and proc.status() != "zombie"
            except Exception:  # noqa: BLE001 - gone
                running = False
            if not running:
                gone.add(pid)
        if self.root in gone:
            self._alive = frozenset()
            return self._alive
        for pid in gone:
            self._procs.pop(pid, None)
            self._primed.discard(pid)
        self._alive = self._alive - gone
        return self._alive

    def cpu_pct(self) -> float | None:
        """CPU of the tree since the last call (100 = one core); None on the first call."""
        total = 0.0
        first = True
        for pid, proc in list(self._procs.items()):
            try:
                value = proc.cpu_percent(None)
            except Exception:  # noqa: BLE001 - a process that just ended
                continue
            if pid in self._primed:
                first = False
                total += value
            else:  # psutil's first call per process returns a meaningless 0.0
                self._primed.add(pid)
        return None if first else total
