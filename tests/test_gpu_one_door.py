"""One NVML session per process, shared by detection, the monitor, telemetry, measuring and the
fingerprint; and no module but rigready.gpu.nvml imports pynvml."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from rigready.assess.bench.fingerprint import current_fingerprint, machine_fingerprint
from rigready.assess.bench.gpu_telemetry import open_nvml_source
from rigready.assess.detect import detect_rig
from rigready.assess.measure.launch import Nvml
from rigready.gpu.nvml import NvmlDoor, nvml_door, set_nvml_door
from rigready.monitor.providers import default_providers
from rigready.monitor.providers.gpu import GpuProvider
from tests.helpers.fake_pynvml import FakePynvml, door, h100_like

ROOT = Path(__file__).resolve().parent.parent
SOURCE_FOLDERS = ("gpu", "catalog", "assess", "monitor", "desktop", "packaging")


@pytest.fixture
def process_door() -> Iterator[tuple[NvmlDoor, FakePynvml]]:
    """A door over a fake pynvml installed as this process's NVML door, for one test."""
    fake = FakePynvml([h100_like(uuid="GPU-aaaa", pci="00000000:19:00.0"),
                       h100_like(uuid="GPU-bbbb", pci="00000000:3B:00.0")])
    installed = door(fake)
    old = set_nvml_door(installed)
    try:
        yield installed, fake
    finally:
        set_nvml_door(old)


def test_every_user_shares_one_nvml_init(process_door: tuple[NvmlDoor, FakePynvml]) -> None:
    installed, fake = process_door
    assert nvml_door() is installed
    assert fake.inits == 0  # lazy: nothing happens until the first question
    profile = detect_rig(dmidecode=lambda: None)  # a live detection of this PC
    assert [g.uuid for g in profile.gpus if g.vendor == "nvidia"] == ["GPU-aaaa", "GPU-bbbb"]
    monitor = GpuProvider(nvml_door())
    assert len(monitor.read().gpus) == 2
    providers, _ = default_providers()
    assert [p.name for p in providers][:2] == ["host", "nvml"]
    source, why = open_nvml_source(uuid="bbbb")  # torch's form: no "GPU-" prefix
    assert source is not None and why is None
    assert source.read(1.0).sm_clock_mhz == 1980.0
    assert Nvml(index=1).used() == 60 * 1024**3
    assert Nvml(index=0).facts()["name"] == "NVIDIA H100 80GB HBM3"
    fingerprint = current_fingerprint()
    assert fingerprint != machine_fingerprint(None, [], None)
    for provider in (monitor, *providers):
        provider.close()
    source.close()
    assert (fake.inits, fake.shutdowns) == (1, 0)  # one nvmlInit; closing users keeps it up
    installed.shutdown()  # what atexit does
    assert fake.shutdowns == 1


def test_init_runs_once_when_threads_ask_at_the_same_time() -> None:
    import threading

    fake = FakePynvml([h100_like()])
    shared = door(fake)
    threads = [threading.Thread(target=shared.devices) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert fake.inits == 1


def _imports_pynvml(tree: ast.AST) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == "pynvml"
                                                for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "pynvml":
            return True
        if isinstance(node, ast.Constant) and node.value == "pynvml":  # importlib, __import__
            return True
    return False


def test_only_the_nvml_door_imports_pynvml() -> None:
    importers = sorted(
        str(path.relative_to(ROOT)) for folder in SOURCE_FOLDERS
        for path in (ROOT / folder).rglob("*.py")
        if _imports_pynvml(ast.parse(path.read_text(encoding="utf-8"))))
    assert importers == ["gpu/nvml.py"]


def test_the_scan_would_see_each_way_of_importing() -> None:
    for source in ("import pynvml", "from pynvml import nvmlInit", "import pynvml as nv",
                   "importlib.import_module('pynvml')"):
        assert _imports_pynvml(ast.parse(source))
    assert not _imports_pynvml(ast.parse("import rigready.gpu.nvml"))


def test_the_gpu_package_imports_no_other_rigready_package() -> None:
    for path in (ROOT / "gpu").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom | ast.Import):
                names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [
                    a.name for a in node.names]
                for name in names:
                    assert not name.startswith("rigready.") or name.startswith("rigready.gpu"), \
                        f"{path.name} imports {name}"


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs fork")
def test_a_forked_child_starts_its_own_session(
        process_door: tuple[NvmlDoor, FakePynvml]) -> None:
    """The calibration benchmark forks after the parent asked NVML: the child asks again."""
    import os

    installed, fake = process_door
    installed.devices()
    assert fake.inits == 1
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its copy of the door forgot the parent's session
        try:
            ok = nvml_door() is installed and len(installed.devices()) == 2 and fake.inits == 2
            os.write(write, b"1" if ok else b"0")
        finally:
            os._exit(0)
    os.close(write)
    answer = os.read(read, 1)
    os.waitpid(pid, 0)
    assert answer == b"1"
    assert fake.inits == 1  # the parent's session is untouched
