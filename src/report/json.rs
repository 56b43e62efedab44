//! `json` (one document) and `jsonl` (one record per line, streamed).

use std::io::{self, Write};

use super::record::{ConnRecord, FindingRecord, SCHEMA};
use super::{Gathered, Renderer, Sink, Summary, GATHER_BATCH};
use crate::findings::Finding;

fn to_io(e: serde_json::Error) -> io::Error {
    io::Error::other(e)
}

/// Writes findings as JSON lines.
fn write_findings(
    out: &mut impl Write,
    findings: &[Finding],
    precision: crate::capture::Precision,
) -> io::Result<()> {
    let mut line = Vec::with_capacity(512);
    for f in findings {
        line.clear();
        FindingRecord::new(f, precision).write_json(&mut line);
        line.push(b'\n');
        out.write_all(&line)?;
    }
    Ok(())
}

/// A connection's JSON Lines: its record, then each finding.
pub(super) fn render_jsonl(record: &ConnRecord<'_>, findings: &[Finding], out: &mut Vec<u8>) {
    record.write_json(out);
    out.push(b'\n');
    for f in findings {
        FindingRecord::new(f, record.precision).write_json(out);
        out.push(b'\n');
    }
}

/// JSON Lines: each connection as it finishes, its findings after it, the
/// summary last. Nothing is kept, so memory does not grow with the number
/// of connections.
pub struct JsonlSink<W: Write> {
    out: Gathered<W>,
    quiet: bool,
}

impl<W: Write> JsonlSink<W> {
    /// `quiet` writes the summary only. Each connection's lines are
    /// written as they are made (through a `LineWriter`, the live view's
    /// output shows each record as it ends).
    pub fn new(out: W, quiet: bool) -> Self {
        JsonlSink {
            out: Gathered::new(out, 0),
            quiet,
        }
    }

    /// [`JsonlSink::new`], but the lines are written a quarter megabyte at
    /// a time, from a buffer of the sink's own (see `Gathered`).
    pub fn batched(out: W, quiet: bool) -> Self {
        JsonlSink {
            out: Gathered::new(out, GATHER_BATCH),
            quiet,
        }
    }
}

impl<W: Write> Sink for JsonlSink<W> {
    fn connection(&mut self, record: &ConnRecord<'_>, findings: &[Finding]) -> io::Result<()> {
        if self.quiet {
            return Ok(());
        }
        self.out
            .render(|lines| render_jsonl(record, findings, lines))
    }

    fn renderer(&self) -> Option<Renderer> {
        Some(match self.quiet {
            true => Renderer::Nothing,
            false => Renderer::Jsonl,
        })
    }

    fn rendered(&mut self, _id: u64, bytes: &[u8]) -> io::Result<()> {
        self.out.writer()?.write_all(bytes)
    }

    fn rendered_parts(&mut self, parts: &[(u64, &[u8])]) -> io::Result<()> {
        super::write_parts(self.out.writer()?, parts)
    }

    fn host_findings(
        &mut self,
        findings: &[Finding],
        precision: crate::capture::Precision,
    ) -> io::Result<()> {
        if self.quiet {
            return Ok(());
        }
        write_findings(self.out.writer()?, findings, precision)
    }

    fn finish(&mut self, summary: &Summary) -> io::Result<()> {
        let out = self.out.writer()?;
        serde_json::to_writer(&mut *out, summary).map_err(to_io)?;
        out.write_all(b"\n")?;
        out.flush()
    }
}

/// One JSON document: `{"schema": "finscope/1", "summary": {...},
/// "connections": [...], "findings": [...]}`, connections in id order.
/// A document cannot be streamed, so records are kept (serialized) until
/// the end; use `jsonl` for very large captures.
pub struct JsonSink<W: Write> {
    out: W,
    quiet: bool,
    connections: Texts,
    findings: Texts,
}

/// JSON texts kept for the end: their bytes back to back in one buffer (a
/// buffer of its own for each cost an allocation a record, and its unused
/// capacity), and where each one is, with the connection id it sorts by.
#[derive(Default)]
struct Texts {
    bytes: Vec<u8>,
    at: Vec<(u64, std::ops::Range<usize>)>,
}

impl Texts {
    /// Keeps what `write` appends, under `id`.
    fn push(&mut self, id: u64, write: impl FnOnce(&mut Vec<u8>)) {
        let start = self.bytes.len();
        write(&mut self.bytes);
        self.at.push((id, start..self.bytes.len()));
    }

    /// Writes the texts in id order, comma-separated (a stable sort: a
    /// connection's findings stay in rule order).
    fn write_sorted(&mut self, out: &mut impl Write) -> io::Result<()> {
        self.at.sort_by_key(|(id, _)| *id);
        for (i, (_, range)) in self.at.iter().enumerate() {
            if i > 0 {
                out.write_all(b",")?;
            }
            out.write_all(self.bytes.get(range.clone()).unwrap_or_default())?;
        }
        Ok(())
    }
}

/// Where the first `\n` in `bytes` is, eight bytes at a time (a record
/// is some 600 bytes; a byte at a time was a fifth of the merging
/// thread's time with `--format json --threads 2`).
fn newline(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_le_bytes([0x80; 8]);
    const NL: u64 = u64::from_le_bytes([b'\n'; 8]);
    let mut chunks = bytes.chunks_exact(8);
    let mut at = 0;
    for c in &mut chunks {
        let x = u64::from_le_bytes(c.try_into().unwrap_or_default()) ^ NL;
        // The lowest bit set marks the first zero byte exactly (a borrow
        // only carries into the bytes above it).
        let zero = x.wrapping_sub(ONES) & !x & HIGH;
        if zero != 0 {
            return Some(at + (zero.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    let tail = chunks.remainder();
    tail.iter().position(|&b| b == b'\n').map(|i| at + i)
}

impl<W: Write> JsonSink<W> {
    pub fn new(out: W, quiet: bool) -> Self {
        JsonSink {
            out,
            quiet,
            connections: Texts::default(),
            findings: Texts::default(),
        }
    }
}

impl<W: Write> Sink for JsonSink<W> {
    fn connection(&mut self, record: &ConnRecord<'_>, findings: &[Finding]) -> io::Result<()> {
        if self.quiet {
            return Ok(());
        }
        self.connections
            .push(record.id, |out| record.write_json(out));
        for f in findings {
            self.findings.push(record.id, |out| {
                FindingRecord::new(f, record.precision).write_json(out)
            });
        }
        Ok(())
    }

    /// `--threads` workers render each connection as `jsonl` does: its
    /// record's line, then a line per finding. A JSON text never holds a
    /// raw newline (strings escape it), so the lines split it back.
    fn renderer(&self) -> Option<Renderer> {
        Some(match self.quiet {
            true => Renderer::Nothing,
            false => Renderer::Jsonl,
        })
    }

    fn rendered(&mut self, id: u64, bytes: &[u8]) -> io::Result<()> {
        let mut rest = bytes;
        let mut first = true;
        while !rest.is_empty() {
            let end = newline(rest).unwrap_or(rest.len());
            let (line, after) = rest.split_at(end);
            rest = after.get(1..).unwrap_or_default();
            let texts = match first {
                true => &mut self.connections,
                false => &mut self.findings,
            };
            first = false;
            texts.push(id, |out| out.extend_from_slice(line));
        }
        Ok(())
    }

    fn host_findings(
        &mut self,
        findings: &[Finding],
        precision: crate::capture::Precision,
    ) -> io::Result<()> {
        if self.quiet {
            return Ok(());
        }
        for f in findings {
            // Host findings follow the connections' findings.
            self.findings.push(u64::MAX, |out| {
                FindingRecord::new(f, precision).write_json(out)
            });
        }
        Ok(())
    }

    fn finish(&mut self, summary: &Summary) -> io::Result<()> {
        write!(self.out, "{{\"schema\":\"{SCHEMA}\",\"summary\":")?;
        serde_json::to_writer(&mut self.out, summary).map_err(to_io)?;
        for (name, texts) in [
            ("connections", &mut self.connections),
            ("findings", &mut self.findings),
        ] {
            write!(self.out, ",\"{name}\":[")?;
            texts.write_sorted(&mut self.out)?;
            self.out.write_all(b"]")?;
        }
        self.out.write_all(b"}\n")?;
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A batched sink writes what a line-at-a-time one writes (every
    /// testdata capture, summaries and host findings between; how it
    /// batches is `Gathered`'s test).
    #[test]
    fn batched_jsonl_writes_what_line_at_a_time_writes() {
        let mut each = Vec::new();
        crate::testdata::run_each(&mut JsonlSink::new(&mut each, false));
        let mut batched = Vec::new();
        crate::testdata::run_each(&mut JsonlSink::batched(&mut batched, false));
        assert!(each.len() > 100_000);
        assert!(each == batched);
    }

    fn texts(t: &mut Texts) -> String {
        let mut out = Vec::new();
        t.write_sorted(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    /// What a `--threads` worker rendered (a record's line, then its
    /// findings' lines) is kept as the one-thread path keeps it: the record
    /// among the connections, each finding among the findings, under the
    /// connection's id; written in id order, a connection's findings in the
    /// order they came.
    #[test]
    fn rendered_lines_are_kept_as_records_and_findings_by_id() {
        let mut sink = JsonSink::new(Vec::new(), false);
        sink.rendered(9, b"{\"c\":9}\n{\"f\":\"9a\"}\n{\"f\":\"9b\"}\n")
            .unwrap();
        sink.rendered(4, b"{\"c\":4}\n").unwrap();
        sink.rendered(6, b"{\"c\":6}\n{\"f\":\"6a\"}\n").unwrap();
        assert_eq!(texts(&mut sink.connections), r#"{"c":4},{"c":6},{"c":9}"#);
        assert_eq!(
            texts(&mut sink.findings),
            r#"{"f":"6a"},{"f":"9a"},{"f":"9b"}"#
        );
    }

    /// The word-at-a-time search finds what a byte-at-a-time one finds,
    /// wherever the newline falls in a word and whatever the bytes around
    /// it (0x0a's neighbours 0x09 and 0x0b, 0x8a, 0xff included).
    #[test]
    fn newline_finds_the_first_line_break() {
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let bytes = [b'\n', 0x09, 0x0b, 0x8a, 0xff, 0x00, b'a', 0x0a ^ 0x80];
        for len in 0..40 {
            for _ in 0..2_000 {
                let v: Vec<u8> = (0..len)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        // Rare newlines, so that some words hold none.
                        match x % 16 {
                            0 => b'\n',
                            n => {
                                bytes.get(n as usize % 8).copied().unwrap_or(b'z') ^ u8::from(n > 8)
                            }
                        }
                    })
                    .collect();
                assert_eq!(newline(&v), v.iter().position(|&b| b == b'\n'), "{v:?}");
            }
        }
    }
}
