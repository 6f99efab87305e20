//! Linq's v3 webhook subscriptions and the account's lines (`linq-api.md` §8–9), on the shared
//! [`Rest`] core: create (the answer carries the `signing_secret`, shown once), list, update,
//! delete, and `GET /v3/phone_numbers`.
//!
//! Bodies are flat (no wrapper); `target_url` is unique per account and carries the payload
//! version pin (`?version=`). The secret cannot change through an update.

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::error::LinqApiError;
use super::rest::{subscription_path, Rest};
use crate::linq::Secret;

/// Where the v3 subscriptions live under the base.
pub const V3_SUBSCRIPTIONS_PATH: &str = "/api/partner/v3/webhook-subscriptions";
/// The account's lines (v3).
pub const V3_PHONE_NUMBERS_PATH: &str = "/api/partner/v3/phone_numbers";
/// The payload version the app pins in every `target_url` (the shape `crate::linq::v3` reads
/// natively; `message.edited` comes only with it).
pub const WEBHOOK_VERSION: &str = "2026-02-03";

/// The v3 event types a subscription asks for: every one this build understands.
pub fn subscribed_events() -> Vec<String> {
    crate::linq::v3::KNOWN_V3_EVENT_TYPES
        .iter()
        .map(|s| s.to_string())
        .collect()
}

/// A v3 subscription as Linq describes it (the secret is never part of it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct V3Subscription {
    pub id: String,
    pub target_url: String,
    #[serde(default)]
    pub subscribed_events: Vec<String>,
    #[serde(default)]
    pub is_active: bool,
    #[serde(default)]
    pub phone_numbers: Option<Vec<String>>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub updated_at: Option<String>,
}

/// What a create answers: the subscription and the secret Linq shows only this once.
#[derive(Debug)]
pub struct Created {
    pub subscription: V3Subscription,
    pub signing_secret: Secret,
}

/// One of the account's lines.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Line {
    pub id: String,
    pub phone_number: String,
    /// `HEALTHY`, `AT_RISK` or `CRITICAL` (beta), when Linq says.
    #[serde(default)]
    pub reputation: Option<String>,
}

/// The body of a create or an update: where to deliver, which events, which lines
/// (`None` or empty: every line).
#[derive(Debug, Clone, PartialEq)]
pub struct V3Request {
    pub target_url: String,
    pub subscribed_events: Vec<String>,
    pub phone_numbers: Option<Vec<String>>,
}

impl V3Request {
    fn create_body(&self) -> Value {
        let mut body = json!({
            "target_url": self.target_url,
            "subscribed_events": self.subscribed_events,
        });
        if let Some(lines) = self.phone_numbers.as_ref().filter(|l| !l.is_empty()) {
            body["phone_numbers"] = json!(lines);
        }
        body
    }

    /// An update sends every field, so the subscription ends exactly as asked (`[]` clears
    /// the line filter) and active again.
    fn update_body(&self) -> Value {
        json!({
            "target_url": self.target_url,
            "subscribed_events": self.subscribed_events,
            "phone_numbers": self.phone_numbers.clone().unwrap_or_default(),
            "is_active": true,
        })
    }
}

/// The v3 subscription calls of one account.
pub struct V3Subscriptions<'a> {
    rest: &'a Rest,
}

impl<'a> V3Subscriptions<'a> {
    /// `rest` speaks v3 (`Authorization: Bearer`).
    pub fn new(rest: &'a Rest) -> V3Subscriptions<'a> {
        V3Subscriptions { rest }
    }

    /// `POST /v3/webhook-subscriptions`. `keep` receives the signing secret before anything
    /// else is read from the answer, so a secret Linq issued is never lost to a later failure.
    pub async fn create(
        &self,
        req: &V3Request,
        keep: impl FnOnce(&Secret, Option<&str>) -> Result<(), LinqApiError>,
    ) -> Result<Created, LinqApiError> {
        let value = self
            .rest
            .subscription_call(
                Method::POST,
                V3_SUBSCRIPTIONS_PATH,
                Some(req.create_body()),
                None,
            )
            .await?;
        let signing_secret = value
            .get("signing_secret")
            .and_then(Value::as_str)
            .filter(|s| !s.trim().is_empty())
            .map(Secret::new)
            .ok_or_else(|| LinqApiError::BadAnswer {
                reason: "the new subscription came without its signing_secret".into(),
            })?;
        keep(&signing_secret, value.get("id").and_then(Value::as_str))?;
        Ok(Created {
            subscription: parse(value)?,
            signing_secret,
        })
    }

    /// `GET /v3/webhook-subscriptions` → `{"subscriptions": [...]}`.
    pub async fn list(&self) -> Result<Vec<V3Subscription>, LinqApiError> {
        let value = self
            .rest
            .subscription_call(Method::GET, V3_SUBSCRIPTIONS_PATH, None, None)
            .await?;
        list_of(value, "subscriptions")?
            .into_iter()
            .map(parse)
            .collect()
    }

    /// `PUT /v3/webhook-subscriptions/{id}`.
    pub async fn update(&self, id: &str, req: &V3Request) -> Result<V3Subscription, LinqApiError> {
        let path = subscription_path(V3_SUBSCRIPTIONS_PATH, id)?;
        let value = self
            .rest
            .subscription_call(Method::PUT, &path, Some(req.update_body()), Some(id))
            .await?;
        parse(value)
    }

    /// `DELETE /v3/webhook-subscriptions/{id}`.
    pub async fn delete(&self, id: &str) -> Result<(), LinqApiError> {
        let path = subscription_path(V3_SUBSCRIPTIONS_PATH, id)?;
        self.rest
            .subscription_call(Method::DELETE, &path, None, Some(id))
            .await?;
        Ok(())
    }

    /// `GET /v3/phone_numbers`: the lines the token covers.
    pub async fn lines(&self) -> Result<Vec<Line>, LinqApiError> {
        let value = self.rest.get(V3_PHONE_NUMBERS_PATH, &[]).await?;
        list_of(value, "phone_numbers")?
            .into_iter()
            .map(parse_line)
            .collect()
    }
}

fn list_of(value: Value, key: &str) -> Result<Vec<Value>, LinqApiError> {
    match value {
        Value::Object(mut o) => match o.remove(key) {
            Some(Value::Array(items)) => Ok(items),
            _ => Err(LinqApiError::BadAnswer {
                reason: format!("it has no {key} list"),
            }),
        },
        _ => Err(LinqApiError::BadAnswer {
            reason: "it is not a JSON object".into(),
        }),
    }
}

fn parse(mut value: Value) -> Result<V3Subscription, LinqApiError> {
    if let Some(o) = value.as_object_mut() {
        // Never carried past this point, so never logged or sent to the UI.
        o.remove("signing_secret");
    }
    serde_json::from_value(value).map_err(|e| LinqApiError::BadAnswer {
        reason: format!("a subscription does not have the documented fields ({e})"),
    })
}

fn parse_line(value: Value) -> Result<Line, LinqApiError> {
    let text = |k: &str| value.get(k).and_then(Value::as_str).map(String::from);
    let (Some(id), Some(phone_number)) = (text("id"), text("phone_number")) else {
        return Err(LinqApiError::BadAnswer {
            reason: "a phone number has no id or phone_number".into(),
        });
    };
    Ok(Line {
        id,
        phone_number,
        reputation: value
            .pointer("/reputation/status")
            .and_then(Value::as_str)
            .map(String::from),
    })
}

/// `webhook_url` with the payload version pinned: `…/webhooks/linq?version=2026-02-03`.
pub fn pinned_target(webhook_url: &str) -> String {
    format!("{webhook_url}?version={WEBHOOK_VERSION}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_create_sends_lines_only_when_chosen_and_an_update_clears_them() {
        let mut req = V3Request {
            target_url: pinned_target("https://a.example/webhooks/linq"),
            subscribed_events: vec!["message.received".into()],
            phone_numbers: None,
        };
        assert_eq!(
            req.create_body(),
            json!({"target_url": "https://a.example/webhooks/linq?version=2026-02-03",
                   "subscribed_events": ["message.received"]}),
            "no phone_numbers key means every line"
        );
        assert_eq!(
            req.update_body()["phone_numbers"],
            json!([]),
            "an update with every line clears the filter with []"
        );
        req.phone_numbers = Some(vec!["+15551230000".into()]);
        assert_eq!(
            req.create_body()["phone_numbers"],
            json!(["+15551230000"]),
            "chosen lines are sent"
        );
    }

    #[test]
    fn the_secret_never_stays_in_a_parsed_subscription() {
        let sub = parse(
            json!({"id": "s1", "target_url": "https://a", "subscribed_events": [],
            "is_active": true, "phone_numbers": null, "signing_secret": "whsec_abc"}),
        )
        .expect("documented shape");
        assert!(
            !serde_json::to_string(&sub)
                .expect("serialises")
                .contains("whsec_"),
            "the secret is dropped from what is kept and shown"
        );
    }

    #[test]
    fn a_line_without_a_number_is_a_bad_answer() {
        assert!(
            matches!(
                parse_line(json!({"id": "x"})),
                Err(LinqApiError::BadAnswer { .. })
            ),
            "a line must carry its phone_number"
        );
        let line = parse_line(json!({"id": "x", "phone_number": "+15550001111",
            "reputation": {"status": "HEALTHY", "doc_url": "u"}}))
        .expect("documented shape");
        assert_eq!(
            line.reputation.as_deref(),
            Some("HEALTHY"),
            "reputation status kept"
        );
    }
}
