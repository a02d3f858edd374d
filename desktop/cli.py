"""The ``rigready`` command line. No Qt here: it must run on a headless server.

``rigready`` with no arguments opens the window when a display is available, else prints the
detect report and says how to open the window. The GUI is imported lazily through importlib so
that neither this module nor its imports pull in Qt.

Start-up is kept small: ``--version`` is answered before anything else is imported, and a
subcommand's module is imported only when it is the one chosen (``rigready.desktop.commands``
lists them for ``--help``); ``tests/test_cli_startup.py`` checks what a fresh process imports.
"""

from __future__ import annotations

import importlib
import os
import sys

from rigready.desktop import __version__

# typing.TYPE_CHECKING without importing typing (2 ms): ``rigready --version`` imports nothing
# beyond this module; mypy and ruff treat a module's own TYPE_CHECKING = False the same way
TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence
    from pathlib import Path

    from rigready.desktop.commands import SubParsers

__all__ = ["__version__", "build_parser", "display_available", "main", "print_error"]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser: every subcommand listed, each registered when it is chosen."""
    from rigready.desktop.commands import COMMANDS, LazySubcommands
    from rigready.desktop.commands.common import CliParser

    parser = CliParser(
        prog="rigready",
        description="Can this PC run, fine-tune or train an AI model? "
        "Run with no command to open the window.",
    )
    parser.add_argument("--version", action="version", version=f"rigready {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND",
                                       action=LazySubcommands)
    assert isinstance(subparsers, LazySubcommands)
    for command in COMMANDS:
        subparsers.add_listed(command)
    return parser


def register_gui(subparsers: SubParsers) -> None:
    """Add the ``gui`` subcommand."""
    from pathlib import Path

    from rigready.desktop.commands.common import input_file
    from rigready.desktop.pages import page_keys

    gui = subparsers.add_parser(
        "gui", help="open the window (or render a page to a PNG)",
        description="Open the window. Pages: " + ", ".join(page_keys()) + ". Without a display, "
        "--screenshot renders offscreen by itself.")
    gui.add_argument("--screenshot", metavar="FILE", type=Path,
                     help="render the page offscreen to a PNG and exit")
    gui.add_argument("--page", metavar="NAME",
                     help="page to show: " + ", ".join(page_keys()))
    gui.add_argument("--profile", metavar="FILE", type=input_file,
                     help="load a saved rig profile")
    gui.add_argument("--force", action="store_true", help="replace the --screenshot FILE")
    gui.add_argument("--db", metavar="PATH", type=input_file,
                     help="replay the newest monitoring session of this database (Monitor page)")
    gui.set_defaults(func=_run_gui)


def display_available() -> bool:
    """Whether a window can be shown: an X11/Wayland display, or Qt told to render offscreen."""
    if sys.platform in ("win32", "darwin"):
        return True
    if os.environ.get("QT_QPA_PLATFORM", "").startswith(("offscreen", "minimal")):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _qt_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("PySide6") is not None


def _prepare_platform(screenshot: bool) -> None:
    """Pick Qt's platform before Qt loads: a missing X11 library is one line, not an abort."""
    from rigready.desktop.qt_platform import PlatformError, prepare_qt_platform
    from rigready.desktop.usecases.errors import UsageError

    try:
        prepare_qt_platform(screenshot)
    except PlatformError as exc:
        raise UsageError(str(exc)) from None


def _run_gui(args: argparse.Namespace) -> int:
    from rigready.desktop.pages import page_keys
    from rigready.desktop.usecases.errors import UsageError

    screenshot: Path | None = args.screenshot
    if args.page is not None and args.page not in page_keys():
        raise UsageError(f"unknown page {args.page!r}; pages: {', '.join(page_keys())}")
    if not _qt_installed():
        raise UsageError("PySide6 is not installed; install rigready with its GUI dependencies")
    if screenshot is not None:  # a missing folder or an existing file is refused before Qt starts
        from rigready.catalog.userfiles import output_target

        output_target(screenshot, force=args.force)
    _prepare_platform(screenshot is not None)
    app = importlib.import_module("rigready.desktop.app")
    result: int = app.run_gui(page=args.page, screenshot=screenshot, profile_path=args.profile,
                              db_path=args.db, force=args.force)
    return result


def _run_default() -> int:
    if display_available() and _qt_installed():
        _prepare_platform(False)
        app = importlib.import_module("rigready.desktop.app")
        result: int = app.run_gui(page=None, screenshot=None, profile_path=None)
        return result
    detect = importlib.import_module("rigready.desktop.commands.detect")
    reason = "no display found" if not display_available() else "PySide6 is not installed"
    print(f"rigready: {reason}, so here is the terminal report instead.")
    print("Open the window from a desktop session with 'rigready', or render it offscreen with "
          "'rigready gui --screenshot FILE'.\n")
    code: int = detect.print_report(None)
    return code


def print_error(exc: BaseException) -> None:
    """The one ``rigready: error:`` line: control characters from the user's input (a newline
    in an option value) are escaped, so the message never spans lines; very long input echoed
    back is shortened."""
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(exc))
    if len(text) > 600:  # a 5,000-digit "model" echoed back helps nobody
        text = text[:300] + " … " + text[-200:]
    print(f"rigready: error: {text}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``rigready`` console script."""
    words = sys.argv[1:] if argv is None else list(argv)
    if words == ["--version"]:  # answered before anything else is imported
        print(f"rigready {__version__}")
        return 0
    from rigready.desktop.usecases.errors import UsageError

    # The files a command reads are declared while its arguments are parsed (input_file); a
    # second main() in one process (tests) starts with none. Not imported for --help.
    userfiles = sys.modules.get("rigready.catalog.userfiles")
    if userfiles is not None:
        userfiles.forget_inputs()
    try:
        args = build_parser().parse_args(argv)
    except UsageError as exc:
        print_error(exc)
        return 2
    import logging

    from rigready.desktop import crash
    from rigready.desktop.logging_setup import configure_logging

    log_file = configure_logging(role="cli")
    logging.getLogger(__name__).info("command: rigready %s",
                                     " ".join(sys.argv[1:] if argv is None else argv))
    if argv is None:  # the real process (console script, bundle), not a test calling main()
        crash.install(crash.CrashHandler(log_file))
    try:
        if getattr(args, "func", None) is None:
            return _run_default()
        code: int = args.func(args)
        return code
    except UsageError as exc:
        print_error(exc)
        return 2
    except _known_errors() as exc:
        print_error(exc)
        return 2
    except KeyboardInterrupt:
        print("rigready: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except OSError as exc:
        import errno  # here, not at the top: 'rigready --version' imports nothing else

        # A path the user gave that the system cannot even look up (too long, a file used as
        # a folder, a symlink loop): one line, whichever command meets it.
        if exc.errno not in (errno.ENAMETOOLONG, errno.ENOTDIR, errno.ELOOP):
            raise
        print_error(UsageError(f"{exc.filename or 'a file name'}: {exc.strerror or exc} "
                               "(check the path)"))
        return 2



def _known_errors() -> tuple[type[Exception], ...]:
    """Errors that are the user's input or environment, not bugs: one line, exit 2.

    The catalog's, the user files', a saved profile's and the monitor store's (disk full, locked,
    corrupt, read-only); the profile's and the store's are looked up only if a command imported
    their module (none other can raise them; sqlite-utils is slow to import).
    """
    from rigready.catalog.errors import CatalogError
    from rigready.catalog.userfiles import UserFileError

    errors: list[type[Exception]] = [CatalogError, UserFileError]
    profile = sys.modules.get("rigready.assess.profile")
    if profile is not None:
        errors.append(profile.ProfileError)
    store = sys.modules.get("rigready.monitor.store")
    if store is not None:
        errors.append(store.StoreError)
    return tuple(errors)


if __name__ == "__main__":
    sys.exit(main())
