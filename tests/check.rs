//! `finscope check`, the CI gate: exit codes, the rule named for each
//! failure, policies, baselines and the report formats CI tools read.

mod common;

use std::path::Path;
use std::process::Output;

use common::{can_capture, run, testdata};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct CheckDoc {
    schema: String,
    #[serde(rename = "type")]
    kind: String,
    result: String,
    violations: usize,
    items: Vec<Item>,
    services: Vec<Service>,
}

#[derive(Debug, Deserialize)]
struct Item {
    rule: String,
    subject: String,
    result: String,
    reason: String,
    why: String,
    count: u64,
    baseline: Option<u64>,
    excepted: u64,
    examples: Vec<Example>,
}

#[derive(Debug, Deserialize)]
struct Example {
    connection: Option<u64>,
    client: Option<String>,
    server: Option<String>,
    message: String,
}

#[derive(Debug, Deserialize)]
struct Service {
    service: String,
    connections: u64,
}

fn td(name: &str) -> String {
    testdata(name).to_string_lossy().into_owned()
}

/// Runs `check --format json` and parses the verdict.
fn check(files: &[&str], extra: &[&str]) -> (i32, CheckDoc) {
    let paths: Vec<String> = files.iter().map(|f| td(f)).collect();
    let mut args = vec!["check", "--format", "json"];
    args.extend(extra);
    args.extend(paths.iter().map(|s| s.as_str()));
    let out = run(&args);
    let doc = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "check {args:?} printed no verdict ({e}); stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), doc)
}

fn failing(doc: &CheckDoc) -> Vec<&str> {
    doc.items
        .iter()
        .filter(|i| i.result == "fail")
        .map(|i| i.rule.as_str())
        .collect()
}

fn item<'a>(doc: &'a CheckDoc, rule: &str) -> &'a Item {
    doc.items
        .iter()
        .find(|i| i.rule == rule)
        .unwrap_or_else(|| panic!("no {rule} item in {:#?}", doc.items))
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn clean_captures_pass() {
    for f in [
        "graceful-client.pcap",
        "graceful-server.pcap",
        "half-close.pcap",
        "simultaneous-close.pcap",
        "three-way-close.pcap",
        "ipv6.pcap",
    ] {
        let (code, doc) = check(&[f], &[]);
        assert_eq!(code, 0, "{f}: {:#?}", doc.items);
        assert_eq!(doc.schema, "finscope/1");
        assert_eq!(doc.kind, "check");
        assert_eq!(doc.result, "pass");
        assert_eq!(doc.violations, 0);
        assert!(doc.services.iter().all(|s| s.connections > 0), "{f}");
    }
    // The half-close is reported, below the failing severity.
    let (_, doc) = check(&["half-close.pcap"], &[]);
    let hc = item(&doc, "half-close");
    assert_eq!(
        (hc.result.as_str(), hc.reason.as_str()),
        ("pass", "below-severity")
    );
}

#[test]
fn a_reset_fails_naming_the_rule_and_the_connection() {
    let (code, doc) = check(&["rst-server.pcap"], &[]);
    assert_eq!(code, 1);
    assert_eq!(doc.result, "fail");
    assert_eq!(failing(&doc), ["rst-abort"]);
    let i = item(&doc, "rst-abort");
    assert_eq!(i.subject, "10.77.0.2:8080");
    assert_eq!(i.reason, "severity");
    assert_eq!(i.examples[0].connection, Some(1));
    assert_eq!(i.examples[0].server.as_deref(), Some("10.77.0.2:8080"));
    assert!(i.examples[0]
        .client
        .as_deref()
        .unwrap()
        .starts_with("10.77.0.1:"));

    // The text verdict names the rule, the service and the connection.
    let out = run(&["check", &td("rst-server.pcap")]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("FAIL finscope check: 1 violation"),
        "{text}"
    );
    assert!(text.contains("✗ rst-abort on 10.77.0.2:8080"), "{text}");
    assert!(text.contains("connection #1 10.77.0.1:"), "{text}");
}

#[test]
fn a_lost_final_ack_fails_as_final_ack_lost() {
    let (code, doc) = check(&["final-ack-lost.pcap"], &[]);
    assert_eq!(code, 1);
    assert!(
        failing(&doc).contains(&"final-ack-lost"),
        "{:?}",
        failing(&doc)
    );
    // Allowing the FIN retransmissions it causes leaves the lost ACK failing.
    let (code, doc) = check(&["final-ack-lost.pcap"], &["--allow", "fin-retransmission"]);
    assert_eq!(code, 1);
    assert_eq!(failing(&doc), ["final-ack-lost"]);
    assert_eq!(item(&doc, "fin-retransmission").reason, "allowed");
}

#[test]
fn close_wait_leaks_fail() {
    // One connection left in CLOSE-WAIT for 3 s (stall threshold 2 s).
    let (code, doc) = check(&["close-wait.pcap"], &["--stall", "2s"]);
    assert_eq!(code, 1);
    assert_eq!(failing(&doc), ["close-wait-stall"]);
    // Thirty at once, against a host threshold of 20.
    let (code, doc) = check(&["cw-pileup.pcap"], &["--cw-accumulation", "20"]);
    assert_eq!(code, 1, "{:#?}", doc.items);
    assert!(
        failing(&doc).contains(&"close-wait-accumulation"),
        "{:?}",
        failing(&doc)
    );
    // Below the default thresholds, nothing fails.
    assert_eq!(check(&["close-wait.pcap"], &[]).0, 0);
}

#[test]
fn severity_kinds_and_budgets() {
    // rst-abort is a warning: --fail-on error lets it through.
    assert_eq!(check(&["rst-server.pcap"], &["--fail-on", "error"]).0, 0);
    assert_eq!(check(&["rst-server.pcap"], &["--fail-on", "never"]).0, 0);
    // --fail-on-kind fails an info finding.
    let (code, doc) = check(&["half-close.pcap"], &["--fail-on-kind", "half-close"]);
    assert_eq!((code, failing(&doc)), (1, vec!["half-close"]));
    assert_eq!(item(&doc, "half-close").reason, "kind");
    // Budgets count all services together.
    let files = ["rst-server.pcap", "rst-client.pcap"];
    let (code, doc) = check(&files, &["--max", "rst-abort=2"]);
    assert_eq!(code, 0, "{:#?}", doc.items);
    assert_eq!(item(&doc, "rst-abort").reason, "within-budget");
    let (code, doc) = check(&files, &["--max", "rst-abort=1"]);
    assert_eq!(code, 1);
    assert_eq!(item(&doc, "rst-abort").reason, "over-budget");
    assert!(item(&doc, "rst-abort")
        .why
        .contains("2 in all, over the budget of 1"));
}

#[test]
fn a_policy_file_sets_thresholds_budgets_and_exceptions() {
    let dir = tempdir("policy");
    let policy = dir.join("finscope.toml");
    std::fs::write(
        &policy,
        r#"
fail-on = "warning"
allow = ["midstream"]

[thresholds]
stall = "2s"

[[exception]]
kinds = ["rst-abort"]
port = 8080
reason = "the test server aborts on purpose"
"#,
    )
    .unwrap();
    let p = policy.to_string_lossy().into_owned();
    // The policy's stall threshold applies.
    let (code, doc) = check(&["close-wait.pcap"], &["--policy", &p]);
    assert_eq!((code, failing(&doc)), (1, vec!["close-wait-stall"]));
    // A flag overrides the file.
    assert_eq!(
        check(&["close-wait.pcap"], &["--policy", &p, "--stall", "60s"]).0,
        0
    );
    // The exception excuses the reset on port 8080, with its reason.
    let (code, doc) = check(&["rst-server.pcap"], &["--policy", &p]);
    assert_eq!(code, 0, "{:#?}", doc.items);
    let i = item(&doc, "rst-abort");
    assert_eq!((i.reason.as_str(), i.count, i.excepted), ("excepted", 0, 1));
    assert!(i.why.contains("the test server aborts on purpose"));

    // Mistakes are errors that say where.
    std::fs::write(&policy, "fail-on = \"warning\"\nstal = 3\n").unwrap();
    let out = run(&["check", "--policy", &p, &td("graceful-client.pcap")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("stal"), "{}", stderr(&out));
    std::fs::write(&policy, "allow = [\"rst-abrt\"]\n").unwrap();
    let out = run(&["check", "--policy", &p, &td("graceful-client.pcap")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("unknown finding kind \"rst-abrt\""),
        "{}",
        stderr(&out)
    );
    let out = run(&["check", "--max", "rst-abort", &td("graceful-client.pcap")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("expected KIND=N"), "{}", stderr(&out));
}

#[test]
fn a_baseline_suppresses_known_findings_and_catches_new_ones() {
    let dir = tempdir("baseline");
    let base = dir.join("base.json");
    let b = base.to_string_lossy().into_owned();
    // Recording a baseline from a run with findings exits 0.
    let out = run(&["check", "--write-baseline", &b, &td("final-ack-lost.pcap")]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let saved: serde_json::Value = serde_json::from_slice(&std::fs::read(&base).unwrap()).unwrap();
    assert_eq!(saved["schema"], "finscope/1");
    assert_eq!(saved["connections"].as_array().unwrap().len(), 1);

    // The same findings again: known, so the gate passes.
    let (code, doc) = check(&["final-ack-lost.pcap"], &["--baseline", &b]);
    assert_eq!(code, 0, "{:#?}", doc.items);
    let i = item(&doc, "final-ack-lost");
    assert_eq!((i.reason.as_str(), i.baseline), ("known", Some(1)));

    // A reset appears: new, and the service's teardowns got worse.
    let (code, doc) = check(
        &["final-ack-lost.pcap", "rst-server.pcap"],
        &["--baseline", &b],
    );
    assert_eq!(code, 1);
    assert_eq!(failing(&doc), ["rst-abort", "teardown-regression"]);
    assert_eq!(item(&doc, "rst-abort").reason, "new");
    let tr = item(&doc, "teardown-regression");
    assert!(tr.why.contains("ended reset"), "{}", tr.why);
    assert_eq!(tr.examples[0].connection, Some(1));

    // Two resets where the baseline had one: worse, beyond the 10% tolerance.
    let rb = dir.join("rst-base.json");
    let rb = rb.to_string_lossy().into_owned();
    run(&["check", "--write-baseline", &rb, &td("rst-server.pcap")]);
    let both = ["rst-server.pcap", "rst-client.pcap"];
    let (code, doc) = check(&both, &["--baseline", &rb]);
    assert_eq!(code, 1);
    let i = item(&doc, "rst-abort");
    assert_eq!(
        (i.reason.as_str(), i.count, i.baseline),
        ("worse", 2, Some(1))
    );
    // ... and within a 100% tolerance (the reset share is unchanged too).
    let (code, doc) = check(&both, &["--baseline", &rb, "--tolerance", "100"]);
    assert_eq!(code, 0, "{:#?}", doc.items);

    // `analyze --format jsonl` output serves as a baseline too.
    let jl = dir.join("base.jsonl");
    let out = run(&["analyze", "--format", "jsonl", &td("final-ack-lost.pcap")]);
    std::fs::write(&jl, &out.stdout).unwrap();
    let (code, _) = check(
        &["final-ack-lost.pcap"],
        &["--baseline", &jl.to_string_lossy()],
    );
    assert_eq!(code, 0);

    // A baseline that is not a report is an error.
    std::fs::write(&jl, "{\"type\":\"connection\"}\nnot json\n").unwrap();
    let out = run(&[
        "check",
        "--baseline",
        &jl.to_string_lossy(),
        &td("graceful-client.pcap"),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--baseline"), "{}", stderr(&out));
}

#[test]
fn services_by_port_ignore_addresses() {
    let (_, doc) = check(&["rst-server.pcap"], &["--service-by", "port"]);
    assert_eq!(item(&doc, "rst-abort").subject, "port 8080");
}

#[test]
fn an_unreadable_capture_is_exit_2_even_with_violations() {
    let dir = tempdir("truncated");
    let cut = dir.join("cut.pcap");
    let bytes = std::fs::read(testdata("rst-server.pcap")).unwrap();
    std::fs::write(&cut, &bytes[..bytes.len() - 10]).unwrap();
    let out = run(&["check", &cut.to_string_lossy()]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("cut.pcap") && err.contains("offset"), "{err}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("finscope check"));
    let out = run(&["check", "no-such-file.pcap"]);
    assert_eq!(out.status.code(), Some(2));
}

/// The JUnit file as a CI tool reads it: suites, cases, failures, counts.
#[test]
fn junit_report_has_a_case_per_rule_and_service() {
    let out = run(&[
        "check",
        "--format",
        "junit",
        &td("final-ack-lost.pcap"),
        &td("rst-server.pcap"),
        &td("half-close.pcap"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let xml = String::from_utf8(out.stdout).unwrap();
    let doc = roxmltree::Document::parse(&xml).expect("well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    let suites: Vec<_> = root.children().filter(|n| n.is_element()).collect();
    assert_eq!(suites.len(), 24, "one suite per finding kind");
    let attr = |n: &roxmltree::Node, a: &str| n.attribute(a).unwrap_or_default().to_string();
    let mut cases = 0;
    let mut failed = Vec::new();
    for s in &suites {
        let these: Vec<_> = s
            .children()
            .filter(|n| n.has_tag_name("testcase"))
            .collect();
        assert_eq!(attr(s, "tests"), these.len().to_string());
        let fails: Vec<_> = these
            .iter()
            .filter(|c| c.children().any(|n| n.has_tag_name("failure")))
            .collect();
        assert_eq!(attr(s, "failures"), fails.len().to_string());
        for c in fails {
            let f = c.children().find(|n| n.has_tag_name("failure")).unwrap();
            assert_eq!(attr(&f, "type"), attr(s, "name"));
            assert!(f.text().unwrap_or_default().contains("connection #"));
            failed.push((attr(s, "name"), attr(c, "name")));
        }
        cases += these.len();
    }
    assert_eq!(attr(&root, "tests"), cases.to_string());
    failed.sort();
    assert_eq!(
        failed,
        [
            (
                "fin-retransmission".to_string(),
                "10.77.0.2:8080".to_string()
            ),
            ("final-ack-lost".into(), "10.77.0.2:8080".into()),
            ("rst-abort".into(), "10.77.0.2:8080".into()),
        ]
    );
    assert_eq!(attr(&root, "failures"), "3");
    validate_junit(&xml);
}

/// Validates against `tests/schemas/junit.xsd` with xmllint (libxml2-utils,
/// which CI installs; elsewhere the check is skipped with a note unless
/// FINSCOPE_REQUIRE_TOOLS is set).
fn validate_junit(xml: &str) {
    let dir = tempdir("junit");
    let file = dir.join("report.xml");
    std::fs::write(&file, xml).unwrap();
    let schema = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemas/junit.xsd");
    match std::process::Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(&schema)
        .arg(&file)
        .output()
    {
        Ok(out) => assert!(
            out.status.success(),
            "the JUnit report does not validate: {}",
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => {
            assert!(
                std::env::var_os("FINSCOPE_REQUIRE_TOOLS").is_none(),
                "xmllint is required here: {e}"
            );
            eprintln!(
                "skipped: JUnit schema validation needs xmllint (apt-get install libxml2-utils)"
            );
        }
    }
}

#[test]
fn junit_validates_for_clean_and_empty_runs_too() {
    for args in [
        vec!["check", "--format", "junit", "graceful-client.pcap"],
        vec![
            "check",
            "--format",
            "junit",
            "--fail-on-kind",
            "half-close",
            "half-close.pcap",
        ],
    ] {
        let args: Vec<String> = args
            .iter()
            .map(|a| {
                if a.ends_with(".pcap") {
                    td(a)
                } else {
                    a.to_string()
                }
            })
            .collect();
        let args: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
        let out = run(&args);
        let xml = String::from_utf8(out.stdout).unwrap();
        roxmltree::Document::parse(&xml).expect("well-formed XML");
        validate_junit(&xml);
    }
}

#[test]
fn sarif_report_is_sarif_2_1_0_with_a_result_per_rule_and_service() {
    let out = run(&[
        "check",
        "--format",
        "sarif",
        &td("rst-server.pcap"),
        &td("half-close.pcap"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["version"], "2.1.0");
    let run0 = &v["runs"][0];
    assert_eq!(run0["tool"]["driver"]["name"], "finscope");
    let rules = run0["tool"]["driver"]["rules"].as_array().unwrap();
    let results = run0["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    for r in results {
        let idx = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(
            rules[idx]["id"], r["ruleId"],
            "ruleIndex points at the rule"
        );
        assert!(r["message"]["text"]
            .as_str()
            .unwrap()
            .contains("10.77.0.2:8080"));
        let loc = &r["locations"][0];
        assert!(loc["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .unwrap()
            .ends_with(".pcap"));
        assert_eq!(loc["logicalLocations"][0]["name"], "10.77.0.2:8080");
    }
    let level = |rule: &str| {
        results
            .iter()
            .find(|r| r["ruleId"] == rule)
            .map(|r| r["level"].as_str().unwrap().to_string())
    };
    assert_eq!(level("rst-abort").as_deref(), Some("error"));
    assert_eq!(level("half-close").as_deref(), Some("note"));
}

#[test]
fn github_annotations_and_output_file() {
    let dir = tempdir("github");
    let report = dir.join("junit.xml");
    let out = run(&[
        "check",
        "--format",
        "github",
        &td("rst-server.pcap"),
        &td("half-close.pcap"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("::error title=finscope rst-abort on 10.77.0.2%3A8080::"),
        "{text}"
    );
    // Ids are frame numbers: rst-server.pcap's SYN is frame 16 of the two
    // files merged in time order.
    assert!(
        lines[0].contains("connection #16 10.77.0.1:47580"),
        "{text}"
    );
    assert!(lines
        .iter()
        .any(|l| l.starts_with("::notice title=finscope half-close")));
    assert_eq!(lines.last(), Some(&"finscope check: FAIL (1 violation)"));

    // -o: the format goes to the file, the text verdict to standard output.
    let out = run(&[
        "check",
        "--format",
        "junit",
        "-o",
        &report.to_string_lossy(),
        &td("rst-server.pcap"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("FAIL finscope check"));
    let xml = std::fs::read_to_string(&report).unwrap();
    assert!(roxmltree::Document::parse(&xml).is_ok());
}

fn tempdir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("finscope-check-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn docs_ci() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/ci.md")).unwrap()
}

/// The policy file in docs/ci.md is accepted and does what its comments say.
#[test]
fn docs_policy_example_works_as_written() {
    let docs = docs_ci();
    let start = docs.find("```toml\n").expect("a toml block") + "```toml\n".len();
    let len = docs[start..].find("```").unwrap();
    let dir = tempdir("docs-policy");
    let policy = dir.join("finscope.toml");
    std::fs::write(&policy, &docs[start..start + len]).unwrap();
    let p = policy.to_string_lossy().into_owned();
    // One reset is within the budget of two; services are ports.
    let (code, doc) = check(&["rst-server.pcap"], &["--policy", &p]);
    assert_eq!(code, 0, "{:#?}", doc.items);
    assert_eq!(item(&doc, "rst-abort").subject, "port 8080");
    // "our protocol never half-closes".
    let (code, doc) = check(&["half-close.pcap"], &["--policy", &p]);
    assert_eq!((code, failing(&doc)), (1, vec!["half-close"]));
}

/// Every `finscope check` command in docs/ci.md parses.
#[test]
fn docs_commands_parse() {
    use clap::Parser;
    let docs = docs_ci();
    let mut n = 0;
    for line in docs.lines() {
        let Some(at) = line.find("finscope check") else {
            continue;
        };
        let cmd = line[at..].split(" || ").next().unwrap();
        if cmd.contains('`') {
            continue; // prose
        }
        let words: Vec<&str> = cmd.split_whitespace().collect();
        if let Err(e) = finscope::cli::Cli::try_parse_from(&words) {
            panic!("docs/ci.md: {cmd:?} does not parse: {e}");
        }
        n += 1;
    }
    assert!(n >= 6, "found only {n} commands");
}

/// The documented pipeline, end to end on loopback: capture a test's
/// traffic with scripts/capture-during.sh, then gate on it. Needs root
/// (tcpdump); CI runs as root.
#[test]
fn capture_during_a_test_then_check_fails_on_the_reset() {
    if !can_capture(
        "capture_during_a_test_then_check_fails_on_the_reset",
        &["tcpdump"],
    ) {
        return;
    }
    let dir = tempdir("pipeline");
    let pcap = dir.join("capture.pcap");
    // A port of our own, 20000-25999: the process id spreads parallel runs
    // apart. Below Linux's ephemeral range (32768-60999), where a client's
    // port could match another test's filter, and apart from the next
    // test's ports (26000-31999) and tests/live.rs's (10000-19999).
    let port = 20000 + (std::process::id() % 6000) as u16;
    // The "integration test": a graceful exchange, one the client aborts
    // (RST), and a half-close.
    let captured = capture_during(port, &pcap, "loopback_traffic.py", &[]);
    let out = run(&["check", "--format", "json", &pcap.to_string_lossy()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let doc: CheckDoc = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(failing(&doc), ["rst-abort"], "{captured}");
    let i = item(&doc, "rst-abort");
    assert_eq!(i.subject, format!("127.0.0.1:{port}"));
    // The second connection is the aborted one; its id is the number of
    // the frame that started it.
    let out = run(&["analyze", "--format", "jsonl", &pcap.to_string_lossy()]);
    let jsonl = String::from_utf8_lossy(&out.stdout);
    let mut ids: Vec<u64> = connections(&jsonl)
        .iter()
        .filter_map(|c| c["id"].as_u64())
        .collect();
    ids.sort_unstable();
    assert_eq!(ids.len(), 3, "{captured}{jsonl}");
    assert_eq!(i.examples[0].connection, ids.get(1).copied());
    assert_eq!(doc.services[0].service, format!("127.0.0.1:{port}"));
    assert_eq!(doc.services[0].connections, 3);
    assert_eq!(item(&doc, "half-close").result, "pass");
    assert!(
        i.examples[0].message.contains("client"),
        "{}",
        i.examples[0].message
    );
}

#[test]
fn capture_during_keeps_the_packets_of_a_command_that_just_ended() {
    // Regression: without --immediate-mode, libpcap hands tcpdump packets a
    // ring block at a time (1 s timer), and those of an unfinished block
    // are lost when the script stops tcpdump. A connection right at the
    // end of the command went missing whenever no block boundary fell in
    // the script's last 0.7 s: one run in four. Four captures whose
    // traffic ends a quarter second apart, so one of them lands there.
    if !can_capture(
        "capture_during_keeps_the_packets_of_a_command_that_just_ended",
        &["tcpdump"],
    ) {
        return;
    }
    let dir = tempdir("capture-tail");
    // Ports of our own, apart from the other capture test's.
    let base = 26000 + (std::process::id() % 1500) as u16 * 4;
    let runs: Vec<_> = (0..4u16)
        .map(|k| {
            let (port, pcap) = (base + k, dir.join(format!("tail-{k}.pcap")));
            std::thread::spawn(move || {
                let delay = format!("{}", f64::from(k) * 0.25);
                let captured = capture_during(port, &pcap, "one_connection.py", &[&delay]);
                (port, pcap, captured)
            })
        })
        .collect();
    for r in runs {
        let (port, pcap, captured) = r.join().unwrap();
        let out = run(&["analyze", "--format", "jsonl", &pcap.to_string_lossy()]);
        let jsonl = String::from_utf8_lossy(&out.stdout);
        let conns = connections(&jsonl);
        assert_eq!(conns.len(), 1, "port {port}: {captured}{jsonl}");
        // The whole connection, through the final ACK of the server's FIN.
        assert_eq!(conns[0]["teardown"], "graceful", "port {port}: {jsonl}");
    }
}

/// Runs tests/scripts/SCRIPT PORT ARGS under scripts/capture-during.sh,
/// capturing `tcp port PORT` on lo into `pcap`. Returns tcpdump's
/// "packets captured/dropped" lines, for failure messages: a capture that
/// lost packets then reads as one, not as a wrong verdict.
fn capture_during(port: u16, pcap: &Path, script: &str, args: &[&str]) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = std::process::Command::new(root.join("scripts/capture-during.sh"))
        .args([
            "lo",
            &format!("tcp port {port}"),
            &pcap.to_string_lossy(),
            "--",
        ])
        .arg("python3")
        .arg(root.join("tests/scripts").join(script))
        .arg(port.to_string())
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "capture-during: {}", stderr(&out));
    stderr(&out)
}

/// The connection records of `analyze --format jsonl` output.
fn connections(jsonl: &str) -> Vec<serde_json::Value> {
    jsonl
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["type"] == "connection")
        .collect()
}
