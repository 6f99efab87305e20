//! Envelope parsing plus projection: any bytes, split into lines, each line one delivery.
//!
//! Every line that parses as an envelope is appended to the log and projected, the way the
//! writer does it, into a fresh in-memory database. Then:
//! - projecting a parsed envelope never fails (a failure would leave the inbox short of an
//!   event and make `rebuild` fail for good);
//! - a second delivery of every line is a duplicate with no effect;
//! - `rebuild` re-derives exactly the state the incremental path built.

#![no_main]

use std::cell::RefCell;

use libfuzzer_sys::fuzz_target;
use linq_inbox::linq::json::check_unique;
use linq_inbox::linq::{parse_envelope, SignatureForm};
use linq_inbox::store::{log, project, replay, schema, NewEvent};
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
    if check_unique(line).is_err() {
        return false;
    }
    let Ok(payload) = String::from_utf8(line.to_vec()) else {
        return false;
    };
    let Ok(envelope) = parse_envelope(&payload) else {
        return false;
    };
    let event = NewEvent::from_envelope(&envelope, payload, SignatureForm::Raw, RECEIVED_AT);
    match log::append(conn, &event).expect("append to the log") {
        None => false,
        Some(seq) => {
            if let Err(e) = project::apply(conn, &envelope, seq, event.received_at) {
                panic!("projecting a parsed envelope failed: {e}");
            }
            true
        }
    }
}

thread_local! {
    /// One migrated in-memory database per fuzzing process, emptied after every input: building
    /// the schema afresh for each input would cost more than the input itself.
    static DB: RefCell<Option<Connection>> = const { RefCell::new(None) };
}

fn fresh_schema() -> Connection {
    let mut conn = Connection::open_in_memory().expect("in-memory database");
    schema::migrate(&mut conn).expect("schema");
    conn
}

/// Empties every table, projections and log alike, so the next input starts from nothing.
fn empty(conn: &Connection) {
    project::clear(conn).expect("clear projections");
    conn.execute_batch(
        "DELETE FROM events; DELETE FROM rejected; DELETE FROM meta; DELETE FROM local_reads;
         DELETE FROM settings; DELETE FROM sqlite_sequence;",
    )
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
    conn.execute_batch("BEGIN").expect("begin");
    for line in &lines {
        deliver(conn, line);
    }
    conn.execute_batch("COMMIT").expect("commit");
    let incremental = snapshot(conn);
    for line in &lines {
        assert!(
            !deliver(conn, line),
            "a second delivery of the same event must be a duplicate"
        );
    }
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
