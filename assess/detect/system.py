"""Operating system, Python, and the AI software stack (PyTorch, CuPy) of this interpreter.

PyTorch is *found*, not imported: importing torch takes seconds, which would break the 1 s
budget of ``rigready detect``. The version and the CUDA version it was built for are read from
``torch/version.py`` as text. Whether CUDA is usable (``torch.cuda.is_available()``) is decided
as follows:

* torch not installed -> None;
* a CPU-only build (``cuda`` and ``hip`` both None in ``version.py``) -> False, a fact of the build;
* otherwise None with the source "not checked (importing torch takes seconds)", unless the caller
  asks for ``check_torch=True``, which imports torch in a subprocess (so a crashing or slow CUDA
  initialisation never takes this process with it) and records the answer.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import platform
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from rigready.assess.detect._fs import SysRoot
from rigready.assess.hardware import SystemInfo

#: Returns the folder of an installed top-level package, or None when it is not installed.
PackageFinder = Callable[[str], Path | None]
#: Runs the torch check; returns its JSON answer text or None.
TorchRunner = Callable[[], str | None]

NOT_CHECKED = "not checked (importing torch takes seconds)"
_TORCH_CHECK = (
    "import json, torch\n"
    "print(json.dumps({'version': torch.__version__, 'cuda': torch.version.cuda,"
    " 'available': bool(torch.cuda.is_available())}))\n"
)


def find_package(name: str) -> Path | None:
    """Folder of an installed top-level package, found without importing it."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def read_assignments(source: str, names: tuple[str, ...]) -> dict[str, object]:
    """Literal module-level assignments (``__version__ = '2.5.1'``) from Python source text."""
    out: dict[str, object] = {}
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return out
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        if isinstance(target, ast.Name) and target.id in names \
                and isinstance(value, ast.Constant):
            out[target.id] = value.value
    return out


def run_torch_check(timeout_s: float = 120.0) -> str | None:
    """Import torch in a child interpreter and report version, CUDA build and availability."""
    result = subprocess.run([sys.executable, "-c", _TORCH_CHECK], capture_output=True,
                            text=True, timeout=timeout_s, check=False)
    return result.stdout.strip().splitlines()[-1] if result.returncode == 0 and \
        result.stdout.strip() else None


def probe_system(
    fs: SysRoot,
    *,
    check_torch: bool = False,
    finder: PackageFinder | None = find_package,
    torch_runner: TorchRunner = run_torch_check,
) -> tuple[SystemInfo, list[str]]:
    """OS, kernel, Python, hostname and the PyTorch/CuPy versions.

    Args:
        fs: the root to read.
        check_torch: import torch in a subprocess to learn whether CUDA works (seconds).
        finder: locates installed packages; None skips PyTorch and CuPy (a captured tree of
            another machine, whose Python packages were not captured).
        torch_runner: runs the torch check (a fake in tests).
    """
    warnings: list[str] = []
    sources: dict[str, str] = {}
    os_name = _os_name(fs, sources)
    kernel = fs.text("proc/sys/kernel/osrelease")
    if kernel is not None:
        sources["kernel"] = "/proc/sys/kernel/osrelease"
    elif fs.live:
        kernel = platform.release() or None
        sources["kernel"] = "platform.release()"
    hostname = fs.text("proc/sys/kernel/hostname")
    if hostname is not None:
        sources["hostname"] = "/proc/sys/kernel/hostname"
    elif fs.live:
        hostname = socket.gethostname() or None
        sources["hostname"] = "socket.gethostname()"
    python = platform.python_version()
    sources["python"] = f"this interpreter ({sys.executable})"
    for label, value in (("OS", os_name), ("kernel", kernel)):
        if value is None:
            warnings.append(f"System: {label} unknown")

    torch_version = torch_cuda = cupy_version = None
    available: bool | None = None
    if finder is not None:
        torch_version, torch_cuda, available = _torch(finder, sources, warnings)
        if check_torch and torch_version is not None:
            available = _checked_torch(torch_runner, sources, warnings, available)
        cupy_version = _cupy(finder, sources)
    else:
        sources["torch_version"] = "not probed (captured tree)"
    info = SystemInfo(os=os_name, kernel=kernel, python=python, hostname=hostname,
                      torch_version=torch_version, torch_cuda_version=torch_cuda,
                      torch_cuda_available=available, cupy_version=cupy_version,
                      sources=sources)
    return info, warnings


def _os_name(fs: SysRoot, sources: dict[str, str]) -> str | None:
    for rel in ("etc/os-release", "usr/lib/os-release"):
        text = fs.text(rel)
        if text is None:
            continue
        fields = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
        name = (fields.get("PRETTY_NAME") or fields.get("NAME") or "").strip().strip("\"'")
        if name:
            sources["os"] = f"/{rel}"
            return name
    if not fs.live:
        return None
    system = platform.system()
    if system == "Darwin":
        name = f"macOS {platform.mac_ver()[0]}".strip()
    elif system == "Windows":
        name = f"Windows {platform.release()} ({platform.version()})"
    else:
        name = platform.platform(terse=True)
    sources["os"] = "platform"
    return name or None


def _torch(finder: PackageFinder, sources: dict[str, str],
           warnings: list[str]) -> tuple[str | None, str | None, bool | None]:
    folder = finder("torch")
    if folder is None:
        warnings.append(f"System: PyTorch is not installed for this Python ({sys.executable})")
        return None, None, None
    try:
        text = (folder / "version.py").read_text(encoding="utf-8")
    except OSError:
        warnings.append(f"System: PyTorch found at {folder} but torch/version.py is unreadable")
        return None, None, None
    values = read_assignments(text, ("__version__", "cuda", "hip"))
    version = values.get("__version__")
    cuda = values.get("cuda")
    hip = values.get("hip")
    if not isinstance(version, str):
        warnings.append("System: torch/version.py names no version")
        return None, None, None
    sources["torch_version"] = "torch/version.py"
    if isinstance(cuda, str):
        sources["torch_cuda_version"] = "torch/version.py"
        sources["torch_cuda_available"] = NOT_CHECKED
        return version, cuda, None
    if isinstance(hip, str):
        sources["torch_cuda_available"] = f"{NOT_CHECKED}; a ROCm {hip} build"
        return version, None, None
    sources["torch_cuda_available"] = "torch/version.py (a CPU-only build)"
    return version, None, False


def _checked_torch(runner: TorchRunner, sources: dict[str, str], warnings: list[str],
                   fallback: bool | None) -> bool | None:
    try:
        answer = runner()
        data = json.loads(answer) if answer else None
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        warnings.append(f"System: importing torch to check CUDA failed ({exc})")
        return fallback
    if not isinstance(data, dict) or not isinstance(data.get("available"), bool):
        warnings.append("System: importing torch to check CUDA failed (no answer)")
        return fallback
    sources["torch_cuda_available"] = "torch.cuda.is_available() in a subprocess"
    return bool(data["available"])


def _cupy(finder: PackageFinder, sources: dict[str, str]) -> str | None:
    folder = finder("cupy")
    if folder is None:
        return None
    try:
        text = (folder / "_version.py").read_text(encoding="utf-8")
    except OSError:
        return None
    version = read_assignments(text, ("__version__",)).get("__version__")
    if isinstance(version, str):
        sources["cupy_version"] = "cupy/_version.py"
        return version
    return None
