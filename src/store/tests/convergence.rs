//! Projection promises: every vendor fixture projects, and any shuffle of a conversation's
//! events, with duplicates, ends in the same state as the ordered stream.

use proptest::prelude::*;
use rusqlite::Connection;

use crate::linq::{parse_envelope, SignatureForm};
use crate::simulate::{generate, Scenario};
use crate::store::rules::FINE_TIE_MIN;
use crate::store::{log, schema, NewEvent};

/// Both full-text tables, as one sorted dump.
pub(super) const SEARCH_DUMP: &str = "SELECT kind, ref_id, body FROM search UNION ALL
     SELECT kind, ref_id, body FROM search_other ORDER BY kind, ref_id, body";

/// Both files in memory, as the projector sees them: the inbox as the main schema, the log
/// attached as `log` (a named shared-cache memory database, migrated on its own connection and
/// kept alive by the attachment).
pub(crate) fn memory_db() -> Connection {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let uri = format!(
        "file:linq-log-{}-{n}?mode=memory&cache=shared",
        std::process::id()
    );
    let mut log = Connection::open(&uri).expect("memory log");
    schema::migrate(&mut log).expect("migrate the log");
    let mut conn = Connection::open_in_memory().expect("memory inbox");
    schema::migrate_inbox(&mut conn).expect("migrate the inbox");
    conn.execute("ATTACH DATABASE ?1 AS log", [&uri])
        .expect("attach the log");
    drop(log);
    conn
}

pub(crate) fn ingest(conn: &Connection, body: &str) {
    let env = parse_envelope(body).expect("generated body is an envelope");
    let event = NewEvent {
        event_id: env.event_id.clone(),
        event_type: env.event_type.clone(),
        api_version: None,
        created_at: None,
        created_at_original: None,
        received_at: 0,
        signature: SignatureForm::Unsigned,
        payload: body.to_string(),
        webhook_id: None,
    };
    if log::append(conn, &event).expect("append").is_some() {
        project_pending(conn);
    }
}

/// Folds every log row not yet projected into the inbox, as the projector does.
pub(crate) fn project_pending(conn: &Connection) {
    let tx = conn.unchecked_transaction().expect("transaction");
    while crate::store::projection::project_in(&tx, 256)
        .expect("project")
        .rows
        > 0
    {}
    tx.commit().expect("commit");
}

/// The messages table, every column, with a row's `tie` only where it is Linq's finer time: a
/// tie taken from the order of arrival (v2's one-second times give no other) is what a shuffle
/// changes, by design. `src/store/tests/order.rs` checks the order that results.
pub(super) fn messages_dump(conn: &Connection) -> String {
    let mut stmt = conn
        .prepare("SELECT name FROM pragma_table_info('messages') ORDER BY cid")
        .expect("messages columns");
    let columns: Vec<String> = stmt
        .query_map([], |r| {
            let name: String = r.get(0)?;
            Ok(if name == "tie" {
                format!("CASE WHEN tie >= {FINE_TIE_MIN} THEN tie END AS fine_tie")
            } else {
                name
            })
        })
        .expect("columns")
        .map(|c| c.expect("column"))
        .collect();
    format!("SELECT {} FROM messages ORDER BY id", columns.join(", "))
}

/// Blanks every thread item's `tie` that came from the order of arrival (see [`messages_dump`]).
pub(super) fn blank_arrival_ties(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(o) => {
            if o.get("tie")
                .and_then(|t| t.as_i64())
                .is_some_and(|t| t < FINE_TIE_MIN)
            {
                o.insert("tie".into(), serde_json::Value::Null);
            }
            o.values_mut().for_each(blank_arrival_ties);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(blank_arrival_ties),
        _ => {}
    }
}

/// Every projection table, as sorted text, leaving out rowids (they follow arrival order).
fn dump(conn: &Connection) -> Vec<String> {
    let messages = messages_dump(conn);
    let queries = [
        "SELECT * FROM chats ORDER BY chat_id",
        "SELECT * FROM chat_handles ORDER BY chat_id, identifier",
        &messages,
        "SELECT * FROM attachments ORDER BY message_id, position",
        "SELECT * FROM reactions ORDER BY id",
        "SELECT * FROM read_receipts ORDER BY message_id",
        "SELECT * FROM calls ORDER BY id",
        "SELECT * FROM contacts ORDER BY id",
        "SELECT * FROM memberships ORDER BY event_id",
        SEARCH_DUMP,
    ];
    dump_queries(conn, &queries)
}

/// The rows of each query as text, headed by the query, for comparing two databases.
pub(super) fn dump_queries(conn: &Connection, queries: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for &sql in queries {
        let mut stmt = conn.prepare(sql).expect("prepare");
        let columns = stmt.column_count();
        let rows = stmt
            .query_map([], |r| {
                let mut line = String::new();
                for i in 0..columns {
                    let v: rusqlite::types::Value = r.get(i)?;
                    line.push_str(&format!("{v:?}|"));
                }
                Ok(line)
            })
            .expect("query");
        out.push(format!("-- {sql}"));
        out.extend(rows.map(|r| r.expect("row")));
    }
    out
}

/// Every body once plus every `dup_every`-th again, in an order fixed by `seed`: what a
/// retrying, reordering sender may deliver.
pub(super) fn shuffled_with_duplicates(
    bodies: &[String],
    seed: u64,
    dup_every: usize,
) -> Vec<&String> {
    let mut stream: Vec<&String> = bodies.iter().collect();
    stream.extend(bodies.iter().step_by(dup_every));
    let mut rng = seed;
    for i in (1..stream.len()).rev() {
        rng = rng
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        stream.swap(i, (rng >> 33) as usize % (i + 1));
    }
    stream
}

/// The lines in only one of two dumps.
pub(super) fn differences<'a>(a: &'a [String], b: &'a [String]) -> Vec<&'a String> {
    a.iter()
        .filter(|l| !b.contains(l))
        .chain(b.iter().filter(|l| !a.contains(l)))
        .collect()
}

fn demo_bodies() -> Vec<String> {
    let now = chrono::Utc::now();
    generate(Scenario::Demo, 80, 7, now)
        .into_iter()
        .map(|d| d.body)
        .collect()
}

#[test]
fn every_vendor_fixture_parses_and_projects() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/events");
    let conn = memory_db();
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).expect("fixtures folder") {
        let path = entry.expect("entry").path();
        let body = std::fs::read_to_string(&path).expect("fixture");
        let env =
            parse_envelope(&body).unwrap_or_else(|e| panic!("{} must parse: {e}", path.display()));
        assert!(
            !matches!(env.fact, crate::linq::Fact::Unknown),
            "{} is a known type",
            path.display()
        );
        ingest(&conn, &body);
        seen += 1;
    }
    assert_eq!(seen, 7, "every published example is covered");
    let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).expect("count") };
    assert_eq!(
        count("SELECT count(*) FROM messages"),
        1,
        "the one message fixture makes one message"
    );
    assert_eq!(
        count("SELECT count(*) FROM calls WHERE transcription IS NOT NULL"),
        1,
        "the call fixture keeps its transcription"
    );
    assert_eq!(
        count("SELECT count(*) FROM contacts WHERE deleted = 1"),
        1,
        "contact 123 was deleted"
    );
    assert_eq!(
        count("SELECT count(*) FROM reactions WHERE message_id = '67891'"),
        1,
        "the reaction fixture lands on its message"
    );
    assert_eq!(
        count("SELECT count(*) FROM read_receipts WHERE message_id = '12345'"),
        1,
        "the read fixture records a read receipt for its message"
    );
}

#[test]
fn a_reaction_and_a_receipt_before_their_message_attach_when_it_comes() {
    let conn = memory_db();
    let bodies = demo_bodies();
    let (early, rest): (Vec<_>, Vec<_>) = bodies
        .iter()
        .partition(|b| b.contains("\"reaction.") || b.contains("\"message.read\""));
    for b in early.iter().chain(rest.iter()) {
        ingest(&conn, b);
    }
    let ordered = memory_db();
    bodies.iter().for_each(|b| ingest(&ordered, b));
    assert_eq!(
        dump(&conn),
        dump(&ordered),
        "early reactions and receipts end in the same inbox"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn any_shuffle_with_duplicates_converges(seed in any::<u64>(), dup_every in 2usize..6) {
        let bodies = demo_bodies();
        let ordered = memory_db();
        bodies.iter().for_each(|b| ingest(&ordered, b));

        let shuffled = memory_db();
        shuffled_with_duplicates(&bodies, seed, dup_every).iter().for_each(|b| ingest(&shuffled, b));
        let (a, b) = (dump(&shuffled), dump(&ordered));
        let diff = differences(&a, &b);
        prop_assert!(diff.is_empty(), "shuffled stream differs: {diff:#?}");
    }
}
