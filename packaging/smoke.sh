#!/usr/bin/env bash
# Run the built bundle the way a user would and check each answer (CI calls this after build.sh).
#
#   packaging/smoke.sh [BUNDLE_DIR]      default dist/rigready
#
# Checks: --version; detect --json (valid JSON with the profile's sections); catalog check (the
# catalog data is in the bundle); score --profile on a committed profile; bad input gives one
# line and exit 2; the window rendered offscreen to PNG screenshots; the log file is written;
# install.sh into a temporary prefix and back out; with xvfb-run installed, the same on X11.
# Uses its own RIGREADY_HOME, never yours.
# Needs bash and python3 (only to read the JSON and PNG answers).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUNDLE="$(cd "${1:-$ROOT/dist/rigready}" && pwd)"
EXE="$BUNDLE/rigready"
PROFILE="$ROOT/tests/data/profiles/hobbyist/desktop-rtx3060-12gb-32gb-ddr4.json"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
export RIGREADY_HOME="$TMP/home"
export QT_QPA_PLATFORM=offscreen
FAILED=0

pass() { printf 'ok    %s\n' "$*"; }
fail() { printf 'FAIL  %s\n' "$*"; FAILED=1; }
# run NAME CMD...: run a command, keep its stdout/stderr in $TMP/NAME.{out,err}, return its code.
run() {
    local name="$1"; shift
    local code=0
    "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" || code=$?
    return "$code"
}

[[ -x "$EXE" ]] || { echo "smoke.sh: no executable $EXE (run packaging/build.sh)" >&2; exit 2; }
echo "bundle: $BUNDLE ($(du -sh "$BUNDLE" | cut -f1))"

if run version "$EXE" --version && grep -Eq '^rigready [0-9]+\.[0-9]+' "$TMP/version.out"; then
    pass "--version: $(cat "$TMP/version.out")"
else
    fail "--version: $(cat "$TMP/version.out" "$TMP/version.err")"
fi

if run detect "$EXE" detect --json && python3 - "$TMP/detect.out" <<'PY'
import json, sys
data = json.load(open(sys.argv[1]))
missing = {"cpu", "memory", "storage", "gpus", "system"} - set(data)
assert not missing, f"missing sections {sorted(missing)}"
assert isinstance(data["gpus"], list)
print(f"      cpu: {data['cpu'].get('model')}; {len(data['gpus'])} GPU(s)")
PY
then pass "detect --json: valid JSON profile"; else fail "detect --json"; cat "$TMP/detect.err"; fi

if run catalog "$EXE" catalog check && grep -q "^Catalog OK" "$TMP/catalog.out" \
    && grep -q "built in: $BUNDLE/" "$TMP/catalog.out"; then
    pass "catalog check: $(head -1 "$TMP/catalog.out"), read from the bundle"
else
    fail "catalog check"; cat "$TMP/catalog.out" "$TMP/catalog.err"
fi

if run score "$EXE" score --profile "$PROFILE" --json && python3 - "$TMP/score.out" <<'PY'
import json, sys
data = json.load(open(sys.argv[1]))
score = data["score"]
assert isinstance(score, int) and 0 <= score <= 100, score
assert data["tasks"], "no task verdicts"
print(f"      score {score}, tier {data['overall_tier_name']}, {len(data['tasks'])} tasks")
PY
then pass "score --profile: JSON answer"; else fail "score --profile"; cat "$TMP/score.err"; fi

code=0; run bad "$EXE" score --profile "$TMP/no-such-profile.json" || code=$?
if [[ "$code" == 2 ]] && [[ "$(wc -l <"$TMP/bad.err")" == 1 ]] && ! grep -q Traceback "$TMP/bad.err"
then pass "bad input: exit 2, one line: $(cat "$TMP/bad.err")"
else fail "bad input: exit $code: $(cat "$TMP/bad.err")"; fi

for page in this-pc readiness; do
    shot="$TMP/$page.png"
    if run "gui-$page" "$EXE" gui --screenshot "$shot" --page "$page" --profile "$PROFILE" \
        && python3 - "$shot" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
width, height = struct.unpack(">II", data[16:24])
assert width >= 960 and height >= 640, (width, height)
print(f"      {sys.argv[1].rsplit('/', 1)[-1]}: {width}x{height}, {len(data) // 1024} KiB")
PY
    then pass "gui --screenshot --page $page"
    else fail "gui --screenshot --page $page"; cat "$TMP/gui-$page.err"; fi
done

# On a real X11 server (Xvfb) too, when xvfb-run is there: the xcb platform plugin and the
# system libraries it needs load, a screenshot works, and the window runs for a few seconds.
if command -v xvfb-run >/dev/null 2>&1; then
    if run xcb env -u QT_QPA_PLATFORM xvfb-run -a "$EXE" gui --screenshot "$TMP/xcb.png" \
        --page this-pc --profile "$PROFILE" && [[ -s "$TMP/xcb.png" ]]; then
        pass "gui --screenshot on X11 (Xvfb, xcb platform plugin)"
    else
        fail "gui --screenshot on X11"; cat "$TMP/xcb.err"
    fi
    code=0; run window env -u QT_QPA_PLATFORM timeout -k 5 8 xvfb-run -a "$EXE" || code=$?
    if [[ "$code" == 124 ]] && grep -q "gui started" "$RIGREADY_HOME/logs/rigready.log" \
        && ! grep -q "CRITICAL" "$RIGREADY_HOME/logs/rigready.log"; then
        pass "the window ran 8 s on X11 with nothing unexpected in the log"
    else
        fail "window on X11 (exit $code)"; cat "$TMP/window.err"
    fi
else
    echo "skip  X11 checks: xvfb-run is not installed"
fi

LOG="$RIGREADY_HOME/logs/rigready.log"
if [[ -s "$LOG" ]] && grep -q "rigready .* (bundle) cli started" "$LOG"; then
    pass "log file written: $(grep -c 'started' "$LOG") start lines in $LOG"
else
    fail "log file $LOG missing or without start lines"
fi

PREFIX="$TMP/prefix"
if PREFIX="$PREFIX" run install "$BUNDLE/install.sh" \
    && [[ "$("$PREFIX/bin/rigready" --version)" == "$(cat "$TMP/version.out")" ]] \
    && grep -q "^Exec=\"$PREFIX/lib/rigready/rigready\" gui$" \
        "$PREFIX/share/applications/io.github.rigready.rigready.desktop" \
    && PREFIX="$PREFIX" run uninstall "$BUNDLE/install.sh" --uninstall \
    && [[ ! -e "$PREFIX/bin/rigready" && ! -e "$PREFIX/lib/rigready" ]]; then
    pass "install.sh into a temporary prefix and --uninstall"
else
    fail "install.sh"; cat "$TMP/install.out" "$TMP/install.err" 2>/dev/null || true
fi

if [[ "$FAILED" != 0 ]]; then echo "smoke test FAILED"; exit 1; fi
echo "smoke test passed"
