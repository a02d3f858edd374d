#!/usr/bin/env bash
# Start times of the bundle: each command run cold (page cache dropped, when run as root) and
# then warm, a few rounds; prints a Markdown table of the median seconds.
#
#   packaging/measure_start.sh [BUNDLE_DIR] [ROUNDS]     defaults: dist/rigready, 3
#
# "Cold" needs root (it writes /proc/sys/vm/drop_caches); otherwise the first run of each round
# is only the first after the others and the table says so. Uses its own RIGREADY_HOME.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUNDLE="$(cd "${1:-$ROOT/dist/rigready}" && pwd)"
ROUNDS="${2:-3}"
EXE="$BUNDLE/rigready"
PROFILE="$ROOT/tests/data/profiles/hobbyist/desktop-rtx3060-12gb-32gb-ddr4.json"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
export RIGREADY_HOME="$TMP/home" QT_QPA_PLATFORM=offscreen

drop_caches() {
    sync
    if [[ -w /proc/sys/vm/drop_caches ]]; then echo 3 >/proc/sys/vm/drop_caches; return 0; fi
    return 1
}
COLD="cold (page cache dropped)"
drop_caches || COLD="first of the round (not root: cache not dropped)"

seconds() {  # seconds CMD...: wall time of one run in seconds, output discarded (bash 5)
    local start end
    start=${EPOCHREALTIME/./}
    "$@" >/dev/null 2>&1
    end=${EPOCHREALTIME/./}
    printf '%d.%06d\n' $(((end - start) / 1000000)) $(((end - start) % 1000000))
}
median() { sort -g | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.2f", m}'; }

declare -A COMMANDS=(
    ["--version"]="$EXE --version"
    ["detect --json"]="$EXE detect --json"
    ["gui --screenshot (This PC)"]="$EXE gui --force --screenshot $TMP/shot.png --page this-pc --profile $PROFILE"
)
ORDER=("--version" "detect --json" "gui --screenshot (This PC)")

echo "bundle $BUNDLE ($(du -sh "$BUNDLE" | cut -f1)), $ROUNDS rounds, $(nproc) cores"
echo
echo "| command | $COLD | second run |"
echo "|---|---|---|"
for name in "${ORDER[@]}"; do
    : >"$TMP/first"; : >"$TMP/second"
    for _ in $(seq "$ROUNDS"); do
        drop_caches || true
        # shellcheck disable=SC2086  # the command line is split on purpose
        seconds ${COMMANDS[$name]} >>"$TMP/first"
        # shellcheck disable=SC2086
        seconds ${COMMANDS[$name]} >>"$TMP/second"
    done
    echo "| \`$name\` | $(median <"$TMP/first") s | $(median <"$TMP/second") s |"
done
