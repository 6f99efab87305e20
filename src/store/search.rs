//! Full-text search over messages, call transcripts and summaries, and contacts (FTS5).
//!
//! The rep types words; each becomes a quoted prefix term, so nothing they type is FTS syntax.
//! Snippets come back as plain text with highlight offsets, never markup.

use rusqlite::{params, Connection};

use super::queries::{self, Names};
use super::views::{Highlight, SearchHit};
use super::StoreError;
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

/// Ranked hits, best first.
pub fn search(
    conn: &Connection,
    input: &str,
    kind: Option<&str>,
    chat_id: Option<&str>,
    limit: i64,
) -> Result<Vec<SearchHit>, StoreError> {
    let Some(query) = fts_query(input) else {
        return Ok(Vec::new());
    };
    let mut stmt = conn.prepare_cached(
        "SELECT kind, ref_id, chat_id, at, snippet(search, 0, char(57344), char(57345), '…', 16)
         FROM search
         WHERE search MATCH ?1 AND (?2 IS NULL OR kind = ?2) AND (?3 IS NULL OR chat_id = ?3)
         ORDER BY rank LIMIT ?4",
    )?;
    let rows: Vec<HitRow> = stmt
        .query_map(params![query, kind, chat_id, limit], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?
        .collect::<Result<_, _>>()?;
    let mut names = Names::new(conn);
    rows.into_iter()
        .map(|(kind, id, chat_id, at, marked)| {
            let (snippet, highlights) = split_marks(&marked);
            let (title, chat_id) = title_for(conn, &mut names, &kind, &id, chat_id)?;
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
    names: &mut Names<'_>,
    kind: &str,
    id: &str,
    chat_id: Option<String>,
) -> Result<(String, Option<String>), StoreError> {
    match kind {
        "message" => {
            let title = match &chat_id {
                Some(c) => queries::chat(conn, c)?
                    .map(|s| s.title)
                    .unwrap_or_else(|| c.clone()),
                None => String::new(),
            };
            Ok((title, chat_id))
        }
        "call" => {
            let call = queries::call(conn, id)?;
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
            let contact = queries::contact(conn, id)?;
            let title = contact
                .as_ref()
                .and_then(|c| c.full_name.clone().or_else(|| c.phone_number.clone()))
                .unwrap_or_else(|| id.to_string());
            let _ = names;
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
    use super::*;

    #[test]
    fn user_text_never_becomes_fts_syntax() {
        assert_eq!(
            fts_query("tom* OR \"x\" NEAR(a)").as_deref(),
            Some("\"tom\"* \"OR\"* \"x\"* \"NEAR\"* \"a\"*")
        );
        assert_eq!(fts_query("  ;; "), None, "nothing searchable");
        assert_eq!(fts_query("María").as_deref(), Some("\"María\"*"));
    }

    #[test]
    fn marks_become_code_point_offsets() {
        let (text, hl) = split_marks("Olá \u{E000}amanhã\u{E001}!");
        assert_eq!(text, "Olá amanhã!");
        assert_eq!(
            (hl[0].start, hl[0].end),
            (4, 10),
            "offsets count code points, not bytes"
        );
    }
}
