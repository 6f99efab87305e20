//! The names a rep knows people by: a contact's name, else the name a chat gives the handle,
//! else the newest name any chat gives it, else the handle itself.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};

use rusqlite::{params, Connection, OptionalExtension};

use super::json_list;
use super::StoreError;

/// Resolves a handle to the name a rep knows it by, caching within one request. Each of the
/// three sources is cached apart, so a handle seen in many chats (the rep's own number) costs
/// one contact and one newest-name lookup per request, not one per chat.
pub struct Names<'c> {
    conn: &'c Connection,
    contacts: HashMap<String, Option<String>>,
    own: HashMap<(String, String), Option<String>>,
    /// Chats whose handles were all primed: a handle missing from `own` has no name there.
    primed_chats: HashSet<String>,
    newest: HashMap<String, Option<String>>,
}

impl<'c> Names<'c> {
    pub fn new(conn: &'c Connection) -> Names<'c> {
        Names {
            conn,
            contacts: HashMap::new(),
            own: HashMap::new(),
            primed_chats: HashSet::new(),
            newest: HashMap::new(),
        }
    }

    /// Contact name, else the handle's display name (in this chat first), else the identifier.
    pub fn resolve(
        &mut self,
        chat_id: Option<&str>,
        identifier: &str,
    ) -> Result<String, StoreError> {
        if let Some(name) = self.contact_name(identifier)? {
            return Ok(name);
        }
        // This chat's own name for the handle first. Only without one, the newest name from
        // any chat: the rep's own number is in every chat, so that lookup is cached per handle.
        if let Some(chat_id) = chat_id {
            if let Some(name) = self.own_name(chat_id, identifier)? {
                return Ok(name);
            }
        }
        Ok(self
            .newest_name(identifier)?
            .unwrap_or_else(|| identifier.to_string()))
    }

    /// Loads the contact names of many handles in one query.
    pub(crate) fn prime_contacts<'a>(
        &mut self,
        identifiers: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), StoreError> {
        let wanted: HashSet<&str> = identifiers
            .into_iter()
            .filter(|i| !self.contacts.contains_key(*i))
            .collect();
        if wanted.is_empty() {
            return Ok(());
        }
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT c.phone_number, {CONTACT_NAME}
             FROM json_each(?1) j JOIN contacts c ON c.phone_number = j.value AND c.deleted = 0
             ORDER BY j.key, c.version DESC, c.version_key DESC"
        ))?;
        let mut rows = stmt.query(params![json_list(wanted.iter().copied())])?;
        while let Some(r) = rows.next()? {
            let phone: String = r.get(0)?;
            // The newest version decides, even when it has no name (as the single lookup does).
            if let Entry::Vacant(slot) = self.contacts.entry(phone) {
                slot.insert(r.get(1)?);
            }
        }
        for identifier in wanted {
            self.contacts.entry(identifier.to_string()).or_insert(None);
        }
        Ok(())
    }

    /// Records every handle of a chat with the display name it has there.
    pub(crate) fn prime_chat<'a>(
        &mut self,
        chat_id: &str,
        handles: impl IntoIterator<Item = (&'a str, Option<&'a str>)>,
    ) {
        for (identifier, display_name) in handles {
            let name = display_name.filter(|n| !n.trim_matches(' ').is_empty());
            self.own.insert(
                (chat_id.to_string(), identifier.to_string()),
                name.map(str::to_string),
            );
        }
        self.primed_chats.insert(chat_id.to_string());
    }

    fn contact_name(&mut self, identifier: &str) -> Result<Option<String>, StoreError> {
        if let Some(name) = self.contacts.get(identifier) {
            return Ok(name.clone());
        }
        let name = self
            .conn
            .prepare_cached(&format!(
                "SELECT {CONTACT_NAME} FROM contacts WHERE phone_number = ?1 AND deleted = 0
                 ORDER BY version DESC, version_key DESC LIMIT 1"
            ))?
            .query_row(params![identifier], |r| r.get::<_, Option<String>>(0))
            .optional()?
            .flatten();
        self.contacts.insert(identifier.to_string(), name.clone());
        Ok(name)
    }

    fn own_name(&mut self, chat_id: &str, identifier: &str) -> Result<Option<String>, StoreError> {
        let key = (chat_id.to_string(), identifier.to_string());
        if let Some(name) = self.own.get(&key) {
            return Ok(name.clone());
        }
        if self.primed_chats.contains(chat_id) {
            return Ok(None);
        }
        let name: Option<String> = self
            .conn
            .prepare_cached(
                "SELECT display_name FROM chat_handles
                 WHERE chat_id = ?1 AND identifier = ?2
                   AND display_name IS NOT NULL AND trim(display_name) != ''",
            )?
            .query_row(params![chat_id, identifier], |r| r.get(0))
            .optional()?;
        self.own.insert(key, name.clone());
        Ok(name)
    }

    fn newest_name(&mut self, identifier: &str) -> Result<Option<String>, StoreError> {
        if let Some(name) = self.newest.get(identifier) {
            return Ok(name.clone());
        }
        let name: Option<String> = self
            .conn
            .prepare_cached(
                "SELECT display_name FROM chat_handles
                 WHERE identifier = ?1 AND display_name IS NOT NULL AND trim(display_name) != ''
                 ORDER BY seen_at DESC LIMIT 1",
            )?
            .query_row(params![identifier], |r| r.get(0))
            .optional()?;
        self.newest.insert(identifier.to_string(), name.clone());
        Ok(name)
    }
}

/// A contact's name as a rep knows it: the full name, else first and last.
const CONTACT_NAME: &str = "coalesce(nullif(trim(full_name), ''), nullif(trim(concat_ws(' ', first_name, last_name)), ''))";
