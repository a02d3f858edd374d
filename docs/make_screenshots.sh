#!/usr/bin/env bash
# Regenerate every screenshot in docs/screenshots/ offscreen, from committed real data:
#   This PC, Readiness, Can I run it?, Upgrade wizard  the hobbyist RTX 3060 desktop profile
#                                                      (GTX 1660 + 550 W for the upgrade wizard)
#   Benchmarks   the H100 live profile and the GPU GEMM run measured on it by
#                benchmarks/device_smoke.sh (tests/data/device-smoke/h100-2026-11-22)
#   Monitor, Training monitor   the H200 training-loop session (tests/data/monitor/h200-2026-11-22)
#   Monitor and Training monitor with a run   a LoRA run recorded by `rigready run` on a CPU-only
#                machine (tests/data/training/cpu_lora_db): the page at its end, the monitor 30 s in
# Uses a throwaway RIGREADY_HOME, so your own settings, history and window state stay untouched.
#
#   docs/make_screenshots.sh            (needs .venv: make start or make test first; make test's
#                                        .venv also has Pillow, which shrinks the PNGs)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
OUT=docs/screenshots
HOME_DIR=$(mktemp -d)
trap 'rm -rf "$HOME_DIR"' EXIT
export QT_QPA_PLATFORM=offscreen RIGREADY_HOME=$HOME_DIR
RTX3060=tests/data/profiles/hobbyist/desktop-rtx3060-12gb-32gb-ddr4.json
GTX1660=tests/data/profiles/hobbyist/desktop-gtx1660-16gb-ddr4.json
H100_RUN=tests/data/device-smoke/h100-2026-11-22
H200_DB=tests/data/monitor/h200-2026-11-22/h200-session.sqlite3
RUN_DB=tests/data/training/cpu_lora_db/run.sqlite3

shot() {  # shot PAGE PROFILE [extra gui options]
    local page=$1 profile=$2; shift 2
    "$PY" -m rigready.desktop.cli gui --force --screenshot "$OUT/$page.png" --page "$page" --profile "$profile" "$@"
}

mkdir -p "$OUT"
for page in this-pc readiness can-i-run; do shot "$page" "$RTX3060"; done
shot upgrade "$GTX1660"

# The benchmark history gets the H100's real run, saved under that machine's fingerprint at the
# time it was measured (its line in the session's transcript), not at the time of the screenshot.
"$PY" - "$H100_RUN/bench.json" "$H100_RUN/transcript.txt" <<'PY'
import json, re, sys
from rigready.catalog.paths import database_path
from rigready.monitor.store import Store
record = json.load(open(sys.argv[1]))
transcript = open(sys.argv[2]).read()
database_path().parent.mkdir(parents=True, exist_ok=True)
with Store(database_path()) as store:
    for run in record["runs"]:
        when = re.search(r"^(\S+)\s+\S+\s+" + re.escape(run["label"]), transcript, re.M)
        store.save_bench_result(kind=run["kind"], fingerprint=record["fingerprint"],
                                label=run["label"], result=run["record"],
                                created=when.group(1) if when else None)
PY
# A copy named after the machine, so the page says whose results these are.
cp "$H100_RUN/detect.json" "$HOME_DIR/h100-2026-11-22.json"
shot benchmarks "$HOME_DIR/h100-2026-11-22.json"

# SQLite writes -wal/-shm files beside a database it opens: replay a copy, never the fixture.
cp "$H200_DB" "$HOME_DIR/h200.sqlite3"
"$PY" -m rigready.desktop.cli gui --force --screenshot "$OUT/monitor.png" --db "$HOME_DIR/h200.sqlite3"
"$PY" -m rigready.desktop.monitoring.screenshot --db "$HOME_DIR/h200.sqlite3" --at 45 \
    --out "$OUT/training-monitor.png"
cp "$RUN_DB" "$HOME_DIR/run.sqlite3"
"$PY" -m rigready.desktop.cli gui --force --screenshot "$OUT/monitor-run.png" --db "$HOME_DIR/run.sqlite3"
"$PY" -m rigready.desktop.monitoring.screenshot --db "$HOME_DIR/run.sqlite3" --at 30 \
    --out "$OUT/training-monitor-run.png"
# Smaller files: a 256-colour palette (median cut, no dithering) keeps text and chart lines as
# they were and takes about two thirds off each file. Pillow comes with the test extra
# (tensorboard needs it); without it the screenshots stay full-colour PNGs.
"$PY" - "$OUT" <<'PY' || echo "make_screenshots: Pillow not installed, PNGs left unoptimised"
import sys
from pathlib import Path
from PIL import Image
for path in sorted(Path(sys.argv[1]).glob("*.png")):
    with Image.open(path) as image:
        small = image.convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT,
                                              dither=Image.Dither.NONE)
    small.save(path, optimize=True)
PY
ls -l "$OUT"
