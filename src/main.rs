//! `linq-inbox`: the engine's command line.

use std::io::{BufReader, Write};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use linq_inbox::config::{SecretSource, Settings, SettingsArgs};
use linq_inbox::engine::Engine;
use linq_inbox::linq::standard_webhooks;
use linq_inbox::store::{replay, Store};

mod linq_cmd;

#[derive(Parser)]
#[command(
    name = "linq-inbox",
    version,
    about = "Linq Inbox: verified Linq webhooks, kept in a local inbox"
)]
struct Cli {
    #[command(flatten)]
    settings: SettingsArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the engine headless: webhook listener and UI server.
    Serve,
    /// Import a JSONL file of envelopes (`-` for standard input). Idempotent.
    Import { file: String },
    /// Export the raw event log as JSONL.
    Export {
        #[arg(long)]
        out: Option<std::path::PathBuf>,
    },
    /// Re-derive every projection from the raw event log.
    Rebuild,
    /// Check config, ports, secret and database.
    Doctor,
    /// Send realistic signed Linq webhook traffic to a listener.
    Simulate(linq_inbox::simulate::SimulateArgs),
    /// Connect to Linq: create, list or delete the webhook subscription, test the tunnel,
    /// rotate the secret.
    Linq(linq_cmd::LinqArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("linq_inbox=info,warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("linq-inbox: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("could not start the async runtime")
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    if let Command::Simulate(args) = &cli.command {
        let report = runtime()?.block_on(linq_inbox::simulate::run(args))?;
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
    match cli.command {
        Command::Serve => serve(settings),
        Command::Import { file } => {
            let store = Store::open(&settings.data_dir)?;
            let mut conn = store.writer()?;
            let report = if file == "-" {
                replay::import(&mut conn, std::io::stdin().lock())?
            } else {
                let f =
                    std::fs::File::open(&file).with_context(|| format!("cannot open {file}"))?;
                replay::import(&mut conn, BufReader::new(f))?
            };
            println!(
                "imported {} events ({} already present)",
                report.stored, report.duplicates
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Export { out } => {
            let store = Store::open(&settings.data_dir)?;
            let conn = store.reader()?;
            let count = match &out {
                Some(path) => {
                    let mut f = std::io::BufWriter::new(
                        std::fs::File::create(path)
                            .with_context(|| format!("cannot create {}", path.display()))?,
                    );
                    let n = replay::export(&conn, &mut f)?;
                    f.flush()?;
                    n
                }
                None => {
                    let stdout = std::io::stdout();
                    let mut lock = std::io::BufWriter::new(stdout.lock());
                    let n = replay::export(&conn, &mut lock)?;
                    lock.flush()?;
                    n
                }
            };
            eprintln!("exported {count} events");
            Ok(ExitCode::SUCCESS)
        }
        Command::Rebuild => {
            let store = Store::open(&settings.data_dir)?;
            let n = replay::rebuild(&mut store.writer()?)?;
            println!("rebuilt the inbox from {n} events");
            Ok(ExitCode::SUCCESS)
        }
        Command::Doctor => doctor(settings),
        Command::Linq(args) => linq_cmd::run(settings, args),
        Command::Simulate(_) => Ok(ExitCode::SUCCESS),
    }
}

fn serve(settings: Settings) -> anyhow::Result<ExitCode> {
    let rt = runtime()?;
    rt.block_on(async {
        let source = settings.secret_source;
        let path = settings.webhook_path.clone();
        let config = settings.config_path();
        let engine = Engine::start(settings).await?;
        let webhook = format!("http://{}{}", engine.webhook_addr(), path);
        println!("Linq Inbox is running.");
        println!("  Webhook listener: {webhook}");
        if source == SecretSource::Generated {
            println!("  A new webhook secret was generated and saved in {}.", config.display());
            println!("  Give Linq your tunnel's public URL and that secret (the UI's Setup screen shows both).");
        }
        println!("  Open the inbox: {}", engine.login_url());
        let _ = std::io::stdout().flush();
        shutdown_signal().await;
        println!("Stopping.");
        engine.shutdown().await;
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

fn doctor(settings: Settings) -> anyhow::Result<ExitCode> {
    let mut ok = true;
    let mut check = |name: &str, result: Result<String, String>| match result {
        Ok(detail) => println!("ok    {name}: {detail}"),
        Err(detail) => {
            ok = false;
            println!("FAIL  {name}: {detail}");
        }
    };
    check(
        "config",
        Ok(format!("{}", settings.config_path().display())),
    );
    check(
        "secret",
        if settings.secrets.is_empty() && !settings.allow_unsigned {
            Err("no webhook secret".into())
        } else if settings.secrets.iter().any(|s| {
            standard_webhooks::secret_kind(s) == standard_webhooks::SecretKind::MalformedStandard
        }) {
            Err("a secret starts with whsec_ but is not whsec_ followed by base64; copy the whole signing secret Linq showed".into())
        } else {
            Ok(format!(
                "{} secret(s) from {:?}, {} of them Standard Webhooks (whsec_, API v3)",
                settings.secrets.len(),
                settings.secret_source,
                settings
                    .secrets
                    .iter()
                    .filter(|s| standard_webhooks::secret_kind(s)
                        == standard_webhooks::SecretKind::StandardWebhooks)
                    .count()
            ))
        },
    );
    for (name, addr) in [
        ("webhook port", settings.listen),
        ("UI port", settings.ui_listen),
    ] {
        check(
            name,
            std::net::TcpListener::bind(addr)
                .map(|_| format!("{addr} is free"))
                .map_err(|e| format!("{addr}: {e}")),
        );
    }
    // Not a failure when not connected: the app also works with a hand-made subscription.
    check("linq", Ok(linq_cmd::doctor_line(&settings)));
    let db = Store::open(&settings.data_dir).and_then(|s| {
        let conn = s.reader()?;
        let integrity: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
        Ok(format!("{} ({integrity})", s.path().display()))
    });
    check("database", db.map_err(|e| e.to_string()));
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
