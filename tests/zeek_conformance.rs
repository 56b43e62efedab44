//! Zeek's own traces and the conn.log rows Zeek's tests expect
//! (`../shared/conformance/zeek`): finscope's `zeek.conn_state` and
//! `zeek.history` must match them. Prints every mismatch so the rest can be
//! chased; fails when matches drop below the floor.

mod common;

use std::path::PathBuf;

use serde::Deserialize;

/// Matches reached so far; raise them as mismatches are fixed. The one left
/// is Zeek's gridftp test, which stops reading the trace before the FINs
/// (Zeek logs S1 where the trace goes on to a clean SF close).
const CONN_STATE_FLOOR: usize = 106;
const HISTORY_FLOOR: usize = 106;

#[derive(Deserialize)]
struct Trace {
    trace: String,
    tcp: Vec<Row>,
}

#[derive(Deserialize)]
struct Row {
    #[serde(rename = "id.orig_h")]
    orig_h: String,
    #[serde(rename = "id.orig_p")]
    orig_p: String,
    #[serde(rename = "id.resp_h")]
    resp_h: String,
    #[serde(rename = "id.resp_p")]
    resp_p: String,
    conn_state: String,
    history: String,
}

fn endpoint(h: &str, p: &str) -> String {
    if h.contains(':') {
        format!("[{h}]:{p}")
    } else {
        format!("{h}:{p}")
    }
}

#[test]
fn conn_state_and_history_match_zeek() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/conformance/zeek");
    let Ok(text) = std::fs::read_to_string(dir.join("expected.json")) else {
        println!(
            "SKIPPED: {} is absent (it sits beside the checkout in CI)",
            dir.display()
        );
        return;
    };
    let traces: Vec<Trace> = serde_json::from_str(&text).expect("expected.json parses");
    let (mut total, mut state_ok, mut history_ok) = (0, 0, 0);
    for t in &traces {
        let path = dir.join(&t.trace);
        let out = common::run(&["analyze", "--format", "jsonl", path.to_str().unwrap()]);
        let report = common::parse_jsonl(&out);
        assert_eq!(report.status, 0, "{}: {}", t.trace, report.stderr);
        // Every row Zeek would log: a connection's earlier rows, then its
        // current one, each with the connection's two endpoints.
        let rows: Vec<(String, String, &str, &str)> = report
            .connections
            .iter()
            .flat_map(|c| {
                c.zeek
                    .earlier
                    .iter()
                    .map(|r| (r.conn_state.as_str(), r.history.as_str()))
                    .chain(std::iter::once((
                        c.zeek.conn_state.as_str(),
                        c.zeek.history.as_str(),
                    )))
                    .map(move |(s, h)| (c.client.clone(), c.server.clone(), s, h))
            })
            .collect();
        let mut used = vec![false; rows.len()];
        for row in &t.tcp {
            total += 1;
            let (o, r) = (
                endpoint(&row.orig_h, &row.orig_p),
                endpoint(&row.resp_h, &row.resp_p),
            );
            // Several rows can share a 4-tuple: take the best unused match.
            let candidates: Vec<usize> = (0..rows.len())
                .filter(|&i| !used[i])
                .filter(|&i| {
                    let (c, s, _, _) = &rows[i];
                    (*c == o && *s == r) || (*c == r && *s == o)
                })
                .collect();
            let score = |i: &usize| {
                u8::from(rows[*i].2 == row.conn_state) * 2 + u8::from(rows[*i].3 == row.history)
            };
            let Some(best) = candidates
                .iter()
                .copied()
                .max_by_key(|i| (score(i), std::cmp::Reverse(*i)))
            else {
                println!(
                    "MISSING {}: {o} → {r} (zeek {} {})",
                    t.trace, row.conn_state, row.history
                );
                continue;
            };
            used[best] = true;
            let (_, _, got_state, got_history) = rows[best];
            let (s, h) = (got_state == row.conn_state, got_history == row.history);
            state_ok += usize::from(s);
            history_ok += usize::from(h);
            if !(s && h) {
                println!(
                    "MISMATCH {}: {o} → {r}: zeek {} {:<12} finscope {} {}",
                    t.trace, row.conn_state, row.history, got_state, got_history
                );
            }
        }
    }
    println!("zeek conformance: conn_state {state_ok}/{total}, history {history_ok}/{total}");
    assert_eq!(total, 107);
    assert!(
        state_ok >= CONN_STATE_FLOOR,
        "conn_state matches fell to {state_ok}/{total}"
    );
    assert!(
        history_ok >= HISTORY_FLOOR,
        "history matches fell to {history_ok}/{total}"
    );
}
