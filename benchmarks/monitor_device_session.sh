#!/usr/bin/env bash
# Hardware proof for the live monitor (issue 7, item 8), run once on the GPU machine:
#   1. record the environment and what NVML supports there (nvml_probe.json),
#   2. log a session with `rigready monitor` (1 Hz, 85 s, Prometheus on 127.0.0.1:9400)
#      while benchmarks/train_loop.py trains a small bf16 transformer for 60 s (the extra
#      seconds catch the idle start and the cool-down after training),
#   3. scrape /metrics once mid-run, export the session to CSV and JSON,
#   4. measure the sampler's CPU cost with NVML (benchmarks/sampler_cost.py --provider real).
# Results land in $OUT (at most 8 files: the device run brings back no more); intermediate
# logs go to $WORK and are gathered into $OUT/run.log. Needs torch and a CUDA GPU; run from the
# repository root.
set -u
OUT=${OUT:?set OUT}
DB="$OUT/gpu-session.sqlite3"
WORK=$(mktemp -d)
export PYTHONUNBUFFERED=1
# rigready.* from this checkout, installed or not (packaging/pkgroot.py links the folders)
export PYTHONPATH="$(python3 packaging/pkgroot.py)${PYTHONPATH:+:$PYTHONPATH}"
RR="python3 -m rigready.desktop.cli"
if ! $RR --help > /dev/null 2> "$WORK/cli_import.err"; then
    echo "rigready.desktop.cli does not import here; using the monitor-only entry point"
    cat "$WORK/cli_import.err"
    RR="python3 benchmarks/rigready_monitor_only.py"
fi

python3 - > "$OUT/env.json" <<'EOF'
import json, platform, sqlite3, importlib.metadata as md
import pynvml
pynvml.nvmlInit()
h = pynvml.nvmlDeviceGetHandleByIndex(0)
out = {"python": platform.python_version(), "sqlite": sqlite3.sqlite_version,
       "driver": pynvml.nvmlSystemGetDriverVersion(),
       "cuda_driver": pynvml.nvmlSystemGetCudaDriverVersion(),
       "gpu": pynvml.nvmlDeviceGetName(h), "gpus": pynvml.nvmlDeviceGetCount()}
for dist in ("nvidia-ml-py", "torch", "psutil", "sqlite-utils", "prometheus-client"):
    try:
        out[dist] = md.version(dist)
    except md.PackageNotFoundError:
        out[dist] = None
print(json.dumps(out, indent=1, default=str))
EOF
cat "$OUT/env.json"

python3 - > "$OUT/nvml_probe.json" <<'EOF'
import json, time
from dataclasses import asdict
from rigready.gpu.nvml import nvml_door
from rigready.monitor.providers.gpu import GpuProvider
t0 = time.perf_counter()
p = GpuProvider(nvml_door())
init_ms = 1000 * (time.perf_counter() - t0)
reads = []
for _ in range(50):
    t = time.perf_counter(); r = p.read(); reads.append(1000 * (time.perf_counter() - t))
reads.sort()
slow = p.slow_fields()
p.close()
import pynvml, statistics
pynvml.nvmlInit()
h = pynvml.nvmlDeviceGetHandleByIndex(0)
calls = {
    "GetUtilizationRates": lambda: pynvml.nvmlDeviceGetUtilizationRates(h),
    "GetMemoryInfo": lambda: pynvml.nvmlDeviceGetMemoryInfo(h),
    "GetTemperatureV": lambda: pynvml.nvmlDeviceGetTemperatureV(h, 0),
    "GetTemperature": lambda: pynvml.nvmlDeviceGetTemperature(h, 0),
    "GetPowerUsage": lambda: pynvml.nvmlDeviceGetPowerUsage(h),
    "GetEnforcedPowerLimit": lambda: pynvml.nvmlDeviceGetEnforcedPowerLimit(h),
    "GetTotalEnergyConsumption": lambda: pynvml.nvmlDeviceGetTotalEnergyConsumption(h),
    "GetClockInfo(SM)": lambda: pynvml.nvmlDeviceGetClockInfo(h, 1),
    "GetClockInfo(MEM)": lambda: pynvml.nvmlDeviceGetClockInfo(h, 2),
    "GetFanSpeed": lambda: pynvml.nvmlDeviceGetFanSpeed(h),
    "GetPerformanceState": lambda: pynvml.nvmlDeviceGetPerformanceState(h),
    "GetCurrentClocksEventReasons": lambda: pynvml.nvmlDeviceGetCurrentClocksEventReasons(h),
    "GetComputeRunningProcesses": lambda: pynvml.nvmlDeviceGetComputeRunningProcesses(h),
    "GetGraphicsRunningProcesses": lambda: pynvml.nvmlDeviceGetGraphicsRunningProcesses(h),
}
per_call = {}
for name, fn in calls.items():
    times = []
    try:
        for _ in range(100):
            t = time.perf_counter(); fn(); times.append(1e6 * (time.perf_counter() - t))
        per_call[name] = round(statistics.median(times), 1)
    except pynvml.NVMLError as exc:
        per_call[name] = str(exc)
from rigready.monitor.providers.host import HostProvider
hp = HostProvider(); hp.read(); times = []
for _ in range(100):
    t = time.perf_counter(); hp.read(); times.append(1e6 * (time.perf_counter() - t))
per_call["host provider read (psutil)"] = round(statistics.median(times), 1)
print(json.dumps({"init_ms": init_ms, "read_ms_median": reads[25], "read_ms_max": reads[-1],
                  "disabled_fields": p.disabled_fields(), "slow_fields_ms": slow,
                  "notes": p.notes(), "per_call_median_us": per_call,
                  "reading": [asdict(g) for g in r.gpus]}, indent=1, default=str))
EOF
python3 -c "import json,sys;d=json.load(open(sys.argv[1]));d.pop('reading');print(json.dumps(d,indent=1))" "$OUT/nvml_probe.json"

$RR monitor --interval 1 --duration 85 --db "$DB" --label "training loop" \
    --prometheus 127.0.0.1:9400 > "$WORK/monitor.log" 2> "$WORK/monitor.err" &
MON=$!
sleep 3
( sleep 35; python3 -c "import urllib.request;print(urllib.request.urlopen('http://127.0.0.1:9400/metrics').read().decode())" > "$OUT/metrics.txt" 2>&1 ) &
python3 benchmarks/train_loop.py --seconds 60 > "$WORK/train.log" 2>&1
echo "train exit $?"
wait $MON
echo "monitor exit $?"
cat "$WORK/train.log" "$WORK/monitor.err" "$WORK/monitor.log"

$RR history --db "$DB"
$RR history --db "$DB" --session 1
$RR history --db "$DB" --session 1 --export csv --output "$OUT/gpu-session.csv"
$RR history --db "$DB" --session 1 --export json --output "$OUT/gpu-session.json"
python3 -c "import sqlite3,sys;print('integrity', sqlite3.connect(sys.argv[1]).execute('PRAGMA integrity_check').fetchone())" "$DB"
# Read-only readers leave an empty -wal and a -shm behind; the data is all in the main file.
[ -s "$DB-wal" ] || rm -f "$DB-wal" "$DB-shm"

python3 benchmarks/sampler_cost.py --provider real --seconds 30 --json "$OUT/sampler_cost.json"
python3 benchmarks/sampler_cost.py --provider fake --seconds 10
ls -la "$OUT"
