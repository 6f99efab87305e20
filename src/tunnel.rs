//! The tunnel programs the app can run for the rep: which one is installed, how it is started
//! for a listener, and where in its output it prints the public address.
//!
//! `cloudflared` runs a quick tunnel (no account) and prints the address in a box among its log
//! lines; `ngrok` needs the rep's authtoken, set once with `ngrok config add-authtoken`, and is
//! run with JSON logs on standard output, where a `started tunnel` record carries the `url`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// A tunnel program found on `PATH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    pub name: &'static str,
    pub path: PathBuf,
}

/// The programs tried, in order: cloudflared first, since its quick tunnel needs no account.
pub const NAMES: [&str; 2] = ["cloudflared", "ngrok"];

/// How to install each program, one line per system (program, system, command), for the
/// screen that finds neither.
pub const INSTALL_HINTS: [(&str, &str, &str); 6] = [
    ("cloudflared", "Debian/Ubuntu", "curl -L -o cloudflared.deb https://github.com/cloudflare/cloudflared/releases/latest/download/cloudflared-linux-amd64.deb && sudo dpkg -i cloudflared.deb"),
    ("cloudflared", "macOS", "brew install cloudflared"),
    ("cloudflared", "Windows", "winget install --id Cloudflare.cloudflared"),
    ("ngrok", "Debian/Ubuntu", "curl -sSL https://ngrok-agent.s3.amazonaws.com/ngrok.asc | sudo tee /etc/apt/trusted.gpg.d/ngrok.asc >/dev/null && echo \"deb https://ngrok-agent.s3.amazonaws.com buster main\" | sudo tee /etc/apt/sources.list.d/ngrok.list && sudo apt update && sudo apt install ngrok"),
    ("ngrok", "macOS", "brew install ngrok"),
    ("ngrok", "Windows", "choco install ngrok"),
];

/// Every tunnel program on `path_var` (the `PATH` value), in the order of [`NAMES`].
pub fn installed(path_var: Option<&std::ffi::OsStr>) -> Vec<Program> {
    let dirs: Vec<PathBuf> = path_var
        .map(std::env::split_paths)
        .into_iter()
        .flatten()
        .collect();
    NAMES
        .iter()
        .filter_map(|name| {
            dirs.iter()
                .map(|d| d.join(exe(name)))
                .find(|p| is_executable(p))
                .map(|path| Program { name, path })
        })
        .collect()
}

/// The program to run: `preferred` when it is installed, else the first one installed.
pub fn find(path_var: Option<&std::ffi::OsStr>, preferred: Option<&str>) -> Option<Program> {
    let mut all = installed(path_var);
    let at = preferred
        .and_then(|want| all.iter().position(|p| p.name == want))
        .unwrap_or(0);
    (at < all.len()).then(|| all.swap_remove(at))
}

fn exe(name: &str) -> String {
    if cfg!(windows) {
        format!("{name}.exe")
    } else {
        name.to_string()
    }
}

fn is_executable(p: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        p.metadata()
            .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            .unwrap_or(false)
    }
    #[cfg(not(unix))]
    {
        p.is_file()
    }
}

impl Program {
    /// The arguments that tunnel `listener` (an unspecified address is reached on loopback).
    /// ngrok logs JSON lines to standard output, one of which carries the public `url`.
    pub fn args(&self, listener: SocketAddr) -> Vec<String> {
        let mut local = listener;
        if local.ip().is_unspecified() {
            local.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
        }
        match self.name {
            "ngrok" => vec![
                "http".into(),
                local.to_string(),
                "--log".into(),
                "stdout".into(),
                "--log-format".into(),
                "json".into(),
            ],
            _ => vec![
                "tunnel".into(),
                "--no-autoupdate".into(),
                "--url".into(),
                format!("http://{local}"),
            ],
        }
    }

    /// The public address in one line of this program's output.
    pub fn address_in(&self, line: &str) -> Option<String> {
        match self.name {
            "ngrok" => ngrok_address(line),
            _ => address_in(line),
        }
    }
}

/// ngrok's `{"msg":"started tunnel", ..., "url":"https://…"}` (`--log-format json`); its
/// `addr` field is the local side, never the public one.
fn ngrok_address(line: &str) -> Option<String> {
    let record: serde_json::Value = serde_json::from_str(line).ok()?;
    if record["msg"] != "started tunnel" {
        return None;
    }
    record["url"]
        .as_str()
        .filter(|u| u.starts_with("https://") || u.starts_with("http://127.0.0.1:"))
        .map(|u| u.trim_end_matches('/').to_string())
}

/// The public address in one line of a tunnel's text output: an `https://` address
/// (cloudflared's `https://….trycloudflare.com` box, ngrok's logfmt `url=https://…`), or a
/// loopback `http://` one (a local stand-in). Its API or dashboard addresses are not the tunnel's.
pub fn address_in(line: &str) -> Option<String> {
    line.split(|c: char| c.is_whitespace() || c == '|' || c == '"')
        .map(|w| w.trim_start_matches("url="))
        .filter(|w| w.starts_with("https://") || w.starts_with("http://127.0.0.1:"))
        .find(|w| !w.contains("cloudflare.com/") && !w.contains("api.") && !w.contains("dashboard"))
        .map(|w| w.trim_end_matches(['/', ',', '.']).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_address_is_read_from_what_the_tunnels_print() {
        assert_eq!(
            address_in("2026-12-04T10:00:00Z INF |  https://calm-fox-12.trycloudflare.com  |")
                .as_deref(),
            Some("https://calm-fox-12.trycloudflare.com"),
            "cloudflared's box"
        );
        assert_eq!(
            address_in(r#"t=2026 lvl=info msg="started tunnel" url=https://ab12.ngrok-free.app"#)
                .as_deref(),
            Some("https://ab12.ngrok-free.app"),
            "ngrok's log line"
        );
        let ngrok = Program {
            name: "ngrok",
            path: PathBuf::from("ngrok"),
        };
        assert_eq!(
            ngrok.address_in(r#"{"addr":"http://127.0.0.1:8787","lvl":"info","msg":"started tunnel","name":"command_line","obj":"tunnels","t":"2026-12-04T10:00:01Z","url":"https://ab12.ngrok-free.app"}"#).as_deref(),
            Some("https://ab12.ngrok-free.app"),
            "ngrok's JSON record: the public url, not the local addr"
        );
        assert_eq!(
            ngrok.address_in(
                r#"{"addr":"127.0.0.1:4040","lvl":"info","msg":"starting web service","obj":"web"}"#
            ),
            None,
            "ngrok's other records carry no tunnel address"
        );
        assert_eq!(
            address_in("INF Requesting new quick Tunnel on trycloudflare.com..."),
            None,
            "a line without an address"
        );
        assert_eq!(
            address_in("see https://developers.cloudflare.com/cloudflare-one/ for more"),
            None,
            "documentation links are not the tunnel"
        );
    }

    #[test]
    fn a_program_is_found_only_when_executable_on_path() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("ngrok");
        std::fs::write(&path, "#!/bin/sh\n").expect("write");
        let var = std::env::join_paths([dir.path()]).expect("PATH");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                find(Some(&var), None),
                None,
                "not executable: not a program"
            );
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        }
        assert_eq!(
            find(Some(&var), None).map(|p| p.name),
            Some("ngrok"),
            "ngrok alone is found and used"
        );
        let both = dir.path().join("cloudflared");
        std::fs::copy(&path, &both).expect("copy");
        assert_eq!(
            find(Some(&var), None).map(|p| p.name),
            Some("cloudflared"),
            "with both, cloudflared first (no account needed)"
        );
        assert_eq!(
            find(Some(&var), Some("ngrok")).map(|p| p.name),
            Some("ngrok"),
            "unless the rep picks ngrok"
        );
        assert_eq!(installed(Some(&var)).len(), 2, "both are offered");
    }

    #[test]
    fn both_programs_have_an_install_line_for_each_system() {
        for name in NAMES {
            let systems: Vec<&str> = INSTALL_HINTS
                .iter()
                .filter(|(program, _, _)| *program == name)
                .map(|(_, system, _)| *system)
                .collect();
            assert_eq!(
                systems,
                ["Debian/Ubuntu", "macOS", "Windows"],
                "{name}: one line per system"
            );
        }
    }

    #[test]
    fn ngrok_is_run_with_json_logs_on_standard_output() {
        let ngrok = Program {
            name: "ngrok",
            path: PathBuf::from("ngrok"),
        };
        let listener: SocketAddr = "0.0.0.0:8787".parse().expect("addr");
        assert_eq!(
            ngrok.args(listener),
            [
                "http",
                "127.0.0.1:8787",
                "--log",
                "stdout",
                "--log-format",
                "json"
            ],
            "an unspecified listener is reached on loopback"
        );
    }
}
