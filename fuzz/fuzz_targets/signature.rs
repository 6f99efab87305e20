//! Signature checking and canonicalization. The first line of the input is an
//! `X-Webhook-Signature` header value, the rest is the body.
//!
//! - any header and body: `verify` answers without panicking, and accepts only a header that
//!   decodes to the HMAC of the raw body or of its canonical JSON under a configured secret;
//! - the canonical JSON of a body parses back to the same value and is a fixed point;
//! - a proper raw signature always verifies as raw, a proper canonical one as canonical
//!   (or raw, when the body already is its canonical form); another secret never verifies.

#![no_main]

use libfuzzer_sys::fuzz_target;
use linq_inbox::linq::signature::{canonical_json, decode_header, sign, verify};
use linq_inbox::linq::{Secret, SignatureError, SignatureForm};
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let (head, body) = match data.iter().position(|b| *b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (&data[..0], data),
    };
    let header = String::from_utf8_lossy(head);
    let secrets = [
        Secret::new("fuzz-secret-old"),
        Secret::new("fuzz-secret-new"),
    ];
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let canonical = parsed.as_ref().map(canonical_json);

    // Arbitrary header: only a real MAC may pass.
    if let Ok(form) = verify(&secrets, Some(&header), body) {
        let digest = decode_header(&header).expect("an accepted header decodes");
        let text = format!("sha256={}", hex(&digest));
        let covered: &[u8] = match form {
            SignatureForm::Raw => body,
            SignatureForm::Canonical => canonical
                .as_deref()
                .expect("canonical needs JSON")
                .as_bytes(),
            SignatureForm::Unsigned
            | SignatureForm::Standard
            | SignatureForm::Legacy
            | SignatureForm::Fetched
            | SignatureForm::Local => {
                panic!("the v2 verifier never answers {form:?}")
            }
        };
        assert!(
            secrets.iter().any(|s| sign(s.expose(), covered) == text),
            "accepted a header that is no MAC of the {form:?} form"
        );
    }

    let raw_sig = sign(b"fuzz-secret-new", body);
    assert_eq!(
        verify(&secrets, Some(&raw_sig), body),
        Ok(SignatureForm::Raw),
        "a proper raw signature verifies"
    );
    assert_eq!(
        verify(&secrets, Some(&sign(b"not-configured", body)), body),
        Err(SignatureError::Mismatch),
        "another secret never verifies"
    );

    if let (Some(value), Some(canonical)) = (&parsed, &canonical) {
        let back: Value = serde_json::from_str(canonical).expect("canonical JSON parses");
        assert_eq!(&back, value, "canonical JSON keeps the value");
        assert_eq!(
            &canonical_json(&back),
            canonical,
            "canonical JSON is a fixed point"
        );
        let canon_sig = sign(b"fuzz-secret-old", canonical.as_bytes());
        let form = verify(&secrets, Some(&canon_sig), body);
        let expected = if canonical.as_bytes() == body {
            SignatureForm::Raw
        } else {
            SignatureForm::Canonical
        };
        assert_eq!(form, Ok(expected), "a proper canonical signature verifies");
    }
});

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
