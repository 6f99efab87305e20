//! The full-text index's write side: the one rowid scheme every indexed thing shares, adding
//! and removing entries, and merging the index's segments a little at a time.
//!
//! Rowids: the owner's own rowid times four, plus a kind tag ([`Kind`]), so a message, a call
//! and a contact never collide and a rowid says which table (messages in `search`, calls and
//! contacts in their own small `search_other`, migration 0004) holds it.
//!
//! Within an import or rebuild batch, and a catch-up batch of the live projector, entries are
//! staged, not written: [`index`] and [`unindex`] hold them in memory while the batch's
//! [`Stage`] holds, and [`Stage::flush`] writes them one after another at its end. FTS5 writes
//! its pending entries out as a new segment whenever a statement in the transaction opens a
//! statement journal (most of a projection's upserts do), so entries written between those
//! statements made each row its own segment: merging those segments was a third of `import`'s
//! and `rebuild`'s work, and a catch-up batch cost 1.7 times the CPU a row. The stage is in
//! memory, not a temporary table, because a table's per-batch statements cost the live
//! projector's few-row batches more than they saved; those few rows still write as they fold.
//!
//! Every commit that indexed something leaves a new FTS5 segment. FTS5's own automatic merge
//! pays for them in bursts: every 64 leaf pages written, one commit merged 64 pages per index
//! level, tens of milliseconds that the deliveries riding in that commit waited for. Migration
//! 0003 turns it off; writers call [`merge`] in each transaction instead, so the same work is
//! spread evenly, and [`tidy`] after a bulk load. The calls' and contacts' small index
//! (migration 0004) keeps FTS5's automerge: its bursts are tiny.

use std::cell::RefCell;
use std::collections::BTreeMap;

use rusqlite::{params, Connection};

use super::StoreError;

/// The full-text table of messages.
pub(crate) const MESSAGE_INDEX: &str = "search";
/// The small full-text table of calls and contacts, so searching them never walks the
/// messages' index.
pub(crate) const OTHER_INDEX: &str = "search_other";

/// What an index entry belongs to; its tag is the rowid's remainder by four.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Message,
    Call,
    Contact,
}

impl Kind {
    fn tag(self) -> i64 {
        match self {
            Kind::Message => 0,
            Kind::Call => 1,
            Kind::Contact => 2,
        }
    }

    /// The name search hits carry.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Kind::Message => "message",
            Kind::Call => "call",
            Kind::Contact => "contact",
        }
    }
}

/// The index rowid of the `kind` row whose own rowid is `owner_rowid`.
pub(crate) fn rowid(kind: Kind, owner_rowid: i64) -> i64 {
    owner_rowid * 4 + kind.tag()
}

/// The full-text table an index rowid lives in.
fn table(rowid: i64) -> &'static str {
    if rowid.rem_euclid(4) == Kind::Message.tag() {
        MESSAGE_INDEX
    } else {
        OTHER_INDEX
    }
}

/// One entry to index: what it is, whose it is, where and when.
pub(crate) struct Entry<'a> {
    pub kind: Kind,
    pub owner_rowid: i64,
    pub body: &'a str,
    pub ref_id: &'a str,
    pub chat_id: Option<&'a str>,
    pub at: i64,
}

thread_local! {
    /// The entries this thread's open [`Stage`] holds, in the order they were staged; `None`
    /// when no batch is open, and [`index`] and [`unindex`] then write at once.
    static STAGED: RefCell<Option<Vec<Staged>>> = const { RefCell::new(None) };
}

/// One staged change: the entry's new state, or its removal.
struct Staged {
    rowid: i64,
    entry: Option<Owned>,
}

struct Owned {
    owner_rowid: i64,
    body: String,
    kind: Kind,
    ref_id: String,
    chat_id: Option<String>,
    at: i64,
}

impl Owned {
    fn of(e: &Entry<'_>) -> Owned {
        Owned {
            owner_rowid: e.owner_rowid,
            body: e.body.to_owned(),
            kind: e.kind,
            ref_id: e.ref_id.to_owned(),
            chat_id: e.chat_id.map(str::to_owned),
            at: e.at,
        }
    }

    fn entry(&self) -> Entry<'_> {
        Entry {
            kind: self.kind,
            owner_rowid: self.owner_rowid,
            body: &self.body,
            ref_id: &self.ref_id,
            chat_id: self.chat_id.as_deref(),
            at: self.at,
        }
    }
}

/// A projection batch's stage. One that holds keeps this thread's [`index`] and [`unindex`]
/// calls in memory and [`Stage::flush`] writes them together at the batch's end; one that does
/// not lets them write at once, and its marks and flush do nothing. Dropping it unflushed (an
/// error ended the batch) discards what it held with the transaction.
pub(crate) struct Stage(());

impl Stage {
    pub(crate) fn open(hold: bool) -> Stage {
        STAGED.with(|s| *s.borrow_mut() = hold.then(Vec::new));
        Stage(())
    }

    /// How much is staged: what [`Stage::rollback_to`] goes back to, like a savepoint.
    pub(crate) fn mark(&self) -> usize {
        STAGED.with(|s| s.borrow().as_ref().map_or(0, Vec::len))
    }

    /// Forgets what was staged after `mark` (its rows were rolled back).
    pub(crate) fn rollback_to(&self, mark: usize) {
        STAGED.with(|s| {
            if let Some(staged) = s.borrow_mut().as_mut() {
                staged.truncate(mark);
            }
        });
    }

    /// Writes each staged rowid's last state, in rowid order, and closes the stage.
    pub(crate) fn flush(self, conn: &Connection) -> Result<(), StoreError> {
        let staged = STAGED.with(|s| s.borrow_mut().take()).unwrap_or_default();
        let last: BTreeMap<i64, Option<Owned>> =
            staged.into_iter().map(|c| (c.rowid, c.entry)).collect();
        for (rowid, entry) in last {
            match entry {
                Some(e) => write(conn, rowid, &e.entry())?,
                None => remove(conn, rowid)?,
            }
        }
        Ok(())
    }
}

impl Drop for Stage {
    fn drop(&mut self) {
        STAGED.with(|s| *s.borrow_mut() = None);
    }
}

/// Stages `change` when a holding [`Stage`] is open (true); otherwise it is the caller's to
/// write at once, and nothing is copied.
fn hold(change: impl FnOnce() -> Staged) -> bool {
    STAGED.with(|s| match s.borrow_mut().as_mut() {
        Some(staged) => {
            staged.push(change());
            true
        }
        None => false,
    })
}

/// Indexes (or re-indexes) an entry; a blank body indexes nothing.
pub(crate) fn index(conn: &Connection, e: &Entry<'_>) -> Result<(), StoreError> {
    if e.body.trim().is_empty() {
        return Ok(());
    }
    let rowid = rowid(e.kind, e.owner_rowid);
    if hold(|| Staged {
        rowid,
        entry: Some(Owned::of(e)),
    }) {
        return Ok(());
    }
    write(conn, rowid, e)
}

/// Removes an owner's entry (before re-indexing it, or for good).
pub(crate) fn unindex(conn: &Connection, kind: Kind, owner_rowid: i64) -> Result<(), StoreError> {
    let rowid = rowid(kind, owner_rowid);
    if hold(|| Staged { rowid, entry: None }) {
        return Ok(());
    }
    remove(conn, rowid)
}

fn write(conn: &Connection, rowid: i64, e: &Entry<'_>) -> Result<(), StoreError> {
    conn.prepare_cached(&format!(
        "INSERT OR REPLACE INTO {} (rowid, body, kind, ref_id, chat_id, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        table(rowid)
    ))?
    .execute(params![rowid, e.body, e.kind.as_str(), e.ref_id, e.chat_id, e.at])?;
    Ok(())
}

fn remove(conn: &Connection, rowid: i64) -> Result<(), StoreError> {
    conn.prepare_cached(&format!("DELETE FROM {} WHERE rowid = ?1", table(rowid)))?
        .execute(params![rowid])?;
    Ok(())
}

/// Moves an owner's entry, written or still staged, to another chat.
pub(crate) fn set_chat(
    conn: &Connection,
    kind: Kind,
    owner_rowid: i64,
    chat_id: &str,
) -> Result<(), StoreError> {
    let rowid = rowid(kind, owner_rowid);
    STAGED.with(|s| {
        let mut staged = s.borrow_mut();
        let entries = staged.iter_mut().flatten().filter(|c| c.rowid == rowid);
        for e in entries.filter_map(|c| c.entry.as_mut()) {
            e.chat_id = Some(chat_id.to_owned());
        }
    });
    conn.prepare_cached(&format!(
        "UPDATE {} SET chat_id = ?2 WHERE rowid = ?1",
        table(rowid)
    ))?
    .execute(params![rowid, chat_id])?;
    Ok(())
}

/// Merge work for a transaction that wrote `events` events: at least a few pages, and about
/// what the automatic merge averaged per event (a message indexes to well under a page, and the
/// index has a handful of levels). More than needed costs nothing: merging stops when no level
/// has enough segments.
pub fn pages_for(events: usize) -> i64 {
    i64::try_from(events)
        .unwrap_or(i64::MAX)
        .saturating_mul(4)
        .clamp(32, 4096)
}

/// Merge work for a small transaction that must stay short: four pages an event, without
/// [`pages_for`]'s minimum.
pub fn pages_per_row(events: usize) -> i64 {
    i64::try_from(events)
        .unwrap_or(i64::MAX)
        .saturating_mul(4)
        .clamp(4, 4096)
}

/// The most events whose merge work [`pages_per_row`] gives in full (4,096 pages).
pub const ROWS_PER_MERGE_STEP: usize = 1024;

/// Does up to `pages` leaf pages of merge work; true when it merged anything.
pub fn merge(conn: &Connection, pages: i64) -> Result<bool, StoreError> {
    let before = conn.total_changes();
    conn.prepare_cached("INSERT INTO search (search, rank) VALUES ('merge', ?1)")?
        .execute([pages])?;
    // FTS5 documents this test: fewer than two changes means there was nothing to merge.
    Ok(conn.total_changes() - before >= 2)
}

/// Merges until no level has enough segments to merge (after `import` or `rebuild`), so
/// searches do not walk many small segments.
pub fn tidy(conn: &Connection) -> Result<(), StoreError> {
    while merge(conn, 2048)? {}
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::convergence::memory_db;

    fn index_in_its_own_transaction(conn: &Connection, rowid: i64, body: &str) {
        conn.execute_batch("BEGIN").expect("begin");
        conn.execute(
            "INSERT INTO search (rowid, body, kind, ref_id) VALUES (?1, ?2, 'message', ?1)",
            rusqlite::params![rowid, body],
        )
        .expect("index");
        conn.execute_batch("COMMIT").expect("commit");
    }

    fn number(conn: &Connection, sql: &str) -> i64 {
        conn.query_row(sql, [], |r| r.get(0)).expect(sql)
    }

    #[test]
    fn commits_do_not_merge_by_themselves_and_merge_catches_up() {
        let conn = memory_db();
        let automerge = number(&conn, "SELECT v FROM search_config WHERE k = 'automerge'");
        assert_eq!(automerge, 0, "FTS5's bursty automatic merge is off");
        assert!(
            !merge(&conn, 32).expect("merge"),
            "nothing to merge in an empty index"
        );

        // Each transaction leaves its own segment; eight of them make a level worth merging.
        for n in 0..8 {
            index_in_its_own_transaction(&conn, n * 4, &format!("quarterly pricing note {n}"));
        }
        assert!(
            merge(&conn, 32).expect("merge"),
            "eight small segments are merged"
        );
        tidy(&conn).expect("tidy");
        assert!(
            !merge(&conn, 32).expect("merge"),
            "tidy left nothing to merge"
        );

        let found = number(
            &conn,
            "SELECT count(*) FROM search WHERE search MATCH 'pricing'",
        );
        assert_eq!(found, 8, "merging keeps every document findable");
    }

    fn entry(owner_rowid: i64, body: &str) -> Entry<'_> {
        Entry {
            kind: Kind::Message,
            owner_rowid,
            body,
            ref_id: "m",
            chat_id: Some("chat-a"),
            at: 0,
        }
    }

    #[test]
    fn a_batch_s_entries_become_one_segment_whatever_the_transaction_runs_between_them() {
        let conn = memory_db();
        conn.execute_batch("CREATE TABLE side (k INTEGER UNIQUE)")
            .expect("side table");
        let pages = |conn: &Connection| number(conn, "SELECT count(*) FROM search_data");
        let before = pages(&conn);
        conn.execute_batch("BEGIN").expect("begin");
        let stage = Stage::open(true);
        for n in 0..40 {
            index(&conn, &entry(n + 1, &format!("quarterly pricing note {n}"))).expect("index");
            // A multi-row insert that may abort opens a statement journal, as a projection's
            // upserts do; FTS5 writes out its pending entries at each one.
            conn.execute(
                "INSERT INTO side (k) SELECT ?1 UNION ALL SELECT ?1 + 1000",
                [n],
            )
            .expect("statement between entries");
        }
        stage.flush(&conn).expect("flush");
        conn.execute_batch("COMMIT").expect("commit");
        let written = pages(&conn) - before;
        assert!(
            written <= 2,
            "forty entries made {written} index pages: one segment, not one a row"
        );
        let found = number(
            &conn,
            "SELECT count(*) FROM search WHERE search MATCH 'pricing'",
        );
        assert_eq!(found, 40, "every staged entry is findable after the flush");
    }

    #[test]
    fn the_last_staged_state_of_an_entry_is_what_the_flush_writes() {
        let conn = memory_db();
        conn.execute_batch("BEGIN").expect("begin");
        let stage = Stage::open(true);
        index(&conn, &entry(1, "kept and moved")).expect("index 1");
        index(&conn, &entry(2, "written then removed")).expect("index 2");
        stage.flush(&conn).expect("first flush");
        let stage = Stage::open(true);
        unindex(&conn, Kind::Message, 2).expect("unindex 2");
        unindex(&conn, Kind::Message, 3).expect("unindex 3 before it exists");
        index(&conn, &entry(3, "removed then written")).expect("index 3");
        index(&conn, &entry(4, "staged then moved")).expect("index 4");
        set_chat(&conn, Kind::Message, 1, "chat-b").expect("move 1");
        set_chat(&conn, Kind::Message, 4, "chat-b").expect("move 4");
        let mark = stage.mark();
        index(&conn, &entry(5, "a row rolled back")).expect("index 5");
        stage.rollback_to(mark);
        stage.flush(&conn).expect("second flush");
        conn.execute_batch("COMMIT").expect("commit");
        let rows: Vec<(i64, String)> = conn
            .prepare("SELECT rowid, chat_id FROM search ORDER BY rowid")
            .expect("prepare")
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows");
        assert_eq!(
            rows,
            [
                (rowid(Kind::Message, 1), "chat-b".to_owned()),
                (rowid(Kind::Message, 3), "chat-a".to_owned()),
                (rowid(Kind::Message, 4), "chat-b".to_owned()),
            ],
            "removed entries are gone, re-added ones back, moved ones in their new chat, rolled-back ones never written"
        );
        index(&conn, &entry(6, "outside a batch")).expect("index 6");
        let written = number(
            &conn,
            &format!(
                "SELECT count(*) FROM search WHERE rowid = {}",
                rowid(Kind::Message, 6)
            ),
        );
        assert_eq!(written, 1, "with no stage open an entry is written at once");
    }

    #[test]
    fn resetting_the_inbox_keeps_each_index_s_definition_and_settings() {
        let conn = memory_db();
        let definitions = |conn: &Connection| -> Vec<String> {
            conn.prepare("SELECT sql FROM sqlite_schema WHERE name IN ('search', 'search_other') ORDER BY name")
                .expect("prepare")
                .query_map([], |r| r.get(0))
                .expect("query")
                .collect::<Result<_, _>>()
                .expect("definitions")
        };
        let before = definitions(&conn);
        conn.execute_batch("BEGIN").expect("begin");
        index(&conn, &entry(1, "quarterly pricing")).expect("index");
        index(
            &conn,
            &Entry {
                kind: Kind::Call,
                ..entry(2, "pricing call")
            },
        )
        .expect("index call");
        crate::store::projection::reset(&conn).expect("reset");
        conn.execute_batch("COMMIT").expect("commit");

        assert_eq!(
            number(&conn, "SELECT count(*) FROM search"),
            0,
            "no message entries"
        );
        assert_eq!(
            number(&conn, "SELECT count(*) FROM search_other"),
            0,
            "no call entries"
        );
        assert_eq!(
            definitions(&conn),
            before,
            "the same columns, tokenizer and prefixes"
        );
        let automerge = number(&conn, "SELECT v FROM search_config WHERE k = 'automerge'");
        assert_eq!(automerge, 0, "the bursty automatic merge stays off");
        index(&conn, &entry(3, "quarterly pricing")).expect("index again");
        let found = number(
            &conn,
            "SELECT count(*) FROM search WHERE search MATCH 'pri*'",
        );
        assert_eq!(
            found, 1,
            "the emptied index takes entries and answers prefix searches"
        );
    }

    #[test]
    fn merge_work_follows_the_batch_within_bounds() {
        assert_eq!(pages_for(1), 32, "at least a few pages");
        assert_eq!(pages_for(100), 400, "four pages an event");
        assert_eq!(pages_for(usize::MAX), 4096, "at most 4096 pages");
        assert_eq!(
            pages_per_row(3),
            12,
            "a short batch merges for its rows only"
        );
        assert_eq!(pages_per_row(0), 4, "never nothing");
        assert_eq!(
            pages_per_row(ROWS_PER_MERGE_STEP),
            4 * ROWS_PER_MERGE_STEP as i64,
            "one step pays four pages a row for this many rows"
        );
        assert_eq!(
            pages_per_row(ROWS_PER_MERGE_STEP + 1),
            pages_per_row(ROWS_PER_MERGE_STEP),
            "and no more: the rest takes another step"
        );
    }

    #[test]
    fn each_kind_has_its_own_rowids_and_table() {
        let ids: Vec<i64> = [Kind::Message, Kind::Call, Kind::Contact]
            .into_iter()
            .map(|k| rowid(k, 7))
            .collect();
        assert_eq!(
            ids,
            [28, 29, 30],
            "the same owner rowid never collides across kinds"
        );
        assert_eq!(
            table(28),
            MESSAGE_INDEX,
            "messages live in the messages' index"
        );
        assert_eq!(table(29), OTHER_INDEX, "calls live in the small index");
        assert_eq!(table(30), OTHER_INDEX, "contacts live in the small index");
    }
}
