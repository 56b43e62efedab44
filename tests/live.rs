//! `finscope live` and `finscope interfaces` on loopback. Capturing needs
//! root (or CAP_NET_RAW); CI runs as root, elsewhere these tests say so and
//! skip, unless FINSCOPE_REQUIRE_TOOLS is set.

mod common;

#[cfg(feature = "live")]
use std::io::{BufRead, BufReader};
#[cfg(feature = "live")]
use std::path::Path;
#[cfg(feature = "live")]
use std::process::{Child, Command, Stdio};
#[cfg(feature = "live")]
use std::sync::mpsc;
#[cfg(feature = "live")]
use std::time::{Duration, Instant};

use common::run;
#[cfg(feature = "live")]
use common::{bin, is_root};

#[cfg(not(feature = "live"))]
#[test]
fn without_the_feature_live_says_how_to_get_it() {
    for args in [vec!["live", "-i", "lo"], vec!["interfaces"]] {
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--features live"), "{err}");
    }
}

/// Whether this run may capture (root or CAP_NET_RAW).
#[cfg(feature = "live")]
fn can_capture(test: &str) -> bool {
    common::can_capture(test, &[])
}

#[cfg(feature = "live")]
#[test]
fn interfaces_lists_loopback() {
    let out = run(&["interfaces", "--format", "json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let lo = list
        .iter()
        .find(|i| i["name"] == "lo")
        .expect("lo is listed");
    assert_eq!(lo["loopback"], true);
    assert_eq!(lo["up"], true);
    assert!(lo["addresses"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a == "127.0.0.1"));
    let text = String::from_utf8(run(&["interfaces"]).stdout).unwrap();
    assert!(text
        .lines()
        .any(|l| l.starts_with("lo ") && l.contains("loopback")));
}

/// A running `finscope live`, its standard output read line by line on a
/// thread so the test can wait with a deadline.
#[cfg(feature = "live")]
struct Live {
    child: Child,
    lines: mpsc::Receiver<String>,
}

#[cfg(feature = "live")]
impl Live {
    /// Starts `live` and waits until it is capturing.
    fn start(args: &[&str]) -> Live {
        let mut child = bin()
            .arg("live")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (ready_tx, ready_rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = ready_tx.send(line);
            }
        });
        let first = ready_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("live prints that it is capturing");
        assert!(first.contains("capturing on lo"), "{first}");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        Live { child, lines }
    }

    /// Records until `done` says enough, within `within`.
    fn read_until(
        &self,
        within: Duration,
        mut done: impl FnMut(&[serde_json::Value]) -> bool,
    ) -> Vec<serde_json::Value> {
        let deadline = Instant::now() + within;
        let mut got = Vec::new();
        while !done(&got) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => got.push(serde_json::from_str(&l).expect("each line is JSON")),
                Err(_) => panic!("timed out; records so far: {got:#?}"),
            }
        }
        got
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok);
    }

    /// Waits for the exit (killing it after `within`).
    fn wait(mut self, within: Duration) -> (Option<i32>, Vec<serde_json::Value>) {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                let rest: Vec<serde_json::Value> = self
                    .lines
                    .iter()
                    .map(|l| serde_json::from_str(&l).unwrap())
                    .collect();
                return (status.code(), rest);
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("finscope live did not stop");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

#[cfg(feature = "live")]
fn traffic(port: u16) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scripts/loopback_traffic.py");
    let ok = Command::new("python3")
        .arg(script)
        .arg(port.to_string())
        .status()
        .unwrap()
        .success();
    assert!(ok, "the loopback traffic ran");
}

/// A port of this test's own (three a run), spread by process id, in
/// 10000-19999: below Linux's ephemeral range (32768-60999), where a
/// client's port could match another test's `tcp port` filter, and apart
/// from tests/check.rs's capture tests (20000-31999), which run at the
/// same time in another process.
#[cfg(feature = "live")]
fn port(offset: u16) -> u16 {
    assert!(offset < 3);
    10000 + (std::process::id() % 3333) as u16 * 3 + offset
}

#[cfg(feature = "live")]
#[test]
fn streams_records_as_connections_end_and_reports_on_sigint() {
    if !can_capture("streams_records_as_connections_end_and_reports_on_sigint") {
        return;
    }
    let port = port(0);
    let dir = std::env::temp_dir().join(format!("finscope-live-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let saved = dir.join("live.pcap");
    let filter = format!("tcp port {port}");
    let live = Live::start(&[
        "-i",
        "lo",
        "-f",
        &filter,
        "--time-wait",
        "1s",
        "--format",
        "jsonl",
        "-w",
        &saved.to_string_lossy(),
    ]);
    traffic(port);
    // The three connections arrive while the capture is still running:
    // each once its TIME-WAIT window (1 s) or reset linger has passed,
    // judged by the clock ticking on a quiet link.
    let streamed = live.read_until(Duration::from_secs(20), |got| {
        got.iter().filter(|r| r["type"] == "connection").count() == 3
            && got.iter().any(|r| r["kind"] == "half-close")
    });
    let conns: Vec<&serde_json::Value> = streamed
        .iter()
        .filter(|r| r["type"] == "connection")
        .collect();
    let mut teardowns: Vec<(&str, &str)> = conns
        .iter()
        .map(|c| {
            (
                c["teardown"].as_str().unwrap(),
                c["closer"].as_str().unwrap(),
            )
        })
        .collect();
    teardowns.sort();
    assert_eq!(
        teardowns,
        [
            ("graceful", "client"),
            ("graceful", "client"),
            ("reset", "client")
        ]
    );
    assert!(conns
        .iter()
        .all(|c| c["server"] == format!("127.0.0.1:{port}")));
    let kinds: Vec<&str> = streamed
        .iter()
        .filter(|r| r["type"] == "finding")
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"rst-abort"), "{kinds:?}");
    assert!(kinds.contains(&"half-close"), "{kinds:?}");

    // Ctrl-C: the summary, exit 0, and a -w file that reads back the same.
    live.signal("-INT");
    let (code, rest) = live.wait(Duration::from_secs(10));
    assert_eq!(code, Some(0));
    let summary = rest.last().expect("a summary after SIGINT");
    assert_eq!(summary["type"], "summary");
    assert_eq!(summary["connections"], 3);
    assert_eq!(summary["teardown"]["reset"], 1);
    assert_eq!(summary["live"]["interface"], "lo");
    assert_eq!(summary["live"]["filter"], filter.as_str());
    assert_eq!(summary["live"]["dropped"], 0);
    let packets = summary["packets"].as_u64().unwrap();
    assert!(packets >= 25, "{packets}");

    let report = common::analyze(&saved.to_string_lossy(), &[]);
    assert_eq!(report.connections.len(), 3);
    assert_eq!(report.summary.packets, packets);
    let mut again: Vec<(String, Option<String>)> = report
        .connections
        .iter()
        .map(|c| (c.teardown.clone(), c.closer.clone()))
        .collect();
    again.sort();
    assert_eq!(again[2], ("reset".to_string(), Some("client".to_string())));
}

#[cfg(feature = "live")]
#[test]
fn sigterm_ends_with_the_final_document() {
    if !can_capture("sigterm_ends_with_the_final_document") {
        return;
    }
    let port = port(1);
    let filter = format!("tcp port {port}");
    let live = Live::start(&["-i", "lo", "-f", &filter, "--format", "json"]);
    traffic(port);
    std::thread::sleep(Duration::from_millis(300));
    live.signal("-TERM");
    let (code, rest) = live.wait(Duration::from_secs(10));
    assert_eq!(code, Some(0));
    // One document, at the end: connections still in TIME-WAIT are judged
    // at the moment the capture stopped.
    assert_eq!(rest.len(), 1, "{rest:#?}");
    let doc = &rest[0];
    assert_eq!(doc["schema"], "finscope/1");
    let conns = doc["connections"].as_array().unwrap();
    assert_eq!(conns.len(), 3);
    let graceful = &conns[0];
    assert_eq!(graceful["teardown"], "graceful");
    assert_eq!(graceful["state"]["client"], "TIME-WAIT");
    assert_eq!(graceful["ended_by"], "capture-end");
    assert_eq!(doc["summary"]["live"]["interface"], "lo");
}

#[cfg(feature = "live")]
#[test]
fn duration_and_count_end_the_capture_by_themselves() {
    if !can_capture("duration_and_count_end_the_capture_by_themselves") {
        return;
    }
    let started = Instant::now();
    let live = Live::start(&[
        "-i",
        "lo",
        "-f",
        "tcp port 9",
        "--duration",
        "1s",
        "--format",
        "jsonl",
    ]);
    let (code, rest) = live.wait(Duration::from_secs(10));
    assert_eq!(code, Some(0));
    assert!(started.elapsed() < Duration::from_secs(8));
    assert_eq!(rest.last().unwrap()["type"], "summary");
    assert_eq!(rest.last().unwrap()["packets"], 0);

    let port = port(2);
    let filter = format!("tcp port {port}");
    let live = Live::start(&["-i", "lo", "-f", &filter, "-c", "5", "--format", "jsonl"]);
    traffic(port);
    let (code, rest) = live.wait(Duration::from_secs(10));
    assert_eq!(code, Some(0));
    assert_eq!(rest.last().unwrap()["packets"], 5);
}

/// Without CAP_NET_RAW: exit 2, the missing capability named, and the
/// setcap line that fixes it. As root, the test drops to `nobody`.
#[cfg(feature = "live")]
#[test]
fn without_permission_says_which_capability_and_how_to_grant_it() {
    let exe = env!("CARGO_BIN_EXE_finscope");
    let out = if is_root() {
        Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", exe])
            .args(["live", "-i", "lo", "--duration", "1s"])
            .stdin(Stdio::null())
            .output()
            .expect("setpriv (util-linux) runs")
    } else {
        run(&["live", "-i", "lo", "--duration", "1s"])
    };
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("CAP_NET_RAW"), "{err}");
    assert!(
        err.contains(&format!("setcap cap_net_raw,cap_net_admin=eip {exe}")),
        "{err}"
    );
}

#[cfg(feature = "live")]
#[test]
fn an_unknown_interface_is_a_clear_error() {
    if !can_capture("an_unknown_interface_is_a_clear_error") {
        return;
    }
    let out = run(&["live", "-i", "no-such-if0", "--duration", "1s"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no-such-if0"), "{err}");
}
