//! Webhook signatures: `X-Webhook-Signature: sha256=<hex>`, HMAC-SHA256 with a shared secret.
//!
//! Linq's documentation says both "the raw body" and "the canonical JSON (keys sorted
//! recursively)", so a delivery is accepted when either form matches any configured secret
//! (several during a rotation). Comparison is constant-time through `Mac::verify_slice`.

use hmac::{Hmac, Mac};
use serde::Serialize;
use serde_json::Value;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// A webhook secret. Its bytes never appear in `Debug` output, logs or errors.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl Secret {
    pub fn new(text: &str) -> Secret {
        Secret(text.as_bytes().to_vec())
    }

    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Which bytes the matching signature covered; recorded on every stored event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SignatureForm {
    Raw,
    Canonical,
    Unsigned,
    /// Linq v3: Standard Webhooks (`webhook-signature`).
    Standard,
    /// Linq v3's deprecated form: hex HMAC over `{X-Webhook-Timestamp}.{body}`.
    Legacy,
    /// Not a delivery: a record this app fetched itself from Linq's REST API (a catch-up pass),
    /// over TLS with the integration token.
    Fetched,
    /// Not a delivery: the app's own write (the outbox: a reply queued, Linq's answer to it).
    Local,
}

impl SignatureForm {
    pub fn as_str(self) -> &'static str {
        match self {
            SignatureForm::Raw => "raw",
            SignatureForm::Canonical => "canonical",
            SignatureForm::Unsigned => "unsigned",
            SignatureForm::Standard => "standard",
            SignatureForm::Legacy => "legacy",
            SignatureForm::Fetched => "fetched",
            SignatureForm::Local => "local",
        }
    }
}

/// Why a delivery's signature was refused. Each message is safe to show the sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("missing X-Webhook-Signature header")]
    Missing,
    #[error("X-Webhook-Signature is not sha256=<64 hex digits>")]
    Malformed,
    #[error("signature did not match any secret")]
    Mismatch,
    #[error("no webhook secret is configured, and unsigned deliveries are not allowed")]
    NoSecret,
}

/// `sha256=<hex>` for `body` under `secret`: what Linq sends.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    format!(
        "sha256={}",
        hex::encode(mac(secret, body).finalize().into_bytes())
    )
}

fn mac(secret: &[u8], body: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    let mut m = match HmacSha256::new_from_slice(secret) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC accepts keys of every length"),
    };
    m.update(body);
    m
}

/// Decodes a header value: optional `sha256=` prefix (any case), 64 hex digits (any case).
pub fn decode_header(header: &str) -> Result<[u8; 32], SignatureError> {
    let value = header.trim();
    if value.is_empty() {
        return Err(SignatureError::Missing);
    }
    let hex_part = match value.get(..7) {
        Some(prefix) if prefix.eq_ignore_ascii_case("sha256=") => &value[7..],
        _ => value,
    };
    let mut digest = [0u8; 32];
    hex::decode_to_slice(hex_part.trim(), &mut digest).map_err(|_| SignatureError::Malformed)?;
    Ok(digest)
}

/// Checks a delivery: the raw body, then (only when that fails) its canonical JSON, for which
/// the body is read as serde_json reads it (a repeated key keeps its last value).
pub fn verify(
    secrets: &[Secret],
    header: Option<&str>,
    raw: &[u8],
) -> Result<SignatureForm, SignatureError> {
    if secrets.is_empty() {
        return Err(SignatureError::NoSecret);
    }
    let digest = decode_header(header.ok_or(SignatureError::Missing)?)?;
    if secrets
        .iter()
        .any(|s| mac(s.expose(), raw).verify_slice(&digest).is_ok())
    {
        return Ok(SignatureForm::Raw);
    }
    if let Ok(value) = serde_json::from_slice::<Value>(raw) {
        let canonical = canonical_json(&value);
        if secrets.iter().any(|s| {
            mac(s.expose(), canonical.as_bytes())
                .verify_slice(&digest)
                .is_ok()
        }) {
            return Ok(SignatureForm::Canonical);
        }
    }
    Err(SignatureError::Mismatch)
}

/// The canonical JSON text: keys sorted recursively (by UTF-8 bytes, which is code point
/// order), no insignificant white space, non-ASCII written as UTF-8. Sorting is done here rather
/// than left to `serde_json::Map`, whose order depends on crate features other crates may enable.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push('{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(key, out);
                out.push(':');
                write_canonical(item, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        Value::String(s) => write_string(s, out),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Null => out.push_str("null"),
    }
}

fn write_string(s: &str, out: &mut String) {
    // serde_json escapes exactly what Python's json.dumps(ensure_ascii=False) escapes.
    match serde_json::to_string(s) {
        Ok(quoted) => out.push_str(&quoted),
        Err(_) => unreachable!("serializing a str cannot fail"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn secrets() -> Vec<Secret> {
        vec![Secret::new("old"), Secret::new("new")]
    }

    #[test]
    fn canonical_sorts_nested_keys_and_keeps_unicode() {
        let v = json!({"b": {"z": 1, "a": [{"y": "é", "x": null}]}, "a": "\u{1F600}\n"});
        assert_eq!(
            canonical_json(&v),
            "{\"a\":\"\u{1F600}\\n\",\"b\":{\"a\":[{\"x\":null,\"y\":\"é\"}],\"z\":1}}",
            "the canonical form sorts keys at every depth and keeps non-ASCII as is"
        );
    }

    #[test]
    fn any_secret_of_a_rotation_matches() {
        let body = br#"{"a":1}"#;
        let header = sign(b"new", body);
        assert_eq!(
            verify(&secrets(), Some(&header), body),
            Ok(SignatureForm::Raw),
            "a delivery signed with any secret of a rotation verifies"
        );
    }

    #[test]
    fn canonical_form_matches_when_raw_does_not() {
        let raw = b"{ \"b\": 2, \"a\": 1 }";
        let value: Value = serde_json::from_slice(raw).expect("json");
        let header = sign(b"old", canonical_json(&value).as_bytes());
        assert_eq!(
            verify(&secrets(), Some(&header), raw),
            Ok(SignatureForm::Canonical),
            "a delivery signed over the canonical JSON verifies when the raw body does not"
        );
    }

    #[test]
    fn header_forms() {
        let body = b"x";
        let header = sign(b"old", body);
        let bare = header.trim_start_matches("sha256=").to_uppercase();
        assert_eq!(
            verify(&secrets(), Some(&bare), body),
            Ok(SignatureForm::Raw),
            "no prefix, upper case"
        );
        assert_eq!(
            verify(&secrets(), None, body),
            Err(SignatureError::Missing),
            "no signature header is refused as missing"
        );
        assert_eq!(
            verify(&secrets(), Some(""), body),
            Err(SignatureError::Missing),
            "an empty signature header is refused as missing"
        );
        assert_eq!(
            verify(&secrets(), Some(&header[..40]), body),
            Err(SignatureError::Malformed),
            "a truncated signature is malformed"
        );
        assert_eq!(
            verify(&[], Some(&header), body),
            Err(SignatureError::NoSecret),
            "without a configured secret nothing verifies"
        );
    }

    #[test]
    fn secrets_do_not_debug_print() {
        assert_eq!(
            format!("{:?}", Secret::new("hunter2")),
            "Secret(<redacted>)",
            "a secret never shows in debug output"
        );
    }
}

/// The outside reference: signatures computed by Python's `hmac` over the vendor's examples.
#[cfg(test)]
mod reference {
    use super::*;

    struct Row {
        body: Vec<u8>,
        secret: String,
        raw: String,
        canonical: String,
    }

    fn rows() -> Vec<Row> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let table = std::fs::read_to_string(dir.join("signatures.tsv")).expect("signatures.tsv");
        table
            .lines()
            .skip(1)
            .filter(|l| !l.trim().is_empty())
            .map(|line| {
                let cols: Vec<&str> = line.split('\t').collect();
                Row {
                    body: std::fs::read(dir.join(cols[0])).expect("fixture file"),
                    secret: cols[1].to_string(),
                    raw: cols[2].to_string(),
                    canonical: cols[3].to_string(),
                }
            })
            .collect()
    }

    fn check(
        row: &Row,
        secret: &str,
        header: Option<&str>,
    ) -> Result<SignatureForm, SignatureError> {
        verify(&[Secret::new(secret)], header, &row.body)
    }

    #[test]
    fn every_fixture_is_accepted_with_either_reference_signature() {
        let rows = rows();
        assert_eq!(rows.len(), 7, "the table covers every example");
        for row in &rows {
            assert_eq!(
                check(row, &row.secret, Some(&row.raw)),
                Ok(SignatureForm::Raw),
                "raw form"
            );
            assert_eq!(
                check(row, &row.secret, Some(&row.canonical)),
                Ok(SignatureForm::Canonical),
                "canonical form"
            );
        }
    }

    #[test]
    fn every_fixture_is_refused_with_anything_else() {
        for row in &rows() {
            assert_eq!(
                check(row, "wrong-secret", Some(&row.raw)),
                Err(SignatureError::Mismatch),
                "a signature made with another secret is refused"
            );
            let mut flipped = row.raw.clone().into_bytes();
            let last = flipped.len() - 1;
            flipped[last] = if flipped[last] == b'0' { b'1' } else { b'0' };
            let flipped = String::from_utf8(flipped).expect("ascii");
            assert_eq!(
                check(row, &row.secret, Some(&flipped)),
                Err(SignatureError::Mismatch),
                "one digit flipped"
            );
            assert_eq!(
                check(row, &row.secret, Some(&row.raw[..row.raw.len() - 2])),
                Err(SignatureError::Malformed),
                "a truncated signature is malformed"
            );
            assert_eq!(
                check(row, &row.secret, Some("")),
                Err(SignatureError::Missing),
                "an empty signature is refused as missing"
            );
            assert_eq!(
                check(row, &row.secret, None),
                Err(SignatureError::Missing),
                "no signature is refused as missing"
            );
        }
    }
}
