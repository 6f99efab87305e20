//! Projection: folds one fact into the inbox tables, whatever dialect told it.
//!
//! Every rule is idempotent and order-tolerant, so the same facts in any order, with any
//! duplicates, end in the same state: inserts ignore an existing row, "newest wins" compares
//! the vendor's own timestamps (ties broken by a stable key, never by arrival: only messages the
//! vendor gives the same time, and no finer one, keep the order they arrived in), and things that
//! can arrive before what they refer to (reactions, receipts, edits, failures) live in their
//! own tables and are joined when read. The rules themselves live with their concept.

use rusqlite::Connection;

use super::rules::Ctx;
use super::{calls, chats, contacts, messages, numbers, outbox, reactions, StoreError};
use crate::linq::{Envelope, Fact};

/// Applies `env`'s fact, from log row `seq`, to the projections.
pub fn apply(
    conn: &Connection,
    env: &Envelope,
    seq: i64,
    received_at: i64,
) -> Result<(), StoreError> {
    let ctx = Ctx {
        event_id: &env.event_id,
        at: env
            .created_at
            .as_ref()
            .map(|t| t.0.millis())
            .unwrap_or(received_at),
        seq,
    };
    apply_fact(conn, &ctx, &env.fact)
}

/// Applies one fact (each of a record's in turn). A report about a message the outbox sent,
/// by Linq's id, is folded into that reply's bubble.
fn apply_fact(conn: &Connection, ctx: &Ctx<'_>, fact: &Fact) -> Result<(), StoreError> {
    if let Some(redirected) = onto_bubble(conn, fact)? {
        return apply_one(conn, ctx, &redirected);
    }
    apply_one(conn, ctx, fact)
}

/// `fact` about the bubble its message id belongs to, when that is another row.
fn onto_bubble(conn: &Connection, fact: &Fact) -> Result<Option<Fact>, StoreError> {
    let id = match fact {
        Fact::Message(m) => &m.id,
        Fact::Read(r) => &r.message_id,
        Fact::Failed(f) => match &f.message_id {
            Some(id) => id,
            None => return Ok(None),
        },
        Fact::Edited(e) => &e.message_id,
        Fact::Reaction(r) => &r.message_id,
        _ => return Ok(None),
    };
    if let Fact::Message(m) = fact {
        outbox::project::link_by_key(conn, m)?;
    }
    let Some(bubble) = outbox::project::bubble_of(conn, id)? else {
        return Ok(None);
    };
    let mut fact = fact.clone();
    match &mut fact {
        Fact::Message(m) => m.id = bubble,
        Fact::Read(r) => r.message_id = bubble,
        Fact::Failed(f) => f.message_id = Some(bubble),
        Fact::Edited(e) => e.message_id = bubble,
        Fact::Reaction(r) => r.message_id = bubble,
        _ => {}
    }
    Ok(Some(fact))
}

fn apply_one(conn: &Connection, ctx: &Ctx<'_>, fact: &Fact) -> Result<(), StoreError> {
    match fact {
        Fact::Message(m) => messages::project::message(conn, ctx, m),
        Fact::Read(r) => messages::project::read(conn, r),
        Fact::Failed(f) => messages::project::failed(conn, ctx, f),
        Fact::Edited(e) => messages::project::edited(conn, ctx, e),
        Fact::Reaction(r) => reactions::project(conn, ctx, r),
        Fact::Call(c) => calls::project(conn, ctx, c),
        Fact::Contact(c) => contacts::project(conn, ctx, c),
        Fact::ContactDeleted { id } => contacts::project_deleted(conn, ctx, id),
        Fact::Membership(m) => chats::system::membership(conn, ctx, m),
        Fact::ChatCreated(c) => chats::project::created(conn, ctx, c),
        Fact::ChatChanged(c) => chats::system::changed(conn, ctx, c),
        Fact::NumberHealth(n) => numbers::project(conn, ctx, n),
        Fact::Record(facts) => facts.iter().try_for_each(|f| apply_fact(conn, ctx, f)),
        Fact::Outbox(f) => outbox::project::apply(conn, ctx, f),
        Fact::Typing(_) | Fact::Unknown => Ok(()),
    }
}
