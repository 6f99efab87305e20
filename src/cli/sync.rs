//! `linq-inbox linq sync [--json]`: one catch-up pass from the command line, on the same writer
//! and projector the engine uses; prints what it fetched and what was new. A failure is the
//! pass's one sentence and a non-zero exit (with `--json`, as `{"error": sentence}` on standard
//! output).

use std::process::ExitCode;
use std::time::Duration;

use linq_inbox::linq_api::sync::{client, run_pass, PassSettings};
use linq_inbox::linq_api::ConnectSettings;
use linq_inbox::store::sync::SyncStatus;
use linq_inbox::store::Store;

/// How long the command waits for the inbox to fold in what the pass logged.
const PROJECT_WAIT: Duration = Duration::from_secs(120);

pub async fn run(connection: &ConnectSettings, json: bool) -> anyhow::Result<ExitCode> {
    let status = match pass(connection).await {
        Ok(status) => status,
        // With --json a script reads standard output: the failure is a JSON object there too.
        Err(e) if json => {
            let answer = serde_json::json!({ "error": crate::sentence(&e) });
            println!("{}", serde_json::to_string_pretty(&answer)?);
            return Ok(ExitCode::FAILURE);
        }
        Err(e) => return Err(e),
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&status)?);
    } else {
        println!(
            "Caught up with Linq: fetched {} messages in {} chats, {} new.",
            status.fetched,
            status.chats_total.unwrap_or(status.chats_done),
            status.new
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// One pass, and the wait until the inbox has folded in what it logged.
async fn pass(connection: &ConnectSettings) -> anyhow::Result<SyncStatus> {
    let rest = client(connection).await?;
    let store = Store::open(&connection.data_dir)?;
    let ingest = crate::command_ingest(&store)?;
    let progress = |_: &linq_inbox::store::sync::PassRow| {};
    let row = run_pass(
        &rest,
        &PassSettings {
            ingest: &ingest,
            store: &store,
            trigger: "demand",
            progress: &progress,
        },
    )
    .await?;
    ingest.projected_to_now(PROJECT_WAIT).await;
    Ok(SyncStatus::from(&row))
}
