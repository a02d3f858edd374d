"""The NVML door: errors as None with a reason, per-process memory, display, sticky fields."""

from __future__ import annotations

import os
import sys
from types import SimpleNamespace
from typing import Any

import pynvml
import pytest

from rigready.gpu.nvml import NvmlDoor
from rigready.gpu.throttle import canonical_reasons, encode_clock_events
from rigready.gpu.types import DEFAULT_GROUPS, SAMPLE_FIELDS, GpuDevice, Unknown
from rigready.gpu.vendor import GpuDoor, ProcessNames, find_device, psutil_name
from tests.helpers.fake_pynvml import (
    GPU_IS_LOST,
    NOT_SUPPORTED,
    TIMEOUT,
    Fail,
    FakePynvml,
    door,
    h100_like,
)

GPU0 = GpuDevice("nvidia", 0, "0")

#: nvidia-ml-py's own exception classes -> the kind the door gives, and NVML's words.
REAL_ERRORS: list[tuple[type[Exception], str, str]] = [
    (pynvml.NVMLError_NotSupported, "not_supported", "Not Supported"),
    (pynvml.NVMLError_NoPermission, "no_permission", "Insufficient Permissions"),
    (pynvml.NVMLError_GpuIsLost, "gpu_lost", "GPU is lost"),
    (pynvml.NVMLError_DriverNotLoaded, "driver_not_loaded", "Driver Not Loaded"),
    (pynvml.NVMLError_LibraryNotFound, "library_not_found", "NVML Shared Library Not Found"),
    (pynvml.NVMLError_FunctionNotFound, "function_missing", "Function Not Found"),
    (pynvml.NVMLError_Uninitialized, "uninitialized", "Uninitialized"),
    (pynvml.NVMLError_Timeout, "transient", "Timeout"),
    (pynvml.NVMLError_ResetRequired, "gpu_lost", "GPU requires restart"),
    (pynvml.NVMLError_LibRmVersionMismatch, "driver_mismatch",
     "RM has detected an NVML/RM version mismatch."),
    (pynvml.NVMLError_Unknown, "unknown_error", "Unknown Error"),
]


def test_the_door_is_a_gpu_vendor() -> None:
    assert isinstance(door(FakePynvml([h100_like()])), GpuDoor)


@pytest.mark.parametrize(("error", "kind", "words"), REAL_ERRORS)
def test_each_real_nvml_error_class_is_none_with_its_own_reason(
        error: type[Exception], kind: str, words: str) -> None:
    fake = FakePynvml([h100_like(temp=error(), fan=error())], NVMLError=pynvml.NVMLError)
    reading = door(fake).sample(GPU0, ("temperature", "power"))
    assert reading.temperature_c is None
    assert reading.unknown["temperature_c"] == Unknown(kind, words)  # type: ignore[arg-type]
    if reading.unknown["temperature_c"].fatal:
        # a broken session: the rest is not asked, it carries the same reason
        assert reading.power_w is None and reading.unknown["power_w"].kind == kind
    else:
        assert reading.power_w == pytest.approx(612.345)


def test_reasons_are_distinct_for_the_failures_people_must_tell_apart() -> None:
    assert len({words for _, _, words in REAL_ERRORS}) == len(REAL_ERRORS)
    assert len({kind for _, kind, _ in REAL_ERRORS[:6]}) == 6


def _module(init: Any) -> Any:
    return SimpleNamespace(NVMLError=pynvml.NVMLError, nvmlInit=init, nvmlShutdown=lambda: None)


def _raiser(exc: BaseException) -> Any:
    def init() -> None:
        raise exc
    return init


@pytest.mark.parametrize(("error", "kind", "sentence"), [
    (pynvml.NVMLError_LibraryNotFound(), "library_not_found",
     "no NVIDIA driver found (libnvidia-ml.so.1 not loadable)"),
    (pynvml.NVMLError_DriverNotLoaded(), "driver_not_loaded",
     "NVIDIA driver installed but not loaded (NVML: Driver Not Loaded)"),
    (pynvml.NVMLError_NoPermission(), "no_permission",
     "no permission to open the NVIDIA device (NVML: Insufficient Permissions)"),
    (pynvml.NVMLError_LibRmVersionMismatch(), "driver_mismatch",
     "NVIDIA driver and library versions differ (NVML); reboot after a driver update"),
    (pynvml.NVMLError_GpuIsLost(), "gpu_lost", "NVML failed to start (GPU is lost)"),
    (OSError("libnvidia-ml.so.1: bad ELF"), "library_not_found",
     "no NVIDIA driver found (libnvidia-ml.so.1: bad ELF)"),
])
def test_why_nvml_cannot_start_is_a_sentence(error: BaseException, kind: str,
                                             sentence: str) -> None:
    nvml = NvmlDoor(module=_module(_raiser(error)), platform="linux")
    assert nvml.status() == Unknown(kind, sentence)  # type: ignore[arg-type]
    assert nvml.devices() == ()
    reading = nvml.sample(GPU0)
    assert reading.utilization_pct is None and reading.unknown["utilization_pct"].kind == kind


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="loads libnvidia-ml.so.1")
def test_the_real_binding_without_its_library_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_library(name: str) -> Any:
        raise OSError(f"{name}: cannot open shared object file")

    monkeypatch.setattr(pynvml, "nvmlLib", None)
    monkeypatch.setattr(pynvml, "CDLL", no_library)
    nvml = NvmlDoor(module=pynvml)
    assert nvml.status() == Unknown("library_not_found",
                                    "no NVIDIA driver found (libnvidia-ml.so.1 not loadable)")


def test_missing_binding_and_macos(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)  # import fails
    assert NvmlDoor().status() == Unknown(
        "package_missing", "nvidia-ml-py is not installed (pip install nvidia-ml-py)")
    assert NvmlDoor(platform="darwin").status() == Unknown(
        "library_not_found", "no NVIDIA driver on macOS")


def test_no_gpu_is_its_own_kind() -> None:
    assert door(FakePynvml([])).status() == Unknown("no_device", "NVML found no NVIDIA GPU")


def test_facts_of_an_h100() -> None:
    facts = door(FakePynvml([h100_like(pci_device_id=0x233010DE, nvlink=18,
                                       compute_capability=(9, 0))])).facts(GPU0)
    assert (facts.name, facts.uuid, facts.pci_bus_id) == (
        "NVIDIA H100 80GB HBM3", "GPU-1234", "00000000:19:00.0")
    assert facts.pci_ids == (0x10DE, 0x2330) and facts.nvlink_links == 18
    assert facts.memory_total_bytes == 80 * 1024**3 and facts.power_limit_w == 700.0
    assert (facts.driver_version, facts.cuda_driver_version) == ("580.159.04", 13000)
    assert (facts.temp_slowdown_c, facts.temp_shutdown_c) == (89.0, 92.0)
    assert (facts.sm_clock_max_mhz, facts.memory_clock_max_mhz) == (1980.0, 2619.0)
    assert facts.compute_capability == (9, 0)
    assert facts.unknown["cuda_cores"] == Unknown("not_supported", "Not Supported")


def test_sample_every_group_and_units() -> None:
    reading = door(FakePynvml([h100_like(reasons=0x4 | 0x40 | 0x2000)])).sample(
        GPU0, (*DEFAULT_GROUPS, "pcie"))
    assert reading.power_w == pytest.approx(612.345) and reading.energy_j == pytest.approx(
        123_456.789)
    assert reading.throttle_mask == 0x4 | 0x40 | 0x2000
    assert reading.throttle_reasons == ("sw_power_cap", "hw_thermal_slowdown", "unknown_0x2000")
    assert (reading.pcie_tx_bytes_s, reading.pcie_rx_bytes_s) == (1000 * 1024.0, 2000 * 1024.0)
    assert set(reading.unknown) == {"fan_pct"}  # passively cooled
    assert reading.values(("memory",)) == {"memory_used_bytes": 60 * 1024**3,
                                           "memory_total_bytes": 80 * 1024**3}
    assert set(SAMPLE_FIELDS) == {*DEFAULT_GROUPS, "pcie"}


def test_unsupported_is_asked_once_transient_again_fatal_stops_the_rest() -> None:
    fake = FakePynvml([h100_like(temp=Fail(TIMEOUT))], missing={"nvmlDeviceGetTemperatureV"})
    nvml = door(fake)
    for _ in range(3):
        nvml.sample(GPU0, ("fan", "temperature"))
    assert fake.calls["nvmlDeviceGetFanSpeed"] == 1  # Not Supported: not asked again
    assert fake.calls["nvmlDeviceGetTemperature"] == 3  # Timeout: asked every time
    assert "nvmlDeviceGetTemperatureV" not in fake.calls  # missing from the binding: fallback
    fake.fail_all = GPU_IS_LOST
    lost = nvml.sample(GPU0)
    assert {w.kind for w in lost.unknown.values()} == {"gpu_lost"}
    assert fake.calls["nvmlDeviceGetUtilizationRates"] == 1  # the first group only
    fake.fail_all = None
    nvml.reset()  # after a lost GPU: shut down, start again, ask everything anew
    assert nvml.sample(GPU0, ("fan",)).unknown["fan_pct"].kind == "not_supported"
    assert fake.calls["nvmlDeviceGetFanSpeed"] == 2
    assert (fake.inits, fake.shutdowns) == (2, 1)


def test_processes_compute_and_graphics_deduplicated_by_pid() -> None:
    hidden = 2**64 - 1  # what old bindings give when the driver hides the figure
    fake = FakePynvml([h100_like(procs=[(30, 3 * 2**30), (10, None), (11, hidden)],
                                 gprocs=[(30, 2**30), (40, 5 * 2**20)])])
    nvml = door(fake, process_name=lambda pid: None if pid == 40 else f"p{pid}")
    found = nvml.processes(GPU0)
    assert found.unknown is None
    assert [(p.pid, p.name, p.used_memory_bytes, p.kind) for p in found.processes or ()] == [
        (10, "p10", None, "compute"),
        (11, "p11", None, "compute"),
        (30, "p30", 3 * 2**30, "compute+graphics"),  # the larger figure, once
        (40, None, 5 * 2**20, "graphics"),  # name lookup failed: None, entry kept
    ]
    assert found.find(30) is not None and found.find(99) is None


def test_one_process_list_failing_gives_the_other_and_says_which() -> None:
    nvml = door(FakePynvml([h100_like(procs=[(7, 100)], gprocs=Fail(NOT_SUPPORTED))]))
    found = nvml.processes(GPU0)
    assert [p.pid for p in found.processes or ()] == [7]
    assert found.unknown == Unknown("not_supported", "graphics processes: Not Supported")
    both = door(FakePynvml([h100_like(procs=Fail(), gprocs=Fail())])).processes(GPU0)
    assert both.processes is None and both.unknown == Unknown("not_supported", "Not Supported")
    lost = FakePynvml([h100_like()])
    lost_door = door(lost)
    lost_door.devices()
    lost.fail_all = GPU_IS_LOST
    assert lost_door.processes(GPU0).unknown == Unknown("gpu_lost", "GPU is lost")


def test_process_names_are_looked_up_once_per_pid_and_gpu_lists_are_kept_apart() -> None:
    asked: list[int] = []

    def lookup(pid: int) -> str:
        asked.append(pid)
        return f"p{pid}"

    names = ProcessNames(lookup)
    assert names.names("0", [1, 2]) == {1: "p1", 2: "p2"}
    assert names.names("1", [3]) == {3: "p3"}  # GPU 1's read keeps GPU 0's names
    assert names.names("0", [1, 2]) == {1: "p1", 2: "p2"}
    assert asked == [1, 2, 3]
    names.names("0", [])
    names.names("0", [1])  # pid 1 left and came back (or was reused): looked up again
    assert asked == [1, 2, 3, 1]


def test_psutil_names_this_process_and_not_a_missing_one() -> None:
    assert psutil_name(os.getpid())
    assert psutil_name(2**22 + 12345) is None


def test_display_mode_and_active() -> None:
    nvml = door(FakePynvml([h100_like(display_mode=1, display_active=0), h100_like()]))
    first = nvml.display(GPU0)
    assert (first.connected, first.active, first.drives_display) == (True, False, False)
    second = nvml.display(GpuDevice("nvidia", 1, "1"))
    assert second.connected is None and second.drives_display is None
    assert second.unknown["active"] == Unknown("not_supported", "Not Supported")


def test_find_device_by_uuid_bus_id_or_index() -> None:
    nvml = door(FakePynvml([h100_like(uuid="GPU-aa", pci="00000000:19:00.0"),
                            h100_like(uuid="GPU-bb", pci="00000000:3B:00.0")]))
    assert find_device(nvml, uuid="BB") == GpuDevice("nvidia", 1, "1")
    assert find_device(nvml, uuid="GPU-aa") == GpuDevice("nvidia", 0, "0")
    assert find_device(nvml, uuid="MIG-x", pci_bus_id="0000:3b:00.0") == GpuDevice(
        "nvidia", 1, "1")
    assert find_device(nvml, index=1) == GpuDevice("nvidia", 1, "1")
    assert find_device(nvml, uuid="zz") is None


def test_throttle_names_old_and_new() -> None:
    assert canonical_reasons(["sw_thermal", "gpu_idle", "hw_power_brake"]) == (
        "sw_thermal_slowdown", "gpu_idle", "hw_power_brake_slowdown")
    assert encode_clock_events(["sw_thermal"]) == encode_clock_events(["sw_thermal_slowdown"])
