#!/usr/bin/env bash
# Build the one-folder Linux bundle dist/rigready/ with PyInstaller.
#
#   packaging/build.sh              build (creates .venv-build on first use)
#   packaging/build.sh --tarball    also pack dist/rigready-VERSION-linux-ARCH.tar.gz
#
# Environment: PYTHON (interpreter for the build venv, default python3, 3.11 or newer),
# RIGREADY_NO_TRIM=1 (keep everything PyInstaller finds; only for size comparisons).
# The build venv is separate from the development one so that only rigready's runtime
# dependencies (and PyInstaller) can end up in the bundle.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="$ROOT/.venv-build"
PYINSTALLER_VERSION="${PYINSTALLER_VERSION:-6.22.3}"
WORK="$ROOT/build/pyinstaller"
APP_ID="io.github.rigready.rigready"
TARBALL=0
for arg in "$@"; do
    case "$arg" in
        --tarball) TARBALL=1 ;;
        -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
        *) echo "build.sh: unknown option $arg (see --help)" >&2; exit 2 ;;
    esac
done

say() { printf '==> %s\n' "$*"; }

if [[ ! -x "$VENV/bin/python" ]]; then
    say "creating the build venv $VENV"
    "${PYTHON:-python3}" -m venv "$VENV"
fi
"$VENV/bin/python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || { echo "build.sh: Python 3.11 or newer is needed (set PYTHON)" >&2; exit 2; }

# Install rigready from a clean copy of the sources (no stale setuptools build/lib, no caches),
# non-editable: the bundle is then made from the installed wheel, package data included.
say "staging the sources in $WORK/src"
rm -rf "$WORK/src"
mkdir -p "$WORK/src"
tar -c --exclude=__pycache__ --exclude='*.pyc' \
    pyproject.toml README.md gpu catalog assess monitor desktop | tar -x -C "$WORK/src"
say "installing PyInstaller $PYINSTALLER_VERSION and rigready into the build venv"
"$VENV/bin/python" -m pip install --quiet "pyinstaller==$PYINSTALLER_VERSION"
"$VENV/bin/python" -m pip install --quiet "$WORK/src"
VERSION="$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("rigready"))')"

say "building dist/rigready (rigready $VERSION)"
rm -rf "$ROOT/dist/rigready"
# Isolated (-I) and away from the checkout, so imports and package metadata resolve to the
# installed copy in .venv-build, never to the source tree or a development egg-info.
(cd "$WORK" && "$VENV/bin/python" -I -m PyInstaller --noconfirm --log-level WARN \
    --distpath "$ROOT/dist" --workpath "$WORK/work" "$ROOT/packaging/rigready.spec")

# Debug info (a pyenv-built libpython and lib-dynload carry tens of MB of it) is of no use to
# users. Strip only files that have it: stripping everything breaks numpy's bundled OpenBLAS.
if [[ "${RIGREADY_NO_TRIM:-}" != 1 ]] && command -v strip >/dev/null && command -v file >/dev/null
then
    find "$ROOT/dist/rigready/_internal" -type f -name '*.so*' -print0 \
        | while IFS= read -r -d '' lib; do
            if file -b "$lib" | grep -q 'with debug_info'; then strip --strip-debug "$lib"; fi
        done
fi

# Desktop integration files travel inside the bundle, laid out like /usr/share.
SHARE="$ROOT/dist/rigready/share"
install -D -m 644 "packaging/linux/$APP_ID.desktop" "$SHARE/applications/$APP_ID.desktop"
install -D -m 644 "packaging/linux/$APP_ID.metainfo.xml" "$SHARE/metainfo/$APP_ID.metainfo.xml"
install -D -m 644 "desktop/resources/rigready.svg" \
    "$SHARE/icons/hicolor/scalable/apps/$APP_ID.svg"
for size in 64 128 256; do
    install -D -m 644 "packaging/linux/icons/$size/$APP_ID.png" \
        "$SHARE/icons/hicolor/${size}x${size}/apps/$APP_ID.png"
done
install -m 755 packaging/linux/install.sh "$ROOT/dist/rigready/install.sh"

say "bundle: $(du -sh "$ROOT/dist/rigready" | cut -f1) in dist/rigready"
if [[ "$TARBALL" == 1 ]]; then
    NAME="rigready-$VERSION-linux-$(uname -m)"
    tar -C "$ROOT/dist" --transform "s,^rigready,$NAME," -czf "$ROOT/dist/$NAME.tar.gz" rigready
    say "tarball: dist/$NAME.tar.gz ($(du -h "$ROOT/dist/$NAME.tar.gz" | cut -f1))"
fi
