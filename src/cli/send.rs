//! `linq-inbox linq send --chat ID [--reply-to ID] TEXT`: a reply from a script, through the same
//! outbox the inbox uses (committed first, sent with its client id as idempotency key, retried).
//! `-` as TEXT reads standard input. Waits for Linq to take it; a refusal is its one sentence and
//! a non-zero exit, and a reply Linq has not taken yet stays queued for the app to send.

use std::io::Read;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use linq_inbox::linq_api::outbox::Outbox;
use linq_inbox::linq_api::ConnectSettings;
use linq_inbox::store::outbox::{self, queue, Queued};
use linq_inbox::store::{chat_list, now_millis, Store};

/// How long the command waits for Linq to take the reply.
const SEND_WAIT: Duration = Duration::from_secs(60);

/// The longest reply Linq takes (`linq-api.md` §5.1).
const MAX_TEXT: usize = 10_000;

pub async fn run(
    connection: &ConnectSettings,
    chat: String,
    reply_to: Option<String>,
    text: String,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let text = read_text(text)?;
    let store = Store::open(&connection.data_dir)?;
    if chat_list::chat(&store.reader()?, &chat)?.is_none() {
        bail!("the inbox has no chat {chat:?}; run `linq-inbox linq sync` first or check the id");
    }
    let ingest = crate::command_ingest(&store)?;
    let client_id = outbox::new_client_id();
    let request = Queued {
        attachments: Vec::new(),
        chat_id: chat,
        text,
        reply_to,
    };
    let id = client_id.clone();
    ingest
        .run(move |c| queue::enqueue(c, &id, &request, now_millis()).map(|q| serde_json::json!(q)))
        .await?;
    let kept = connection.data_dir.join(linq_inbox::attachments::FOLDER);
    let only = client_id.clone();
    Outbox::start_for(
        connection.clone(),
        ingest.clone(),
        store.clone(),
        kept,
        only,
    )
    .wake();
    let row = wait_for_answer(&store, &client_id).await?;
    report(&row, json)
}

fn read_text(text: String) -> anyhow::Result<String> {
    let text = if text == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("could not read the reply from standard input")?;
        s.trim_end_matches('\n').to_string()
    } else {
        text
    };
    if text.trim().is_empty() {
        bail!("the reply is empty");
    }
    if text.chars().count() > MAX_TEXT {
        bail!("the reply is longer than Linq's {MAX_TEXT} characters");
    }
    Ok(text)
}

async fn wait_for_answer(store: &Store, client_id: &str) -> anyhow::Result<queue::OutboxRow> {
    let deadline = tokio::time::Instant::now() + SEND_WAIT;
    loop {
        let row = queue::row(&store.reader()?, client_id)?
            .context("the queued reply disappeared from the outbox")?;
        if row.state != "pending" || tokio::time::Instant::now() >= deadline {
            return Ok(row);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn report(row: &queue::OutboxRow, json: bool) -> anyhow::Result<ExitCode> {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "client_id": row.client_id, "state": row.state,
                "linq_id": row.linq_id, "error": row.error,
            }))?
        );
    }
    match row.state.as_str() {
        "sent" => {
            if !json {
                println!(
                    "Sent; Linq took it as {}.",
                    row.linq_id.as_deref().unwrap_or("?")
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        "failed" => bail!(
            "Linq refused the reply: {}",
            row.error.as_deref().unwrap_or("no reason given")
        ),
        _ => bail!(
            "Linq has not taken the reply yet ({}); it stays in the outbox and the app sends it when it runs",
            row.error.as_deref().unwrap_or("no answer")
        ),
    }
}
