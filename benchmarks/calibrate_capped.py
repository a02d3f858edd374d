"""'Runs on a card of N GB': the smallest consumer card each job runs on, by capping PyTorch's
allocator on a large GPU (issue 22, items 2-5).

Phases, one process per run (``calibrate_capped_child.py``, started as a subprocess):

1. ``context``: the CUDA context and the kernels a job loads, beside the allocator
   (process memory NVML counts minus ``memory_reserved``), with lazy module loading as set.
2. ``speed`` (alone on the GPU, one run at a time): fp32 classifier steps with PyTorch's TF32
   switches as they come and flipped; large-vocabulary full fine-tuning steps split into
   forward / backward / optimizer plus the vocabulary head alone.
3. ``capped`` (several runs at once on the one GPU): each case first runs under a generous cap
   (its ``reserve_gib``: the uncapped figures; ``allocator.num_alloc_retries`` 0 shows the cap
   never bound), then under the caps of the consumer cards that bracket its allocated peak:
   the card just above must pass, the one just below must fail; a surprise walks on to the next
   card. A card of N GiB leaves ``N - driver reservation(N) - context`` to the allocator
   (:func:`card_cap`). Runs run side by side while their caps (plus 1.2 GiB each beside the
   allocator) sum to less than the GPU's free memory, so the device-level NVML peak is shared:
   each run records its own process's figures (torch's peaks, NVML's per-process use at the end,
   and the parent's per-process NVML peak, polled every ~20 ms).
4. ``fsdp``: FSDP + QLoRA ranks (``calibrate_fsdp_qlora.py``) as runs of the capped pool.

Results: one JSON line per run appended to ``<out>/capped.jsonl`` as it ends (so a timeout
keeps what finished), and ``<out>/capped.json`` (the whole document) at the end.

Usage::

    python benchmarks/calibrate_capped.py --out DIR --budget-s 420          # on the GPU machine
    python benchmarks/calibrate_capped.py --grid tiny --device cpu --out /tmp/x   # dry run
    python benchmarks/calibrate_capped.py --list
    python benchmarks/calibrate_capped.py --phases context,capped --generous-only \
        --only sd15-inference-b1-512px,gemma-3-4b-it-inference --out DIR   # re-measure two jobs
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "build" / "pkgroot"))

import calibrate_capped_grid as grid_mod  # noqa: E402

from rigready.assess.estimate.breakdown import driver_reserved_bytes  # noqa: E402

GIB = 2**30
#: Consumer cards (GiB of memory on the card) the verdicts are calibrated for.
CARDS = (6, 8, 10, 12, 16, 20, 24)
SCHEMA = "rigready.calibration.capped"


def card_cap(card_gib: int, context_bytes: int) -> int:
    """What PyTorch's allocator may reserve on a card of ``card_gib`` GiB: the card less the
    driver's own reservation (the estimator's figure, which grows with the card: 0.25 GiB at
    most cards up to 0.35 GiB at 24 GiB) less the CUDA context with its loaded kernels."""
    card = card_gib * GIB
    return int(card - driver_reserved_bytes(card) - context_bytes)


class ProcessPeaks:
    """Per-process GPU memory (NVML), polled every ``period_s``; the peak of each pid."""

    def __init__(self, period_s: float = 0.02) -> None:
        self.peaks: dict[int, int] = {}
        self.device_peak = 0
        self._stop = threading.Event()
        self._period = period_s
        self._handle: Any = None
        try:
            import pynvml

            pynvml.nvmlInit()
            self._nv = pynvml
            self._handle = pynvml.nvmlDeviceGetHandleByIndex(0)
        except Exception:  # noqa: BLE001 - no NVML: no per-process figures
            self._handle = None
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while self._handle is not None and not self._stop.is_set():
            try:
                procs = self._nv.nvmlDeviceGetComputeRunningProcesses(self._handle)
                used = int(self._nv.nvmlDeviceGetMemoryInfo(self._handle).used)
            except Exception:  # noqa: BLE001 - a failed read is a missing sample
                procs, used = [], 0
            self.device_peak = max(self.device_peak, used)
            for p in procs:
                if p.usedGpuMemory is not None:
                    self.peaks[p.pid] = max(self.peaks.get(p.pid, 0), int(p.usedGpuMemory))
            time.sleep(self._period)

    def facts(self) -> dict[str, Any]:
        """Name, driver, memory of the GPU and its idle use ({} without NVML)."""
        if self._handle is None:
            return {}
        nv = self._nv

        def text(value: Any) -> str:
            return value.decode() if isinstance(value, bytes) else str(value)

        mem = nv.nvmlDeviceGetMemoryInfo(self._handle)
        return {"name": text(nv.nvmlDeviceGetName(self._handle)),
                "driver": text(nv.nvmlSystemGetDriverVersion()),
                "total_bytes": int(mem.total), "used_idle_bytes": int(mem.used),
                "cuda_driver_version": int(nv.nvmlSystemGetCudaDriverVersion_v2())}


def run_child(case: dict[str, Any], cap: int | None, timeout_s: float, peaks: ProcessPeaks,
              device: str) -> dict[str, Any]:
    """One run in a subprocess; its result with the parent's view of its memory."""
    request = {"case": case, "cap_bytes": cap}
    t0 = time.monotonic()
    cmd = [sys.executable, str(HERE / "calibrate_capped_child.py")]
    if device == "cpu":
        cmd.append("--cpu")
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(json.dumps(request) + "\n", timeout=timeout_s)
        result: dict[str, Any] = {"status": "crashed", "error": err[-600:]}
        for line in out.splitlines():
            if line.startswith("@@RESULT@@ "):
                result = json.loads(line[len("@@RESULT@@ "):])
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        result = {"status": "timeout", "error": f"no result within {timeout_s:g} s"}
    result["wall_seconds"] = round(time.monotonic() - t0, 2)
    result["nvml_process_peak_bytes"] = peaks.peaks.get(proc.pid)
    return result


class Pool:
    """Runs side by side while their GPU reservations and host RAM fit, first come first served:
    a large run waiting at the head is not overtaken by smaller ones (the first H100 call let
    small runs take every freed GiB, and seven 19-41 GiB jobs never started)."""

    def __init__(self, gpu_bytes: int, ram_bytes: int, max_procs: int) -> None:
        self.gpu, self.ram, self.procs = gpu_bytes, ram_bytes, max_procs
        self.lock = threading.Condition()
        self.queue: list[int] = []
        self.tickets = 0

    def take(self, gpu: int, ram: int, deadline: float) -> bool:
        """Wait for this run's turn and room (False once the deadline passes)."""
        with self.lock:
            self.tickets += 1
            ticket = self.tickets
            self.queue.append(ticket)
            while not (self.queue[0] == ticket and gpu <= self.gpu and ram <= self.ram
                       and self.procs > 0):
                if time.monotonic() > deadline:
                    self.queue.remove(ticket)
                    self.lock.notify_all()
                    return False
                self.lock.wait(1.0)
            self.queue.pop(0)
            self.gpu -= gpu
            self.ram -= ram
            self.procs -= 1
            self.lock.notify_all()
            return True

    def give(self, gpu: int, ram: int) -> None:
        """Hand a finished run's share back."""
        with self.lock:
            self.gpu += gpu
            self.ram += ram
            self.procs += 1
            self.lock.notify_all()


class Capped:
    """The capped phase: generous run, then the bracketing cards, for every case."""

    def __init__(self, args: argparse.Namespace, peaks: ProcessPeaks, context: int,
                 sink: Any) -> None:
        self.args, self.peaks, self.context, self.sink = args, peaks, context, sink
        self.deadline = time.monotonic() + args.budget_s
        free = int(args.pool_gib * GIB)
        self.pool = Pool(free, int(args.ram_gib * GIB), args.max_procs)
        self.threads: list[threading.Thread] = []
        #: (case, role) -> result of an earlier call's finished run (``--resume``)
        self.prior: dict[tuple[str, str], dict[str, Any]] = {}
        for path in args.resume or []:
            for line in Path(path).read_text(encoding="utf-8").splitlines():
                entry = json.loads(line)
                if entry["result"].get("status") in ("ok", "oom", "error"):
                    self.prior[(entry["name"], entry["role"])] = entry["result"]

    def _one(self, case: dict[str, Any], cap: int | None, role: str, card: int | None
             ) -> dict[str, Any] | None:
        done = self.prior.get((case["name"], role))
        if done is not None:  # measured by an earlier call (--resume)
            return done
        gpu = (cap or int(case["reserve_gib"] * GIB)) + int(1.2 * GIB)
        gpu = max(gpu, int(case.get("build_gib", 0) * GIB))
        ram = int((3 + case.get("ram_gib", 0)) * GIB)
        if not self.pool.take(gpu, ram, self.deadline):
            return None
        try:
            left = self.deadline + self.args.grace_s - time.monotonic()
            res = run_child(case, cap, max(10.0, min(self.args.case_timeout_s, left)),
                            self.peaks, self.args.device)
        finally:
            self.pool.give(gpu, ram)
        entry = {"name": case["name"], "role": role, "card_gib": card, "cap_bytes": cap,
                 "time": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "result": res}
        self.sink(entry)
        return res

    def _case(self, case: dict[str, Any]) -> None:
        cap = int(case["reserve_gib"] * GIB)
        res = self._one(case, cap, "generous", None)
        if res is not None and res.get("status") == "oom" and case["reserve_gib"] < 60:
            res = self._one(case, min(2 * cap, 70 * GIB), "generous-retry", None)
        if (res is None or res.get("status") != "ok" or case.get("no_bracket")
                or self.args.generous_only):
            return
        # the CPU dry run has no allocator figures: a made-up 9 GiB walks both ways
        peak = int(res.get("max_allocated_bytes") or 9 * GIB)
        caps = {n: card_cap(n, self.context) for n in CARDS}
        above = [n for n in CARDS if caps[n] >= peak]
        below = [n for n in CARDS if caps[n] < peak]
        lo = threading.Thread(target=self._walk, args=(case, list(reversed(below)), caps, "ok"))
        lo.start()
        self._walk(case, above, caps, "oom")
        lo.join()

    def _walk(self, case: dict[str, Any], cards: list[int], caps: dict[int, int],
              stop_on_not: str) -> None:
        """Try ``cards`` in order until the status is no longer the surprising one: upwards
        until a run passes, downwards until one fails."""
        for n in cards:
            res = self._one(case, caps[n], f"card-{n}", n)
            if res is None:
                return
            if res.get("status") not in ("ok", "oom"):
                return
            if (res["status"] == "ok") == (stop_on_not == "oom"):
                return

    def run(self, cases: list[dict[str, Any]]) -> None:
        """Every case in its own thread; the pool decides what runs when."""
        # jobs that fit no card of the list last; the rest largest first
        for case in sorted(cases, key=lambda c: (bool(c.get("no_bracket")), -c["reserve_gib"])):
            t = threading.Thread(target=self._case, args=(case,))
            t.start()
            self.threads.append(t)
            time.sleep(0.05)
        for t in self.threads:
            t.join()


def main(argv: list[str] | None = None) -> int:
    """Run the phases; write the records."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--grid", default="capped", help="capped | sd-refit | sd-tiled | tiny")
    parser.add_argument("--phases", default="context,speed,capped,fsdp")
    parser.add_argument("--device", default="cuda", choices=("cuda", "cpu"))
    parser.add_argument("--out", type=Path)
    parser.add_argument("--budget-s", type=float, default=400.0,
                        help="start no capped run after this many seconds of that phase")
    parser.add_argument("--speed-budget-s", type=float, default=110.0)
    parser.add_argument("--grace-s", type=float, default=40.0)
    parser.add_argument("--case-timeout-s", type=float, default=180.0)
    parser.add_argument("--pool-gib", type=float, default=None,
                        help="GPU memory the runs may reserve together (default: free - 6 GiB)")
    parser.add_argument("--ram-gib", type=float, default=100.0)
    parser.add_argument("--max-procs", type=int, default=8)
    parser.add_argument("--only", help="cases whose name contains this text (several: "
                        "comma-separated, any of them)")
    parser.add_argument("--generous-only", action="store_true",
                        help="capped phase: the generous run of each case, no card runs")
    parser.add_argument("--resume", nargs="*", type=Path,
                        help="capped.jsonl files of earlier calls: their finished runs count")
    parser.add_argument("--list", action="store_true")
    args = parser.parse_args(argv)
    phases = grid_mod.phases(args.grid)
    if args.only:
        wanted_names = [w for w in args.only.split(",") if w]
        phases = {k: [c for c in v if any(w in c["name"] for w in wanted_names)]
                  for k, v in phases.items()}
    if args.list:
        for k, v in phases.items():
            for c in v:
                print(f"{k}: {c['name']} holdout={c.get('holdout', False)} "
                      f"reserve={c.get('reserve_gib')}")
        return 0
    if args.out is None:
        parser.error("--out is required unless --list")
    args.out.mkdir(parents=True, exist_ok=True)
    jsonl = args.out / "capped.jsonl"
    lock = threading.Lock()
    runs: list[dict[str, Any]] = []

    def sink(entry: dict[str, Any]) -> None:
        with lock:
            runs.append(entry)
            with jsonl.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(entry) + "\n")
            r = entry["result"]
            print(f"[{entry['time'][11:]}] {entry['name']} {entry['role']}: {r.get('status')} "
                  f"alloc={(r.get('max_allocated_bytes') or 0) / GIB:.2f} "
                  f"res={(r.get('max_reserved_bytes') or 0) / GIB:.2f} "
                  f"proc={(r.get('nvml_process_peak_bytes') or 0) / GIB:.2f} GiB "
                  f"t={r.get('wall_seconds')}s {str(r.get('error', ''))[:160]}", flush=True)

    peaks = ProcessPeaks()
    doc: dict[str, Any] = {
        "schema": SCHEMA, "version": 1,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "gpu": peaks.facts(), "software": grid_mod.software_versions(),
        "method": grid_mod.METHOD, "cards_gib": list(CARDS), "configs": grid_mod.configs_used(),
    }
    wanted = args.phases.split(",")
    context = int(0.5 * GIB)
    start = time.monotonic()
    for path in args.resume or []:  # the earlier call's context measurement
        for line in path.read_text(encoding="utf-8").splitlines():
            entry = json.loads(line)
            if entry["role"] == "context" and "context" not in wanted:
                runs.append(entry)
                measured = [s["beside_allocator_bytes"] for s in
                            entry["result"].get("stages") or []
                            if s.get("beside_allocator_bytes") is not None]
                context = max(measured) if measured else context
    for case in phases.get("context", []) if "context" in wanted else []:
        res = run_child(case, None, 120, peaks, args.device)
        sink({"name": case["name"], "role": "context", "card_gib": None, "cap_bytes": None,
              "time": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "result": res})
        stages = res.get("stages") or []
        measured = [s["beside_allocator_bytes"] for s in stages
                    if s.get("beside_allocator_bytes") is not None]
        if measured:
            context = max(measured)
    if args.pool_gib is None:
        gpu = doc["gpu"]
        args.pool_gib = ((gpu["total_bytes"] - gpu["used_idle_bytes"]) / GIB - 6.0
                         if gpu else 8.0)
    doc["pool_gib"] = args.pool_gib
    doc["context_bytes_for_caps"] = context
    doc["card_caps_bytes"] = {str(n): card_cap(n, context) for n in CARDS}
    print("caps (GiB):", {n: round(card_cap(n, context) / GIB, 3) for n in CARDS}, flush=True)
    speed_end = time.monotonic() + args.speed_budget_s
    for case in phases.get("speed", []) if "speed" in wanted else []:
        if time.monotonic() > speed_end:
            print(f"speed budget spent: skipping {case['name']}", flush=True)
            continue
        res = run_child(case, None, args.case_timeout_s, peaks, args.device)
        sink({"name": case["name"], "role": "speed", "card_gib": None, "cap_bytes": None,
              "time": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "result": res})
    capped = [c for k in ("capped", "fsdp") if k in wanted for c in phases.get(k, [])]
    if capped:
        Capped(args, peaks, context, sink).run(capped)
    doc["runs"] = runs
    doc["cases"] = {c["name"]: c for cs in phases.values() for c in cs}
    doc["elapsed_s"] = round(time.monotonic() - start, 1)
    (args.out / "capped.json").write_text(json.dumps(doc) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
