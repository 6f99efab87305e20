//! The tunnel programs the app can run for the rep: which one is installed, how it is started
//! for a listener, and where in its output it prints the public address.
//!
//! `cloudflared` runs a quick tunnel (no account); `ngrok` needs the rep's authtoken, set once
//! with `ngrok config add-authtoken`. Both print the address among their log lines.

use std::path::{Path, PathBuf};

/// A tunnel program found on `PATH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    pub name: &'static str,
    pub path: PathBuf,
}

/// The programs tried, in order.
const NAMES: [&str; 2] = ["cloudflared", "ngrok"];

/// How to install one, one line per system, for the screen that finds none.
pub const INSTALL_HINTS: [(&str, &str); 3] = [
    ("Debian/Ubuntu", "curl -L -o cloudflared.deb https://github.com/cloudflare/cloudflared/releases/latest/download/cloudflared-linux-amd64.deb && sudo dpkg -i cloudflared.deb"),
    ("macOS", "brew install cloudflared"),
    ("Windows", "winget install --id Cloudflare.cloudflared"),
];

/// The first tunnel program on `path_var` (the `PATH` value).
pub fn find(path_var: Option<&std::ffi::OsStr>) -> Option<Program> {
    let dirs: Vec<PathBuf> = path_var
        .map(std::env::split_paths)
        .into_iter()
        .flatten()
        .collect();
    NAMES.iter().find_map(|name| {
        dirs.iter()
            .map(|d| d.join(exe(name)))
            .find(|p| is_executable(p))
            .map(|path| Program { name, path })
    })
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
    /// The arguments that tunnel `listener` (`http://127.0.0.1:8787`).
    pub fn args(&self, listener: &str) -> Vec<String> {
        match self.name {
            "ngrok" => vec![
                "http".into(),
                listener.into(),
                "--log".into(),
                "stdout".into(),
            ],
            _ => vec![
                "tunnel".into(),
                "--no-autoupdate".into(),
                "--url".into(),
                listener.into(),
            ],
        }
    }
}

/// The public address in one line of a tunnel's output: an `https://` address (cloudflared's
/// `https://….trycloudflare.com` box, ngrok's `url=https://…`), or a loopback `http://` one (a
/// local stand-in). Its API or dashboard addresses are not the tunnel's.
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
            assert_eq!(find(Some(&var)), None, "not executable: not a program");
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        }
        assert_eq!(
            find(Some(&var)).map(|p| p.name),
            Some("ngrok"),
            "the executable is found"
        );
    }
}
