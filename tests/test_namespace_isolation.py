"""rigready keeps working when another distribution installs top-level ``desktop`` or ``assess``.

PyPI has packages of those names; before rigready lived under its own import name, installing
one replaced ``desktop/__init__.py`` and the ``rigready`` command died. This test builds two
throw-away wheels with those names (Python 2 code and an import that fails), installs them and a
real wheel of rigready into a scratch virtual environment, all from local files, and runs the
installed ``rigready`` command there.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def throwaway_wheel(folder: Path, name: str, init_text: str) -> Path:
    """A minimal valid wheel holding one top-level package ``name`` whose __init__ is given."""
    dist_info = f"{name}-1.0.dist-info"
    files = {
        f"{name}/__init__.py": init_text.encode(),
        f"{dist_info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n".encode(),
        f"{dist_info}/WHEEL": (b"Wheel-Version: 1.0\nGenerator: rigready-test\n"
                               b"Root-Is-Purelib: true\nTag: py3-none-any\n"),
    }
    record = [_record_line(path, data) for path, data in files.items()]
    record.append(f"{dist_info}/RECORD,,")
    wheel = folder / f"{name}-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, data in files.items():
            archive.writestr(path, data)
        archive.writestr(f"{dist_info}/RECORD", "\n".join(record) + "\n")
    return wheel


def _without_pythonpath() -> dict[str, str]:
    """This process's environment less PYTHONPATH: a developer's PYTHONPATH (a worktree's
    build/pkgroot) would put that checkout's rigready before the scratch venv's wheel, in pip
    and in the venv's own Python alike."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


def _run(cmd: list[str], cwd: Path | None = None,
         env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``cmd``; every subprocess of this test runs without PYTHONPATH."""
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False,
                          cwd=cwd, env=env if env is not None else _without_pythonpath())


@pytest.fixture(scope="module")
def scratch_env(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv holding a built rigready wheel and the two shadowing wheels; its bin folder."""
    work = tmp_path_factory.mktemp("namespace")
    wheels = work / "wheels"
    wheels.mkdir()
    built = _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                  "--no-build-isolation", "--no-index", "--wheel-dir", str(wheels), str(ROOT)],
                 cwd=work)
    assert built.returncode == 0, built.stderr
    throwaway_wheel(wheels, "desktop", 'print "I am a Python 2 desktop package"\n')
    throwaway_wheel(wheels, "assess", 'raise ImportError("the assess package from PyPI")\n')

    target = work / "venv"
    venv.EnvBuilder(with_pip=False).create(target)
    python = target / "bin" / "python"
    site = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"])
    # rigready's own dependencies come from this test's environment, added after the
    # scratch venv's site-packages (a plain path line: its .pth files, and so this checkout's
    # editable install, are not processed there). Only site-packages folders: a PYTHONPATH
    # entry on sys.path (build/pkgroot) holds this checkout's rigready, never added.
    deps = [p for p in sys.path if p.endswith("site-packages")]
    Path(site.stdout.strip(), "zz_test_dependencies.pth").write_text("\n".join(deps) + "\n")
    installed = _run([sys.executable, "-m", "pip", "--python", str(python), "install",
                      "--quiet", "--no-index", "--no-deps", *map(str, sorted(wheels.iterdir()))])
    assert installed.returncode == 0, installed.stderr
    return target / "bin"


def _clean_env(tmp: Path) -> dict[str, str]:
    return {**_without_pythonpath(), "RIGREADY_HOME": str(tmp)}


def test_the_shadowing_packages_are_really_installed(scratch_env: Path, tmp_path: Path) -> None:
    done = _run([str(scratch_env / "python"), "-c", "import desktop"], cwd=tmp_path,
                env=_clean_env(tmp_path))
    assert done.returncode == 1 and "SyntaxError" in done.stderr
    done = _run([str(scratch_env / "python"), "-c", "import assess"], cwd=tmp_path,
                env=_clean_env(tmp_path))
    assert done.returncode == 1 and "the assess package from PyPI" in done.stderr


def test_rigready_works_beside_packages_named_desktop_and_assess(scratch_env: Path,
                                                                  tmp_path: Path) -> None:
    env = _clean_env(tmp_path)
    version = _run([str(scratch_env / "rigready"), "--version"], cwd=tmp_path, env=env)
    assert version.returncode == 0, version.stderr
    assert version.stdout.startswith("rigready ")
    detect = _run([str(scratch_env / "rigready"), "detect", "--json"], cwd=tmp_path, env=env)
    assert detect.returncode == 0, detect.stderr
    assert {"cpu", "memory", "gpus"} <= set(json.loads(detect.stdout))
    located = _run([str(scratch_env / "python"), "-c",
                    "import rigready.desktop.cli as m; print(m.__file__)"], cwd=tmp_path, env=env)
    assert located.returncode == 0, located.stderr
    assert str(scratch_env.parent) in located.stdout  # the wheel's copy, not this checkout
