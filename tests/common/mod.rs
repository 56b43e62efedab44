//! Runs the finscope binary and parses its finscope/1 output into types.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde::Deserialize;

pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_finscope"))
}

pub fn testdata(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(name)
}

/// Whether the tests run as root (`id -u` rather than libc: the test
/// crates have no libc dependency).
pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Whether `test` may capture on lo: root (CAP_NET_RAW) and each of
/// `tools` installed. Says why it skips when it may not; fails instead
/// where CI requires the tools (FINSCOPE_REQUIRE_TOOLS).
pub fn can_capture(test: &str, tools: &[&str]) -> bool {
    let missing: Vec<&str> = tools
        .iter()
        .copied()
        .filter(|t| Command::new(t).arg("--version").output().is_err())
        .collect();
    let root = is_root();
    if root && missing.is_empty() {
        return true;
    }
    let why = match (root, missing.is_empty()) {
        (false, true) => "capturing on lo needs root (CAP_NET_RAW)".to_string(),
        (true, false) => format!("not installed: {}", missing.join(", ")),
        _ => format!(
            "capturing on lo needs root (CAP_NET_RAW), and not installed: {}",
            missing.join(", ")
        ),
    };
    assert!(
        std::env::var_os("FINSCOPE_REQUIRE_TOOLS").is_none(),
        "{test}: {why}"
    );
    eprintln!("skipped {test}: {why}");
    false
}

/// Runs finscope with `args`; standard input is empty.
pub fn run(args: &[&str]) -> Output {
    bin()
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("finscope runs")
}

#[derive(Debug, Deserialize, Clone, PartialEq)]
pub struct Sides<T> {
    pub client: T,
    pub server: T,
}

#[derive(Debug, Deserialize, Clone)]
pub struct Zeek {
    pub conn_state: String,
    pub history: String,
    pub orig: String,
    /// Rows Zeek logs before this one (its timers split the connection).
    #[serde(default)]
    pub earlier: Vec<ZeekRow>,
}

#[derive(Debug, Deserialize, Clone)]
pub struct ZeekRow {
    pub conn_state: String,
    pub history: String,
    pub orig: String,
}

#[derive(Debug, Deserialize, Clone)]
pub struct Conn {
    pub id: u64,
    pub client: String,
    pub server: String,
    pub role_inferred: bool,
    pub first_seen: String,
    pub last_seen: String,
    pub duration_s: f64,
    pub handshake: String,
    pub teardown: String,
    pub closer: Option<String>,
    pub time_wait: Option<String>,
    pub state: Sides<String>,
    pub zeek: Zeek,
    pub packets: Sides<u64>,
    pub bytes: Sides<u64>,
    pub retransmitted_bytes: Sides<u64>,
    pub missed_bytes: u64,
    pub duplicate_packets: Sides<u64>,
    pub ended_by: String,
    pub findings: Vec<String>,
}

#[derive(Debug, Deserialize, Clone)]
pub struct Finding {
    pub kind: String,
    pub severity: String,
    pub connection: Option<u64>,
    pub ts: String,
    pub message: String,
    pub evidence: serde_json::Value,
}

#[derive(Debug, Deserialize, Clone)]
pub struct FileSummary {
    pub path: String,
    pub format: String,
    pub frames: u64,
    pub snaplen_cut: u64,
    pub error: Option<String>,
}

#[derive(Debug, Deserialize, Clone)]
pub struct Summary {
    pub schema: String,
    pub files: Vec<FileSummary>,
    pub capture_start: Option<String>,
    pub capture_end: Option<String>,
    pub packets: u64,
    pub tcp_packets: u64,
    pub duplicate_packets: u64,
    pub not_decoded: std::collections::BTreeMap<String, u64>,
    pub connections: u64,
    pub teardown: std::collections::BTreeMap<String, u64>,
    pub findings: std::collections::BTreeMap<String, u64>,
    pub evictions: serde_json::Value,
    pub thresholds: serde_json::Value,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Record {
    Connection(Box<Conn>),
    Finding(Finding),
    Summary(Summary),
}

/// A parsed `--format jsonl` run.
#[derive(Debug)]
pub struct Report {
    pub status: i32,
    pub connections: Vec<Conn>,
    pub findings: Vec<Finding>,
    pub summary: Summary,
    pub stderr: String,
    /// Records in output order.
    pub order: Vec<&'static str>,
}

impl Report {
    pub fn only(&self) -> &Conn {
        assert_eq!(
            self.connections.len(),
            1,
            "expected one connection: {:#?}",
            self.connections
        );
        &self.connections[0]
    }

    pub fn findings_of(&self, kind: &str) -> Vec<&Finding> {
        self.findings.iter().filter(|f| f.kind == kind).collect()
    }
}

pub fn parse_jsonl(out: &Output) -> Report {
    let text = String::from_utf8(out.stdout.clone()).expect("utf-8 output");
    let mut connections = Vec::new();
    let mut findings = Vec::new();
    let mut summary = None;
    let mut order = Vec::new();
    for line in text.lines() {
        match serde_json::from_str::<Record>(line)
            .unwrap_or_else(|e| panic!("bad record {line}: {e}"))
        {
            Record::Connection(c) => {
                order.push("connection");
                connections.push(*c)
            }
            Record::Finding(f) => {
                order.push("finding");
                findings.push(f)
            }
            Record::Summary(s) => {
                order.push("summary");
                summary = Some(s)
            }
        }
    }
    Report {
        status: out.status.code().unwrap_or(-1),
        connections,
        findings,
        summary: summary.unwrap_or_else(|| {
            panic!(
                "no summary; stderr: {}",
                String::from_utf8_lossy(&out.stderr)
            )
        }),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        order,
    }
}

/// `finscope analyze --format jsonl FILE EXTRA...`
pub fn analyze(file: &str, extra: &[&str]) -> Report {
    let path = testdata(file);
    let mut args = vec!["analyze", "--format", "jsonl", path.to_str().unwrap()];
    args.extend_from_slice(extra);
    let out = run(&args);
    parse_jsonl(&out)
}

/// One crafted TCP segment for [`crafted_pcap`].
#[derive(Debug, Clone, Copy)]
pub struct Seg {
    pub from_client: bool,
    pub flags: u8,
    pub seq: u32,
    pub ack: u32,
    pub len: u16,
    pub ttl: u8,
    /// Milliseconds after the segment before it.
    pub gap_ms: u64,
    /// The client's port (the server is always port 80).
    pub port: u16,
}

pub const SYN: u8 = 0x02;
pub const SYN_ACK: u8 = 0x12;
pub const ACK: u8 = 0x10;
pub const PSH_ACK: u8 = 0x18;
pub const FIN_ACK: u8 = 0x11;
pub const RST: u8 = 0x04;
pub const RST_ACK: u8 = 0x14;

/// Shorthand: a segment with TTL 64.
pub fn seg(from_client: bool, flags: u8, seq: u32, ack: u32, len: u16) -> Seg {
    Seg {
        from_client,
        flags,
        seq,
        ack,
        len,
        ttl: 64,
        gap_ms: 1,
        port: 40000,
    }
}

/// A pcap of crafted segments between 10.9.0.1 and 10.9.0.2:80, for what
/// no kernel will produce.
pub fn crafted_pcap(segs: &[Seg]) -> Vec<u8> {
    let mut out = vec![
        0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 1, 0, 0, 0,
    ];
    let mut t = 1_700_000_000_000_000u64;
    for (i, s) in segs.iter().enumerate() {
        let (src, dst, sp, dp) = if s.from_client {
            ([10, 9, 0, 1], [10, 9, 0, 2], s.port, 80u16)
        } else {
            ([10, 9, 0, 2], [10, 9, 0, 1], 80, s.port)
        };
        let total = 40 + s.len;
        let mut f = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00, 0x45, 0];
        f.extend_from_slice(&total.to_be_bytes());
        f.extend_from_slice(&(i as u16).to_be_bytes());
        f.extend_from_slice(&[0x40, 0, s.ttl, 6, 0, 0]);
        f.extend_from_slice(&src);
        f.extend_from_slice(&dst);
        f.extend_from_slice(&sp.to_be_bytes());
        f.extend_from_slice(&dp.to_be_bytes());
        f.extend_from_slice(&s.seq.to_be_bytes());
        f.extend_from_slice(&s.ack.to_be_bytes());
        f.extend_from_slice(&[0x50, s.flags, 0xff, 0xff, 0, 0, 0, 0]);
        f.resize(f.len() + usize::from(s.len), b'x');
        t += 1000 * s.gap_ms;
        out.extend_from_slice(&((t / 1_000_000) as u32).to_le_bytes());
        out.extend_from_slice(&((t % 1_000_000) as u32).to_le_bytes());
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(&f);
    }
    out
}

/// Runs `analyze --format jsonl` on crafted bytes.
pub fn analyze_bytes(name: &str, bytes: &[u8], extra: &[&str]) -> Report {
    let dir = std::env::temp_dir().join(format!("finscope-crafted-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join(name);
    std::fs::write(&f, bytes).unwrap();
    let mut args = vec!["analyze", "--format", "jsonl", f.to_str().unwrap()];
    args.extend_from_slice(extra);
    parse_jsonl(&run(&args))
}

/// A pcap of `n` connections that each open and are reset by the client.
pub fn resets_pcap(n: u16) -> Vec<u8> {
    let segs: Vec<Seg> = (0..n)
        .flat_map(|i| {
            let (c, s, port) = (1000 + u32::from(i), 9000, 20_000 + i);
            [
                Seg {
                    port,
                    ..seg(true, SYN, c, 0, 0)
                },
                Seg {
                    port,
                    ..seg(false, SYN_ACK, s, c + 1, 0)
                },
                Seg {
                    port,
                    ..seg(true, ACK, c + 1, s + 1, 0)
                },
                Seg {
                    port,
                    ..seg(true, RST_ACK, c + 1, s + 1, 0)
                },
            ]
        })
        .collect();
    crafted_pcap(&segs)
}
