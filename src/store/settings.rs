//! The rep's preferences (notifications, theme), kept in the database beside the inbox.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::StoreError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum Theme {
    #[default]
    System,
    Light,
    Dark,
}

/// Which kinds of event raise a desktop notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct NotifyEvents {
    pub message: bool,
    pub call: bool,
    pub reaction: bool,
}

impl Default for NotifyEvents {
    fn default() -> Self {
        NotifyEvents {
            message: true,
            call: true,
            reaction: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[cfg_attr(test, ts(rename = "Settings"))]
pub struct UiSettings {
    pub muted_chats: Vec<String>,
    pub do_not_disturb: bool,
    #[cfg_attr(test, ts(type = "string | null"))]
    pub dnd_until: Option<DateTime<Utc>>,
    pub previews: bool,
    pub notify: NotifyEvents,
    pub theme: Theme,
    /// "Send read receipts to Linq": opening a chat also marks it read at Linq, which the
    /// customer may see. Off unless the rep turns it on (settings saved before it existed too).
    #[serde(default)]
    pub read_receipts: bool,
}

impl Default for UiSettings {
    fn default() -> Self {
        UiSettings {
            muted_chats: Vec::new(),
            do_not_disturb: false,
            dnd_until: None,
            previews: true,
            notify: NotifyEvents::default(),
            theme: Theme::System,
            read_receipts: false,
        }
    }
}

impl UiSettings {
    /// Whether do-not-disturb holds at `now`: switched on, or paused until a later time.
    pub fn quiet_at(&self, now: DateTime<Utc>) -> bool {
        self.do_not_disturb || self.dnd_until.is_some_and(|until| now < until)
    }

    pub fn is_muted(&self, chat_id: &str) -> bool {
        self.muted_chats.iter().any(|c| c == chat_id)
    }
}

/// A partial update; absent fields keep their value. `dnd_until: null` clears the pause.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsPatch {
    pub muted_chats: Option<Vec<String>>,
    pub do_not_disturb: Option<bool>,
    #[serde(default, deserialize_with = "double_option")]
    pub dnd_until: Option<Option<DateTime<Utc>>>,
    pub previews: Option<bool>,
    pub notify: Option<NotifyEvents>,
    pub theme: Option<Theme>,
    pub read_receipts: Option<bool>,
}

fn double_option<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<DateTime<Utc>>>, D::Error> {
    Option::<DateTime<Utc>>::deserialize(d).map(Some)
}

impl SettingsPatch {
    pub fn apply(self, mut s: UiSettings) -> Result<UiSettings, StoreError> {
        if let Some(mut muted) = self.muted_chats {
            if muted.iter().any(|c| c.trim().is_empty() || c.len() > 200) {
                return Err(StoreError::Invalid("muted_chats must list chat ids".into()));
            }
            muted.sort();
            muted.dedup();
            s.muted_chats = muted;
        }
        if let Some(v) = self.do_not_disturb {
            s.do_not_disturb = v;
        }
        if let Some(v) = self.dnd_until {
            s.dnd_until = v;
        }
        if let Some(v) = self.previews {
            s.previews = v;
        }
        if let Some(v) = self.notify {
            s.notify = v;
        }
        if let Some(v) = self.theme {
            s.theme = v;
        }
        if let Some(v) = self.read_receipts {
            s.read_receipts = v;
        }
        Ok(s)
    }
}

const KEY: &str = "ui";

pub fn load(conn: &Connection) -> Result<UiSettings, StoreError> {
    let text: Option<String> = conn
        .query_row(
            "SELECT value FROM settings WHERE key = ?1",
            params![KEY],
            |r| r.get(0),
        )
        .optional()?;
    Ok(text
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default())
}

pub fn save(conn: &Connection, settings: &UiSettings) -> Result<(), StoreError> {
    let text = serde_json::to_string(settings).map_err(|e| StoreError::Invalid(e.to_string()))?;
    conn.execute(
        "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![KEY, text],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patches_merge_and_validate() {
        let patch: SettingsPatch =
            serde_json::from_str(r#"{"muted_chats": ["b", "a", "b"], "theme": "dark"}"#)
                .expect("patch parses");
        let s = patch.apply(UiSettings::default()).expect("valid");
        assert_eq!(s.muted_chats, vec!["a", "b"], "sorted, deduplicated");
        assert_eq!(s.theme, Theme::Dark, "the patched theme is applied");
        assert!(s.previews, "untouched fields keep their value");
        assert!(
            serde_json::from_str::<SettingsPatch>(r#"{"theme": "neon"}"#).is_err(),
            "an unknown theme is refused"
        );
        assert!(
            serde_json::from_str::<SettingsPatch>(r#"{"volume": 3}"#).is_err(),
            "unknown fields refused"
        );
    }

    #[test]
    fn read_receipts_are_off_by_default_and_for_settings_saved_before_them() {
        assert!(
            !UiSettings::default().read_receipts,
            "off unless the rep turns it on"
        );
        let older: UiSettings = serde_json::from_str(
            r#"{"muted_chats": ["a"], "do_not_disturb": false, "dnd_until": null, "previews": true,
                "notify": {"message": true, "call": true, "reaction": false}, "theme": "dark"}"#,
        )
        .expect("settings saved before the setting existed still load");
        assert!(!older.read_receipts, "and have it off");
        assert_eq!(older.muted_chats, vec!["a"], "keeping the rest");
    }

    #[test]
    fn dnd_until_expires() {
        let now = Utc::now();
        let s = UiSettings {
            dnd_until: Some(now + chrono::Duration::minutes(5)),
            ..UiSettings::default()
        };
        assert!(s.quiet_at(now), "do not disturb is on until its end");
        assert!(
            !s.quiet_at(now + chrono::Duration::minutes(6)),
            "a pause ends by itself"
        );
    }
}
