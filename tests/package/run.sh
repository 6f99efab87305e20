#!/usr/bin/env bash
# The packages as a rep gets them, checked without installing anything into this machine:
#   tests/package/run.sh BUNDLE_DIR      (e.g. target/debug/bundle; `make package-test`)
# lintian, desktop-file-validate and appstreamcli judge the .deb; the .rpm's file list and
# dependencies are read; then the .deb is unpacked with `dpkg-deb -x` into a temporary root and
# check.py runs what it holds, under Xvfb in a private D-Bus session, with a fresh HOME.
# Artifacts (logs, lintian's report) go to target/package-test/.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bundle=$1
out=$root/target/package-test
deb=$(ls "$bundle"/deb/*.deb) rpm=$(ls "$bundle"/rpm/*.rpm)

for tool in lintian desktop-file-validate appstreamcli rpm dpkg-deb xvfb-run dbus-run-session tauri-driver WebKitWebDriver readelf python3; do
  command -v "$tool" >/dev/null || { echo "package test: $tool is missing; run \`make package-deps desktop-deps\`." >&2; exit 1; }
done
rm -rf "$out" && mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Every tag lintian reports, down to pedantic, fails the test unless the package explains it in
# its overrides (src-tauri/packaging/lintian-overrides); overridden tags ("O:") are kept in the
# log. The report is read rather than the exit code: with --show-overrides, lintian 2.116 fails on
# overridden tags too.
lintian --pedantic --display-info --display-experimental --show-overrides "$deb" >"$out/lintian.txt" 2>&1 || true
if grep -E '^[EWIPX]: ' "$out/lintian.txt" >&2; then
  echo "FAIL lintian reports the tags above, which the package does not explain" >&2
  exit 1
fi
grep -q '^O: ' "$out/lintian.txt" || { cat "$out/lintian.txt" >&2; echo "FAIL lintian did not run" >&2; exit 1; }
echo "ok   lintian: no tag the package does not explain ($(grep -c '^O: ' "$out/lintian.txt") explained in its overrides)"

dpkg-deb -x "$deb" "$tmp/root"
desktop-file-validate "$tmp/root/usr/share/applications/linq-inbox-desktop.desktop"
echo "ok   desktop-file-validate: the desktop entry is valid"
appstreamcli validate --no-net --pedantic "$tmp/root/usr/share/metainfo/io.linqinbox.desktop.metainfo.xml" >"$out/appstream.txt"
echo "ok   appstreamcli: the AppStream metainfo is valid"

rpm -qpl "$rpm" >"$out/rpm-files.txt" 2>/dev/null
rpm -qp --requires "$rpm" >"$out/rpm-requires.txt" 2>/dev/null
dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|' >"$out/deb-files.txt"

xvfb-run -a -s "-screen 0 1280x800x24 -nolisten tcp" \
  dbus-run-session -- python3 "$here/check.py" --root "$tmp/root" --out "$out" --repo "$root"
