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

/// Deliveries a run had answered with 503 (the lag bound, a full queue or disk): in a closed
/// loop they come back at once and are sent again, so the rate of 200s alone hides them.
fn refused(r: &Value) -> u64 {
    r["statuses"]["503"].as_u64().unwrap_or(0)
}

/// `" (N answered 503)"`, or nothing when none was.
fn refused_note(r: &Value) -> String {
    match refused(r) {
        0 => String::new(),
        n => format!(" ({} answered 503)", thousands(n as f64)),
    }
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
                "{} deliveries/s{}{}",
                thousands(ms(&a["rate"])),
                ratio
                    .map(|r| format!(" = {:.0}% of baseline{of_floor}", r * 100.0))
                    .unwrap_or_default(),
                refused_note(a)
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
    rows.extend(issue_18_ratios(results, floor_max, app_max));
    if let Some(r) = find(results, "load", &format!("serve {scale} under load")) {
        let p99 = ms(&r["ack"]["p99_ms"]);
        rows.push(Row {
            what: format!("Ack p99 at 1,000/s on the {scale} database (issue 18)"),
            result: fmt_ms(p99),
            target: "≤ 10 ms".into(),
            pass: Some(p99 <= 10.0),
        });
    }
    rows.extend(stream_rows(results));
    if let Some(r) = find(results, "load", "burst 50000") {
        rows.push(burst_row(r));
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

/// Issue 18's targets set against the durable floor of the same run: the closed-loop rate, and
/// the ack p99 at 5,000/s.
fn issue_18_ratios(
    results: &[Value],
    floor_max: Option<&Value>,
    app_max: Option<&Value>,
) -> Vec<Row> {
    let mut rows = Vec::new();
    let single = floor_max
        .zip(app_max)
        .map(|(f, a)| ms(&a["rate"]) / ms(&f["rate"]));
    let mut rounds = alternated_ratios(results);
    if let Some(median) = median(&mut rounds) {
        let each: Vec<String> = rounds.iter().map(|r| format!("{r:.2}")).collect();
        rows.push(Row {
            what: "Durable ack rate against the durable floor, same run (issue 18)".into(),
            result: format!(
                "{median:.2}× (median of {} alternated rounds: {}{}{})",
                rounds.len(),
                each.join(", "),
                single
                    .map(|r| format!("; the pair above: {r:.2}×"))
                    .unwrap_or_default(),
                rounds_refused(results)
            ),
            target: "≥ 0.8×".into(),
            pass: Some(median >= 0.8),
        });
    } else if let Some(ratio) = single {
        rows.push(Row {
            what: "Durable ack rate against the durable floor, same run (issue 18)".into(),
            result: format!("{ratio:.2}×"),
            target: "≥ 0.8×".into(),
            pass: Some(ratio >= 0.8),
        });
    }
    let p99 = |label: &str| find(results, "load", label).map(|r| ms(&r["ack"]["p99_ms"]));
    if let (Some(floor), Some(app)) = (p99("floor 5000/s"), p99("serve 5000/s")) {
        rows.push(Row {
            what: "Ack p99 at 5,000/s against the floor's p99, same run (issue 18)".into(),
            result: format!(
                "{} against {} ({:.1}×)",
                fmt_ms(app),
                fmt_ms(floor),
                app / floor
            ),
            target: "≤ 2×".into(),
            pass: Some(app <= 2.0 * floor),
        });
    }
    rows
}

/// The rounds `run.sh` ran back to back, as (floor, `serve`) pairs ("floor max round N",
/// "serve max round N"). The host's speed drifts by more between two minutes than the
/// difference being measured; a pair run together shares the minute.
fn rounds(results: &[Value]) -> impl Iterator<Item = (&Value, &Value)> {
    (1..).map_while(|n| {
        let floor = find(results, "load", &format!("floor max round {n}"))?;
        let app = find(results, "load", &format!("serve max round {n}"))?;
        Some((floor, app))
    })
}

/// `serve`'s closed loop over the floor's, for each round.
fn alternated_ratios(results: &[Value]) -> Vec<f64> {
    rounds(results)
        .map(|(floor, app)| ms(&app["rate"]) / ms(&floor["rate"]))
        .filter(|r| r.is_finite())
        .collect()
}

/// How many of `serve`'s rounds had deliveries answered 503, as a clause of the rate row: a
/// round that reached the projection's lag bound measured the bound, not the acknowledgement.
fn rounds_refused(results: &[Value]) -> String {
    let per_round: Vec<u64> = rounds(results).map(|(_, app)| refused(app)).collect();
    let hit = per_round.iter().filter(|&&n| n > 0).count();
    match hit {
        0 => String::new(),
        _ => format!(
            "; {hit} of the rounds reached the lag bound ({} answered 503)",
            thousands(per_round.iter().sum::<u64>() as f64)
        ),
    }
}

/// The middle of sorted `values` (the mean of the two middle ones for an even count).
fn median(values: &mut [f64]) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(values[n / 2]),
        _ => Some((values[n / 2 - 1] + values[n / 2]) / 2.0),
    }
}

/// The stream row, from the first of the runs at 1,000/s, and how many of them all met it.
fn stream_rows(results: &[Value]) -> Vec<Row> {
    let runs: Vec<&Value> = results
        .iter()
        .filter(|r| r["kind"] == "load")
        .filter(|r| {
            r["label"]
                .as_str()
                .is_some_and(|l| l.starts_with("stream 1000/s"))
        })
        .collect();
    let met = |r: &Value| ms(&r["stream"]["p99_ms"]) <= 25.0 && ms(&r["stream_missing"]) == 0.0;
    let mut rows = Vec::new();
    if let Some(r) = runs.first() {
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
            pass: Some(met(r)),
        });
    }
    if runs.len() > 1 {
        let passed = runs.iter().filter(|r| met(r)).count();
        let p99s: Vec<String> = runs
            .iter()
            .map(|r| format!("{:.1}", ms(&r["stream"]["p99_ms"])))
            .collect();
        rows.push(Row {
            what: format!("Live: the stream row run {} times (issue 18)", runs.len()),
            result: format!(
                "{passed} of {} under 25 ms (p99s in ms: {})",
                runs.len(),
                p99s.join(", ")
            ),
            target: "≥ 9 of 10".into(),
            pass: Some(passed * 10 >= runs.len() * 9),
        });
    }
    rows
}

/// The burst: every acknowledged delivery on the stream once and in the chat list, and how long
/// the projection took to catch up once the deliveries stopped.
fn burst_row(r: &Value) -> Row {
    let c = &r["chat_list"];
    let missing = ms(&r["stream_missing"]);
    let duplicates = ms(&r["stream_duplicates"]);
    let chats_ok = c["chats"] == c["expected_chats"] && c["unread"] == c["expected_unread"];
    let all_there =
        ms(&r["ok"]) == ms(&r["sent"]) && missing == 0.0 && duplicates == 0.0 && chats_ok;
    Row {
        what: "Burst: 50,000 deliveries as fast as acknowledged (issue 18)".into(),
        result: format!(
            "{} acked at {}/s; last ack → last event on the stream {}; stream: {missing} missing, {duplicates} twice; chat list: {} of {} chats, {} of {} unread",
            thousands(ms(&r["ok"])),
            thousands(ms(&r["rate"])),
            fmt_ms(ms(&r["last_ack_to_last_stream_ms"])),
            c["chats"], c["expected_chats"], c["unread"], c["expected_unread"],
        ),
        target: "every event shown".into(),
        pass: Some(all_there),
    }
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
    fn rounds_that_reached_the_lag_bound_are_named_with_their_refusals() {
        let mut results = vec![json!({"kind": "load", "label": "serve max", "rate": 9000.0,
            "statuses": {"200": 54000, "503": 1200}})];
        for (n, refused) in [(1, 0), (2, 21210), (3, 3000)] {
            results.push(
                json!({"kind": "load", "label": format!("floor max round {n}"),
                "rate": 10000.0, "statuses": {"200": 60000}}),
            );
            let mut statuses = json!({"200": 48000});
            if refused > 0 {
                statuses["503"] = json!(refused);
            }
            results.push(
                json!({"kind": "load", "label": format!("serve max round {n}"),
                "rate": 8000.0, "statuses": statuses}),
            );
        }
        let r = rows(&results);
        let app = r
            .iter()
            .find(|r| r.what.starts_with("Ingest: `serve`"))
            .expect("the closed loop's row");
        assert!(
            app.result.ends_with(" (1,200 answered 503)"),
            "{}",
            app.result
        );
        let rate = r
            .iter()
            .find(|r| r.what.starts_with("Durable ack rate against"))
            .expect("the rate row");
        assert!(
            rate.result
                .ends_with("; 2 of the rounds reached the lag bound (24,210 answered 503))"),
            "{}",
            rate.result
        );
    }

    #[test]
    fn the_rate_row_is_the_median_of_the_alternated_rounds() {
        let mut results = vec![
            json!({"kind": "load", "label": "floor max", "rate": 10000.0}),
            json!({"kind": "load", "label": "serve max", "rate": 9000.0}),
        ];
        for (n, floor, app) in [
            (1, 10000.0, 7000.0),
            (2, 8000.0, 6800.0),
            (3, 10000.0, 6000.0),
        ] {
            results.push(
                json!({"kind": "load", "label": format!("floor max round {n}"), "rate": floor}),
            );
            results.push(
                json!({"kind": "load", "label": format!("serve max round {n}"), "rate": app}),
            );
        }
        let row = rows(&results)
            .into_iter()
            .find(|r| r.what.starts_with("Durable ack rate against"))
            .expect("the rate row");
        assert_eq!(
            row.result,
            "0.70× (median of 3 alternated rounds: 0.60, 0.70, 0.85; the pair above: 0.90×)",
            "the median decides, every round and the single pair are shown"
        );
        assert_eq!(
            row.pass,
            Some(false),
            "0.70 is under 0.8 although the single pair passed"
        );
        results.truncate(2);
        let row = rows(&results)
            .into_iter()
            .find(|r| r.what.starts_with("Durable ack rate against"))
            .expect("the rate row");
        assert_eq!(
            row.result, "0.90×",
            "results without rounds keep the single pair"
        );
        assert_eq!(row.pass, Some(true), "a single pair at 0.90 passes");
    }

    #[test]
    fn the_median_of_an_even_count_is_the_mean_of_the_middle_two() {
        assert_eq!(
            median(&mut [1.0, 0.25, 0.75, 0.5]),
            Some(0.625),
            "the mean of 0.5 and 0.75"
        );
        assert_eq!(median(&mut []), None, "no rounds, no median");
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
    fn the_stream_row_counts_the_runs_that_met_it() {
        let run = |p99: f64| json!({"kind": "load", "label": "stream 1000/s", "stream": {"p50_ms": 3.0, "p99_ms": p99}, "stream_missing": 0});
        let results: Vec<Value> = [12.0, 30.0, 20.0].into_iter().map(run).collect();
        let rows = stream_rows(&results);
        assert_eq!(rows.len(), 2, "the first run's row and the count of runs");
        assert!(
            rows[1].result.starts_with("2 of 3 under 25 ms"),
            "two of the three runs met the target: {}",
            rows[1].result
        );
        assert_eq!(rows[1].pass, Some(false), "2 of 3 is fewer than 9 in 10");
    }

    #[test]
    fn a_burst_with_a_missing_event_fails() {
        let burst = |missing: u64| {
            json!({"kind": "load", "label": "burst 50000", "ok": 50000, "sent": 50000,
            "rate": 9000.0, "stream_missing": missing, "stream_duplicates": 0, "last_ack_to_last_stream_ms": 5000.0,
            "chat_list": {"chats": 1000, "expected_chats": 1000, "unread": 33333, "expected_unread": 33333}})
        };
        assert_eq!(
            burst_row(&burst(0)).pass,
            Some(true),
            "everything shown passes"
        );
        assert_eq!(
            burst_row(&burst(1)).pass,
            Some(false),
            "one event missing from the stream fails"
        );
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
