"""The one door to NVML: the only module of rigready that imports ``pynvml`` (nvidia-ml-py).

**One session per process.** :func:`nvml_door` returns the process-wide :class:`NvmlDoor`.
It calls ``nvmlInit`` lazily, on the first question asked, under a lock, and keeps the session
for the life of the process; ``nvmlShutdown`` runs once at exit (``atexit``). Detection, the
monitor, benchmark telemetry, measuring and the machine fingerprint all share it. Why not a
reference count that shuts NVML down when the last user lets go: ``nvmlInit`` costs about
110 ms on an H200 (``tests/data/monitor/h200-2026-11-22/nvml_probe.json``), and the window opens
and closes those users all the time (detect, then a benchmark, then the monitor page); a
process-lifetime session pays it once. The cost is an open handle on ``/dev/nvidia*`` while the
process lives, which the monitor needed anyway. NVML's own calls are thread-safe; the door's lock
guards only its bookkeeping (session, handles, which call answers each field). A forked child
(the calibration benchmark forks) drops the inherited session and starts its own.

**Errors become None with a reason.** No method raises for an NVML failure: every value that
could not be read is None and named in the result's ``unknown`` map with an
:class:`~rigready.gpu.types.Unknown` whose kind tells "not supported" (switch the field off) from
"GPU is lost" (start the session again: :meth:`NvmlDoor.reset`) from "try again" (a timeout),
and whose reason is NVML's own text ("Not Supported", "Insufficient Permissions", "GPU is lost").
A field NVML says it does not support is not asked again until :meth:`NvmlDoor.reset`. Why the
whole library is unusable (no driver, driver not loaded, no binding) is :meth:`NvmlDoor.status`,
in a sentence for people.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import os
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any

from rigready.gpu import nvml_fields as nf
from rigready.gpu.types import (
    DEFAULT_GROUPS,
    SAMPLE_FIELDS,
    DisplayState,
    GpuDevice,
    GpuFacts,
    GpuProcessUse,
    GpuReading,
    ProcessList,
    Unknown,
)
from rigready.gpu.vendor import ProcessNames, psutil_name


class NvmlDoor:
    """NVIDIA GPUs through NVML, one session per door (see the module's docstring)."""

    def __init__(self, *, module: Any = None,
                 process_name: Callable[[int], str | None] = psutil_name,
                 platform: str = sys.platform) -> None:
        """Make a door; nothing is loaded or initialised until the first question.

        Args:
            module: Stand-in for the ``pynvml`` module (tests); imported on first use when None.
            process_name: pid -> process name (psutil by default; None where unknown).
            platform: ``sys.platform`` (tests ask for "darwin").
        """
        self._module = module
        self._import = module is None
        self._platform = platform
        self._names = ProcessNames(process_name)
        self._lock = threading.RLock()
        self._tried = False
        self._up = False
        self._why: Unknown | None = None
        self._count = 0
        self._handles: dict[int, Any] = {}
        self._chosen: dict[tuple[int, str], int] = {}
        self._off: dict[tuple[int, str], Unknown] = {}
        self._atexit = False

    @property
    def name(self) -> str:
        """Door name used in notes and logs."""
        return "nvml"

    # -- the session -------------------------------------------------------------------

    def _start(self) -> Unknown | None:
        """Initialise NVML once (under the lock); the outcome is kept until :meth:`reset`."""
        with self._lock:
            if self._tried:
                return self._why
            self._tried = True
            self._why = self._init()
            return self._why

    def _init(self) -> Unknown | None:
        if self._platform == "darwin":
            return Unknown("library_not_found", "no NVIDIA driver on macOS")
        if self._module is None:
            missing = Unknown("package_missing",
                              "nvidia-ml-py is not installed (pip install nvidia-ml-py)")
            if not _installed("pynvml"):
                return missing
            no_library = _no_linux_library(self._platform)
            if no_library is not None:
                return self._explain(no_library)
            try:
                import pynvml  # the one import of nvidia-ml-py in rigready (a contract checks)
            except ImportError:
                return missing
            self._module = pynvml
        n = self._module
        try:
            n.nvmlInit()
        except OSError as exc:  # a broken library file
            return Unknown("library_not_found", f"no NVIDIA driver found ({exc})")
        except Exception as exc:  # noqa: BLE001 - NVMLError and whatever a binding raises
            return self._explain(self._unknown(exc))
        self._up = True
        if self._import and not self._atexit:
            atexit.register(self.shutdown)
            self._atexit = True
        count = self._call(lambda: int(n.nvmlDeviceGetCount()))
        if isinstance(count, Unknown):
            return Unknown(count.kind, f"NVML could not count its GPUs ({count.reason})")
        self._count = count
        return None if count else Unknown("no_device", "NVML found no NVIDIA GPU")

    def _explain(self, why: Unknown) -> Unknown:
        library = "nvml.dll" if self._platform == "win32" else "libnvidia-ml.so.1"
        sentence = nf.START_FAILURES.get(why.kind, "NVML failed to start ({reason})")
        return Unknown(why.kind, sentence.format(library=library, reason=why.reason))

    def status(self) -> Unknown | None:
        """None when NVML works and sees a GPU; else why not, in a sentence for people."""
        return self._start()

    def devices(self) -> tuple[GpuDevice, ...]:
        """Every GPU NVML sees, by NVML index (empty when :meth:`status` says why)."""
        if self._start() is not None:
            return ()
        return tuple(GpuDevice("nvidia", i, str(i)) for i in range(self._count))

    def reset(self) -> None:
        """Shut NVML down and forget everything; the next question initialises it again.

        For a lost GPU or a reloaded driver: every handle of the old session is dead.
        """
        with self._lock:
            self._shutdown()
            self._tried = False
            self._why = None
            self._count = 0
            self._chosen.clear()
            self._off.clear()
            self._names.clear()

    def shutdown(self) -> None:
        """``nvmlShutdown`` (at exit); a later question initialises NVML again."""
        with self._lock:
            self._shutdown()
            self._tried = False
            self._why = None

    def forget_after_fork(self) -> None:
        """In a forked child: drop the parent's session without shutting it down.

        The child asks NVML again on its first question (its own ``nvmlInit``), as a fresh
        process would; the locks are new, since a parent thread may have held them at the fork.
        """
        self._lock = threading.RLock()
        self._names = ProcessNames(self._names.lookup)
        self._tried = self._up = False
        self._why = None
        self._count = 0
        self._handles.clear()
        self._chosen.clear()
        self._off.clear()

    def _shutdown(self) -> None:
        self._handles.clear()
        if self._up:
            self._up = False
            # Shutting down a broken library may fail too; there is nothing more to do then.
            with contextlib.suppress(Exception):
                self._module.nvmlShutdown()

    # -- calls -------------------------------------------------------------------------

    def _unknown(self, exc: BaseException) -> Unknown:
        code = getattr(exc, "value", None)
        if isinstance(code, int) and isinstance(exc, getattr(self._module, "NVMLError", ())):
            try:
                reason = str(exc)
            except Exception:  # noqa: BLE001 - str() asks the library, which may be gone
                reason = f"NVML error {code}"
            return Unknown(nf.CODE_KINDS.get(code, "error"), reason)
        return Unknown("error", f"{type(exc).__name__}: {exc}")

    def _call(self, call: Callable[..., Any], *args: Any) -> Any:
        """``call(*args)``, or an :class:`Unknown` saying why it failed."""
        try:
            return call(*args)
        except AttributeError as exc:  # an older nvidia-ml-py without this function
            name = getattr(exc, "name", None) or str(exc)
            return Unknown("function_missing", f"{name} missing from this nvidia-ml-py")
        except Exception as exc:  # noqa: BLE001 - any driver oddity is one missing value
            return self._unknown(exc)

    def _handle(self, device: GpuDevice) -> Any:
        """The NVML handle of ``device`` (cached for the session), or an Unknown."""
        why = self._start()
        if why is not None:
            return why
        handle = self._handles.get(device.index)
        if handle is None:
            handle = self._call(lambda: self._module.nvmlDeviceGetHandleByIndex(device.index))
            if not isinstance(handle, Unknown):
                with self._lock:
                    self._handles[device.index] = handle
        return handle

    # -- facts -------------------------------------------------------------------------

    def facts(self, device: GpuDevice) -> GpuFacts:
        """Name, ids, memory size, driver and CUDA version, limits, link, NVLink."""
        values: dict[str, Any] = {}
        unknown: dict[str, Unknown] = {}
        handle = self._handle(device)
        n = self._module
        for key, system_call in nf.SYSTEM_FACTS:
            if isinstance(handle, Unknown):
                unknown[key] = handle
                continue
            self._store(key, self._call(system_call, n), values, unknown)
        for key, call in nf.FACTS:
            if isinstance(handle, Unknown):
                unknown[key] = handle
                continue
            self._store(key, self._call(call, n, handle), values, unknown)
        if isinstance(handle, Unknown):
            unknown["nvlink_links"] = handle
        else:
            self._store("nvlink_links", self._nvlink_links(handle), values, unknown)
        return GpuFacts(device=device, unknown=unknown, **values)

    @staticmethod
    def _store(key: str, value: Any, values: dict[str, Any], unknown: dict[str, Unknown]) -> None:
        if isinstance(value, Unknown):
            unknown[key] = value
        elif value is None:
            unknown[key] = Unknown("not_applicable", "NVML reports none (0)")
        else:
            values[key] = value

    def _nvlink_links(self, handle: Any) -> int | Unknown:
        n = self._module
        active = 0
        for link in range(nf.max_links(n)):
            state = self._call(nf.invoke, n, "nvmlDeviceGetNvLinkState", handle, link)
            if isinstance(state, Unknown):
                if link > 0:
                    break  # past the last link this GPU has
                # NVML's answer for a GPU without NVLink (every GeForce card since the 40
                # series): it talks to other GPUs over PCIe, so 0 links is the fact.
                return 0 if state.kind == "not_supported" else state
            active += int(nf.link_enabled(n, state))
        return active

    # -- live readings -----------------------------------------------------------------

    def sample(self, device: GpuDevice, groups: Iterable[str] | None = None) -> GpuReading:
        """Read ``groups`` (keys of ``SAMPLE_FIELDS``; None: all but PCIe throughput) now.

        Each group uses the first of its calls that answers (newest API first), remembered per
        GPU; a group NVML does not support is not asked again until :meth:`reset`. After a
        fatal error (GPU lost) the remaining groups are not tried: they carry the same reason.
        """
        values: dict[str, Any] = {}
        unknown: dict[str, Unknown] = {}
        handle = self._handle(device)
        fatal: Unknown | None = handle if isinstance(handle, Unknown) else None
        for key in DEFAULT_GROUPS if groups is None else groups:
            why = fatal or self._read_group(device.index, handle, key, values)
            if why is not None:
                fatal = fatal or (why if why.fatal else None)
                for name in SAMPLE_FIELDS[key]:
                    unknown[name] = why
        return GpuReading(device=device, unknown=unknown, **values)

    def _read_group(self, index: int, handle: Any, key: str,
                    values: dict[str, Any]) -> Unknown | None:
        off = self._off.get((index, key))
        if off is not None:
            return off
        group = nf.GROUPS[key]
        last: Unknown | None = None
        for position in range(self._chosen.get((index, key), 0), len(group.calls)):
            call = group.calls[position]
            raw = self._call(nf.apply, group.apply, call, self._module, handle)
            if not isinstance(raw, Unknown):
                self._chosen[(index, key)] = position
                values.update(raw)
                return None
            if not raw.permanent:
                return raw  # fatal or transient: no older call will do better now
            last = raw
        assert last is not None
        self._off[(index, key)] = last
        return last

    # -- processes and display ---------------------------------------------------------

    def processes(self, device: GpuDevice) -> ProcessList:
        """Compute and graphics processes on the GPU, one entry per pid, with names.

        A pid on both lists is one entry (kind "compute+graphics") holding the larger of its two
        figures. When one list fails the other is returned with ``unknown`` saying which failed.
        """
        handle = self._handle(device)
        if isinstance(handle, Unknown):
            return ProcessList(device, None, handle)
        memory: dict[int, int | None] = {}
        kinds: dict[int, list[str]] = {}
        failed: list[tuple[str, Unknown]] = []
        for kind, function in nf.PROCESS_LISTS:
            got = self._call(nf.invoke, self._module, function, handle)
            if isinstance(got, Unknown):
                failed.append((kind, got))
                continue
            for info in got:
                pid = int(info.pid)
                used = getattr(info, "usedGpuMemory", None)
                used = None if used is None or used == nf.NOT_AVAILABLE else int(used)
                prior = memory.get(pid)
                memory[pid] = used if prior is None else max(prior, used or 0)
                kinds.setdefault(pid, []).append(kind)
        if len(failed) == len(nf.PROCESS_LISTS) or any(why.fatal for _, why in failed):
            return ProcessList(device, None, failed[0][1])
        names = self._names.names(device.key, memory)
        out = tuple(GpuProcessUse(pid, names.get(pid), memory[pid], nf.process_kind(kinds[pid]))
                    for pid in sorted(memory))
        why = None
        if failed:
            kind, first = failed[0]
            why = Unknown(first.kind, f"{kind} processes: {first.reason}")
        return ProcessList(device, out, why)

    def display(self, device: GpuDevice) -> DisplayState:
        """Whether a monitor is connected to the GPU and whether a display runs on it."""
        handle = self._handle(device)
        values: dict[str, Any] = {}
        unknown: dict[str, Unknown] = {}
        for key, function in nf.DISPLAY:
            if isinstance(handle, Unknown):
                unknown[key] = handle
                continue
            raw = self._call(nf.invoke, self._module, function, handle)
            if isinstance(raw, Unknown):
                unknown[key] = raw
            else:
                values[key] = nf.link_enabled(self._module, raw)
        return DisplayState(device, unknown=unknown, **values)


_door: NvmlDoor | None = None
_door_lock = threading.Lock()


def _after_fork_in_child() -> None:
    global _door_lock
    _door_lock = threading.Lock()
    if _door is not None:
        _door.forget_after_fork()


if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _installed(name: str) -> bool:
    """Whether ``name`` can be imported, without importing it."""
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # ValueError: a None placed in sys.modules (tests)
        return False


def _no_linux_library(platform: str) -> Unknown | None:
    """On Linux, why NVML cannot start when its library does not load, asked before the
    binding is imported: nvidia-ml-py opens ``libnvidia-ml.so.1`` by that name and nothing
    else, so a failed open here is its own ``LibraryNotFound``, and a PC without an NVIDIA
    driver skips the binding's import (about 10 ms of every ``rigready detect``; issue 20's
    start-up target). The loader keeps the library, so the binding's own open is free."""
    if not platform.startswith("linux"):
        return None
    import ctypes

    try:
        ctypes.CDLL(LINUX_LIBRARY)
    except OSError as exc:
        return Unknown("library_not_found", str(exc))
    return None


#: The file nvidia-ml-py loads on Linux (``pynvml._LoadNvmlLibrary``).
LINUX_LIBRARY = "libnvidia-ml.so.1"


def nvml_door() -> NvmlDoor:
    """The process-wide door (made on first call; NVML itself starts on the first question)."""
    global _door
    with _door_lock:
        if _door is None:
            _door = NvmlDoor()
        return _door


def set_nvml_door(door: NvmlDoor | None) -> NvmlDoor | None:
    """Make ``door`` the process-wide door (tests put one over a fake module); returns the old.

    None forgets the current door, so the next :func:`nvml_door` makes a fresh one.
    """
    global _door
    with _door_lock:
        old, _door = _door, door
        return old
