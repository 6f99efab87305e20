//! Upkeep of the full-text index: merging its segments a little at a time.
//!
//! Every commit that indexed something leaves a new FTS5 segment. FTS5's own automatic merge
//! pays for them in bursts: every 64 leaf pages written, one commit merged 64 pages per index
//! level, tens of milliseconds that the deliveries riding in that commit waited for. Migration
//! 0003 turns it off; writers call [`merge`] in each transaction instead, so the same work is
//! spread evenly, and [`tidy`] after a bulk load. The calls' and contacts' small index
//! (migration 0004) keeps FTS5's automerge: its bursts are tiny.

use rusqlite::Connection;

use super::StoreError;

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
    use super::super::convergence_tests::memory_db;
    use super::*;

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

    #[test]
    fn merge_work_follows_the_batch_within_bounds() {
        assert_eq!(pages_for(1), 32);
        assert_eq!(pages_for(100), 400);
        assert_eq!(pages_for(usize::MAX), 4096);
    }
}
