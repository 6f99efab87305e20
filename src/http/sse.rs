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
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::sync::watch;

use super::error::ApiError;
use super::state::ApiState;
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
    let live = s.live.events.subscribe();
    let health = s.ingest.health_changes();
    let resume = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or(q.last_event_id)
        .and_then(|v| v.trim().parse::<i64>().ok());
    // The stream carries what is projected: a log row the projector has not folded in yet
    // reaches this client live, from the feed, once it has.
    let projected = *s.ingest.projected().borrow();
    let log_seq = *s.ingest.committed().borrow();
    let (backlog, last_sent) = match resume {
        None => (Vec::new(), projected),
        Some(after) => {
            let state = s.live.clone();
            s.read(move |conn| {
                let events = log::events_between(conn, after, projected, MAX_REPLAY + 1)?;
                if events.len() as i64 > MAX_REPLAY {
                    return Ok((vec![reset("too far behind to replay; refetch")], projected));
                }
                let mut items = Vec::with_capacity(events.len());
                let mut last = resume_after(after, projected, log_seq);
                for e in &events {
                    items.push(build_event(conn, &state, e, false)?);
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
    let live_stream = follow(live, Some(health), last_sent);
    Ok(
        Sse::new(futures_util::StreamExt::chain(output, live_stream)).keep_alive(
            KeepAlive::new()
                .interval(Duration::from_secs(15))
                .text("keep-alive"),
        ),
    )
}

/// The sequence number a stream resuming after `after` continues from, before its backlog. A
/// client may have seen rows the projector has not folded in again yet (it restarted behind
/// them): those come live, past `after`, never twice. Only an id the log never gave (another
/// data folder's) continues from what is projected.
fn resume_after(after: i64, projected: i64, log_seq: i64) -> i64 {
    if after <= log_seq {
        after
    } else {
        projected
    }
}

/// The live part of a stream: broadcast items newer than `last_sent`, `reset` when this client
/// fell behind the broadcast, and `store` whenever the store's health changes. Ends when the
/// broadcast closes. Once the health sender is gone (the writer stopped) health is no longer
/// watched: its `changed()` would answer at once forever and the loop would spin on it.
fn follow(
    live: broadcast::Receiver<Arc<StreamEvent>>,
    health: Option<watch::Receiver<Option<String>>>,
    last_sent: i64,
) -> impl Stream<Item = Result<Event, Infallible>> {
    futures_util::stream::unfold(
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
                    changed = async {
                        match health.as_mut() {
                            Some(h) => h.changed().await.is_ok(),
                            None => std::future::pending().await,
                        }
                    } => {
                        let Some(receiver) = health.as_mut().filter(|_| changed) else {
                            health = None;
                            continue;
                        };
                        let error = receiver.borrow_and_update().clone();
                        let data = FeedData { ok: Some(error.is_none()), error, ..FeedData::default() };
                        let item = StreamEvent::new(None, "store", data);
                        return Some((Ok(to_sse(&item)), (live, health, last_sent)));
                    }
                }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use futures_util::StreamExt;

    use super::*;

    /// Regression: when the store's health sender was dropped, `changed()` answered an error at
    /// once on every poll, and the stream's loop spun on it at 100% CPU without ever yielding.
    #[test]
    fn a_dropped_health_sender_is_waited_on_not_spun_on() {
        let (events, live) = broadcast::channel::<Arc<StreamEvent>>(8);
        let (health_tx, health) = watch::channel::<Option<String>>(None);
        drop(health_tx);
        let (done, finished) = std::sync::mpsc::channel();
        // On a thread of its own: a spinning stream never yields, so no timeout in the same
        // runtime could end it.
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            let outcome = runtime.block_on(async move {
                let mut stream = Box::pin(follow(live, Some(health), 0));
                let idle = tokio::time::timeout(Duration::from_millis(200), stream.next())
                    .await
                    .is_err();
                let item = StreamEvent::new(Some(1), "message.received", FeedData::default());
                let _ = events.send(Arc::new(item));
                let next = tokio::time::timeout(Duration::from_secs(5), stream.next()).await;
                (idle, matches!(next, Ok(Some(Ok(_)))))
            });
            let _ = done.send(outcome);
        });
        let (idle, delivered) = finished.recv_timeout(Duration::from_secs(10)).expect(
            "the stream yields to the runtime instead of spinning on a closed health channel",
        );
        assert!(
            idle,
            "with nothing to send the stream waits (no store event is made up for a closed channel)"
        );
        assert!(
            delivered,
            "live items still flow after the health sender is gone"
        );
    }

    #[test]
    fn a_resume_past_the_projection_is_not_sent_again() {
        assert_eq!(
            resume_after(2, 1, 4),
            2,
            "seen up to 2, projected to 1 after a restart: 2 must not come live again"
        );
        assert_eq!(
            resume_after(2, 4, 4),
            2,
            "projected past the client: the backlog replays 3 and 4"
        );
        assert_eq!(
            resume_after(9, 4, 4),
            4,
            "an id this log never gave follows from what is projected"
        );
    }
}
