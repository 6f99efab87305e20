//! Linq timestamps. The vendor sends RFC 3339 (`2025-05-21T15:30:00-06:00`) in some fields and
//! `2025-05-21 15:30:00 -0600` in others; both must parse, and the original text is kept.

use chrono::{DateTime, FixedOffset, SecondsFormat, TimeZone, Utc};

/// A moment as Linq wrote it: UTC for sorting, the original text for display and audit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    pub utc: DateTime<Utc>,
    pub original: String,
}

impl Stamp {
    /// Milliseconds since the Unix epoch: the sortable column form.
    pub fn millis(&self) -> i64 {
        self.utc.timestamp_millis()
    }
}

/// Parses every timestamp form Linq is known to send. `None` for anything else.
pub fn parse(text: &str) -> Option<Stamp> {
    let trimmed = text.trim();
    let utc = parse_utc(trimmed)?;
    Some(Stamp {
        utc,
        original: text.to_string(),
    })
}

fn parse_utc(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    const FORMATS: [&str; 4] = [
        "%Y-%m-%d %H:%M:%S %z",
        "%Y-%m-%d %H:%M:%S%.f %z",
        "%Y-%m-%d %H:%M:%S%z",
        "%Y-%m-%dT%H:%M:%S%.f%z",
    ];
    for format in FORMATS {
        if let Ok(t) = DateTime::<FixedOffset>::parse_from_str(text, format) {
            return Some(t.with_timezone(&Utc));
        }
    }
    // A bare "2025-05-21 15:30:00" carries no zone; Linq's servers speak UTC then.
    for format in ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S%.f"] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(text, format) {
            return Some(Utc.from_utc_datetime(&t));
        }
    }
    None
}

/// RFC 3339 in UTC with a `Z`, seconds precision unless the moment has a fraction.
pub fn format_utc(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// The same, from stored milliseconds.
pub fn format_millis(ms: i64) -> String {
    match Utc.timestamp_millis_opt(ms).single() {
        Some(t) => format_utc(&t),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_vendor_forms_parse_to_the_same_instant() {
        let a = parse("2025-05-21T15:30:00-06:00").expect("rfc3339 form parses");
        let b = parse("2025-05-21 15:30:00 -0600").expect("space form parses");
        assert_eq!(a.utc, b.utc, "both forms name the same moment");
        assert_eq!(
            format_utc(&a.utc),
            "2025-05-21T21:30:00Z",
            "times are stored as UTC"
        );
        assert_eq!(
            b.original, "2025-05-21 15:30:00 -0600",
            "original text is kept"
        );
    }

    #[test]
    fn fractions_and_zulu_parse() {
        let t = parse("2025-05-21T21:30:00.250Z").expect("fraction parses");
        assert_eq!(
            t.millis() % 1000,
            250,
            "fractions of a second are kept as milliseconds"
        );
    }

    #[test]
    fn garbage_is_refused() {
        for bad in ["", "yesterday", "2025-13-40 10:00:00 -0600", "1716325800"] {
            assert!(parse(bad).is_none(), "{bad:?} is not a timestamp");
        }
    }
}
