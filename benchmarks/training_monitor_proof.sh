#!/usr/bin/env bash
# Training-monitor proof on real hardware (issue 21, item 7). Run from the repository root on
# the GPU machine; about 3-4 minutes on an H100. Each job runs under `rigready run` while
# `rigready monitor --watch` follows its log folder (live, while it runs, except for hf_steady,
# whose finished folder is read afterwards so that nothing else shares the GPU machine's CPUs
# while its runtime is compared with hf_bare's; two databases: one monitor per database).
# Jobs (benchmarks/training_jobs/):
#   hf_steady   HF Trainer + peft LoRA, Llama-shaped model from a config (random weights),
#               synthetic data, report_to=tensorboard, logging every 5 steps, trainer_state.json
#   hf_bare     the same job without rigready (the wrapper's overhead: train_runtime compared)
#   hf_nan      SGD at a learning rate that drives the run to NaN, logging every step
#   lightning   PyTorch Lightning with CSVLogger (its default Rich bar)
#   tqdm_loop   a plain loop with a tqdm bar (postfix loss), a fixed sleep per step: steady
#   tqdm_kill   the loop SIGKILLs itself at step 200 (the crash-alert latency)
# Then benchmarks/run_wrapper_cost.py (CPU and added latency per line at 100 lines/s).
# Alerts run a --notify-cmd hook that logs the alert with its own clock (alert latency).
# Sizes can be changed by environment (HF_HIDDEN, HF_LAYERS, HF_BATCH, HF_SEQ, HF_STEPS,
# L_BATCHES, L_WIDTH, LOOP_WIDTH, LOOP_BATCH, LOOP_STEPS): a CPU rehearsal uses small ones.
# Writes at most 8 files to $OUT: env.json, report.json, report.txt, jobs.tar.gz (captured
# streams, event files, trainer_state.json, metrics.csv), dbs.tar.gz (rigready's databases),
# history.json (rigready's own records), log.txt.
#
# Needs nothing installed beyond the GPU image (torch, transformers, peft, pytorch-lightning,
# tensorboard, tqdm are there); rigready's own missing dependencies travel as wheels in .whl/:
#   sqlite_utils-4.2.1, sqlite_fts4-1.0.3, click_default_group-1.2.4, platformdirs-4.14.9
#   (py3-none-any, about 210 KB; see benchmarks/README.md for the pip download line).
set -u
OUT=${OUT:?set OUT}
WORK=$(mktemp -d)
LOG="$OUT/log.txt"
export PYTHONUNBUFFERED=1 COLUMNS=120 LINES=40
if ls .whl/*.whl > /dev/null 2>&1; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl >> "$LOG" 2>&1 && export PYTHONPATH=/tmp/site
fi
export PYTHONPATH="$(python3 packaging/pkgroot.py)${PYTHONPATH:+:$PYTHONPATH}"
RR="python3 -m rigready.desktop.cli"
J=benchmarks/training_jobs
HOOK="$WORK/hook.sh"
printf '#!/bin/sh\nprintf "%%s\\t%%s\\t%%s\\n" "$RIGREADY_RUN_LABEL" "$RIGREADY_ALERT_KIND" "$(date +%%s.%%N)" >> %s/alerts.log\n' "$WORK" > "$HOOK"
chmod +x "$HOOK"

python3 - > "$OUT/env.json" 2>> "$LOG" <<'PY'
import json, platform, importlib.metadata as md
out = {"python": platform.python_version()}
for d in ("torch", "transformers", "peft", "pytorch-lightning", "lightning", "tensorboard", "tqdm",
          "rich", "accelerate", "nvidia-ml-py", "sqlite-utils"):
    try:
        out[d] = md.version(d)
    except md.PackageNotFoundError:
        out[d] = None
try:
    import pynvml
    pynvml.nvmlInit()
    h = pynvml.nvmlDeviceGetHandleByIndex(0)
    out["driver"] = pynvml.nvmlSystemGetDriverVersion()
    out["gpu"] = pynvml.nvmlDeviceGetName(h)
except Exception as exc:  # noqa: BLE001
    out["nvml"] = repr(exc)
print(json.dumps(out, indent=1, default=str))
PY
cat "$OUT/env.json"

job() {  # job NAME WATCH(0/1: live) -- COMMAND...
    local name=$1 watch=$2; shift 3
    mkdir -p "$WORK/$name/out"
    local wpid=""
    if [ "$watch" = 1 ]; then
        $RR monitor --watch "$WORK/$name/out" --db "$WORK/watch.sqlite3" --label "$name" \
            --no-desktop-notify --quiet --interval 1 > "$WORK/$name/watch.out" \
            2> "$WORK/$name/watch.err" &
        wpid=$!
    fi
    local t0=$(date +%s.%N)
    $RR run --db "$WORK/run.sqlite3" --label "$name" --no-desktop-notify \
        --notify-cmd "$HOOK" --capture "$WORK/$name/capture.jsonl" --force -- "$@" \
        > "$WORK/$name/stdout.txt" 2> "$WORK/$name/stderr.txt"
    local rc=$?
    echo "$name: exit $rc in $(python3 -c "import time;print(round(time.time()-$t0,1))") s" | tee -a "$LOG"
    tail -3 "$WORK/$name/stderr.txt" | tee -a "$LOG"
    if [ -n "$wpid" ]; then
        sleep 3; kill -TERM "$wpid" 2>/dev/null; wait "$wpid"
        tail -2 "$WORK/$name/watch.err" | tee -a "$LOG"
    fi
}

HF_ARGS="--hidden ${HF_HIDDEN:-1024} --layers ${HF_LAYERS:-8} --batch ${HF_BATCH:-16} --seq ${HF_SEQ:-512}"
job hf_steady 0 -- python3 $J/hf_lora.py --out "$WORK/hf_steady/out" --steps ${HF_STEPS:-600} \
    --logging-steps 5 --eval-steps 200 --save-steps 200 $HF_ARGS
$RR monitor --watch "$WORK/hf_steady/out" --db "$WORK/watch.sqlite3" --label hf_steady \
    --no-desktop-notify --quiet --exit-when-done --duration 60 > "$WORK/hf_steady/watch.out" \
    2> "$WORK/hf_steady/watch.err"
tail -2 "$WORK/hf_steady/watch.err" | tee -a "$LOG"
mkdir -p "$WORK/hf_bare"
t0=$(date +%s.%N)
python3 $J/hf_lora.py --out "$WORK/hf_bare/out" --steps ${HF_STEPS:-600} --logging-steps 5 \
    --eval-steps 200 --save-steps 200 $HF_ARGS > "$WORK/hf_bare/stdout.txt" 2>&1
echo "hf_bare (no wrapper): exit $? in $(python3 -c "import time;print(round(time.time()-$t0,1))") s" | tee -a "$LOG"
job hf_nan 1 -- python3 $J/hf_lora.py --out "$WORK/hf_nan/out" --steps 60 --nan-lr --save-steps 60 $HF_ARGS
job lightning 1 -- python3 $J/lightning_csv.py --out "$WORK/lightning/out" --epochs 4 \
    --batches ${L_BATCHES:-100} --width ${L_WIDTH:-2048}
LOOP_ARGS="--width ${LOOP_WIDTH:-4096} --batch ${LOOP_BATCH:-1024}"
job tqdm_loop 0 -- python3 $J/tqdm_loop.py --steps ${LOOP_STEPS:-1500} $LOOP_ARGS --sleep 0.02
job tqdm_kill 0 -- python3 $J/tqdm_loop.py --steps 3000 $LOOP_ARGS --kill-at 200
python3 benchmarks/run_wrapper_cost.py --seconds 15 2>&1 | tee "$WORK/wrapper_cost.txt" | tee -a "$LOG"

python3 benchmarks/training_proof_report.py "$WORK" "$OUT/report.json" > "$OUT/report.txt" 2>> "$LOG"
cat "$OUT/report.txt"
for s in $(python3 -c "
import sqlite3; print(' '.join(str(r[0]) for r in sqlite3.connect('$WORK/run.sqlite3').execute('select session_id from runs')))" 2>/dev/null); do
    $RR history --db "$WORK/run.sqlite3" --session "$s" --export json --output "$WORK/history-$s.json" >> "$LOG" 2>&1
done
python3 - "$WORK" > "$OUT/history.json" <<'PY'
import json, sys, pathlib
work = pathlib.Path(sys.argv[1])
print(json.dumps({p.name: json.loads(p.read_text()) for p in sorted(work.glob("history-*.json"))}))
PY
# weights and optimizer states stay behind: the streams and logs are what the tests read
(cd "$WORK" && tar --exclude='*.safetensors' --exclude='*.pt' --exclude='*.pth' --exclude='*.bin' \
    -czf "$OUT/jobs.tar.gz" hf_steady hf_bare hf_nan lightning tqdm_loop tqdm_kill alerts.log \
    wrapper_cost.txt)
(cd "$WORK" && tar -czf "$OUT/dbs.tar.gz" run.sqlite3 watch.sqlite3)
ls -la "$OUT" | tee -a "$LOG"
