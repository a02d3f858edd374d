"""One worker pattern for long jobs: run a generator off the GUI thread.

A job is a generator that yields progress objects and returns its result. The worker runs it on
Qt's thread pool and forwards each yield as ``progressed``; ``cancel()`` sets a flag that the
worker checks at every yield and then calls ``generator.close()``, so the job's ``finally:``
blocks clean up (a storage benchmark removes its file). Cancelling is cooperative: a job that
yields every half second is cancelled within half a second.
"""

from __future__ import annotations

import enum
import logging
import threading
from collections.abc import Callable, Generator
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

log = logging.getLogger(__name__)

JobFactory = Callable[[], Generator[Any, None, Any]]


class WorkerState(enum.Enum):
    """Where a worker is in its life."""

    READY = "ready"
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"
    CANCELLED = "cancelled"


class _Runnable(QRunnable):
    def __init__(self, worker: GeneratorWorker) -> None:
        super().__init__()
        self._worker = worker
        self.setAutoDelete(True)

    def run(self) -> None:
        self._worker._run_in_thread()


class GeneratorWorker(QObject):
    """Runs ``factory()``'s generator on the thread pool and reports through signals.

    Signals are emitted from the pool thread; Qt queues them to receivers on the GUI thread, so
    slots never touch widgets from the wrong thread.
    """

    progressed = Signal(object)
    finished = Signal(object)
    errored = Signal(str)
    cancelled = Signal()

    def __init__(self, factory: JobFactory, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._factory = factory
        self._cancel = threading.Event()
        self._done = threading.Event()
        self.state = WorkerState.READY

    def start(self, pool: QThreadPool | None = None) -> None:
        """Start the job on ``pool`` (default: the global pool)."""
        if self.state is not WorkerState.READY:
            raise RuntimeError("a worker runs once; create a new one")
        self.state = WorkerState.RUNNING
        (pool or QThreadPool.globalInstance()).start(_Runnable(self))

    def cancel(self) -> None:
        """Ask the job to stop at its next yield."""
        self._cancel.set()

    def wait(self, timeout_s: float | None = None) -> bool:
        """Block until the job ended (for tests and shutdown); False on timeout."""
        return self._done.wait(timeout_s)

    @property
    def running(self) -> bool:
        """Whether the job is still under way."""
        return self.state is WorkerState.RUNNING

    def _run_in_thread(self) -> None:
        try:
            gen = self._factory()
            while True:
                if self._cancel.is_set():
                    gen.close()
                    self.state = WorkerState.CANCELLED
                    self.cancelled.emit()
                    return
                try:
                    progress = next(gen)
                except StopIteration as stop:
                    self.state = WorkerState.FINISHED
                    self.finished.emit(stop.value)
                    return
                self.progressed.emit(progress)
        except Exception as exc:
            log.exception("background job failed")
            self.state = WorkerState.FAILED
            self.errored.emit(str(exc) or type(exc).__name__)
        finally:
            self._done.set()
