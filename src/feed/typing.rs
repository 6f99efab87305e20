//! Who is typing where. Live state only: typing indicators change no projection. An indicator
//! expires 30 s after its last refresh, so a lost "removed" never leaves dots forever.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::store::views::Typist;

pub const TYPING_TTL: Duration = Duration::from_secs(30);

/// Who, and until when their dots stay without a refresh.
type Entry = (Typist, Instant);

#[derive(Clone, Default)]
pub struct TypingTracker {
    inner: Arc<Mutex<HashMap<String, Vec<Entry>>>>,
}

impl TypingTracker {
    /// Records that `who` was typing in `chat_id` at `seen` (when Linq saw it, not when it reached
    /// us: a delayed indicator has less time left). Returns true if the state changed.
    pub fn start(&self, chat_id: &str, who: Typist, seen: Instant) -> bool {
        let Ok(mut map) = self.inner.lock() else {
            return false;
        };
        let entries = map.entry(chat_id.to_string()).or_default();
        match entries
            .iter_mut()
            .find(|(t, _)| t.identifier == who.identifier)
        {
            Some(entry) => {
                entry.1 = entry.1.max(seen + TYPING_TTL);
                false
            }
            None => {
                entries.push((who, seen + TYPING_TTL));
                true
            }
        }
    }

    /// Clears `identifier` (or, for `None`, everyone) in `chat_id`. True if anything changed.
    pub fn stop(&self, chat_id: &str, identifier: Option<&str>) -> bool {
        let Ok(mut map) = self.inner.lock() else {
            return false;
        };
        let Some(entries) = map.get_mut(chat_id) else {
            return false;
        };
        let before = entries.len();
        match identifier {
            // A message from someone ends their typing, and an anonymous "someone" too.
            Some(id) => entries.retain(|(t, _)| t.identifier.as_deref().is_some_and(|x| x != id)),
            None => entries.clear(),
        }
        let changed = entries.len() != before;
        if entries.is_empty() {
            map.remove(chat_id);
        }
        changed
    }

    /// Drops expired entries and returns the chats whose state changed.
    pub fn expire(&self, now: Instant) -> Vec<String> {
        let Ok(mut map) = self.inner.lock() else {
            return Vec::new();
        };
        let mut changed = Vec::new();
        map.retain(|chat_id, entries| {
            let before = entries.len();
            entries.retain(|(_, until)| *until > now);
            if entries.len() != before {
                changed.push(chat_id.clone());
            }
            !entries.is_empty()
        });
        changed
    }

    pub fn typing_in(&self, chat_id: &str) -> Vec<Typist> {
        self.inner
            .lock()
            .ok()
            .and_then(|m| {
                m.get(chat_id)
                    .map(|e| e.iter().map(|(t, _)| t.clone()).collect())
            })
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who(id: &str) -> Typist {
        Typist {
            identifier: Some(id.into()),
            name: id.into(),
        }
    }

    #[test]
    fn typing_expires_without_a_refresh() {
        let t = TypingTracker::default();
        let now = Instant::now();
        assert!(
            t.start("c", who("+1"), now),
            "a first indicator is a change"
        );
        assert_eq!(t.typing_in("c").len(), 1, "one person is typing");
        assert!(
            t.expire(now + Duration::from_secs(29)).is_empty(),
            "still fresh at 29 s"
        );
        assert_eq!(
            t.expire(now + Duration::from_secs(31)),
            vec!["c".to_string()],
            "after 30 s without a refresh the chat stops typing, and is reported as changed"
        );
        assert!(
            t.typing_in("c").is_empty(),
            "a lost 'removed' does not leave dots forever"
        );
    }

    #[test]
    fn a_refresh_extends_and_a_message_clears() {
        let t = TypingTracker::default();
        let now = Instant::now();
        t.start("c", who("+1"), now);
        assert!(
            !t.start("c", who("+1"), now + Duration::from_secs(20)),
            "a refresh is no change"
        );
        assert!(
            t.expire(now + Duration::from_secs(40)).is_empty(),
            "refreshed at 20 s, alive at 40 s"
        );
        t.start("c", who("+2"), now);
        assert!(
            t.stop("c", Some("+1")),
            "stopping one of two typers is a change"
        );
        assert_eq!(
            t.typing_in("c"),
            vec![who("+2")],
            "only the sender's dots clear"
        );
    }
}
