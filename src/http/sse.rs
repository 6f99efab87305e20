//! `GET /api/stream`: Server-Sent Events. Resumes after `Last-Event-ID` from the log with no gap
//! and no duplicate; a client that falls behind its bounded buffer gets `reset` and refetches.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::Stream;
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;

use super::api::{ApiError, ApiState};
use crate::feed::{build_event, FeedData, StreamEvent};
use crate::store::log;

/// The most stored events replayed to a resuming client before it is told to refetch instead.
const MAX_REPLAY: i64 = 5000;

#[derive(Deserialize)]
pub struct StreamQuery {
    last_event_id: Option<String>,
}

fn to_sse(item: &StreamEvent) -> Event {
    let event = Event::default()
        .event(item.event.clone())
        .data(item.json.clone());
    match item.seq {
        Some(seq) => event.id(seq.to_string()),
        None => event,
    }
}

fn reset(reason: &str) -> StreamEvent {
    StreamEvent::new(
        None,
        "reset",
        FeedData {
            reason: Some(reason.to_string()),
            ..FeedData::default()
        },
    )
}

pub async fn stream(
    State(s): State<Arc<ApiState>>,
    headers: HeaderMap,
    Query(q): Query<StreamQuery>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let live = s.shared.events.subscribe();
    let health = s.ingest.health_changes();
    let resume = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or(q.last_event_id)
        .and_then(|v| v.trim().parse::<i64>().ok());
    let (backlog, last_sent) = match resume {
        None => (Vec::new(), s.read(log::max_seq).await?),
        Some(after) => {
            let shared = s.shared.clone();
            s.read(move |conn| {
                let events = log::events_after(conn, after, MAX_REPLAY + 1)?;
                if events.len() as i64 > MAX_REPLAY {
                    return Ok((
                        vec![reset("too far behind to replay; refetch")],
                        log::max_seq(conn)?,
                    ));
                }
                let mut items = Vec::with_capacity(events.len());
                let mut last = after;
                for e in &events {
                    items.push(build_event(conn, &shared, e, false)?);
                    last = e.seq;
                }
                Ok((items, last))
            })
            .await?
        }
    };
    let output = futures_util::stream::iter(
        backlog
            .into_iter()
            .map(|item| Ok::<Event, Infallible>(to_sse(&item))),
    );
    let live_stream = futures_util::stream::unfold(
        (live, health, last_sent),
        |(mut live, mut health, mut last_sent)| async move {
            loop {
                tokio::select! {
                    received = live.recv() => match received {
                        Ok(item) => {
                            if let Some(seq) = item.seq {
                                if seq <= last_sent { continue; }
                                last_sent = seq;
                            }
                            return Some((Ok::<Event, Infallible>(to_sse(&item)), (live, health, last_sent)));
                        }
                        Err(RecvError::Lagged(_)) => {
                            let item = reset("fell behind the live stream; refetch");
                            return Some((Ok(to_sse(&item)), (live, health, last_sent)));
                        }
                        Err(RecvError::Closed) => return None,
                    },
                    changed = health.changed() => {
                        if changed.is_err() { continue; }
                        let error = health.borrow_and_update().clone();
                        let data = FeedData { ok: Some(error.is_none()), error, ..FeedData::default() };
                        let item = StreamEvent::new(None, "store", data);
                        return Some((Ok(to_sse(&item)), (live, health, last_sent)));
                    }
                }
            }
        },
    );
    Ok(
        Sse::new(futures_util::StreamExt::chain(output, live_stream)).keep_alive(
            KeepAlive::new()
                .interval(Duration::from_secs(15))
                .text("keep-alive"),
        ),
    )
}
