//! Envelopes shaped like Linq's v2 `message.received` / `message.sent` (see the vendor's
//! fixtures), signed the way Linq signs them: `sha256=` + hex HMAC-SHA256 of the raw body.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The rep's own Linq number in every generated chat.
pub const ME: &str = "+15559990000";

/// A small, fast, deterministic generator (SplitMix64): the same seed gives the same data.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// Skewed towards small values, like word frequencies: index `i` is about `1/(i+1)` likely.
    pub fn zipf(&mut self, n: usize) -> usize {
        let u = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        (((n as f64 + 1.0).powf(u) - 1.0) as usize).min(n - 1)
    }
}

/// Words of a sales rep's conversations, most common first.
pub const WORDS: &[&str] = &[
    "the",
    "to",
    "you",
    "I",
    "a",
    "and",
    "for",
    "is",
    "we",
    "on",
    "it",
    "can",
    "that",
    "with",
    "thanks",
    "will",
    "be",
    "me",
    "at",
    "this",
    "your",
    "do",
    "have",
    "are",
    "just",
    "call",
    "send",
    "tomorrow",
    "today",
    "meeting",
    "demo",
    "price",
    "pricing",
    "quote",
    "contract",
    "week",
    "team",
    "update",
    "next",
    "time",
    "great",
    "sounds",
    "good",
    "let",
    "know",
    "please",
    "follow",
    "up",
    "about",
    "order",
    "delivery",
    "invoice",
    "discount",
    "renewal",
    "trial",
    "account",
    "details",
    "proposal",
    "signed",
    "review",
    "schedule",
    "monday",
    "friday",
    "morning",
    "afternoon",
    "budget",
    "approval",
    "manager",
    "onboarding",
    "training",
    "support",
    "issue",
    "question",
    "shipping",
    "warehouse",
    "samples",
    "catalog",
    "license",
    "seats",
    "upgrade",
    "migration",
    "integration",
    "webinar",
    "conference",
    "booth",
    "lunch",
    "coffee",
    "lunchtime",
    "Austin",
    "Denver",
    "Chicago",
    "Boston",
    "Seattle",
    "quarterly",
    "annual",
    "forecast",
    "pipeline",
    "referral",
    "testimonial",
    "feedback",
    "survey",
    "checklist",
    "agenda",
    "slides",
    "recording",
    "voicemail",
    "reschedule",
    "confirm",
    "confirmed",
    "perfect",
    "awesome",
    "appreciate",
    "sorry",
    "delay",
    "asap",
    "eta",
    "tracking",
    "number",
    "paperwork",
    "signature",
    "docusign",
    "legal",
    "procurement",
    "security",
    "questionnaire",
    "compliance",
    "SOC2",
    "GDPR",
    "pilot",
    "rollout",
    "kickoff",
    "milestone",
    "deadline",
    "extension",
    "refund",
    "credit",
    "card",
    "wire",
    "payment",
    "terms",
    "net30",
    "purchase",
    "PO",
    "vendor",
    "form",
    "W9",
    "insurance",
    "certificate",
    "zebra",
    "quokka",
    "xylophone",
    "marmalade",
    "kaleidoscope",
    "flamingo",
    "avocado",
    "ukulele",
    "origami",
];

/// Builds message text of `words` words from the vocabulary.
pub fn text(rng: &mut Rng, words: usize, out: &mut String) {
    for i in 0..words {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(WORDS[rng.zipf(WORDS.len())]);
    }
}

/// An RFC 3339 UTC time for `secs` since the Unix epoch (civil-from-days, no dependency).
pub fn rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// One message envelope. `inbound` decides the type and the sender.
pub struct Message<'a> {
    pub event_id: &'a str,
    pub id: &'a str,
    pub chat_id: &'a str,
    pub other: &'a str,
    pub other_name: &'a str,
    pub text: &'a str,
    pub at: &'a str,
    pub inbound: bool,
    pub is_read: bool,
    pub attachment: bool,
}

impl Message<'_> {
    pub fn to_json(&self) -> String {
        let (event_type, from) = if self.inbound {
            ("message.received", self.other)
        } else {
            ("message.sent", ME)
        };
        let attachments = if self.attachment {
            format!(
                r#"[{{"id":"att-{id}","url":"https://storage.googleapis.com/linq-files/attachments/{id}.jpg","filename":"photo-{id}.jpg","mime_type":"image/jpeg"}}]"#,
                id = self.id
            )
        } else {
            "[]".to_string()
        };
        // serde_json escapes the text; everything else is generated and needs no escaping.
        let text = serde_json::Value::String(self.text.to_string()).to_string();
        format!(
            r#"{{"api_version":"v2","created_at":"{at}","data":{{"id":"{id}","chat_id":"{chat}","text":{text},"sent_at":"{at}","is_read":{read},"from_phone":"{from}","service":"iMessage","reaction_id":null,"chat_handles":[{{"identifier":"{other}","display_name":"{name}","is_me":false}},{{"identifier":"{me}","display_name":"Your Linq Number","is_me":true}}],"attachments":{attachments}}},"event_id":"{eid}","event_type":"{event_type}"}}"#,
            at = self.at,
            id = self.id,
            chat = self.chat_id,
            read = self.is_read,
            other = self.other,
            name = self.other_name,
            me = ME,
            eid = self.event_id,
        )
    }
}

/// `sha256=<hex>` over the raw body.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Checks a `sha256=<hex>` header against the raw body in constant time.
pub fn verify(secret: &[u8], header: &str, body: &[u8]) -> bool {
    let Some(hex_sig) = header.trim().strip_prefix("sha256=") else {
        return false;
    };
    let Ok(sig) = hex::decode(hex_sig) else {
        return false;
    };
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(body);
    mac.verify_slice(&sig).is_ok()
}

/// A ~1 KB delivery for the load tests: a unique event and message id from `run` and `n`,
/// spread over `chats` chats, with a longer text like a real conversation's.
/// Whether load delivery `n` is an inbound message (the rest are the rep's own, sent).
pub fn is_inbound(n: u64) -> bool {
    !n.is_multiple_of(3)
}

pub fn load_delivery(run: &str, n: u64, chats: u64, now_secs: i64) -> String {
    let mut rng = Rng::new(n ^ 0x5eed);
    let chat = n % chats;
    let mut body = String::with_capacity(400);
    let words = 85 + rng.below(20) as usize;
    text(&mut rng, words, &mut body);
    let event_id = format!("{run}-e{n}");
    let id = format!("{run}-m{n}");
    let chat_id = format!("{run}-chat{chat}");
    let other = format!("+1555{:07}", chat);
    let name = format!("Customer {chat}");
    let at = rfc3339(now_secs);
    Message {
        event_id: &event_id,
        id: &id,
        chat_id: &chat_id,
        other: &other,
        other_name: &name,
        text: &body,
        at: &at,
        inbound: is_inbound(n),
        is_read: false,
        attachment: n.is_multiple_of(10),
    }
    .to_json()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_match_known_instants() {
        assert_eq!(
            rfc3339(0),
            "1970-01-01T00:00:00Z",
            "the epoch formats as RFC 3339"
        );
        assert_eq!(
            rfc3339(1_767_225_600),
            "2026-01-01T00:00:00Z",
            "a known 2026 instant formats as RFC 3339"
        );
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z", "leap day");
    }

    #[test]
    fn a_load_delivery_is_valid_json_of_about_a_kilobyte() {
        let body = load_delivery("r1", 7, 100, 1_767_225_600);
        let v: serde_json::Value = serde_json::from_str(&body).expect("valid JSON");
        assert_eq!(
            v["event_id"], "r1-e7",
            "the event id carries the run and the sequence number"
        );
        assert!((800..1300).contains(&body.len()), "{} bytes", body.len());
    }

    #[test]
    fn a_signature_verifies_and_a_changed_body_does_not() {
        let sig = sign(b"s3cret", b"{}");
        assert!(
            verify(b"s3cret", &sig, b"{}"),
            "a signature verifies over the body it was made for"
        );
        assert!(
            !verify(b"s3cret", &sig, b"{ }"),
            "a changed body does not verify"
        );
        assert!(
            !verify(b"other", &sig, b"{}"),
            "another secret does not verify"
        );
    }
}
