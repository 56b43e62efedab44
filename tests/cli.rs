//! The command line as users and scripts meet it: exit codes, error
//! messages, formats, standard input, several files, generated docs.

mod common;

use std::io::Write;
use std::process::Stdio;

use common::{analyze, bin, parse_jsonl, run, testdata};

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn path(name: &str) -> String {
    testdata(name).to_string_lossy().into_owned()
}

#[test]
fn exit_0_on_success() {
    let out = run(&[
        "analyze",
        "--format",
        "jsonl",
        &path("graceful-client.pcap"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(out.stderr.is_empty());
}

#[test]
fn missing_file_exits_2_naming_it() {
    let out = run(&["analyze", "--format", "jsonl", "/nonexistent/capture.pcap"]);
    assert_eq!(out.status.code(), Some(2));
    let e = stderr(&out);
    assert!(
        e.contains("/nonexistent/capture.pcap: cannot open: No such file"),
        "{e}"
    );
}

#[test]
fn not_a_capture_exits_2_saying_what_it_starts_with() {
    let dir = tempdir();
    let f = dir.join("notes.txt");
    std::fs::write(&f, b"these are not packets\n").unwrap();
    let out = run(&["analyze", f.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let e = stderr(&out);
    assert!(
        e.contains(
            "notes.txt: at byte offset 0: not a pcap or pcapng file (starts with 74 68 65 73)"
        ),
        "{e}"
    );
}

#[test]
fn truncated_file_reports_partial_results_and_exits_2() {
    let whole = std::fs::read(testdata("graceful-client.pcap")).unwrap();
    let dir = tempdir();
    let f = dir.join("cut.pcap");
    std::fs::write(&f, &whole[..500]).unwrap();
    let out = run(&["analyze", "--format", "jsonl", f.to_str().unwrap()]);
    let r = parse_jsonl(&out);
    assert_eq!(r.status, 2);
    // What was read before the cut is reported.
    let c = r.only();
    assert_eq!(c.handshake, "complete");
    assert_eq!(c.teardown, "open");
    let err = r.summary.files[0].error.as_deref().unwrap();
    assert!(
        err.starts_with("at byte offset 488: the file ends in the middle of a record"),
        "{err}"
    );
    assert!(
        r.stderr.contains("cut.pcap: at byte offset 488"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("covers what could be read"),
        "{}",
        r.stderr
    );
}

#[test]
fn absurd_record_length_is_named() {
    let mut bytes = std::fs::read(testdata("graceful-client.pcap")).unwrap();
    bytes[24 + 8..24 + 12].copy_from_slice(&0x7fff_ffffu32.to_le_bytes());
    let dir = tempdir();
    let f = dir.join("huge.pcap");
    std::fs::write(&f, &bytes).unwrap();
    let out = run(&["analyze", "--format", "jsonl", f.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("at byte offset 24: a record claims 2147483663 bytes"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn bad_arguments_exit_2() {
    assert_eq!(run(&["analyze"]).status.code(), Some(2));
    assert_eq!(
        run(&["analyze", "--no-such-flag", "x"]).status.code(),
        Some(2)
    );
    let out = run(&[
        "analyze",
        "--stall",
        "5 parsecs",
        &path("graceful-client.pcap"),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--stall"), "{}", stderr(&out));
    assert_eq!(run(&["--help"]).status.code(), Some(0));
}

#[cfg(feature = "live")]
#[test]
fn filter_applies_to_files_with_libpcap() {
    // Only the IPv6 connection of the two files passes.
    let out = run(&[
        "analyze",
        "--format",
        "jsonl",
        "-f",
        "ip6",
        &path("ipv6.pcap"),
        &path("rst-client.pcap"),
    ]);
    let r = parse_jsonl(&out);
    assert_eq!(r.status, 0, "{}", r.stderr);
    assert_eq!(r.only().server, "[fd77::2]:8080");
    assert_eq!(r.summary.packets, 11);
    let bad = run(&["analyze", "-f", "port or", &path("ipv6.pcap")]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("-f \"port or\""), "{}", stderr(&bad));
}

#[cfg(not(feature = "live"))]
#[test]
fn filter_without_libpcap_says_how_to_get_it() {
    let out = run(&[
        "analyze",
        "-f",
        "tcp port 80",
        &path("graceful-client.pcap"),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--features live"), "{}", stderr(&out));
}

#[test]
fn standard_input_is_a_file_named_dash() {
    let mut child = bin()
        .args(["analyze", "--format", "jsonl", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let bytes = std::fs::read(testdata("rst-client.pcap")).unwrap();
    // Trickle it in small writes, as a pipe would.
    let mut stdin = child.stdin.take().unwrap();
    for chunk in bytes.chunks(7) {
        stdin.write_all(chunk).unwrap();
    }
    drop(stdin);
    let r = parse_jsonl(&child.wait_with_output().unwrap());
    assert_eq!(r.status, 0, "{}", r.stderr);
    assert_eq!(r.only().teardown, "reset");
    assert_eq!(r.summary.files[0].path, "-");
}

#[test]
fn several_files_merge_into_one_time_ordered_stream() {
    // Given newest first, connections are still numbered by first packet.
    let out = run(&[
        "analyze",
        "--format",
        "jsonl",
        &path("ipv6.pcap"),
        "-r",
        &path("refused.pcap"),
        &path("graceful-server.pcap"),
    ]);
    let r = parse_jsonl(&out);
    assert_eq!(r.status, 0);
    assert_eq!(r.summary.files.len(), 3);
    let mut by_id = r.connections.clone();
    by_id.sort_by_key(|c| c.id);
    let teardowns: Vec<&str> = by_id.iter().map(|c| c.teardown.as_str()).collect();
    assert_eq!(teardowns, vec!["graceful", "refused", "graceful"]);
    assert_eq!(by_id[0].closer.as_deref(), Some("server"));
    assert!(by_id[2].client.starts_with("[fd77::1]"));
    let starts: Vec<&str> = by_id.iter().map(|c| c.first_seen.as_str()).collect();
    let mut sorted = starts.clone();
    sorted.sort();
    assert_eq!(starts, sorted);
    assert_eq!(r.summary.packets, 11 + 2 + 11);
}

#[test]
fn count_stops_early() {
    let r = analyze("graceful-client.pcap", &["-c", "3"]);
    assert_eq!(r.summary.packets, 3);
    assert_eq!(r.only().handshake, "complete");
    assert_eq!(r.only().teardown, "open");
}

#[test]
fn json_is_one_document() {
    let out = run(&[
        "analyze",
        "--format",
        "json",
        "--stall",
        "2s",
        &path("close-wait.pcap"),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["schema"], "finscope/1");
    assert_eq!(doc["summary"]["connections"], 2);
    let conns = doc["connections"].as_array().unwrap();
    assert_eq!(conns.len(), 2);
    assert_eq!(conns[0]["id"], 1);
    assert_eq!(conns[0]["teardown"], "half-closed");
    assert_eq!(conns[0]["state"]["server"], "CLOSE-WAIT");
    let findings = doc["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0]["type"], "finding");
    assert_eq!(findings[0]["kind"], "close-wait-stall");
    assert_eq!(findings[0]["connection"], 1);
}

#[test]
fn csv_has_a_header_and_a_row_per_connection() {
    let out = run(&[
        "analyze",
        "--format",
        "csv",
        &path("close-wait.pcap"),
        &path("rst-server.pcap"),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4);
    let header: Vec<&str> = lines[0].split(',').collect();
    assert_eq!(header[0], "id");
    assert!(header.contains(&"teardown") && header.contains(&"zeek_history"));
    for row in &lines[1..] {
        assert_eq!(row.split(',').count(), header.len(), "{row}");
    }
    let teardown = header.iter().position(|h| *h == "teardown").unwrap();
    let verdicts: Vec<&str> = lines[1..]
        .iter()
        .map(|r| r.split(',').nth(teardown).unwrap())
        .collect();
    assert!(
        verdicts.contains(&"half-closed") && verdicts.contains(&"reset"),
        "{verdicts:?}"
    );
}

#[test]
fn table_shows_summary_findings_and_servers() {
    let out = run(&[
        "analyze",
        "--format",
        "table",
        "--color",
        "never",
        &path("rst-client.pcap"),
        &path("graceful-client.pcap"),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("2 connections"), "{text}");
    assert!(
        text.contains("graceful") && text.contains("reset"),
        "{text}"
    );
    assert!(text.contains("Findings worth a look"), "{text}");
    assert!(text.contains("aborted the connection"), "{text}");
    assert!(text.contains("10.77.0.2:8080"), "{text}");
    let quiet = run(&[
        "analyze",
        "--format",
        "table",
        "-q",
        &path("rst-client.pcap"),
    ]);
    let q = String::from_utf8(quiet.stdout).unwrap();
    assert!(
        q.contains("reset") && !q.contains("Findings worth a look"),
        "{q}"
    );
}

#[test]
fn table_connections_lists_each_connection() {
    let out = run(&[
        "analyze",
        "--format",
        "table",
        "--connections",
        &path("close-wait.pcap"),
    ]);
    let text = String::from_utf8(out.stdout).unwrap();
    let row = text
        .lines()
        .find(|l| l.contains("10.77.0.1:44608"))
        .expect("a row for the first connection");
    assert!(
        row.contains("half-closed") && row.contains("FIN-WAIT-2") && row.contains("CLOSE-WAIT"),
        "{row}"
    );
    assert!(text.contains("S2 ShADaF"), "{text}");
}

/// Generated files must match what the binary prints now.
#[test]
fn completions_and_man_page_are_current() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let bless = std::env::var_os("FINSCOPE_BLESS").is_some();
    let mut stale = Vec::new();
    let files = [
        ("completions/finscope.bash", vec!["completions", "bash"]),
        ("completions/_finscope", vec!["completions", "zsh"]),
        ("completions/finscope.fish", vec!["completions", "fish"]),
        ("completions/finscope.elv", vec!["completions", "elvish"]),
        (
            "completions/_finscope.ps1",
            vec!["completions", "powershell"],
        ),
        ("man/finscope.1", vec!["man"]),
        ("man/finscope-analyze.1", vec!["man", "analyze"]),
        ("man/finscope-check.1", vec!["man", "check"]),
        ("man/finscope-live.1", vec!["man", "live"]),
        ("man/finscope-show.1", vec!["man", "show"]),
    ];
    for (file, args) in files {
        let out = run(&args);
        assert_eq!(out.status.code(), Some(0));
        let path = root.join(file);
        if bless {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &out.stdout).unwrap();
        } else if std::fs::read(&path).ok().as_deref() != Some(&out.stdout[..]) {
            stale.push(file);
        }
    }
    assert!(
        stale.is_empty(),
        "stale: {stale:?}; regenerate with FINSCOPE_BLESS=1 cargo test --test cli completions"
    );
}

fn tempdir() -> std::path::PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let d = std::env::temp_dir().join(format!(
        "finscope-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn a_closed_pipe_is_not_an_error() {
    // Enough output to fill the pipe: the same capture 300 times.
    let p = path("graceful-server.pcap");
    let mut args = vec!["analyze", "--format", "jsonl"];
    args.extend(std::iter::repeat_n(p.as_str(), 300));
    let mut child = bin()
        .args(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    use std::io::Read;
    child
        .stdout
        .as_mut()
        .unwrap()
        .read_exact(&mut first)
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(out.stderr.is_empty(), "{}", stderr(&out));
    assert_eq!(&first, b"{\"type\":\"connect");
}

#[test]
fn max_connections_evictions_are_reported() {
    let r = analyze("close-wait.pcap", &["--max-connections", "1"]);
    assert_eq!(r.status, 0);
    assert_eq!(r.connections.len(), 2);
    // The first was pushed out when the second began.
    assert_eq!(r.connections[0].ended_by, "max-connections");
    assert_eq!(r.connections[1].ended_by, "capture-end");
    assert_eq!(r.summary.evictions["max_connections"], 1);
    assert_eq!(r.summary.thresholds["max_connections"], 1);
    let table = run(&[
        "analyze",
        "--format",
        "table",
        "--max-connections",
        "1",
        &path("close-wait.pcap"),
    ]);
    let text = String::from_utf8(table.stdout).unwrap();
    assert!(text.contains("evicted by --max-connections 1"), "{text}");
}

#[test]
fn quiet_jsonl_is_the_summary_alone() {
    let r = analyze("close-wait.pcap", &["-q"]);
    assert_eq!(r.order, vec!["summary"]);
    assert_eq!(r.summary.connections, 2);
}

#[test]
fn many_findings_of_one_kind_are_summarized() {
    let dir = tempdir();
    let f = dir.join("resets.pcap");
    std::fs::write(&f, common::resets_pcap(40)).unwrap();
    let f = f.to_str().unwrap();
    let r = parse_jsonl(&run(&["analyze", "--format", "jsonl", f]));
    assert_eq!(r.connections.len(), 40);
    assert!(r
        .connections
        .iter()
        .all(|c| c.teardown == "reset" && c.closer.as_deref() == Some("client")));
    assert_eq!(r.summary.findings["rst-abort"], 40);
    let text = String::from_utf8(run(&["analyze", "--format", "table", f]).stdout).unwrap();
    assert_eq!(text.matches("aborted the connection").count(), 5, "{text}");
    assert!(text.contains("… and 35 more rst-abort findings"), "{text}");
    let all = String::from_utf8(run(&["analyze", "--format", "table", "--all", f]).stdout).unwrap();
    assert_eq!(all.matches("aborted the connection").count(), 40);
}

/// The README shows real output: the quick start's table and a connection
/// record must be what the binary prints now.
#[test]
fn readme_examples_are_current() {
    let readme =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
            .unwrap();
    let block = |fence: &str| -> String {
        let start = readme
            .find(fence)
            .unwrap_or_else(|| panic!("no {fence} block"))
            + fence.len();
        let end = readme[start..].find("\n```").unwrap() + start;
        readme[start..end].to_string()
    };
    let table = run(&[
        "analyze",
        "--format",
        "table",
        "--color",
        "never",
        "testdata/rst-server.pcap",
        "testdata/fin-unacked.pcap",
        "testdata/half-close.pcap",
    ]);
    // Paths as the README writes them, relative to the checkout.
    let table = String::from_utf8(table.stdout).unwrap();
    assert_eq!(
        block("```text\n").trim_end(),
        table.trim_end(),
        "README's quick-start output is stale"
    );
    let record: serde_json::Value = serde_json::from_str(&block("```json\n")).unwrap();
    let out = run(&[
        "analyze",
        "--format",
        "jsonl",
        "testdata/graceful-server.pcap",
    ]);
    let first: serde_json::Value = serde_json::from_str(
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(record, first, "README's connection record is stale");
    let verdict = run(&["check", "--color", "never", "testdata/rst-server.pcap"]);
    assert_eq!(verdict.status.code(), Some(1));
    assert_eq!(
        block("```\n$ finscope check testdata/rst-server.pcap\n").trim_end(),
        String::from_utf8(verdict.stdout).unwrap().trim_end(),
        "README's check output is stale"
    );
    let ladder = run(&["show", "testdata/graceful-server.pcap", "1"]);
    assert_eq!(
        block("```\n$ finscope show testdata/graceful-server.pcap 1\n").trim_end(),
        String::from_utf8(ladder.stdout).unwrap().trim_end(),
        "README's show output is stale"
    );
}
