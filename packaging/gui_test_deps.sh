#!/usr/bin/env bash
# What the real-display smoke test (tests/gui/test_xvfb_smoke.py) needs from the system: Xvfb and
# the libraries of Qt's X11 plugin (README, "System packages for the window"). `make test` runs
# this first. As root on Debian/Ubuntu (CI) it installs what is missing with apt-get; otherwise
# it says what is missing and the smoke test skips (it fails instead when CI is set).
#
#   packaging/gui_test_deps.sh [PYTHON]
set -euo pipefail
PY=${1:-.venv/bin/python}
missing=$("$PY" -m rigready.desktop.qt_platform --missing debian)
command -v Xvfb >/dev/null 2>&1 || missing="xvfb $missing"
command -v desktop-file-validate >/dev/null 2>&1 || missing="desktop-file-utils $missing"
missing=$(echo "$missing" | xargs)
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "gui_test_deps: installing $missing"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing \
        >/dev/null
else
    echo "gui_test_deps: missing $missing (sudo apt install $missing); the real-display" \
        "smoke test will be skipped" >&2
fi
