#!/usr/bin/env bash
# Pack both binaries (the desktop app and the `linq-inbox` command) into a .deb and an .rpm:
#   package.sh BIN_DIR VERSION OUT_DIR
# BIN_DIR holds linq-inbox and linq-inbox-desktop (target/release for `make bundle`). Writes
# OUT_DIR/linq-inbox-desktop_VERSION_ARCH.deb, OUT_DIR/linq-inbox-desktop-VERSION-1.ARCH.rpm
# and the split-off debug info in OUT_DIR/debug/. The man pages and shell completions are
# written by the binaries themselves (`--generate-docs`), from their clap definitions.
set -euo pipefail
bins=$1 version=$2 out=$3
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
package=linq-inbox-desktop
# Reproducible dates: the last commit's, unless the caller fixes one.
epoch=${SOURCE_DATE_EPOCH:-$(git -C "$root" log -1 --format=%ct 2>/dev/null || date +%s)}
stage=$(mktemp -d) work=$(mktemp -d)
chmod 755 "$stage" # mktemp makes it 0700, and the package root becomes the installed "/"
trap 'rm -rf "$stage" "$work"' EXIT
mkdir -p "$out/debug"
share=$stage/usr/share

# Binaries: debug info split off into OUT_DIR/debug (a debugger finds it by the debuglink),
# then stripped the way dh_strip does.
for bin in linq-inbox linq-inbox-desktop; do
  install -Dm755 "$bins/$bin" "$stage/usr/bin/$bin"
  objcopy --only-keep-debug --compress-debug-sections "$stage/usr/bin/$bin" "$out/debug/$bin.debug"
  strip --strip-unneeded --remove-section=.comment --remove-section=.note "$stage/usr/bin/$bin"
  objcopy --add-gnu-debuglink="$out/debug/$bin.debug" "$stage/usr/bin/$bin"
  "$stage/usr/bin/$bin" --generate-docs "$work/docs" 2>/dev/null
done

for page in "$work"/docs/man/*.1; do
  install -Dm644 "$page" "$share/man/man1/$(basename "$page")"
  gzip -9n "$share/man/man1/$(basename "$page")"
done
for bin in linq-inbox linq-inbox-desktop; do
  install -Dm644 "$work/docs/completions/$bin.bash" "$share/bash-completion/completions/$bin"
  install -Dm644 "$work/docs/completions/_$bin" "$share/zsh/vendor-completions/_$bin"
  install -Dm644 "$work/docs/completions/$bin.fish" "$share/fish/vendor_completions.d/$bin.fish"
done

install -Dm644 "$here/$package.desktop" "$share/applications/$package.desktop"
for size in 16 24 32 48 64 128; do
  install -Dm644 "$root/icons/${size}x$size.png" "$share/icons/hicolor/${size}x$size/apps/$package.png"
done
install -Dm644 "$root/icons/128x128@2x.png" "$share/icons/hicolor/256x256/apps/$package.png"
install -Dm644 "$root/icons/icon.png" "$share/icons/hicolor/512x512/apps/$package.png"
install -Dm644 "$root/icons/src/app.svg" "$share/icons/hicolor/scalable/apps/$package.svg"
sed -e "s/@VERSION@/$version/" -e "s/@DATE@/$(date -u -d "@$epoch" +%F)/" \
  "$here/io.linqinbox.desktop.metainfo.xml" > "$work/metainfo.xml"
install -Dm644 "$work/metainfo.xml" "$share/metainfo/io.linqinbox.desktop.metainfo.xml"
install -Dm644 "$here/copyright" "$share/doc/$package/copyright"

# ---- .rpm (before the Debian-only files join the tree). rpm's own scripts find the shared
# libraries the binaries need by soname, which names them the same on Fedora and openSUSE.
arch=$(uname -m)
mkdir -p "$work/rpm"
rpmbuild -bb --quiet "$here/$package.spec" \
  --define "_topdir $work/rpm" --define "pkg_version $version" --define "stage $stage" \
  --define "_build_id_links none" --define "source_date_epoch_from_changelog 0" \
  --define "use_source_date_epoch_as_buildtime 1" --define "clamp_mtime_to_source_date_epoch 1" \
  --target "$arch" >/dev/null 2>"$work/rpm.log" || { cat "$work/rpm.log" >&2; exit 1; }
cp "$work/rpm/RPMS/$arch/$package-$version-1.$arch.rpm" "$out/"
echo "built $out/$package-$version-1.$arch.rpm"

# ---- .deb: Debian's changelog, the lintian tags this package explains, and the control file
# with the library dependencies dpkg-shlibdeps reads off the binaries.
{
  echo "$package ($version) unstable; urgency=medium"
  echo
  echo "  * Release $version: the desktop app and the linq-inbox command, man pages,"
  echo "    shell completions, AppStream metadata."
  echo
  echo " -- Linq Inbox <support@linqapp.com>  $(date -u -R -d "@$epoch")"
} | gzip -9n > "$work/changelog.gz"
install -Dm644 "$work/changelog.gz" "$share/doc/$package/changelog.gz"
install -Dm644 "$here/lintian-overrides" "$share/lintian/overrides/$package"
mkdir -p "$work/debian"
printf 'Source: linq-inbox\n\nPackage: %s\nArchitecture: any\n' "$package" > "$work/debian/control"
depends=$(cd "$work" && dpkg-shlibdeps -O -e"$stage/usr/bin/linq-inbox" -e"$stage/usr/bin/linq-inbox-desktop" 2>/dev/null |
  sed -n 's/^shlibs:Depends=//p')
mkdir -p "$stage/DEBIAN"
cat > "$stage/DEBIAN/control" <<CONTROL
Package: $package
Version: $version
Section: net
Priority: optional
Architecture: $(dpkg --print-architecture)
Depends: $depends, libayatana-appindicator3-1
Recommends: notification-daemon | dunst | gnome-shell | plasma-workspace
Installed-Size: $(du -sk "$stage/usr" | cut -f1)
Maintainer: Linq Inbox <support@linqapp.com>
Homepage: https://linqapp.com
Description: Linq messages, calls and notifications on your desktop
 Linq Inbox receives the webhooks of your Linq business numbers (iMessage,
 SMS and voice), keeps your messages and call history in a local database,
 and notifies you of new messages and calls.
 .
 The package holds the desktop app (linq-inbox-desktop) and the linq-inbox
 command: a headless server, demo traffic, import, export and the connection
 to Linq from a terminal.
CONTROL
(cd "$stage" && find usr -type f -print0 | LC_ALL=C sort -z | xargs -0 md5sum) > "$stage/DEBIAN/md5sums"
deb=$out/${package}_${version}_$(dpkg --print-architecture).deb
find "$stage" -exec touch -h -d "@$epoch" {} +
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
echo "built $deb"
