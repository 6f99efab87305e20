#!/usr/bin/env bash
# Pack the desktop app into a Debian package:
#   deb.sh BINARY VERSION OUT.deb
# Installs /usr/bin/linq-inbox-desktop, its desktop entry and its icons; the dependencies are
# the runtime libraries of the -dev packages the build needs.
set -euo pipefail
bin=$1 version=$2 out=$3
root=$(cd "$(dirname "$0")/../.." && pwd)
stage=$(mktemp -d)
chmod 755 "$stage" # mktemp makes it 0700, and the package root becomes the installed "/"
trap 'rm -rf "$stage"' EXIT

install -Dm755 "$bin" "$stage/usr/bin/linq-inbox-desktop"
strip --strip-unneeded "$stage/usr/bin/linq-inbox-desktop"
install -Dm644 "$root/src-tauri/packaging/linq-inbox-desktop.desktop" \
  "$stage/usr/share/applications/linq-inbox-desktop.desktop"
for size in 32x32 128x128; do
  install -Dm644 "$root/icons/$size.png" "$stage/usr/share/icons/hicolor/$size/apps/linq-inbox-desktop.png"
done
install -Dm644 "$root/icons/128x128@2x.png" "$stage/usr/share/icons/hicolor/256x256/apps/linq-inbox-desktop.png"
install -Dm644 "$root/icons/icon.png" "$stage/usr/share/icons/hicolor/512x512/apps/linq-inbox-desktop.png"

mkdir -p "$stage/DEBIAN"
cat > "$stage/DEBIAN/control" <<CONTROL
Package: linq-inbox-desktop
Version: $version
Section: net
Priority: optional
Architecture: $(dpkg --print-architecture)
Depends: libwebkit2gtk-4.1-0, libgtk-3-0, libayatana-appindicator3-1
Installed-Size: $(du -sk "$stage/usr" | cut -f1)
Maintainer: Linq Inbox <support@linqinbox.invalid>
Description: Linq messages, calls and notifications on your desktop
 Linq Inbox receives your Linq webhooks, keeps your iMessage, SMS and call
 history in a local database, and notifies you of new messages and calls.
CONTROL

mkdir -p "$(dirname "$out")"
dpkg-deb --root-owner-group --build "$stage" "$out" >/dev/null
echo "built $out"
