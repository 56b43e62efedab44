//! Reports: the `finscope/1` records and the formats that carry them.
//!
//! Report code does no analysis: it renders what the tracker decided.

mod csv;
mod json;
pub mod ladder;
pub mod live;
mod record;
pub mod streams;
mod table;

use std::collections::BTreeMap;
use std::io;

use serde::Serialize;

use crate::capture::file::FileFormat;
use crate::capture::{CaptureError, FileSource, Precision};
use crate::conn::Teardown;
use crate::findings::{Finding, FindingKind};
use crate::pipeline::{AnalysisConfig, Counters};

pub use self::csv::CsvSink;
pub use json::{JsonSink, JsonlSink};
pub use record::{ConnRecord, FindingRecord, SCHEMA};
pub use table::{TableOptions, TableSink};

/// Where records go as the analysis produces them.
pub trait Sink {
    /// A connection has finished (or the capture ended); `findings` are its
    /// findings.
    fn connection(&mut self, record: &ConnRecord<'_>, findings: &[Finding]) -> io::Result<()>;
    /// Host-level findings, once, before [`Sink::finish`].
    fn host_findings(&mut self, findings: &[Finding], precision: Precision) -> io::Result<()>;
    /// The analysis is over.
    fn finish(&mut self, summary: &Summary) -> io::Result<()>;
    /// How each connection's output can be made apart from the sink, in
    /// any thread, when the sink keeps every connection as bytes of its
    /// own (`--threads` workers then render and the merge only hands the
    /// bytes on). `None`: the sink needs the records (it sums them).
    fn renderer(&self) -> Option<Renderer> {
        None
    }
    /// Writes what [`Sink::renderer`]'s renderer made of connection `id`,
    /// as [`Sink::connection`] would have written it.
    fn rendered(&mut self, _id: u64, _bytes: &[u8]) -> io::Result<()> {
        Err(io::Error::other(
            "this output format cannot take records rendered by --threads workers (a bug in finscope: please report it; --threads 1 avoids it)",
        ))
    }
    /// [`Sink::rendered`] for each of `parts` (connection id, its bytes),
    /// in order. A sink that writes the bytes as they are hands them on
    /// in vectored writes, without copying them into a buffer of its own
    /// first.
    fn rendered_parts(&mut self, parts: &[(u64, &[u8])]) -> io::Result<()> {
        for &(id, bytes) in parts {
            self.rendered(id, bytes)?;
        }
        Ok(())
    }
}

/// What a batched streaming sink gathers before it writes: more than the
/// `BufWriter` around `finscope analyze`'s output holds (64 KiB), which
/// then hands each write straight through without copying it.
pub(crate) const GATHER_BATCH: usize = 1 << 18;

/// A streaming sink's output: records are rendered into a buffer of its
/// own and written once `batch` bytes are gathered (0: each as it is
/// rendered, so that a `LineWriter` shows each record as it ends). With
/// a buffered writer behind it, rendering into a line buffer and writing
/// that copied every byte once more.
pub(crate) struct Gathered<W: io::Write> {
    out: W,
    gathered: Vec<u8>,
    batch: usize,
}

impl<W: io::Write> Gathered<W> {
    pub(crate) fn new(out: W, batch: usize) -> Self {
        Gathered {
            out,
            gathered: Vec::with_capacity(batch + 4096),
            batch,
        }
    }

    /// Renders one record onto what is gathered, and writes it all once
    /// there is a batch of it.
    pub(crate) fn render(&mut self, render: impl FnOnce(&mut Vec<u8>)) -> io::Result<()> {
        render(&mut self.gathered);
        if self.gathered.len() >= self.batch {
            return self.write_gathered();
        }
        Ok(())
    }

    /// The writer, with what was gathered written to it first (for what
    /// goes out another way: the header, rendered parts, the summary).
    pub(crate) fn writer(&mut self) -> io::Result<&mut W> {
        self.write_gathered()?;
        Ok(&mut self.out)
    }

    fn write_gathered(&mut self) -> io::Result<()> {
        if !self.gathered.is_empty() {
            self.out.write_all(&self.gathered)?;
            self.gathered.clear();
        }
        Ok(())
    }
}

impl<W: io::Write> Drop for Gathered<W> {
    /// What a sink dropped before its summary (a run that failed) had
    /// gathered is written, as a `BufWriter` writes its buffer.
    fn drop(&mut self) {
        let _ = self.write_gathered();
    }
}

/// Writes `parts`' bytes to `out` in order, through `write_vectored`:
/// a `BufWriter` hands a write larger than its buffer straight to the
/// writer inside, so the bytes go from where the `--threads` workers
/// rendered them to the kernel's `writev` (at most `IOV_MAX`, 1024 on
/// Linux, parts a call) without a copy in between.
pub(crate) fn write_parts(out: &mut impl io::Write, parts: &[(u64, &[u8])]) -> io::Result<()> {
    const MAX_SLICES: usize = 1024;
    let mut slices: Vec<io::IoSlice<'_>> = Vec::with_capacity(parts.len().min(MAX_SLICES));
    for chunk in parts.chunks(MAX_SLICES) {
        slices.clear();
        slices.extend(
            chunk
                .iter()
                .filter(|(_, b)| !b.is_empty())
                .map(|&(_, b)| io::IoSlice::new(b)),
        );
        let mut rest = &mut slices[..];
        while !rest.is_empty() {
            let n = out.write_vectored(rest)?;
            if n == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            io::IoSlice::advance_slices(&mut rest, n);
        }
    }
    Ok(())
}

/// Renders connections as a streaming sink writes them (see
/// [`Sink::renderer`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Renderer {
    /// JSON Lines: the record's line, then a line per finding.
    Jsonl,
    /// One CSV row.
    Csv,
    /// Nothing (a quiet sink, which writes the summary only).
    Nothing,
}

impl Renderer {
    /// Appends what the sink would write for this connection.
    pub fn render(self, record: &ConnRecord<'_>, findings: &[Finding], out: &mut Vec<u8>) {
        match self {
            Renderer::Jsonl => json::render_jsonl(record, findings, out),
            Renderer::Csv => self::csv::render_row(record, out),
            Renderer::Nothing => {}
        }
    }
}

/// One input file in the summary.
#[derive(Debug, Clone, Serialize)]
pub struct FileSummary {
    pub path: String,
    pub format: &'static str,
    pub frames: u64,
    pub snaplen_cut: u64,
    pub time_went_backwards: u64,
    pub unknown_interface: u64,
    /// Records longer than the header's snapshot length (read anyway).
    pub over_snaplen: u64,
    /// Set when the file could not be read to its end.
    pub error: Option<String>,
}

impl FileSummary {
    pub fn new(s: &FileSource, error: Option<&CaptureError>) -> Self {
        let st = s.stats();
        FileSummary {
            path: s.name().to_string(),
            format: match s.format() {
                FileFormat::Pcap => "pcap",
                FileFormat::PcapNg => "pcapng",
            },
            frames: st.frames,
            snaplen_cut: st.snaplen_cut,
            time_went_backwards: st.time_went_backwards,
            unknown_interface: st.unknown_interface,
            over_snaplen: st.over_snaplen,
            error: error.map(|e| match e.offset {
                Some(offset) => format!("at byte offset {offset}: {}", e.what),
                None => e.what.clone(),
            }),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Evictions {
    /// Closed connections that left after their TIME-WAIT window.
    pub closed: u64,
    pub idle_timeout: u64,
    /// Connections replaced by a new one on the same 4-tuple.
    pub reused: u64,
    /// Connections pushed out by `--max-connections` (their verdicts may be
    /// incomplete).
    pub max_connections: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ThresholdsRecord {
    pub time_wait_s: f64,
    pub stall_s: f64,
    pub fin_retries: u32,
    pub idle_timeout_s: f64,
    pub tw_accumulation: u64,
    pub cw_accumulation: u64,
    pub syn_flood: u64,
    pub max_connections: usize,
}

/// The `summary` record.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub schema: &'static str,
    pub files: Vec<FileSummary>,
    pub capture_start: Option<String>,
    pub capture_end: Option<String>,
    pub duration_s: f64,
    pub packets: u64,
    pub tcp_packets: u64,
    pub duplicate_packets: u64,
    /// Frames left out by `-f`.
    pub filtered_out: u64,
    /// Packets that did not decode to TCP, by reason.
    pub not_decoded: BTreeMap<&'static str, u64>,
    pub unsupported_linktypes: Vec<u32>,
    pub connections: u64,
    pub peak_connections: u64,
    pub teardown: BTreeMap<&'static str, u64>,
    pub findings: BTreeMap<&'static str, u64>,
    /// Kinds that occurred, split by severity.
    pub findings_by_severity: BTreeMap<&'static str, BTreeMap<&'static str, u64>>,
    pub severity: BTreeMap<&'static str, u64>,
    pub evictions: Evictions,
    pub thresholds: ThresholdsRecord,
    /// Hosts with the most connections in TIME-WAIT (toward one server) or
    /// CLOSE-WAIT at once, highest first.
    pub hosts: Vec<crate::findings::hosts::HostRow>,
    /// Host state changes not followed because too many hosts were seen.
    pub untracked_host_changes: u64,
    /// For `finscope live`: the interface and libpcap's counts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub live: Option<LiveSummary>,
    /// With `--write-streams`: what was written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub streams: Option<streams::StreamsSummary>,
}

/// What `finscope live` adds to the summary.
#[derive(Debug, Clone, Serialize)]
pub struct LiveSummary {
    pub interface: String,
    pub filter: Option<String>,
    /// Packets libpcap received, and dropped: by the kernel because finscope
    /// did not read fast enough, and by the interface or its driver.
    pub received: u64,
    pub dropped: u64,
    pub if_dropped: u64,
}

impl Summary {
    pub fn new(
        c: &Counters,
        cfg: &AnalysisConfig,
        files: Vec<FileSummary>,
        precision: Precision,
    ) -> Self {
        let th = cfg.thresholds;
        let not_decoded = crate::decode::Skip::REASONS
            .iter()
            .zip(c.not_decoded.iter())
            .filter(|(_, n)| **n > 0)
            .map(|(r, n)| (*r, *n))
            .collect();
        Summary {
            kind: "summary",
            schema: SCHEMA,
            files,
            capture_start: c.first_ts.map(|t| t.rfc3339(precision).to_string()),
            capture_end: c.last_ts.map(|t| t.rfc3339(precision).to_string()),
            duration_s: match (c.first_ts, c.last_ts) {
                (Some(a), Some(b)) => b.since(a) as f64 / 1e9,
                _ => 0.0,
            },
            packets: c.packets,
            tcp_packets: c.tcp_packets,
            duplicate_packets: c.duplicates,
            filtered_out: c.filtered_out,
            not_decoded,
            unsupported_linktypes: c.unsupported_linktypes.clone(),
            connections: c.connections,
            peak_connections: c.peak_connections,
            teardown: Teardown::ALL
                .iter()
                .map(|t| (t.name(), c.teardown.get(*t as usize).copied().unwrap_or(0)))
                .collect(),
            findings: FindingKind::ALL
                .iter()
                .map(|k| (k.name(), c.findings.get(k.index()).copied().unwrap_or(0)))
                .collect(),
            findings_by_severity: FindingKind::ALL
                .iter()
                .filter_map(|k| {
                    let row = c.findings_by_severity.get(k.index())?;
                    (row.iter().sum::<u64>() > 0).then(|| {
                        (
                            k.name(),
                            ["info", "warning", "error"]
                                .into_iter()
                                .zip(row.iter().copied())
                                .collect(),
                        )
                    })
                })
                .collect(),
            severity: ["info", "warning", "error"]
                .into_iter()
                .zip(c.severities.iter().copied())
                .collect(),
            evictions: Evictions {
                closed: c.evicted_closed,
                idle_timeout: c.evicted_idle,
                reused: c.evicted_reused,
                max_connections: c.evicted_cap,
            },
            thresholds: ThresholdsRecord {
                time_wait_s: th.time_wait as f64 / 1e9,
                stall_s: th.stall as f64 / 1e9,
                fin_retries: th.fin_retries,
                idle_timeout_s: th.idle_timeout as f64 / 1e9,
                tw_accumulation: th.tw_accumulation,
                cw_accumulation: th.cw_accumulation,
                syn_flood: th.syn_flood,
                max_connections: cfg.max_connections,
            },
            hosts: Vec::new(),
            untracked_host_changes: 0,
            live: None,
            streams: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::write_parts;
    use std::io::{self, IoSlice, Write};

    /// A writer that takes at most `most` bytes a call, and counts calls
    /// and the slices it was offered.
    struct Stingy {
        got: Vec<u8>,
        most: usize,
        calls: usize,
        widest: usize,
    }

    impl Write for Stingy {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.write_vectored(&[IoSlice::new(buf)])
        }
        fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
            self.calls += 1;
            self.widest = self.widest.max(bufs.len());
            let mut left = self.most;
            for b in bufs {
                let n = b.len().min(left);
                self.got.extend_from_slice(&b[..n]);
                left -= n;
                if left == 0 {
                    break;
                }
            }
            Ok(self.most - left)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// Every part's bytes arrive once, in order, whatever the writer
    /// takes a call; empty parts are left out, and no call is offered
    /// more than `IOV_MAX` slices.
    #[test]
    fn parts_arrive_whole_in_order_through_short_writes() {
        let texts: Vec<String> = (0..2500)
            .map(|i| match i % 7 {
                0 => String::new(),
                _ => format!("{{\"id\":{i}}}\n"),
            })
            .collect();
        let parts: Vec<(u64, &[u8])> = texts
            .iter()
            .enumerate()
            .map(|(i, t)| (i as u64, t.as_bytes()))
            .collect();
        let want: Vec<u8> = texts.concat().into_bytes();
        for most in [1, 7, 1000, usize::MAX / 2] {
            let mut w = Stingy {
                got: Vec::new(),
                most,
                calls: 0,
                widest: 0,
            };
            write_parts(&mut w, &parts).unwrap();
            assert!(w.got == want, "taking {most} bytes a call");
            assert!(w.widest <= 1024);
            if most > want.len() {
                // 2500 parts, 2142 of them not empty: three calls.
                assert_eq!(w.calls, 3);
            }
        }
    }

    /// Records reach the writer whole and in order whatever the batch,
    /// what goes out through `writer()` after what was gathered before
    /// it, and a dropped sink's gathered records are written; with a
    /// batch, records are written in batches, not one by one.
    #[test]
    fn gathered_records_arrive_in_order_in_batches() {
        for batch in [0, 1, 100, super::GATHER_BATCH] {
            let mut out = Stingy {
                got: Vec::new(),
                most: usize::MAX / 2,
                calls: 0,
                widest: 0,
            };
            let mut want = Vec::new();
            {
                let mut g = super::Gathered::new(&mut out, batch);
                for i in 0..50 {
                    let line = format!("{{\"id\":{i}}}\n");
                    want.extend_from_slice(line.as_bytes());
                    g.render(|b| b.extend_from_slice(line.as_bytes())).unwrap();
                    if i == 20 {
                        g.writer().unwrap().write_all(b"header\n").unwrap();
                        want.extend_from_slice(b"header\n");
                    }
                }
            }
            assert!(out.got == want, "batch {batch}");
            let calls = match batch {
                // One a record, and the header.
                0 | 1 => 51,
                // 9-10 bytes a record: a write at records 10, 20 (which
                // leaves nothing to write before the header), 30 and 40,
                // the header, and the nine left at the drop.
                100 => 6,
                // What was gathered before the header, the header, and
                // the rest at the drop.
                _ => 3,
            };
            assert_eq!(out.calls, calls, "batch {batch}");
        }
    }

    /// A writer that stops taking bytes is an error, not a loop.
    #[test]
    fn a_writer_that_takes_nothing_is_an_error() {
        struct Full;
        impl Write for Full {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Ok(0)
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let parts: [(u64, &[u8]); 1] = [(1, b"x\n")];
        let e = write_parts(&mut Full, &parts).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::WriteZero);
    }
}
