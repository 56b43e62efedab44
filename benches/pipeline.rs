//! Micro-benchmarks of the per-packet stages: decode, flow lookup, tracker
//! step, and the whole pipeline on an in-memory capture. Run with
//! `cargo bench`; the whole-process comparison is `scripts/bench.sh`.

use std::hint::black_box;
use std::io::Cursor;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use finscope::capture::FileSource;
use finscope::conn::{Connection, Event};
use finscope::decode;
use finscope::flow::{FlowKey, FlowTable, Keyed, List};
use finscope::pipeline::{run_sources, AnalysisConfig};
use finscope::report::{ConnRecord, CsvSink, JsonSink, JsonlSink, Sink, Summary};

/// Every frame of every testdata capture, with its link type.
fn frames() -> Vec<(u32, i64, Vec<u8>)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
    let mut out = Vec::new();
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    paths.sort();
    for p in paths
        .iter()
        .filter(|p| p.extension().is_some_and(|x| x == "pcap" || x == "pcapng"))
    {
        let mut s = FileSource::open(p.to_str().unwrap()).unwrap();
        while s.advance().is_ok() {
            let Some(pkt) = s.current() else { break };
            out.push((pkt.linktype, pkt.ts.0, pkt.data.to_vec()));
        }
    }
    out
}

/// A pcap file of `copies` shifted copies of the testdata traffic: many
/// connections with every kind of ending.
fn capture(frames: &[(u32, i64, Vec<u8>)], copies: u32) -> Vec<u8> {
    let mut out = vec![
        0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 1, 0, 0, 0,
    ];
    let mut t: u64 = 1_795_000_000_000_000;
    for copy in 0..copies {
        for (lt, _, data) in frames {
            let Ok(seg) = decode::decode(*lt, data) else {
                continue;
            };
            // Re-frame as Ethernet with the client port shifted per copy.
            let Ok(ip) = decode_ip(*lt, data) else {
                continue;
            };
            let mut frame = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2];
            frame.extend_from_slice(if seg.src.is_ipv4() {
                &[0x08, 0x00]
            } else {
                &[0x86, 0xdd]
            });
            let tcp_at = frame.len() + ip_header_len(ip);
            frame.extend_from_slice(ip);
            let shift = |p: u16| {
                if p == 8080 {
                    p
                } else {
                    p.wrapping_add(copy as u16 * 7)
                }
            };
            let (sp, dp) = (shift(seg.sport), shift(seg.dport));
            if let Some(b) = frame.get_mut(tcp_at..tcp_at + 4) {
                b[..2].copy_from_slice(&sp.to_be_bytes());
                b[2..].copy_from_slice(&dp.to_be_bytes());
            }
            t += 20;
            out.extend_from_slice(&((t / 1_000_000) as u32).to_le_bytes());
            out.extend_from_slice(&((t % 1_000_000) as u32).to_le_bytes());
            out.extend_from_slice(&(frame.len() as u32).to_le_bytes());
            out.extend_from_slice(&(frame.len() as u32).to_le_bytes());
            out.extend_from_slice(&frame);
        }
    }
    out
}

fn decode_ip(lt: u32, data: &[u8]) -> Result<&[u8], ()> {
    // The IP packet starts where decoding the link layer leaves it.
    for start in 0..data.len().min(24) {
        let ip = &data[start..];
        if let Ok(seg) = decode::ip_to_tcp(ip) {
            if decode::decode(lt, data)
                .map(|s| s.fields.seq == seg.fields.seq && s.sport == seg.sport)
                .unwrap_or(false)
            {
                return Ok(ip);
            }
        }
    }
    Err(())
}

fn ip_header_len(ip: &[u8]) -> usize {
    if ip[0] >> 4 == 4 {
        usize::from(ip[0] & 0xf) * 4
    } else {
        40
    }
}

struct Null;

impl Sink for Null {
    fn connection(
        &mut self,
        r: &ConnRecord<'_>,
        _: &[finscope::findings::Finding],
    ) -> std::io::Result<()> {
        black_box(r.id);
        Ok(())
    }
    fn host_findings(
        &mut self,
        _: &[finscope::findings::Finding],
        _: finscope::capture::Precision,
    ) -> std::io::Result<()> {
        Ok(())
    }
    fn finish(&mut self, _: &Summary) -> std::io::Result<()> {
        Ok(())
    }
}

/// The lookup benchmark's value: only the key a table value must know.
struct Entry(FlowKey);

impl Keyed for Entry {
    fn has_key(&self, key: &FlowKey) -> bool {
        self.0 == *key
    }
}

fn benches(c: &mut Criterion) {
    let frames = frames();
    let mut g = c.benchmark_group("per-packet");
    g.throughput(Throughput::Elements(frames.len() as u64));
    g.bench_function("decode", |b| {
        b.iter(|| {
            for (lt, _, data) in &frames {
                let _ = black_box(decode::decode(*lt, data));
            }
        })
    });
    let segs: Vec<_> = frames
        .iter()
        .filter_map(|(lt, ts, d)| decode::decode(*lt, d).ok().map(|s| (*ts, s)))
        .collect();
    g.throughput(Throughput::Elements(segs.len() as u64));
    g.bench_function("flow lookup", |b| {
        let mut table: FlowTable<Entry> = FlowTable::new();
        b.iter(|| {
            for (_, s) in &segs {
                // As the pipeline does: key and hash together, one probe.
                let (key, _, h) = FlowKey::of_segment_hashed(s);
                let id = match table.find_hashed(&key, h) {
                    Some(id) => id,
                    None => table.insert_with(key, h, List::Open, 0, || Entry(key)),
                };
                table.touch(id, List::Open, 0);
            }
        })
    });
    g.bench_function("tracker step", |b| {
        b.iter(|| {
            let mut conns: Vec<(FlowKey, Connection)> = Vec::new();
            for (i, (ts, s)) in segs.iter().enumerate() {
                let (key, side) = FlowKey::of_segment(s);
                let at = Event::new(finscope::capture::Timestamp(*ts), i as u64 + 1);
                match conns.iter_mut().find(|(k, _)| *k == key) {
                    Some((_, c)) => {
                        c.on_segment(side, &s.fields, at, true);
                    }
                    None => conns.push((key, Connection::new(key, side, &s.fields, at))),
                }
            }
            black_box(conns.len())
        })
    });
    g.finish();

    let bytes = capture(&frames, 200);
    let mut g = c.benchmark_group("pipeline");
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    g.sample_size(20);
    g.bench_function("in-memory capture", |b| {
        b.iter(|| {
            let src =
                FileSource::from_reader("bench", Box::new(Cursor::new(bytes.clone()))).unwrap();
            let r =
                run_sources(vec![src], AnalysisConfig::default(), &mut Null, &mut |_| {}).unwrap();
            black_box(r.counters.packets)
        })
    });
    g.finish();

    // The same run written out by each streaming format (into memory): what
    // rendering the records costs on top of the analysis.
    let mut g = c.benchmark_group("output");
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    g.sample_size(20);
    type MakeSink = fn() -> Box<dyn Sink>;
    let formats: [(&str, MakeSink); 3] = [
        ("jsonl", || Box::new(JsonlSink::new(Vec::new(), false))),
        ("json", || Box::new(JsonSink::new(Vec::new(), false))),
        ("csv", || Box::new(CsvSink::new(Vec::new()))),
    ];
    for (name, make) in formats {
        g.bench_function(name, |b| {
            b.iter(|| {
                let src =
                    FileSource::from_reader("bench", Box::new(Cursor::new(bytes.clone()))).unwrap();
                let mut sink = make();
                let r = run_sources(
                    vec![src],
                    AnalysisConfig::default(),
                    &mut *sink,
                    &mut |_| {},
                )
                .unwrap();
                black_box(r.counters.packets)
            })
        });
    }
    g.finish();
}

criterion_group!(all, benches);
criterion_main!(all);
