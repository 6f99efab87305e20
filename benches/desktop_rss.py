#!/usr/bin/env python3
"""The desktop app's memory, for benches/run.sh: starts the real app (inside the caller's
xvfb-run and dbus-run-session) on the given data folder with free ports, waits for its window
to load the UI, lets it settle, and prints the RSS of the app process and of the app with its
WebKit processes as `kind: "metric"` JSON lines: once just after the load, and once idle, after
the engine's quiet-spell release (src/memory.rs: between 5 and 10 s after the last read).
Reuses the desktop e2e test's helpers."""

import argparse
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "desktop"))
import e2e  # noqa: E402  (the desktop test's helpers: environment, App, RSS of a process tree)

TARGET_MIB = 150
LOADED_S = 2  # the UI's first reads are done
IDLE_S = 15  # past the engine's second quiet tick after those reads


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--app", required=True)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--scale", default="1M")
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="linq-bench-desktop-")
    listen, ui = e2e.free_ports(2)
    env, _ = e2e.environment(tmp, listen, ui)
    env["LINQ_INBOX_DATA_DIR"] = args.data_dir
    env["LINQ_INBOX_LOG"] = "info"
    app = e2e.App(args.app, env, os.path.join(tmp, "app.log"))
    try:
        m = app.wait_log(r"window ready ms=(\d+)", 120)
        time.sleep(LOADED_S)
        loaded_kib, _ = e2e.process_tree_rss_kib(app.proc.pid)
        time.sleep(IDLE_S - LOADED_S)
        main_kib, tree_kib = e2e.process_tree_rss_kib(app.proc.pid)
    except e2e.Failed as err:
        print(json.dumps({"kind": "metric", "label": "Memory: desktop app under Xvfb", "value": f"failed: {err}"[:300], "target": f"≤ {TARGET_MIB} MB", "pass": False}))
        return 1
    finally:
        app.proc.terminate()
        try:
            app.proc.wait(10)
        except Exception:  # noqa: BLE001  a hung app must not hang the suite
            app.proc.kill()
    name = os.path.basename(os.path.dirname(args.app))  # release or debug
    print(json.dumps({
        "kind": "metric",
        "label": f"Memory: desktop app ({name} build) under Xvfb, {args.scale} messages, idle {IDLE_S} s after its window loaded",
        "value": f"app {main_kib // 1024} MiB ({loaded_kib // 1024} MiB {LOADED_S} s after the load) · with WebKit's processes {tree_kib // 1024} MiB",
        "target": f"app ≤ {TARGET_MIB} MB",
        "pass": main_kib * 1024 <= TARGET_MIB * 1_000_000,
    }))
    print(json.dumps({
        "kind": "metric",
        "label": f"Desktop: launch → window showing the UI, {args.scale} messages",
        "value": f"{m.group(1)} ms",
        "target": "",
        "pass": None,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
