//! The outbox's rows of the raw log: the rep's reply as queued, what Linq answered, a refusal,
//! a retry, a deletion; a tapback added or removed; a new conversation queued, and the id Linq
//! named it by; a read mark Linq refused, and a later one it took. They are the app's own writes (signature `local`, never a delivery) and
//! project through the one projector like any other row, so `rebuild` replays the rep's replies
//! with everything else. Reading one back gives [`Fact::Outbox`].

use serde::Deserialize;
use serde_json::{json, Value};

use super::data::Data;
use super::error::EventError;
use super::model::{Attachment, Fact, OutboxChange, OutboxFact, ReactionChange, ReplyTo};

/// The log's event types of the outbox, all beginning with [`PREFIX`].
pub const PREFIX: &str = "linq_inbox.outbox_";
pub const QUEUED: &str = "linq_inbox.outbox_queued";
pub const SENT: &str = "linq_inbox.outbox_sent";
pub const FAILED: &str = "linq_inbox.outbox_failed";
pub const RETRIED: &str = "linq_inbox.outbox_retried";
pub const DELETED: &str = "linq_inbox.outbox_deleted";
pub const REACTED: &str = "linq_inbox.outbox_reacted";
pub const NEW_CHAT: &str = "linq_inbox.outbox_new_chat";
pub const CHAT_NAMED: &str = "linq_inbox.outbox_chat_named";
pub const READ_REFUSED: &str = "linq_inbox.outbox_read_refused";
pub const READ_TAKEN: &str = "linq_inbox.outbox_read_taken";

/// The provisional id of a conversation the rep started, until Linq names it.
pub fn provisional_chat_id(client_id: &str) -> String {
    format!("new:{client_id}")
}

/// The message id of a queued reply's bubble until Linq names it: `local:{client_id}`.
pub fn local_id(client_id: &str) -> String {
    format!("local:{client_id}")
}

/// A log row's event id, type and envelope for `change` of the reply `client_id`, at `at` (ms).
/// A failure and a retry can happen many times: their ids carry the time.
pub fn envelope(client_id: &str, change: &OutboxChange, at: i64) -> (String, &'static str, Value) {
    let (event_type, data, repeats) = match change {
        OutboxChange::Queued {
            chat_id,
            text,
            reply_to,
            attachments,
        } => {
            let mut data = json!({"chat_id": chat_id, "text": text,
                   "reply_to": reply_to.as_ref().map(|r| json!({"message_id": r.message_id, "part_index": r.part_index}))});
            if !attachments.is_empty() {
                data["attachments"] = attachments
                    .iter()
                    .map(|a| json!({"id": a.id, "filename": a.filename, "mime_type": a.mime_type}))
                    .collect();
            }
            (QUEUED, data, false)
        }
        OutboxChange::Sent { linq_id } => (SENT, json!({"linq_id": linq_id}), false),
        OutboxChange::Failed { error } => (FAILED, json!({"error": error}), true),
        OutboxChange::Retried => (RETRIED, json!({}), true),
        OutboxChange::Deleted => (DELETED, json!({}), false),
        OutboxChange::ChatQueued {
            chat_id,
            from,
            to,
            text,
        } => (
            NEW_CHAT,
            json!({"chat_id": chat_id, "from": from, "to": to, "text": text}),
            false,
        ),
        OutboxChange::ChatNamed { chat_id } => (CHAT_NAMED, json!({"chat_id": chat_id}), false),
        OutboxChange::Reacted {
            message_id,
            chat_id,
            reaction,
            change,
        } => (
            REACTED,
            json!({"message_id": message_id, "chat_id": chat_id, "reaction": reaction,
                   "operation": operation_name(*change)}),
            false,
        ),
        OutboxChange::ReadRefused { chat_id, error } => (
            READ_REFUSED,
            json!({"chat_id": chat_id, "error": error}),
            true,
        ),
        OutboxChange::ReadTaken { chat_id } => (READ_TAKEN, json!({"chat_id": chat_id}), true),
    };
    let kind = event_type.trim_start_matches(PREFIX);
    let event_id = if repeats {
        format!("outbox:{client_id}:{kind}:{at}")
    } else {
        format!("outbox:{client_id}:{kind}")
    };
    let mut data = data;
    data["client_id"] = json!(client_id);
    let body = json!({
        "event_type": event_type,
        "event_id": event_id,
        "created_at": crate::linq::time::format_millis(at),
        "data": data,
    });
    (event_id, event_type, body)
}

#[derive(Deserialize)]
struct Wire {
    client_id: String,
    chat_id: Option<String>,
    text: Option<String>,
    reply_to: Option<WireReply>,
    linq_id: Option<String>,
    error: Option<String>,
    message_id: Option<String>,
    reaction: Option<String>,
    operation: Option<String>,
    from: Option<String>,
    to: Option<String>,
    #[serde(default)]
    attachments: Vec<WireFile>,
}

#[derive(Deserialize)]
struct WireFile {
    id: Option<String>,
    filename: Option<String>,
    mime_type: Option<String>,
}

/// The wire name of a reaction change: Linq's `operation`.
pub fn operation_name(change: ReactionChange) -> &'static str {
    match change {
        ReactionChange::Added => "add",
        ReactionChange::Removed => "remove",
    }
}

#[derive(Deserialize)]
struct WireReply {
    message_id: String,
    part_index: Option<i64>,
}

/// The fact of a logged outbox row; `None` for any other event type.
pub(crate) fn read(event_type: &str, data: &Data) -> Option<Result<Fact, EventError>> {
    if !event_type.starts_with(PREFIX) {
        return None;
    }
    Some(fact(event_type, data))
}

fn fact(event_type: &str, data: &Data) -> Result<Fact, EventError> {
    let w: Wire = data.typed(event_type)?;
    let missing = |field: &str| EventError::Data {
        event_type: event_type.to_string(),
        problem: format!("{field} is missing"),
    };
    let change = match event_type {
        QUEUED => OutboxChange::Queued {
            chat_id: w.chat_id.ok_or_else(|| missing("chat_id"))?,
            text: w.text.unwrap_or_default(),
            reply_to: w.reply_to.map(|r| ReplyTo {
                message_id: r.message_id,
                part_index: r.part_index,
            }),
            attachments: w
                .attachments
                .into_iter()
                .map(|f| Attachment {
                    id: f.id,
                    url: None,
                    filename: f.filename,
                    mime_type: f.mime_type,
                })
                .collect(),
        },
        SENT => OutboxChange::Sent {
            linq_id: w.linq_id.ok_or_else(|| missing("linq_id"))?,
        },
        FAILED => OutboxChange::Failed {
            error: w.error.unwrap_or_default(),
        },
        RETRIED => OutboxChange::Retried,
        DELETED => OutboxChange::Deleted,
        NEW_CHAT => OutboxChange::ChatQueued {
            chat_id: w.chat_id.ok_or_else(|| missing("chat_id"))?,
            from: w.from.ok_or_else(|| missing("from"))?,
            to: w.to.ok_or_else(|| missing("to"))?,
            text: w.text.unwrap_or_default(),
        },
        CHAT_NAMED => OutboxChange::ChatNamed {
            chat_id: w.chat_id.ok_or_else(|| missing("chat_id"))?,
        },
        REACTED => OutboxChange::Reacted {
            message_id: w.message_id.ok_or_else(|| missing("message_id"))?,
            chat_id: w.chat_id,
            reaction: w.reaction.ok_or_else(|| missing("reaction"))?,
            change: match w.operation.as_deref() {
                Some("add") => ReactionChange::Added,
                Some("remove") => ReactionChange::Removed,
                _ => return Err(missing("operation (add or remove)")),
            },
        },
        READ_REFUSED => OutboxChange::ReadRefused {
            chat_id: w.chat_id.ok_or_else(|| missing("chat_id"))?,
            error: w.error.unwrap_or_default(),
        },
        READ_TAKEN => OutboxChange::ReadTaken {
            chat_id: w.chat_id.ok_or_else(|| missing("chat_id"))?,
        },
        _ => return Ok(Fact::Unknown),
    };
    Ok(Fact::Outbox(OutboxFact {
        client_id: w.client_id,
        change,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_change_reads_back_as_itself() {
        let changes = [
            OutboxChange::Queued {
                chat_id: "c1".into(),
                text: "Friday works".into(),
                reply_to: Some(ReplyTo {
                    message_id: "m9".into(),
                    part_index: Some(0),
                }),
                attachments: vec![Attachment {
                    id: Some("upload-1".into()),
                    url: None,
                    filename: Some("plan.pdf".into()),
                    mime_type: Some("application/pdf".into()),
                }],
            },
            OutboxChange::Sent {
                linq_id: "L1".into(),
            },
            OutboxChange::Failed {
                error: "opted out".into(),
            },
            OutboxChange::Retried,
            OutboxChange::Deleted,
            OutboxChange::ChatQueued {
                chat_id: "new:k1".into(),
                from: "+14155550100".into(),
                to: "+14155550199".into(),
                text: "Hi".into(),
            },
            OutboxChange::ChatNamed {
                chat_id: "c-9".into(),
            },
            OutboxChange::Reacted {
                message_id: "m9".into(),
                chat_id: Some("c1".into()),
                reaction: "love".into(),
                change: ReactionChange::Removed,
            },
        ];
        for change in changes {
            let (_, event_type, body) = envelope("k1", &change, 1_000);
            let Some(Ok(Fact::Outbox(f))) = read(event_type, &Data::value(&body["data"])) else {
                panic!("{event_type} did not read back as an outbox fact");
            };
            assert_eq!(f.client_id, "k1", "the client id survives the log");
            assert_eq!(f.change, change, "the change survives the log");
        }
    }

    #[test]
    fn a_failure_logged_twice_is_two_rows_but_a_queued_reply_is_one() {
        let failed = OutboxChange::Failed { error: "x".into() };
        assert_ne!(
            envelope("k", &failed, 1).0,
            envelope("k", &failed, 2).0,
            "each failure is its own row"
        );
        let queued = OutboxChange::Queued {
            chat_id: "c".into(),
            text: "t".into(),
            reply_to: None,
            attachments: Vec::new(),
        };
        assert_eq!(
            envelope("k", &queued, 1).0,
            envelope("k", &queued, 2).0,
            "the same reply queued again is a duplicate of its row"
        );
    }
}
