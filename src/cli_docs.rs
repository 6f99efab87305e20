//! Man pages and shell completions, written from a binary's own clap definition.
//!
//! Both binaries take a hidden `--generate-docs DIR`; the package recipe
//! (`src-tauri/packaging/stage.sh`) runs the built binaries with it, so what `man linq-inbox`
//! and a shell's tab completion say is exactly what the binary parses: there is no second copy
//! of the flags to drift. Generating from the binary (rather than in a build script) needs
//! nothing beyond clap at build time and keeps the CLI definition where it is used.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use clap_complete::Shell;

/// The name of the hidden flag both binaries answer.
pub const FLAG: &str = "generate-docs";

/// Shells a package installs completions for, and the file name each one looks for.
const SHELLS: [(Shell, &str); 3] = [
    (Shell::Bash, "{}.bash"),
    (Shell::Zsh, "_{}"),
    (Shell::Fish, "{}.fish"),
];

/// Writes `DIR/man/<name>.1` (and one page per visible subcommand, `<name>-<sub>.1`) and
/// `DIR/completions/{<name>.bash, _<name>, <name>.fish}`. Returns the files written.
pub fn write(mut cmd: clap::Command, dir: &Path) -> io::Result<Vec<PathBuf>> {
    let name = cmd.get_name().to_string();
    let man = dir.join("man");
    let completions = dir.join("completions");
    fs::create_dir_all(&man)?;
    fs::create_dir_all(&completions)?;
    clap_mangen::generate_to(cmd.clone(), &man)?;
    let mut written = files_in(&man)?;
    for (shell, pattern) in SHELLS {
        let path = completions.join(pattern.replace("{}", &name));
        let mut file = fs::File::create(&path)?;
        clap_complete::generate(shell, &mut cmd, name.clone(), &mut file);
        written.push(path);
    }
    Ok(written)
}

fn files_in(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut files = fs::read_dir(dir)?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<io::Result<Vec<_>>>()?;
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Arg, Command};

    fn sample() -> Command {
        Command::new("sample")
            .about("A sample tool")
            .arg(Arg::new("data-dir").long("data-dir").global(true))
            .subcommand(Command::new("serve").about("Serve it"))
            .subcommand(Command::new("secret-thing").hide(true))
    }

    #[test]
    fn every_visible_command_gets_a_page_and_every_shell_a_completion() {
        let dir = tempfile::tempdir().expect("tempdir");
        let written = write(sample(), dir.path()).expect("docs written");
        let names: Vec<String> = written
            .iter()
            .filter_map(|p| p.file_name()?.to_str().map(str::to_string))
            .collect();
        assert_eq!(
            names,
            [
                "sample-serve.1",
                "sample.1",
                "sample.bash",
                "_sample",
                "sample.fish"
            ],
            "a page for the binary and its visible subcommand, none for the hidden one, and one \
             completion file per shell"
        );
        let page = fs::read_to_string(dir.path().join("man/sample.1")).expect("page");
        assert!(
            page.contains(".TH sample 1") && page.contains("data\\-dir"),
            "the page is roff with the binary's flags: {page}"
        );
        let fish = fs::read_to_string(dir.path().join("completions/sample.fish")).expect("fish");
        assert!(
            fish.contains("-a \"serve\"") && fish.contains("-l data-dir"),
            "completions offer the subcommands and the flags: {fish}"
        );
    }
}
