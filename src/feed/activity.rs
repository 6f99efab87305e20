//! The activity timeline as a page of stored events, each one exactly the item the live stream
//! sent (or would send) for it. The UI words a timeline entry from these items only, with one
//! function for both, so the Activity screen reads the same after a reload as it did live and
//! never looks at a vendor payload.

use rusqlite::Connection;
use serde::Serialize;

use super::{build_event, FeedData, LiveState};
use crate::store::{log, projection, StoreError};

/// One timeline item: the `id:`, `event:` and `data:` of the stream event for a stored event.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ActivityItem {
    pub seq: i64,
    pub event: String,
    pub data: FeedData,
}

/// A page of the timeline, newest first.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ActivityPage {
    pub items: Vec<ActivityItem>,
    /// Older items exist: ask again with `before` = the last item's `seq`.
    pub has_more: bool,
    /// The last log row projected when the page was read (typing included): where a stream
    /// opened after this page resumes (`Last-Event-ID`) so that nothing falls between them.
    pub projected_seq: i64,
}

/// Up to `limit` items with `seq < before` (the newest when `before` is `None`), typing
/// indicators left out. Built with `live = false`: reading history never changes who is typing.
pub fn activity_page(
    conn: &Connection,
    shared: &LiveState,
    before: Option<i64>,
    limit: i64,
) -> Result<ActivityPage, StoreError> {
    // What is projected in this read's snapshot, and nothing newer on the page: a row the
    // projector folds in later reaches the client through the stream resumed from here.
    let projected_seq = projection::cursor(conn)?;
    let before = Some(before.map_or(projected_seq + 1, |b| b.min(projected_seq + 1)));
    let mut events = log::events_page_without_typing(conn, before, limit + 1)?;
    let has_more = events.len() as i64 > limit;
    events.truncate(limit.max(0) as usize);
    let items = events
        .iter()
        .map(|e| {
            let item = build_event(conn, shared, e, false)?;
            Ok(ActivityItem {
                seq: e.seq,
                event: item.event.clone(),
                data: item.data.clone(),
            })
        })
        .collect::<Result<_, StoreError>>()?;
    Ok(ActivityPage {
        items,
        has_more,
        projected_seq,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulate::{generate, generate_v3, Scenario};
    use crate::store::settings::UiSettings;
    use crate::store::tests::convergence::{ingest, memory_db};

    /// Paged back to the start, the timeline holds every stored event but typing, newest first,
    /// each item exactly the stream item a resuming client is sent for it, for the v2 and the v3
    /// telling of the demo story (every event type of both).
    #[test]
    fn the_page_carries_the_stream_item_of_every_event_but_typing() {
        let now = chrono::Utc::now();
        for (dialect, deliveries) in [
            ("v2", generate(Scenario::Demo, 300, 11, now)),
            ("v3", generate_v3(Scenario::Demo, 300, 11, now)),
        ] {
            let conn = memory_db();
            let shared = LiveState::new(UiSettings::default());
            for d in &deliveries {
                ingest(&conn, &d.body);
            }
            let mut paged = Vec::new();
            let mut before = None;
            loop {
                let page = activity_page(&conn, &shared, before, 37).expect("page");
                assert!(
                    page.items.len() <= 37,
                    "{dialect}: a page holds at most its limit"
                );
                before = page.items.last().map(|i| i.seq);
                paged.extend(page.items);
                if !page.has_more {
                    break;
                }
            }
            let mut stored = log::events_after(&conn, 0, 10_000).expect("events");
            stored.retain(|e| !e.event_type.contains("typing_indicator"));
            stored.reverse();
            let types: std::collections::HashSet<&str> =
                stored.iter().map(|e| e.event_type.as_str()).collect();
            assert!(
                types.len() >= 10,
                "{dialect}: the story covers the event types ({types:?})"
            );
            assert_eq!(
                paged.iter().map(|i| i.seq).collect::<Vec<_>>(),
                stored.iter().map(|e| e.seq).collect::<Vec<_>>(),
                "{dialect}: the pages are the log newest first, typing left out, none twice"
            );
            for (item, e) in paged.iter().zip(&stored) {
                let streamed = build_event(&conn, &shared, e, false).expect("built");
                assert_eq!(
                    item.event, streamed.event,
                    "{dialect}: the item is named as the stream names it"
                );
                assert_eq!(
                    serde_json::to_string(&item.data).expect("json"),
                    streamed.json,
                    "{dialect}: {} ({}) is the stream's item, byte for byte",
                    e.event_id,
                    e.event_type
                );
            }
        }
    }
}
