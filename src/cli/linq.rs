//! `linq-inbox linq ...`: connect the app to Linq from the command line. Each command prints
//! what it did in a line or two (or JSON with `--json`); a failure is one sentence on standard
//! error and a non-zero exit. The token never comes from an argument (it would show in `ps`).

use std::io::Read;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand};
use linq_inbox::config::Settings;
use linq_inbox::linq_api::connection::{Connected, Listing, Rotated, Status};
use linq_inbox::linq_api::delivery::{DeliveryReport, TEST_EVENT_TYPE};
use linq_inbox::linq_api::{ConnectSettings, Subscription, TokenSource};
use linq_inbox::store::{log, Store};
use serde::Serialize;

#[derive(Args)]
pub struct LinqArgs {
    #[command(subcommand)]
    command: LinqCommand,
    /// Print the result as JSON, for scripts.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Subcommand)]
enum LinqCommand {
    /// Create the webhook subscription for the tunnel's public https URL (or update the one
    /// that already points there) with this app's secret and every event type.
    Connect {
        #[arg(long, value_name = "URL")]
        public_url: String,
        /// v3: subscribe only this line (E.164; repeat for several). Default: every line.
        #[arg(long = "line", value_name = "NUMBER")]
        lines: Vec<String>,
    },
    /// List the lines (phone numbers) the integration token covers (v3).
    Lines,
    /// List the webhook subscriptions of the Linq account.
    List,
    /// Delete a subscription: ID, or by default the one this app created.
    Disconnect { id: Option<String> },
    /// Replace the webhook secret at Linq; the previous one stays accepted for the grace period.
    Rotate,
    /// Send a signed test event through the public URL and check that this app stored it.
    Test {
        /// Default: the public URL saved by `connect`.
        #[arg(long, value_name = "URL")]
        public_url: Option<String>,
        /// Seconds to wait for an answer.
        #[arg(long, default_value_t = 10, value_name = "SECONDS")]
        timeout: u64,
    },
    /// Save the integration token read from standard input (OS keyring, else config.toml 0600).
    Token {
        /// Forget the saved token instead.
        #[arg(long)]
        forget: bool,
    },
    /// Show the connection: token (masked), public URL, subscription, secrets in their grace period.
    Status,
    /// Catch up through Linq's REST API: fetch what webhooks missed (every chat, its messages
    /// back to what the inbox holds) and print what was fetched and what was new.
    Sync,
    /// Send a reply to a chat through the outbox (sent with an idempotency key, retried, never
    /// twice); waits until Linq takes it.
    Send {
        /// The chat's id (as `GET /api/chats` shows it).
        #[arg(long, value_name = "ID")]
        chat: String,
        /// The message this replies to (v3).
        #[arg(long, value_name = "ID")]
        reply_to: Option<String>,
        /// The text; `-` reads standard input.
        text: String,
    },
}

pub fn run(settings: Settings, args: LinqArgs) -> anyhow::Result<ExitCode> {
    let rt = crate::runtime()?;
    let connection = ConnectSettings::from_settings(&settings);
    let secret = settings.secrets.first().cloned();
    let json = args.json;
    rt.block_on(async move {
        match args.command {
            LinqCommand::Connect { public_url, lines } => {
                let done = connection
                    .connect(&public_url, secret.as_ref(), Some(&lines))
                    .await?;
                print_connected(&done, json)
            }
            LinqCommand::Lines => {
                let lines = connection.lines().await?;
                emit(json, &lines, || {
                    lines
                        .iter()
                        .map(|l| match &l.reputation {
                            Some(r) => format!("{} ({r})", l.phone_number),
                            None => l.phone_number.clone(),
                        })
                        .collect::<Vec<_>>()
                        .join("\n")
                })
            }
            LinqCommand::List => {
                let listing = connection.list().await?;
                print_listing(&listing, json)
            }
            LinqCommand::Disconnect { id } => {
                let deleted = connection.disconnect(id.as_deref()).await?;
                emit(json, &serde_json::json!({ "deleted": deleted }), || {
                    format!("Deleted Linq webhook subscription {deleted}; Linq no longer delivers to it.")
                })
            }
            LinqCommand::Rotate => {
                // A running engine re-reads config.toml twice a second; give it that long to
                // accept the new secret before Linq starts signing with it.
                let rotated = connection
                    .rotate(|| {}, Duration::from_millis(1200))
                    .await?;
                print_rotated(&rotated, json)
            }
            LinqCommand::Test {
                public_url,
                timeout,
            } => {
                let store = Store::open(&connection.data_dir)?;
                let report = connection
                    .test_delivery(
                        public_url.as_deref(),
                        secret.as_ref(),
                        Duration::from_secs(timeout.clamp(1, 120)),
                        |id| async move { stored(&store, &id) },
                    )
                    .await?;
                print_report(&report, json)
            }
            LinqCommand::Token { forget } => {
                if forget {
                    connection.forget_token().await?;
                    return emit(json, &serde_json::json!({ "forgotten": true }), || {
                        "Forgot the saved Linq integration token.".into()
                    });
                }
                let mut text = String::new();
                std::io::stdin()
                    .read_to_string(&mut text)
                    .context("could not read the token from standard input")?;
                let source = connection.save_token(&text).await?;
                let status = connection.status().await?;
                let masked = status.token.masked.clone().unwrap_or_default();
                emit(json, &status.token, || match source {
                    TokenSource::Keyring => format!("Saved the integration token {masked} in the OS keyring."),
                    _ => format!(
                        "Saved the integration token {masked} in {} (mode 0600; no OS keyring is available here).",
                        settings.config_path().display()
                    ),
                })
            }
            LinqCommand::Status => {
                let status = connection.status().await?;
                print_status(&status, json)
            }
            LinqCommand::Sync => crate::sync::run(&connection, json).await,
            LinqCommand::Send {
                chat,
                reply_to,
                text,
            } => crate::send::run(&connection, chat, reply_to, text, json).await,
        }
    })
}

/// What `doctor` says about the Linq connection, from local state only (Linq is not called).
pub fn doctor_line(settings: &Settings) -> String {
    let (token, source) = linq_inbox::linq_api::token::current(&settings.data_dir);
    let linq = linq_inbox::config::load_config(&settings.data_dir)
        .map(|f| f.linq)
        .unwrap_or_default();
    let token = match (token, source) {
        (Some(t), TokenSource::Environment) => {
            format!("token {} from LINQ_INTEGRATION_TOKEN", t.masked())
        }
        (Some(t), TokenSource::Keyring) => format!("token {} in the OS keyring", t.masked()),
        (Some(t), _) => format!("token {} in the config file", t.masked()),
        (None, _) => "no integration token".to_string(),
    };
    match (linq.subscription_id, linq.public_url) {
        (Some(id), Some(url)) => {
            format!("{token}; subscription {id} for {url} (check it with `linq-inbox linq test`)")
        }
        _ => format!(
            "{token}; not connected (Settings → Connect to Linq, or `linq-inbox linq connect`)"
        ),
    }
}

fn stored(store: &Store, event_id: &str) -> bool {
    for _ in 0..10 {
        let found = store
            .reader()
            .and_then(|c| log::seq_of(&c, event_id, TEST_EVENT_TYPE))
            .ok()
            .flatten();
        if found.is_some() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// Prints `value` as JSON, or the sentence; success exit.
fn emit(
    json: bool,
    value: &impl Serialize,
    text: impl FnOnce() -> String,
) -> anyhow::Result<ExitCode> {
    if json {
        println!("{}", serde_json::to_string_pretty(value)?);
    } else {
        println!("{}", text());
    }
    Ok(ExitCode::SUCCESS)
}

fn warn_all(warnings: &[String]) {
    for w in warnings {
        eprintln!("warning: {w}");
    }
}

fn print_connected(done: &Connected, json: bool) -> anyhow::Result<ExitCode> {
    if !json {
        warn_all(&done.warnings);
    }
    emit(json, done, || {
        let s = &done.subscription;
        let verb = if done.created {
            "Created"
        } else {
            "Updated the existing"
        };
        format!(
            "{verb} Linq webhook subscription {} for {} ({} event types, {}).\nCheck the path with `linq-inbox linq test`.",
            s.id,
            done.webhook_url,
            s.events.len(),
            if s.active { "active" } else { "inactive" }
        )
    })
}

fn describe(s: &Subscription, current: Option<&str>) -> String {
    let mut line = format!(
        "{}  {}  {}",
        s.id,
        s.webhook_url,
        if s.active { "active" } else { "inactive" }
    );
    if let Some(at) = &s.last_delivered_at {
        line.push_str(&format!("  last delivery {at}"));
    }
    if let Some(n) = s.delivery_attempts {
        line.push_str(&format!("  {n} attempts"));
    }
    if current == Some(s.id.as_str()) {
        line.push_str("  (this app)");
    }
    line
}

fn print_listing(listing: &Listing, json: bool) -> anyhow::Result<ExitCode> {
    if !json {
        warn_all(&listing.warnings);
    }
    emit(json, listing, || {
        if listing.subscriptions.is_empty() {
            return "No webhook subscriptions on this Linq account.".into();
        }
        let mut out = format!("{} webhook subscription(s):", listing.subscriptions.len());
        for s in &listing.subscriptions {
            out.push_str("\n  ");
            out.push_str(&describe(s, listing.current_id.as_deref()));
        }
        out
    })
}

fn print_rotated(rotated: &Rotated, json: bool) -> anyhow::Result<ExitCode> {
    emit(json, rotated, || {
        format!(
            "Rotated the webhook secret of Linq subscription {}; the previous secret is still accepted until {}.",
            rotated.subscription_id,
            rotated.previous_accepted_until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        )
    })
}

fn print_report(report: &DeliveryReport, json: bool) -> anyhow::Result<ExitCode> {
    if json {
        println!("{}", serde_json::to_string_pretty(report)?);
    } else if report.ok {
        println!("ok: {}", report.message);
    } else {
        println!("failed, {}: {}", report.stage.label(), report.message);
        println!("  url: {}", report.url);
    }
    Ok(if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn print_status(status: &Status, json: bool) -> anyhow::Result<ExitCode> {
    emit(json, status, || {
        let token = match (&status.token.masked, status.token.source) {
            (Some(m), TokenSource::Environment) => format!("{m} from LINQ_INTEGRATION_TOKEN"),
            (Some(m), TokenSource::Keyring) => format!("{m} in the OS keyring"),
            (Some(m), _) => format!("{m} in the config file"),
            (None, _) => "not set".into(),
        };
        let mut out = format!(
            "Linq API {} ({}); token {}.\n{}\nPublic URL: {}; subscription: {}.",
            status.api_base,
            status.api_version.as_str(),
            token,
            status.token.location,
            status.webhook_url.as_deref().unwrap_or("not connected"),
            status.subscription_id.as_deref().unwrap_or("none")
        );
        for r in &status.retiring {
            out.push_str(&format!(
                "\nA previous secret is accepted until {}.",
                r.expires_at
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ));
        }
        out
    })
}
