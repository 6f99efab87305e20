//! The storyteller: a clock, the rep's chats and contacts, and one method per kind of thing
//! that happens in an inbox. Each method appends vendor-shaped envelopes to `out` and
//! remembers what it said, so later events (reactions, read receipts, contact updates) can
//! refer to things that really exist earlier in the stream.

use chrono::{DateTime, Duration, FixedOffset, Offset, Utc};
use serde_json::{json, Value};

use super::cast::{self, ChatSpec, Line, Person, CHATS, LINES, PEOPLE};
use super::delivery::Delivery;
use super::rng::Rng;
use crate::linq::signature::canonical_json;

/// A message already in the stream.
pub(crate) struct Said {
    pub id: String,
    pub chat: usize,
    pub text: String,
    pub sent_at: String,
    /// `None` when the rep sent it.
    pub from: Option<usize>,
    pub read: bool,
}

/// A contact record as Linq last reported it.
struct ContactState {
    created_at: String,
    title: String,
    location: String,
    deleted: bool,
}

pub(crate) enum CallKind {
    Answered(usize),
    Voicemail(usize),
    Missed,
    Outbound,
}

pub(crate) enum Attach {
    Pdf(&'static str),
    Image(&'static str),
}

pub(crate) struct Story {
    pub rng: Rng,
    pub clock: DateTime<Utc>,
    tz: FixedOffset,
    pub out: Vec<Delivery>,
    next_id: u64,
    pub said: Vec<Said>,
    pub members: Vec<Vec<usize>>,
    turn: Vec<usize>,
    contacts: Vec<Option<ContactState>>,
}

impl Story {
    pub(crate) fn new(seed: u64, start: DateTime<Utc>) -> Story {
        // Linq writes local times with the account's offset; the vendor's examples use -06:00.
        let tz = FixedOffset::west_opt(6 * 3600).unwrap_or_else(|| Utc.fix());
        let mut rng = Rng::new(seed);
        let next_id = 27_000_000 + rng.between(0, 900_000) as u64;
        Story {
            rng,
            clock: start,
            tz,
            out: Vec::new(),
            next_id,
            said: Vec::new(),
            members: CHATS.iter().map(|c| c.members.to_vec()).collect(),
            turn: vec![0; CHATS.len()],
            contacts: PEOPLE.iter().map(|_| None).collect(),
        }
    }

    /// Moves the clock forward by a whole number of seconds in `lo..=hi`.
    pub(crate) fn tick(&mut self, lo: i64, hi: i64) {
        let secs = self.rng.between(lo, hi);
        self.clock += Duration::seconds(secs);
    }

    pub(crate) fn advance(&mut self, by: Duration) {
        self.clock += by;
    }

    fn new_id(&mut self) -> String {
        self.next_id += self.rng.between(1, 40) as u64;
        self.next_id.to_string()
    }

    /// `2025-05-21T15:30:00-06:00`: envelopes, read receipts, contacts, membership.
    fn rfc(&self, t: DateTime<Utc>) -> String {
        t.with_timezone(&self.tz)
            .format("%Y-%m-%dT%H:%M:%S%:z")
            .to_string()
    }

    /// `2025-05-21 15:30:00 -0600`: message, reaction, typing and call times.
    fn spaced(&self, t: DateTime<Utc>) -> String {
        t.with_timezone(&self.tz)
            .format("%Y-%m-%d %H:%M:%S %z")
            .to_string()
    }

    /// Mostly the spaced form, sometimes RFC 3339: Linq is not consistent, so neither are we.
    fn either(&mut self, t: DateTime<Utc>) -> String {
        if self.rng.chance(20) {
            self.rfc(t)
        } else {
            self.spaced(t)
        }
    }

    /// Wraps `data` in a v2 envelope stamped with the clock: (event_id, compact body). The body
    /// is the canonical form (keys sorted), which Linq says its signature covers.
    pub(crate) fn envelope(&mut self, event_type: &str, data: Value) -> (String, String) {
        let event_id = self.rng.uuid();
        let envelope = json!({
            "api_version": "v2",
            "created_at": self.rfc(self.clock),
            "data": data,
            "event_id": event_id,
            "event_type": event_type,
        });
        (event_id, canonical_json(&envelope))
    }

    pub(crate) fn emit(&mut self, event_type: &str, data: Value) {
        let (event_id, body) = self.envelope(event_type, data);
        self.out.push(Delivery {
            body,
            event_type: event_type.to_string(),
            event_id,
            tamper: false,
            duplicate_of: None,
        });
    }

    fn spec(chat: usize) -> &'static ChatSpec {
        &CHATS[chat % CHATS.len()]
    }

    fn line(chat: usize) -> &'static Line {
        &LINES[Self::spec(chat).line % LINES.len()]
    }

    fn person(p: usize) -> &'static Person {
        &PEOPLE[p % PEOPLE.len()]
    }

    /// The chat id as text, or now and then as a number: Linq sends ids both ways.
    fn chat_id(&mut self, chat: usize, may_be_number: bool) -> Value {
        let id = Self::spec(chat).id;
        match id.parse::<u64>() {
            Ok(n) if may_be_number && self.rng.chance(30) => json!(n),
            _ => json!(id),
        }
    }

    fn handles(&self, chat: usize) -> Value {
        let mut list: Vec<Value> = self.members[chat]
            .iter()
            .map(|&p| {
                let person = Self::person(p);
                json!({"identifier": person.phone, "display_name": person.full_name(), "is_me": false})
            })
            .collect();
        let me = Self::line(chat);
        list.push(json!({"identifier": me.phone, "display_name": me.display_name, "is_me": true}));
        Value::Array(list)
    }

    /// `chat_handle`: who did it, by handle id and number.
    fn actor(&self, chat: usize, who: Option<usize>) -> Value {
        match who {
            Some(p) => {
                let person = Self::person(p);
                json!({"id": person.handle_id.to_string(), "identifier": person.phone})
            }
            None => {
                let line = Self::spec(chat).line;
                json!({"id": (22_001 + line).to_string(), "identifier": Self::line(chat).phone})
            }
        }
    }

    /// The next thing said in a chat: its script while it lasts, then small talk.
    pub(crate) fn next_line(&mut self, chat: usize) -> (bool, String) {
        let script = Self::spec(chat).script;
        if let Some(&(from_rep, text)) = script.get(self.turn[chat]) {
            self.turn[chat] += 1;
            return (from_rep, text.to_string());
        }
        if self.rng.chance(45) {
            (true, self.rng.pick(&cast::OUTBOUND_SMALL_TALK).to_string())
        } else {
            (false, self.rng.pick(&cast::INBOUND_SMALL_TALK).to_string())
        }
    }

    /// Someone in the chat other than the rep; the first member when asked for one who left.
    pub(crate) fn someone_in(&mut self, chat: usize) -> usize {
        let members = &self.members[chat];
        if members.is_empty() {
            return Self::spec(chat).members.first().copied().unwrap_or(0);
        }
        let i = self.rng.below(members.len());
        members[i]
    }

    pub(crate) fn typing(&mut self, chat: usize, who: usize, on: bool) {
        let mut data = json!({
            "chat_id": self.chat_id(chat, true),
            "display": on,
            "timestamp": self.spaced(self.clock),
            "chat_handles": self.handles(chat),
        });
        // In a group the UI needs to know who is typing; one-to-one chats keep the vendor's shape.
        if Self::spec(chat).title.is_some() {
            data["chat_handle"] = self.actor(chat, Some(who));
        }
        let kind = if on {
            "typing_indicator.received"
        } else {
            "typing_indicator.removed"
        };
        self.emit(kind, data);
    }

    fn attachment(&mut self, attach: &Attach) -> Value {
        let (filename, ext, mime) = match attach {
            Attach::Pdf(name) => (*name, "pdf", "application/pdf"),
            Attach::Image(name) => (*name, "jpg", "image/jpeg"),
        };
        let key = self.rng.hex(24);
        json!({
            "id": self.rng.uuid(),
            "url": format!("https://storage.googleapis.com/linq-files/attachments/{key}.{ext}"),
            "filename": filename,
            "mime_type": mime,
        })
    }

    /// A message in `chat`: from `from`, or from the rep when `None`. Returns its index in `said`.
    pub(crate) fn message(
        &mut self,
        chat: usize,
        from: Option<usize>,
        text: &str,
        attach: Option<Attach>,
    ) -> usize {
        let id = self.new_id();
        let sent_at = self.either(self.clock);
        let from_phone = match from {
            Some(p) => Self::person(p).phone,
            None => Self::line(chat).phone,
        };
        let attachments: Vec<Value> = attach.iter().map(|a| self.attachment(a)).collect();
        let data = json!({
            "id": id,
            "chat_id": Self::spec(chat).id,
            "text": text,
            "sent_at": sent_at,
            "is_read": false,
            "from_phone": from_phone,
            "service": Self::spec(chat).service,
            "reaction_id": null,
            "chat_handles": self.handles(chat),
            "attachments": attachments,
        });
        let kind = if from.is_some() {
            "message.received"
        } else {
            "message.sent"
        };
        self.emit(kind, data);
        self.said.push(Said {
            id,
            chat,
            text: text.to_string(),
            sent_at,
            from,
            read: false,
        });
        self.said.len() - 1
    }

    /// Someone types, sends, and their typing indicator goes away.
    pub(crate) fn inbound(
        &mut self,
        chat: usize,
        who: usize,
        text: &str,
        attach: Option<Attach>,
    ) -> usize {
        self.typing(chat, who, true);
        self.tick(2, 6);
        let said = self.message(chat, Some(who), text, attach);
        self.tick(0, 1);
        self.typing(chat, who, false);
        said
    }

    /// The other side of the chat read one of the rep's messages.
    pub(crate) fn read(&mut self, said: usize) {
        let Some(message) = self.said.get(said) else {
            return;
        };
        let (id, chat) = (message.id.clone(), message.chat);
        let data = json!({
            "id": id,
            "chat_id": self.chat_id(chat, true),
            "read_at": self.rfc(self.clock),
        });
        self.emit("message.read", data);
        self.said[said].read = true;
    }

    /// `who` (the rep when `None`) reacts to an earlier message.
    pub(crate) fn react(&mut self, said: usize, who: Option<usize>, reaction: &str) {
        let Some(message) = self.said.get(said) else {
            return;
        };
        let (message_id, chat) = (message.id.clone(), message.chat);
        let associated =
            json!({"id": message_id, "text": message.text, "sent_at": message.sent_at});
        let id = self.new_id();
        let at = self.spaced(self.clock);
        let data = json!({
            "id": id,
            "chat_message_id": message_id,
            "chat_id": Self::spec(chat).id,
            "reaction": reaction,
            "is_from_me": who.is_none(),
            "sent_at": at,
            "created_at": at,
            "chat_handle": self.actor(chat, who),
            "chat_handles": self.handles(chat),
            "associated_message": associated,
        });
        let kind = if who.is_none() {
            "reaction.sent"
        } else {
            "reaction.received"
        };
        self.emit(kind, data);
    }

    /// A call that ended now, on the rep's `line`.
    pub(crate) fn call(&mut self, person: usize, line: usize, kind: CallKind) {
        let me = LINES[line % LINES.len()].phone;
        let them = Self::person(person).phone;
        let (secs, outbound) = match kind {
            CallKind::Answered(_) => (self.rng.between(120, 900), false),
            CallKind::Voicemail(_) => (self.rng.between(20, 75), false),
            CallKind::Missed => (0, false),
            CallKind::Outbound => (self.rng.between(60, 420), true),
        };
        let ring = self.rng.between(5, 25);
        let end = self.clock;
        let start = end - Duration::seconds(secs + ring);
        let recording = match kind {
            CallKind::Answered(i) => Some(&cast::ANSWERED_CALLS[i % cast::ANSWERED_CALLS.len()]),
            CallKind::Voicemail(i) => Some(&cast::VOICEMAILS[i % cast::VOICEMAILS.len()]),
            _ => None,
        };
        let recording_data = match recording {
            Some(script) => json!({
                "id": self.new_id(),
                "url": format!("https://storage.googleapis.com/linq-files/recordings/{}.mp3", self.rng.hex(24)),
                "duration": secs,
                "transcribed": true,
                "transcript_available": true,
                "transcription": script.transcription,
                "summary": script.summary,
            }),
            None => Value::Null,
        };
        let (status, answered_by, voicemail) = match kind {
            CallKind::Answered(_) => ("completed", json!(me), false),
            CallKind::Voicemail(_) => ("completed", Value::Null, true),
            CallKind::Missed => ("missed", Value::Null, false),
            CallKind::Outbound => ("completed", json!(them), false),
        };
        let (from, to) = if outbound { (me, them) } else { (them, me) };
        let data = json!({
            "id": self.new_id(),
            "to": to,
            "from": from,
            "status": status,
            "direction": if outbound { "outbound" } else { "inbound" },
            "start_time": self.spaced(start),
            "end_time": self.spaced(end),
            "duration": secs,
            "call_type": "normal",
            "forwarded_from": null,
            "answered_by": answered_by,
            "voicemail": voicemail,
            "has_recording": !recording_data.is_null(),
            "recording_data": recording_data,
        });
        self.emit("call.completed", data);
    }

    fn contact_data(&self, p: usize, state: &ContactState, updated_at: &str) -> Value {
        let person = Self::person(p);
        json!({
            "id": person.contact_id,
            "first_name": person.first,
            "last_name": person.last,
            "full_name": person.full_name(),
            "email": person.email,
            "phone_number": person.phone,
            "company": person.company,
            "title": state.title,
            "location": state.location,
            "image_url": null,
            "created_at": state.created_at,
            "updated_at": updated_at,
            "contact_owner": {
                "id": cast::OWNER_ID,
                "email": cast::OWNER_EMAIL,
                "first_name": cast::OWNER_FIRST,
                "last_name": cast::OWNER_LAST,
                "name": format!("{} {}", cast::OWNER_FIRST, cast::OWNER_LAST),
            },
        })
    }

    pub(crate) fn contact_created(&mut self, p: usize) {
        let person = Self::person(p);
        let state = ContactState {
            created_at: self.rfc(self.clock),
            title: person.title.to_string(),
            location: person.location.to_string(),
            deleted: false,
        };
        let data = self.contact_data(p, &state, &state.created_at);
        self.contacts[p] = Some(state);
        self.emit("contact.created", data);
    }

    /// Changes a contact's title or location. The clock moves at least a second first, so
    /// `updated_at` is always newer than what Linq said before.
    pub(crate) fn contact_updated(
        &mut self,
        p: usize,
        title: Option<&str>,
        location: Option<&str>,
    ) {
        self.tick(1, 3);
        let updated_at = self.rfc(self.clock);
        let Some(mut state) = self.contacts[p].take() else {
            return;
        };
        if let Some(title) = title {
            state.title = title.to_string();
        }
        if let Some(location) = location {
            state.location = location.to_string();
        }
        let data = self.contact_data(p, &state, &updated_at);
        self.contacts[p] = Some(state);
        self.emit("contact.updated", data);
    }

    pub(crate) fn contact_deleted(&mut self, p: usize) {
        if let Some(state) = self.contacts[p].as_mut() {
            state.deleted = true;
        }
        self.emit("contact.deleted", json!({"id": Self::person(p).contact_id}));
    }

    /// People with a live contact record, and people without one yet.
    pub(crate) fn contacts_by_state(&self) -> (Vec<usize>, Vec<usize>) {
        let live = (0..PEOPLE.len())
            .filter(|&p| matches!(&self.contacts[p], Some(s) if !s.deleted))
            .collect();
        let missing = (0..PEOPLE.len())
            .filter(|&p| self.contacts[p].is_none())
            .collect();
        (live, missing)
    }

    pub(crate) fn participant(&mut self, chat: usize, p: usize, added: bool) {
        let person = Self::person(p);
        let at_key = if added { "added_at" } else { "removed_at" };
        let mut data = json!({
            "chat_id": Self::spec(chat).id,
            "handle": person.phone,
            "participant": {"handle": person.phone, "display_name": person.full_name()},
        });
        data[at_key] = json!(self.rfc(self.clock));
        let members = &mut self.members[chat];
        members.retain(|&m| m != p);
        if added {
            members.push(p);
        }
        let kind = if added {
            "participant.added"
        } else {
            "participant.removed"
        };
        self.emit(kind, data);
    }

    pub(crate) fn chat_created(&mut self, chat: usize) {
        let spec = Self::spec(chat);
        let data = json!({
            "chat_id": spec.id,
            "display_name": spec.title,
            "is_group": spec.title.is_some(),
            "service": spec.service,
            "chat_handles": self.handles(chat),
            "created_at": self.rfc(self.clock),
        });
        self.emit("chat.created", data);
    }
}
