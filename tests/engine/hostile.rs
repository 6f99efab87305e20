//! A corpus of hostile requests against the webhook listener. Signed-but-hostile bodies carry a
//! correct signature, so they get past the signature check and reach the parser. Each request
//! gets its 4xx, none crashes or stalls the server, nothing of it is stored, and the server
//! answers normally right after.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::harness::*;

struct Case {
    name: String,
    request: Vec<u8>,
    expect: Vec<u16>,
}

/// An HTTP/1.1 request with `Connection: close`.
fn http(method: &str, path: &str, headers: &[(&str, String)], body: &[u8]) -> Vec<u8> {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if !headers.iter().any(|(k, _)| {
        k.eq_ignore_ascii_case("content-length") || k.eq_ignore_ascii_case("transfer-encoding")
    }) {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    out.extend_from_slice(body);
    out
}

/// A POST to the webhook path signed correctly for exactly these bytes.
fn signed(body: &[u8]) -> Vec<u8> {
    let sig = linq_inbox::linq::signature::sign(SECRET.as_bytes(), body);
    http(
        "POST",
        "/webhooks/linq",
        &[
            ("Content-Type", "application/json".into()),
            ("X-Webhook-Signature", sig),
        ],
        body,
    )
}

/// Sends raw bytes, half-closes, reads the answer: (status, how long it took). Status 0 means
/// the server closed without an answer.
fn exchange(addr: SocketAddr, request: &[u8]) -> (u16, Duration) {
    let started = Instant::now();
    let mut sock = TcpStream::connect(addr).expect("connect to the listener");
    sock.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    // Write from another thread: the server may answer (413) and close before the body is
    // all sent, and the answer must be read before the connection is reset. No half-close: the
    // server takes a closed read side for a client gone away (the short-body case tests that).
    let mut writer = sock.try_clone().unwrap();
    let request = request.to_vec();
    let write = std::thread::spawn(move || {
        let _ = writer.write_all(&request);
    });
    let mut buf = Vec::new();
    let _ = sock.read_to_end(&mut buf);
    let _ = write.join();
    (status_line(&buf), started.elapsed())
}

fn status_line(buf: &[u8]) -> u16 {
    String::from_utf8_lossy(buf)
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

/// A fixture with a fresh `hostile-N` event id, so anything wrongly stored is found.
fn template(file: &str, n: usize) -> Value {
    let mut v: Value = serde_json::from_str(&fixture(file)).unwrap();
    v["event_id"] = json!(format!("hostile-{n}"));
    v
}

const FIXTURES: &[&str] = &[
    "events/message.received.json",
    "events/call.completed.json",
    "events/contact.created.json",
    "events/reaction.received.json",
    "events/message.read.json",
    "events/typing_indicator.received.json",
    "events/contact.deleted.json",
];

/// Values of the wrong type for a field, by what the field holds.
fn wrong_values(field: &str, current: &Value) -> Vec<Value> {
    const IDS: &[&str] = &["id", "chat_id", "chat_message_id", "reaction_id"];
    const TIMES: &[&str] = &[
        "sent_at",
        "start_time",
        "end_time",
        "read_at",
        "created_at",
        "updated_at",
        "timestamp",
    ];
    match current {
        Value::Array(_) => vec![json!({"identifier": "x"}), json!("a string"), json!([1, 2])],
        Value::Object(_) => vec![json!([1]), json!("a string"), json!(true)],
        Value::Bool(_) => vec![json!("yes"), json!(1), json!({})],
        _ if IDS.contains(&field) => {
            let mut v = vec![json!({"id": 1}), json!([1]), json!(true), json!("")];
            if field == "id" {
                v.push(Value::Null);
            }
            v
        }
        _ if field == "duration" => vec![
            json!({}),
            json!("soon"),
            serde_json::from_str("1e400").expect("a number beyond f64"),
        ],
        _ if TIMES.contains(&field) => vec![json!(1747000000), json!("yesterday"), json!({})],
        _ => vec![json!({"s": 1}), json!(["s"]), json!(false), json!(42)],
    }
}

fn corpus() -> Vec<Case> {
    let mut cases = Vec::new();
    let mut n = 0;
    let mut next = || {
        n += 1;
        n
    };
    let push = |cases: &mut Vec<Case>, name: String, request: Vec<u8>, expect: &[u16]| {
        cases.push(Case {
            name,
            request,
            expect: expect.to_vec(),
        })
    };

    // Every field of every fixture with a value of the wrong type (signed: reaches the parser).
    for file in FIXTURES {
        let base = template(file, 0);
        let fields: Vec<(String, Value)> = base["data"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (field, current) in fields {
            for wrong in wrong_values(&field, &current) {
                let mut v = template(file, next());
                v["data"][&field] = wrong.clone();
                push(
                    &mut cases,
                    format!("{file}: data.{field} = {wrong}"),
                    signed(v.to_string().as_bytes()),
                    &[400],
                );
            }
        }
    }

    // Envelope fields of the wrong type, missing, or empty.
    for (field, wrong) in [
        ("event_type", json!(7)),
        ("event_type", json!({"t": 1})),
        ("event_type", json!(["message.received"])),
        ("event_type", Value::Null),
        ("event_type", json!("")),
        ("event_type", json!("   ")),
        ("event_type", json!("x".repeat(10_000))),
        ("event_id", json!({"id": 1})),
        ("event_id", json!([1])),
        ("event_id", json!(true)),
        ("event_id", Value::Null),
        ("event_id", json!("")),
        ("event_id", json!("\u{a0}\u{2003}")),
        ("event_id", json!("x".repeat(10_000))),
        ("created_at", json!(1747000000)),
        ("created_at", json!("2025-13-45T99:99:99Z")),
        ("created_at", json!("tomorrow")),
        ("created_at", json!({})),
        ("api_version", json!(2)),
        ("api_version", json!(["v2"])),
        ("data", json!([])),
        ("data", json!("text")),
        ("data", json!(3)),
        ("data", Value::Null),
    ] {
        let mut v = template("events/message.received.json", next());
        v[field] = wrong.clone();
        let shown: String = wrong.to_string().chars().take(40).collect();
        push(
            &mut cases,
            format!("envelope {field} = {shown}"),
            signed(v.to_string().as_bytes()),
            &[400],
        );
    }
    // An event id that is a number 10,000 digits long is as hostile as a 10,000-byte string.
    let mut v = template("events/message.received.json", next());
    v["event_id"] = Value::Null;
    let body = v.to_string().replace(
        "\"event_id\":null",
        &format!("\"event_id\":{}", "9".repeat(10_000)),
    );
    push(
        &mut cases,
        "envelope event_id = a 10,000-digit number".into(),
        signed(body.as_bytes()),
        &[400],
    );

    // Missing fields.
    for (file, path) in [
        ("events/message.received.json", vec!["event_type"]),
        ("events/message.received.json", vec!["event_id"]),
        ("events/message.received.json", vec!["data"]),
        ("events/message.received.json", vec!["data", "id"]),
        ("events/message.received.json", vec!["data", "chat_id"]),
        ("events/call.completed.json", vec!["data", "id"]),
        ("events/contact.created.json", vec!["data", "id"]),
        ("events/contact.deleted.json", vec!["data", "id"]),
        ("events/reaction.received.json", vec!["data", "id"]),
        ("events/reaction.received.json", vec!["data", "reaction"]),
        ("events/message.read.json", vec!["data", "id"]),
        (
            "events/typing_indicator.received.json",
            vec!["data", "chat_id"],
        ),
    ] {
        let mut v = template(file, next());
        let (last, parents) = path.split_last().unwrap();
        let mut target = &mut v;
        for p in parents {
            target = &mut target[*p];
        }
        target.as_object_mut().unwrap().remove(*last);
        push(
            &mut cases,
            format!("{file}: missing {}", path.join(".")),
            signed(v.to_string().as_bytes()),
            &[400],
        );
    }
    let mut v = template("events/reaction.received.json", next());
    v["data"].as_object_mut().unwrap().remove("chat_message_id");
    v["data"]
        .as_object_mut()
        .unwrap()
        .remove("associated_message");
    push(
        &mut cases,
        "reaction naming no message".into(),
        signed(v.to_string().as_bytes()),
        &[400],
    );

    // Malformed JSON: a valid envelope cut short at many points, and classic non-JSON.
    let whole = template("events/message.received.json", 0).to_string();
    for cut in [
        1,
        2,
        10,
        30,
        57,
        100,
        150,
        200,
        300,
        whole.len() / 2,
        whole.len() - 2,
        whole.len() - 1,
    ] {
        let body = whole.replace("hostile-0", &format!("hostile-{}", next()));
        let cut = cut.min(body.len() - 1);
        push(
            &mut cases,
            format!("JSON cut at byte {cut}"),
            signed(&body.as_bytes()[..cut]),
            &[400],
        );
    }
    for (name, body) in [
        ("empty body", "".to_string()),
        ("white space only", " \r\n\t ".to_string()),
        ("null", "null".into()),
        ("true", "true".into()),
        ("a number", "42".into()),
        ("a string", "\"message.received\"".into()),
        ("an array of envelopes", format!("[{whole}]")),
        ("two envelopes back to back", format!("{whole}{whole}")),
        ("trailing garbage", format!("{whole}x")),
        ("trailing comma", whole.replacen('}', ",}", 1)),
        ("single quotes", whole.replace('"', "'")),
        ("unquoted keys", "{event_type:\"message.received\",event_id:\"hostile-u\"}".into()),
        ("comment", format!("/* hi */{whole}")),
        ("NaN", "{\"event_type\":\"call.completed\",\"event_id\":\"hostile-nan\",\"data\":{\"id\":\"c\",\"duration\":NaN}}".into()),
        ("Infinity", "{\"event_type\":\"call.completed\",\"event_id\":\"hostile-inf\",\"data\":{\"id\":\"c\",\"duration\":Infinity}}".into()),
        ("byte order mark", format!("\u{feff}{whole}")),
        ("NUL byte before", format!("\u{0}{whole}")),
        ("raw control character in a string", whole.replace("hostile-0", "hostile-\u{1}ctl")),
        ("unterminated string", "{\"event_type\":\"message.received\",\"event_id\":\"hostile-uts".into()),
        ("bad escape", "{\"event_type\":\"message.received\",\"event_id\":\"hostile-\\q\"}".into()),
        ("lone surrogate escape", "{\"event_type\":\"message.received\",\"event_id\":\"hostile-\\ud800\",\"data\":{}}".into()),
        ("number with leading zeros", "{\"event_type\":\"contact.deleted\",\"event_id\":\"hostile-lz\",\"data\":{\"id\":007}}".into()),
        ("hex number", "{\"event_type\":\"contact.deleted\",\"event_id\":\"hostile-hex\",\"data\":{\"id\":0x1F}}".into()),
    ] {
        push(&mut cases, format!("malformed: {name}"), signed(body.as_bytes()), &[400]);
    }

    // Nested 100,000 deep: arrays, objects, and deep inside a field of a real envelope.
    let deep_array = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    push(
        &mut cases,
        "arrays nested 100,000 deep".into(),
        signed(deep_array.as_bytes()),
        &[400],
    );
    let deep_object = format!("{}1{}", "{\"a\":".repeat(100_000), "}".repeat(100_000));
    push(
        &mut cases,
        "objects nested 100,000 deep".into(),
        signed(deep_object.as_bytes()),
        &[400],
    );
    let deep_field = format!(
        "{{\"event_type\":\"message.received\",\"event_id\":\"hostile-deep\",\"data\":{{\"id\":\"m\",\"chat_id\":\"c\",\"text\":{}{}}}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    push(
        &mut cases,
        "a field nested 100,000 deep".into(),
        signed(deep_field.as_bytes()),
        &[400],
    );
    let unclosed = "[".repeat(500_000);
    push(
        &mut cases,
        "500,000 unclosed brackets".into(),
        signed(unclosed.as_bytes()),
        &[400],
    );

    // Invalid UTF-8 inside otherwise valid envelopes.
    for (name, bytes) in [
        ("0xFF byte", &b"\xff"[..]),
        ("overlong slash", &b"\xc0\xaf"[..]),
        ("UTF-16 surrogate as UTF-8", &b"\xed\xa0\x80"[..]),
        ("truncated sequence", &b"\xe2\x82"[..]),
        ("code point above U+10FFFF", &b"\xf4\x90\x80\x80"[..]),
        ("lone continuation byte", &b"\x80"[..]),
    ] {
        let body = whole.replace("hostile-0", &format!("hostile-{}", next()));
        let body = body.replace("\"text\":\"", "\"text\":\"BAD:");
        let at = body.find("BAD:").unwrap() + 4;
        let mut raw = body.as_bytes()[..at].to_vec();
        raw.extend_from_slice(bytes);
        raw.extend_from_slice(&body.as_bytes()[at..]);
        push(
            &mut cases,
            format!("invalid UTF-8: {name}"),
            signed(&raw),
            &[400],
        );
    }

    // Duplicate keys: two meanings for one body are refused, whichever one a reader picks.
    let dup_id = whole.replacen(
        "\"event_id\":\"hostile-0\"",
        &format!(
            "\"event_id\":\"hostile-{}\",\"event_id\":\"hostile-{}\"",
            next(),
            next()
        ),
        1,
    );
    push(
        &mut cases,
        "duplicate key event_id".into(),
        signed(dup_id.as_bytes()),
        &[400],
    );
    let dup_type = whole.replacen(
        "\"event_type\":\"message.received\"",
        "\"event_type\":\"message.received\",\"event_type\":\"contact.deleted\"",
        1,
    );
    let dup_type = dup_type.replace("hostile-0", &format!("hostile-{}", next()));
    push(
        &mut cases,
        "duplicate key event_type".into(),
        signed(dup_type.as_bytes()),
        &[400],
    );
    let dup_nested = whole
        .replacen("\"text\":", "\"text\":\"first\",\"text\":", 1)
        .replace("hostile-0", &format!("hostile-{}", next()));
    push(
        &mut cases,
        "duplicate key inside data".into(),
        signed(dup_nested.as_bytes()),
        &[400],
    );
    let dup_deep = whole
        .replacen("\"handle\":", "\"handle\":\"+1\",\"handle\":", 1)
        .replace("hostile-0", &format!("hostile-{}", next()));
    if dup_deep.contains("\"handle\":\"+1\",\"handle\"") {
        push(
            &mut cases,
            "duplicate key in a nested array element".into(),
            signed(dup_deep.as_bytes()),
            &[400],
        );
    }

    // Over-limit bodies.
    let pad = |len: usize| {
        format!(
            "{{\"event_type\":\"message.received\",\"event_id\":\"hostile-big\",\"pad\":\"{}\"}}",
            "x".repeat(len)
        )
    };
    let big = pad((1 << 20) + 1);
    push(
        &mut cases,
        "body of 1 MiB + 60 bytes".into(),
        signed(big.as_bytes()),
        &[413],
    );
    let huge = pad(4 << 20);
    push(
        &mut cases,
        "body of 4 MiB".into(),
        signed(huge.as_bytes()),
        &[413],
    );
    push(
        &mut cases,
        "Content-Length of 10 GB, no body".into(),
        http(
            "POST",
            "/webhooks/linq",
            &[
                ("Content-Type", "application/json".into()),
                ("Content-Length", "10000000000".into()),
            ],
            b"",
        ),
        &[413],
    );
    let mut chunked = Vec::new();
    for part in big.as_bytes().chunks(100_000) {
        chunked.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
        chunked.extend_from_slice(part);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    push(
        &mut cases,
        "chunked body over 1 MiB".into(),
        http(
            "POST",
            "/webhooks/linq",
            &[
                ("Content-Type", "application/json".into()),
                ("X-Webhook-Signature", sign(&big)),
                ("Transfer-Encoding", "chunked".into()),
            ],
            &chunked,
        ),
        &[413],
    );

    // Signatures: missing, wrong, forged in odd ways (the body itself is valid).
    let body = template("events/message.received.json", next()).to_string();
    let good = sign(&body);
    let hex_part = good.trim_start_matches("sha256=").to_string();
    for (name, sig) in [
        ("missing", None),
        ("empty", Some(String::new())),
        ("sha1 prefix", Some(format!("sha1={hex_part}"))),
        ("sha512 prefix", Some(format!("sha512={hex_part}"))),
        (
            "one hex digit short",
            Some(good[..good.len() - 1].to_string()),
        ),
        ("one hex digit long", Some(format!("{good}0"))),
        (
            "hex of the wrong secret",
            Some(linq_inbox::linq::signature::sign(b"guess", body.as_bytes())),
        ),
        ("all zeros", Some(format!("sha256={}", "0".repeat(64)))),
        (
            "base64 instead of hex",
            Some("sha256=q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80=".into()),
        ),
        (
            "non-hex letters",
            Some(format!("sha256={}", "g".repeat(64))),
        ),
        ("fullwidth prefix", Some(format!("ｓｈａ２５６={hex_part}"))),
        ("two signatures", Some(format!("{good},{good}"))),
        ("signature of another body", Some(sign("{}"))),
        ("signature of the empty body", Some(sign(""))),
        ("the secret itself", Some(SECRET.to_string())),
        (
            "hex of the secret",
            Some(format!("sha256={}", hex::encode(SECRET))),
        ),
    ] {
        let mut headers = vec![("Content-Type", "application/json".to_string())];
        if let Some(s) = &sig {
            headers.push(("X-Webhook-Signature", s.clone()));
        }
        push(
            &mut cases,
            format!("signature: {name}"),
            http("POST", "/webhooks/linq", &headers, body.as_bytes()),
            &[401],
        );
    }
    // A valid signature for the body with one byte changed after signing.
    let tampered = body.replacen("hostile-", "hostilE-", 1);
    push(
        &mut cases,
        "signature: body changed after signing".into(),
        http(
            "POST",
            "/webhooks/linq",
            &[
                ("Content-Type", "application/json".into()),
                ("X-Webhook-Signature", good.clone()),
            ],
            tampered.as_bytes(),
        ),
        &[401],
    );

    // Wrong content types (signed, valid body).
    for ct in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/xml",
        "",
        "application/jsonp",
        "application/json-seq",
        "json",
        "application/jsοn",
        "application/json, text/plain",
        "text/json",
    ] {
        let mut headers = vec![("X-Webhook-Signature", good.clone())];
        if !ct.is_empty() {
            headers.push(("Content-Type", ct.to_string()));
        }
        push(
            &mut cases,
            format!("content type {ct:?}"),
            http("POST", "/webhooks/linq", &headers, body.as_bytes()),
            &[415],
        );
    }

    // Wrong methods and paths.
    let signed_headers = vec![
        ("Content-Type", "application/json".to_string()),
        ("X-Webhook-Signature", good.clone()),
    ];
    for method in ["GET", "PUT", "DELETE", "PATCH", "OPTIONS"] {
        push(
            &mut cases,
            format!("method {method}"),
            http(method, "/webhooks/linq", &signed_headers, body.as_bytes()),
            &[405],
        );
    }
    push(
        &mut cases,
        "method HEAD".into(),
        http("HEAD", "/webhooks/linq", &[], b""),
        &[405],
    );
    push(
        &mut cases,
        "method BREW".into(),
        http("BREW", "/webhooks/linq", &signed_headers, body.as_bytes()),
        &[405],
    );
    for path in [
        "/",
        "/webhooks",
        "/webhooks/linq/",
        "/webhooks/LINQ",
        "//webhooks/linq",
        "/webhooks/linq%00",
        "/webhooks/linq/..",
        "/webhooks/./linq/x",
        "/api/status",
        "/api/secret/reveal",
        "/login?token=x",
        "/../../etc/passwd",
        "/index.html",
        &format!("/{}", "a".repeat(4000)),
    ] {
        push(
            &mut cases,
            format!("path {path:.40}"),
            http("POST", path, &signed_headers, body.as_bytes()),
            &[404],
        );
    }

    // Broken HTTP framing.
    for (name, request) in [
        ("non-numeric Content-Length", b"POST /webhooks/linq HTTP/1.1\r\nHost: x\r\nContent-Length: ten\r\nConnection: close\r\n\r\n".to_vec()),
        ("two different Content-Lengths", b"POST /webhooks/linq HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\nConnection: close\r\n\r\n{}x".to_vec()),
        ("bad chunk size", b"POST /webhooks/linq HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\n{}\r\n0\r\n\r\n".to_vec()),
        ("garbage request line", b"HELLO THERE\r\n\r\n".to_vec()),
        ("header without colon", b"POST /webhooks/linq HTTP/1.1\r\nHost x\r\nConnection: close\r\n\r\n".to_vec()),


        ("unknown HTTP version", b"POST /webhooks/linq HTTP/9.9\r\nHost: x\r\n\r\n".to_vec()),
    ] {
        push(&mut cases, format!("framing: {name}"), request, &[400, 431, 505]);
    }
    // hyper takes a 100 KB header line (its limit is larger); what follows decides: no
    // Content-Type, so 415. A megabyte of headers is over hyper's limit: 431.
    let big_header = format!(
        "POST /webhooks/linq HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\nConnection: close\r\n\r\n",
        "a".repeat(100_000)
    );
    // An HTTP/2 client on this HTTP/1.1 port: the connection is closed, nothing else (0).
    push(
        &mut cases,
        "framing: HTTP/2 preface".into(),
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec(),
        &[0],
    );
    push(
        &mut cases,
        "framing: a 100 KB header".into(),
        big_header.into_bytes(),
        &[415],
    );
    let many_headers: String = (0..20_000)
        .map(|i| format!("X-H{i}: {}\r\n", "b".repeat(40)))
        .collect();
    let flood = format!(
        "POST /webhooks/linq HTTP/1.1\r\nHost: x\r\n{many_headers}Connection: close\r\n\r\n"
    );
    push(
        &mut cases,
        "framing: a megabyte of headers".into(),
        flood.into_bytes(),
        &[431],
    );
    cases
}

#[test]
fn hostile_corpus_is_refused_and_the_server_carries_on() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path());
    let cases = corpus();
    assert!(
        cases.len() >= 150,
        "the corpus has at least 150 requests, has {}",
        cases.len()
    );

    // Slow transports run beside the corpus: they must not hold anything else up.
    let addr = server.webhook;
    let trickle = std::thread::spawn(move || trickle_too_slowly(addr));
    let hold = std::thread::spawn(move || short_body_held_open(addr));
    let short = std::thread::spawn(move || short_body_then_close(addr));

    let mut failures = Vec::new();
    let mut slowest = Duration::ZERO;
    for case in &cases {
        let (status, took) = exchange(server.webhook, &case.request);
        slowest = slowest.max(took);
        if !case.expect.contains(&status) {
            failures.push(format!(
                "{}: expected {:?}, got {status}",
                case.name, case.expect
            ));
        }
        assert!(
            took < Duration::from_secs(5),
            "{} took {took:?}: the server stalled",
            case.name
        );
    }
    assert!(
        failures.is_empty(),
        "{} of {} hostile requests got the wrong answer:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );

    let (status, took) = trickle.join().unwrap();
    assert_eq!(
        status, 408,
        "a body trickling in byte by byte past 10 s gets 408 (after {took:?})"
    );
    assert!(
        took < Duration::from_secs(14),
        "the 408 comes at the body timeout, not later: {took:?}"
    );
    let (status, took) = hold.join().unwrap();
    assert_eq!(
        status, 408,
        "a body shorter than its Content-Length, connection held, gets 408 (after {took:?})"
    );
    let status = short.join().unwrap();
    assert!(
        status == 400 || status == 0,
        "a body shorter than its Content-Length, then closed, is refused (400) or dropped unanswered (the client is gone): {status}"
    );

    // Still alive, still answering, nothing stored.
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "the server must still be running"
    );
    let good = envelope(
        "message.received",
        "after-the-corpus",
        json!({"id": "m-after", "chat_id": "c-after", "text": "still here"}),
    );
    let started = Instant::now();
    let (s, r) = server.post_signed(&good);
    assert_eq!(
        s, 200,
        "a good delivery right after the corpus is stored: {r}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "and answered promptly: {:?}",
        started.elapsed()
    );
    let events = server.all_events();
    let stored: Vec<&str> = events
        .iter()
        .filter_map(|e| e["event_id"].as_str())
        .collect();
    assert_eq!(
        stored,
        vec!["after-the-corpus"],
        "no hostile request may be stored as an event"
    );
    let out = server.all_output();
    assert!(!out.contains("panicked"), "no handler may panic: {out}");
    println!(
        "hostile corpus: {} requests, slowest answer {slowest:?}",
        cases.len() + 3
    );
}

fn sign_req_head(body_len: usize, sig: &str) -> String {
    format!("POST /webhooks/linq HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nX-Webhook-Signature: {sig}\r\nContent-Length: {body_len}\r\nConnection: close\r\n\r\n")
}

/// One byte every 250 ms: the whole body would take ~25 s, past the 10 s body timeout.
fn trickle_too_slowly(addr: SocketAddr) -> (u16, Duration) {
    let body = envelope(
        "message.received",
        "hostile-trickle",
        json!({"id": "t", "chat_id": "t"}),
    );
    let body = &body[..100.min(body.len())];
    let started = Instant::now();
    let mut sock = TcpStream::connect(addr).unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(10)))
        .unwrap();
    sock.write_all(sign_req_head(body.len(), &sign(body)).as_bytes())
        .unwrap();
    let mut buf = Vec::new();
    for b in body.as_bytes() {
        if sock.write_all(&[*b]).is_err() {
            break;
        }
        let mut chunk = [0u8; 4096];
        if let Ok(n) = sock.read(&mut chunk) {
            buf.extend_from_slice(&chunk[..n]);
            if n == 0 || !buf.is_empty() {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    sock.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let _ = sock.read_to_end(&mut buf);
    (status_line(&buf), started.elapsed())
}

/// Promises 100 bytes more than it sends and keeps the connection open.
fn short_body_held_open(addr: SocketAddr) -> (u16, Duration) {
    let body = envelope(
        "message.received",
        "hostile-held",
        json!({"id": "h", "chat_id": "h"}),
    );
    let started = Instant::now();
    let mut sock = TcpStream::connect(addr).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    sock.write_all(sign_req_head(body.len() + 100, &sign(&body)).as_bytes())
        .unwrap();
    sock.write_all(body.as_bytes()).unwrap();
    let mut buf = Vec::new();
    let _ = sock.read_to_end(&mut buf);
    (status_line(&buf), started.elapsed())
}

/// Promises 100 bytes more than it sends, then closes its side.
fn short_body_then_close(addr: SocketAddr) -> u16 {
    let body = envelope(
        "message.received",
        "hostile-short",
        json!({"id": "s", "chat_id": "s"}),
    );
    let mut sock = TcpStream::connect(addr).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    sock.write_all(sign_req_head(body.len() + 100, &sign(&body)).as_bytes())
        .unwrap();
    sock.write_all(body.as_bytes()).unwrap();
    sock.shutdown(std::net::Shutdown::Write).unwrap();
    let mut buf = Vec::new();
    let _ = sock.read_to_end(&mut buf);
    status_line(&buf)
}

#[test]
fn ids_beyond_64_bits_keep_every_digit() {
    // Not refused: Linq's ids are text whatever JSON type carries them. The danger is rounding,
    // which would merge two events into one; both must be stored, digit for digit.
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let ids = [
        "18446744073709551617",
        "18446744073709551618",
        "123456789012345678901234567890",
    ];
    for (i, id) in ids.iter().enumerate() {
        let body = format!(
            "{{\"event_type\":\"message.received\",\"event_id\":{id},\"data\":{{\"id\":{id},\"chat_id\":{id},\"text\":\"n{i}\"}}}}"
        );
        let (s, r) = server.post_signed(&body);
        assert_eq!(s, 200, "event id {id} is accepted: {r}");
        assert_eq!(
            r["duplicate"],
            json!(false),
            "{id} must not collide with another id: {r}"
        );
    }
    let stored: Vec<String> = server
        .all_events()
        .iter()
        .map(|e| e["event_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(stored, ids, "every digit of every id is kept");
    for id in ids {
        let (s, chat) = server.get(&format!("/api/chats/{id}"));
        assert_eq!(s, 200, "the chat {id} exists under its exact id: {chat}");
    }
}
