//! The notification rules and the little state they need (recent arrivals per chat, recent
//! notifications overall, held summaries, event ids already decided).

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};

use super::incoming::{CallOutcome, Incoming, What};
use super::text;
use crate::store::settings::UiSettings;

/// The numbers behind the rules. [`Rules::default`] is what the desktop app uses.
#[derive(Clone, Debug, PartialEq)]
pub struct Rules {
    /// This many events from one chat within `burst_window` notify one by one; more are held
    /// and summed up in one notification when the window has passed.
    pub burst_count: usize,
    pub burst_window: TimeDelta,
    /// At most this many notifications per `rate_window`, whatever their chats.
    pub rate_limit: usize,
    pub rate_window: TimeDelta,
    /// Events that happened longer ago than this are history, not news.
    pub max_age: TimeDelta,
    /// Longest message preview, in characters.
    pub preview_chars: usize,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            burst_count: 3,
            burst_window: TimeDelta::seconds(5),
            rate_limit: 10,
            rate_window: TimeDelta::seconds(60),
            max_age: TimeDelta::minutes(5),
            preview_chars: 140,
        }
    }
}

/// What the rep is looking at: the chat open in the UI and whether the window has focus.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Viewing {
    pub chat_id: Option<String>,
    pub focused: bool,
}

impl From<&crate::feed::Presence> for Viewing {
    fn from(presence: &crate::feed::Presence) -> Viewing {
        Viewing {
            chat_id: presence.chat_id.clone(),
            focused: presence.focused,
        }
    }
}

impl Viewing {
    fn is_looking_at(&self, chat_id: &str) -> bool {
        self.focused && self.chat_id.as_deref() == Some(chat_id)
    }
}

/// A notification to show, already worded.
#[derive(Clone, Debug, PartialEq)]
pub struct Notification {
    pub kind: Kind,
    /// Plain text (no markup), one line.
    pub title: String,
    /// Plain text (no markup), one line.
    pub body: String,
    /// The chat a click opens; `None` opens the inbox.
    pub chat_id: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Message,
    Call,
    Reaction,
    /// Several events folded into one: a burst from one chat, or what the rate cap held back.
    Summary,
}

/// The policy's answer for one event.
#[derive(Clone, Debug, PartialEq)]
pub enum Decision {
    Show(Notification),
    Suppress(Suppressed),
}

/// Why an event gives no notification (now). Shown in the shell's debug log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Suppressed {
    /// Not a kind of event that notifies (typing, receipts, contacts...).
    NotNotifiable,
    /// The rep's own message, call or reaction.
    Own,
    /// The rep switched this kind of notification off.
    Disabled,
    /// Happened longer ago than [`Rules::max_age`].
    Stale,
    /// This event id was decided before.
    Duplicate,
    Muted,
    DoNotDisturb,
    /// The rep is looking at this chat in the focused window.
    Viewing,
    /// Part of a burst from one chat; counted into that chat's summary.
    Coalesced,
    /// Over the global rate cap; counted into the "N more" summary.
    RateLimited,
}

impl fmt::Display for Suppressed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Suppressed::NotNotifiable => "not a notifying event",
            Suppressed::Own => "sent by the rep",
            Suppressed::Disabled => "this kind of notification is off",
            Suppressed::Stale => "too old to be news",
            Suppressed::Duplicate => "already decided",
            Suppressed::Muted => "the chat is muted",
            Suppressed::DoNotDisturb => "do not disturb is on",
            Suppressed::Viewing => "the rep is looking at this chat",
            Suppressed::Coalesced => "part of a burst; summed up shortly",
            Suppressed::RateLimited => "over the rate cap; summed up shortly",
        })
    }
}

/// How many event ids are remembered to refuse a second notification for the same event.
const REMEMBERED_IDS: usize = 1024;
const NAME_CHARS: usize = 60;

/// The notification policy and its state. One per running app.
#[derive(Debug)]
pub struct Policy {
    rules: Rules,
    /// The last `burst_count` arrival times per chat (arrivals that passed every other rule).
    arrivals: HashMap<String, VecDeque<DateTime<Utc>>>,
    /// Bursts being counted, per chat, until their summary is due.
    held: BTreeMap<String, HeldBurst>,
    /// Times of the last `rate_limit` notifications shown.
    shown: VecDeque<DateTime<Utc>>,
    /// What the rate cap held back, waiting for room.
    overflow: Option<Overflow>,
    seen: HashSet<String>,
    seen_order: VecDeque<String>,
}

#[derive(Debug)]
struct HeldBurst {
    count: usize,
    due: DateTime<Utc>,
    /// The title of the latest held notification: the sender, or "sender · group".
    title: String,
}

#[derive(Debug)]
struct Overflow {
    count: usize,
    /// The one chat everything held belongs to, so a click can open it; `None` once two chats
    /// (or a notification without a chat) are held, and from then on until it is shown.
    chat_id: Option<String>,
}

impl Policy {
    pub fn new(rules: Rules) -> Policy {
        Policy {
            rules,
            arrivals: HashMap::new(),
            held: BTreeMap::new(),
            shown: VecDeque::new(),
            overflow: None,
            seen: HashSet::new(),
            seen_order: VecDeque::new(),
        }
    }

    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// Decide about one event at `now`. A `Show` counts against the rate cap: the caller is
    /// expected to show it.
    pub fn decide(
        &mut self,
        event: &Incoming,
        prefs: &UiSettings,
        viewing: &Viewing,
        now: DateTime<Utc>,
    ) -> Decision {
        match self.filter(event, prefs, viewing, now) {
            Ok(notification) => self.pace(notification, now),
            Err(reason) => Decision::Suppress(reason),
        }
    }

    /// Summaries that are due at `now`: bursts whose window has passed, and what the rate cap
    /// held back once there is room. A summary for a chat that was muted, or is being looked
    /// at, in the meantime is dropped, and nothing is released during do-not-disturb.
    pub fn tick(
        &mut self,
        prefs: &UiSettings,
        viewing: &Viewing,
        now: DateTime<Utc>,
    ) -> Vec<Notification> {
        let due: Vec<String> = self
            .held
            .iter()
            .filter(|(_, burst)| burst.due <= now)
            .map(|(chat, _)| chat.clone())
            .collect();
        let quiet = prefs.quiet_at(now);
        let mut out = Vec::new();
        for chat_id in due {
            let Some(burst) = self.held.remove(&chat_id) else {
                continue;
            };
            if quiet || prefs.is_muted(&chat_id) || viewing.is_looking_at(&chat_id) {
                continue;
            }
            let summary = Notification {
                kind: Kind::Summary,
                title: burst.title,
                body: text::more(burst.count, "message", "messages"),
                chat_id: Some(chat_id.clone()),
            };
            if self.has_room(now) {
                self.shown.push_back(now);
                out.push(summary);
            } else {
                self.hold_overflow(Some(&chat_id), burst.count);
            }
        }
        if quiet {
            self.overflow = None;
        } else if self.overflow.is_some() && self.has_room(now) {
            if let Some(overflow) = self.overflow.take() {
                self.shown.push_back(now);
                out.push(Notification {
                    kind: Kind::Summary,
                    title: "Linq Inbox".into(),
                    body: text::more(overflow.count, "notification", "notifications"),
                    chat_id: overflow.chat_id,
                });
            }
        }
        out
    }

    /// When [`Policy::tick`] next has something to release, if anything is held.
    pub fn next_due(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let burst = self.held.values().map(|b| b.due).min();
        let overflow = self.overflow.as_ref().map(|_| self.room_at(now));
        burst.into_iter().chain(overflow).min()
    }

    /// Rules 1 to 7: whether the event deserves a notification at all, and its wording.
    fn filter(
        &mut self,
        event: &Incoming,
        prefs: &UiSettings,
        viewing: &Viewing,
        now: DateTime<Utc>,
    ) -> Result<Notification, Suppressed> {
        let (own, enabled) = match &event.what {
            What::Other => return Err(Suppressed::NotNotifiable),
            What::Message { outbound, .. } => (*outbound, prefs.notify.message),
            What::Call { outbound, .. } => (*outbound, prefs.notify.call),
            What::Reaction { from_me, .. } => (*from_me, prefs.notify.reaction),
            What::CaughtUp { .. } => (false, prefs.notify.message),
        };
        if own {
            return Err(Suppressed::Own);
        }
        if !enabled {
            return Err(Suppressed::Disabled);
        }
        if event
            .created_at
            .is_some_and(|at| now - at > self.rules.max_age)
        {
            return Err(Suppressed::Stale);
        }
        if let Some(id) = &event.event_id {
            if !self.remember(id) {
                return Err(Suppressed::Duplicate);
            }
        }
        let chat_id = event.chat_id.as_deref();
        if chat_id.is_some_and(|c| prefs.is_muted(c)) {
            return Err(Suppressed::Muted);
        }
        if prefs.quiet_at(now) {
            return Err(Suppressed::DoNotDisturb);
        }
        if chat_id.is_some_and(|c| viewing.is_looking_at(c)) {
            return Err(Suppressed::Viewing);
        }
        self.word(event, prefs).ok_or(Suppressed::NotNotifiable)
    }

    /// Rules 8 and 9: bursts per chat, then the global rate cap.
    fn pace(&mut self, notification: Notification, now: DateTime<Utc>) -> Decision {
        if let Some(chat_id) = &notification.chat_id {
            let window = self.rules.burst_window;
            let limit = self.rules.burst_count;
            let arrivals = self.arrivals.entry(chat_id.clone()).or_default();
            let in_burst = arrivals.len() >= limit
                && arrivals
                    .get(arrivals.len() - limit)
                    .is_some_and(|t| now - *t < window);
            arrivals.push_back(now);
            while arrivals.len() > limit {
                arrivals.pop_front();
            }
            if in_burst || self.held.contains_key(chat_id) {
                let burst = self.held.entry(chat_id.clone()).or_insert(HeldBurst {
                    count: 0,
                    due: now + window,
                    title: String::new(),
                });
                burst.count += 1;
                burst.title = notification.title;
                return Decision::Suppress(Suppressed::Coalesced);
            }
        }
        if !self.has_room(now) {
            self.hold_overflow(notification.chat_id.as_deref(), 1);
            return Decision::Suppress(Suppressed::RateLimited);
        }
        self.shown.push_back(now);
        self.forget_idle_chats(now);
        Decision::Show(notification)
    }

    fn has_room(&mut self, now: DateTime<Utc>) -> bool {
        while self
            .shown
            .front()
            .is_some_and(|t| now - *t >= self.rules.rate_window)
        {
            self.shown.pop_front();
        }
        self.shown.len() < self.rules.rate_limit
    }

    /// When the oldest notification that counts against the cap stops counting.
    fn room_at(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        if self.shown.len() < self.rules.rate_limit {
            return now;
        }
        self.shown
            .front()
            .map_or(now, |t| *t + self.rules.rate_window)
    }

    fn hold_overflow(&mut self, chat_id: Option<&str>, count: usize) {
        let overflow = self.overflow.get_or_insert_with(|| Overflow {
            count: 0,
            chat_id: chat_id.map(str::to_owned),
        });
        overflow.count += count;
        // `None` is never replaced by a chat: once mixed, it stays mixed.
        if overflow.chat_id.as_deref() != chat_id {
            overflow.chat_id = None;
        }
    }

    /// Remember an event id; false when it was already remembered.
    fn remember(&mut self, id: &str) -> bool {
        if self.seen.contains(id) {
            return false;
        }
        self.seen.insert(id.to_owned());
        self.seen_order.push_back(id.to_owned());
        if self.seen_order.len() > REMEMBERED_IDS {
            if let Some(old) = self.seen_order.pop_front() {
                self.seen.remove(&old);
            }
        }
        true
    }

    /// Drop arrival history that can no longer start a burst, so a long-running app with
    /// thousands of chats keeps only the recent ones.
    fn forget_idle_chats(&mut self, now: DateTime<Utc>) {
        let window = self.rules.burst_window;
        if self.arrivals.len() > 256 {
            self.arrivals
                .retain(|_, times| times.back().is_some_and(|t| now - *t < window));
        }
    }

    /// The notification's wording; `None` for an event kind that never notifies.
    fn word(&self, event: &Incoming, prefs: &UiSettings) -> Option<Notification> {
        let chat_id = event.chat_id.clone();
        let preview = |s: &str| text::clean_line(s, self.rules.preview_chars);
        let notification = match &event.what {
            What::Message {
                from,
                group,
                text: body,
                attachments,
                ..
            } => {
                let from = text::name_or(from, "Unknown sender", NAME_CHARS);
                let title = match group.as_deref().map(|g| text::clean_line(g, NAME_CHARS)) {
                    Some(g) if !g.is_empty() => format!("{from} · {g}"),
                    _ => from,
                };
                let shown = body.as_deref().map(preview).unwrap_or_default();
                let body = if !prefs.previews {
                    "New message".to_owned()
                } else if !shown.is_empty() {
                    shown
                } else if *attachments > 0 {
                    format!(
                        "Sent {}",
                        text::count(*attachments, "attachment", "attachments")
                    )
                } else {
                    "New message".to_owned()
                };
                Notification {
                    kind: Kind::Message,
                    title,
                    body,
                    chat_id,
                }
            }
            What::CaughtUp { messages, chats } => Notification {
                kind: Kind::Summary,
                title: "Linq Inbox".to_owned(),
                body: format!(
                    "{} in {} while you were away",
                    text::count(*messages, "new message", "new messages"),
                    text::count(*chats, "chat", "chats")
                ),
                chat_id: None,
            },
            What::Call { from, outcome, .. } => {
                let title = text::name_or(from, "Unknown caller", NAME_CHARS);
                let body = match outcome {
                    CallOutcome::Missed => "Missed call".to_owned(),
                    CallOutcome::Voicemail { summary } => {
                        match summary.as_deref().map(preview).filter(|s| !s.is_empty()) {
                            Some(s) if prefs.previews => format!("Voicemail: {s}"),
                            _ => "New voicemail".to_owned(),
                        }
                    }
                    CallOutcome::Answered {
                        duration_secs: Some(secs),
                    } => format!("Answered call · {}", text::duration(*secs)),
                    CallOutcome::Answered {
                        duration_secs: None,
                    } => "Answered call".to_owned(),
                };
                Notification {
                    kind: Kind::Call,
                    title,
                    body,
                    chat_id,
                }
            }
            What::Reaction {
                from,
                reaction,
                message_text,
                ..
            } => {
                let title = text::name_or(from, "Someone", NAME_CHARS);
                let verb = text::reaction_verb(reaction);
                let quoted = message_text
                    .as_deref()
                    .map(preview)
                    .filter(|s| !s.is_empty());
                let body = match quoted {
                    Some(q) if prefs.previews => format!("{verb} “{q}”"),
                    _ => format!("{verb} a message"),
                };
                Notification {
                    kind: Kind::Reaction,
                    title,
                    body,
                    chat_id,
                }
            }
            What::Other => return None,
        };
        Some(notification)
    }
}

impl Default for Policy {
    fn default() -> Self {
        Policy::new(Rules::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::settings::NotifyEvents;

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-27T10:00:00Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    }

    fn secs(s: i64) -> TimeDelta {
        TimeDelta::seconds(s)
    }

    fn ms(m: i64) -> TimeDelta {
        TimeDelta::milliseconds(m)
    }

    fn message(id: &str, chat: &str, from: &str, text: &str, at: DateTime<Utc>) -> Incoming {
        Incoming {
            event_id: Some(id.into()),
            chat_id: Some(chat.into()),
            created_at: Some(at),
            what: What::Message {
                from: from.into(),
                group: None,
                text: Some(text.into()),
                attachments: 0,
                outbound: false,
            },
        }
    }

    fn call(id: &str, outcome: CallOutcome, at: DateTime<Utc>) -> Incoming {
        Incoming {
            event_id: Some(id.into()),
            chat_id: Some("c1".into()),
            created_at: Some(at),
            what: What::Call {
                from: "John Doe".into(),
                outbound: false,
                outcome,
            },
        }
    }

    fn reaction(id: &str, from_me: bool, at: DateTime<Utc>) -> Incoming {
        Incoming {
            event_id: Some(id.into()),
            chat_id: Some("c1".into()),
            created_at: Some(at),
            what: What::Reaction {
                from: "John Doe".into(),
                reaction: "like".into(),
                from_me,
                message_text: Some("See you at 2".into()),
            },
        }
    }

    fn shown(d: Decision) -> Notification {
        match d {
            Decision::Show(n) => n,
            Decision::Suppress(why) => panic!("expected a notification, got suppressed: {why}"),
        }
    }

    fn decide(p: &mut Policy, e: &Incoming, now: DateTime<Utc>) -> Decision {
        p.decide(e, &UiSettings::default(), &Viewing::default(), now)
    }

    #[test]
    fn a_catch_up_is_one_summary_once_and_quiet_under_do_not_disturb() {
        let away = Incoming {
            event_id: Some("sync-2026-11-27T09:00:00Z".into()),
            chat_id: None,
            created_at: None,
            what: What::CaughtUp {
                messages: 7,
                chats: 3,
            },
        };
        let mut p = Policy::new(Rules::default());
        let n = shown(decide(&mut p, &away, t0()));
        assert_eq!(n.kind, Kind::Summary, "one summary for the whole catch-up");
        assert_eq!(
            n.body, "7 new messages in 3 chats while you were away",
            "the summary counts messages and chats"
        );
        assert_eq!(
            decide(&mut p, &away, t0() + secs(1)),
            Decision::Suppress(Suppressed::Duplicate),
            "the same pass never notifies twice"
        );
        let quiet = UiSettings {
            do_not_disturb: true,
            ..UiSettings::default()
        };
        let mut fresh = Policy::new(Rules::default());
        assert_eq!(
            fresh.decide(&away, &quiet, &Viewing::default(), t0()),
            Decision::Suppress(Suppressed::DoNotDisturb),
            "do-not-disturb holds the summary back like any message"
        );
    }

    #[test]
    fn an_inbound_message_shows_sender_and_text() {
        let mut p = Policy::default();
        let n = shown(decide(
            &mut p,
            &message("e1", "c1", "John Doe", "Hello, how are you?", t0()),
            t0(),
        ));
        assert_eq!(
            n.kind,
            Kind::Message,
            "an inbound message notifies as a message"
        );
        assert_eq!(n.title, "John Doe", "the title names the sender");
        assert_eq!(
            n.body, "Hello, how are you?",
            "the body shows the message text"
        );
        assert_eq!(n.chat_id.as_deref(), Some("c1"), "a click opens the chat");
    }

    #[test]
    fn previews_off_hides_the_text_but_not_the_sender() {
        let mut p = Policy::default();
        let prefs = UiSettings {
            previews: false,
            ..UiSettings::default()
        };
        let n = shown(p.decide(
            &message("e1", "c1", "John Doe", "the secret price is 42", t0()),
            &prefs,
            &Viewing::default(),
            t0(),
        ));
        assert_eq!(
            n.title, "John Doe",
            "the sender still shows with previews off"
        );
        assert_eq!(n.body, "New message", "with previews off no text may leak");
    }

    #[test]
    fn group_messages_name_the_group_and_attachments_say_so() {
        let mut p = Policy::default();
        let e = Incoming {
            what: What::Message {
                from: "Ana".into(),
                group: Some("Team\nLunch".into()),
                text: None,
                attachments: 2,
                outbound: false,
            },
            ..message("e1", "g1", "", "", t0())
        };
        let n = shown(decide(&mut p, &e, t0()));
        assert_eq!(
            n.title, "Ana · Team Lunch",
            "a group message names sender and group, on one line"
        );
        assert_eq!(
            n.body, "Sent 2 attachments",
            "a message with only attachments says how many"
        );
    }

    #[test]
    fn a_sender_without_a_printable_name_is_unknown() {
        let mut p = Policy::default();
        let n = shown(decide(
            &mut p,
            &message("e1", "c1", "\u{202E} ", "hi", t0()),
            t0(),
        ));
        assert_eq!(
            n.title, "Unknown sender",
            "a name with nothing printable reads as an unknown sender"
        );
    }

    #[test]
    fn outbound_and_own_events_never_notify() {
        let mut p = Policy::default();
        let mut e = message("e1", "c1", "Me", "on my way", t0());
        if let What::Message { outbound, .. } = &mut e.what {
            *outbound = true;
        }
        assert_eq!(
            decide(&mut p, &e, t0()),
            Decision::Suppress(Suppressed::Own),
            "the rep's own outbound message is not news to the rep"
        );
        let outgoing_call = Incoming {
            what: What::Call {
                from: "John".into(),
                outbound: true,
                outcome: CallOutcome::Answered {
                    duration_secs: None,
                },
            },
            ..call("e2", CallOutcome::Missed, t0())
        };
        assert_eq!(
            decide(&mut p, &outgoing_call, t0()),
            Decision::Suppress(Suppressed::Own),
            "the rep's own outgoing call is not news to the rep"
        );
        let prefs = UiSettings {
            notify: NotifyEvents {
                reaction: true,
                ..NotifyEvents::default()
            },
            ..UiSettings::default()
        };
        assert_eq!(
            p.decide(
                &reaction("e3", true, t0()),
                &prefs,
                &Viewing::default(),
                t0()
            ),
            Decision::Suppress(Suppressed::Own),
            "the rep's own tapback is not news to the rep"
        );
    }

    #[test]
    fn other_events_never_notify() {
        let mut p = Policy::default();
        let e = Incoming {
            what: What::Other,
            ..message("e1", "c1", "x", "y", t0())
        };
        assert_eq!(
            decide(&mut p, &e, t0()),
            Decision::Suppress(Suppressed::NotNotifiable),
            "events that are not messages, calls or reactions never notify"
        );
    }

    #[test]
    fn calls_say_missed_voicemail_with_summary_or_answered() {
        let mut p = Policy::default();
        let missed = shown(decide(&mut p, &call("e1", CallOutcome::Missed, t0()), t0()));
        assert_eq!(
            (missed.title.as_str(), missed.body.as_str()),
            ("John Doe", "Missed call"),
            "a missed call names the caller and says it was missed"
        );
        assert_eq!(missed.kind, Kind::Call, "a missed call notifies as a call");

        let vm = CallOutcome::Voicemail {
            summary: Some("John called to confirm tomorrow's meeting at 2pm.".into()),
        };
        let n = shown(decide(&mut p, &call("e2", vm.clone(), t0()), t0()));
        assert_eq!(
            n.body, "Voicemail: John called to confirm tomorrow's meeting at 2pm.",
            "a voicemail shows its summary"
        );

        let answered = CallOutcome::Answered {
            duration_secs: Some(330),
        };
        let n = shown(decide(
            &mut p,
            &call("e3", answered, t0() + secs(10)),
            t0() + secs(10),
        ));
        assert_eq!(
            n.body, "Answered call · 5:30",
            "an answered call shows its duration"
        );

        let quiet = UiSettings {
            previews: false,
            ..UiSettings::default()
        };
        let n = shown(p.decide(
            &call("e4", vm, t0()),
            &quiet,
            &Viewing::default(),
            t0() + secs(20),
        ));
        assert_eq!(
            n.body, "New voicemail",
            "a voicemail summary is a preview too"
        );
    }

    #[test]
    fn reactions_notify_only_when_enabled() {
        let mut p = Policy::default();
        assert_eq!(
            decide(&mut p, &reaction("e1", false, t0()), t0()),
            Decision::Suppress(Suppressed::Disabled),
            "reactions are off by default"
        );
        let prefs = UiSettings {
            notify: NotifyEvents {
                reaction: true,
                ..NotifyEvents::default()
            },
            ..UiSettings::default()
        };
        let n = shown(p.decide(
            &reaction("e2", false, t0()),
            &prefs,
            &Viewing::default(),
            t0(),
        ));
        assert_eq!(
            n.kind,
            Kind::Reaction,
            "an enabled reaction notifies as a reaction"
        );
        assert_eq!(
            n.body, "Liked “See you at 2”",
            "the body reads like a tapback on the quoted message"
        );
    }

    #[test]
    fn switched_off_kinds_stay_quiet() {
        let mut p = Policy::default();
        let prefs = UiSettings {
            notify: NotifyEvents {
                message: false,
                call: false,
                reaction: false,
            },
            ..UiSettings::default()
        };
        let v = Viewing::default();
        assert_eq!(
            p.decide(&message("e1", "c1", "J", "hi", t0()), &prefs, &v, t0()),
            Decision::Suppress(Suppressed::Disabled),
            "messages switched off never notify"
        );
        assert_eq!(
            p.decide(&call("e2", CallOutcome::Missed, t0()), &prefs, &v, t0()),
            Decision::Suppress(Suppressed::Disabled),
            "calls switched off never notify"
        );
    }

    #[test]
    fn old_events_are_history_not_news() {
        let mut p = Policy::default();
        let now = t0();
        let replayed = message(
            "e1",
            "c1",
            "J",
            "from last year",
            now - TimeDelta::days(400),
        );
        assert_eq!(
            decide(&mut p, &replayed, now),
            Decision::Suppress(Suppressed::Stale),
            "an import or rebuild replays old events; none may notify"
        );
        let after_downtime = message("e2", "c1", "J", "sent 6 min ago", now - secs(6 * 60));
        assert_eq!(
            decide(&mut p, &after_downtime, now),
            Decision::Suppress(Suppressed::Stale),
            "redeliveries after the app was down are history"
        );
        let recent = message("e3", "c1", "J", "sent 4 min ago", now - secs(4 * 60));
        shown(decide(&mut p, &recent, now));
        let clock_skew = message("e4", "c2", "J", "from the future", now + secs(30));
        shown(decide(&mut p, &clock_skew, now));
    }

    #[test]
    fn one_event_id_notifies_once() {
        let mut p = Policy::default();
        let e = message("e1", "c1", "J", "hi", t0());
        shown(decide(&mut p, &e, t0()));
        assert_eq!(
            decide(&mut p, &e, t0() + secs(60)),
            Decision::Suppress(Suppressed::Duplicate),
            "a redelivered event id notifies only once"
        );
    }

    #[test]
    fn a_muted_chat_stays_quiet_and_others_do_not() {
        let mut p = Policy::default();
        let prefs = UiSettings {
            muted_chats: vec!["c1".into()],
            ..UiSettings::default()
        };
        let v = Viewing::default();
        assert_eq!(
            p.decide(&message("e1", "c1", "J", "hi", t0()), &prefs, &v, t0()),
            Decision::Suppress(Suppressed::Muted),
            "a muted chat's message stays quiet"
        );
        assert_eq!(
            p.decide(&call("e2", CallOutcome::Missed, t0()), &prefs, &v, t0()),
            Decision::Suppress(Suppressed::Muted),
            "a call in a muted chat is muted too"
        );
        shown(p.decide(&message("e3", "c2", "K", "hi", t0()), &prefs, &v, t0()));
    }

    #[test]
    fn do_not_disturb_holds_everything_until_it_ends() {
        let mut p = Policy::default();
        let v = Viewing::default();
        let forever = UiSettings {
            do_not_disturb: true,
            ..UiSettings::default()
        };
        assert_eq!(
            p.decide(&message("e1", "c1", "J", "hi", t0()), &forever, &v, t0()),
            Decision::Suppress(Suppressed::DoNotDisturb),
            "do not disturb holds a message"
        );
        // The tray's "Pause for 1 hour": a pause with an end, the switch left alone.
        let for_an_hour = UiSettings {
            dnd_until: Some(t0() + TimeDelta::hours(1)),
            ..UiSettings::default()
        };
        assert_eq!(
            p.decide(
                &call("e2", CallOutcome::Missed, t0()),
                &for_an_hour,
                &v,
                t0()
            ),
            Decision::Suppress(Suppressed::DoNotDisturb),
            "a missed call during a pause is not announced"
        );
        let later = t0() + TimeDelta::hours(1) + secs(1);
        shown(p.decide(
            &message("e3", "c1", "J", "hi", later),
            &for_an_hour,
            &v,
            later,
        ));
    }

    #[test]
    fn the_chat_on_screen_in_a_focused_window_stays_quiet() {
        let mut p = Policy::default();
        let prefs = UiSettings::default();
        let looking = Viewing {
            chat_id: Some("c1".into()),
            focused: true,
        };
        assert_eq!(
            p.decide(
                &message("e1", "c1", "J", "hi", t0()),
                &prefs,
                &looking,
                t0()
            ),
            Decision::Suppress(Suppressed::Viewing),
            "the chat the rep is looking at in a focused window stays quiet"
        );
        shown(p.decide(
            &message("e2", "c2", "K", "hi", t0()),
            &prefs,
            &looking,
            t0(),
        ));
        let away = Viewing {
            chat_id: Some("c1".into()),
            focused: false,
        };
        shown(p.decide(
            &message("e3", "c1", "J", "still there?", t0()),
            &prefs,
            &away,
            t0(),
        ));
    }

    #[test]
    fn a_burst_from_one_chat_becomes_one_summary() {
        let mut p = Policy::default();
        let prefs = UiSettings::default();
        let v = Viewing::default();
        let mut decisions = Vec::new();
        for i in 0..10 {
            let at = t0() + ms(100 * i);
            decisions.push(p.decide(
                &message(&format!("e{i}"), "c1", "Ana López", &format!("msg {i}"), at),
                &prefs,
                &v,
                at,
            ));
        }
        let shown_now = decisions
            .iter()
            .filter(|d| matches!(d, Decision::Show(_)))
            .count();
        assert_eq!(
            shown_now, 3,
            "up to three in five seconds notify one by one"
        );
        assert!(
            decisions[3..]
                .iter()
                .all(|d| *d == Decision::Suppress(Suppressed::Coalesced)),
            "the rest of the burst is held: {decisions:?}"
        );
        assert_eq!(
            p.tick(&prefs, &v, t0() + secs(1)),
            vec![],
            "the summary waits for the burst window to pass"
        );
        assert!(
            p.next_due(t0()).is_some(),
            "the shell can tell when to tick"
        );
        let summary = p.tick(&prefs, &v, t0() + secs(6));
        assert_eq!(
            summary,
            vec![Notification {
                kind: Kind::Summary,
                title: "Ana López".into(),
                body: "7 more messages".into(),
                chat_id: Some("c1".into()),
            }],
            "the held rest of the burst is released as one summary for the chat"
        );
        assert_eq!(p.tick(&prefs, &v, t0() + secs(7)), vec![], "released once");
        let calm = t0() + secs(30);
        shown(p.decide(
            &message("e99", "c1", "Ana López", "ok", calm),
            &prefs,
            &v,
            calm,
        ));
        assert_eq!(p.next_due(calm), None, "nothing is held after the burst");
    }

    #[test]
    fn three_quick_messages_are_not_a_burst() {
        let mut p = Policy::default();
        for i in 0..3 {
            shown(decide(
                &mut p,
                &message(&format!("e{i}"), "c1", "J", "hi", t0()),
                t0(),
            ));
        }
        for i in 3..6 {
            let at = t0() + secs(6) + ms(i);
            shown(decide(
                &mut p,
                &message(&format!("e{i}"), "c1", "J", "hi", at),
                at,
            ));
        }
    }

    #[test]
    fn bursts_in_other_chats_do_not_hold_this_one() {
        let mut p = Policy::default();
        for i in 0..5 {
            decide(
                &mut p,
                &message(&format!("a{i}"), "c1", "J", "hi", t0()),
                t0(),
            );
        }
        shown(decide(&mut p, &message("b1", "c2", "K", "hi", t0()), t0()));
    }

    #[test]
    fn a_summary_for_a_chat_muted_or_opened_meanwhile_is_dropped() {
        for (prefs, viewing) in [
            (
                UiSettings {
                    muted_chats: vec!["c1".into()],
                    ..UiSettings::default()
                },
                Viewing::default(),
            ),
            (
                UiSettings::default(),
                Viewing {
                    chat_id: Some("c1".into()),
                    focused: true,
                },
            ),
            (
                UiSettings {
                    do_not_disturb: true,
                    ..UiSettings::default()
                },
                Viewing::default(),
            ),
        ] {
            let mut p = Policy::default();
            for i in 0..6 {
                decide(
                    &mut p,
                    &message(&format!("e{i}"), "c1", "J", "hi", t0()),
                    t0(),
                );
            }
            assert_eq!(
                p.tick(&prefs, &viewing, t0() + secs(6)),
                vec![],
                "a held summary is dropped when its chat was muted, opened or paused meanwhile"
            );
            assert_eq!(p.next_due(t0()), None, "a dropped summary is not kept");
        }
    }

    #[test]
    fn the_global_rate_cap_folds_the_rest_into_one_summary() {
        let mut p = Policy::default();
        let cap = p.rules().rate_limit;
        let prefs = UiSettings::default();
        let v = Viewing::default();
        let mut shown_count = 0;
        for i in 0..cap + 5 {
            // One message per chat, so no burst rule applies: only the cap can stop them.
            let at = t0() + ms(i as i64 * 10);
            let e = message(&format!("e{i}"), &format!("c{i}"), "J", "hi", at);
            match p.decide(&e, &prefs, &v, at) {
                Decision::Show(_) => shown_count += 1,
                Decision::Suppress(why) => assert_eq!(
                    why,
                    Suppressed::RateLimited,
                    "past the cap a notification is only held by the rate limit"
                ),
            }
        }
        assert_eq!(shown_count, cap, "no more than the cap per window");
        assert_eq!(p.tick(&prefs, &v, t0() + secs(30)), vec![], "no room yet");
        let due = p.next_due(t0() + secs(30));
        assert_eq!(
            due,
            Some(t0() + p.rules().rate_window),
            "room comes back when the oldest notification ages out"
        );
        let released = p.tick(&prefs, &v, t0() + secs(61));
        assert_eq!(
            released,
            vec![Notification {
                kind: Kind::Summary,
                title: "Linq Inbox".into(),
                body: "5 more notifications".into(),
                chat_id: None,
            }],
            "held notifications from several chats open the inbox"
        );
    }

    #[test]
    fn the_rate_cap_folds_burst_summaries_too() {
        let rules = Rules {
            rate_limit: 3,
            ..Rules::default()
        };
        let mut p = Policy::new(rules);
        let prefs = UiSettings::default();
        let v = Viewing::default();
        for i in 0..8 {
            decide(
                &mut p,
                &message(&format!("e{i}"), "c1", "J", "hi", t0()),
                t0(),
            );
        }
        assert_eq!(
            p.tick(&prefs, &v, t0() + secs(6)),
            vec![],
            "three shown fill the cap; the burst summary waits for room"
        );
        let later = p.tick(&prefs, &v, t0() + secs(61));
        assert_eq!(
            later.len(),
            1,
            "the held burst is released as one summary once the cap has room"
        );
        assert_eq!(
            later[0].body, "5 more notifications",
            "the summary counts every held notification"
        );
        assert_eq!(
            later[0].chat_id.as_deref(),
            Some("c1"),
            "all from one chat: open it"
        );
    }

    #[test]
    fn remembered_ids_are_bounded() {
        let mut p = Policy::default();
        for i in 0..(REMEMBERED_IDS * 2) {
            p.remember(&format!("id{i}"));
        }
        assert_eq!(
            p.seen.len(),
            REMEMBERED_IDS,
            "the remembered event ids stay bounded"
        );
        assert_eq!(
            p.seen_order.len(),
            REMEMBERED_IDS,
            "the remembered order stays bounded with the ids"
        );
    }
}
