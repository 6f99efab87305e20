//! Envelope parsing plus projection: any bytes, split into lines, each line one delivery.
//!
//! Every line that passes the listener's checks is appended to the log the way the writer does
//! it and projected by the projector's own path (`projection::project_all`), into a fresh
//! in-memory log and inbox. Then:
//! - projecting a parsed envelope never fails (a failure would leave the inbox short of an
//!   event and make `rebuild` fail for good);
//! - a second delivery of every line is a duplicate with no effect;
//! - `rebuild` re-derives exactly the state the incremental path built.

#![no_main]

use std::cell::RefCell;

use libfuzzer_sys::fuzz_target;
use linq_inbox::linq::json::check_unique;
use linq_inbox::linq::{parse_envelope, SignatureForm};
use linq_inbox::store::{log, projection, replay, schema, NewEvent};
use rusqlite::Connection;

/// A fixed clock, so the incremental and rebuilt states depend only on the input.
const RECEIVED_AT: i64 = 1_747_000_000_000;

/// Every projection table, as sorted text rows.
fn snapshot(conn: &Connection) -> Vec<String> {
    const TABLES: &[&str] = &[
        "chats",
        "chat_handles",
        "messages",
        "attachments",
        "reactions",
        "read_receipts",
        "calls",
        "contacts",
        "memberships",
    ];
    let mut out = Vec::new();
    for table in TABLES {
        let mut stmt = conn
            .prepare(&format!("SELECT * FROM {table}"))
            .expect("projection table exists");
        let n = stmt.column_count();
        let mut rows: Vec<String> = stmt
            .query_map([], |r| {
                let mut row = format!("{table}:");
                for i in 0..n {
                    let v: rusqlite::types::Value = r.get(i)?;
                    row.push_str(&format!("{v:?}|"));
                }
                Ok(row)
            })
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows");
        rows.sort();
        out.extend(rows);
    }
    let mut search: Vec<String> = conn
        .prepare("SELECT body, kind, ref_id, chat_id, at FROM search")
        .expect("search table")
        .query_map([], |r| {
            let cols: Vec<rusqlite::types::Value> =
                (0..5).map(|i| r.get(i)).collect::<Result<_, _>>()?;
            Ok(format!("search:{cols:?}"))
        })
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    search.sort();
    out.extend(search);
    out
}

/// Stores one delivery as the writer does; `true` when it was new.
fn deliver(conn: &Connection, line: &[u8]) -> bool {
    let Ok(payload) = String::from_utf8(line.to_vec()) else {
        return false;
    };
    if check_unique(&payload).is_err() {
        return false;
    }
    let Ok(envelope) = parse_envelope(&payload) else {
        return false;
    };
    let event = NewEvent::from_envelope(envelope, payload, SignatureForm::Raw, RECEIVED_AT);
    log::append(conn, &event)
        .expect("append to the log")
        .is_some()
}

/// Folds every log row not yet projected, as the projector does; a row that cannot be projected
/// would be set aside, which for a parsed envelope is a failure of this target.
fn project_pending(conn: &Connection) {
    let tx = conn.unchecked_transaction().expect("transaction");
    projection::project_all(&tx, 256).expect("projection");
    let failed: i64 = tx
        .query_row("SELECT count(*) FROM projection_failures", [], |r| r.get(0))
        .expect("failures table");
    assert_eq!(failed, 0, "every parsed envelope projects");
    tx.commit().expect("commit");
}

thread_local! {
    /// One migrated in-memory log and inbox per fuzzing process, emptied after every input:
    /// building the schemas afresh for each input would cost more than the input itself.
    static DB: RefCell<Option<Connection>> = const { RefCell::new(None) };
}

/// The inbox in memory with an in-memory log attached as `log`, as the projector's connection
/// has them (the log a shared-cache memory database, kept alive by the attachment).
fn fresh_schema() -> Connection {
    let uri = format!(
        "file:fuzz-log-{}?mode=memory&cache=shared",
        std::process::id()
    );
    let mut log = Connection::open(&uri).expect("in-memory log");
    schema::migrate(&mut log).expect("log schema");
    let mut conn = Connection::open_in_memory().expect("in-memory inbox");
    schema::migrate_inbox(&mut conn).expect("inbox schema");
    conn.execute("ATTACH DATABASE ?1 AS log", [&uri])
        .expect("attach the log");
    conn
}

/// Empties the inbox and the log, so the next input starts from nothing.
fn empty(conn: &Connection) {
    projection::reset(conn).expect("empty the inbox");
    conn.execute_batch("DELETE FROM log.events; DELETE FROM log.sqlite_sequence;")
        .expect("empty the log");
}

fuzz_target!(|data: &[u8]| {
    DB.with(|cell| {
        let mut slot = cell.borrow_mut();
        let conn = slot.get_or_insert_with(fresh_schema);
        check(conn, data);
        empty(conn);
    });
});

fn check(conn: &mut Connection, data: &[u8]) {
    let lines: Vec<&[u8]> = data.split(|b| *b == b'\n').collect();
    for line in &lines {
        deliver(conn, line);
    }
    project_pending(conn);
    let incremental = snapshot(conn);
    for line in &lines {
        assert!(
            !deliver(conn, line),
            "a second delivery of the same event must be a duplicate"
        );
    }
    project_pending(conn);
    assert_eq!(
        snapshot(conn),
        incremental,
        "duplicates must change nothing"
    );
    replay::rebuild(conn).expect("rebuild succeeds");
    assert_eq!(
        snapshot(conn),
        incremental,
        "rebuild must re-derive the incremental state"
    );
}
