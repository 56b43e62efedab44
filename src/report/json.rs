//! `json` (one document) and `jsonl` (one record per line, streamed).

use std::io::{self, Write};

use super::record::{ConnRecord, FindingRecord, SCHEMA};
use super::{Renderer, Sink, Summary};
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

/// One finding's record, as JSON.
fn finding_json(f: &Finding, precision: crate::capture::Precision) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(512);
    FindingRecord::new(f, precision).write_json(&mut bytes);
    bytes
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
    out: W,
    quiet: bool,
    line: Vec<u8>,
}

impl<W: Write> JsonlSink<W> {
    /// `quiet` writes the summary only.
    pub fn new(out: W, quiet: bool) -> Self {
        JsonlSink {
            out,
            quiet,
            line: Vec::with_capacity(1024),
        }
    }
}

impl<W: Write> Sink for JsonlSink<W> {
    fn connection(&mut self, record: &ConnRecord<'_>, findings: &[Finding]) -> io::Result<()> {
        if self.quiet {
            return Ok(());
        }
        self.line.clear();
        render_jsonl(record, findings, &mut self.line);
        self.out.write_all(&self.line)
    }

    fn renderer(&self) -> Option<Renderer> {
        Some(match self.quiet {
            true => Renderer::Nothing,
            false => Renderer::Jsonl,
        })
    }

    fn rendered(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)
    }

    fn host_findings(
        &mut self,
        findings: &[Finding],
        precision: crate::capture::Precision,
    ) -> io::Result<()> {
        if self.quiet {
            return Ok(());
        }
        write_findings(&mut self.out, findings, precision)
    }

    fn finish(&mut self, summary: &Summary) -> io::Result<()> {
        serde_json::to_writer(&mut self.out, summary).map_err(to_io)?;
        self.out.write_all(b"\n")?;
        self.out.flush()
    }
}

/// One JSON document: `{"schema": "finscope/1", "summary": {...},
/// "connections": [...], "findings": [...]}`, connections in id order.
/// A document cannot be streamed, so records are kept (serialized) until
/// the end; use `jsonl` for very large captures.
pub struct JsonSink<W: Write> {
    out: W,
    quiet: bool,
    connections: Vec<(u64, Vec<u8>)>,
    findings: Vec<(u64, Vec<u8>)>,
}

impl<W: Write> JsonSink<W> {
    pub fn new(out: W, quiet: bool) -> Self {
        JsonSink {
            out,
            quiet,
            connections: Vec::new(),
            findings: Vec::new(),
        }
    }
}

impl<W: Write> Sink for JsonSink<W> {
    fn connection(&mut self, record: &ConnRecord<'_>, findings: &[Finding]) -> io::Result<()> {
        if self.quiet {
            return Ok(());
        }
        let mut bytes = Vec::with_capacity(640);
        record.write_json(&mut bytes);
        self.connections.push((record.id, bytes));
        for f in findings {
            self.findings
                .push((record.id, finding_json(f, record.precision)));
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
            self.findings.push((u64::MAX, finding_json(f, precision)));
        }
        Ok(())
    }

    fn finish(&mut self, summary: &Summary) -> io::Result<()> {
        self.connections.sort_by_key(|(id, _)| *id);
        // A stable sort keeps each connection's findings in rule order.
        self.findings.sort_by_key(|(id, _)| *id);
        write!(self.out, "{{\"schema\":\"{SCHEMA}\",\"summary\":")?;
        serde_json::to_writer(&mut self.out, summary).map_err(to_io)?;
        for (name, items) in [
            ("connections", &self.connections),
            ("findings", &self.findings),
        ] {
            write!(self.out, ",\"{name}\":[")?;
            for (i, (_, bytes)) in items.iter().enumerate() {
                if i > 0 {
                    self.out.write_all(b",")?;
                }
                self.out.write_all(bytes)?;
            }
            self.out.write_all(b"]")?;
        }
        self.out.write_all(b"}\n")?;
        self.out.flush()
    }
}
