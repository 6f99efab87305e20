//! One catch-up pass: every chat of the account, and in each its messages back to what the
//! store already holds, logged as fetched records through the writer and projected like any
//! delivery.
//!
//! Linq's API gives no "changed since" filter and states no order (v3), so a chat's walk stops
//! early only where the listing proves nothing older can be new: once the walk has seen the
//! records newest first all along and gone past the chat's watermark minus the look-back. Any
//! other order is walked to its end. v2 filters by time itself (`after`, `sort=desc`). The
//! reasoning, and why a killed pass resumes whole: docs/ARCHITECTURE.md, "Catching up".

use std::collections::HashSet;
use std::time::Duration;

use serde_json::Value;

use super::SyncError;
use crate::ingest::Ingest;
use crate::linq::fetched::{message_envelope, FetchedRecord, MESSAGE_TYPE};
use crate::linq::SignatureForm;
use crate::linq_api::error::LinqApiError;
use crate::linq_api::listing::{ListedChat, Listing, MessageQuery};
use crate::linq_api::rest::Rest;
use crate::store::sync::{self, ChatMark, PageWrite, PassRow, RecordWrite};
use crate::store::{now_millis, NewEvent, Store, StoreError};

/// How far behind a chat's watermark a walk keeps reading: messages Linq recovers late
/// (`reconciled_at`) carry their original, earlier `sent_at`, and a listing that shifts while it
/// is read can hide a record for one page.
pub const LOOK_BACK: Duration = Duration::from_secs(7 * 24 * 3600);

/// What a pass needs besides the API: where to write and read, and what started it.
pub struct PassSettings<'a> {
    pub ingest: &'a Ingest,
    pub store: &'a Store,
    pub trigger: &'a str,
    /// Told the pass's state after every chat.
    pub progress: &'a (dyn Fn(&PassRow) + Send + Sync),
}

/// Runs one pass (or resumes the one a kill interrupted) to its end. The pass's row says how
/// it ended: `done`, or `failed` with the sentence also returned as the error.
pub async fn run_pass(rest: &Rest, s: &PassSettings<'_>) -> Result<PassRow, SyncError> {
    let trigger = s.trigger.to_string();
    let pass = write(s.ingest, move |c| {
        sync::begin_pass(c, &trigger, now_millis())
    })
    .await?;
    (s.progress)(&pass);
    let outcome = walk_account(rest, s, pass.id).await;
    let error = outcome.as_ref().err().map(ToString::to_string);
    let id = pass.id;
    let ended = write(s.ingest, move |c| {
        sync::finish_pass(c, id, error.as_deref(), now_millis())
    })
    .await?;
    (s.progress)(&ended);
    outcome.map(|()| ended)
}

async fn walk_account(rest: &Rest, s: &PassSettings<'_>, pass: i64) -> Result<(), SyncError> {
    let listing = Listing::new(rest);
    let chats = listing.all_chats().await?;
    let total = chats.len() as i64;
    let row = write(s.ingest, move |c| {
        sync::set_total(c, pass, total)?;
        sync::pass_row(c, pass)
    })
    .await?;
    if let Some(row) = row {
        (s.progress)(&row);
    }
    let marks = read(s.store, move |c| sync::chat_marks(c, pass)).await?;
    let mut walk = Walk {
        listing,
        s,
        pass,
        seen: HashSet::new(),
    };
    for chat in &chats {
        let mark = marks.get(&chat.id).copied().unwrap_or_default();
        if !mark.done {
            walk.chat(chat, mark).await?;
        }
    }
    Ok(())
}

/// One pass's walk over the chats.
struct Walk<'a> {
    listing: Listing<'a>,
    s: &'a PassSettings<'a>,
    pass: i64,
    /// Messages this pass has listed already: only the first listing of one may count it new
    /// (a listing that shifts while it is paged shows a record twice).
    seen: HashSet<String>,
}

impl Walk<'_> {
    /// Walks one chat's messages page by page, logging each page with its counts; the last page
    /// also moves the chat's watermark and marks it done for this pass.
    async fn chat(&mut self, chat: &ListedChat, mark: ChatMark) -> Result<(), SyncError> {
        let version = self.listing.version().as_str();
        let floor = mark.watermark.map(|w| w - LOOK_BACK.as_millis() as i64);
        let mut query = MessageQuery {
            after: floor.map(crate::linq::time::format_millis),
            next: None,
        };
        let mut order = Order::default();
        let mut newest = mark.watermark;
        loop {
            // Count as new only what no delivery acknowledged before this page brought in.
            self.s.ingest.projected_to_now(Duration::from_secs(5)).await;
            let page = match self.listing.messages(&chat.id, &query).await {
                Ok(page) => page,
                // Gone since the chat list was read (deleted, or expired on the ephemeral tier).
                Err(LinqApiError::Unexpected { status: 404, .. }) => Default::default(),
                Err(e) => return Err(e.into()),
            };
            let mut records = Vec::with_capacity(page.records.len());
            for record in &page.records {
                let time = record_time(record);
                order.see(time);
                newest = newest.max(time);
                if let Some(r) =
                    message_envelope(version, &chat.record, chat.line.as_deref(), record)
                {
                    records.push(self.record(r, version));
                }
            }
            let past_floor = matches!((floor, order.oldest), (Some(f), Some(o)) if o < f);
            let last = page.next.is_none() || (order.newest_first && past_floor);
            self.log_page(chat, records, last.then_some(newest)).await?;
            if last {
                return Ok(());
            }
            query.next = page.next;
        }
    }

    fn record(&mut self, r: FetchedRecord, version: &str) -> RecordWrite {
        let created = r.time.as_deref().and_then(crate::linq::time::parse);
        RecordWrite {
            event: NewEvent {
                event_id: r.event_id,
                event_type: MESSAGE_TYPE.into(),
                api_version: Some(version.into()),
                created_at: created.as_ref().map(|t| t.millis()),
                created_at_original: r.time,
                received_at: now_millis(),
                signature: SignatureForm::Fetched,
                payload: r.body,
                webhook_id: None,
            },
            candidate: self.seen.insert(r.message_id.clone()),
            message_id: r.message_id,
            inbound_unread: r.inbound_unread,
        }
    }

    async fn log_page(
        &self,
        chat: &ListedChat,
        records: Vec<RecordWrite>,
        finish: Option<Option<i64>>,
    ) -> Result<(), SyncError> {
        let page = PageWrite {
            pass: self.pass,
            chat_id: chat.id.clone(),
            line: chat.line.clone(),
            records,
            finish,
        };
        let pass = self.pass;
        let row = write(self.s.ingest, move |c| {
            sync::append_page(c, &page)?;
            sync::pass_row(c, pass)
        })
        .await?;
        if let (Some(row), Some(_)) = (row, finish) {
            (self.s.progress)(&row);
        }
        Ok(())
    }
}

/// The order a chat's listing has shown so far.
#[derive(Debug, Clone, Copy)]
struct Order {
    /// Every record so far was no newer than the one before it.
    newest_first: bool,
    /// The time of the last record seen.
    oldest: Option<i64>,
}

impl Default for Order {
    fn default() -> Order {
        Order {
            newest_first: true,
            oldest: None,
        }
    }
}

impl Order {
    fn see(&mut self, time: Option<i64>) {
        match (self.oldest, time) {
            (Some(before), Some(t)) if t > before => self.newest_first = false,
            // A record without a time proves nothing about the order.
            (_, None) => self.newest_first = false,
            _ => {}
        }
        if time.is_some() {
            self.oldest = time;
        }
    }
}

/// A message record's time: when it was sent, else when Linq created the record.
fn record_time(record: &Value) -> Option<i64> {
    ["sent_at", "created_at"]
        .iter()
        .filter_map(|k| record.get(*k).and_then(Value::as_str))
        .find_map(crate::linq::time::parse)
        .map(|t| t.millis())
}

/// Runs `task` on the writer, in its transaction, and returns its typed result.
async fn write<T, F>(ingest: &Ingest, task: F) -> Result<T, SyncError>
where
    T: serde::Serialize + serde::de::DeserializeOwned + Send + 'static,
    F: FnOnce(&rusqlite::Connection) -> Result<T, StoreError> + Send + 'static,
{
    let value = ingest
        .run(move |c| {
            let out = task(c)?;
            serde_json::to_value(out).map_err(|e| StoreError::Invalid(e.to_string()))
        })
        .await?;
    serde_json::from_value(value).map_err(|e| SyncError::Store(StoreError::Invalid(e.to_string())))
}

/// Runs a read on a connection of its own, off the async threads.
async fn read<T, F>(store: &Store, f: F) -> Result<T, SyncError>
where
    T: Send + 'static,
    F: FnOnce(&rusqlite::Connection) -> Result<T, StoreError> + Send + 'static,
{
    let store = store.clone();
    tokio::task::spawn_blocking(move || f(&store.reader()?))
        .await
        .map_err(|e| SyncError::Store(StoreError::Invalid(format!("the read stopped: {e}"))))?
        .map_err(SyncError::Store)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listing_proves_its_order_only_while_it_keeps_it() {
        let mut order = Order::default();
        for t in [30, 20, 20, 10] {
            order.see(Some(t));
        }
        assert!(order.newest_first, "non-increasing times are newest first");
        assert_eq!(order.oldest, Some(10), "the last record seen");
        order.see(Some(15));
        assert!(
            !order.newest_first,
            "one newer record breaks the proof for good"
        );
        order.see(Some(1));
        assert!(!order.newest_first, "and it stays broken");
        let mut untimed = Order::default();
        untimed.see(None);
        assert!(
            !untimed.newest_first,
            "a record without a time proves nothing"
        );
    }
}
