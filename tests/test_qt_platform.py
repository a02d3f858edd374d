"""Choosing Qt's platform before Qt starts: missing X11 libraries, no display, screenshots."""

from __future__ import annotations

import importlib.util
import struct
from pathlib import Path

import pytest

from rigready.desktop import cli, qt_platform
from rigready.desktop.qt_platform import XCB_LIBRARIES, PlatformError, choose_platform, install_line

ROOT = Path(__file__).resolve().parent.parent


def _loader(missing: set[str]):  # type: ignore[no-untyped-def]
    def load(soname: str) -> object:
        if soname in missing:
            raise OSError(f"{soname}: cannot open shared object file")
        return object()  # no xcb_connect: the display check says "cannot tell"
    return load


def test_a_missing_xcb_library_names_the_packages_to_install() -> None:
    load = _loader({"libxcb-icccm.so.4", "libxcb-keysyms.so.1"})
    with pytest.raises(PlatformError) as error:
        choose_platform(False, env={"DISPLAY": ":0"}, load=load, family=lambda: "debian")
    message = str(error.value)
    assert "libxcb-icccm.so.4, libxcb-keysyms.so.1" in message
    assert message.endswith("install them with: sudo apt install libxcb-icccm4 libxcb-keysyms1")
    assert "\n" not in message


def test_fedora_gets_its_own_package_names_and_unknown_gets_both() -> None:
    missing = [lib for lib in XCB_LIBRARIES if lib.soname in ("libxcb-cursor.so.0",
                                                              "libxcb-icccm.so.4")]
    assert install_line(missing, "fedora") == "sudo dnf install xcb-util-cursor xcb-util-wm"
    both = install_line(missing, "unknown")
    assert "sudo apt install libxcb-cursor0 libxcb-icccm4" in both and "sudo dnf" in both


def test_distro_family_reads_id_like(tmp_path: Path) -> None:
    release = tmp_path / "os-release"
    release.write_text('ID=linuxmint\nID_LIKE="ubuntu debian"\n', encoding="utf-8")
    assert qt_platform.distro_family(release) == "debian"
    release.write_text("ID=fedora\n", encoding="utf-8")
    assert qt_platform.distro_family(release) == "fedora"
    assert qt_platform.distro_family(tmp_path / "absent") == "unknown"


def test_screenshots_and_no_display_render_offscreen() -> None:
    fail = _loader({lib.soname for lib in XCB_LIBRARIES})  # nothing of X11 installed at all
    assert choose_platform(True, env={}, load=fail) == "offscreen"
    assert choose_platform(True, env={"DISPLAY": ":0"}, load=fail) == "offscreen"
    with pytest.raises(PlatformError, match="no display found"):
        choose_platform(False, env={}, load=fail)
    # the user's own choice wins; a headless one needs no library
    assert choose_platform(False, env={"QT_QPA_PLATFORM": "offscreen"}, load=fail) is None
    with pytest.raises(PlatformError, match="libxcb"):
        choose_platform(True, env={"QT_QPA_PLATFORM": "xcb", "DISPLAY": ":0"}, load=fail)


def test_wayland_session_without_x11_libraries_uses_wayland() -> None:
    fail = _loader({"libxcb-cursor.so.0"})
    env = {"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0"}
    assert choose_platform(False, env=env, load=fail) == "wayland"


def test_gui_command_exits_2_with_the_install_line(monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("sys.platform", "linux")
    monkeypatch.setenv("DISPLAY", ":0")
    for name in ("WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(qt_platform, "_load", _loader({"libxcb-keysyms.so.1"}))
    monkeypatch.setattr(qt_platform, "distro_family", lambda: "debian")
    monkeypatch.setattr(cli, "_qt_installed", lambda: True)  # the check runs before Qt loads
    assert cli.main(["gui"]) == 2
    err = capsys.readouterr().err
    assert err == ("rigready: error: the window needs system libraries that are not installed "
                   "(libxcb-keysyms.so.1); install them with: sudo apt install libxcb-keysyms1\n")


def test_gui_help_lists_every_page(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["gui", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "this-pc, readiness, can-i-run, upgrade, benchmarks, monitor" in out


def _plugin() -> Path | None:
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "Qt/plugins/platforms/libqxcb.so"
    return path if path.is_file() else None


def test_the_table_covers_every_system_library_of_the_installed_xcb_plugin() -> None:
    plugin = _plugin()
    if plugin is None:
        pytest.skip("no PySide6 xcb plugin here")
    qt_lib = plugin.parents[2] / "lib"
    direct = _needed(plugin) | _needed(qt_lib / "libQt6XcbQpa.so.6") | _needed(
        qt_lib / "libQt6Gui.so.6") | _needed(qt_lib / "libQt6DBus.so.6")
    assert "libxcb-icccm.so.4" in direct  # the ELF reader really read the plugin
    base = {"libc.so.6", "libm.so.6", "libstdc++.so.6", "libgcc_s.so.1", "libpthread.so.0",
            "libdl.so.2", "librt.so.1", "ld-linux-x86-64.so.2", "libz.so.1", "libzstd.so.1"}
    listed = {lib.soname for lib in XCB_LIBRARIES}
    unlisted = sorted(name for name in direct - listed - base if "Qt6" not in name
                      and not name.startswith("libicu"))  # Qt's own and ICU come with PySide6
    assert not unlisted, f"add these to qt_platform.XCB_LIBRARIES: {unlisted}"


def _needed(path: Path) -> set[str]:
    """The DT_NEEDED names of a 64-bit little-endian ELF file (no binutils needed)."""
    if not path.is_file():
        return set()
    data = path.read_bytes()
    assert data[:4] == b"\x7fELF" and data[4] == 2 and data[5] == 1
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    sections = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize)
                for i in range(shnum)]
    dynamic = next(s for s in sections if s[1] == 6)  # SHT_DYNAMIC
    strtab = sections[dynamic[6]]  # sh_link: its string table
    names = set()
    for offset in range(dynamic[4], dynamic[4] + dynamic[5], 16):
        tag, value = struct.unpack_from("<qQ", data, offset)
        if tag == 0:
            break
        if tag == 1:  # DT_NEEDED
            start = strtab[4] + value
            names.add(data[start:data.index(b"\0", start)].decode())
    return names


def test_readme_names_every_debian_and_fedora_package() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for lib in XCB_LIBRARIES:
        assert lib.debian in readme, lib.debian
        assert lib.fedora in readme, lib.fedora
