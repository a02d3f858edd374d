"""System probe: OS from a captured tree, PyTorch found without importing it."""

from __future__ import annotations

from pathlib import Path

import pytest

from rigready.assess.detect._fs import SysRoot
from rigready.assess.detect.system import NOT_CHECKED, find_package, probe_system, read_assignments

CPU_ONLY = Path(__file__).parent / "data" / "detect" / "cpu-only-vm-2026-11-22"

CUDA_VERSION_PY = """\
from typing import Optional

__all__ = ['__version__', 'debug', 'cuda', 'git_version', 'hip', 'xpu']
__version__ = '2.11.0+cu130'
debug = False
cuda: Optional[str] = '13.0'
git_version = 'abc'
hip: Optional[str] = None
xpu: Optional[str] = None
"""


def _torch(tmp_path: Path, version_py: str) -> Path:
    folder = tmp_path / "site" / "torch"
    folder.mkdir(parents=True)
    (folder / "version.py").write_text(version_py, encoding="utf-8")
    return folder


def test_cpu_only_capture_os_and_kernel() -> None:
    info, _ = probe_system(SysRoot(CPU_ONLY), finder=lambda name: None)
    assert info.os == "Debian GNU/Linux 12 (bookworm)"
    assert info.kernel == "6.18.44-fc-v669"
    assert info.hostname == "vm"
    assert info.sources["os"] == "/etc/os-release"


def test_torch_not_installed(tmp_path: Path) -> None:
    info, warnings = probe_system(SysRoot(tmp_path), finder=lambda name: None)
    assert info.torch_version is None and info.torch_cuda_available is None
    assert any(w.startswith("System: PyTorch is not installed for this Python") for w in warnings)


def test_cuda_build_is_read_without_import(tmp_path: Path) -> None:
    folder = _torch(tmp_path, CUDA_VERSION_PY)
    info, warnings = probe_system(SysRoot(tmp_path),
                                  finder=lambda name: folder if name == "torch" else None)
    assert (info.torch_version, info.torch_cuda_version) == ("2.11.0+cu130", "13.0")
    assert info.torch_cuda_available is None
    assert info.sources["torch_cuda_available"] == NOT_CHECKED
    assert not any("PyTorch" in w for w in warnings)


def test_cpu_only_build_cannot_use_cuda(tmp_path: Path) -> None:
    folder = _torch(tmp_path, "__version__ = '2.5.1+cpu'\ncuda = None\nhip = None\n")
    info, _ = probe_system(SysRoot(tmp_path), finder=lambda name: folder)
    assert info.torch_cuda_available is False
    assert "CPU-only build" in info.sources["torch_cuda_available"]


@pytest.mark.parametrize(("answer", "expected", "source_is_checked"), [
    ('{"version": "2.11.0", "cuda": "13.0", "available": true}', True, True),
    ('{"version": "2.11.0", "cuda": "13.0", "available": false}', False, True),
    (None, None, False),
    ("not json", None, False),
])
def test_checked_torch(tmp_path: Path, answer: str | None, expected: bool | None,
                       source_is_checked: bool) -> None:
    folder = _torch(tmp_path, CUDA_VERSION_PY)
    info, warnings = probe_system(SysRoot(tmp_path), check_torch=True,
                                  finder=lambda name: folder if name == "torch" else None,
                                  torch_runner=lambda: answer)
    assert info.torch_cuda_available is expected
    checked = info.sources["torch_cuda_available"] == "torch.cuda.is_available() in a subprocess"
    assert checked is source_is_checked
    torch_warnings = [w for w in warnings if "torch" in w]
    assert bool(torch_warnings) is not source_is_checked


def test_read_assignments_ignores_non_literals() -> None:
    values = read_assignments("import os\n__version__ = os.environ['X']\ncuda = '12.4'\n",
                              ("__version__", "cuda"))
    assert values == {"cuda": "12.4"}
    assert read_assignments("def (", ("x",)) == {}


def test_find_package_does_not_import() -> None:
    import sys

    assert find_package("json") is not None and find_package("no_such_package_xyz") is None
    assert find_package("json") == Path(sys.modules["json"].__file__).parent  # type: ignore[arg-type]
