//! Contacts: the newest version of each wins (by the vendor's `updated_at`, ties by event id),
//! and a deletion is a tombstone that an older update cannot undo.

use rusqlite::{params, Connection, OptionalExtension};

use super::chats::read::direct_chat;
use super::fts::{self, Kind};
use super::rules::{millis, original, Ctx};
use super::views::{Contact as ContactView, ContactOwner};
use super::StoreError;
use crate::linq::time::format_millis;
use crate::linq::Contact;

/// A created or updated contact, unless a newer version (or deletion) is already stored.
pub(crate) fn project(conn: &Connection, ctx: &Ctx<'_>, c: &Contact) -> Result<(), StoreError> {
    let version = millis(c.updated_at.as_ref().or(c.created_at.as_ref())).unwrap_or(ctx.at);
    let owner = c.owner.as_ref().map(|o| {
        serde_json::json!({
            "id": o.id,
            "email": o.email,
            "first_name": o.first_name,
            "last_name": o.last_name,
            "name": o.name,
        })
        .to_string()
    });
    let changed = conn
        .prepare_cached(
            "INSERT INTO contacts (id, first_name, last_name, full_name, email, phone_number, company, title,
                                   location, image_url, created_at, created_at_original, updated_at,
                                   updated_at_original, owner, version, version_key, deleted)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, 0)
             ON CONFLICT (id) DO UPDATE SET
               first_name = excluded.first_name, last_name = excluded.last_name, full_name = excluded.full_name,
               email = excluded.email, phone_number = excluded.phone_number, company = excluded.company,
               title = excluded.title, location = excluded.location, image_url = excluded.image_url,
               created_at = excluded.created_at,
               created_at_original = excluded.created_at_original,
               updated_at = excluded.updated_at, updated_at_original = excluded.updated_at_original,
               owner = excluded.owner, version = excluded.version, version_key = excluded.version_key, deleted = 0
             WHERE (excluded.version, 0, excluded.version_key) > (contacts.version, contacts.deleted, contacts.version_key)",
        )?
        .execute(params![
            c.id,
            c.first_name,
            c.last_name,
            c.full_name,
            c.email,
            c.phone_number,
            c.company,
            c.title,
            c.location,
            c.image_url,
            millis(c.created_at.as_ref()),
            original(c.created_at.as_ref()),
            millis(c.updated_at.as_ref()),
            original(c.updated_at.as_ref()),
            owner,
            version,
            ctx.event_id,
        ])?;
    if changed == 1 {
        reindex(conn, &c.id)?;
    }
    Ok(())
}

/// A deletion: a tombstone at the event's time, unless a newer version is already stored.
pub(crate) fn project_deleted(
    conn: &Connection,
    ctx: &Ctx<'_>,
    id: &str,
) -> Result<(), StoreError> {
    let changed = conn
        .prepare_cached(
            "INSERT INTO contacts (id, version, version_key, deleted) VALUES (?1, ?2, ?3, 1)
             ON CONFLICT (id) DO UPDATE SET version = excluded.version, version_key = excluded.version_key, deleted = 1,
               first_name = NULL, last_name = NULL, full_name = NULL, email = NULL, phone_number = NULL,
               company = NULL, title = NULL, location = NULL, image_url = NULL, created_at = NULL,
               created_at_original = NULL, updated_at = NULL, updated_at_original = NULL, owner = NULL
             WHERE (excluded.version, 1, excluded.version_key) > (contacts.version, contacts.deleted, contacts.version_key)",
        )?
        .execute(params![id, ctx.at, ctx.event_id])?;
    if changed == 1 {
        reindex(conn, id)?;
    }
    Ok(())
}

/// What a contact is found by: name, company, title, email, phone and location.
struct IndexedRow {
    rowid: i64,
    deleted: bool,
    body: String,
    at: i64,
}

fn reindex(conn: &Connection, id: &str) -> Result<(), StoreError> {
    let row = conn
        .prepare_cached(
            "SELECT rowid, deleted,
                    concat_ws(' ', coalesce(full_name, trim(concat_ws(' ', first_name, last_name))),
                              company, title, email, phone_number, location),
                    coalesce(updated_at, 0)
             FROM contacts WHERE id = ?1",
        )?
        .query_row(params![id], |r| {
            Ok(IndexedRow {
                rowid: r.get(0)?,
                deleted: r.get(1)?,
                body: r.get(2)?,
                at: r.get(3)?,
            })
        })
        .optional()?;
    let Some(row) = row else {
        return Ok(());
    };
    fts::unindex(conn, Kind::Contact, row.rowid)?;
    if row.deleted {
        return Ok(());
    }
    fts::index(
        conn,
        &fts::Entry {
            kind: Kind::Contact,
            owner_rowid: row.rowid,
            body: &row.body,
            ref_id: id,
            chat_id: None,
            at: row.at,
        },
    )
}

const CONTACT_COLUMNS: &str =
    "id, first_name, last_name, full_name, email, phone_number, company, title, location,
     image_url, created_at, created_at_original, updated_at, updated_at_original, owner";

fn contact_row(conn: &Connection, r: &rusqlite::Row<'_>) -> Result<ContactView, StoreError> {
    let owner: Option<String> = r.get(14)?;
    let phone: Option<String> = r.get(5)?;
    let chat_id = match &phone {
        Some(p) => direct_chat(conn, p)?,
        None => None,
    };
    Ok(ContactView {
        id: r.get(0)?,
        first_name: r.get(1)?,
        last_name: r.get(2)?,
        full_name: r.get(3)?,
        email: r.get(4)?,
        phone_number: phone,
        company: r.get(6)?,
        title: r.get(7)?,
        location: r.get(8)?,
        image_url: r.get(9)?,
        created_at: r.get::<_, Option<i64>>(10)?.map(format_millis),
        created_at_original: r.get(11)?,
        updated_at: r.get::<_, Option<i64>>(12)?.map(format_millis),
        updated_at_original: r.get(13)?,
        owner: owner.as_deref().and_then(owner_view),
        chat_id,
    })
}

/// The contact's owner as stored (JSON): a name from `name`, else first and last.
fn owner_view(stored: &str) -> Option<ContactOwner> {
    let o: serde_json::Value = serde_json::from_str(stored).ok()?;
    let text = |k: &str| o.get(k).and_then(|v| v.as_str()).map(str::to_string);
    let joined = || {
        let first = text("first_name").unwrap_or_default();
        let last = text("last_name").unwrap_or_default();
        let full = format!("{first} {last}").trim().to_string();
        (!full.is_empty()).then_some(full)
    };
    Some(ContactOwner {
        id: text("id"),
        name: text("name").or_else(joined),
        email: text("email"),
    })
}

/// Every contact not deleted, by name.
pub fn contacts(conn: &Connection) -> Result<Vec<ContactView>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {CONTACT_COLUMNS} FROM contacts WHERE deleted = 0
         ORDER BY lower(coalesce(full_name, first_name, last_name, phone_number, id))"
    ))?;
    let mut rows = stmt.query([])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(contact_row(conn, r)?);
    }
    Ok(out)
}

/// One contact, unless it does not exist or was deleted.
pub fn contact(conn: &Connection, id: &str) -> Result<Option<ContactView>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {CONTACT_COLUMNS} FROM contacts WHERE id = ?1 AND deleted = 0"
    ))?;
    let mut rows = stmt.query(params![id])?;
    match rows.next()? {
        Some(r) => Ok(Some(contact_row(conn, r)?)),
        None => Ok(None),
    }
}
