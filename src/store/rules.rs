//! What every projection rule shares: the version of the rules, the context a fact is folded
//! in, and the vendor's times as stored (milliseconds, and the original text beside them).

use crate::linq::value::Time;

/// The version of the projection rules. Raise it whenever a rule changes what the tables hold
/// for the same log (a new identity, a new column filled): a database projected by other rules
/// is rebuilt from its log when it is opened (`replay::reproject_if_stale`).
///
/// 1: one model for every dialect (reactions keyed by who reacted how to which part, v2 and v3
///    alike; calls merged from records and stages by one rule and all of them searchable).
pub const RULES_VERSION: i64 = 1;

/// What every rule may need besides its fact: the event's identity (a stable tie-breaker), and
/// when it happened by the vendor's clock, else when it was received.
pub(crate) struct Ctx<'a> {
    pub event_id: &'a str,
    pub at: i64,
}

/// Milliseconds of an optional vendor time.
pub(crate) fn millis(t: Option<&Time>) -> Option<i64> {
    t.map(|t| t.0.millis())
}

/// The vendor's own text of an optional time.
pub(crate) fn original(t: Option<&Time>) -> Option<&str> {
    t.map(|t| t.0.original.as_str())
}
