//! `simulate --api-version v3`: the same story told the way Linq's API v3 tells it.
//!
//! The v2 story is generated first, then each delivery is rewritten into its v3 shape
//! (`linq-v3-webhooks.md` §2–§5) and what only v3 says is woven in where it would happen:
//! delivery reports and a failure after the rep's messages, an edit, replies, custom-emoji and
//! sticker reactions and a removal, call stages, group name and icon changes, location sharing
//! and a number's health. Contacts have no v3 webhook and are left out. Pure and deterministic
//! like the v2 generator: same inputs, same stream.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};

use super::delivery::Delivery;
use super::generate::{chaos, generate, Scenario};
use super::rng::Rng;
use crate::linq::signature::canonical_json;
use crate::linq::time;
use crate::linq::v3::KNOWN_V3_EVENT_TYPES;

/// The v3 event types a default-size demo run contains: every type this build projects.
pub const PROMISED_V3_EVENT_TYPES: [&str; 25] = KNOWN_V3_EVENT_TYPES;

/// The v3 stream for a scenario: about `count` deliveries (chaos adds redeliveries).
pub fn generate_v3(
    scenario: Scenario,
    count: usize,
    seed: u64,
    now: DateTime<Utc>,
) -> Vec<Delivery> {
    let base = match scenario {
        Scenario::Burst => Scenario::Burst,
        Scenario::Demo | Scenario::Chaos => Scenario::Demo,
    };
    let v2 = generate(base, count, seed, now);
    let mut out = Translator::new(seed).translate(&v2);
    out.truncate(count);
    match scenario {
        Scenario::Chaos => chaos(out, seed),
        _ => out,
    }
}

const PARTNER_ID: &str = "partner-linq-inbox-simulator";

struct Translator {
    rng: Rng,
    out: Vec<Delivery>,
    /// v3 message data by id, for `message.read` and `message.delivered` (they carry it whole).
    messages: HashMap<String, Value>,
    /// The last message the rep sent in each chat, for replies.
    last_outbound: HashMap<String, String>,
    /// Chats already announced with `chat.created`.
    created: HashSet<String>,
    outbound_seen: usize,
    inbound_seen: usize,
    reactions_seen: usize,
    calls_seen: usize,
    unanswered_seen: usize,
    failed_attempt: bool,
    renamed: bool,
    located: bool,
    health_reported: bool,
}

impl Translator {
    fn new(seed: u64) -> Translator {
        Translator {
            // Its own stream, so the v3 extras never change the v2 story they decorate.
            rng: Rng::new(seed ^ 0x7633_7633_7633_7633),
            out: Vec::new(),
            messages: HashMap::new(),
            last_outbound: HashMap::new(),
            created: HashSet::new(),
            outbound_seen: 0,
            inbound_seen: 0,
            reactions_seen: 0,
            calls_seen: 0,
            unanswered_seen: 0,
            failed_attempt: false,
            renamed: false,
            located: false,
            health_reported: false,
        }
    }

    fn translate(mut self, v2: &[Delivery]) -> Vec<Delivery> {
        for delivery in v2 {
            let Ok(envelope) = serde_json::from_str::<Value>(&delivery.body) else {
                continue;
            };
            let at = envelope["created_at"]
                .as_str()
                .and_then(time::parse)
                .map(|s| s.utc)
                .unwrap_or_else(Utc::now);
            let data = &envelope["data"];
            if !self.health_reported {
                self.health_reported = true;
                self.number_health(at, data);
            }
            match delivery.event_type.as_str() {
                "message.sent" | "message.received" => self.message(delivery, at, data),
                "message.read" => self.read(delivery, at, data),
                "reaction.sent" | "reaction.received" => self.reaction(delivery, at, data),
                "typing_indicator.received" | "typing_indicator.removed" => {
                    let kind = if delivery.event_type.ends_with("received") {
                        "chat.typing_indicator.started"
                    } else {
                        "chat.typing_indicator.stopped"
                    };
                    let chat_id = text_of(&data["chat_id"]);
                    self.emit_as(delivery, kind, at, json!({"chat_id": chat_id}));
                }
                "call.completed" => self.call(at, data),
                "participant.added" | "participant.removed" => self.participant(delivery, at, data),
                "chat.created" => self.chat_created(Some(delivery), at, data),
                // Contacts have no v3 webhook (`contact_card.*` is the rep's own card).
                _ => {}
            }
        }
        self.out
    }

    fn emit_as(&mut self, original: &Delivery, event_type: &str, at: DateTime<Utc>, data: Value) {
        self.push(original.event_id.clone(), event_type, at, data);
    }

    fn emit(&mut self, event_type: &str, at: DateTime<Utc>, data: Value) {
        let id = self.rng.uuid();
        self.push(id, event_type, at, data);
    }

    fn push(&mut self, event_id: String, event_type: &str, at: DateTime<Utc>, data: Value) {
        let envelope = json!({
            "api_version": "v3",
            "webhook_version": "2026-02-03",
            "event_type": event_type,
            "event_id": event_id,
            "created_at": time::format_utc(&at),
            "trace_id": format!("trace-{}", self.rng.hex(16)),
            "partner_id": PARTNER_ID,
            "data": data,
        });
        self.out.push(Delivery {
            body: canonical_json(&envelope),
            event_type: event_type.to_string(),
            event_id,
            tamper: false,
            duplicate_of: None,
        });
    }

    fn number_health(&mut self, at: DateTime<Utc>, data: &Value) {
        let number = data["chat_handles"]
            .as_array()
            .and_then(|hs| hs.iter().find(|h| h["is_me"] == json!(true)))
            .and_then(|h| h["identifier"].as_str())
            .unwrap_or("+17205550142")
            .to_string();
        self.emit(
            "phone_number.status_updated",
            at,
            json!({"phone_number": number, "changed_at": time::format_utc(&at),
                   "previous_status": "ACTIVE", "new_status": "ACTIVE",
                   "previous_reputation": "HEALTHY", "new_reputation": "AT_RISK"}),
        );
    }

    fn chat_created(&mut self, original: Option<&Delivery>, at: DateTime<Utc>, data: &Value) {
        let chat_id = text_of(&data["chat_id"]);
        if !self.created.insert(chat_id.clone()) {
            return;
        }
        let service = data["service"].as_str().unwrap_or("iMessage").to_string();
        let handles: Vec<Value> = data["chat_handles"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|h| {
                handle(
                    h["identifier"].as_str().unwrap_or(""),
                    h["is_me"] == json!(true),
                    &service,
                )
            })
            .collect();
        let is_group = handles.len() > 2 || data["is_group"] == json!(true);
        let title = data["display_name"].clone();
        let v3 = json!({
            "id": chat_id, "created_at": time::format_utc(&at), "updated_at": time::format_utc(&at),
            "display_name": title, "handles": handles, "health_status": "healthy",
            "is_group": is_group, "service": service,
        });
        match original {
            Some(d) => self.emit_as(d, "chat.created", at, v3),
            None => self.emit("chat.created", at, v3),
        }
        if is_group && !self.renamed {
            self.renamed = true;
            let me = me_of(data);
            let old = title.as_str().unwrap_or("Group").to_string();
            let at = at + Duration::seconds(2);
            self.emit(
                "chat.group_name_updated",
                at,
                json!({"chat_id": chat_id, "updated_at": time::format_utc(&at),
                       "changed_by_handle": handle(&me, true, &service),
                       "old_value": old, "new_value": format!("{old} (2027)")}),
            );
            let at = at + Duration::seconds(1);
            let icon = format!(
                "https://cdn.linqapp.example/group-icons/{}.png",
                self.rng.hex(12)
            );
            self.emit(
                "chat.group_icon_updated",
                at,
                json!({"chat_id": chat_id, "updated_at": time::format_utc(&at),
                       "changed_by_handle": handle(&me, true, &service),
                       "old_value": null, "new_value": icon}),
            );
        }
    }

    fn message(&mut self, original: &Delivery, at: DateTime<Utc>, v2: &Value) {
        let chat_id = text_of(&v2["chat_id"]);
        // v3 messages name only their sender; announce the chat (and who is in it) first.
        if !self.created.contains(&chat_id) {
            self.chat_created(None, at - Duration::seconds(1), v2);
        }
        let outbound = original.event_type == "message.sent";
        let id = text_of(&v2["id"]);
        let service = v2["service"].as_str().unwrap_or("iMessage").to_string();
        let sent_at = stamp(&v2["sent_at"]).unwrap_or(at);
        let from = v2["from_phone"].as_str().unwrap_or("").to_string();
        let mut parts = Vec::new();
        if let Some(text) = v2["text"].as_str().filter(|t| !t.is_empty()) {
            parts.push(json!({"type": "text", "value": text, "text_decorations": null}));
        }
        for a in v2["attachments"].as_array().into_iter().flatten() {
            parts.push(
                json!({"type": "media", "id": a["id"], "filename": a["filename"],
                              "mime_type": a["mime_type"], "size_bytes": 48_213, "url": a["url"]}),
            );
        }
        let reply_to = if outbound {
            None
        } else {
            self.inbound_seen += 1;
            // Every third inbound message answers the rep's last one in that chat.
            self.last_outbound
                .get(&chat_id)
                .filter(|_| self.inbound_seen % 3 == 1)
                .map(|m| json!({"message_id": m, "part_index": 0}))
        };
        let data = json!({
            "id": id,
            "chat": {"id": chat_id, "health_status": "healthy",
                     "is_group": v2["chat_handles"].as_array().is_some_and(|h| h.len() > 2),
                     "owner_handle": handle(&me_of(v2), true, &service)},
            "direction": if outbound { "outbound" } else { "inbound" },
            "parts": parts,
            "sender_handle": handle(&from, outbound, &service),
            "service": service,
            "sent_at": time::format_utc(&sent_at),
            "delivered_at": null,
            "read_at": null,
            "effect": null,
            "reply_to": reply_to,
            "idempotency_key": null,
        });
        self.messages.insert(id.clone(), data.clone());
        self.emit_as(original, &original.event_type, at, data.clone());
        if outbound {
            self.outbound_seen += 1;
            self.last_outbound.insert(chat_id.clone(), id.clone());
            let later = at + Duration::seconds(self.rng.between(1, 3));
            if self.outbound_seen == 2 {
                self.emit(
                    "message.failed",
                    later,
                    json!({"code": 4001, "failed_at": time::format_utc(&later), "message_id": id,
                           "chat_id": chat_id, "reason": "The recipient is not reachable on iMessage",
                           "detail_code": null, "service": "iMessage", "preferred_service": null}),
                );
            } else {
                let mut delivered = data;
                delivered["delivered_at"] = json!(time::format_utc(&later));
                self.messages.insert(id, delivered.clone());
                self.emit("message.delivered", later, delivered);
            }
        } else {
            self.inbound_extras(at, &chat_id, &id, &from, &data);
        }
    }

    /// After an inbound message: once an edit, and once location sharing in a one-to-one chat.
    fn inbound_extras(
        &mut self,
        at: DateTime<Utc>,
        chat_id: &str,
        id: &str,
        from: &str,
        data: &Value,
    ) {
        let text = data["parts"][0]["value"].as_str().map(str::to_string);
        if self.inbound_seen == 2 {
            if let Some(text) = text {
                let later = at + Duration::seconds(4);
                self.emit(
                    "message.edited",
                    later,
                    json!({"id": id, "chat": data["chat"], "direction": "inbound",
                           "edited_at": time::format_utc(&later),
                           "part": {"index": 0, "text": format!("{text} (edited: Thursday works better)")},
                           "sender_handle": data["sender_handle"]}),
                );
            }
        }
        if !self.located && data["chat"]["is_group"] == json!(false) {
            self.located = true;
            let me = data["chat"]["owner_handle"]["handle"].clone();
            let began = at + Duration::seconds(1);
            let ends = began + Duration::hours(1);
            self.emit(
                "location.sharing.started",
                began,
                json!({"shared_by": from, "shared_with": me, "began_at": time::format_utc(&began),
                       "ends_at": time::format_utc(&ends), "chat_id": chat_id}),
            );
            let ended = began + Duration::seconds(30);
            self.emit(
                "location.sharing.stopped",
                ended,
                json!({"shared_by": from, "shared_with": me, "began_at": time::format_utc(&began),
                       "ended_at": time::format_utc(&ended), "chat_id": chat_id}),
            );
        }
    }

    fn read(&mut self, original: &Delivery, at: DateTime<Utc>, v2: &Value) {
        let id = text_of(&v2["id"]);
        let Some(mut data) = self.messages.get(&id).cloned() else {
            return;
        };
        let read_at = stamp(&v2["read_at"]).unwrap_or(at);
        data["read_at"] = json!(time::format_utc(&read_at));
        self.emit_as(original, "message.read", at, data);
    }

    fn reaction(&mut self, original: &Delivery, at: DateTime<Utc>, v2: &Value) {
        self.reactions_seen += 1;
        let mine = v2["is_from_me"] == json!(true);
        let (kind, custom, sticker) = match self.reactions_seen % 5 {
            2 => ("custom", json!("🎉"), Value::Null),
            4 => (
                "sticker",
                Value::Null,
                json!({"file_name": "thumbs.heic", "mime_type": "image/heic",
                       "url": "https://cdn.linqapp.example/stickers/thumbs.heic", "width": 160, "height": 160}),
            ),
            _ => (
                v2["reaction"].as_str().unwrap_or("like"),
                Value::Null,
                Value::Null,
            ),
        };
        let from = v2["chat_handle"]["identifier"]
            .as_str()
            .unwrap_or("")
            .to_string();
        let reacted = stamp(&v2["sent_at"]).unwrap_or(at);
        let data = json!({
            "is_from_me": mine, "reaction_type": kind, "chat_id": text_of(&v2["chat_id"]),
            "message_id": text_of(&v2["chat_message_id"]), "part_index": 0,
            "reacted_at": time::format_utc(&reacted),
            "from_handle": handle(&from, mine, "iMessage"), "service": "iMessage",
            "custom_emoji": custom, "sticker": sticker,
        });
        self.emit_as(original, "reaction.added", at, data.clone());
        if self.reactions_seen == 3 {
            let later = at + Duration::seconds(5);
            let mut removed = data;
            removed["reacted_at"] = json!(time::format_utc(&later));
            self.emit("reaction.removed", later, removed);
        }
    }

    /// A v2 call record becomes the stages v3 reports: the first call in full (initiated,
    /// ringing, answered, ended), later ones by how they ended; unanswered calls alternate
    /// between no answer and declined, and the first outbound call follows a failed attempt.
    fn call(&mut self, at: DateTime<Utc>, v2: &Value) {
        self.calls_seen += 1;
        let first = self.calls_seen == 1;
        let id = format!("call-{}", text_of(&v2["id"]));
        let start = stamp(&v2["start_time"]).unwrap_or(at);
        let end = stamp(&v2["end_time"]).unwrap_or(at);
        let outbound = v2["direction"] == json!("outbound");
        let answered = !v2["answered_by"].is_null() || outbound;
        let stage = |call_id: &str, extra: Value| {
            let mut d = json!({"call_id": call_id, "from": v2["from"], "to": v2["to"],
                               "direction": v2["direction"], "started_at": time::format_utc(&start)});
            if let (Some(d), Some(extra)) = (d.as_object_mut(), extra.as_object()) {
                d.extend(extra.clone());
            }
            d
        };
        if outbound && !self.failed_attempt {
            self.failed_attempt = true;
            let attempt = format!("{id}-attempt");
            let t = start - Duration::seconds(40);
            let data = stage(
                &attempt,
                json!({"started_at": time::format_utc(&t),
                                              "ended_at": time::format_utc(&t), "duration": 0}),
            );
            self.emit("call.failed", t, data);
        }
        if first {
            self.emit("call.initiated", start, stage(&id, json!({})));
            self.emit(
                "call.ringing",
                start + Duration::seconds(1),
                stage(&id, json!({})),
            );
        }
        let last = if answered {
            if first {
                self.emit(
                    "call.answered",
                    start + Duration::seconds(8),
                    stage(&id, json!({})),
                );
            }
            "call.ended"
        } else {
            self.unanswered_seen += 1;
            if self.unanswered_seen % 2 == 1 {
                "call.no_answer"
            } else {
                "call.declined"
            }
        };
        let duration = if answered {
            v2["duration"].clone()
        } else {
            json!(0)
        };
        let finish = json!({"ended_at": time::format_utc(&end), "duration": duration});
        self.emit(last, end, stage(&id, finish));
    }

    fn participant(&mut self, original: &Delivery, at: DateTime<Utc>, v2: &Value) {
        let phone = v2["handle"].as_str().unwrap_or("").to_string();
        let mut data = json!({
            "chat_id": text_of(&v2["chat_id"]),
            "handle": phone,
            "participant": handle(&phone, false, "iMessage"),
        });
        for key in ["added_at", "removed_at"] {
            if let Some(t) = stamp(&v2[key]) {
                data[key] = json!(time::format_utc(&t));
            }
        }
        self.emit_as(original, &original.event_type, at, data);
    }
}

/// A v3 ChatHandle for a number.
fn handle(number: &str, is_me: bool, service: &str) -> Value {
    json!({"id": format!("h-{}", number.trim_start_matches('+')), "handle": number,
           "joined_at": "2026-01-05T16:00:00Z", "service": service, "is_me": is_me,
           "left_at": null, "status": "active"})
}

/// The rep's number among a v2 payload's `chat_handles`.
fn me_of(v2: &Value) -> String {
    v2["chat_handles"]
        .as_array()
        .and_then(|hs| hs.iter().find(|h| h["is_me"] == json!(true)))
        .and_then(|h| h["identifier"].as_str())
        .unwrap_or("")
        .to_string()
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

fn stamp(v: &Value) -> Option<DateTime<Utc>> {
    v.as_str().and_then(time::parse).map(|s| s.utc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linq::{parse_envelope, Fact};

    fn now() -> DateTime<Utc> {
        time::parse("2026-11-20T17:15:00Z")
            .map(|s| s.utc)
            .expect("fixed now")
    }

    #[test]
    fn a_default_demo_has_every_promised_v3_type_and_every_body_is_v3() {
        let out = generate_v3(Scenario::Demo, super::super::DEFAULT_COUNT, 7, now());
        assert_eq!(
            out.len(),
            super::super::DEFAULT_COUNT,
            "exactly --count deliveries"
        );
        let types: HashSet<&str> = out.iter().map(|d| d.event_type.as_str()).collect();
        for t in PROMISED_V3_EVENT_TYPES {
            assert!(types.contains(t), "{t} is in the default v3 demo");
        }
        for d in &out {
            let v: Value = serde_json::from_str(&d.body).expect("JSON");
            assert_eq!(
                v["api_version"],
                json!("v3"),
                "every body of a v3 demo is a v3 envelope"
            );
            let env = parse_envelope(&v.to_string()).expect("a v3 envelope");
            assert!(
                !matches!(env.fact, Fact::Unknown),
                "{} is projected, not kept raw",
                d.event_type
            );
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_stream() {
        assert_eq!(
            generate_v3(Scenario::Demo, 80, 3, now()),
            generate_v3(Scenario::Demo, 80, 3, now()),
            "the same seed gives the same v3 stream"
        );
    }
}
