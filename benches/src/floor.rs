//! The durable floor: the baseline plus the least any durable store must do, one SQLite row per
//! delivery (the raw body) committed with `synchronous=FULL` before the 200, group-committed by
//! one writer thread the way the app's writer batches. Comparing the app with it separates what
//! durability costs on this disk (one fsync per commit) from what the app's own work costs.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use rusqlite::Connection;
use tokio::sync::oneshot;

type Job = (Bytes, oneshot::Sender<bool>);

#[derive(Clone)]
struct App {
    secret: Arc<[u8]>,
    jobs: SyncSender<Job>,
}

pub async fn serve(listen: &str, secret: String, db: &std::path::Path) -> anyhow::Result<()> {
    let conn = Connection::open(db)?;
    conn.pragma_update_and_check(None, "journal_mode", "wal", |_| Ok(()))?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, payload TEXT NOT NULL)",
    )?;
    let (jobs, rx) = sync_channel(8192);
    std::thread::spawn(move || write(conn, rx));
    let app = Router::new()
        .route("/webhooks/linq", post(receive))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(App {
            secret: Arc::from(secret.into_bytes()),
            jobs,
        });
    let listener = super::baseline::without_nagle(tokio::net::TcpListener::bind(listen).await?);
    axum::serve(listener, app).await?;
    Ok(())
}

async fn receive(State(app): State<App>, headers: HeaderMap, body: Bytes) -> StatusCode {
    if !super::baseline::signed(&app.secret, &headers, &body) {
        return StatusCode::UNAUTHORIZED;
    }
    let (reply, answer) = oneshot::channel();
    if app.jobs.try_send((body, reply)).is_err() {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    match answer.await {
        Ok(true) => StatusCode::OK,
        _ => StatusCode::SERVICE_UNAVAILABLE,
    }
}

/// Takes whatever has queued while the last commit synced, commits it as one transaction, then
/// answers every delivery in it.
fn write(mut conn: Connection, rx: Receiver<Job>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < 1024 {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let stored = insert(&mut conn, &batch).is_ok();
        for (_, reply) in batch {
            let _ = reply.send(stored);
        }
    }
}

fn insert(conn: &mut Connection, batch: &[Job]) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    {
        let mut stmt = tx.prepare_cached("INSERT INTO events (payload) VALUES (?1)")?;
        for (body, _) in batch {
            stmt.execute([String::from_utf8_lossy(body)])?;
        }
    }
    tx.commit()
}
