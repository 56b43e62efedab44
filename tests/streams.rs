//! `--write-streams`: the exported byte streams of real transfers equal
//! what the senders wrote, byte for byte; holes stay holes, listed with
//! their offsets.
//!
//! The captures (testdata/payload-*.pcap, from make-testdata.sh) carry a
//! known payload each way through 3 % random loss, with segmentation
//! offloads on (65 kB super-segments) and off.

mod common;

use std::path::{Path, PathBuf};

use common::{run, testdata};

const PAYLOAD_LEN: usize = 300_000;

/// testdata/scripts/tcpapp.py's `payload()`: xorshift32, low byte.
fn payload(seed: u32, n: usize) -> Vec<u8> {
    let mut x = seed;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// FNV-1a, to compare long streams in messages.
fn hash(b: &[u8]) -> u64 {
    b.iter().fold(0xcbf29ce484222325u64, |h, &x| {
        (h ^ u64::from(x)).wrapping_mul(0x100000001b3)
    })
}

fn tempdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("finscope-streams-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Runs analyze --write-streams; returns the summary's `streams` object.
fn export(pcap: &Path, dir: &Path, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["analyze", "-q", "--format", "jsonl", "--write-streams"];
    let d = dir.to_string_lossy().into_owned();
    args.push(&d);
    args.extend_from_slice(extra);
    let p = pcap.to_string_lossy().into_owned();
    args.push(&p);
    let out = run(&args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    summary["streams"].clone()
}

fn index(dir: &Path, id: u64) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join(format!("{id}.gaps.json"))).unwrap()).unwrap()
}

#[test]
fn real_lossy_transfers_export_byte_identical_streams() {
    let client = payload(1, PAYLOAD_LEN);
    let server = payload(2, PAYLOAD_LEN);
    for name in ["payload-offload.pcap", "payload-nooffload.pcap"] {
        let dir = tempdir(name);
        let s = export(&testdata(name), &dir, &[]);
        assert_eq!(s["connections"], 1, "{name}");
        assert_eq!(s["bytes"], 2 * PAYLOAD_LEN as u64, "{name}");
        assert_eq!(
            (s["gaps"].as_u64(), s["conflicts"].as_u64()),
            (Some(0), Some(0))
        );
        let c = std::fs::read(dir.join("1.client")).unwrap();
        let v = std::fs::read(dir.join("1.server")).unwrap();
        assert_eq!(hash(&c), hash(&client), "{name}: client stream");
        assert_eq!(hash(&v), hash(&server), "{name}: server stream");
        assert!(c == client && v == server);
        let ix = index(&dir, 1);
        assert_eq!(ix["client_stream"]["length"], PAYLOAD_LEN as u64);
        assert!(ix["server_stream"]["gaps"].as_array().unwrap().is_empty());
    }
    // The no-offload capture has the retransmissions the loss caused; the
    // offload one has the super-segments.
    let r = common::analyze(&testdata("payload-nooffload.pcap").to_string_lossy(), &[]);
    assert!(r.connections[0].retransmitted_bytes.server > 0);
}

/// The records of a legacy pcap: (header, data) slices.
fn records(file: &[u8]) -> Vec<(&[u8], &[u8])> {
    let mut out = Vec::new();
    let mut at = 24;
    while at + 16 <= file.len() {
        let caplen = u32::from_le_bytes(file[at + 8..at + 12].try_into().unwrap()) as usize;
        out.push((&file[at..at + 16], &file[at + 16..at + 16 + caplen]));
        at += 16 + caplen;
    }
    out
}

fn write_pcap(path: &Path, header: &[u8], recs: &[(&[u8], &[u8])]) {
    let mut b = header.to_vec();
    for (h, d) in recs {
        b.extend_from_slice(h);
        b.extend_from_slice(d);
    }
    std::fs::write(path, b).unwrap();
}

/// Frames carrying more than headers (Ethernet + IPv4 + TCP with options).
fn has_payload(frame: &[u8]) -> bool {
    frame.len() > 14 + 20 + 32
}

#[test]
fn frames_taken_out_of_the_capture_become_gaps_at_their_offsets() {
    let file = std::fs::read(testdata("payload-offload.pcap")).unwrap();
    assert_eq!(
        &file[..4],
        &[0xd4, 0xc3, 0xb2, 0xa1],
        "little-endian µs pcap"
    );
    let recs = records(&file);
    // Drop every third data frame: no retransmission fills those holes.
    let mut n = 0;
    let kept: Vec<_> = recs
        .iter()
        .copied()
        .filter(|(_, d)| {
            if has_payload(d) {
                n += 1;
                n % 3 != 0
            } else {
                true
            }
        })
        .collect();
    let dir = tempdir("holes");
    let cut = dir.join("holes.pcap");
    write_pcap(&cut, &file[..24], &kept);
    let out = dir.join("out");
    let s = export(&cut, &out, &[]);
    assert!(s["gaps"].as_u64().unwrap() > 0);
    for (side, seed) in [("client", 1), ("server", 2)] {
        let want = payload(seed, PAYLOAD_LEN);
        let got = std::fs::read(out.join(format!("1.{side}"))).unwrap();
        let ix = index(&out, 1);
        let gaps: Vec<(usize, usize)> = ix[format!("{side}_stream")]["gaps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| {
                (
                    g["offset"].as_u64().unwrap() as usize,
                    g["length"].as_u64().unwrap() as usize,
                )
            })
            .collect();
        // The file keeps every offset: bytes outside the gaps are the
        // payload's, gaps are zeros.
        assert_eq!(got.len(), PAYLOAD_LEN, "{side}");
        let mut in_gap = vec![false; PAYLOAD_LEN];
        for (o, l) in &gaps {
            for b in in_gap.iter_mut().skip(*o).take(*l) {
                *b = true;
            }
        }
        for i in 0..PAYLOAD_LEN {
            if in_gap[i] {
                assert_eq!(got[i], 0, "{side}: byte {i} in a gap");
            } else {
                assert_eq!(got[i], want[i], "{side}: byte {i}");
            }
        }
        let gap_bytes: usize = gaps.iter().map(|g| g.1).sum();
        assert!(
            gap_bytes > 0 && gap_bytes < PAYLOAD_LEN / 2,
            "{side}: {gap_bytes}"
        );
    }
}

#[test]
fn reordered_frames_are_buffered_and_come_out_in_order() {
    let file = std::fs::read(testdata("payload-nooffload.pcap")).unwrap();
    let mut recs = records(&file);
    // Swap neighbouring data frames all through the transfer.
    let mut i = 3;
    while i + 1 < recs.len() {
        if has_payload(recs[i].1) && has_payload(recs[i + 1].1) {
            recs.swap(i, i + 1);
            i += 2;
        } else {
            i += 1;
        }
    }
    let dir = tempdir("reordered");
    let p = dir.join("reordered.pcap");
    write_pcap(&p, &file[..24], &recs);
    let out = dir.join("out");
    let s = export(&p, &out, &[]);
    assert_eq!(s["gaps"], 0);
    assert_eq!(
        std::fs::read(out.join("1.client")).unwrap(),
        payload(1, PAYLOAD_LEN)
    );
    assert_eq!(
        std::fs::read(out.join("1.server")).unwrap(),
        payload(2, PAYLOAD_LEN)
    );

    // With a buffer too small to wait for the hole, the overflow is counted
    // and the skipped bytes are a gap, never glued.
    let small = dir.join("small");
    let s = export(&p, &small, &["--stream-buffer", "1K"]);
    assert!(s["overflows"].as_u64().unwrap() > 0, "{s}");
    let ix = index(&small, 1);
    let got = std::fs::read(small.join("1.client")).unwrap();
    assert_eq!(
        got.len() as u64,
        ix["client_stream"]["length"].as_u64().unwrap()
    );
}
