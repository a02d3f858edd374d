"""Time from launching the window to its first painted frame (target: under 1.5 s).

Each run is a fresh process (``python -c`` with the same start-up path as ``rigready``): the
parent notes the time, the child builds the QApplication and the main window with a saved
profile, shows it, and prints a line from the first paint of the window; the parent's clock at
that line is the figure. Offscreen by default, since CI and this machine have no display.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/gui_first_frame.py --runs 7
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROFILE = ROOT / "tests" / "data" / "profiles" / "h100-2026-11-22.json"

CHILD = """
import sys
from pathlib import Path
from PySide6.QtCore import QObject, QEvent, QTimer
from rigready.assess.profile import load_profile
from rigready.desktop.app import _application, create_window

class FirstPaint(QObject):
    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Paint:
            print("first-frame", flush=True)
            QTimer.singleShot(0, app.quit)
            obj.removeEventFilter(self)
        return False

app = _application()
window = create_window(app)
window.remember_state = False
watcher = FirstPaint()
window.installEventFilter(watcher)
window.resize(1280, 820)
window.show()
window.context.set_profile(load_profile(Path(sys.argv[1])))
app.exec()
"""


def one_run(profile: Path) -> float:
    """Seconds from spawning the process to its first-frame line."""
    env = dict(os.environ, RIGREADY_HOME=tempfile.mkdtemp(prefix="rigready-bench-"))
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    start = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(profile)], cwd=ROOT, env=env,
                             stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    for line in child.stdout:
        if line.strip() == "first-frame":
            elapsed = time.perf_counter() - start
            break
    else:
        raise SystemExit("the window never painted")
    child.wait(timeout=30)
    return elapsed


def main() -> None:
    """Run the measurement and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--profile", type=Path, default=PROFILE)
    args = parser.parse_args()
    times = [one_run(args.profile) for _ in range(args.runs)]
    print(f"platform: {os.environ.get('QT_QPA_PLATFORM', 'offscreen')}, Python "
          f"{sys.version.split()[0]}, {os.cpu_count()} logical CPUs")
    print(f"launch to first frame: {statistics.median(times) * 1000:.0f} ms median "
          f"(min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f}, {len(times)} runs; "
          "target < 1500 ms)")


if __name__ == "__main__":
    main()
