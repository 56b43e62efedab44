//! `--threads N` gives the same output as one thread, byte for byte: on
//! every testdata capture, on all of them merged into one stream, on
//! Zeek's traces (when `../shared` is there), and on a capture whose
//! connections end in every way at once (TIME-WAIT reuse, resets expiring
//! in the same sweep as closes, connections open at the end).

mod common;

use std::path::{Path, PathBuf};

fn output(files: &[PathBuf], format: &str, threads: &str, extra: &[&str]) -> Vec<u8> {
    let mut args = vec!["analyze", "--format", format, "--threads", threads];
    args.extend_from_slice(extra);
    let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    args.extend(names.iter().map(String::as_str));
    let out = common::run(&args);
    assert!(
        out.status.code() == Some(0) || out.status.code() == Some(2),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn captures(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("directory lists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "pcap" || x == "pcapng"))
        .collect();
    v.sort();
    v
}

fn assert_same(files: &[PathBuf], extra: &[&str]) {
    for format in ["jsonl", "json", "csv", "table"] {
        let one = output(files, format, "1", extra);
        assert!(!one.is_empty(), "{files:?}: no output");
        for n in ["2", "3", "5"] {
            let many = output(files, format, n, extra);
            assert!(
                one == many,
                "{files:?} --format {format} --threads {n} differs from one thread:\n{}",
                first_difference(&one, &many)
            );
        }
    }
}

fn first_difference(a: &[u8], b: &[u8]) -> String {
    let (a, b) = (String::from_utf8_lossy(a), String::from_utf8_lossy(b));
    for (i, (x, y)) in a.lines().zip(b.lines()).enumerate() {
        if x != y {
            return format!("line {}:\n  1: {x}\n  N: {y}", i + 1);
        }
    }
    format!("lengths {} and {}", a.len(), b.len())
}

#[test]
fn each_testdata_capture_reads_the_same_on_any_number_of_threads() {
    for f in captures(&common::testdata("")) {
        assert_same(&[f], &[]);
    }
}

#[test]
fn all_testdata_merged_reads_the_same_on_any_number_of_threads() {
    // One stream of every scenario: many connections spread over the
    // workers, sweeps that expire connections of several workers at once,
    // and host aggregates fed from all of them.
    let files = captures(&common::testdata(""));
    assert!(files.len() > 20);
    assert_same(&files, &["--time-wait", "2s", "--idle-timeout", "5s"]);
    // The table (with host rows) too, and -q (the workers render nothing).
    let one = output(&files, "table", "1", &["--all", "--connections"]);
    let two = output(&files, "table", "2", &["--all", "--connections"]);
    assert_eq!(String::from_utf8_lossy(&one), String::from_utf8_lossy(&two));
    let one = output(&files, "jsonl", "1", &["-q"]);
    assert_eq!(
        String::from_utf8_lossy(&one).lines().count(),
        1,
        "the summary"
    );
    assert_eq!(one, output(&files, "jsonl", "2", &["-q"]));
    // A quiet document: the summary, and no records however the workers
    // hand them over.
    let one = output(&files, "json", "1", &["-q"]);
    let doc: serde_json::Value = serde_json::from_slice(&one).expect("one JSON document");
    assert_eq!(doc["connections"], serde_json::json!([]));
    assert_eq!(doc["findings"], serde_json::json!([]));
    assert!(doc["summary"]["connections"]
        .as_u64()
        .is_some_and(|n| n > 100));
    assert_eq!(one, output(&files, "json", "2", &["-q"]));
    // `check` takes its records through the merge (it sums them).
    let check = |threads: &str| {
        let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
        let mut args = vec!["check", "--format", "json", "--threads", threads];
        args.extend(names.iter().map(String::as_str));
        let out = common::run(&args);
        assert!(out.status.code().is_some_and(|c| c <= 1), "{args:?}");
        out.stdout
    };
    let one = check("1");
    assert!(one.len() > 1000);
    assert_eq!(
        String::from_utf8_lossy(&one),
        String::from_utf8_lossy(&check("3"))
    );
}

#[test]
fn a_capture_with_every_ending_reads_the_same_on_any_number_of_threads() {
    use common::SYN;
    let dir = tempdir();
    let path = dir.join("mix.pcap");
    let segs = every_ending(400);
    let bytes = common::crafted_pcap(&segs);
    std::fs::write(&path, bytes).expect("writes");
    assert_same(
        std::slice::from_ref(&path),
        &["--time-wait", "1s", "--idle-timeout", "3s"],
    );
    let report = common::analyze(path.to_str().unwrap(), &["--threads", "3"]);
    assert_eq!(report.connections.len(), 400);
    // Each connection's id is the frame of its first packet, its SYN.
    let mut ids: Vec<u64> = report.connections.iter().map(|c| c.id).collect();
    ids.sort_unstable();
    let syn_frames: Vec<u64> = (1..)
        .zip(&segs)
        .filter(|(_, s)| s.flags == SYN)
        .map(|(frame, _)| frame)
        .collect();
    assert_eq!(syn_frames.len(), 400);
    assert_eq!(ids, syn_frames, "one id per SYN, the SYN's frame number");
}

#[test]
fn a_retry_after_a_refused_syn_names_the_time_wait_two_connections_back() {
    // On each of 30 tuples: a connection the server closes first (it holds
    // TIME-WAIT), a SYN it refuses with RST, and a retry that it accepts.
    // The retry's SYN ran into the first connection's TIME-WAIT (the
    // refused attempt passed it on), so its finding names the connection
    // two back, which a worker knows by its own id only.
    use common::{seg, Seg, ACK, FIN_ACK, RST_ACK, SYN, SYN_ACK};
    let dir = tempdir();
    let path = dir.join("retry.pcap");
    let mut tuples: Vec<Vec<Seg>> = Vec::new();
    for i in 0..30u32 {
        let a = 10_000 + i * 1_000_000;
        let (b, c) = (a + 300_000, a + 600_000);
        let s = vec![
            seg(true, SYN, a, 0, 0),
            seg(false, SYN_ACK, 5000, a + 1, 0),
            seg(true, ACK, a + 1, 5001, 0),
            seg(false, FIN_ACK, 5001, a + 1, 0),
            seg(true, ACK, a + 1, 5002, 0),
            seg(true, FIN_ACK, a + 1, 5002, 0),
            seg(false, ACK, 5002, a + 2, 0),
            seg(true, SYN, b, 0, 0),
            seg(false, RST_ACK, 0, b + 1, 0),
            seg(true, SYN, c, 0, 0),
            seg(false, SYN_ACK, 9000, c + 1, 0),
            seg(true, ACK, c + 1, 9001, 0),
            seg(true, FIN_ACK, c + 1, 9001, 0),
            seg(false, FIN_ACK, 9001, c + 2, 0),
            seg(true, ACK, c + 2, 9002, 0),
        ];
        let port = 30_000 + i as u16;
        tuples.push(s.into_iter().map(|x| Seg { port, ..x }).collect());
    }
    let segs = deal(&tuples);
    std::fs::write(&path, common::crafted_pcap(&segs)).expect("writes");
    assert_same(std::slice::from_ref(&path), &[]);
    let report = common::analyze(path.to_str().unwrap(), &["--threads", "2"]);
    assert_eq!(report.connections.len(), 90);
    let reuses = report.findings_of("syn-on-time-wait");
    assert_eq!(
        reuses.len(),
        60,
        "the refused SYN and the retry, on each tuple"
    );
    // Each retry names the first connection on its tuple, not the refused
    // one just before it.
    let client_of = |id: u64| {
        report
            .connections
            .iter()
            .find(|c| c.id == id)
            .map(|c| (c.client.clone(), c.first_seen.clone()))
            .expect("the named connection is reported")
    };
    let mut retries = 0;
    for f in reuses {
        let me = f.connection.expect("a connection finding");
        let named = f.evidence["time_wait_connection"]
            .as_u64()
            .expect("names one");
        let (mine, _) = client_of(me);
        let (theirs, _) = client_of(named);
        assert_eq!(mine, theirs, "the same tuple");
        let refused_between = report
            .connections
            .iter()
            .filter(|c| c.client == mine && c.id > named && c.id < me)
            .count();
        if refused_between == 1 {
            retries += 1;
            assert_eq!(
                report
                    .connections
                    .iter()
                    .find(|c| c.id == named)
                    .map(|c| c.teardown.as_str()),
                Some("graceful")
            );
        }
    }
    assert_eq!(retries, 30, "every retry names the connection two back");
}

#[test]
fn zeek_traces_read_the_same_on_any_number_of_threads() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/conformance/zeek/traces");
    if !dir.is_dir() {
        println!(
            "SKIPPED: {} is absent (it sits beside the checkout in CI)",
            dir.display()
        );
        return;
    }
    let mut files = Vec::new();
    let mut stack = vec![dir];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("lists").flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p
                .extension()
                .is_some_and(|x| x == "pcap" || x == "pcapng" || x == "trace")
            {
                files.push(p);
            }
        }
    }
    files.sort();
    assert!(!files.is_empty());
    for f in &files {
        let one = output(std::slice::from_ref(f), "jsonl", "1", &[]);
        let two = output(std::slice::from_ref(f), "jsonl", "2", &[]);
        assert!(
            one == two,
            "{}: --threads 2 differs:\n{}",
            f.display(),
            first_difference(&one, &two)
        );
    }
}

/// Crafted: `conns` connections on 40 4-tuples, so most SYNs reuse a tuple
/// (some in TIME-WAIT), with resets, half-closes and connections left
/// open, interleaved so that sweeps expire several at once: eight
/// connections at a time, their packets dealt round-robin (the next eight
/// reuse the same tuples some 50 ms to 1 s later).
fn every_ending(conns: u32) -> Vec<common::Seg> {
    use common::{seg, Seg, ACK, FIN_ACK, PSH_ACK, RST_ACK, SYN, SYN_ACK};
    let mut all: Vec<Vec<Seg>> = Vec::new();
    for i in 0..conns {
        let port = 40_000 + (i % 40) as u16;
        // (Sequence space wraps after some 42,000 connections.)
        let isn = 1000u32.wrapping_add(i.wrapping_mul(100_000));
        let mut s = vec![
            seg(true, SYN, isn, 0, 0),
            seg(false, SYN_ACK, 7, isn.wrapping_add(1), 0),
            seg(true, ACK, isn.wrapping_add(1), 8, 0),
            seg(true, PSH_ACK, isn.wrapping_add(1), 8, 10),
        ];
        match i % 4 {
            0 => s.extend([
                seg(true, FIN_ACK, isn.wrapping_add(11), 8, 0),
                seg(false, FIN_ACK, 8, isn.wrapping_add(12), 0),
                seg(true, ACK, isn.wrapping_add(12), 9, 0),
            ]),
            1 => s.push(seg(false, RST_ACK, 8, isn.wrapping_add(11), 0)),
            2 => s.extend([
                seg(true, FIN_ACK, isn.wrapping_add(11), 8, 0),
                seg(false, ACK, 8, isn.wrapping_add(12), 0),
            ]),
            _ => {}
        }
        all.push(
            s.into_iter()
                .map(|x| Seg {
                    port,
                    gap_ms: 7,
                    ..x
                })
                .collect(),
        );
    }
    all.chunks(8).flat_map(deal).collect()
}

#[test]
fn a_capture_of_many_hand_overs_reads_the_same_on_any_number_of_threads() {
    // 96,000 frames: each worker's input buffers come back to the reading
    // thread and are written over several times (the reader hands over
    // every 16,384 frames), sweeps landing where packets were and the
    // other way round. (The buffer's own test, field by field, is
    // `a_recycled_buffer_gathers_only_the_new_batch` in the library.)
    let dir = tempdir();
    let path = dir.join("long-mix.pcap");
    let segs = every_ending(18_000);
    assert!(segs.len() > 90_000, "{} frames", segs.len());
    std::fs::write(&path, common::crafted_pcap(&segs)).expect("writes");
    assert_same(
        std::slice::from_ref(&path),
        &["--time-wait", "1s", "--idle-timeout", "3s"],
    );
    let report = common::analyze(path.to_str().unwrap(), &["--threads", "2"]);
    assert_eq!(report.connections.len(), 18_000);
}

/// The connections' segments dealt round-robin: each one's first, then
/// each one's second, and so on (concurrent clients).
fn deal(conns: &[Vec<common::Seg>]) -> Vec<common::Seg> {
    let longest = conns.iter().map(Vec::len).max().unwrap_or(0);
    (0..longest)
        .flat_map(|k| conns.iter().filter_map(move |c| c.get(k).copied()))
        .collect()
}

fn tempdir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("finscope-threads-{}", std::process::id()));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}
