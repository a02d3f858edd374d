"""Choosing Qt's platform before ``QApplication`` exists, so a missing library is one clear line.

Qt aborts the whole process (SIGABRT, "could not load the Qt platform plugin xcb") when a system
library of its X11 plugin is missing, and its message names the wrong one. This module checks the
plugin's libraries with ``ctypes`` first and, when some are missing, says which packages to
install. A screenshot, or a GUI command run without any display, renders offscreen instead.

No Qt here: the CLI imports it before deciding whether to import the GUI at all.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class SystemLibrary:
    """A shared library Qt's xcb plugin (or Qt GUI under it) loads, and who ships it."""

    soname: str
    debian: str  # Debian and Ubuntu package
    fedora: str  # Fedora (and RHEL-like) package


#: Every system library that PySide6's ``libqxcb.so``, ``libQt6XcbQpa`` and ``libQt6Gui`` name
#: (``objdump -p``/``ldd`` on PySide6 6.11), less glibc and libstdc++; the table of
#: https://doc.qt.io/qt-6/linux-requirements.html agrees. ``tests/test_qt_platform.py`` runs
#: ``ldd`` on the installed plugin and fails when it needs one that is not listed here.
XCB_LIBRARIES: tuple[SystemLibrary, ...] = (
    SystemLibrary("libxcb.so.1", "libxcb1", "libxcb"),
    SystemLibrary("libxcb-cursor.so.0", "libxcb-cursor0", "xcb-util-cursor"),
    SystemLibrary("libxcb-icccm.so.4", "libxcb-icccm4", "xcb-util-wm"),
    SystemLibrary("libxcb-image.so.0", "libxcb-image0", "xcb-util-image"),
    SystemLibrary("libxcb-keysyms.so.1", "libxcb-keysyms1", "xcb-util-keysyms"),
    SystemLibrary("libxcb-randr.so.0", "libxcb-randr0", "libxcb"),
    SystemLibrary("libxcb-render.so.0", "libxcb-render0", "libxcb"),
    SystemLibrary("libxcb-render-util.so.0", "libxcb-render-util0", "xcb-util-renderutil"),
    SystemLibrary("libxcb-shape.so.0", "libxcb-shape0", "libxcb"),
    SystemLibrary("libxcb-shm.so.0", "libxcb-shm0", "libxcb"),
    SystemLibrary("libxcb-sync.so.1", "libxcb-sync1", "libxcb"),
    SystemLibrary("libxcb-util.so.1", "libxcb-util1", "xcb-util"),
    SystemLibrary("libxcb-xfixes.so.0", "libxcb-xfixes0", "libxcb"),
    SystemLibrary("libxcb-xkb.so.1", "libxcb-xkb1", "libxcb"),
    SystemLibrary("libX11.so.6", "libx11-6", "libX11"),
    SystemLibrary("libX11-xcb.so.1", "libx11-xcb1", "libX11-xcb"),
    SystemLibrary("libxkbcommon.so.0", "libxkbcommon0", "libxkbcommon"),
    SystemLibrary("libxkbcommon-x11.so.0", "libxkbcommon-x11-0", "libxkbcommon-x11"),
    SystemLibrary("libGL.so.1", "libgl1", "libglvnd-glx"),
    SystemLibrary("libEGL.so.1", "libegl1", "libglvnd-egl"),
    SystemLibrary("libfontconfig.so.1", "libfontconfig1", "fontconfig"),
    SystemLibrary("libfreetype.so.6", "libfreetype6", "freetype"),
    SystemLibrary("libglib-2.0.so.0", "libglib2.0-0", "glib2"),
    SystemLibrary("libgthread-2.0.so.0", "libglib2.0-0", "glib2"),
    SystemLibrary("libdbus-1.so.3", "libdbus-1-3", "dbus-libs"),
)

#: The platforms that draw into memory and need no display or system X11 library.
_HEADLESS = ("offscreen", "minimal")


class PlatformError(Exception):
    """The window cannot start here; the message is one line that says what to do."""


def _load(soname: str) -> object:
    return ctypes.CDLL(soname)


def missing_libraries(load: Callable[[str], object] | None = None) -> list[SystemLibrary]:
    """The xcb plugin's libraries that the dynamic loader cannot find, in table order."""
    load = load or _load
    missing = []
    for library in XCB_LIBRARIES:
        try:
            load(library.soname)
        except OSError:
            missing.append(library)
    return missing


def distro_family(os_release: Path = Path("/etc/os-release")) -> str:
    """'debian', 'fedora' or 'unknown', from the ID and ID_LIKE lines of os-release."""
    try:
        text = os_release.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "unknown"
    words: set[str] = set()
    for line in text.splitlines():
        key, _, value = line.partition("=")
        if key in ("ID", "ID_LIKE"):
            words.update(value.strip().strip('"').lower().split())
    if words & {"debian", "ubuntu"}:
        return "debian"
    if words & {"fedora", "rhel", "centos"}:
        return "fedora"
    return "unknown"


def install_line(missing: list[SystemLibrary], family: str) -> str:
    """The command that installs ``missing`` (both lines joined when the distro is unknown)."""
    apt = "sudo apt install " + " ".join(dict.fromkeys(m.debian for m in missing))
    dnf = "sudo dnf install " + " ".join(dict.fromkeys(m.fedora for m in missing))
    if family == "debian":
        return apt
    if family == "fedora":
        return dnf
    return f"{apt} (Debian/Ubuntu) or {dnf} (Fedora)"


def _display_reachable(load: Callable[[str], object]) -> bool:
    """Whether libxcb can open $DISPLAY (Qt aborts when it cannot)."""
    try:
        xcb = load("libxcb.so.1")
        connect = xcb.xcb_connect  # type: ignore[attr-defined]
    except (OSError, AttributeError):
        return True  # cannot tell; let Qt report it
    connect.restype = ctypes.c_void_p
    connect.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
    has_error = xcb.xcb_connection_has_error  # type: ignore[attr-defined]
    has_error.argtypes = [ctypes.c_void_p]
    disconnect = xcb.xcb_disconnect  # type: ignore[attr-defined]
    disconnect.argtypes = [ctypes.c_void_p]
    connection = connect(None, None)
    try:
        return connection is not None and has_error(connection) == 0
    finally:
        if connection is not None:
            disconnect(connection)


def choose_platform(screenshot: bool, env: Mapping[str, str] | None = None,
                    load: Callable[[str], object] | None = None,
                    family: Callable[[], str] | None = None) -> str | None:
    """The ``QT_QPA_PLATFORM`` to set before Qt starts (``None``: leave Qt's own choice).

    A screenshot, or no display at all, renders offscreen. On X11 every library of the xcb
    plugin must load and the display must answer, else :class:`PlatformError` says what to
    install (or that the display is not reachable). A user's own ``QT_QPA_PLATFORM`` wins.

    Raises:
        PlatformError: the window cannot open; one line for ``rigready: error:``.
    """
    env = os.environ if env is None else env
    load = load or _load
    family = family or distro_family
    forced = env.get("QT_QPA_PLATFORM", "").strip()
    if sys.platform in ("win32", "darwin"):
        return None
    if forced.startswith(_HEADLESS):
        return None
    if screenshot and not forced:
        return "offscreen"
    x11 = bool(env.get("DISPLAY"))
    wayland = bool(env.get("WAYLAND_DISPLAY"))
    if not forced and not x11 and not wayland:
        if screenshot:
            return "offscreen"
        raise PlatformError("no display found (DISPLAY/WAYLAND_DISPLAY unset); "
                            "use --screenshot FILE to render offscreen")
    if not (forced.startswith("xcb") or (not forced and x11)):
        return None  # Wayland only: Qt's wayland plugin, whose libraries any Wayland desktop has
    missing = missing_libraries(load)
    if missing:
        if wayland and not forced:
            return "wayland"  # X11 would abort; this session has Wayland, so use it
        names = ", ".join(m.soname for m in missing)
        raise PlatformError(f"the window needs system libraries that are not installed "
                            f"({names}); install them with: {install_line(missing, family())}")
    if not _display_reachable(load):
        raise PlatformError(f"cannot connect to the X display {env.get('DISPLAY', '')!r}; "
                            "is the desktop session running? Use --screenshot FILE to "
                            "render offscreen")
    return None


def prepare_qt_platform(screenshot: bool) -> None:
    """Set ``QT_QPA_PLATFORM`` for this process as :func:`choose_platform` decides.

    Raises:
        PlatformError: the window cannot open here.
    """
    chosen = choose_platform(screenshot)
    if chosen is not None:
        os.environ["QT_QPA_PLATFORM"] = chosen


def _main(argv: list[str]) -> int:
    """``python -m rigready.desktop.qt_platform --missing debian|fedora``: the packages to install.
    """
    if len(argv) != 2 or argv[0] != "--missing" or argv[1] not in ("debian", "fedora"):
        print("usage: python -m rigready.desktop.qt_platform --missing debian|fedora",
              file=sys.stderr)
        return 2
    missing = missing_libraries()
    names = (m.debian if argv[1] == "debian" else m.fedora for m in missing)
    print(" ".join(dict.fromkeys(names)))
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
