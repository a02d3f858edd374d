#!/usr/bin/env bash
# Hardware-proof run for a GPU machine (issue 2, item 7). Writes everything under $OUT:
#   profile.json (rigready detect --json), profile-direct.json (same through the Python API,
#   in case the CLI frame breaks), profile-torch.json (with the torch CUDA check), report.txt,
#   speed.txt/speed.json, fixture.tgz (benchmarks/capture_detect_fixture.py tree), versions.txt.
# Usage (repository root): OUT=/some/dir bash benchmarks/device_detect_capture.sh
set -u
: "${OUT:?set OUT to the output folder}"
PY=${PYTHON:-python3}
export PYTHONUNBUFFERED=1
# rigready.* from this checkout, installed or not (packaging/pkgroot.py links the folders)
export PYTHONPATH="$(python3 packaging/pkgroot.py)${PYTHONPATH:+:$PYTHONPATH}"
mkdir -p "$OUT"
{ date -u +%FT%TZ; id; uname -a; $PY -V; nproc; } > "$OUT/versions.txt" 2>&1
$PY - >> "$OUT/versions.txt" 2>&1 <<'PYEOF'
from importlib.metadata import version
for name in ("nvidia-ml-py", "psutil", "py-cpuinfo", "torch", "numpy"):
    try:
        print(name, version(name))
    except Exception as exc:
        print(name, "missing", exc)
PYEOF
nvidia-smi >> "$OUT/versions.txt" 2>&1
$PY benchmarks/capture_detect_fixture.py /tmp/rigready-fixture > "$OUT/capture.log" 2>&1
echo "capture rc=$?" >> "$OUT/capture.log"
tar czf "$OUT/fixture.tgz" -C /tmp/rigready-fixture .
$PY -m rigready.desktop.cli detect --json > "$OUT/profile.json" 2> "$OUT/cli.err"; echo "json rc=$?" >> "$OUT/cli.err"
$PY -m rigready.desktop.cli detect > "$OUT/report.txt" 2>> "$OUT/cli.err"; echo "report rc=$?" >> "$OUT/cli.err"
$PY -c "from rigready.assess.detect import detect_rig; from rigready.assess.profile import profile_to_json; print(profile_to_json(detect_rig()), end='')" > "$OUT/profile-direct.json" 2> "$OUT/direct.err"
$PY -c "from rigready.assess.detect import detect_rig; from rigready.assess.profile import profile_to_json; print(profile_to_json(detect_rig(check_torch=True)), end='')" > "$OUT/profile-torch.json" 2> "$OUT/torch.err"
$PY benchmarks/detect_speed.py --runs 5 --json "$OUT/speed.json" > "$OUT/speed.txt" 2>&1
echo done
