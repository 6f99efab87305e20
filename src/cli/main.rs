//! `linq-inbox`: the engine's command line. This file is the entry: the commands and their
//! flags (every subcommand also takes the settings of `config::SettingsArgs`), and the dispatch
//! to one module per command family: `serve`, `replay` (import, export, rebuild), `doctor`,
//! `linq` (connect the app to Linq), `sync` (its catch-up pass, `linq sync`). `simulate` lives in the library (`linq_inbox::simulate`).

use std::process::ExitCode;

use anyhow::Context;
use clap::{CommandFactory, Parser, Subcommand};
use linq_inbox::config::{Settings, SettingsArgs};

mod doctor;
mod linq;
mod replay;
mod send;
mod serve;
mod sync;

#[derive(Parser)]
#[command(
    name = "linq-inbox",
    version,
    about = "Linq Inbox: verified Linq webhooks, kept in a local inbox"
)]
struct Cli {
    #[command(flatten)]
    settings: SettingsArgs,
    /// Write the man pages and shell completions into DIR (what the package recipe runs).
    #[arg(long = linq_inbox::cli_docs::FLAG, hide = true, value_name = "DIR", exclusive = true)]
    generate_docs: Option<std::path::PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the engine headless: webhook listener and UI server.
    Serve,
    /// Import a JSONL file of envelopes (`-` for standard input). Idempotent.
    ///
    /// When the folder `FILE.attachments/` of an `export --with-attachments` sits beside the
    /// file, its attachment files are checked against their hashes first and restored too.
    Import { file: String },
    /// Export the raw event log as JSONL.
    Export {
        /// Write to this file instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<std::path::PathBuf>,
        /// Also copy the kept attachment files, into the folder `FILE.attachments/` beside the
        /// `--out FILE.jsonl` (each file under its SHA-256, listed in `index.jsonl`).
        #[arg(long, requires = "out")]
        with_attachments: bool,
    },
    /// Re-derive every projection from the raw event log.
    Rebuild,
    /// Check config, ports, secret and database.
    Doctor,
    /// Send realistic signed Linq webhook traffic to a listener.
    Simulate(linq_inbox::simulate::SimulateArgs),
    /// Connect to Linq: create, list or delete the webhook subscription, test the tunnel,
    /// rotate the secret.
    Linq(linq::LinqArgs),
}

fn main() -> ExitCode {
    let allocators = linq_inbox::memory::set_up_allocators();
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("linq_inbox=info,warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    if let Err(e) = allocators {
        tracing::warn!(error = %e, "SQLite's memory stays on the system allocator");
    }
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("linq-inbox: {}", sentence(&e));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes as one line. Many of the engine's errors already name their cause
/// in their own text (`"database error: {0}"`); a cause the line already says is not said again.
pub(crate) fn sentence(e: &anyhow::Error) -> String {
    let mut line = e.to_string();
    for cause in e.chain().skip(1) {
        let cause = cause.to_string();
        if !line.contains(&cause) {
            line = format!("{line}: {cause}");
        }
    }
    line
}

pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("could not start the async runtime")
}

/// The writer a one-shot command (`linq send`, `linq sync`) logs through, on the current runtime:
/// the default day of typing indicators, the usual WAL restart threshold.
pub(crate) fn command_ingest(
    store: &linq_inbox::store::Store,
) -> anyhow::Result<linq_inbox::ingest::Ingest> {
    let options = linq_inbox::ingest::WriterOptions {
        typing_retention: std::time::Duration::from_secs(24 * 3600),
        wal_restart_frames: linq_inbox::ingest::WAL_RESTART_FRAMES,
    };
    Ok(linq_inbox::ingest::Ingest::start(
        store,
        options,
        tokio::runtime::Handle::current(),
    )?)
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    if let Some(dir) = &cli.generate_docs {
        linq_inbox::cli_docs::write(Cli::command(), dir)
            .with_context(|| format!("could not write the docs into {}", dir.display()))?;
        return Ok(ExitCode::SUCCESS);
    }
    let Some(command) = cli.command else {
        Cli::command()
            .error(
                clap::error::ErrorKind::MissingSubcommand,
                "say what to do, e.g. `linq-inbox serve` (`linq-inbox --help` lists the commands)",
            )
            .exit();
    };
    if let Command::Simulate(args) = &command {
        // Without --to and --secret: the listener and the secret of the app this data folder
        // belongs to, as its own settings resolve them.
        let target = linq_inbox::config::webhook_target(&cli.settings)?;
        let report = runtime()?.block_on(linq_inbox::simulate::run(args, target))?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            println!("{report}");
        }
        return Ok(if report.is_clean() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        });
    }
    let settings = Settings::resolve(&cli.settings)?;
    match command {
        Command::Serve => serve::run(settings),
        Command::Import { file } => replay::import(&settings, &file),
        Command::Export {
            out,
            with_attachments,
        } => replay::export(&settings, out.as_deref(), with_attachments),
        Command::Rebuild => replay::rebuild(&settings),
        Command::Doctor => doctor::run(settings),
        Command::Linq(args) => linq::run(settings, args),
        Command::Simulate(_) => Ok(ExitCode::SUCCESS),
    }
}

#[cfg(test)]
mod tests {
    use super::sentence;

    #[derive(Debug, thiserror::Error)]
    #[error("the database was written by a newer Linq Inbox")]
    struct Newer;

    #[derive(Debug, thiserror::Error)]
    enum Wrapping {
        #[error("{0}")]
        Store(#[from] Newer),
    }

    #[test]
    fn a_cause_the_error_already_names_is_said_once() {
        let e = anyhow::Error::from(Wrapping::Store(Newer));
        assert_eq!(
            sentence(&e),
            "the database was written by a newer Linq Inbox",
            "the engine's error shows its cause's text; the chain must not repeat it"
        );
    }

    #[test]
    fn a_cause_the_context_does_not_name_is_kept() {
        let e = anyhow::Error::from(Newer).context("could not open the data folder");
        assert_eq!(
            sentence(&e),
            "could not open the data folder: the database was written by a newer Linq Inbox",
            "context that does not name its cause keeps it after a colon"
        );
    }
}
