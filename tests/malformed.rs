//! Broken files: truncated at every byte, wrong magic, absurd lengths,
//! unknown link types, time going backwards. Each gives a precise error
//! (file, offset, what) or a counted problem, keeps every connection it
//! could read, and never panics.

mod common;

use std::io::Cursor;

use finscope::capture::FileSource;
use finscope::findings::Finding;
use finscope::pipeline::{run_sources, AnalysisConfig, RunError, RunResult};
use finscope::report::{ConnRecord, Sink, Summary};

#[derive(Default)]
struct Count {
    connections: u64,
    summary: Option<Summary>,
}

impl Sink for Count {
    fn connection(&mut self, _: &ConnRecord<'_>, _: &[Finding]) -> std::io::Result<()> {
        self.connections += 1;
        Ok(())
    }
    fn host_findings(
        &mut self,
        _: &[Finding],
        _: finscope::capture::Precision,
    ) -> std::io::Result<()> {
        Ok(())
    }
    fn finish(&mut self, s: &Summary) -> std::io::Result<()> {
        self.summary = Some(s.clone());
        Ok(())
    }
}

fn analyze(name: &str, bytes: &[u8]) -> (Result<RunResult, RunError>, Count) {
    let mut sink = Count::default();
    let r = match FileSource::from_reader(name, Box::new(Cursor::new(bytes.to_vec()))) {
        Ok(src) => run_sources(vec![src], AnalysisConfig::default(), &mut sink, &mut |_| {}),
        Err(e) => Err(RunError::Open(e)),
    };
    (r, sink)
}

/// Where each record of a legacy pcap ends.
fn record_ends(file: &[u8]) -> Vec<usize> {
    let mut ends = vec![24];
    let mut at = 24;
    while at + 16 <= file.len() {
        let caplen = u32::from_le_bytes(file[at + 8..at + 12].try_into().unwrap()) as usize;
        at += 16 + caplen;
        ends.push(at);
    }
    ends
}

#[test]
fn a_pcap_cut_at_every_kind_of_boundary_reads_up_to_the_cut() {
    let file = std::fs::read(common::testdata("graceful-server.pcap")).unwrap();
    let ends = record_ends(&file);
    let (full, all) = analyze("full", &file);
    assert!(full.unwrap().errors.is_empty());
    // Inside the global header, then around every record: at its end, inside
    // its 16-byte header, at the header's end, and inside the packet.
    let mut cuts: Vec<usize> = (0..40).collect();
    for e in &ends {
        cuts.extend(
            [1, 0, 1, 4, 8, 12, 15, 16, 17, 30]
                .iter()
                .enumerate()
                .map(|(i, d)| if i == 0 { e - d } else { e + d }),
        );
    }
    cuts.retain(|c| *c < file.len());
    cuts.sort();
    cuts.dedup();
    for cut in cuts {
        let (r, sink) = analyze("cut.pcap", &file[..cut]);
        match r {
            // Shorter than a global header: not a capture.
            Err(RunError::Open(e)) => {
                assert!(cut < 24, "cut {cut}: {e}");
                assert_eq!(e.file, "cut.pcap");
            }
            Err(e) => panic!("cut {cut}: {e}"),
            Ok(r) if ends.contains(&cut) => {
                assert!(
                    r.errors.is_empty(),
                    "cut {cut} is on a record boundary: {:?}",
                    r.errors
                )
            }
            Ok(r) => {
                // Inside a record header or a packet: one error, at the
                // record's start, saying what was cut.
                assert_eq!(r.errors.len(), 1, "cut {cut}");
                let e = &r.errors[0];
                let start = *ends.iter().filter(|e| **e <= cut).max().unwrap() as u64;
                assert_eq!(e.offset, Some(start), "cut {cut}: {e}");
                // And what a user needs to judge the cut: the bytes present
                // and how many more the record wanted (its header first).
                let have = cut - start as usize;
                let end = *ends.iter().filter(|e| **e > cut).min().unwrap();
                let more = if have < 16 { 16 - have } else { end - cut };
                assert!(
                    e.what.contains(&format!(
                        "({have} bytes present, at least {more} more needed)"
                    )),
                    "cut {cut}: {e}"
                );
                assert!(e.to_string().contains("cut.pcap"), "{e}");
                // Everything before the cut was analyzed.
                let frames = ends.iter().filter(|e| **e <= cut).count() as u64 - 1;
                assert_eq!(sink.summary.as_ref().unwrap().packets, frames, "cut {cut}");
            }
        }
        assert!(sink.connections <= all.connections);
    }
}

#[test]
fn a_pcapng_cut_anywhere_never_panics_and_names_an_offset() {
    let file = std::fs::read(common::testdata("pcapng.pcapng")).unwrap();
    let (full, all) = analyze("full", &file);
    assert!(full.unwrap().errors.is_empty());
    let mut errors = 0;
    // Every byte of the section and interface blocks, then every 23rd.
    let cuts: Vec<usize> = (0..file.len())
        .filter(|c| *c < 120 || c % 23 == 0)
        .collect();
    let n = cuts.len();
    for cut in cuts {
        let (r, sink) = analyze("cut.pcapng", &file[..cut]);
        if let Ok(r) = r {
            for e in &r.errors {
                errors += 1;
                let off = e.offset.expect("an offset");
                assert!(off <= cut as u64, "cut {cut}: {e}");
            }
            assert!(sink.summary.unwrap().packets <= all.summary.as_ref().unwrap().packets);
        }
    }
    assert!(errors > n / 2, "most cuts fall inside a block: {errors}");
}

fn pcap_header(linktype: u32, snaplen: u32) -> Vec<u8> {
    let mut h = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    h.extend_from_slice(&snaplen.to_le_bytes());
    h.extend_from_slice(&linktype.to_le_bytes());
    h
}

fn record(ts: u32, caplen: u32, orig: u32, data: &[u8]) -> Vec<u8> {
    let mut r = ts.to_le_bytes().to_vec();
    r.extend_from_slice(&0u32.to_le_bytes());
    r.extend_from_slice(&caplen.to_le_bytes());
    r.extend_from_slice(&orig.to_le_bytes());
    r.extend_from_slice(data);
    r
}

#[test]
fn unknown_link_types_are_counted_and_named() {
    let mut f = pcap_header(147, 65535); // LINKTYPE_USER0
    for t in 0..3 {
        f.extend(record(t, 4, 4, b"abcd"));
    }
    let (r, sink) = analyze("user0.pcap", &f);
    assert!(r.unwrap().errors.is_empty());
    let s = sink.summary.unwrap();
    assert_eq!(s.unsupported_linktypes, [147]);
    assert_eq!(s.not_decoded.values().sum::<u64>(), 3);
}

#[test]
fn a_caplen_above_the_snaplen_and_a_4gb_record_are_errors_with_offsets() {
    let mut f = pcap_header(1, 96);
    f.extend(record(0, 0xffff_fff0, 0xffff_fff0, b""));
    let (r, _) = analyze("huge.pcap", &f);
    let e = &r.unwrap().errors[0];
    assert_eq!(e.offset, Some(24));
    assert!(
        e.what.contains("claims") && e.what.contains("corrupt"),
        "{e}"
    );

    // A record longer than the header's snapshot length is read, and counted.
    let mut f = pcap_header(1, 96);
    f.extend(record(0, 200, 200, &[0; 200]));
    let (r, sink) = analyze("over.pcap", &f);
    assert!(r.unwrap().errors.is_empty());
    assert_eq!(sink.summary.unwrap().files[0].over_snaplen, 1);

    // pcapng: a block that claims 4 GB.
    let mut ng = std::fs::read(common::testdata("pcapng.pcapng")).unwrap();
    let shb_len = u32::from_le_bytes(ng[4..8].try_into().unwrap()) as usize;
    let mut block = vec![6, 0, 0, 0, 0xf0, 0xff, 0xff, 0xff];
    block.extend_from_slice(&[0; 24]);
    ng.truncate(shb_len);
    ng.extend(block);
    let (r, _) = analyze("huge.pcapng", &ng);
    match r {
        Ok(r) => {
            let e = &r.errors[0];
            assert_eq!(e.offset, Some(shb_len as u64), "{e}");
        }
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn time_going_backwards_is_counted_and_the_packets_still_analyzed() {
    let file = std::fs::read(common::testdata("graceful-server.pcap")).unwrap();
    let ends = record_ends(&file);
    // Swap two data records: the later one now comes with an earlier time.
    let (a, b) = (&file[ends[3]..ends[4]], &file[ends[4]..ends[5]]);
    let mut f = file[..ends[3]].to_vec();
    f.extend_from_slice(b);
    f.extend_from_slice(a);
    f.extend_from_slice(&file[ends[5]..]);
    let (r, sink) = analyze("swapped.pcap", &f);
    assert!(r.unwrap().errors.is_empty());
    let s = sink.summary.unwrap();
    assert_eq!(s.files[0].time_went_backwards, 1);
    assert_eq!(s.packets, (ends.len() - 1) as u64);
    assert_eq!(sink.connections, 1);
}
