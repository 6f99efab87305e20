//! The integration token in a real OS keyring (issue 24): Debian's `gnome-keyring` on a private
//! session bus (`dbus-run-session`), unlocked with a test password, talked to by the real binary
//! through the `keyring` crate's Secret Service client. And the fallback: with no daemon on the
//! bus, or with its keyring locked, the token goes to `config.toml` (mode 0600), and Settings
//! says which.
//!
//! The daemon keeps its keyrings under a temporary `XDG_DATA_HOME`, so a developer's own login
//! keyring is never touched. `make setup` installs `gnome-keyring` (mk/engine.mk).

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::harness::*;

const TOKEN: &str = "lq_keyring_test_0123456789";
const MASKED: &str = "lq_k…6789";
const PASSWORD: &str = "linq-inbox-test-password";

/// The session bus without service activation: a call to `org.freedesktop.secrets` must reach
/// the daemon the test unlocked (or nothing), never a second, passwordless one that the bus
/// would otherwise start from Debian's service file and that races the first for the name.
const SESSION_CONF: &str = r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:tmpdir=/tmp</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#;

/// A private D-Bus session (`dbus-run-session`) and the folders a keyring daemon on it keeps.
struct Session {
    runner: Child,
    /// The shell `dbus-run-session` runs; the session ends when it does.
    shell_pid: i32,
    address: String,
    home: tempfile::TempDir,
}

impl Session {
    /// A session bus with nothing on it yet.
    fn start() -> Session {
        let home = tempfile::tempdir().expect("a temporary home for the keyring");
        let config = home.path().join("session.conf");
        std::fs::write(&config, SESSION_CONF).expect("the session bus's configuration");
        let mut runner = Command::new("dbus-run-session")
            .arg(format!("--config-file={}", config.display()))
            .args([
                "--",
                "sh",
                "-c",
                "echo $$; echo \"$DBUS_SESSION_BUS_ADDRESS\"; exec sleep 600",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-run-session runs (Debian's dbus package; `make setup` installs it)");
        let mut lines = BufReader::new(runner.stdout.take().expect("piped stdout")).lines();
        let mut next = || {
            lines
                .next()
                .and_then(Result::ok)
                .expect("dbus-run-session's shell prints its pid and the bus address")
        };
        let shell_pid = next().trim().parse().expect("the shell's pid is a number");
        let address = next();
        assert!(
            address.starts_with("unix:"),
            "the private session bus has a unix address, got {address:?}"
        );
        for dir in ["data", "run", "home"] {
            std::fs::create_dir_all(home.path().join(dir)).expect("keyring folders");
        }
        std::fs::set_permissions(
            home.path().join("run"),
            std::fs::Permissions::from_mode(0o700),
        )
        .expect("XDG_RUNTIME_DIR is private");
        Session {
            runner,
            shell_pid,
            address,
            home,
        }
    }

    fn dir(&self, name: &str) -> String {
        self.home.path().join(name).display().to_string()
    }

    /// What every process in the session sees: the bus, the keyring's folders, the keyring on.
    fn env(&self) -> Vec<(&'static str, Option<String>)> {
        vec![
            ("DBUS_SESSION_BUS_ADDRESS", Some(self.address.clone())),
            ("HOME", Some(self.dir("home"))),
            ("XDG_DATA_HOME", Some(self.dir("data"))),
            ("XDG_RUNTIME_DIR", Some(self.dir("run"))),
            ("DISPLAY", None),
            ("WAYLAND_DISPLAY", None),
            ("LINQ_INBOX_KEYRING", None),
            ("LINQ_INTEGRATION_TOKEN", None),
            ("LINQ_WEBHOOK_SECRET", Some(SECRET.to_string())),
        ]
    }

    /// Starts `gnome-keyring-daemon` on the bus with its login keyring unlocked by `PASSWORD`
    /// (created with it, the first time), as a desktop login does.
    fn unlock(&self) {
        let mut cmd = Command::new("gnome-keyring-daemon");
        cmd.args(["--unlock", "--components=secrets"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        apply(&mut cmd, &self.env());
        let mut daemon = cmd
            .spawn()
            .expect("gnome-keyring-daemon runs (Debian's gnome-keyring; `make setup` installs it)");
        daemon
            .stdin
            .take()
            .expect("piped stdin")
            .write_all(PASSWORD.as_bytes())
            .expect("the password reaches the daemon");
        let started = daemon
            .wait()
            .expect("gnome-keyring-daemon forks and returns");
        assert!(started.success(), "gnome-keyring-daemon started: {started}");
        let deadline = Instant::now() + Duration::from_secs(10);
        // The daemon answers before it has created the login keyring from the password: wait
        // until `default` names it, or a Lock or a store right after would find no keyring.
        while !self
            .secret_service("ReadAlias", &["string:default"])
            .is_ok_and(|r| r.contains("/org/freedesktop/secrets/collection/login"))
        {
            assert!(
                Instant::now() < deadline,
                "the Secret Service never named the login keyring as its default on the session bus"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Locks the login keyring, as a screen lock or `Lock keyring` does.
    fn lock(&self) {
        let reply = self.secret_service(
            "Lock",
            &["array:objpath:/org/freedesktop/secrets/collection/login"],
        );
        assert!(
            reply
                .as_ref()
                .is_ok_and(|r| r.contains("/org/freedesktop/secrets/collection/login")),
            "the Secret Service locked the login keyring: {reply:?}"
        );
    }

    /// How many items the app has in the Secret Service, locked or not. The query is the test's
    /// own, so a call the bus fails (once seen, 0.27 s into a run, its cause not kept) is asked
    /// again a few times before the test gives up, naming every error.
    fn app_items(&self) -> usize {
        let mut errors = Vec::new();
        while errors.len() < 5 {
            match self.secret_service("SearchItems", &["dict:string:string:service,linq-inbox"]) {
                Ok(reply) => {
                    return reply
                        .matches("object path \"/org/freedesktop/secrets/collection/")
                        .count()
                }
                Err(e) => errors.push(e),
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("the Secret Service never answered SearchItems: {errors:?}");
    }

    /// Calls a method of `org.freedesktop.Secret.Service`: its printed reply, or what
    /// `dbus-send` said when the call failed.
    fn secret_service(&self, method: &str, args: &[&str]) -> Result<String, String> {
        let mut cmd = Command::new("dbus-send");
        cmd.args([
            "--session",
            "--dest=org.freedesktop.secrets",
            "--print-reply",
            "/org/freedesktop/secrets",
            &format!("org.freedesktop.Secret.Service.{method}"),
        ])
        .args(args);
        apply(&mut cmd, &self.env());
        let out = cmd.output().expect("dbus-send runs");
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(format!(
                "{}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // The shell's end ends the session: dbus-run-session stops its bus, and the keyring
        // daemon, which lives on that bus, leaves with it.
        // SAFETY: a plain signal to a process this test started.
        unsafe { libc::kill(self.shell_pid, libc::SIGTERM) };
        let _ = self.runner.wait();
    }
}

fn apply(cmd: &mut Command, env: &[(&str, Option<String>)]) {
    for (key, value) in env {
        match value {
            Some(v) => cmd.env(key, v),
            None => cmd.env_remove(key),
        };
    }
}

fn borrowed<'a>(env: &'a [(&'static str, Option<String>)]) -> Vec<(&'static str, Option<&'a str>)> {
    env.iter().map(|(k, v)| (*k, v.as_deref())).collect()
}

/// `linq-inbox linq <args> --json` in the session: its JSON answer.
fn linq_cli(
    data_dir: &Path,
    env: &[(&'static str, Option<String>)],
    args: &[&str],
    stdin: Option<&str>,
) -> Value {
    let mut all = vec!["linq", "--json"];
    all.extend_from_slice(args);
    let (ok, out, err) = cli_with(&all, data_dir, stdin.map(str::as_bytes), &borrowed(env));
    assert!(ok, "linq-inbox {all:?} succeeds: {err}");
    serde_json::from_str(&out)
        .unwrap_or_else(|e| panic!("`linq {all:?} --json` prints JSON ({e}): {out}"))
}

fn config_file(data_dir: &Path) -> PathBuf {
    data_dir.join("config.toml")
}

fn config_text(data_dir: &Path) -> String {
    std::fs::read_to_string(config_file(data_dir)).unwrap_or_default()
}

#[test]
fn the_token_lives_in_a_running_keyring_across_restarts() {
    let session = Session::start();
    session.unlock();
    let env = session.env();
    let dir = tempfile::tempdir().unwrap();

    let mut server = Server::start_with(dir.path(), &borrowed(&env));
    let (code, saved) = server.send_api(
        "PUT",
        "/api/linq/token",
        Some(&json!({ "token": TOKEN }).to_string()),
    );
    assert_eq!(code, 200, "Settings saves the token: {saved}");
    assert_eq!(
        saved["token"]["source"],
        json!("keyring"),
        "with an unlocked keyring on the bus the token goes there: {saved}"
    );
    assert_eq!(
        session.app_items(),
        1,
        "the Secret Service holds one item of the app's: the token"
    );
    assert!(
        !config_text(dir.path()).contains(TOKEN),
        "a token in the keyring is in no file"
    );

    // A new process reads it back from the keyring.
    server.kill();
    let server = Server::start_with(dir.path(), &borrowed(&env));
    let status = server.api("/api/linq");
    assert_eq!(
        (&status["token"]["source"], &status["token"]["masked"]),
        (&json!("keyring"), &json!(MASKED)),
        "after a restart the token is read back from the keyring: {status}"
    );
    assert_eq!(
        status["token"]["location"],
        json!("The token is kept in the system keyring (Secret Service), not in any file."),
        "Settings says where the token lives"
    );
    let cli_status = linq_cli(dir.path(), &env, &["status"], None);
    assert_eq!(
        cli_status["token"]["source"],
        json!("keyring"),
        "the CLI, another process, finds it in the keyring too: {cli_status}"
    );

    let (code, forgotten) = server.send_api("DELETE", "/api/linq/token", None);
    assert_eq!(code, 200, "Settings forgets the token: {forgotten}");
    assert_eq!(
        forgotten["token"]["configured"],
        json!(false),
        "a forgotten token is gone: {forgotten}"
    );
    assert_eq!(
        session.app_items(),
        0,
        "forgetting the token deletes it from the Secret Service"
    );
}

#[test]
fn without_a_running_keyring_the_token_goes_to_the_config_file() {
    // No daemon at all: the bus address leads nowhere.
    let absent = tempfile::tempdir().unwrap();
    let no_bus = format!("unix:path={}", absent.path().join("no-bus").display());
    let dir = tempfile::tempdir().unwrap();
    let env = vec![
        ("DBUS_SESSION_BUS_ADDRESS", Some(no_bus)),
        ("LINQ_INBOX_KEYRING", None),
        ("LINQ_INTEGRATION_TOKEN", None),
        ("LINQ_WEBHOOK_SECRET", Some(SECRET.to_string())),
    ];
    let saved = linq_cli(dir.path(), &env, &["token"], Some(TOKEN));
    assert_file_holds_token(dir.path(), &saved, "with no Secret Service on the bus");

    // A daemon whose keyring is locked (and no one to type the password): the same fallback.
    let session = Session::start();
    session.unlock();
    session.lock();
    let locked_dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let saved = linq_cli(locked_dir.path(), &session.env(), &["token"], Some(TOKEN));
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "a locked keyring is given up on promptly, not waited on: {:?}",
        started.elapsed()
    );
    assert_file_holds_token(locked_dir.path(), &saved, "with the keyring locked");
    assert_eq!(
        session.app_items(),
        0,
        "nothing of the app's went into the locked keyring"
    );
}

fn assert_file_holds_token(data_dir: &Path, saved: &Value, case: &str) {
    assert_eq!(
        (&saved["source"], &saved["masked"]),
        (&json!("config_file"), &json!(MASKED)),
        "{case} the token is kept in the config file: {saved}"
    );
    let file = config_file(data_dir);
    assert!(
        config_text(data_dir).contains(TOKEN),
        "{case} config.toml holds the token"
    );
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(
        mode, 0o600,
        "{case} config.toml is readable only by its owner"
    );
    assert_eq!(
        saved["location"],
        json!(format!(
            "The token is kept in {}, readable only by you (mode 0600): no unlocked system keyring took it when it was saved.",
            file.display()
        )),
        "{case} Settings says where the token lives"
    );
}
