//! Builds the stream view of one stored event, and runs the thread that does it for every
//! commit.

use std::time::Instant;

use rusqlite::config::DbConfig;
use rusqlite::Connection;
use tokio::sync::watch;

use super::{FeedData, LiveState, StreamEvent, TypingState};
use crate::linq::time::format_millis;
use crate::linq::{parse_envelope, Fact, Typing};
use crate::store::chats::system::{change_line, membership_key, membership_line};
use crate::store::names::Names;
use crate::store::views::Typist;
use crate::store::{calls, chat_list, contacts, log, messages, now_millis, reactions};
use crate::store::{Store, StoreError, StoredEvent};

/// Events read from the log per step of the builder.
const CHUNK: i64 = 512;

/// Follows the projected sequence number and publishes every newly projected event, in order.
pub fn spawn_builder(
    store: &Store,
    shared: LiveState,
    mut projected: watch::Receiver<i64>,
    runtime: tokio::runtime::Handle,
) -> Result<(), StoreError> {
    let conn = store.reader()?;
    // The feed's plans must not depend on bound values: otherwise SQLite marks its statements
    // expired at every bind and re-prepares them at every step (14% of the feed's CPU). Only
    // here: the UI's reads (search, the chat list) do better with plans that see the values.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    // An inbox being derived again from an existing log (an upgrade, new projection rules)
    // announces none of that history: the feed starts after it.
    let mut last = (*projected.borrow()).max(crate::store::projection::history_through(&conn)?);
    std::thread::Builder::new()
        .name("linq-feed".into())
        .spawn(move || loop {
            let target = *projected.borrow_and_update();
            while last < target {
                match publish_through(&conn, &shared, &mut last, target) {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(err) => {
                        tracing::warn!(error = %err, "feed could not read the log; retrying");
                        std::thread::sleep(std::time::Duration::from_millis(200));
                    }
                }
            }
            if runtime.block_on(projected.changed()).is_err() {
                return;
            }
        })
        .map_err(|e| StoreError::Invalid(format!("could not start the feed thread: {e}")))?;
    Ok(())
}

/// Publishes the next log rows after `last`, up to `through` (the projected sequence: a row
/// past it is in the log but not yet in the inbox, and its views would be missing), moving
/// `last` along. Returns how many rows it read.
fn publish_through(
    conn: &Connection,
    shared: &LiveState,
    last: &mut i64,
    through: i64,
) -> Result<usize, StoreError> {
    let events = log::events_between(conn, *last, through, CHUNK)?;
    for e in &events {
        *last = e.seq;
        // Nobody listening (headless `serve`, no window or stream open): keep the live typing
        // state, skip building views nobody reads.
        if shared.events.receiver_count() == 0 {
            if let Err(err) = follow_unwatched(conn, shared, e) {
                tracing::warn!(seq = e.seq, error = %err, "typing state not updated");
            }
            continue;
        }
        match build_event(conn, shared, e, true) {
            Ok(item) => shared.publish(item),
            Err(err) => tracing::warn!(seq = e.seq, error = %err, "feed item not built"),
        }
    }
    Ok(events.len())
}

/// What a live event changes besides views: typing starts and stops (a message from someone
/// also ends their typing). Cheap, so it runs for every event even when nobody listens.
fn follow_unwatched(
    conn: &Connection,
    shared: &LiveState,
    e: &StoredEvent,
) -> Result<(), StoreError> {
    let envelope = parse_envelope(&e.payload).ok();
    match envelope.map(|env| env.fact) {
        Some(Fact::Message(m)) => {
            if let Some(from) = &m.from {
                shared.typing.stop(&m.chat_id, Some(from));
            }
        }
        Some(Fact::Typing(t)) => update_typing(&mut Names::new(conn), shared, &t, e.created_at)?,
        _ => {}
    }
    Ok(())
}

/// The stream item for a stored event. `live` is true the first time an event goes out, when it
/// may change the typing state; replays for a resuming client leave that state alone.
pub fn build_event(
    conn: &Connection,
    shared: &LiveState,
    e: &StoredEvent,
    live: bool,
) -> Result<StreamEvent, StoreError> {
    let mut data = FeedData {
        seq: Some(e.seq),
        event_id: Some(e.event_id.clone()),
        event_type: Some(e.event_type.clone()),
        created_at: e.created_at.map(format_millis),
        received_at: Some(format_millis(e.received_at)),
        ..FeedData::default()
    };
    let envelope = parse_envelope(&e.payload).ok();
    if let Some(env) = envelope {
        fill(conn, shared, &env.fact, e, live, &mut data)?;
    }
    if let Some(chat) = data.chat.as_mut() {
        shared.decorate(chat);
    }
    Ok(StreamEvent::new(Some(e.seq), e.event_type.clone(), data))
}

fn fill(
    conn: &Connection,
    shared: &LiveState,
    fact: &Fact,
    e: &StoredEvent,
    live: bool,
    data: &mut FeedData,
) -> Result<(), StoreError> {
    let mut names = Names::new(conn);
    match fact {
        // A fetched record shows as its message (the first of its facts).
        Fact::Record(facts) => {
            if let Some(first) = facts.first() {
                fill(conn, shared, first, e, live, data)?;
            }
        }
        Fact::Message(m) => {
            if live {
                if let Some(from) = &m.from {
                    // The chat summary below carries the new typing state.
                    shared.typing.stop(&m.chat_id, Some(from));
                }
            }
            data.message = messages::message(conn, &mut names, &m.id)?;
            set_chat(conn, data, &m.chat_id)?;
        }
        Fact::Read(r) => {
            data.message = messages::message(conn, &mut names, &r.message_id)?;
            message_chat(conn, data, r.chat_id.as_deref())?;
        }
        Fact::Reaction(r) => {
            data.reaction = reactions::reaction_event(conn, &r.key())?;
            data.message = messages::message(conn, &mut names, &r.message_id)?;
            let named = data.reaction.as_ref().and_then(|x| x.chat_id.clone());
            match r.change {
                // An addition belongs to the chat its reaction names.
                crate::linq::ReactionChange::Added => {
                    if let Some(chat_id) = named {
                        set_chat(conn, data, &chat_id)?;
                    }
                }
                crate::linq::ReactionChange::Removed => {
                    message_chat(conn, data, r.chat_id.as_deref())?
                }
            }
        }
        Fact::Typing(t) => {
            if live {
                update_typing(&mut names, shared, t, e.created_at)?;
            }
            data.chat_id = Some(t.chat_id.clone());
            data.typing = Some(TypingState {
                chat_id: t.chat_id.clone(),
                typing: shared.typing.typing_in(&t.chat_id),
            });
        }
        Fact::Call(report) => {
            data.call = calls::call(conn, &report.call.id)?;
            data.chat_id = data.call.as_ref().and_then(|c| c.chat_id.clone());
        }
        Fact::Contact(c) => {
            data.contact = contacts::contact(conn, &c.id)?;
        }
        Fact::ContactDeleted { id } => {
            if contacts::contact(conn, id)?.is_none() {
                data.contact_deleted_id = Some(id.clone());
            }
        }
        Fact::Membership(m) => {
            for i in 0..m.handles.len() {
                if let Some(item) = membership_line(conn, &membership_key(&e.event_id, i))? {
                    data.memberships.push(item);
                }
            }
            data.membership = data.memberships.first().cloned();
            if let Some(chat_id) = &m.chat_id {
                set_chat(conn, data, chat_id)?;
            }
        }
        Fact::ChatCreated(c) => {
            if let Some(chat_id) = &c.chat_id {
                set_chat(conn, data, chat_id)?;
            }
        }
        Fact::Failed(f) => {
            if let Some(id) = &f.message_id {
                data.message = messages::message(conn, &mut names, id)?;
            }
            message_chat(conn, data, f.chat_id.as_deref())?;
        }
        Fact::Edited(edit) => {
            data.message = messages::message(conn, &mut names, &edit.message_id)?;
            message_chat(conn, data, edit.chat_id.as_deref())?;
        }
        Fact::ChatChanged(c) => {
            data.chat_event = change_line(conn, &e.event_id)?;
            if let Some(chat_id) = &c.chat_id {
                set_chat(conn, data, chat_id)?;
            }
        }
        Fact::Outbox(f) => {
            data.message = outbox_bubble(conn, &mut names, &f.client_id)?;
            if data.message.is_none() {
                // A reaction through the outbox: the message it is on, with it.
                if let Some(id) = crate::store::outbox::reactions::message_of(conn, &f.client_id)? {
                    data.message = messages::message(conn, &mut names, &id)?;
                }
            }
            match &f.change {
                crate::linq::OutboxChange::Queued { chat_id, .. }
                | crate::linq::OutboxChange::ReadRefused { chat_id, .. }
                | crate::linq::OutboxChange::ReadTaken { chat_id } => {
                    set_chat(conn, data, chat_id)?
                }
                _ => message_chat(conn, data, None)?,
            }
        }
        // The status screen shows number health; it refetches on every stored event.
        Fact::NumberHealth(_) | Fact::Unknown => {}
    }
    Ok(())
}

/// The outbox reply `client_id` as the thread shows it (none once deleted).
fn outbox_bubble(
    conn: &Connection,
    names: &mut Names<'_>,
    client_id: &str,
) -> Result<Option<crate::store::views::Message>, StoreError> {
    match crate::store::outbox::project::bubble_by_client(conn, client_id)? {
        Some(id) => messages::message(conn, names, &id),
        None => Ok(None),
    }
}

/// The chat of the message in `data`, else the one the event named.
fn message_chat(
    conn: &Connection,
    data: &mut FeedData,
    named: Option<&str>,
) -> Result<(), StoreError> {
    let chat_id = data
        .message
        .as_ref()
        .map(|m| m.chat_id.clone())
        .or(named.map(str::to_string));
    match chat_id {
        Some(chat_id) => set_chat(conn, data, &chat_id),
        None => Ok(()),
    }
}

/// The event's chat summary. The event's own message, built just before, is usually the chat's
/// last message: it is reused rather than built twice (a third of the feed's work per message).
fn set_chat(conn: &Connection, data: &mut FeedData, chat_id: &str) -> Result<(), StoreError> {
    data.chat_id = Some(chat_id.to_string());
    data.chat = chat_list::chat_knowing(conn, chat_id, data.message.as_ref())?;
    Ok(())
}

/// Applies a typing indicator to the live state. Old indicators (a replay, an import, a
/// redelivery after downtime) are ignored: nobody is typing from the past.
fn update_typing(
    names: &mut Names<'_>,
    shared: &LiveState,
    t: &Typing,
    created_at: Option<i64>,
) -> Result<(), StoreError> {
    let who = typist(names, t)?;
    if !t.started {
        shared.typing.stop(&t.chat_id, who.identifier.as_deref());
        return Ok(());
    }
    let age_ms = now_millis() - created_at.unwrap_or_else(now_millis);
    if age_ms > super::typing::TYPING_TTL.as_millis() as i64 {
        return Ok(());
    }
    // The dots last 30 s from when the indicator was sent, so one delayed in a tunnel or a retry
    // queue clears on time rather than 30 s after it finally arrived.
    let age = std::time::Duration::from_millis(age_ms.max(0) as u64);
    let seen = Instant::now().checked_sub(age).unwrap_or_else(Instant::now);
    shared.typing.start(&t.chat_id, who, seen);
    Ok(())
}

/// Who a typing indicator is about: its handle if it names one, else the one other person of a
/// one-to-one chat, else "someone".
fn typist(names: &mut Names<'_>, t: &Typing) -> Result<Typist, StoreError> {
    let identifier = t.who.clone().or_else(|| {
        let others: Vec<_> = t.handles.iter().filter(|h| !h.is_me).collect();
        match others.as_slice() {
            [one] => Some(one.identifier.clone()),
            _ => None,
        }
    });
    Ok(match identifier {
        Some(id) => Typist {
            name: names.resolve(Some(&t.chat_id), &id)?,
            identifier: Some(id),
        },
        None => Typist {
            identifier: None,
            name: "Someone".into(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulate::{generate, Scenario};
    use crate::store::settings::UiSettings;
    use crate::store::tests::convergence::{ingest, memory_db};

    /// Regression (found by the desktop e2e's burst check): the feed read every committed log
    /// row after its place, including rows the projector had not reached, and published them
    /// without their message; it moved past them, so their notifications never came.
    #[test]
    fn the_feed_publishes_only_what_is_projected_and_comes_back_for_the_rest() {
        let conn = memory_db();
        let shared = LiveState::new(UiSettings::default());
        let mut live = shared.events.subscribe();
        let bodies: Vec<String> = generate(Scenario::Burst, 3, 3, chrono::Utc::now())
            .into_iter()
            .map(|d| d.body)
            .collect();
        for body in &bodies[..2] {
            ingest(&conn, body);
        }
        // The third is in the log, not yet projected.
        let env = parse_envelope(&bodies[2]).expect("an envelope");
        let row = crate::store::NewEvent::from_envelope(
            env,
            bodies[2].clone(),
            crate::linq::SignatureForm::Unsigned,
            0,
        );
        let third = log::append(&conn, &row).expect("append").expect("new");
        let projected = third - 1;
        let mut last = 0;
        let read = publish_through(&conn, &shared, &mut last, projected).expect("published");
        assert_eq!(
            (read, last),
            (2, projected),
            "the feed stops at the projected sequence"
        );
        let mut seen = Vec::new();
        while let Ok(item) = live.try_recv() {
            seen.push(item.seq);
        }
        assert_eq!(
            seen,
            [Some(projected - 1), Some(projected)],
            "only projected rows are published"
        );
        crate::store::tests::convergence::project_pending(&conn);
        publish_through(&conn, &shared, &mut last, third).expect("published");
        let item = live
            .try_recv()
            .expect("the third is published once projected");
        assert!(
            item.seq == Some(third) && item.data.message.is_some(),
            "published once projected, with its message"
        );
    }

    /// Built as the live feed builds it, right after each delivery is stored, the event's chat
    /// reads exactly as the chat does, whether its last message was reused or read.
    #[test]
    fn a_live_event_carries_the_same_chat_summary_as_reading_the_chat() {
        let conn = memory_db();
        let shared = LiveState::new(UiSettings::default());
        let (mut last_seq, mut reused, mut compared) = (0, 0, 0);
        for d in generate(Scenario::Demo, 300, 7, chrono::Utc::now()) {
            ingest(&conn, &d.body);
            for e in log::events_after(&conn, last_seq, 100).expect("events") {
                last_seq = e.seq;
                let item = build_event(&conn, &shared, &e, false).expect("built");
                let Some(chat) = item.data.chat.as_ref() else {
                    continue;
                };
                let mut alone = chat_list::chat(&conn, &chat.chat_id)
                    .expect("chat")
                    .expect("the chat exists");
                shared.decorate(&mut alone);
                assert_eq!(
                    serde_json::to_value(chat).expect("json"),
                    serde_json::to_value(&alone).expect("json"),
                    "{} ({}) carries its chat as the chat reads",
                    e.event_id,
                    e.event_type
                );
                compared += 1;
                let own = item.data.message.as_ref().map(|m| m.id.as_str());
                let last = chat.last_message.as_ref().map(|m| m.id.as_str());
                reused += usize::from(own.is_some() && own == last);
            }
        }
        assert!(
            reused * 2 > compared,
            "most events' own message is their chat's last ({reused} of {compared})"
        );
    }
}
