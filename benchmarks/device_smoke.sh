#!/usr/bin/env bash
# End-to-end check of the finished command line on a real NVIDIA GPU (run through the device
# tool): every user-facing command once, on live detection, with a real PyTorch training loop
# running under `rigready monitor`. Writes at most 8 files to $OUT:
#   transcript.txt  each command, its exit status and its text output
#   env.json        GPU, driver, Python and library versions
#   detect.json     rigready detect --json (live)
#   score.json      rigready score --json on that profile
#   estimate.json   rigready estimate llama-3.1-8b --method lora --json on that profile
#   plan.json       rigready plan llama-3.1-70b --method qlora --json on that profile
#   bench.json      rigready bench gemm --device gpu --quick --json
#   monitor.csv     the monitor session (train loop inside it), exported by rigready history
# Run from the repository root; needs sqlite-utils and platformdirs (the device README's wheels).
set -u
OUT=${OUT:?set OUT}
export PYTHONUNBUFFERED=1 RIGREADY_HOME=$(mktemp -d)
# rigready.* from this checkout, installed or not (packaging/pkgroot.py links the folders)
export PYTHONPATH="$(python3 packaging/pkgroot.py)${PYTHONPATH:+:$PYTHONPATH}"
RR="python3 -m rigready.desktop.cli"
T="$OUT/transcript.txt"

run() {  # run COMMAND... ; append it, its output and its exit status to the transcript
    local start=$SECONDS
    { echo; echo "\$ rigready ${*}"; } >> "$T"
    $RR "$@" >> "$T" 2>&1
    local rc=$?
    echo "[exit $rc, $((SECONDS - start)) s]" >> "$T"
    return 0
}

json() {  # json FILE COMMAND... ; the command's stdout to FILE, noted in the transcript
    local file=$1; shift
    { echo; echo "\$ rigready ${*} > $(basename "$file")"; } >> "$T"
    $RR "$@" > "$file" 2>> "$T"
    local rc=$?
    python3 -c "import json,sys; json.load(open(sys.argv[1]))" "$file" 2>> "$T" \
        && echo "[exit $rc, valid JSON, $(wc -c < "$file") bytes]" >> "$T" \
        || echo "[exit $rc, NOT valid JSON]" >> "$T"
}

python3 - > "$OUT/env.json" <<'PY'
import importlib.metadata as md, json, platform
import pynvml
pynvml.nvmlInit()
h = pynvml.nvmlDeviceGetHandleByIndex(0)
out = {"date": __import__("datetime").date.today().isoformat(), "python": platform.python_version(),
       "gpu": pynvml.nvmlDeviceGetName(h), "driver": pynvml.nvmlSystemGetDriverVersion()}
for dist in ("nvidia-ml-py", "torch", "psutil", "sqlite-utils", "numpy"):
    try:
        out[dist] = md.version(dist)
    except md.PackageNotFoundError:
        out[dist] = None
print(json.dumps(out, indent=1))
PY

run --version
run detect --check-torch
json "$OUT/detect.json" detect --json
P="$OUT/detect.json"
json "$OUT/score.json" score --json --profile "$P"
run score --profile "$P"
json "$OUT/estimate.json" estimate llama-3.1-8b --method lora --seq 2048 --json --profile "$P"
run estimate llama-3.1-8b --method lora --seq 2048 --profile "$P"
json "$OUT/plan.json" plan llama-3.1-70b --method qlora --budget 2000 --json --profile "$P"
run plan llama-3.1-70b --method qlora --budget 2000 --profile "$P"
json "$OUT/bench.json" bench gemm --device gpu --quick --json
run bench history

# A monitor session with a real training loop inside it: 5 s idle, 20 s training, 5 s idle.
$RR monitor --interval 1 --duration 30 --label "device smoke" >> "$OUT/monitor.log" 2>&1 &
MON=$!
sleep 5
python3 benchmarks/train_loop.py --seconds 20 >> "$OUT/monitor.log" 2>&1
wait $MON
MON_RC=$?
{ echo; echo "\$ rigready monitor --interval 1 --duration 30 --label 'device smoke'"; \
  echo "[exit $MON_RC]"; tail -n 8 "$OUT/monitor.log"; } >> "$T"
rm -f "$OUT/monitor.log"
run history
run history --session 1
$RR history --session 1 --export csv --output "$OUT/monitor.csv" 2>> "$T"
echo "[history export: $(wc -l < "$OUT/monitor.csv") lines]" >> "$T"
run estimate no-such-model --method lora
cat "$T"
