//! The pure generator: scenario, count, seed and "now" in, signed-to-be deliveries out.
//! No I/O and no clock reads, so tests, benchmarks and the CLI all get the same stream for the
//! same inputs.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use super::cast::{self, *};
use super::delivery::Delivery;
use super::rng::Rng;
use super::story::{Attach as A, CallKind, Story};
use crate::linq::v2::KNOWN_EVENT_TYPES;

/// Which traffic to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scenario {
    /// A coherent story touching every event type: chats, groups, calls, contacts.
    Demo,
    /// Many messages in quick succession from one chat (notification coalescing).
    Burst,
    /// The demo stream with duplicates, shuffled order and about 5% bad signatures.
    Chaos,
}

impl Scenario {
    pub fn as_str(self) -> &'static str {
        match self {
            Scenario::Demo => "demo",
            Scenario::Burst => "burst",
            Scenario::Chaos => "chaos",
        }
    }

    /// The event types a run of the default size is guaranteed to contain.
    pub fn promised_event_types(self) -> &'static [&'static str] {
        match self {
            Scenario::Demo | Scenario::Chaos => &KNOWN_EVENT_TYPES,
            Scenario::Burst => &[
                "message.received",
                "typing_indicator.received",
                "typing_indicator.removed",
            ],
        }
    }
}

impl std::fmt::Display for Scenario {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The default `--count`.
pub const DEFAULT_COUNT: usize = 60;

/// Builds the deliveries of a scenario. About `count` of them (exactly `count` for demo and
/// burst; chaos adds its duplicates), timestamped so the last lands on `now`.
pub fn generate(scenario: Scenario, count: usize, seed: u64, now: DateTime<Utc>) -> Vec<Delivery> {
    match scenario {
        Scenario::Demo => ending_at(now, |start| demo(count, seed, start)),
        Scenario::Burst => ending_at(now, |start| burst(count, seed, start)),
        Scenario::Chaos => chaos(ending_at(now, |start| demo(count, seed, start)), seed),
    }
}

/// Runs a story twice: once to learn how long it lasts, then started that much before `now`,
/// so events look live (the notifier ignores stale ones) without lying in the future.
fn ending_at(now: DateTime<Utc>, tell: impl Fn(DateTime<Utc>) -> Story) -> Vec<Delivery> {
    let span = tell(now).clock - now;
    tell(now - span).out
}

fn demo(count: usize, seed: u64, start: DateTime<Utc>) -> Story {
    let mut story = Story::new(seed, start);
    opening(&mut story);
    while story.out.len() < count {
        ambient(&mut story);
    }
    story.out.truncate(count);
    story
}

/// The first half-hour of the story, written so that every event type appears early.
fn opening(s: &mut Story) {
    s.contact_created(MARIA);
    s.tick(1, 4);
    s.contact_created(KOJI);
    s.tick(2, 6);
    s.chat_created(CHAT_RENEWAL);
    s.tick(2, 6);

    // María asks for the quote; the rep sends it, she reads it and loves it.
    let (_, text) = s.next_line(CHAT_MARIA);
    s.inbound(CHAT_MARIA, MARIA, &text, None);
    s.tick(2, 6);
    let (_, text) = s.next_line(CHAT_MARIA);
    let quote = s.message(
        CHAT_MARIA,
        None,
        &text,
        Some(A::Pdf("Acme_Renewal_Quote_2026.pdf")),
    );
    s.tick(1, 5);
    s.read(quote);
    s.tick(1, 4);
    s.react(quote, Some(MARIA), "love");
    s.tick(2, 6);

    // The renewal group: finance approves, legal joins, finance leaves.
    let (_, text) = s.next_line(CHAT_RENEWAL);
    let approved = s.inbound(CHAT_RENEWAL, ZOE, &text, None);
    s.tick(1, 5);
    s.react(approved, None, "emphasize");
    let (_, text) = s.next_line(CHAT_RENEWAL);
    s.message(CHAT_RENEWAL, None, &text, None);
    s.tick(2, 8);
    let (_, text) = s.next_line(CHAT_RENEWAL);
    s.message(CHAT_RENEWAL, Some(MARIA), &text, None);
    s.tick(1, 3);
    s.participant(CHAT_RENEWAL, SOREN, true);
    s.tick(3, 10);
    let (_, text) = s.next_line(CHAT_RENEWAL);
    s.message(
        CHAT_RENEWAL,
        Some(SOREN),
        &text,
        Some(A::Pdf("Acme_MSA_redlines_v3.pdf")),
    );
    s.tick(3, 8);
    s.participant(CHAT_RENEWAL, ZOE, false);
    s.tick(2, 8);

    // Calls: answered with a recording, a voicemail, a missed call, an outbound call.
    s.call(KOJI, 0, CallKind::Answered(0));
    s.tick(2, 6);
    let (_, text) = s.next_line(CHAT_KOJI);
    let spec = s.message(
        CHAT_KOJI,
        Some(KOJI),
        &text,
        Some(A::Pdf("Northwind_pilot_spec.pdf")),
    );
    s.tick(2, 6);
    s.react(spec, None, "like");
    s.tick(2, 8);
    s.call(AMARA, 0, CallKind::Voicemail(0));
    s.tick(3, 10);
    let (_, text) = s.next_line(CHAT_AMARA);
    s.inbound(CHAT_AMARA, AMARA, &text, None);
    s.tick(2, 8);
    s.call(OLEG, 1, CallKind::Missed);
    s.tick(2, 8);
    let (_, text) = s.next_line(CHAT_OLEG);
    s.inbound(CHAT_OLEG, OLEG, &text, None);
    s.tick(2, 8);
    let (_, text) = s.next_line(CHAT_PRIYA);
    s.message(CHAT_PRIYA, None, &text, None);
    s.tick(4, 12);
    s.call(PRIYA, 1, CallKind::Outbound);
    s.tick(2, 6);

    // Contacts: a promotion, and a duplicate lead created and cleaned up.
    s.contact_updated(MARIA, Some("Head of Procurement"), None);
    s.tick(2, 6);
    s.contact_created(JOSE);
    s.tick(2, 6);
    s.contact_deleted(JOSE);
    s.tick(2, 6);

    s.chat_created(CHAT_PILOT);
    s.tick(2, 6);
    let photo = s.inbound(
        CHAT_PILOT,
        LAN,
        "Whiteboard from today's session",
        Some(A::Image("IMG_4821.jpg")),
    );
    s.tick(1, 5);
    s.react(photo, None, "love");
    s.tick(2, 6);
}

/// Everyday inbox life after the opening, chosen at random.
fn ambient(s: &mut Story) {
    match s.rng.below(100) {
        0..=59 => exchange(s),
        60..=69 => reaction(s),
        70..=79 => read_receipt(s),
        80..=86 => call(s),
        87..=93 => contact_change(s),
        _ => membership_change(s),
    }
    s.tick(1, 6);
}

fn exchange(s: &mut Story) {
    let chat = s.rng.below(CHATS.len());
    let (from_rep, text) = s.next_line(chat);
    let attach = match s.rng.below(12) {
        0 => Some(A::Image("photo.jpg")),
        1 => Some(A::Pdf("proposal.pdf")),
        _ => None,
    };
    if from_rep {
        let sent = s.message(chat, None, &text, attach);
        if s.rng.chance(50) {
            s.tick(2, 10);
            s.read(sent);
        }
    } else {
        let who = s.someone_in(chat);
        s.inbound(chat, who, &text, attach);
    }
}

/// A reaction on an earlier message: the rep reacts to theirs, they react to the rep's.
fn reaction(s: &mut Story) {
    if s.said.is_empty() {
        return exchange(s);
    }
    let said = s.rng.below(s.said.len());
    let kind = *s.rng.pick(&[
        "love",
        "like",
        "like",
        "laugh",
        "emphasize",
        "question",
        "dislike",
    ]);
    let (chat, from) = (s.said[said].chat, s.said[said].from);
    match from {
        Some(_) => s.react(said, None, kind),
        None => {
            let who = s.someone_in(chat);
            s.react(said, Some(who), kind);
        }
    }
}

fn read_receipt(s: &mut Story) {
    let unread: Vec<usize> = (0..s.said.len())
        .filter(|&i| s.said[i].from.is_none() && !s.said[i].read)
        .collect();
    if unread.is_empty() {
        return exchange(s);
    }
    let pick = *s.rng.pick(&unread);
    s.read(pick);
}

fn call(s: &mut Story) {
    let person = *s.rng.pick(&[MARIA, KOJI, PRIYA, AMARA, OLEG, FATIMA]);
    let line = s.rng.below(LINES.len());
    let kind = match s.rng.below(4) {
        0 => CallKind::Answered(s.rng.below(cast::ANSWERED_CALLS.len())),
        1 => CallKind::Voicemail(s.rng.below(cast::VOICEMAILS.len())),
        2 => CallKind::Missed,
        _ => CallKind::Outbound,
    };
    s.call(person, line, kind);
}

fn contact_change(s: &mut Story) {
    let (live, missing) = s.contacts_by_state();
    // Jose's record was deleted as a duplicate; the story never brings him back.
    let missing: Vec<usize> = missing.into_iter().filter(|&p| p != JOSE).collect();
    if !missing.is_empty() && (live.is_empty() || s.rng.chance(50)) {
        let p = *s.rng.pick(&missing);
        return s.contact_created(p);
    }
    if live.is_empty() {
        return exchange(s);
    }
    let p = *s.rng.pick(&live);
    if s.rng.chance(50) {
        let title = *s.rng.pick(&[
            "VP Procurement",
            "Director of Operations",
            "Chief of Staff",
            "Buyer II",
        ]);
        s.contact_updated(p, Some(title), None);
    } else {
        let place = *s.rng.pick(&[
            "Denver, CO",
            "Toronto, ON",
            "Ciudad de México",
            "London, UK",
        ]);
        s.contact_updated(p, None, Some(place));
    }
}

/// People come and go in the pilot group; it always keeps at least two other members.
fn membership_change(s: &mut Story) {
    let who = *s.rng.pick(&[AMARA, FATIMA, PRIYA]);
    let present = s.members[CHAT_PILOT].contains(&who);
    if present && s.members[CHAT_PILOT].len() > 2 {
        s.participant(CHAT_PILOT, who, false);
    } else if !present {
        s.participant(CHAT_PILOT, who, true);
        s.tick(2, 8);
        s.inbound(CHAT_PILOT, who, "Thanks for adding me 👋", None);
    } else {
        exchange(s);
    }
}

/// One chat, many quick messages: someone thinking out loud in several bubbles.
fn burst(count: usize, seed: u64, start: DateTime<Utc>) -> Story {
    let mut s = Story::new(seed, start);
    while s.out.len() < count {
        s.typing(CHAT_MARIA, MARIA, true);
        s.tick(1, 3);
        for _ in 0..s.rng.between(3, 8) {
            let text = *s.rng.pick(&cast::BURST_LINES);
            s.message(CHAT_MARIA, Some(MARIA), text, None);
            s.tick(0, 1);
        }
        s.typing(CHAT_MARIA, MARIA, false);
        s.tick(0, 2);
    }
    s.out.truncate(count);
    s
}

/// Redelivers about one in eight events, shuffles everything, and spoils about 5% of the
/// signatures: what a flaky network and a misconfigured secret look like together.
pub(super) fn chaos(mut out: Vec<Delivery>, seed: u64) -> Vec<Delivery> {
    if out.is_empty() {
        return out;
    }
    // A different stream from the story's, so chaos does not change the demo it starts from.
    let mut rng = Rng::new(seed ^ 0xC4A0_5C4A_05C4_A05C);
    let originals = out.len();
    for _ in 0..(originals / 8).max(1) {
        let copy = out[rng.below(originals)].clone();
        out.push(copy);
    }
    rng.shuffle(&mut out);
    let mut order: Vec<usize> = (0..out.len()).collect();
    rng.shuffle(&mut order);
    for &i in order.iter().take((out.len() * 5 / 100).max(1)) {
        out[i].tamper = true;
    }
    mark_duplicates(&mut out);
    out
}

/// The first delivery of each `event_id` is the original; later ones point back at it.
fn mark_duplicates(out: &mut [Delivery]) {
    let mut first: HashMap<String, usize> = HashMap::new();
    for (i, delivery) in out.iter_mut().enumerate() {
        delivery.duplicate_of = match first.get(&delivery.event_id) {
            Some(&original) => Some(original),
            None => {
                first.insert(delivery.event_id.clone(), i);
                None
            }
        };
    }
}

/// Unique `message.received` deliveries of about `payload_bytes` bytes each, spread over
/// many chats, for benchmarks. Timestamps end near `now`.
pub fn generate_load(
    count: usize,
    seed: u64,
    now: DateTime<Utc>,
    payload_bytes: usize,
) -> Vec<Delivery> {
    let step = Duration::milliseconds(20);
    let start = now - step * i32::try_from(count).unwrap_or(i32::MAX);
    let mut s = Story::new(seed, start);
    let chats = (count / 10).clamp(1, 500);
    for _ in 0..count {
        let chat = s.rng.below(chats);
        load_message(&mut s, chat, payload_bytes);
        s.advance(step);
    }
    s.out
}

fn load_message(s: &mut Story, chat: usize, payload_bytes: usize) {
    let name = format!(
        "{} {}",
        cast::LOAD_FIRST[chat % cast::LOAD_FIRST.len()],
        cast::LOAD_LAST[(chat / cast::LOAD_FIRST.len()) % cast::LOAD_LAST.len()]
    );
    let phone = format!(
        "+1{}555{:04}",
        cast::AREA_CODES[chat % cast::AREA_CODES.len()],
        chat
    );
    let me = &LINES[chat % LINES.len()];
    let id = (40_000_000 + s.out.len()).to_string();
    let sent_at = s.clock.format("%Y-%m-%d %H:%M:%S +0000").to_string();
    let data = |text: &str| {
        json!({
            "id": id, "chat_id": (600_000 + chat).to_string(), "text": text, "sent_at": sent_at,
            "is_read": false, "from_phone": phone, "service": "iMessage", "reaction_id": null,
            "chat_handles": [
                {"identifier": phone, "display_name": name, "is_me": false},
                {"identifier": me.phone, "display_name": me.display_name, "is_me": true},
            ],
            "attachments": [],
        })
    };
    // Measure the envelope with no text, then fill the text to reach the size asked for.
    let (_, bare) = s.envelope("message.received", data(""));
    let text = filler(&mut s.rng, payload_bytes.saturating_sub(bare.len()).max(8));
    s.emit("message.received", data(&text));
}

fn filler(rng: &mut Rng, len: usize) -> String {
    let mut text = String::with_capacity(len + 16);
    while text.len() < len {
        if !text.is_empty() {
            text.push(' ');
        }
        let word = *rng.pick(&cast::FILLER);
        text.push_str(word);
    }
    // Filler words are ASCII, so any byte length is a character boundary.
    text.truncate(len);
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linq::{parse_envelope, Direction, Fact, MembershipChange};
    use chrono::TimeZone;
    use std::collections::HashSet;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 27, 0, 30, 0)
            .single()
            .expect("a valid instant")
    }

    fn envelopes(deliveries: &[Delivery]) -> Vec<crate::linq::Envelope> {
        deliveries
            .iter()
            .map(|d| {
                parse_envelope(&d.body)
                    .unwrap_or_else(|e| panic!("{} does not parse: {e}\n{}", d.event_type, d.body))
            })
            .collect()
    }

    #[test]
    fn every_scenario_covers_the_event_types_it_promises() {
        for scenario in [Scenario::Demo, Scenario::Burst, Scenario::Chaos] {
            for seed in 0..20 {
                let out = generate(scenario, DEFAULT_COUNT, seed, now());
                let seen: HashSet<&str> = out.iter().map(|d| d.event_type.as_str()).collect();
                for wanted in scenario.promised_event_types() {
                    assert!(
                        seen.contains(wanted),
                        "{scenario} (seed {seed}) promises {wanted}"
                    );
                }
            }
        }
        assert_eq!(
            Scenario::Demo.promised_event_types().len(),
            14,
            "demo covers the 13 v2 types and chat.created"
        );
    }

    #[test]
    fn demo_and_burst_make_exactly_count_and_chaos_adds_duplicates() {
        assert_eq!(
            generate(Scenario::Demo, 100, 1, now()).len(),
            100,
            "demo makes exactly --count deliveries"
        );
        assert_eq!(
            generate(Scenario::Burst, 37, 1, now()).len(),
            37,
            "burst makes exactly --count deliveries"
        );
        assert!(
            generate(Scenario::Chaos, 60, 1, now()).len() > 60,
            "chaos adds redeliveries"
        );
        assert!(
            generate(Scenario::Demo, 0, 1, now()).is_empty(),
            "zero means nothing"
        );
        assert!(
            generate(Scenario::Chaos, 0, 1, now()).is_empty(),
            "chaos of nothing is nothing"
        );
    }

    #[test]
    fn the_generator_is_deterministic_for_a_seed() {
        for scenario in [Scenario::Demo, Scenario::Burst, Scenario::Chaos] {
            let a = generate(scenario, 80, 42, now());
            let b = generate(scenario, 80, 42, now());
            assert_eq!(a, b, "{scenario}: same seed, same stream");
            let c = generate(scenario, 80, 43, now());
            assert_ne!(a, c, "{scenario}: another seed, another stream");
        }
    }

    #[test]
    fn every_body_is_an_envelope_the_engine_accepts() {
        for scenario in [Scenario::Demo, Scenario::Burst, Scenario::Chaos] {
            for seed in 0..10 {
                let out = generate(scenario, 120, seed, now());
                for (d, env) in out.iter().zip(envelopes(&out)) {
                    assert_eq!(env.event_type, d.event_type, "the label matches the body");
                    assert_eq!(env.event_id, d.event_id, "the label matches the body");
                    assert_eq!(
                        env.meta.api_version.as_deref(),
                        Some("v2"),
                        "the simulator speaks v2 unless told otherwise"
                    );
                    assert!(
                        !matches!(env.fact, Fact::Unknown),
                        "{} is a known type",
                        d.event_type
                    );
                }
            }
        }
    }

    #[test]
    fn tampered_deliveries_carry_a_signature_that_does_not_verify() {
        use crate::linq::signature::verify;
        use crate::linq::Secret;
        let mut delivery = generate(Scenario::Demo, 1, 2, now()).remove(0);
        let secrets = [Secret::new("k")];
        let good = delivery.signature(b"k");
        assert!(
            verify(&secrets, Some(&good), delivery.body.as_bytes()).is_ok(),
            "an honest delivery's signature verifies"
        );
        delivery.tamper = true;
        let bad = delivery.signature(b"k");
        assert!(
            verify(&secrets, Some(&bad), delivery.body.as_bytes()).is_err(),
            "a tampered delivery's signature does not verify"
        );
    }

    #[test]
    fn event_ids_are_unique_outside_chaos() {
        let out = generate(Scenario::Demo, 300, 5, now());
        let ids: HashSet<&str> = out.iter().map(|d| d.event_id.as_str()).collect();
        assert_eq!(ids.len(), out.len(), "only chaos redelivers");
    }

    #[test]
    fn timestamps_are_live_and_both_vendor_forms_appear() {
        for seed in 0..30 {
            for env in envelopes(&generate(Scenario::Demo, DEFAULT_COUNT, seed, now())) {
                let at = env.created_at.expect("every envelope is stamped").0.utc;
                assert!(at <= now(), "nothing is stamped in the future: {at}");
                // The notifier treats anything older than five minutes as history, not news.
                let age = now() - at;
                assert!(age < Duration::minutes(5), "seed {seed}: {at} looks live");
            }
        }
        let out = generate(Scenario::Demo, DEFAULT_COUNT, 9, now());
        let bodies: String = out.iter().map(|d| d.body.as_str()).collect();
        assert!(bodies.contains(" -0600\""), "the spaced form appears");
        assert!(bodies.contains("-06:00\""), "the RFC 3339 form appears");
        let numeric_contact_id = bodies.contains("\"id\":1201");
        assert!(
            numeric_contact_id,
            "contact ids are numbers, as Linq sends them"
        );
    }

    #[test]
    fn reactions_and_read_receipts_refer_to_earlier_messages() {
        for seed in 0..20 {
            let out = generate(Scenario::Demo, 200, seed, now());
            let mut sent = HashSet::new();
            let mut received = HashSet::new();
            for (d, env) in out.iter().zip(envelopes(&out)) {
                match env.fact {
                    Fact::Message(m) if m.direction == Direction::Outbound => {
                        sent.insert(m.id);
                    }
                    Fact::Message(m) => {
                        received.insert(m.id);
                    }
                    Fact::Reaction(r) => {
                        let target = r.message_id;
                        assert!(
                            sent.contains(&target) || received.contains(&target),
                            "seed {seed}: reaction to {target}, which came earlier"
                        );
                        let body: serde_json::Value =
                            serde_json::from_str(&d.body).expect("every body is JSON");
                        assert_eq!(
                            body["data"]["associated_message"]["id"].as_str(),
                            body["data"]["chat_message_id"].as_str(),
                            "associated_message matches chat_message_id"
                        );
                    }
                    Fact::Read(read) => {
                        assert!(
                            sent.contains(&read.message_id),
                            "seed {seed}: read receipts are for the rep's messages"
                        );
                    }
                    _ => {}
                }
            }
        }
    }

    #[test]
    fn groups_change_membership_with_named_participants() {
        let out = generate(Scenario::Demo, DEFAULT_COUNT, 3, now());
        let changes: Vec<_> = envelopes(&out)
            .into_iter()
            .filter_map(|env| match env.fact {
                Fact::Membership(p) => Some(p),
                _ => None,
            })
            .collect();
        assert!(changes.len() >= 2, "someone joins and someone leaves");
        assert!(
            changes.iter().any(|p| p.change == MembershipChange::Added)
                && changes
                    .iter()
                    .any(|p| p.change == MembershipChange::Removed),
            "both joins and leaves"
        );
        for p in changes {
            assert!(p.chat_id.is_some(), "a membership change names its chat");
            assert!(
                p.handles.iter().any(|h| h.display_name.is_some()),
                "and who, by name"
            );
        }
    }

    #[test]
    fn groups_are_named_before_anyone_speaks_in_them() {
        for seed in 0..10 {
            let mut named = HashSet::new();
            for env in envelopes(&generate(Scenario::Demo, 200, seed, now())) {
                match env.fact {
                    Fact::ChatCreated(c) => {
                        named.insert(c.chat_id.expect("names its chat"));
                    }
                    Fact::Message(m) if m.handles.len() > 2 => {
                        assert!(
                            named.contains(&m.chat_id),
                            "seed {seed}: group {} has a title first",
                            m.chat_id
                        );
                    }
                    _ => {}
                }
            }
        }
    }

    #[test]
    fn burst_stays_in_one_chat() {
        let out = generate(Scenario::Burst, 200, 4, now());
        let chats: HashSet<String> = envelopes(&out)
            .into_iter()
            .filter_map(|env| match env.fact {
                Fact::Message(m) => Some(m.chat_id),
                Fact::Typing(t) => Some(t.chat_id),
                _ => None,
            })
            .collect();
        assert_eq!(chats.len(), 1, "a burst is one chat: {chats:?}");
        let messages = out
            .iter()
            .filter(|d| d.event_type == "message.received")
            .count();
        assert!(
            messages * 10 >= out.len() * 7,
            "a burst is mostly messages: {messages} of {}",
            out.len()
        );
    }

    #[test]
    fn chaos_redelivers_shuffles_and_tampers() {
        let demo = generate(Scenario::Demo, 100, 8, now());
        let out = generate(Scenario::Chaos, 100, 8, now());
        let dups: Vec<(usize, usize)> = out
            .iter()
            .enumerate()
            .filter_map(|(i, d)| d.duplicate_of.map(|o| (i, o)))
            .collect();
        assert!(!dups.is_empty(), "chaos redelivers");
        for (i, original) in dups {
            assert!(original < i, "a duplicate points back at the first copy");
            assert_eq!(
                out[i].body, out[original].body,
                "a redelivery is byte-identical"
            );
        }
        let tampered = out.iter().filter(|d| d.tamper).count();
        assert!(
            tampered >= 1 && tampered * 100 <= out.len() * 6,
            "about 5% tampered: {tampered}"
        );
        let demo_ids: Vec<&str> = demo.iter().map(|d| d.event_id.as_str()).collect();
        let chaos_ids: Vec<&str> = out
            .iter()
            .filter(|d| d.duplicate_of.is_none())
            .map(|d| d.event_id.as_str())
            .collect();
        assert_ne!(demo_ids, chaos_ids, "order is shuffled");
        let (a, b): (HashSet<&str>, HashSet<&str>) = (
            demo_ids.into_iter().collect(),
            chaos_ids.into_iter().collect(),
        );
        assert_eq!(a, b, "the same events, every one of them");
    }

    #[test]
    fn load_deliveries_have_the_size_asked_for_and_are_unique() {
        let out = generate_load(500, 1, now(), 2048);
        assert_eq!(out.len(), 500, "load makes exactly the count asked for");
        for d in &out {
            assert_eq!(
                d.event_type, "message.received",
                "load deliveries are all inbound messages"
            );
            let len = d.body.len();
            assert!(
                (2048..2048 + 16).contains(&len) || len > 2048 && d.body.len() < 2200,
                "{len} bytes"
            );
        }
        let ids: HashSet<&str> = out.iter().map(|d| d.event_id.as_str()).collect();
        assert_eq!(ids.len(), 500, "every load delivery is new");
        let chats: HashSet<String> = envelopes(&out)
            .into_iter()
            .filter_map(|e| match e.fact {
                Fact::Message(m) => Some(m.chat_id),
                _ => None,
            })
            .collect();
        assert!(chats.len() >= 40, "spread over many chats: {}", chats.len());
    }
}
