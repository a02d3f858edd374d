"""Fallback entry point with only the ``monitor`` and ``history`` subcommands.

benchmarks/monitor_device_session.sh uses it if ``python3 -m rigready.desktop.cli`` cannot be
imported on the GPU machine (for example because an unrelated subcommand's dependency is missing
there).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# rigready.* from a checkout with nothing installed (made by packaging/pkgroot.py)

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "build" / "pkgroot"))

from rigready.desktop.commands import monitor
from rigready.desktop.usecases.errors import UsageError


def main() -> int:
    parser = argparse.ArgumentParser(prog="rigready")
    monitor.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args()
    try:
        code: int = args.func(args)
    except UsageError as exc:
        print(f"rigready: error: {exc}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    raise SystemExit(main())
