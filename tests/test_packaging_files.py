"""The packaging files: desktop entry, AppStream metainfo, icons, the PyInstaller spec, scripts."""

from __future__ import annotations

import ast
import configparser
import re
import shutil
import struct
import subprocess
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGING = ROOT / "packaging"
APP_ID = "io.github.rigready.rigready"
DESKTOP_FILE = PACKAGING / "linux" / f"{APP_ID}.desktop"
METAINFO = PACKAGING / "linux" / f"{APP_ID}.metainfo.xml"
SPEC = PACKAGING / "rigready.spec"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
#: Main categories of the freedesktop menu specification (an entry needs one).
MAIN_CATEGORIES = {"AudioVideo", "Audio", "Video", "Development", "Education", "Game",
                   "Graphics", "Network", "Office", "Science", "Settings", "System", "Utility"}


def _desktop_entry() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read(DESKTOP_FILE, encoding="utf-8")
    return parser["Desktop Entry"]


def test_app_id_matches_the_one_the_window_announces() -> None:
    source = (ROOT / "desktop" / "app.py").read_text(encoding="utf-8")
    assert f'setDesktopFileName("{APP_ID}")' in source


def test_desktop_entry_has_the_required_keys() -> None:
    entry = _desktop_entry()
    assert entry["Type"] == "Application"
    assert entry["Name"] == "rigready"
    assert entry["Exec"].split()[0] == "rigready"  # install.sh makes it an absolute path
    assert entry["Icon"] == APP_ID
    assert entry["Terminal"] == "false"
    categories = entry["Categories"]
    assert categories.endswith(";")
    # exactly one main category, or menus may list the app twice (desktop-file-validate's hint)
    assert len(MAIN_CATEGORIES & set(categories.split(";"))) == 1
    # Debian 12's desktop-file-validate (0.26) knows Version 1.0 to 1.4, not 1.5
    assert entry["Version"] in ("1.0", "1.1", "1.2", "1.3", "1.4")
    assert entry["Keywords"].endswith(";")
    assert all(not value.startswith((" ", "\t")) for value in entry.values())


def test_desktop_entry_passes_desktop_file_validate() -> None:
    validator = shutil.which("desktop-file-validate")
    if validator is None:
        pytest.skip("desktop-file-validate is not installed (apt install desktop-file-utils)")
    run = subprocess.run([validator, str(DESKTOP_FILE)], capture_output=True, text=True,
                         check=False)
    assert run.returncode == 0 and not (run.stdout + run.stderr).strip(), run.stdout + run.stderr


def test_metainfo_is_well_formed_and_consistent() -> None:
    root = ET.parse(METAINFO).getroot()
    assert root.tag == "component" and root.get("type") == "desktop-application"
    assert root.findtext("id") == APP_ID
    assert root.findtext("launchable") == DESKTOP_FILE.name
    licence = PYPROJECT["project"]["license"]
    assert root.findtext("project_license") == (licence["text"] if isinstance(licence, dict)
                                                else licence)
    assert root.findtext("metadata_license") == "CC0-1.0"
    releases = [r.get("version") for r in root.iter("release")]
    assert releases[0] == PYPROJECT["project"]["version"]
    assert root.find("description/p") is not None
    binaries = [b.text for b in root.iter("binary")]
    assert binaries == list(PYPROJECT["project"]["scripts"])
    for image in root.iter("image"):
        name = (image.text or "").rsplit("/", 1)[-1]
        assert (ROOT / "docs" / "screenshots" / name).is_file(), name


@pytest.mark.skipif(shutil.which("appstreamcli") is None, reason="appstreamcli not installed")
def test_metainfo_passes_appstreamcli() -> None:
    result = subprocess.run(["appstreamcli", "validate", "--no-net", str(METAINFO)],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@pytest.mark.parametrize("size", [64, 128, 256])
def test_png_icons_have_their_sizes(size: int) -> None:
    assert _png_size(PACKAGING / "linux" / "icons" / str(size) / f"{APP_ID}.png") == (size, size)


def test_svg_icon_is_square_and_well_formed() -> None:
    root = ET.parse(ROOT / "desktop" / "resources" / "rigready.svg").getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.get("viewBox") == "0 0 256 256"


def _spec_calls() -> list[ast.Call]:
    tree = ast.parse(SPEC.read_text(encoding="utf-8"))
    return [node for node in ast.walk(tree) if isinstance(node, ast.Call)]


def _name(call: ast.Call) -> str:
    return call.func.id if isinstance(call.func, ast.Name) else ""


def test_spec_bundles_the_catalog_data_and_every_app_package() -> None:
    data_calls = [c for c in _spec_calls() if _name(c) == "collect_data_files"]
    catalog = [c for c in data_calls
               if isinstance(c.args[0], ast.Constant) and c.args[0].value == "rigready.catalog"]
    assert len(catalog) == 1
    includes = {kw.arg: ast.literal_eval(kw.value) for kw in catalog[0].keywords}["includes"]
    patterns = PYPROJECT["tool"]["setuptools"]["package-data"]["rigready.catalog"]
    assert includes == patterns == ["data/*.toml"]
    assert list((ROOT / "catalog" / "data").glob("*.toml"))
    text = SPEC.read_text(encoding="utf-8")
    # collect_submodules of each
    assert ('("rigready.gpu", "rigready.catalog", "rigready.assess", "rigready.monitor",\n'
            '                "rigready.desktop")') in text
    assert 'copy_metadata("rigready", recursive=True)' in text


def test_every_package_folder_is_installed_under_the_rigready_name() -> None:
    setuptools = PYPROJECT["tool"]["setuptools"]
    folders = setuptools["package-dir"]
    assert folders == {f"rigready.{name}": name
                       for name in ("gpu", "catalog", "assess", "monitor", "desktop")}
    on_disk = {"rigready." + str(init.parent.relative_to(ROOT)).replace("/", ".")
               for name in ("gpu", "catalog", "assess", "monitor", "desktop")
               for init in (ROOT / name).rglob("__init__.py")
               if "__pycache__" not in init.parts}
    assert sorted(setuptools["packages"]) == sorted(on_disk)


def test_spec_never_bundles_torch_or_test_tools() -> None:
    tree = ast.parse(SPEC.read_text(encoding="utf-8"))
    excludes: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AugAssign):
            target = node.targets[0] if isinstance(node, ast.Assign) else node.target
            if isinstance(target, ast.Name) and target.id == "excludes":
                excludes += ast.literal_eval(node.value)
    assert {"torch", "cupy", "pytest", "tests", "tkinter"} <= set(excludes)
    assert not {"PySide6.QtCore", "PySide6.QtGui", "PySide6.QtWidgets", "PySide6.QtSvg",
                "PySide6.QtOpenGL"} & set(excludes)


@pytest.mark.parametrize("script", ["build.sh", "smoke.sh", "linux/install.sh"])
def test_scripts_are_executable_bash_that_parses(script: str) -> None:
    path = PACKAGING / script
    assert path.stat().st_mode & 0o111
    assert path.read_text(encoding="utf-8").startswith("#!/usr/bin/env bash\nset -euo") or \
        re.search(r"^set -euo pipefail$", path.read_text(encoding="utf-8"), re.MULTILINE)
    result = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True,
                            timeout=30, check=False)
    assert result.returncode == 0, result.stderr


def test_build_outputs_and_the_build_venv_are_ignored() -> None:
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8").split()
    assert {"build/", "dist/", ".venv-build/"} <= set(ignored)


def test_install_script_installs_exactly_what_the_build_puts_in_the_bundle() -> None:
    build = (PACKAGING / "build.sh").read_text(encoding="utf-8")
    install = (PACKAGING / "linux" / "install.sh").read_text(encoding="utf-8")
    sizes = re.search(r"for size in ([\d ]+); do", build)
    assert sizes is not None
    made: set[str] = set()
    for target in re.findall(r'"\$SHARE/([^"]+)"', build):
        for size in sizes.group(1).split():
            made.add("share/" + target.replace("${size}", size))
    installed = set(re.findall(r'"(share/[^"]+)"', install))
    assert made == installed and len(installed) == 6
    for source in ("packaging/linux/$APP_ID.desktop", "packaging/linux/$APP_ID.metainfo.xml",
                   "desktop/resources/rigready.svg", "packaging/linux/install.sh"):
        assert source in build
        assert (ROOT / source.replace("$APP_ID", APP_ID)).is_file()
