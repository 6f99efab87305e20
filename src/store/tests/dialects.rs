//! One model for every dialect: the same conversation told as v2 webhooks and as v3 webhooks
//! ends in the same inbox, as the rep sees it (chat list, threads, search).
//!
//! Conversations are drawn from what both dialects can say: chats announced with their people,
//! messages in both directions with text and attachments, read receipts, tapbacks, and people
//! joining or leaving groups. Calls (v3 tells them stage by stage, with fields v2 never sends)
//! and contacts (v3 has no contact webhooks) are covered by their own tests.

use proptest::prelude::*;
use rusqlite::Connection;
use serde_json::{json, Value};

use super::convergence::{
    blank_arrival_ties, dump_queries, ingest, memory_db, shuffled_with_duplicates, SEARCH_DUMP,
};
use crate::store::chat_list;
use crate::store::thread::{thread, Window};

const ME: &str = "+17205550142";
const TAPBACKS: [&str; 6] = ["love", "like", "dislike", "laugh", "emphasize", "question"];

/// One fact of a conversation, before it is told in either dialect.
#[derive(Debug, Clone)]
enum Told {
    ChatCreated {
        chat: usize,
        people: Vec<usize>,
    },
    Message {
        chat: usize,
        id: usize,
        from: Option<usize>,
        text: Option<String>,
        attachments: usize,
        second: i64,
    },
    Read {
        chat: usize,
        message: usize,
        second: i64,
    },
    Reaction {
        chat: usize,
        message: usize,
        from: Option<usize>,
        kind: &'static str,
        second: i64,
    },
    Membership {
        chat: usize,
        person: usize,
        added: bool,
        second: i64,
    },
}

fn person(n: usize) -> String {
    format!("+1415555{n:04}")
}

fn person_name(n: usize) -> String {
    format!("Person {n}")
}

fn time(second: i64) -> String {
    let at = chrono::DateTime::from_timestamp(1_790_000_000 + second, 0).unwrap_or_default();
    crate::linq::time::format_utc(&at)
}

/// A conversation: each chat announced with its people, then its messages, receipts on the
/// rep's messages, reactions, and for groups someone joining or leaving.
fn conversation() -> impl Strategy<Value = Vec<Told>> {
    let chat = (
        prop::collection::vec(0usize..6, 1..4),
        prop::collection::vec(
            (
                any::<bool>(),
                any::<prop::sample::Index>(),
                prop::option::of("[a-z ]{1,20}"),
                0usize..3,
            ),
            1..7,
        ),
        prop::collection::vec(
            (any::<prop::sample::Index>(), any::<bool>(), 0usize..6),
            0..4,
        ),
        prop::option::of((6usize..9, any::<bool>())),
    );
    prop::collection::vec(chat, 1..4).prop_map(|chats| {
        let mut told = Vec::new();
        let mut second = 0;
        let mut next_id = 0;
        for (chat, (mut people, messages, reactions, membership)) in chats.into_iter().enumerate() {
            people.sort_unstable();
            people.dedup();
            told.push(Told::ChatCreated {
                chat,
                people: people.clone(),
            });
            let mut ids = Vec::new();
            for (mine, who, text, attachments) in messages {
                second += 1;
                next_id += 1;
                let from = (!mine).then(|| *who.get(&people));
                // A message says something: text, or at least one attachment.
                let attachments = if text.is_none() {
                    attachments.max(1)
                } else {
                    attachments
                };
                told.push(Told::Message {
                    chat,
                    id: next_id,
                    from,
                    text,
                    attachments,
                    second,
                });
                ids.push((next_id, mine));
                if mine {
                    second += 1;
                    told.push(Told::Read {
                        chat,
                        message: next_id,
                        second,
                    });
                }
            }
            for (which, mine, kind) in reactions {
                second += 1;
                let (message, _) = *which.get(&ids);
                told.push(Told::Reaction {
                    chat,
                    message,
                    from: (!mine).then(|| people[kind % people.len()]),
                    kind: TAPBACKS[kind],
                    second,
                });
            }
            if let Some((newcomer, added)) = membership.filter(|_| people.len() > 1) {
                second += 1;
                told.push(Told::Membership {
                    chat,
                    person: newcomer,
                    added,
                    second,
                });
            }
        }
        told
    })
}

fn chat_id(chat: usize) -> String {
    format!("chat-{chat}")
}

fn message_id(id: usize) -> String {
    format!("msg-{id}")
}

/// The people of each chat, as the conversation announced them.
fn people_of(told: &[Told], chat: usize) -> Vec<usize> {
    told.iter()
        .find_map(|t| match t {
            Told::ChatCreated { chat: c, people } if *c == chat => Some(people.clone()),
            _ => None,
        })
        .unwrap_or_default()
}

fn attachment(id: usize, n: usize) -> (String, String, String) {
    (
        format!("att-{id}-{n}"),
        format!("https://cdn.example/{id}/{n}.jpg"),
        format!("photo {id} {n}.jpg"),
    )
}

/// The conversation as Linq's v2 webhooks tell it.
fn as_v2(told: &[Told]) -> Vec<String> {
    let handles = |chat: usize| -> Vec<Value> {
        let mut list = vec![json!({"identifier": ME, "is_me": true})];
        for p in people_of(told, chat) {
            list.push(
                json!({"identifier": person(p), "display_name": person_name(p), "is_me": false}),
            );
        }
        list
    };
    told.iter()
        .enumerate()
        .map(|(n, t)| {
            let (event_type, data) = match t {
                Told::ChatCreated { chat, people } => (
                    "chat.created",
                    json!({"chat_id": chat_id(*chat), "is_group": people.len() > 1,
                           "chat_handles": handles(*chat)}),
                ),
                Told::Message {
                    chat,
                    id,
                    from,
                    text,
                    attachments,
                    second,
                } => {
                    let files: Vec<Value> = (0..*attachments)
                        .map(|i| {
                            let (aid, url, name) = attachment(*id, i);
                            json!({"id": aid, "url": url, "filename": name, "mime_type": "image/jpeg"})
                        })
                        .collect();
                    (
                        if from.is_none() { "message.sent" } else { "message.received" },
                        json!({"id": message_id(*id), "chat_id": chat_id(*chat), "text": text,
                               "sent_at": time(*second), "service": "iMessage",
                               "from_phone": from.map(person).unwrap_or_else(|| ME.into()),
                               "chat_handles": handles(*chat), "attachments": files}),
                    )
                }
                Told::Read {
                    chat,
                    message,
                    second,
                } => (
                    "message.read",
                    json!({"id": message_id(*message), "chat_id": chat_id(*chat),
                           "read_at": time(*second)}),
                ),
                Told::Reaction {
                    chat,
                    message,
                    from,
                    kind,
                    second,
                } => (
                    if from.is_none() { "reaction.sent" } else { "reaction.received" },
                    json!({"id": format!("r{n}"), "chat_message_id": message_id(*message),
                           "chat_id": chat_id(*chat), "reaction": kind, "is_from_me": from.is_none(),
                           "sent_at": time(*second),
                           "chat_handle": {"identifier": from.map(person).unwrap_or_else(|| ME.into())}}),
                ),
                Told::Membership {
                    chat,
                    person: p,
                    added,
                    second,
                } => membership(*chat, *p, *added, *second),
            };
            json!({"api_version": "v2", "event_type": event_type, "event_id": format!("e{n}"),
                   "created_at": time(0), "data": data})
            .to_string()
        })
        .collect()
}

fn membership(chat: usize, p: usize, added: bool, second: i64) -> (&'static str, Value) {
    let (kind, at) = if added {
        ("participant.added", "added_at")
    } else {
        ("participant.removed", "removed_at")
    };
    (
        kind,
        json!({"chat_id": chat_id(chat), at: time(second),
               "participant": {"handle": person(p), "display_name": person_name(p)}}),
    )
}

/// A v3 ChatHandle.
fn handle(number: &str, is_me: bool, name: Option<String>) -> Value {
    json!({"id": format!("h{number}"), "handle": number, "is_me": is_me, "display_name": name,
           "service": "iMessage", "status": "active"})
}

/// The conversation as Linq's v3 webhooks (2026-02-03) tell it.
fn as_v3(told: &[Told]) -> Vec<String> {
    let messages: std::collections::HashMap<usize, Value> = told
        .iter()
        .filter_map(|t| match t {
            Told::Message {
                chat,
                id,
                from,
                text,
                attachments,
                second,
            } => {
                let mut parts: Vec<Value> = text
                    .iter()
                    .map(|t| json!({"type": "text", "value": t}))
                    .collect();
                parts.extend((0..*attachments).map(|i| {
                    let (aid, url, name) = attachment(*id, i);
                    json!({"type": "media", "id": aid, "url": url, "filename": name,
                           "mime_type": "image/jpeg", "size_bytes": 10})
                }));
                let is_group = people_of(told, *chat).len() > 1;
                let sender = match from {
                    Some(p) => handle(&person(*p), false, None),
                    None => handle(ME, true, None),
                };
                Some((
                    *id,
                    json!({"id": message_id(*id),
                           "chat": {"id": chat_id(*chat), "is_group": is_group,
                                    "owner_handle": handle(ME, true, None)},
                           "direction": if from.is_none() { "outbound" } else { "inbound" },
                           "parts": parts, "sender_handle": sender, "service": "iMessage",
                           "sent_at": time(*second)}),
                ))
            }
            _ => None,
        })
        .collect();
    told.iter()
        .enumerate()
        .map(|(n, t)| {
            let (event_type, data) = match t {
                Told::ChatCreated { chat, people } => {
                    let mut list = vec![handle(ME, true, None)];
                    list.extend(
                        people
                            .iter()
                            .map(|p| handle(&person(*p), false, Some(person_name(*p)))),
                    );
                    (
                        "chat.created",
                        json!({"id": chat_id(*chat), "is_group": people.len() > 1, "handles": list}),
                    )
                }
                Told::Message { id, from, .. } => (
                    if from.is_none() { "message.sent" } else { "message.received" },
                    messages[id].clone(),
                ),
                Told::Read {
                    message, second, ..
                } => {
                    let mut data = messages[message].clone();
                    data["read_at"] = json!(time(*second));
                    ("message.read", data)
                }
                Told::Reaction {
                    chat,
                    message,
                    from,
                    kind,
                    second,
                } => (
                    "reaction.added",
                    json!({"is_from_me": from.is_none(), "reaction_type": kind,
                           "chat_id": chat_id(*chat), "message_id": message_id(*message),
                           "part_index": 0, "reacted_at": time(*second),
                           "from_handle": handle(&from.map(person).unwrap_or_else(|| ME.into()), from.is_none(), None)}),
                ),
                Told::Membership {
                    chat,
                    person: p,
                    added,
                    second,
                } => membership(*chat, *p, *added, *second),
            };
            json!({"api_version": "v3", "webhook_version": "2026-02-03", "event_type": event_type,
                   "event_id": format!("e{n}"), "created_at": time(0), "data": data})
            .to_string()
        })
        .collect()
}

/// The inbox as the rep sees it: the chat list, every thread, and the search index. The one
/// thing only v2 says, a reaction's own vendor id, is left out of the comparison, and so are
/// ties taken from the order of arrival (the two tellings log different rows).
fn inbox(conn: &Connection) -> Vec<String> {
    let list = chat_list::chats(conn, None, 1000).expect("chat list");
    let mut out = vec![without_vendor_reaction_ids(
        serde_json::to_value(&list).expect("json"),
    )];
    for chat in &list {
        let (items, _) = thread(conn, &chat.chat_id, Window::Latest, 1000).expect("thread");
        out.push(without_vendor_reaction_ids(
            serde_json::to_value(&items).expect("json"),
        ));
    }
    out.extend(dump_queries(conn, &[SEARCH_DUMP]));
    out
}

/// The JSON with every reaction's `id` blanked (v2 shows Linq's id, v3 has none to show), and
/// every arrival tie.
fn without_vendor_reaction_ids(mut v: Value) -> String {
    blank_arrival_ties(&mut v);
    fn walk(v: &mut Value) {
        match v {
            Value::Object(o) => {
                if let Some(Value::Array(reactions)) = o.get_mut("reactions") {
                    for r in reactions.iter_mut() {
                        r["id"] = Value::Null;
                    }
                }
                o.values_mut().for_each(walk);
            }
            Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut v);
    serde_json::to_string_pretty(&v).unwrap_or_default()
}

fn told_as(bodies: &[&String]) -> Vec<String> {
    let conn = memory_db();
    for body in bodies {
        ingest(&conn, body);
    }
    inbox(&conn)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn a_conversation_told_in_v2_or_v3_is_the_same_inbox(told in conversation(), seed in any::<u64>()) {
        let v2 = as_v2(&told);
        let v3 = as_v3(&told);
        let from_v2 = told_as(&v2.iter().collect::<Vec<_>>());
        let from_v3 = told_as(&v3.iter().collect::<Vec<_>>());
        prop_assert_eq!(&from_v2, &from_v3, "v2 and v3 tell the same conversation");
        // In any order, with redeliveries, v3 still ends where v2 did.
        let shuffled = told_as(&shuffled_with_duplicates(&v3, seed, 3));
        prop_assert_eq!(&from_v2, &shuffled, "a shuffled v3 stream converges to the same inbox");
    }
}

#[test]
fn the_two_tellings_really_differ_on_the_wire() {
    let told = vec![
        Told::ChatCreated {
            chat: 0,
            people: vec![1],
        },
        Told::Message {
            chat: 0,
            id: 1,
            from: Some(1),
            text: Some("can we move the demo".into()),
            attachments: 1,
            second: 1,
        },
    ];
    let (v2, v3) = (as_v2(&told), as_v3(&told));
    assert!(
        v2[1].contains("\"text\"") && !v3[1].contains("\"text\":\"can"),
        "v2 sends text, v3 sends parts: the parity test compares two real dialects"
    );
    let inbox = told_as(&v3.iter().collect::<Vec<_>>());
    assert!(
        inbox[0].contains("can we move the demo") && inbox[0].contains("Person 1"),
        "the v3 telling reaches the chat list, with the sender's name"
    );
}
