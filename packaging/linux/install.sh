#!/usr/bin/env bash
# Install (or remove) the rigready bundle for the current user, like any desktop app.
#
#   ./install.sh               copy this bundle to ~/.local/lib/rigready, put a 'rigready'
#                              command in ~/.local/bin and the menu entry, icons and AppStream
#                              metainfo in ~/.local/share
#   ./install.sh --uninstall   remove all of that again (settings, data and logs stay)
#
# PREFIX=/some/where changes ~/.local (PREFIX=/usr/local with sudo installs for everyone).
# Run it from the bundle folder (dist/rigready/ or the unpacked tarball).
set -euo pipefail

BUNDLE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PREFIX="${PREFIX:-$HOME/.local}"
APP_ID="io.github.rigready.rigready"
TARGET="$PREFIX/lib/rigready"
FILES=(
    "share/applications/$APP_ID.desktop"
    "share/metainfo/$APP_ID.metainfo.xml"
    "share/icons/hicolor/scalable/apps/$APP_ID.svg"
    "share/icons/hicolor/64x64/apps/$APP_ID.png"
    "share/icons/hicolor/128x128/apps/$APP_ID.png"
    "share/icons/hicolor/256x256/apps/$APP_ID.png"
)

refresh_caches() {
    command -v update-desktop-database >/dev/null 2>&1 \
        && update-desktop-database -q "$PREFIX/share/applications" 2>/dev/null || true
    # Only refresh an icon cache that exists: a new one in a user folder goes stale when other
    # programs add icons without updating it, and then hides their icons.
    if [[ -f "$PREFIX/share/icons/hicolor/icon-theme.cache" ]] \
        && command -v gtk-update-icon-cache >/dev/null 2>&1; then
        gtk-update-icon-cache -q -t "$PREFIX/share/icons/hicolor" 2>/dev/null || true
    fi
}

if [[ "${1:-}" == "--uninstall" ]]; then
    for file in "${FILES[@]}"; do rm -f "$PREFIX/$file"; done
    rm -f "$PREFIX/bin/rigready"
    rm -rf "$TARGET"
    refresh_caches
    echo "rigready removed from $PREFIX (settings, data and logs are kept)"
    exit 0
elif [[ $# -gt 0 ]]; then
    echo "install.sh: unknown option $1 (use --uninstall or nothing)" >&2
    exit 2
fi

[[ -x "$BUNDLE/rigready" ]] || { echo "install.sh: no rigready executable in $BUNDLE" >&2; exit 2; }
if [[ "$BUNDLE" != "$TARGET" ]]; then
    rm -rf "$TARGET"
    mkdir -p "$(dirname "$TARGET")"
    cp -a "$BUNDLE" "$TARGET"
fi
mkdir -p "$PREFIX/bin"
ln -sf "$TARGET/rigready" "$PREFIX/bin/rigready"
for file in "${FILES[@]}"; do
    install -D -m 644 "$BUNDLE/$file" "$PREFIX/$file"
done
# Menus do not always search ~/.local/bin, so the entry names the executable by its full path
# (quoted, as the desktop entry specification asks for paths that may hold spaces).
sed -i "s|^Exec=rigready|Exec=\"$TARGET/rigready\"|" "$PREFIX/share/applications/$APP_ID.desktop"
refresh_caches
echo "rigready installed in $TARGET; command: $PREFIX/bin/rigready"
case ":$PATH:" in
    *":$PREFIX/bin:"*) ;;
    *) echo "note: $PREFIX/bin is not on your PATH; add it to run 'rigready' from a terminal" ;;
esac
