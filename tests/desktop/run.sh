#!/usr/bin/env bash
# The desktop end-to-end test: the real app on a virtual display (Xvfb), in a private D-Bus
# session with the dunst notification daemon, driven over webhooks and WebDriver.
#   tests/desktop/run.sh [path/to/linq-inbox-desktop]
# Artifacts (screenshot, logs, measurements) go to target/desktop-e2e/.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
app=${1:-$root/target/debug/linq-inbox-desktop}
out=$root/target/desktop-e2e

for tool in xvfb-run dbus-run-session dbus-daemon dunst dunstctl WebKitWebDriver tauri-driver python3 compare; do
  command -v "$tool" >/dev/null || { echo "desktop test: $tool is missing; run \`make desktop-deps\`." >&2; exit 1; }
done
/usr/bin/python3 -c 'import dbus, gi' 2>/dev/null || { echo "desktop test: python3-dbus and python3-gi are missing; run \`make desktop-deps\`." >&2; exit 1; }
[ -x "$app" ] || { echo "desktop test: $app is not built; run \`make desktop-build\`." >&2; exit 1; }

rm -rf "$out" && mkdir -p "$out"
# -a picks a free display number, so this runs beside a real session or another test.
exec xvfb-run -a -s "-screen 0 1440x900x24 -nolisten tcp" \
  dbus-run-session -- python3 "$here/e2e.py" --app "$app" --out "$out"
