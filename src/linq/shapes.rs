//! Shapes Linq has not published, read by looking for each field wherever it plausibly sits:
//! group-membership changes, `chat.created`, and handles given as strings or objects. Both
//! webhook dialects send these alike, so both readers use them.

use serde::Deserialize;
use serde_json::Value;

use super::model::{ChatCreated, Handle, MemberHandle, Membership, MembershipChange};
use super::value::{id_field, Time};

/// The longest handle (phone number or email) accepted; longer is not a handle.
const MAX_HANDLE: usize = 320;

/// A handle given as a plain string or as a ChatHandle object (`handle`, `identifier`,
/// `phone_number` or `email`, maybe `is_me` and `display_name`).
pub(crate) fn handle_of(v: &Value) -> Option<Handle> {
    let (identifier, is_me, name) = match v {
        Value::String(s) => (s.as_str(), None, None),
        Value::Object(o) => (
            ["handle", "identifier", "phone_number", "email"]
                .iter()
                .find_map(|k| o.get(*k).and_then(Value::as_str))?,
            o.get("is_me").and_then(Value::as_bool),
            o.get("display_name").and_then(Value::as_str),
        ),
        _ => return None,
    };
    let identifier = identifier.trim();
    if identifier.is_empty() || identifier.len() > MAX_HANDLE {
        return None;
    }
    Some(Handle {
        identifier: identifier.to_string(),
        display_name: name.map(str::to_string),
        is_me: is_me.unwrap_or(false),
    })
}

/// Finds the chat and the handles of a membership change in whatever shape it arrives.
pub(crate) fn membership(data: &Value, change: MembershipChange) -> Membership {
    let chat_id = id_field(data, "chat_id")
        .or_else(|| id_field(data, "group_chat_id"))
        .or_else(|| data.get("chat").and_then(|c| id_field(c, "id")));
    let mut handles = Vec::new();
    for key in [
        "participant",
        "chat_handle",
        "handle",
        "participants",
        "handles",
        "chat_handles",
    ] {
        collect_handles(data.get(key), &mut handles);
    }
    for key in ["phone_number", "identifier", "from_phone"] {
        if let Some(Value::String(s)) = data.get(key) {
            push_handle(&mut handles, s, None);
        }
    }
    let at = [
        "added_at",
        "removed_at",
        "timestamp",
        "created_at",
        "updated_at",
    ]
    .iter()
    .find_map(|k| data.get(*k).and_then(|v| Time::deserialize(v).ok()));
    Membership {
        chat_id,
        handles,
        at,
        change,
    }
}

fn collect_handles(value: Option<&Value>, out: &mut Vec<MemberHandle>) {
    match value {
        Some(Value::String(s)) => push_handle(out, s, None),
        Some(Value::Array(items)) => items.iter().for_each(|v| collect_handles(Some(v), out)),
        Some(v @ Value::Object(_)) => {
            let identifier = ["identifier", "handle", "phone_number", "phone", "email"]
                .iter()
                .find_map(|k| v.get(*k).and_then(Value::as_str));
            let name = ["display_name", "name", "full_name"]
                .iter()
                .find_map(|k| v.get(*k).and_then(Value::as_str));
            if let Some(identifier) = identifier {
                push_handle(out, identifier, name);
            }
        }
        _ => {}
    }
}

fn push_handle(out: &mut Vec<MemberHandle>, identifier: &str, name: Option<&str>) {
    let identifier = identifier.trim();
    if identifier.is_empty() || identifier.len() > MAX_HANDLE {
        return;
    }
    if let Some(existing) = out.iter_mut().find(|h| h.identifier == identifier) {
        if existing.display_name.is_none() {
            existing.display_name = name.map(str::to_string);
        }
        return;
    }
    out.push(MemberHandle {
        identifier: identifier.to_string(),
        display_name: name.map(str::to_string),
    });
}

/// `chat.created`: a chat id, maybe a name and handles.
pub(crate) fn chat_created(data: &Value) -> ChatCreated {
    let chat_id = id_field(data, "chat_id")
        .or_else(|| id_field(data, "id"))
        .or_else(|| data.get("chat").and_then(|c| id_field(c, "id")));
    let display_name = ["display_name", "name", "title"]
        .iter()
        .find_map(|k| data.get(*k).and_then(Value::as_str))
        .filter(|s| !s.trim().is_empty())
        .map(str::to_string);
    let handles = ["chat_handles", "handles"]
        .iter()
        .find_map(|k| data.get(*k))
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(handle_object).collect())
        .unwrap_or_default();
    ChatCreated {
        chat_id,
        display_name,
        is_group: data.get("is_group").and_then(Value::as_bool),
        handles,
    }
}

/// A handle listed as an object (a list of plain strings is not a chat's handles).
fn handle_object(v: &Value) -> Option<Handle> {
    v.is_object().then(|| handle_of(v)).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn memberships_are_found_in_plausible_shapes() {
        let p = membership(
            &json!({"chat_id": 99, "participant": {"handle": "+1555", "display_name": "Ann"}}),
            MembershipChange::Added,
        );
        assert_eq!(
            p.chat_id.as_deref(),
            Some("99"),
            "a numeric chat id becomes text"
        );
        assert_eq!(
            p.handles,
            vec![MemberHandle {
                identifier: "+1555".into(),
                display_name: Some("Ann".into())
            }],
            "the participant object gives its handle and name"
        );
        let p = membership(
            &json!({"chat": {"id": "g"}, "handle": "+1666"}),
            MembershipChange::Removed,
        );
        assert_eq!(p.chat_id.as_deref(), Some("g"), "the chat may be nested");
        assert_eq!(p.handles.len(), 1, "a plain string is a handle");
        let p = membership(&json!({"something": "else"}), MembershipChange::Added);
        assert!(
            p.chat_id.is_none() && p.handles.is_empty(),
            "nothing invented"
        );
    }

    #[test]
    fn handles_refuse_blank_and_oversized_identifiers() {
        assert_eq!(handle_of(&json!("  ")), None, "blank is no handle");
        assert_eq!(
            handle_of(&json!("x".repeat(321))),
            None,
            "an oversized identifier is no handle"
        );
        assert_eq!(
            handle_of(&json!({"handle": " +1555 ", "is_me": true})),
            Some(Handle {
                identifier: "+1555".into(),
                display_name: None,
                is_me: true
            }),
            "trimmed, and is_me read"
        );
    }
}
