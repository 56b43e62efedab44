//! Hostile traffic: floods and storms of distinct tuples, sequence numbers
//! that jump around, a connection with megabytes of out-of-order data.
//! Memory stays under the caps, every eviction and overflow is counted,
//! and the report still names what happened.

mod common;

use std::path::PathBuf;

use common::{parse_jsonl, run};

/// A minimal legacy-pcap writer for crafted IPv4 segments.
struct Pcap {
    bytes: Vec<u8>,
    t_us: u64,
}

impl Pcap {
    fn new() -> Pcap {
        Pcap {
            bytes: vec![
                0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0,
                0, 0,
            ],
            t_us: 1_700_000_000_000_000,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn seg(
        &mut self,
        src: [u8; 4],
        sport: u16,
        dst: [u8; 4],
        dport: u16,
        flags: u8,
        seq: u32,
        payload: &[u8],
        gap_us: u64,
    ) {
        let total = (40 + payload.len()) as u16;
        let mut f = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00, 0x45, 0];
        f.extend_from_slice(&total.to_be_bytes());
        f.extend_from_slice(&[0, 0, 0x40, 0, 64, 6, 0, 0]);
        f.extend_from_slice(&src);
        f.extend_from_slice(&dst);
        f.extend_from_slice(&sport.to_be_bytes());
        f.extend_from_slice(&dport.to_be_bytes());
        f.extend_from_slice(&seq.to_be_bytes());
        f.extend_from_slice(&0u32.to_be_bytes());
        f.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
        f.extend_from_slice(payload);
        self.t_us += gap_us;
        let b = &mut self.bytes;
        b.extend_from_slice(&((self.t_us / 1_000_000) as u32).to_le_bytes());
        b.extend_from_slice(&((self.t_us % 1_000_000) as u32).to_le_bytes());
        b.extend_from_slice(&(f.len() as u32).to_le_bytes());
        b.extend_from_slice(&(f.len() as u32).to_le_bytes());
        b.extend_from_slice(&f);
    }

    fn write(&self, name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("finscope-adversarial-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        std::fs::write(&p, &self.bytes).unwrap();
        p
    }
}

/// A small deterministic generator (xorshift64).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

const SERVER: [u8; 4] = [10, 9, 0, 2];

#[test]
fn a_syn_flood_of_distinct_tuples_stays_under_the_cap_and_is_named() {
    let mut p = Pcap::new();
    let mut r = Rng(7);
    let n = 100_000u64;
    for _ in 0..n {
        let x = r.next();
        let src = [11, (x >> 8) as u8, (x >> 16) as u8, (x >> 24) as u8];
        p.seg(
            src,
            (x >> 32) as u16 | 1024,
            SERVER,
            80,
            0x02,
            x as u32,
            b"",
            10,
        );
    }
    let f = p.write("syn-flood.pcap");
    let out = run(&[
        "analyze",
        "--format",
        "jsonl",
        "--max-connections",
        "20000",
        f.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let last = String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap_or("")
        .to_string();
    let s: serde_json::Value = serde_json::from_str(&last).unwrap();
    assert!(s["peak_connections"].as_u64().unwrap() <= 20_000);
    assert_eq!(s["packets"], n);
    // Every flooded tuple was tracked once, and the cap's evictions counted.
    let conns = s["connections"].as_u64().unwrap();
    assert!(conns > n - 100, "{conns}"); // a few random tuples repeat
    assert_eq!(
        s["evictions"]["max_connections"].as_u64().unwrap(),
        conns - 20_000
    );
    assert_eq!(s["findings"]["syn-flood"], 1);
    assert_eq!(
        s["findings_by_severity"]["syn-flood"]["error"], 1,
        "20000 at once is 20x the threshold"
    );

    // The finding names the server, in the table's findings and in JSON.
    let report = parse_jsonl(&out);
    let flood = report
        .findings
        .iter()
        .find(|f| f.kind == "syn-flood")
        .expect("syn-flood");
    assert_eq!(flood.connection, None);
    assert!(
        flood
            .message
            .starts_with("10.9.0.2:80 had 20000 half-open connections at once"),
        "{}",
        flood.message
    );
    let text = String::from_utf8(
        run(&[
            "analyze",
            "--format",
            "table",
            "--color",
            "never",
            "--max-connections",
            "20000",
            f.to_str().unwrap(),
        ])
        .stdout,
    )
    .unwrap();
    let first_finding = text
        .lines()
        .find(|l| l.contains("syn-flood") || l.contains("no-answer"))
        .unwrap_or("");
    assert!(
        first_finding.contains("syn-flood"),
        "the flood ranks first:\n{text}"
    );
}

#[test]
fn completed_handshakes_are_not_a_flood() {
    // 3000 connections that each complete the handshake, 1 ms apart.
    let report = common::analyze_bytes(
        "handshakes.pcap",
        &common::resets_pcap(3000),
        &["--syn-flood", "100"],
    );
    assert!(report.findings.iter().all(|f| f.kind != "syn-flood"));
}

#[test]
fn rst_and_fin_storms_on_random_tuples_are_counted_not_crashed() {
    let mut p = Pcap::new();
    let mut r = Rng(11);
    for i in 0..100_000u64 {
        let x = r.next();
        let flags = if i % 2 == 0 { 0x04 } else { 0x11 };
        let src = [12, (x >> 8) as u8, (x >> 16) as u8, 1];
        p.seg(
            src,
            (x >> 24) as u16,
            SERVER,
            (x >> 40) as u16,
            flags,
            x as u32,
            b"",
            5,
        );
    }
    let f = p.write("storm.pcap");
    let out = run(&[
        "analyze",
        "--format",
        "jsonl",
        "-q",
        "--max-connections",
        "5000",
        f.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(s["peak_connections"].as_u64().unwrap() <= 5000);
    assert_eq!(s["tcp_packets"], 100_000);
    assert!(s["evictions"]["max_connections"].as_u64().unwrap() > 0);
}

#[test]
fn out_of_order_data_beyond_the_buffer_becomes_counted_gaps() {
    // One connection: the first segment never arrives, then 8 MB follow,
    // and sequence numbers jump around in between.
    let mut p = Pcap::new();
    let client = [10, 9, 0, 1];
    p.seg(client, 40000, SERVER, 80, 0x02, 999, b"", 10);
    let chunk = vec![b'd'; 1400];
    let mut r = Rng(3);
    for i in 0..6000u32 {
        p.seg(
            client,
            40000,
            SERVER,
            80,
            0x18,
            1000 + 1400 + i * 1400,
            &chunk,
            10,
        );
        if i % 100 == 0 {
            // A segment far away in sequence space.
            p.seg(
                client,
                40000,
                SERVER,
                80,
                0x18,
                r.next() as u32,
                &chunk[..100],
                10,
            );
        }
    }
    let f = p.write("ooo.pcap");
    let dir = std::env::temp_dir().join(format!("finscope-adversarial-ooo-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = run(&[
        "analyze",
        "--format",
        "jsonl",
        "-q",
        "--write-streams",
        dir.to_str().unwrap(),
        "--stream-buffer",
        "1M",
        f.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let st = &s["streams"];
    assert!(st["overflows"].as_u64().unwrap() > 0, "{st}");
    assert!(st["gaps"].as_u64().unwrap() > 0, "{st}");
    // Segments beyond any window are not placed; those within one may
    // leave a long gap, which stays a hole in a sparse file.
    assert!(st["out_of_window"].as_u64().unwrap() > 0, "{st}");
    let meta = std::fs::metadata(dir.join("1.client")).unwrap();
    assert!(
        meta.len() <= (65535u64 << 14) + (16 << 20),
        "{}",
        meta.len()
    );
    use std::os::unix::fs::MetadataExt;
    assert!(
        meta.blocks() * 512 < 64 << 20,
        "allocated {}",
        meta.blocks() * 512
    );
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("1.gaps.json")).unwrap()).unwrap();
    let gaps = index["client_stream"]["gaps"].as_array().unwrap();
    // The missing first segment is the first gap, at offset 0.
    assert_eq!(gaps[0]["offset"], 0);
    assert_eq!(gaps[0]["length"], 1400);
}
