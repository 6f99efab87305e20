//! The policy's view of one engine event: only what a notification rule or text needs.
//!
//! Kept apart from the feed's wire types so the rules read in product terms ("an inbound call
//! that went to voicemail") and their tests need no full `Message` or `Call` to be built.

use chrono::{DateTime, Utc};

use crate::feed::FeedData;
use crate::store::views::{self, Direction};

/// One committed event, reduced to what the notification policy looks at.
#[derive(Clone, Debug, PartialEq)]
pub struct Incoming {
    /// Linq's event id; a second event with the same id never notifies twice.
    pub event_id: Option<String>,
    /// The chat the event belongs to, when one is known (a click opens it).
    pub chat_id: Option<String>,
    /// When Linq says the event happened; older than [`super::Rules::max_age`] is history.
    pub created_at: Option<DateTime<Utc>>,
    pub what: What,
}

/// The kinds of event that can notify, and everything else.
#[derive(Clone, Debug, PartialEq)]
pub enum What {
    Message {
        /// The sender as the rep knows them: contact name, handle name, else the number.
        from: String,
        /// The group's title for a group chat; `None` for a one-to-one chat.
        group: Option<String>,
        text: Option<String>,
        attachments: usize,
        outbound: bool,
    },
    Call {
        from: String,
        outbound: bool,
        outcome: CallOutcome,
    },
    Reaction {
        from: String,
        /// Linq's reaction name: `like`, `love`, `dislike`, `laugh`, `emphasize`, `question`.
        reaction: String,
        from_me: bool,
        /// The text of the message reacted to, when known.
        message_text: Option<String>,
    },
    /// A catch-up pass found messages that arrived unread while the app was not listening:
    /// one summary for all of them, never one notification each.
    CaughtUp { messages: usize, chats: usize },
    /// Typing, read receipts, contacts, membership, outbound-only events: never a notification.
    Other,
}

/// How an inbound call ended.
#[derive(Clone, Debug, PartialEq)]
pub enum CallOutcome {
    Missed,
    Voicemail { summary: Option<String> },
    Answered { duration_secs: Option<u64> },
}

/// `message.received` / `message.sent`: the direction tells the rep's own from a customer's.
pub(crate) fn message_what(message: &views::Message, chat: Option<&views::ChatSummary>) -> What {
    What::Message {
        from: first_name_of([&message.from_name, &message.from_phone]),
        group: chat.filter(|c| c.is_group).map(|c| c.title.clone()),
        text: message.text.clone(),
        attachments: message.attachments.len(),
        outbound: message.direction == Direction::Outbound,
    }
}

/// `call.completed`: a voicemail says so (with its summary), else missed, else answered.
pub(crate) fn call_what(call: &views::Call) -> What {
    let outcome = if call.voicemail {
        let recording = call.recording.as_ref();
        CallOutcome::Voicemail {
            summary: recording.and_then(|r| r.summary.clone().or_else(|| r.transcription.clone())),
        }
    } else if call.missed {
        CallOutcome::Missed
    } else {
        CallOutcome::Answered {
            duration_secs: call.duration.and_then(|d| u64::try_from(d).ok()),
        }
    };
    What::Call {
        from: first_name_of([&call.from_name, &call.from]),
        outbound: call.direction.as_deref() == Some("outbound"),
        outcome,
    }
}

/// `reaction.received` / `reaction.sent`.
pub(crate) fn reaction_what(reaction: &views::ReactionEvent) -> What {
    What::Reaction {
        from: first_name_of([&reaction.from_name, &reaction.from]),
        reaction: reaction.reaction.clone(),
        from_me: reaction.is_from_me,
        message_text: reaction.message_text.clone(),
    }
}

/// A finished catch-up pass that found unread messages the webhooks missed.
fn caught_up_what(sync: &crate::store::sync::SyncStatus) -> Option<What> {
    (sync.state == "done" && sync.away > 0).then(|| What::CaughtUp {
        messages: usize::try_from(sync.away).unwrap_or(0),
        chats: usize::try_from(sync.away_chats).unwrap_or(0).max(1),
    })
}

/// The first of the candidates that is present and not blank; empty when none is (the
/// wording then says "Unknown sender").
fn first_name_of<const N: usize>(candidates: [&Option<String>; N]) -> String {
    candidates
        .into_iter()
        .flatten()
        .find(|s| !s.trim().is_empty())
        .cloned()
        .unwrap_or_default()
}

/// An RFC 3339 time from the feed; `None` when absent or unreadable (the event then counts as
/// fresh: losing a real notification is worse than showing one late).
pub(crate) fn parse_time(text: Option<&str>) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text?)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

impl From<&FeedData> for Incoming {
    fn from(data: &FeedData) -> Incoming {
        let kind = data.event_type.as_deref().unwrap_or("");
        let what = match kind {
            "message.received" | "message.sent" => data
                .message
                .as_ref()
                .map(|m| message_what(m, data.chat.as_ref())),
            "call.completed" => data.call.as_ref().map(call_what),
            "reaction.received" | "reaction.sent" | "reaction.added" => {
                data.reaction.as_ref().map(reaction_what)
            }
            "sync" => data.sync.as_ref().and_then(caught_up_what),
            // v3 call stages: only the ones that end a call say how it went.
            "call.ended" | "call.no_answer" | "call.declined" | "call.failed" => {
                data.call.as_ref().map(call_what)
            }
            _ => None,
        };
        let chat_id = data
            .chat_id
            .clone()
            .or_else(|| data.message.as_ref().map(|m| m.chat_id.clone()))
            .or_else(|| data.call.as_ref().and_then(|c| c.chat_id.clone()))
            .or_else(|| data.reaction.as_ref().and_then(|r| r.chat_id.clone()));
        Incoming {
            event_id: data.event_id.clone(),
            chat_id,
            created_at: parse_time(data.created_at.as_deref()),
            what: what.unwrap_or(What::Other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(direction: Direction) -> views::Message {
        views::Message {
            kind: "message",
            id: "27799380".into(),
            chat_id: "324324".into(),
            text: Some("Hello, how are you?".into()),
            sent_at: "2025-05-21T21:30:00Z".into(),
            sent_at_original: None,
            tie: 1,
            direction,
            from_phone: Some("+15551234567".into()),
            from_name: None,
            service: Some("iMessage".into()),
            read_at: None,
            read_at_original: None,
            attachments: Vec::new(),
            reactions: Vec::new(),
            delivered_at: None,
            status: None,
            error: None,
            client_id: None,
            failure: None,
            edited_at: None,
            reply_to: None,
        }
    }

    fn chat(is_group: bool) -> views::ChatSummary {
        views::ChatSummary {
            read_mark_error: None,
            chat_id: "324324".into(),
            title: "Renewals team".into(),
            is_group,
            handles: Vec::new(),
            my_numbers: Vec::new(),
            members: Vec::new(),
            last_message: None,
            last_activity_at: None,
            unread_count: 1,
            typing: Vec::new(),
            muted: false,
        }
    }

    fn call(voicemail: bool, missed: bool) -> views::Call {
        views::Call {
            id: "12345".into(),
            from: Some("+15551234567".into()),
            from_name: Some("John Doe".into()),
            to: None,
            to_name: None,
            direction: Some("inbound".into()),
            status: Some("completed".into()),
            start_time: None,
            start_time_original: None,
            end_time: None,
            end_time_original: None,
            duration: Some(330),
            call_type: None,
            forwarded_from: None,
            answered_by: None,
            voicemail,
            missed,
            chat_id: Some("324324".into()),
            recording: Some(views::Recording {
                id: None,
                url: None,
                duration: None,
                transcription: Some("Hello, this is John...".into()),
                summary: Some("John called to confirm tomorrow's meeting at 2pm.".into()),
            }),
        }
    }

    #[test]
    fn a_message_without_a_name_is_from_its_number() {
        let What::Message {
            from,
            group,
            outbound,
            ..
        } = message_what(&message(Direction::Inbound), Some(&chat(false)))
        else {
            panic!("a message is a message");
        };
        assert_eq!(
            from, "+15551234567",
            "no contact or handle name: the number"
        );
        assert_eq!(group, None, "a one-to-one chat names no group");
        assert!(!outbound, "an inbound message is not the rep's own");
    }

    #[test]
    fn a_group_message_names_its_group_and_outbound_is_the_reps_own() {
        let What::Message {
            group, outbound, ..
        } = message_what(&message(Direction::Outbound), Some(&chat(true)))
        else {
            panic!("a message is a message");
        };
        assert_eq!(
            group.as_deref(),
            Some("Renewals team"),
            "a group message names its group"
        );
        assert!(outbound, "the rep's own message must be recognised as such");
    }

    #[test]
    fn calls_map_to_voicemail_missed_or_answered() {
        let outcome = |c: views::Call| match call_what(&c) {
            What::Call { outcome, .. } => outcome,
            other => panic!("a call is a call: {other:?}"),
        };
        assert_eq!(
            outcome(call(true, true)),
            CallOutcome::Voicemail {
                summary: Some("John called to confirm tomorrow's meeting at 2pm.".into())
            },
            "a voicemail wins over missed: it is what the rep must listen to"
        );
        assert_eq!(
            outcome(call(false, true)),
            CallOutcome::Missed,
            "a call not answered and without voicemail is missed"
        );
        assert_eq!(
            outcome(call(false, false)),
            CallOutcome::Answered {
                duration_secs: Some(330)
            },
            "an answered call keeps its duration"
        );
    }

    #[test]
    fn feed_events_become_policy_input() {
        let data = FeedData {
            event_id: Some("e1".into()),
            event_type: Some("message.received".into()),
            created_at: Some("2025-05-21T21:30:00Z".into()),
            message: Some(message(Direction::Inbound)),
            ..FeedData::default()
        };
        let incoming = Incoming::from(&data);
        assert_eq!(
            incoming.chat_id.as_deref(),
            Some("324324"),
            "the chat comes from the message when the event names none"
        );
        assert_eq!(
            incoming.created_at,
            parse_time(Some("2025-05-21T21:30:00Z")),
            "the event's time comes from the feed event"
        );
        assert!(incoming.created_at.is_some(), "the event's time is parsed");
        assert!(
            matches!(incoming.what, What::Message { .. }),
            "a message event becomes a message to notify about"
        );

        let typing = FeedData {
            event_type: Some("typing_indicator.received".into()),
            ..FeedData::default()
        };
        assert_eq!(
            Incoming::from(&typing).what,
            What::Other,
            "a typing indicator is nothing to notify about"
        );
        let message_without_view = FeedData {
            event_type: Some("message.received".into()),
            ..FeedData::default()
        };
        assert_eq!(
            Incoming::from(&message_without_view).what,
            What::Other,
            "nothing to say without the message itself"
        );
    }

    #[test]
    fn v3_reactions_and_ending_call_stages_notify_and_other_stages_do_not() {
        let reaction = views::ReactionEvent {
            id: "v3:m1:0:+1:love:".into(),
            message_id: "m1".into(),
            chat_id: Some("c1".into()),
            reaction: "love".into(),
            from: Some("+1".into()),
            from_name: Some("Ann".into()),
            is_from_me: false,
            message_text: None,
            sent_at: None,
        };
        let added = FeedData {
            event_type: Some("reaction.added".into()),
            reaction: Some(reaction),
            ..FeedData::default()
        };
        assert!(
            matches!(Incoming::from(&added).what, What::Reaction { .. }),
            "a v3 reaction.added notifies as a reaction"
        );
        let missed = FeedData {
            event_type: Some("call.no_answer".into()),
            call: Some(call(false, true)),
            ..FeedData::default()
        };
        assert!(
            matches!(Incoming::from(&missed).what, What::Call { .. }),
            "a v3 call.no_answer notifies as a call"
        );
        let ringing = FeedData {
            event_type: Some("call.ringing".into()),
            call: Some(call(false, true)),
            ..FeedData::default()
        };
        assert_eq!(
            Incoming::from(&ringing).what,
            What::Other,
            "a call in progress has not ended yet"
        );
    }
}
