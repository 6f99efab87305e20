//! `linq-bench`: the tools behind `make bench` (orchestrated by `benches/run.sh`).
//!
//! - `baseline`: a bare axum server that checks the HMAC and answers 200, storing nothing: the
//!   ceiling of the HTTP and crypto stack on this machine.
//! - `floor`: the baseline plus one SQLite row per delivery committed (`synchronous=FULL`)
//!   before the 200: what durability alone costs on this disk.
//! - `load`: signed ~1 KB deliveries over keep-alive connections, at a fixed rate (open loop,
//!   latency counted from each request's scheduled time) or as fast as acknowledged (closed
//!   loop); optionally follows `/api/stream` and times delivery → stream event.
//! - `generate`: the JSONL for `linq-inbox import` (a big account: many chats, one huge thread).
//! - `query`: times UI API reads. `startup`: serve start → `/healthz` answering.
//! - `report`: renders the collected results as the table in docs/BENCHMARKS.md.

mod baseline;
mod client;
mod floor;
mod generate;
mod load;
mod payload;
mod query;
mod report;
mod stats;

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "linq-bench", about = "Linq Inbox benchmark tools")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Bare verify-only webhook server (the baseline).
    Baseline {
        #[arg(long)]
        listen: String,
        #[arg(long)]
        secret: String,
    },
    /// The baseline plus a durable append of each body to SQLite before answering.
    Floor {
        #[arg(long)]
        listen: String,
        #[arg(long)]
        secret: String,
        /// The SQLite file to append to (created).
        #[arg(long)]
        db: PathBuf,
    },
    /// Posts signed deliveries and reports throughput and acknowledgement latency.
    Load(load::LoadArgs),
    /// Writes an import file: `--messages` messages over `--chats` chats, `--big` of them in one.
    Generate(generate::GenerateArgs),
    /// Times UI API reads against a running `serve`.
    Query(query::QueryArgs),
    /// Starts `serve` (the command after `--`) and reports how long until `/healthz` answers.
    Startup {
        #[arg(long)]
        healthz: String,
        #[arg(long, default_value = "5")]
        runs: usize,
        #[arg(last = true, required = true)]
        command: Vec<String>,
    },
    /// Renders the results file as the markdown table and puts it into the document.
    Report {
        #[arg(long)]
        results: PathBuf,
        #[arg(long)]
        doc: PathBuf,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Report { results, doc } => report::write(&results, &doc),
        Command::Generate(args) => generate::run(&args),
        command => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            rt.block_on(async move {
                match command {
                    Command::Baseline { listen, secret } => baseline::serve(&listen, secret).await,
                    Command::Floor { listen, secret, db } => {
                        floor::serve(&listen, secret, &db).await
                    }
                    Command::Load(args) => load::run(args).await,
                    Command::Query(args) => query::run(args).await,
                    Command::Startup {
                        healthz,
                        runs,
                        command,
                    } => query::startup(&healthz, runs, &command, Duration::from_secs(30)).await,
                    Command::Report { .. } | Command::Generate(_) => Ok(()),
                }
            })
        }
    }
}
