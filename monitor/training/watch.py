"""Follow a run folder with no wrapper (``rigready monitor --watch DIR``).

:class:`RunWatcher` looks for the logs trainers write, up to :data:`MAX_DEPTH` folders down:

- TensorBoard event files ``events.out.tfevents.*`` (HF ``report_to="tensorboard"``,
  Lightning's TensorBoardLogger, kohya, diffusers), read with the ``tensorboard`` package;
- ``trainer_state.json`` (HF Trainer, in ``checkpoint-N/`` at each save and in the output
  folder at the end);
- Lightning's ``metrics.csv`` (CSVLogger).

Of each kind it follows the newest *run folder* (the folder holding the file; for
``trainer_state.json`` the newest file): an older run's logs beside it are not mixed in, and a
new run folder that appears later (``version_1``, a new ``runs/<date>``) takes over. Files that
appear in the followed folder (TensorBoard's new file after a restart) are picked up. Metrics of
the same step and kind from two sources (TensorBoard and trainer_state.json of one HF run) are
kept once, first come first kept. The folder is rescanned every :data:`RESCAN_S` seconds.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from rigready.monitor.training.events import RunEvent, RunMetrics
from rigready.monitor.training.watch_sources import CsvSource, TrainerStateSource
from rigready.monitor.training.watch_tensorboard import (
    TENSORBOARD_HINT,
    TensorBoardSource,
    tensorboard_available,
)

MAX_DEPTH = 5
#: Most folder entries looked at per scan (a home folder given by mistake stays cheap).
MAX_ENTRIES = 20_000
RESCAN_S = 5.0
PATTERNS = ("events.out.tfevents.*", "trainer_state.json", "metrics.csv")


class WatchError(Exception):
    """The folder cannot be watched (missing, not a folder, unreadable)."""


class _Source(Protocol):
    path: Path
    problem: str | None
    records: int

    def poll(self) -> list[RunEvent]: ...


@dataclass(frozen=True, slots=True)
class Found:
    """Log files found in a scan, by kind."""

    tensorboard: tuple[Path, ...] = ()
    trainer_state: tuple[Path, ...] = ()
    csv: tuple[Path, ...] = ()

    @property
    def empty(self) -> bool:
        """Nothing found."""
        return not (self.tensorboard or self.trainer_state or self.csv)


def scan(folder: Path, max_depth: int = MAX_DEPTH, max_entries: int = MAX_ENTRIES) -> Found:
    """The log files under ``folder`` (hidden folders skipped).

    Raises:
        WatchError: ``folder`` itself cannot be listed.
    """
    tb: list[Path] = []
    state: list[Path] = []
    csv: list[Path] = []
    seen = 0
    stack: list[tuple[Path, int]] = [(folder, 0)]
    while stack and seen < max_entries:
        here, depth = stack.pop()
        try:
            entries = list(os.scandir(here))
        except OSError as exc:
            if here == folder:
                raise WatchError(f"cannot read {folder}: {exc.strerror}") from None
            continue
        for entry in entries:
            seen += 1
            name = entry.name
            try:
                if entry.is_dir(follow_symlinks=False):
                    if depth < max_depth and not name.startswith("."):
                        stack.append((Path(entry.path), depth + 1))
                elif name.startswith("events.out.tfevents."):
                    tb.append(Path(entry.path))
                elif name == "trainer_state.json":
                    state.append(Path(entry.path))
                elif name == "metrics.csv":
                    csv.append(Path(entry.path))
            except OSError:
                continue
    return Found(tuple(sorted(tb)), tuple(sorted(state)), tuple(sorted(csv)))


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _recency(path: Path) -> tuple[float, float]:
    """Newest first by modification time (to the second); on a tie (a copied or checked-out
    folder), the final ``trainer_state.json`` before ``checkpoint-N`` ones, then the highest N."""
    parent = path.parent.name
    rank = float("inf")
    if parent.startswith("checkpoint-") and parent[len("checkpoint-"):].isdigit():
        rank = float(parent[len("checkpoint-"):])
    return float(int(_mtime(path))), rank


def _newest_folder(paths: tuple[Path, ...]) -> Path | None:
    if not paths:
        return None
    return max(paths, key=_mtime).parent


@dataclass(slots=True)
class RunWatcher:
    """Polls a run folder; :meth:`poll` returns the new events of every followed file."""

    folder: Path
    clock: Callable[[], float] = time.time
    rescan_s: float = RESCAN_S
    sources: dict[Path, _Source] = field(default_factory=dict)
    #: Lines to tell the user once each (missing tensorboard, a broken file, a new run).
    notices: list[str] = field(default_factory=list)
    _told: set[str] = field(default_factory=set)
    _followed: dict[str, Path] = field(default_factory=dict)
    _next_scan: float = 0.0
    _seen_metrics: set[tuple[int | None, str]] = field(default_factory=set)
    found: Found = field(default_factory=Found)

    def __post_init__(self) -> None:
        """Check the folder now: a missing or unreadable one is an error, not an empty run.

        Raises:
            WatchError: Not a folder, or unreadable.
        """
        if not self.folder.exists():
            raise WatchError(f"{self.folder} does not exist")
        if not self.folder.is_dir():
            raise WatchError(f"{self.folder} is not a folder")
        if not os.access(self.folder, os.R_OK | os.X_OK):
            raise WatchError(f"cannot read {self.folder}: permission denied")

    def looked_for(self) -> str:
        """What a folder with no logs was searched for, in words."""
        return (f"no training logs in {self.folder} yet (looked up to {MAX_DEPTH} folders down "
                f"for {', '.join(PATTERNS)})")

    def _tell(self, text: str) -> None:
        if text not in self._told:
            self._told.add(text)
            self.notices.append(text)

    def rescan(self) -> Found:
        """Look for log files now and follow the newest run folder of each kind."""
        found = scan(self.folder)
        self.found = found
        if found.tensorboard and not tensorboard_available():
            self._tell(f"{len(found.tensorboard)} TensorBoard event file(s) found, not read: "
                       f"{TENSORBOARD_HINT}")
        else:
            self._follow("tensorboard", found.tensorboard, TensorBoardSource, whole_folder=True)
        self._follow("trainer_state", found.trainer_state, TrainerStateSource,
                     whole_folder=False)
        self._follow("csv", found.csv, CsvSource, whole_folder=True)
        return found

    def _follow(self, kind: str, paths: tuple[Path, ...], make: Callable[[Path], _Source],
                *, whole_folder: bool) -> None:
        if not paths:
            return
        if whole_folder:
            folder = _newest_folder(paths)
            current = self._followed.get(kind)
            if current is not None and folder != current and folder is not None:
                self._tell(f"following a new run: {folder}")
                self._seen_metrics.clear()  # its steps count from the start again
            if folder is None:
                return
            self._followed[kind] = folder
            wanted = [p for p in paths if p.parent == folder]
        else:
            newest = max(paths, key=_recency)
            self._followed[kind] = newest
            wanted = [newest]
        for path in list(self.sources):
            if getattr(self.sources[path], "kind", "") == kind and path not in wanted:
                del self.sources[path]  # an older run's file, or a replaced trainer_state.json
        for path in wanted:
            if path not in self.sources:
                try:
                    self.sources[path] = make(path)
                except (ImportError, OSError) as exc:
                    self._tell(f"cannot read {path}: {exc}")

    def poll(self) -> list[RunEvent]:
        """New events from every followed file (rescanning when due)."""
        now = self.clock()
        if now >= self._next_scan:
            self._next_scan = now + self.rescan_s
            try:
                self.rescan()
            except WatchError as exc:
                self._tell(str(exc))
        out: list[RunEvent] = []
        for source in list(self.sources.values()):
            for event in source.poll():
                if isinstance(event, RunMetrics) and event.step is not None:
                    key = (event.step, event.kind)
                    if key in self._seen_metrics:
                        continue
                    self._seen_metrics.add(key)
                out.append(event)
            if source.problem:
                self._tell(source.problem)
        out.sort(key=lambda e: e.time)
        return out
