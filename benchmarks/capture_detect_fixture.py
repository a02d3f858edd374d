"""Copy the files rigready's hardware detection reads into a folder, for parser tests.

    python3 benchmarks/capture_detect_fixture.py OUT_DIR

The tree keeps sysfs's symbolic links (relative, as the kernel writes them), so
``rigready.assess.detect.detect_rig(root=OUT_DIR)`` reads it exactly as it reads ``/``. Next to the
tree:

* ``capture.json``: date, machine, kernel, Python, library and driver versions, and errors;
* ``statvfs.json``: total and free bytes of every mount point;
* ``nvml.json``: every NVML value detection reads, raw (or NVML's error for it), per GPU;
* ``commands/``: ``dmidecode -t 16,17`` and ``nvidia-smi -q`` output when they can run.

Serial numbers and UUID-like identifiers of disks and memory are left out. Only the standard
library is needed (nvidia-ml-py for ``nvml.json``); it runs as any user, and sees more as root.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import platform
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
# rigready.* from a checkout with nothing installed (made by packaging/pkgroot.py)
sys.path.insert(0, str(REPO / "build" / "pkgroot"))

MAX_FILE = 4 * 1024 * 1024
_PRIVATE = re.compile(r"SERIAL|_WWN|UUID|Serial Number|Asset Tag", re.IGNORECASE)
_BDF = re.compile(r"[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]")


class Capture:
    """Copies live paths below ``out``, recreating every symlink met on the way."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.errors: list[str] = []
        self.files = 0

    def _dest(self, live: str) -> Path:
        return self.out / live.lstrip("/")

    def ensure(self, live: str, depth: int = 0) -> None:
        """Copy ``live`` (a file or folder path), keeping links along it as links."""
        if depth > 40:
            self.errors.append(f"{live}: too many links")
            return
        parts = Path(live).parts[1:]
        cur = "/"
        for i, part in enumerate(parts):
            nxt = os.path.join(cur, part)
            if os.path.islink(nxt):
                target = os.readlink(nxt)
                dest = self._dest(nxt)
                if not os.path.lexists(dest):
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    rel = (os.path.relpath(target, os.path.dirname(nxt))
                           if os.path.isabs(target) else target)
                    os.symlink(rel, dest)
                resolved = os.path.normpath(os.path.join(cur, target))
                self.ensure(os.path.join(resolved, *parts[i + 1:]), depth + 1)
                return
            cur = nxt
        self._copy_leaf(cur)

    def _copy_leaf(self, live: str) -> None:
        dest = self._dest(live)
        if os.path.isdir(live):
            dest.mkdir(parents=True, exist_ok=True)
            return
        if not os.path.isfile(live):
            return
        try:
            if os.path.getsize(live) > MAX_FILE:
                self.errors.append(f"{live}: larger than {MAX_FILE} bytes, skipped")
                return
            with open(live, "rb") as fh:
                data = fh.read()
        except OSError as exc:
            if exc.errno not in (13, 5, 22, 61, 95):  # EACCES, EIO, EINVAL, ENODATA, EOPNOTSUPP
                self.errors.append(f"{live}: {exc.strerror}")
            return
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)
        self.files += 1

    def write(self, rel: str, text: str) -> None:
        dest = self.out / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(text, encoding="utf-8")
        self.files += 1

    def files_in(self, live_dir: str, names: tuple[str, ...]) -> None:
        for name in names:
            if os.path.lexists(os.path.join(live_dir, name)):
                self.ensure(os.path.join(live_dir, name))


def _ls(path: str) -> list[str]:
    try:
        return sorted(os.listdir(path))
    except OSError:
        return []


def capture_cpu(c: Capture) -> None:
    base = "/sys/devices/system/cpu"
    c.files_in(base, ("online", "possible", "present"))
    for cpu in _ls(base):
        if not re.fullmatch(r"cpu[0-9]+", cpu):
            continue
        c.files_in(f"{base}/{cpu}/topology", ("core_cpus_list", "thread_siblings_list",
                                               "core_id", "physical_package_id", "die_id"))
        c.files_in(f"{base}/{cpu}/cpufreq", (
            "base_frequency", "cpuinfo_max_freq", "cpuinfo_min_freq", "scaling_max_freq",
            "cpuinfo_nominal_freq", "amd_pstate_max_freq", "scaling_driver"))
        for index in _ls(f"{base}/{cpu}/cache"):
            if index.startswith("index"):
                c.files_in(f"{base}/{cpu}/cache/{index}",
                           ("level", "type", "size", "shared_cpu_list"))


def capture_block(c: Capture) -> None:
    disk_files = ("size", "removable", "ro", "hidden", "dev", "queue/rotational",
                  "device/model", "device/vendor", "device/rev", "device/name", "device/type",
                  "device/transport", "dm/name")
    for name in _ls("/sys/block"):
        base = f"/sys/block/{name}"
        c.files_in(base, disk_files)
        for sub in ("holders", "slaves"):
            for link in _ls(f"{base}/{sub}"):
                c.ensure(f"{base}/{sub}/{link}/dev")
        for part in _ls(base):
            if os.path.exists(f"{base}/{part}/partition"):
                c.files_in(f"{base}/{part}", ("partition", "dev", "size", "start"))
                for link in _ls(f"{base}/{part}/holders"):
                    c.ensure(f"{base}/{part}/holders/{link}/dev")
        dev = _read(f"{base}/dev")
        if dev:
            _udev(c, f"/run/udev/data/b{dev}")
        nvme = f"{base}/device/device"
        if name.startswith("nvme") and os.path.exists(nvme):
            c.files_in(nvme, ("current_link_speed", "current_link_width", "max_link_speed",
                              "max_link_width", "class", "vendor", "device"))
    for sub in ("/sys/dev/block", "/sys/class/block"):
        for entry in _ls(sub):
            c.files_in(f"{sub}/{entry}", ("dev", "partition"))
    for ctrl in _ls("/sys/class/nvme"):
        base = f"/sys/class/nvme/{ctrl}"
        c.files_in(base, ("model", "transport", "address", "firmware_rev"))
        c.files_in(f"{base}/device", ("current_link_speed", "current_link_width",
                                      "max_link_speed", "max_link_width"))


def capture_pci(c: Capture) -> list[tuple[int, int]]:
    """PCI functions (all: class/vendor/device; links up the tree), GPU extras. Returns ids."""
    ids: list[tuple[int, int]] = []
    gpu_files = ("product_name", "mem_info_vram_total", "mem_info_gtt_total",
                 "mem_info_vis_vram_total", "boot_vga", "driver")
    link_files = ("current_link_speed", "current_link_width", "max_link_speed", "max_link_width")
    base = "/sys/bus/pci/devices"
    for bdf in _ls(base):
        c.files_in(f"{base}/{bdf}", ("class", "vendor", "device", "subsystem_vendor",
                                     "subsystem_device", *link_files))
        klass = _read(f"{base}/{bdf}/class") or ""
        if klass.startswith(("0x03", "0x0108")):
            real = os.path.realpath(f"{base}/{bdf}")
            while _BDF.fullmatch(os.path.basename(real)):
                c.files_in(real, ("class", "vendor", "device", *link_files))
                real = os.path.dirname(real)
        if klass.startswith("0x03"):
            c.files_in(f"{base}/{bdf}", gpu_files)
            for hwmon in _ls(f"{base}/{bdf}/hwmon"):
                c.files_in(f"{base}/{bdf}/hwmon/{hwmon}",
                           ("name", "power1_cap", "power1_cap_max", "power1_cap_default"))
            with contextlib.suppress(ValueError):
                ids.append((int(_read(f"{base}/{bdf}/vendor") or "0", 16),
                            int(_read(f"{base}/{bdf}/device") or "0", 16)))
    for card in _ls("/sys/class/drm"):
        if re.fullmatch(r"card[0-9]+", card):
            c.files_in(f"/sys/class/drm/{card}", ("dev",))
    nodes = "/sys/class/kfd/kfd/topology/nodes"
    for node in _ls(nodes):
        c.files_in(f"{nodes}/{node}", ("properties", "name"))
    return ids


def capture_pci_ids(c: Capture, ids: list[tuple[int, int]]) -> None:
    """A filtered pci.ids: only the vendor and device lines of the display devices present."""
    for rel in ("usr/share/hwdata/pci.ids", "usr/share/misc/pci.ids", "usr/share/pci.ids"):
        try:
            lines = Path("/", rel).read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            continue
        keep: list[str] = ["# filtered by benchmarks/capture_detect_fixture.py"]
        vendor: int | None = None
        for line in lines:
            if line and line[0] not in "\t#C":
                vendor = int(line[:4], 16) if re.match(r"[0-9a-f]{4} ", line) else None
                if any(v == vendor for v, _ in ids):
                    keep.append(line)
            elif line.startswith("\t") and not line.startswith("\t\t") and vendor is not None \
                    and (vendor, int(line[1:5], 16)) in ids:
                keep.append(line)
        c.write(rel, "\n".join(keep) + "\n")
        return


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read().strip()
    except (OSError, UnicodeDecodeError):
        return None


def _udev(c: Capture, path: str) -> None:
    text = _read(path)
    if text is not None:
        kept = [line for line in text.splitlines() if not _PRIVATE.search(line)]
        c.write(path.lstrip("/"), "\n".join(kept) + "\n")


def _run(cmd: list[str]) -> str | None:
    if shutil.which(cmd[0]) is None:
        return None
    try:
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"# failed: {exc}\n"
    text = "\n".join(line for line in result.stdout.splitlines() if not _PRIVATE.search(line))
    return f"# exit status {result.returncode}\n{text}\n"


def capture_nvml() -> dict[str, Any]:
    """Raw NVML values, keyed by what ``tests/helpers/fake_pynvml.replay_capture`` replays.

    This script reads ``pynvml`` itself (not rigready's door), so the file holds what NVML
    answered, before any conversion; the replay then runs the door's conversions on it.
    """
    from rigready.gpu.nvml import NvmlDoor

    why = NvmlDoor().status()  # the sentence detection shows when NVML cannot start
    if why is not None and why.kind != "no_device":
        return {"unavailable": why.reason}
    import pynvml

    pynvml.nvmlInit()

    def value(call: Any, *args: Any) -> dict[str, Any]:
        try:
            got = call(*args)
        except pynvml.NVMLError as exc:
            return {"error": str(exc)}
        except AttributeError:
            return {"error": "Function Not Found"}
        return {"value": got.decode() if isinstance(got, bytes) else got}

    def links(handle: Any) -> dict[str, Any]:
        first = value(pynvml.nvmlDeviceGetNvLinkState, handle, 0)
        if "error" in first:
            return first
        active = 0
        for link in range(int(getattr(pynvml, "NVML_NVLINK_MAX_LINKS", 18))):
            state = value(pynvml.nvmlDeviceGetNvLinkState, handle, link)
            if "error" in state:
                break
            active += int(state["value"] == pynvml.NVML_FEATURE_ENABLED)
        return {"value": active}

    n = pynvml
    out: dict[str, Any] = {"driver_version": value(n.nvmlSystemGetDriverVersion),
                           "cuda_driver_version": value(n.nvmlSystemGetCudaDriverVersion_v2),
                           "devices": []}
    try:
        for i in range(n.nvmlDeviceGetCount()):
            h = n.nvmlDeviceGetHandleByIndex(i)
            out["devices"].append({
                "name": value(n.nvmlDeviceGetName, h),
                "uuid": value(n.nvmlDeviceGetUUID, h),
                "pci_bus_id": value(lambda h=h: n.nvmlDeviceGetPciInfo(h).busId),
                "pci_device_id": value(lambda h=h: n.nvmlDeviceGetPciInfo(h).pciDeviceId),
                "memory_total": value(lambda h=h: n.nvmlDeviceGetMemoryInfo(h).total),
                "compute_capability": value(n.nvmlDeviceGetCudaComputeCapability, h),
                "power_limit_mw": value(n.nvmlDeviceGetEnforcedPowerLimit, h),
                "pcie_gen_max": value(n.nvmlDeviceGetMaxPcieLinkGeneration, h),
                "pcie_gen_current": value(n.nvmlDeviceGetCurrPcieLinkGeneration, h),
                "pcie_width_max": value(n.nvmlDeviceGetMaxPcieLinkWidth, h),
                "pcie_width_current": value(n.nvmlDeviceGetCurrPcieLinkWidth, h),
                "memory_bus_width": value(n.nvmlDeviceGetMemoryBusWidth, h),
                "num_cores": value(n.nvmlDeviceGetNumGpuCores, h),
                "max_sm_clock_mhz": value(n.nvmlDeviceGetMaxClockInfo, h, n.NVML_CLOCK_SM),
                "temperature_threshold_slowdown": value(
                    n.nvmlDeviceGetTemperatureThreshold, h,
                    n.NVML_TEMPERATURE_THRESHOLD_SLOWDOWN),
                "temperature_threshold_shutdown": value(
                    n.nvmlDeviceGetTemperatureThreshold, h,
                    n.NVML_TEMPERATURE_THRESHOLD_SHUTDOWN),
                "nvlink_active_links": links(h),
            })
    finally:
        with contextlib.suppress(pynvml.NVMLError):
            pynvml.nvmlShutdown()
    return out


def capture(out: Path) -> dict[str, Any]:
    c = Capture(out)
    for path in ("/proc/cpuinfo", "/proc/meminfo", "/proc/sys/kernel/arch",
                 "/proc/sys/kernel/osrelease", "/proc/sys/kernel/hostname", "/etc/os-release",
                 "/usr/lib/os-release"):
        if os.path.lexists(path):
            c.ensure(path)
    mountinfo = _read("/proc/self/mountinfo")
    if mountinfo is not None:
        c.write("proc/self/mountinfo", mountinfo + "\n")
    capture_cpu(c)
    capture_block(c)
    ids = capture_pci(c)
    capture_pci_ids(c, ids)
    for name in ("sys_vendor", "product_name", "board_vendor", "board_name", "bios_version",
                 "chassis_type"):
        c.files_in("/sys/class/dmi/id", (name,))
    if os.path.isdir("/sys/firmware/dmi"):
        c.ensure("/sys/firmware/dmi/tables")
    _udev(c, "/run/udev/data/+dmi:id")

    statvfs: dict[str, list[int]] = {}
    for line in (mountinfo or "").splitlines():
        fields = line.split()
        if len(fields) > 4:
            point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), fields[4])
            try:
                st = os.statvfs(point)
            except OSError:
                continue
            statvfs[point] = [st.f_blocks * st.f_frsize, st.f_bavail * st.f_frsize]
    c.write("statvfs.json", json.dumps(statvfs, indent=1, sort_keys=True) + "\n")

    for name, cmd in (("dmidecode-t-16-17.txt", ["dmidecode", "-t", "16,17"]),
                      ("nvidia-smi-q.txt", ["nvidia-smi", "-q"])):
        text = _run(cmd)
        if text is not None:
            c.write(f"commands/{name}", text)
    try:
        nvml = capture_nvml()
    except Exception as exc:  # noqa: BLE001 - the capture goes on without NVML
        nvml = {"unavailable": f"{type(exc).__name__}: {exc}"}
    c.write("nvml.json", json.dumps(nvml, indent=1) + "\n")

    manifest = {
        "captured": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": platform.node(),
        "platform": platform.platform(),
        "kernel": platform.release(),
        "python": sys.version.split()[0],
        "euid": os.geteuid() if hasattr(os, "geteuid") else None,
        "nvidia_ml_py": _dist_version("nvidia-ml-py"),
        "nvidia_driver": (nvml.get("driver_version") or {}).get("value"),
        "files": c.files,
        "errors": c.errors,
    }
    c.write("capture.json", json.dumps(manifest, indent=1) + "\n")
    return manifest


def _dist_version(name: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    manifest = capture(out)
    print(json.dumps({k: v for k, v in manifest.items() if k != "errors"}, indent=1))
    print(f"{len(manifest['errors'])} errors" + "".join(f"\n  {e}" for e in manifest["errors"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
