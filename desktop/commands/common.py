"""Helpers shared by the CLI subcommands: errors, the ``--profile`` option, JSON output."""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from rigready.desktop.usecases.errors import UsageError

if TYPE_CHECKING:
    from rigready.assess.hardware import RigProfile


#: Largest whole number any option accepts (SQLite's and numpy's 64-bit integers).
MAX_INT = 2**63 - 1
#: Longest number text an option accepts (Python refuses >4,300-digit ints anyway).
_MAX_NUMBER_CHARS = 64


class CliParser(argparse.ArgumentParser):
    """The ``rigready`` argument parser: every mistake is one :class:`UsageError` line.

    argparse's own errors (unknown option, missing argument, bad choice) would print a ``usage:``
    block and exit; here they raise :class:`UsageError` with a hint to ``--help``, so
    :func:`rigready.desktop.cli.main` prints one ``rigready: error:`` line and exits 2.
    ``type=float`` and ``type=int`` options are checked for finite, 64-bit-sized values, so ``nan``,
    ``inf`` and 5,000-digit numbers never reach a command. Subparsers inherit the class.
    """

    def error(self, message: str) -> NoReturn:
        """Raise instead of printing usage and exiting."""
        raise UsageError(f"{message} (see '{self.prog} --help')")

    def parse_known_args(  # type: ignore[override]
            self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None,
    ) -> tuple[argparse.Namespace, list[str]]:
        """As argparse's, but the leftovers of a subcommand are its own error: argparse hands
        them to the top-level parser, whose ``parse_args`` then pointed ``rigready monitor
        --bogus`` at ``rigready --help`` rather than ``rigready monitor --help``."""
        parsed, extras = super().parse_known_args(args, namespace)
        if extras and self._subparsers is not None:
            for action in self._subparsers._group_actions:
                if isinstance(action, argparse._SubParsersAction):
                    sub = action.choices.get(getattr(parsed, action.dest or "", None) or "")
                    if isinstance(sub, CliParser):
                        sub.error(f"unrecognized arguments: {' '.join(extras)}")
        return parsed, extras

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """As argparse's; ``type=float``/``type=int`` resolve to the strict parsers (the
        registry is shared with argument groups, so grouped options are checked too)."""
        super().__init__(*args, **kwargs)
        self.register("type", float, finite_float)
        self.register("type", int, whole_number)


def _number_text(text: str) -> str:
    if len(text) > _MAX_NUMBER_CHARS:
        raise argparse.ArgumentTypeError(f"{text[:20]}... is too long for a number")
    return text.strip()


def finite_float(text: str) -> float:
    """argparse type: a finite number (no ``nan``, ``inf`` or overflow such as ``1e999``)."""
    try:
        value = float(_number_text(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


def whole_number(text: str) -> int:
    """argparse type: a whole number that fits in 64 bits."""
    try:
        value = int(_number_text(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if abs(value) > MAX_INT:
        raise argparse.ArgumentTypeError(f"{text} is too large")
    return value


def number_between(low: float, high: float, *, low_open: bool = False
                   ) -> Callable[[str], float]:
    """argparse type: a finite number in ``[low, high]`` (``(low, high]`` if ``low_open``)."""
    def parse(text: str) -> float:
        value = finite_float(text)
        if value > high or value < low or (low_open and value == low):
            left = "(" if low_open else "["
            raise argparse.ArgumentTypeError(f"must be in {left}{low:g}, {high:g}], got {text}")
        return value

    parse.__name__ = "number"
    return parse


def int_between(low: int, high: int) -> Callable[[str], int]:
    """argparse type: a whole number from ``low`` to ``high``."""
    def parse(text: str) -> int:
        value = whole_number(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be from {low} to {high}, got {value}")
        return value

    parse.__name__ = "whole number"
    return parse


def output_file(text: str) -> Path:
    """An argparse type for a file to write: an empty name is refused here, where it is still
    recognisable (``Path("")`` is ".", which would be reported as a folder)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("the path is empty; give a file name")
    return Path(text)


def input_file(text: str) -> Path:
    """An argparse type for a file the command reads (``--profile``, ``--db``): declared with
    :func:`rigready.catalog.userfiles.declare_input`, so no output of the command (``--output``,
    ``--screenshot``, ``--markdown``, ``--save``) can replace it, under any name."""
    from rigready.catalog.userfiles import declare_input

    path = Path(text)
    declare_input(path)
    return path


def add_profile_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--profile FILE`` (use a saved rig profile instead of detecting this PC)."""
    parser.add_argument(
        "--profile",
        metavar="FILE",
        type=input_file,
        help="use a saved rig profile (from 'rigready detect --save') instead of detecting",
    )


def load_rig(args: argparse.Namespace) -> RigProfile:
    """The profile named by ``--profile``, else a live detection of this PC."""
    from rigready.assess.profile import load_profile

    path: Path | None = getattr(args, "profile", None)
    if path is not None:
        return load_profile(path)
    from rigready.assess.detect import detect_rig

    return detect_rig(check_torch=bool(getattr(args, "check_torch", False)))


def print_json(data: Any) -> None:
    """Print JSON to stdout the same way in every command.

    A non-finite number (a sensor that read NaN) is printed as ``null``: ``NaN`` and
    ``Infinity`` are not JSON, and a reader would fail on them.
    """
    json.dump(finite_or_none(data), sys.stdout, indent=2, default=str, allow_nan=False)
    sys.stdout.write("\n")


def finite_or_none(data: Any) -> Any:
    """``data`` with every NaN/infinite float (in dicts, lists and tuples) replaced by None."""
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {k: finite_or_none(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [finite_or_none(v) for v in data]
    return data


def positive_int(text: str) -> int:
    """argparse type: a whole number above zero."""
    value = whole_number(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be above zero, got {value}")
    return value


def positive_float(text: str) -> float:
    """argparse type: a finite number above zero."""
    value = finite_float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be above zero, got {text}")
    return value
