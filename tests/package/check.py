#!/usr/bin/env python3
"""The unpacked .deb, run as a rep would run it: started by tests/package/run.sh inside Xvfb and a
private D-Bus session, with the package unpacked (`dpkg-deb -x`) under --root. Standard library
only; the WebDriver client and the small helpers come from the desktop test (tests/desktop/e2e.py).

1. What the package holds: both binaries, stripped, the UI inside them; a man page for each binary
   and subcommand; bash, zsh and fish completions; and every `linq-inbox` command the README and
   the onboarding card mention answers `--help` from the unpacked binary.
2. The unpacked desktop app, with a fresh HOME and no setting but its ports, shows the onboarding
   card; its "Send demo traffic" button and then the unpacked `linq-inbox simulate` without
   `--secret` (the app's own secret, read from the data folder) deliver traffic the window shows.
3. Start at login switched on in Settings writes an XDG autostart entry that runs the unpacked
   binary with `--hidden`; started that way the app runs in the tray with no window.
"""

import argparse
import gzip
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "desktop"))
from e2e import Failed, WebDriver, _listening, app_windows, check, free_port, is_viewable, page_text, wait_for  # noqa: E402

UI_TOKEN = "package-test-ui-token"
BINARIES = ("linq-inbox", "linq-inbox-desktop")


def run(argv, env=None, timeout=60):
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout)


# ---------------------------------------------------------------- 1. what the package holds


def section_names(binary):
    r = run(["readelf", "-S", "-W", binary])
    return set(re.findall(r"\]\s+(\.\S+)", r.stdout))


def check_binaries(root, repo):
    assets = os.listdir(os.path.join(repo, "ui", "dist", "assets"))
    script = next((a for a in assets if a.endswith(".js")), None)
    check(script is not None, "the UI build has a script to look for", repr(assets))
    for name in BINARIES:
        path = os.path.join(root, "usr", "bin", name)
        check(os.access(path, os.X_OK), f"/usr/bin/{name} is in the package and executable")
        # (.debug_gdb_scripts only names Rust's pretty-printers; it holds no debug info.)
        debug = sorted(section_names(path) & {".debug_info", ".debug_line", ".debug_str", ".symtab"})
        check(not debug, f"{name} is stripped (its debug info is split off beside the package)", repr(debug))
    with open(os.path.join(root, "usr", "bin", "linq-inbox-desktop"), "rb") as f:
        embedded = script.encode() in f.read()
    check(embedded, f"the desktop binary carries the UI itself ({script}), not a path into a source tree")


def visible_subcommands(binary, *path):
    """The subcommands `--help` lists, read the way a rep reads them."""
    text = run([binary, *path, "--help"]).stdout
    listed = text.split("Commands:", 1)[1].split("Options:", 1)[0] if "Commands:" in text else ""
    return [m.group(1) for m in re.finditer(r"^  (\w[\w-]*)", listed, re.M) if m.group(1) != "help"]


def check_docs(root):
    man = os.path.join(root, "usr", "share", "man", "man1")
    cli = os.path.join(root, "usr", "bin", "linq-inbox")
    pages = [("linq-inbox",), ("linq-inbox-desktop",)]
    pages += [("linq-inbox", sub) for sub in visible_subcommands(cli)]
    pages += [("linq-inbox", "linq", sub) for sub in visible_subcommands(cli, "linq")]
    for page in pages:
        name = "-".join(page)
        path = os.path.join(man, f"{name}.1.gz")
        check(os.path.exists(path), f"man page {name}(1) is installed", path)
        with gzip.open(path, "rt") as f:
            roff = f.read()
        check(roff.startswith(".ie") or ".TH" in roff, f"{name}(1) is roff", roff[:80])
    with gzip.open(os.path.join(man, "linq-inbox-simulate.1.gz"), "rt") as f:
        simulate = f.read()
    check("\\-\\-secret" in simulate and "\\-\\-data\\-dir" in simulate,
          "the simulate page documents its own flags and the shared settings, from the CLI definition")
    with gzip.open(os.path.join(man, "linq-inbox-desktop.1.gz"), "rt") as f:
        check("\\-\\-hidden" in f.read(), "the desktop app's page documents --hidden")
    share = os.path.join(root, "usr", "share")
    for name in BINARIES:
        for shell, rel in (
            ("bash", f"bash-completion/completions/{name}"),
            ("zsh", f"zsh/vendor-completions/_{name}"),
            ("fish", f"fish/vendor_completions.d/{name}.fish"),
        ):
            path = os.path.join(share, rel)
            check(os.path.exists(path), f"{shell} completion for {name} at /usr/share/{rel}")
            with open(path) as f:
                text = f.read()
            check("data-dir" in text, f"the {shell} completion for {name} completes its flags")
            if name == "linq-inbox":
                check("simulate" in text, f"the {shell} completion for linq-inbox offers its commands")


def check_rpm(out):
    """The .rpm (read by run.sh with `rpm -qp`) installs what the .deb does, and asks for the
    shared libraries by soname, which Fedora and openSUSE both resolve."""
    with open(os.path.join(out, "rpm-files.txt")) as f:
        rpm = set(f.read().split())
    prefixes = ("/usr/bin/", "/usr/share/man/", "/usr/share/applications/", "/usr/share/icons/",
                "/usr/share/metainfo/", "/usr/share/bash-completion/", "/usr/share/fish/")
    with open(os.path.join(out, "deb-files.txt")) as f:
        # (dpkg-deb lists folders with a trailing slash.)
        shared = {p for p in f.read().split() if p.startswith(prefixes) and not p.endswith("/")}
    missing = sorted(shared - rpm)
    check(not missing and len(shared) > 20, f"the .rpm installs the .deb's {len(shared)} program, doc and desktop files", repr(missing[:5]))
    check("/usr/share/zsh/site-functions/_linq-inbox" in rpm, "the .rpm puts zsh completions where Fedora and openSUSE read them")
    with open(os.path.join(out, "rpm-requires.txt")) as f:
        requires = f.read()
    for soname in ("libwebkit2gtk-4.1.so.0()(64bit)", "libgtk-3.so.0()(64bit)", "libayatana-appindicator3.so.1()(64bit)"):
        check(soname in requires, f"the .rpm requires {soname}")


def mentioned_commands(repo):
    """Every `linq-inbox ...` command the README and the onboarding card tell a rep to run."""
    found = set()
    for rel in ("README.md", "ui/src/components/SetupGuide.svelte"):
        with open(os.path.join(repo, rel)) as f:
            for m in re.finditer(r"linq-inbox ((?:[a-z]+)(?: [a-z]+)?)", f.read()):
                found.add(tuple(m.group(1).split()))
    return sorted(found)


def check_commands(root, repo):
    cli = os.path.join(root, "usr", "bin", "linq-inbox")
    top = set(visible_subcommands(cli))
    linq = set(visible_subcommands(cli, "linq"))
    promised = {"serve", "import", "export", "rebuild", "doctor", "simulate", "linq"}
    check(promised <= top, "the packaged linq-inbox has every command of the README's command line", repr(promised - top))
    mentioned = mentioned_commands(repo)
    check(len(mentioned) >= 8, "the README and the card mention the commands", repr(mentioned))
    for words in mentioned:
        # "linq-inbox serve prints ..." is prose: a second word counts only after `linq`.
        argv = list(words) if words[0] == "linq" and len(words) > 1 else [words[0]]
        known = words[0] in top and (len(argv) == 1 or argv[1] in linq)
        check(known, f"`linq-inbox {' '.join(argv)}`, mentioned to a rep, is a command of the packaged binary")
        r = run([cli, *argv, "--help"])
        check(r.returncode == 0, f"`linq-inbox {' '.join(argv)} --help` runs from the package", r.stderr[-300:])


# ---------------------------------------------------------------- 2. and 3. the app, as a rep starts it


def fresh_env(tmp, listen, ui):
    """A new user: an empty HOME, no XDG folders, no secret; only the ports are chosen (CI runs
    other suites beside this one) and a fixed UI token lets the test read the UI API."""
    home = os.path.join(tmp, "home")
    os.makedirs(home)
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "DISPLAY", "DBUS_SESSION_BUS_ADDRESS", "XAUTHORITY", "LANG")}
    env.update({
        "HOME": home,
        "LINQ_INBOX_LISTEN": f"127.0.0.1:{listen}",
        "LINQ_INBOX_UI_LISTEN": f"127.0.0.1:{ui}",
        "LINQ_INBOX_UI_TOKEN": UI_TOKEN,
    })
    return env, home


def api(ui, method, path, payload=None):
    data = None if payload is None else json.dumps(payload).encode()
    req = urllib.request.Request(
        f"http://127.0.0.1:{ui}{path}", data=data, method=method,
        headers={"Authorization": f"Bearer {UI_TOKEN}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read() or b"null")


def events(ui):
    return api(ui, "GET", "/api/status")["db"]["counts"]["events"]


def check_window(root, out, tmp):
    listen, ui = free_port(), free_port()
    env, home = fresh_env(tmp, listen, ui)
    desktop = os.path.join(root, "usr", "bin", "linq-inbox-desktop")
    cli = os.path.join(root, "usr", "bin", "linq-inbox")
    port, native = free_port(), free_port()
    log = open(os.path.join(out, "tauri-driver.log"), "w")
    driver = subprocess.Popen(
        ["tauri-driver", "--port", str(port), "--native-port", str(native), "--native-driver", shutil.which("WebKitWebDriver")],
        env=env, stdout=log, stderr=log,
    )
    wd = WebDriver(port)
    try:
        wait_for("tauri-driver", lambda: _listening(port), 20)
        wait_for("WebKitWebDriver", lambda: _listening(native), 20)
        wd.start(desktop, [])
        wait_for("the onboarding card", lambda: "Connect Linq in three steps" in page_text(wd), 60)
        check("Send demo traffic" in page_text(wd), "the unpacked app, in a fresh HOME, shows the onboarding card with its demo button")
        config = os.path.join(home, ".local", "share", "linq-inbox", "config.toml")
        check(os.path.exists(config), "the app made its data folder and secret in the fresh HOME", config)

        wd.click("[data-testid=send-demo]")
        demo = wait_for("the demo traffic stored", lambda: events(ui) >= 40 and events(ui), 30)
        check(True, f"the card's Send demo traffic button delivered {demo} events through the listener")

        r = run([cli, "simulate", "--count", "20", "--json"], env=env, timeout=120)
        check(r.returncode == 0, "the unpacked `linq-inbox simulate`, with no --secret, is accepted", r.stdout[-500:] + r.stderr[-500:])
        report = json.loads(r.stdout)
        check(report["accepted"] == 20 and not report["refused"] and report["failed"] == 0,
              "all 20 deliveries were signed with the app's own secret and accepted", repr(report)[:300])
        wait_for("the simulated events stored", lambda: events(ui) >= demo + 20, 20)
        wd.js("location.hash = '#/chats'")
        chats = api(ui, "GET", "/api/chats")["chats"]
        titles = [c["title"] for c in chats if c.get("title")]
        check(len(titles) > 0, "the traffic made chats", repr(chats)[:300])
        wait_for("a chat title in the window", lambda: titles[0] in page_text(wd), 20)
        check(True, f"the window shows the delivered chats ({titles[0]!r} among {len(titles)})")

        wd.js("location.hash = '#/settings'")
        wait_for("the start-at-login switch", lambda: wd.js("return !!document.querySelector('[data-testid=start-at-login]')"), 20)
        wd.click("[data-testid=start-at-login]")
        entries = os.path.join(home, ".config", "autostart")
        found = wait_for("an autostart entry", lambda: os.path.isdir(entries) and os.listdir(entries), 10)
        entry = os.path.join(entries, found[0])
        check(api(ui, "GET", "/api/start-at-login") == {"available": True, "enabled": True},
              "Settings' switch turned start at login on")
    finally:
        wd.quit()
        driver.terminate()
        try:
            driver.wait(10)
        except subprocess.TimeoutExpired:
            driver.kill()
    return entry, env


def check_autostart(entry, env, root, out):
    r = run(["desktop-file-validate", entry])
    check(r.returncode == 0, "the autostart entry is a valid desktop entry", r.stdout + r.stderr)
    with open(entry) as f:
        text = f.read()
    exec_line = re.search(r"^Exec=(.*)$", text, re.M)
    check(exec_line is not None, "the autostart entry has an Exec line", text)
    argv = shlex.split(exec_line.group(1))
    desktop = os.path.join(root, "usr", "bin", "linq-inbox-desktop")
    check(argv == [desktop, "--hidden"], "it starts the installed binary in the tray (--hidden)", repr(argv))
    ui = int(env["LINQ_INBOX_UI_LISTEN"].rsplit(":", 1)[1])
    with open(os.path.join(out, "hidden.log"), "w") as log:
        app = subprocess.Popen(argv, env=env, stdout=log, stderr=log)
    try:
        wait_for("the engine of the hidden app", lambda: _listening(ui), 30)
        time.sleep(2)  # a window would be mapped by now
        windows = app_windows(app.pid)
        shown = [w for w in windows if is_viewable(w)]
        check(not shown, f"started at login, the app runs with no window on screen ({len(windows)} unmapped)", repr(shown))
        check(events(ui) > 0, "and its inbox holds what arrived before")
    finally:
        app.send_signal(signal.SIGTERM)
        try:
            code = app.wait(20)
        except subprocess.TimeoutExpired:
            app.kill()
            code = None
    check(code == 0, "SIGTERM quits the hidden app cleanly", repr(code))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--repo", required=True)
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="linq-package-test-")
    try:
        check_binaries(args.root, args.repo)
        check_docs(args.root)
        check_rpm(args.out)
        check_commands(args.root, args.repo)
        entry, env = check_window(args.root, args.out, tmp)
        check_autostart(entry, env, args.root, args.out)
    except Failed as e:
        print(f"FAIL {e}", flush=True)
        return 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("package test: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
