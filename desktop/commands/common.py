"""Helpers shared by the CLI subcommands: errors, the ``--profile`` option, JSON output."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from assess.hardware import RigProfile


class UsageError(Exception):
    """Bad input from the user: printed as one line, exit status 2."""


def add_profile_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--profile FILE`` (use a saved rig profile instead of detecting this PC)."""
    parser.add_argument(
        "--profile",
        metavar="FILE",
        type=Path,
        help="use a saved rig profile (from 'rigready detect --save') instead of detecting",
    )


def load_rig(args: argparse.Namespace) -> RigProfile:
    """The profile named by ``--profile``, else a live detection of this PC."""
    from assess.profile import load_profile

    path: Path | None = getattr(args, "profile", None)
    if path is not None:
        return load_profile(path)
    from assess.detect import detect_rig

    return detect_rig(check_torch=bool(getattr(args, "check_torch", False)))


def print_json(data: Any) -> None:
    """Print JSON to stdout the same way in every command."""
    json.dump(data, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


def positive_int(text: str) -> int:
    """argparse type: a whole number above zero."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be above zero, got {value}")
    return value


def positive_float(text: str) -> float:
    """argparse type: a number above zero."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be above zero, got {text}")
    return value
