//! The health of the rep's own numbers (Linq's `phone_number.status_updated`): the newest
//! report per number wins.

use rusqlite::{params, Connection};

use super::rules::{millis, original, Ctx};
use super::views::NumberHealth as NumberHealthView;
use super::StoreError;
use crate::linq::time::format_millis;
use crate::linq::NumberHealth;

pub(crate) fn project(
    conn: &Connection,
    ctx: &Ctx<'_>,
    n: &NumberHealth,
) -> Result<(), StoreError> {
    let at = n.changed_at.as_ref();
    conn.prepare_cached(
        "INSERT INTO number_health (phone_number, status, reputation, previous_status,
                                    previous_reputation, changed_at, changed_at_original, event_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (phone_number) DO UPDATE SET
           status = excluded.status, reputation = excluded.reputation,
           previous_status = excluded.previous_status, previous_reputation = excluded.previous_reputation,
           changed_at = excluded.changed_at, changed_at_original = excluded.changed_at_original,
           event_id = excluded.event_id
         WHERE (excluded.changed_at, excluded.event_id) > (changed_at, event_id)",
    )?
    .execute(params![
        n.phone_number.trim(),
        n.new_status,
        n.new_reputation,
        n.previous_status,
        n.previous_reputation,
        millis(at).unwrap_or(ctx.at),
        original(at),
        ctx.event_id,
    ])?;
    Ok(())
}

/// Every number Linq has reported on, those needing attention first.
pub fn number_health(conn: &Connection) -> Result<Vec<NumberHealthView>, StoreError> {
    let mut list: Vec<NumberHealthView> = conn
        .prepare_cached(
            "SELECT phone_number, status, reputation, previous_status, previous_reputation,
                    changed_at, changed_at_original
             FROM number_health ORDER BY phone_number",
        )?
        .query_map([], |r| {
            let status: Option<String> = r.get(1)?;
            let reputation: Option<String> = r.get(2)?;
            let needs_attention = status
                .as_deref()
                .is_some_and(|s| !s.eq_ignore_ascii_case("ACTIVE"))
                || reputation
                    .as_deref()
                    .is_some_and(|s| !s.eq_ignore_ascii_case("HEALTHY"));
            Ok(NumberHealthView {
                phone_number: r.get(0)?,
                status,
                reputation,
                previous_status: r.get(3)?,
                previous_reputation: r.get(4)?,
                changed_at: format_millis(r.get(5)?),
                changed_at_original: r.get(6)?,
                needs_attention,
            })
        })?
        .collect::<Result<_, _>>()?;
    list.sort_by_key(|n| !n.needs_attention);
    Ok(list)
}
