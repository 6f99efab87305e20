//! Full-text search over messages, call transcripts and summaries, and contacts (FTS5).
//!
//! The rep types words; each becomes a quoted prefix term, so nothing they type is FTS syntax.
//! Snippets come back as plain text with highlight offsets, never markup.

use std::collections::HashMap;

use rusqlite::{params, Connection};

use super::fts::{MESSAGE_INDEX, OTHER_INDEX};
use super::views::{Highlight, SearchHit};
use super::StoreError;
use super::{calls, chat_list, contacts};
use crate::linq::time::format_millis;

// Private-use characters mark matches inside FTS5 snippets; they are stripped from the text.
const OPEN: char = '\u{E000}';
const CLOSE: char = '\u{E001}';

/// (kind, ref id, chat id, at, marked snippet)
type HitRow = (String, String, Option<String>, Option<i64>, String);

/// The kinds a search can be narrowed to.
pub const KINDS: [&str; 3] = ["message", "call", "contact"];

/// Turns what the rep typed into an FTS5 query: every word a prefix, all words required.
pub fn fts_query(input: &str) -> Option<String> {
    let terms: Vec<String> = input
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(16)
        .map(|w| format!("\"{}\"*", w.replace('"', "")))
        .collect();
    (!terms.is_empty()).then(|| terms.join(" "))
}

/// How many of the newest message matches a search ranks. A word found in most of a million
/// messages ("the") made FTS5 score and sort every match, seconds per search; the newest 500
/// are read by walking the index backwards and stopping early, so only they are scored (each
/// costs a highlight and a snippet). Calls and contacts are few and always ranked whole.
const POOL: i64 = 500;

/// A candidate: its hit row, its search rowid, and its body with every match marked.
struct Candidate {
    row: HitRow,
    rowid: i64,
    marked_body: String,
}

/// Ranked hits, best first: how often and how densely the words occur (bm25's shape), among
/// every matching call and contact and the newest `POOL` matching messages; newer first on a
/// tie.
pub fn search(
    conn: &Connection,
    input: &str,
    kind: Option<&str>,
    chat_id: Option<&str>,
    limit: i64,
) -> Result<Vec<SearchHit>, StoreError> {
    search_in(conn, input, kind, chat_id, limit, POOL)
}

fn search_in(
    conn: &Connection,
    input: &str,
    kind: Option<&str>,
    chat_id: Option<&str>,
    limit: i64,
    pool: i64,
) -> Result<Vec<SearchHit>, StoreError> {
    let Some(query) = fts_query(input) else {
        return Ok(Vec::new());
    };
    let filter = Filter {
        query: &query,
        kind,
        chat_id,
    };
    let mut candidates = Vec::new();
    if kind.is_none_or(|k| k == "message") {
        candidates.extend(candidates_in(conn, &filter, MESSAGE_INDEX, pool)?);
    }
    if kind != Some("message") {
        // No limit: calls and contacts are few, in their own small index.
        candidates.extend(candidates_in(conn, &filter, OTHER_INDEX, -1)?);
    }
    // FTS5's own bm25 counts every match of every word for its weights (a full pass over "the"
    // per search), so the candidates are scored here, all words weighing the same.
    let ranked = rank(candidates, limit.max(0) as usize);
    hits(conn, ranked)
}

/// What the rep asked for, as statement parameters.
struct Filter<'a> {
    query: &'a str,
    kind: Option<&'a str>,
    chat_id: Option<&'a str>,
}

/// The newest `limit` matches in `table` (the messages' index or the calls' and contacts'). FTS5 serves `ORDER BY rowid DESC` from its doclists, so it stops at the limit
/// however many match.
fn candidates_in(
    conn: &Connection,
    f: &Filter<'_>,
    table: &str,
    limit: i64,
) -> Result<Vec<Candidate>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT kind, ref_id, chat_id, at, snippet({table}, 0, char(57344), char(57345), '…', 16),
                rowid, highlight({table}, 0, char(57344), char(57345))
         FROM {table}
         WHERE {table} MATCH ?1
           AND (?2 IS NULL OR kind = ?2) AND (?3 IS NULL OR chat_id = ?3)
         ORDER BY rowid DESC LIMIT ?4"
    ))?;
    let rows = stmt
        .query_map(params![f.query, f.kind, f.chat_id, limit], |r| {
            Ok(Candidate {
                row: (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?),
                rowid: r.get(5)?,
                marked_body: r.get(6)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// The best `limit` candidates, best first; newer first among equals.
fn rank(candidates: Vec<Candidate>, limit: usize) -> Vec<HitRow> {
    let counted: Vec<(usize, usize)> = candidates
        .iter()
        .map(|c| match_counts(&c.marked_body))
        .collect();
    let words: usize = counted.iter().map(|(_, w)| w).sum();
    let average = (words as f64 / counted.len().max(1) as f64).max(1.0);
    let mut scored: Vec<(f64, i64, HitRow)> = candidates
        .into_iter()
        .zip(counted)
        .map(|(c, (hits, words))| (bm25_shape(hits, words, average), c.rowid, c.row))
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(b.1.cmp(&a.1)));
    scored.truncate(limit);
    scored.into_iter().map(|(_, _, row)| row).collect()
}

/// (marked matches, words) in a body marked by `highlight()`.
fn match_counts(marked: &str) -> (usize, usize) {
    let hits = marked.chars().filter(|c| *c == OPEN).count();
    let words = marked
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .count();
    (hits, words)
}

/// bm25's term-frequency part: more matches score more but saturate, and a match in a short
/// text counts more than one in a long text.
fn bm25_shape(hits: usize, words: usize, average_words: f64) -> f64 {
    const K1: f64 = 1.2;
    const B: f64 = 0.75;
    let tf = hits as f64;
    tf * (K1 + 1.0) / (tf + K1 * (1.0 - B + B * words as f64 / average_words))
}

/// Hits from ranked rows: snippet offsets, and a title built once per chat.
fn hits(conn: &Connection, rows: Vec<HitRow>) -> Result<Vec<SearchHit>, StoreError> {
    let titles = chat_list::chat_titles(
        conn,
        rows.iter()
            .filter(|r| r.0 == "message")
            .filter_map(|r| r.2.as_deref()),
    )?;
    rows.into_iter()
        .map(|(kind, id, chat_id, at, marked)| {
            let (snippet, highlights) = split_marks(&marked);
            let (title, chat_id) = title_for(conn, &titles, &kind, &id, chat_id)?;
            Ok(SearchHit {
                kind,
                id,
                chat_id,
                title,
                snippet,
                highlights,
                at: at.filter(|a| *a > 0).map(format_millis),
            })
        })
        .collect()
}

fn title_for(
    conn: &Connection,
    chat_titles: &HashMap<String, String>,
    kind: &str,
    id: &str,
    chat_id: Option<String>,
) -> Result<(String, Option<String>), StoreError> {
    match kind {
        "message" => {
            let title = match &chat_id {
                Some(c) => chat_titles.get(c).cloned().unwrap_or_else(|| c.clone()),
                None => String::new(),
            };
            Ok((title, chat_id))
        }
        "call" => {
            let call = calls::call(conn, id)?;
            let title = call
                .as_ref()
                .and_then(|c| {
                    if c.direction.as_deref() == Some("outbound") {
                        c.to_name.clone()
                    } else {
                        c.from_name.clone()
                    }
                })
                .unwrap_or_else(|| "Call".to_string());
            Ok((title, call.and_then(|c| c.chat_id)))
        }
        _ => {
            let contact = contacts::contact(conn, id)?;
            let title = contact
                .as_ref()
                .and_then(|c| c.full_name.clone().or_else(|| c.phone_number.clone()))
                .unwrap_or_else(|| id.to_string());
            Ok((title, contact.and_then(|c| c.chat_id)))
        }
    }
}

/// Removes the match markers and reports where they were, in code points.
pub fn split_marks(marked: &str) -> (String, Vec<Highlight>) {
    let mut text = String::with_capacity(marked.len());
    let mut highlights = Vec::new();
    let mut position = 0usize;
    let mut open_at = None;
    for c in marked.chars() {
        match c {
            OPEN => open_at = Some(position),
            CLOSE => {
                if let Some(start) = open_at.take() {
                    highlights.push(Highlight {
                        start,
                        end: position,
                    });
                }
            }
            _ => {
                text.push(c);
                position += 1;
            }
        }
    }
    (text, highlights)
}

#[cfg(test)]
mod tests {
    use super::super::fts::{index, Entry, Kind};
    use super::*;
    use crate::store::tests::convergence::memory_db;

    /// Indexes a message, call or contact whose own rowid is `n`, as the projection does.
    fn put(conn: &Connection, kind: &str, n: i64, body: &str) {
        let kind = match kind {
            "message" => Kind::Message,
            "call" => Kind::Call,
            _ => Kind::Contact,
        };
        let ref_id = format!("{}{n}", kind.as_str());
        let entry = Entry {
            kind,
            owner_rowid: n,
            body,
            ref_id: &ref_id,
            chat_id: Some("c1"),
            at: n * 1000,
        };
        index(conn, &entry).expect("index");
    }

    fn ids(hits: &[SearchHit]) -> Vec<&str> {
        hits.iter().map(|h| h.id.as_str()).collect()
    }

    #[test]
    fn hits_come_best_first_not_newest_first() {
        let conn = memory_db();
        put(&conn, "message", 1, "invoice invoice");
        put(
            &conn,
            "message",
            2,
            "a long note that mentions the invoice once among many other words here",
        );
        put(&conn, "message", 3, "nothing to see");
        let hits = search(&conn, "invoice", None, None, 10).expect("search");
        assert_eq!(
            ids(&hits),
            ["message1", "message2"],
            "the denser, older match ranks first"
        );
    }

    #[test]
    fn past_the_pool_only_the_newest_messages_are_ranked() {
        let conn = memory_db();
        put(&conn, "message", 1, "quote quote quote");
        for n in 2..=6 {
            put(
                &conn,
                "message",
                n,
                &format!("a longer message {n} with one quote in it"),
            );
        }
        let hits = search_in(&conn, "quote", None, None, 10, 3).expect("search");
        let mut found = ids(&hits);
        found.sort();
        assert_eq!(
            found,
            ["message4", "message5", "message6"],
            "the three newest matches; the best but oldest one is past the pool"
        );
        let all = search_in(&conn, "quote", None, None, 10, 100).expect("search");
        assert_eq!(
            all.len(),
            6,
            "with a large enough pool every match is ranked"
        );
        assert_eq!(all[0].id, "message1", "within the pool relevance decides");
    }

    #[test]
    fn calls_and_contacts_are_found_however_many_messages_match() {
        let conn = memory_db();
        for n in 1..=20 {
            put(
                &conn,
                "message",
                n,
                &format!("ask Gonzalez about order {n}"),
            );
        }
        put(&conn, "contact", 1, "Maria Gonzalez Acme Buyer");
        put(&conn, "call", 3, "voicemail from Gonzalez");
        let hits = search_in(&conn, "gonzalez", None, None, 50, 5).expect("search");
        let found = ids(&hits);
        assert!(found.contains(&"contact1"), "{found:?}");
        assert!(found.contains(&"call3"), "{found:?}");
        assert_eq!(
            found.len(),
            7,
            "five pooled messages, the call, the contact"
        );
        let contacts = search_in(&conn, "gonzalez", Some("contact"), None, 50, 5).expect("search");
        assert_eq!(
            ids(&contacts),
            ["contact1"],
            "the contact filter returns only the contact"
        );
        let messages = search_in(&conn, "gonzalez", Some("message"), None, 50, 5).expect("search");
        assert_eq!(
            messages.len(),
            5,
            "the message filter returns the pooled messages only"
        );
    }

    #[test]
    fn user_text_never_becomes_fts_syntax() {
        assert_eq!(
            fts_query("tom* OR \"x\" NEAR(a)").as_deref(),
            Some("\"tom\"* \"OR\"* \"x\"* \"NEAR\"* \"a\"*"),
            "FTS operators in user text are quoted as plain words"
        );
        assert_eq!(fts_query("  ;; "), None, "nothing searchable");
        assert_eq!(
            fts_query("María").as_deref(),
            Some("\"María\"*"),
            "a non-ASCII word becomes one quoted prefix term"
        );
    }

    #[test]
    fn marks_become_code_point_offsets() {
        let (text, hl) = split_marks("Olá \u{E000}amanhã\u{E001}!");
        assert_eq!(
            text, "Olá amanhã!",
            "the highlight marks are removed from the text"
        );
        assert_eq!(
            (hl[0].start, hl[0].end),
            (4, 10),
            "offsets count code points, not bytes"
        );
    }
}
