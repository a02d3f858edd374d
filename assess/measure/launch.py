"""Start a measurement child, poll NVML while it runs, stop it at a timeout, return the record.

Two ways to start the same child code (:func:`rigready.assess.measure.child.guarded`):
``subprocess`` (``python -m rigready.assess.measure.child``; what the CLI and the window use, safe
from a GUI process) and ``fork`` (the calibration benchmark: the parent imports torch once and never
touches CUDA, so each case starts at once). Either way the CUDA context lives and dies in the child.

The NVML figure is device-level "used" memory polled about every millisecond through the
process's one NVML door (:func:`rigready.gpu.nvml.nvml_door`), nothing subtracted:
``nvml_used_peak_bytes`` counts from the child's ``built`` event to its end (the steps),
``nvml_used_peak_build_bytes`` the build before it.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from rigready.assess.measure.spec import MeasureSpec
from rigready.gpu.nvml import nvml_door
from rigready.gpu.types import GpuDevice
from rigready.gpu.vendor import GpuDoor

Start = Literal["subprocess", "fork"]


class Nvml:
    """Device-level used memory of one GPU through the process's NVML door (None without NVML)."""

    def __init__(self, index: int = 0, door: GpuDoor | None = None) -> None:
        self._door = door or nvml_door()
        self.device: GpuDevice | None = next(
            (d for d in self._door.devices() if d.index == index), None)

    def used(self) -> int | None:
        """Bytes in use on the device now."""
        if self.device is None:
            return None
        return self._door.sample(self.device, ("memory",)).memory_used_bytes

    def facts(self) -> dict[str, Any]:
        """Name, driver, total memory and CUDA driver version of the GPU ({} without NVML);
        a fact NVML could not give is None."""
        if self.device is None:
            return {}
        f = self._door.facts(self.device)
        return {"name": f.name, "driver": f.driver_version, "total_bytes": f.memory_total_bytes,
                "cuda_driver_version": f.cuda_driver_version}


@dataclass
class _Poller:
    nvml: Nvml
    peak: int = 0
    build_peak: int = 0
    samples: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self) -> None:
        while not self._stop.is_set():
            used = self.nvml.used()
            if used is None:
                return
            with self._lock:
                self.peak = max(self.peak, used)
                self.samples += 1
            time.sleep(0.001)

    def built(self) -> None:
        """The build is over: what was seen so far is the build's peak; start again."""
        with self._lock:
            self.build_peak, self.peak = self.peak, 0


def _start_subprocess(request: dict[str, Any], events: queue.Queue[dict[str, Any]]
                      ) -> tuple[Any, Any]:
    # The child imports rigready the way this process did: an install, or a checkout's
    # build/pkgroot tree that a script put on sys.path, so it gets this process's path.
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p and os.path.isdir(p))
    env.setdefault("PYTHONUNBUFFERED", "1")
    proc = subprocess.Popen([sys.executable, "-m", "rigready.assess.measure.child"], env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(json.dumps(request) + "\n")
    proc.stdin.close()
    stderr_tail: list[str] = []

    def read_out() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            try:
                events.put(json.loads(line))
            except json.JSONDecodeError:
                continue
        events.put({"event": "eof"})

    def read_err() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            stderr_tail.append(line)
            del stderr_tail[:-30]

    threading.Thread(target=read_out, daemon=True).start()
    threading.Thread(target=read_err, daemon=True).start()
    return proc, stderr_tail


def _fork_target(spec_dict: dict[str, Any] | None, device: str, conn: Any) -> None:
    from rigready.assess.measure import child

    spec = MeasureSpec.from_dict(spec_dict) if spec_dict is not None else None
    child.guarded(spec, device, conn.send)
    conn.close()


def _start_fork(request: dict[str, Any], events: queue.Queue[dict[str, Any]]) -> Any:
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    parent_conn, child_conn = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_fork_target,
                       args=(request.get("spec"), request["device"], child_conn))
    proc.start()
    child_conn.close()

    def read() -> None:
        while True:
            try:
                events.put(parent_conn.recv())
            except (EOFError, OSError):
                events.put({"event": "eof"})
                return

    threading.Thread(target=read, daemon=True).start()
    return proc


def run(spec: MeasureSpec | None, *, device: str = "cuda", timeout_s: float = 300.0,
        start: Start = "subprocess", nvml: Nvml | None = None,
        stop: threading.Event | None = None) -> dict[str, Any]:
    """Run ``spec`` (None: the CUDA context probe) in a child and return its record.

    ``status`` is ``ok``, ``oom`` (out of memory: an answer, not a failure), ``error``,
    ``timeout``, ``cancelled`` (``stop`` was set) or ``crashed``; the child is killed at the
    timeout or on ``stop``, so no GPU memory stays held.
    """
    nvml = nvml or Nvml()
    request = {"spec": spec.to_dict() if spec is not None else None, "device": device}
    events: queue.Queue[dict[str, Any]] = queue.Queue()
    before = nvml.used()
    poller = _Poller(nvml)
    stderr_tail: list[str] = []
    if start == "fork":
        proc = _start_fork(request, events)  # fork before the polling thread exists
    else:
        proc, stderr_tail = _start_subprocess(request, events)
    thread = threading.Thread(target=poller.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout_s
    result: dict[str, Any] = {"status": "timeout", "error": f"no result within {timeout_s:g} s"}
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        if stop is not None and stop.is_set():
            result = {"status": "cancelled", "error": "stopped before it finished"}
            break
        try:
            msg = events.get(timeout=min(left, 1.0))
        except queue.Empty:
            continue
        if msg.get("event") == "built":
            poller.built()
        elif msg.get("event") == "result":
            result = {k: v for k, v in msg.items() if k != "event"}
            break
        elif msg.get("event") == "eof":
            result = {"status": "crashed", "error": "the child ended without a result"}
            break
    _finish(proc, 0.5 if result["status"] in ("timeout", "cancelled") else 15.0)
    poller._stop.set()
    thread.join()
    if result["status"] == "crashed" and stderr_tail:
        result["error"] += ": " + "".join(stderr_tail)[-400:].strip()
    result["nvml_used_before_bytes"] = before
    result["nvml_used_peak_bytes"] = poller.peak if poller.samples else None
    result["nvml_used_peak_build_bytes"] = poller.build_peak if poller.samples else None
    result["nvml_samples"] = poller.samples
    return result


def _finish(proc: Any, grace_s: float = 15.0) -> None:
    """Wait briefly for the child to exit, then kill it (its GPU memory goes with it)."""
    if hasattr(proc, "wait"):  # subprocess.Popen
        try:
            proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        return
    proc.join(grace_s)
    if proc.is_alive():
        proc.kill()
        proc.join()
