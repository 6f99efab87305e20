//! What every projection rule shares: the version of the rules, the context a fact is folded
//! in, and the vendor's times as stored (milliseconds, and the original text beside them).

use crate::linq::value::Time;

/// The version of the projection rules. Raise it whenever a rule changes what the tables hold
/// for the same log (a new identity, a new column filled): a database projected by other rules
/// is emptied when it is opened and projected again from its log (`replay::reset_if_stale`).
///
/// 1: one model for every dialect (reactions keyed by who reacted how to which part, v2 and v3
///    alike; calls merged from records and stages by one rule and all of them searchable).
/// 2: messages in the same millisecond ordered by `tie` (Linq's finer time, else arrival).
pub const RULES_VERSION: i64 = 2;

/// What every rule may need besides its fact: the event's identity (a stable tie-breaker), when
/// it happened by the vendor's clock, else when it was received, and its place in the log.
pub(crate) struct Ctx<'a> {
    pub event_id: &'a str,
    pub at: i64,
    /// The log row's sequence number: the order of arrival, for what the vendor leaves unordered.
    pub seq: i64,
}

/// The smallest tie a vendor time gives: microseconds since the epoch are at least this for any
/// moment since 2001-09-09, and a log's sequence numbers never come near it.
pub(crate) const FINE_TIE_MIN: i64 = 1_000_000_000_000_000;

/// A vendor time that names a fraction of a second, in microseconds: finer than the
/// one-second times (v2) that leave messages tied. `None` for a whole-second time.
pub(crate) fn fine_micros(t: Option<&Time>) -> Option<i64> {
    let stamp = &t?.0;
    // A date and a zone never hold a '.'; a fraction of a second always does.
    stamp
        .original
        .contains('.')
        .then(|| stamp.utc.timestamp_micros())
        .filter(|&us| us >= FINE_TIE_MIN)
}

/// Milliseconds of an optional vendor time.
pub(crate) fn millis(t: Option<&Time>) -> Option<i64> {
    t.map(|t| t.0.millis())
}

/// The vendor's own text of an optional time.
pub(crate) fn original(t: Option<&Time>) -> Option<&str> {
    t.map(|t| t.0.original.as_str())
}
