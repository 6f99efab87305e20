//! Turns the results file (one JSON object a line, written by `run.sh` and the other
//! subcommands) into one markdown table with a verdict against each target, prints it, and puts
//! it between the markers in docs/BENCHMARKS.md.

use std::path::Path;

use anyhow::Context;
use serde_json::Value;

const BEGIN: &str = "<!-- bench:results:begin -->";
const END: &str = "<!-- bench:results:end -->";

struct Row {
    what: String,
    result: String,
    target: String,
    /// `None` when there is no target to meet.
    pass: Option<bool>,
}

fn ms(v: &Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

fn fmt_ms(v: f64) -> String {
    if v < 10.0 {
        format!("{v:.2} ms")
    } else {
        format!("{v:.1} ms")
    }
}

fn thousands(n: f64) -> String {
    let s = format!("{:.0}", n);
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn find<'a>(results: &'a [Value], kind: &str, label: &str) -> Option<&'a Value> {
    results
        .iter()
        .rev()
        .find(|r| r["kind"] == kind && r["label"] == label)
}

fn rows(results: &[Value]) -> Vec<Row> {
    let mut rows = Vec::new();
    let scale = results
        .iter()
        .rev()
        .find(|r| r["kind"] == "machine")
        .and_then(|m| m["scale"].as_str())
        .unwrap_or("1M")
        .to_string();
    let base_max = find(results, "load", "baseline max");
    let app_max = find(results, "load", "serve max");
    if let Some(b) = base_max {
        rows.push(Row {
            what: "Ingest ceiling: bare axum + HMAC, nothing stored (closed loop)".into(),
            result: format!("{} deliveries/s", thousands(ms(&b["rate"]))),
            target: "(baseline)".into(),
            pass: None,
        });
    }
    let floor_max = find(results, "load", "floor max");
    if let Some(f) = floor_max {
        rows.push(Row {
            what: "Durable floor: the baseline + one SQLite row per delivery, `synchronous=FULL`, group commit (closed loop)".into(),
            result: format!(
                "{} deliveries/s{}",
                thousands(ms(&f["rate"])),
                base_max
                    .map(|b| format!(" = {:.0}% of baseline", ms(&f["rate"]) / ms(&b["rate"]) * 100.0))
                    .unwrap_or_default()
            ),
            target: "(reference)".into(),
            pass: None,
        });
    }
    if let Some(a) = app_max {
        let ratio = base_max.map(|b| ms(&a["rate"]) / ms(&b["rate"]));
        let of_floor = floor_max
            .map(|f| {
                format!(
                    ", {:.0}% of the durable floor",
                    ms(&a["rate"]) / ms(&f["rate"]) * 100.0
                )
            })
            .unwrap_or_default();
        rows.push(Row {
            what: "Ingest: `serve`, durable ack (closed loop)".into(),
            result: format!(
                "{} deliveries/s{}",
                thousands(ms(&a["rate"])),
                ratio
                    .map(|r| format!(" = {:.0}% of baseline{of_floor}", r * 100.0))
                    .unwrap_or_default()
            ),
            target: "≥ 60% of baseline".into(),
            pass: ratio.map(|r| r >= 0.6),
        });
    }
    for rate in [1000, 5000] {
        for (who, label) in [
            ("baseline", "baseline"),
            ("durable floor", "floor"),
            ("`serve`", "serve"),
        ] {
            let Some(r) = find(results, "load", &format!("{label} {rate}/s")) else {
                continue;
            };
            let ack = &r["ack"];
            let target_ms = (label == "serve" && rate == 5000).then_some(10.0);
            let lost = ms(&r["sent"]) - ms(&r["ok"]);
            rows.push(Row {
                what: format!("Ack latency at {}/s, {who}", thousands(rate as f64)),
                result: format!(
                    "p50 {} · p99 {} · p99.9 {}{}",
                    fmt_ms(ms(&ack["p50_ms"])),
                    fmt_ms(ms(&ack["p99_ms"])),
                    fmt_ms(ms(&ack["p999_ms"])),
                    if lost > 0.0 {
                        format!(" ({lost} not 200)")
                    } else {
                        String::new()
                    }
                ),
                target: target_ms
                    .map(|t| format!("p99 ≤ {t} ms"))
                    .unwrap_or_default(),
                pass: target_ms.map(|t| ms(&ack["p99_ms"]) <= t && lost == 0.0),
            });
        }
    }
    if let Some(r) = find(results, "load", &format!("serve {scale} under load")) {
        let ack = &r["ack"];
        rows.push(Row {
            what: format!("Ack latency at 1,000/s, `serve` with {scale} messages"),
            result: format!(
                "p50 {} · p99 {} · p99.9 {}",
                fmt_ms(ms(&ack["p50_ms"])),
                fmt_ms(ms(&ack["p99_ms"])),
                fmt_ms(ms(&ack["p999_ms"]))
            ),
            target: String::new(),
            pass: None,
        });
    }
    if let Some(r) = find(results, "load", "stream 1000/s") {
        let s = &r["stream"];
        let missing = ms(&r["stream_missing"]);
        rows.push(Row {
            what: "Live: delivery sent → event on `/api/stream`, 1,000/s".into(),
            result: format!(
                "p50 {} · p99 {}{}{}",
                fmt_ms(ms(&s["p50_ms"])),
                fmt_ms(ms(&s["p99_ms"])),
                // The part the feed and the stream add to the commit (older results lack it).
                match r["stream_after_ack"]["p99_ms"].as_f64() {
                    Some(p99) => format!(" (after the delivery's ack: p99 {})", fmt_ms(p99)),
                    None => String::new(),
                },
                if missing > 0.0 {
                    format!(" ({missing} missing)")
                } else {
                    String::new()
                }
            ),
            target: "p99 ≤ 25 ms".into(),
            pass: Some(ms(&s["p99_ms"]) <= 25.0 && missing == 0.0),
        });
    }
    let search = format!("Search, {scale} messages (7 queries)");
    for (label, what, target) in [
        ("search", search.as_str(), 30.0),
        (
            "chat list (1,000 chats)",
            "Chat list, 1,000 newest chats (what the UI loads)",
            20.0,
        ),
        ("chat list (first 100)", "Chat list, first 100", 20.0),
        (
            "first page of the 100,000-message chat",
            "First page (100) of the 100,000-message chat",
            20.0,
        ),
    ] {
        let Some(r) = find(results, "query", label) else {
            continue;
        };
        let l = &r["latency"];
        rows.push(Row {
            what: what.into(),
            result: format!(
                "p50 {} · p95 {}",
                fmt_ms(ms(&l["p50_ms"])),
                fmt_ms(ms(&l["p95_ms"]))
            ),
            target: format!("p95 ≤ {target} ms"),
            pass: Some(ms(&l["p95_ms"]) <= target),
        });
    }
    if let Some(r) = find(results, "startup", "serve start → /healthz") {
        rows.push(Row {
            what: format!("`serve` start → `/healthz` answering, {scale} messages"),
            result: format!(
                "median {} · max {}",
                fmt_ms(ms(&r["median_ms"])),
                fmt_ms(ms(&r["max_ms"]))
            ),
            target: "≤ 300 ms".into(),
            pass: Some(ms(&r["max_ms"]) <= 300.0),
        });
    }
    // Everything measured outside this tool (import, disk, UI, memory) arrives as a ready row.
    for r in results.iter().filter(|r| r["kind"] == "metric") {
        rows.push(Row {
            what: r["label"].as_str().unwrap_or("").to_string(),
            result: r["value"].as_str().unwrap_or("").to_string(),
            target: r["target"].as_str().unwrap_or("").to_string(),
            pass: r["pass"].as_bool(),
        });
    }
    rows
}

fn table(results: &[Value]) -> String {
    let mut out = String::new();
    if let Some(m) = results.iter().rev().find(|r| r["kind"] == "machine") {
        let field = |k: &str| m[k].as_str().unwrap_or("?").to_string();
        out.push_str(&format!(
            "Run {} on {} ({} cores, {} RAM), {}; commit {}.\n\n",
            field("date"),
            field("cpu"),
            field("cores"),
            field("ram"),
            field("os"),
            field("commit")
        ));
    }
    out.push_str("| Measurement | Result | Target | |\n|---|---|---|---|\n");
    for r in rows(results) {
        let verdict = match r.pass {
            Some(true) => "✅",
            Some(false) => "❌",
            None => "",
        };
        out.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            r.what, r.result, r.target, verdict
        ));
    }
    out
}

pub fn write(results: &Path, doc: &Path) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(results)
        .with_context(|| format!("cannot read {}", results.display()))?;
    let parsed: Vec<Value> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let table = table(&parsed);
    println!("{table}");
    let old = std::fs::read_to_string(doc).unwrap_or_default();
    let block = format!("{BEGIN}\n{table}{END}");
    let new = match (old.find(BEGIN), old.find(END)) {
        (Some(b), Some(e)) if e > b => format!("{}{}{}", &old[..b], block, &old[e + END.len()..]),
        _ => format!("{old}\n## Latest results\n\n{block}\n"),
    };
    std::fs::write(doc, new).with_context(|| format!("cannot write {}", doc.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_ratio_to_the_baseline_decides_the_ingest_verdict() {
        let results = vec![
            json!({"kind": "load", "label": "baseline max", "rate": 20000.0}),
            json!({"kind": "load", "label": "serve max", "rate": 11000.0}),
        ];
        let r = rows(&results);
        assert_eq!(r[1].pass, Some(false), "55% is under the 60% target");
        assert!(r[1].result.contains("11,000"), "{}", r[1].result);
    }

    #[test]
    fn the_app_is_also_set_against_the_durable_floor() {
        let results = vec![
            json!({"kind": "load", "label": "baseline max", "rate": 20000.0}),
            json!({"kind": "load", "label": "floor max", "rate": 8000.0}),
            json!({"kind": "load", "label": "serve max", "rate": 6000.0}),
        ];
        let r = rows(&results);
        assert!(
            r[1].result.contains("8,000 deliveries/s = 40% of baseline"),
            "{}",
            r[1].result
        );
        assert_eq!(r[1].pass, None, "the floor is a reference, not a target");
        assert!(
            r[2].result
                .ends_with("= 30% of baseline, 75% of the durable floor"),
            "{}",
            r[2].result
        );
        assert_eq!(
            r[2].pass,
            Some(false),
            "the app under 60% of baseline fails its target"
        );
    }

    #[test]
    fn the_live_row_shows_what_the_stream_adds_after_the_ack() {
        let results = vec![json!({"kind": "load", "label": "stream 1000/s",
            "stream": {"p50_ms": 4.0, "p99_ms": 30.0}, "stream_missing": 0,
            "stream_after_ack": {"p50_ms": 0.5, "p99_ms": 24.0}})];
        let r = rows(&results);
        assert_eq!(
            r[0].result, "p50 4.00 ms · p99 30.0 ms (after the delivery's ack: p99 24.0 ms)",
            "the live row shows the stream's latency and what it adds after the ack"
        );
        assert_eq!(r[0].pass, Some(false), "30 ms is over the 25 ms target");
        let older = vec![json!({"kind": "load", "label": "stream 1000/s",
            "stream": {"p50_ms": 4.0, "p99_ms": 20.0}, "stream_missing": 0})];
        assert_eq!(
            rows(&older)[0].result,
            "p50 4.00 ms · p99 20.0 ms",
            "a run without after-ack figures shows the stream latency alone"
        );
    }

    #[test]
    fn the_run_under_load_on_the_big_database_is_reported_at_its_scale() {
        let results = vec![
            json!({"kind": "machine", "scale": "100000"}),
            json!({"kind": "load", "label": "serve 1M under load",
                   "ack": {"p50_ms": 1.0, "p99_ms": 2.0, "p999_ms": 3.0}}),
            json!({"kind": "load", "label": "serve 100000 under load",
                   "ack": {"p50_ms": 4.0, "p99_ms": 25.0, "p999_ms": 60.0}}),
        ];
        let r = rows(&results);
        let row = r
            .iter()
            .find(|r| r.what == "Ack latency at 1,000/s, `serve` with 100000 messages")
            .expect("a row for the run under load");
        assert_eq!(
            row.result, "p50 4.00 ms · p99 25.0 ms · p99.9 60.0 ms",
            "the run under load shows p50, p99 and p99.9 of the ack"
        );
        assert_eq!(row.pass, None, "no target of its own");
    }

    #[test]
    fn the_table_replaces_only_the_marked_block() {
        let dir = std::env::temp_dir().join(format!("linq-bench-report-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let doc = dir.join("B.md");
        let res = dir.join("r.jsonl");
        std::fs::write(&doc, format!("intro\n{BEGIN}\nold\n{END}\noutro\n")).expect("write doc");
        std::fs::write(
            &res,
            r#"{"kind":"metric","label":"x","value":"1","target":"","pass":null}"#,
        )
        .expect("write results");
        write(&res, &doc).expect("report");
        let after = std::fs::read_to_string(&doc).expect("read doc");
        assert!(
            after.starts_with("intro\n") && after.ends_with("\noutro\n"),
            "{after}"
        );
        assert!(
            !after.contains("old") && after.contains("| x | 1 |"),
            "{after}"
        );
        std::fs::remove_dir_all(&dir).ok();
    }
}
