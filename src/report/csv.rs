//! `csv`: one row per connection, streamed.

use std::io::{self, Write};

use super::record::ConnRecord;
use super::{Renderer, Sink, Summary};
use crate::findings::Finding;

pub const HEADER: &str = "id,client,server,role_inferred,first_seen,last_seen,duration_s,handshake,teardown,closer,time_wait,\
client_state,server_state,zeek_conn_state,zeek_history,client_packets,server_packets,client_bytes,server_bytes,\
client_retransmitted_bytes,server_retransmitted_bytes,missed_bytes,findings";

pub struct CsvSink<W: Write> {
    out: W,
    header_done: bool,
    /// One row, rendered before it is written (kept for its capacity).
    row: Vec<u8>,
}

impl<W: Write> CsvSink<W> {
    pub fn new(out: W) -> Self {
        CsvSink {
            out,
            header_done: false,
            row: Vec::with_capacity(256),
        }
    }
}

/// A JSON string value (`"graceful"`, `null`) as a bare CSV field.
fn field<T: serde::Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(serde_json::Value::Null) => String::new(),
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

/// Quotes a field when it holds a comma, quote or newline (RFC 4180).
fn quote(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Appends a connection's row.
pub(super) fn render_row(r: &ConnRecord<'_>, out: &mut Vec<u8>) {
    let findings: Vec<&str> = r.findings.iter().map(|k| k.name()).collect();
    let cols = [
        r.id.to_string(),
        quote(&r.client.0.to_string()),
        quote(&r.server.0.to_string()),
        r.role_inferred.to_string(),
        field(&r.first_seen),
        field(&r.last_seen),
        r.duration_s().to_string(),
        field(&r.handshake),
        field(&r.teardown),
        field(&r.closer),
        field(&r.time_wait),
        field(&r.state.client),
        field(&r.state.server),
        r.zeek.conn_state.to_string(),
        quote(r.zeek.history),
        r.packets.client.to_string(),
        r.packets.server.to_string(),
        r.bytes.client.to_string(),
        r.bytes.server.to_string(),
        r.retransmitted_bytes.client.to_string(),
        r.retransmitted_bytes.server.to_string(),
        r.missed_bytes.to_string(),
        findings.join(";"),
    ];
    out.extend_from_slice(cols.join(",").as_bytes());
    out.push(b'\n');
}

impl<W: Write> CsvSink<W> {
    fn header(&mut self) -> io::Result<()> {
        if !self.header_done {
            writeln!(self.out, "{HEADER}")?;
            self.header_done = true;
        }
        Ok(())
    }
}

impl<W: Write> Sink for CsvSink<W> {
    fn connection(&mut self, r: &ConnRecord<'_>, _findings: &[Finding]) -> io::Result<()> {
        self.header()?;
        self.row.clear();
        render_row(r, &mut self.row);
        self.out.write_all(&self.row)
    }

    fn renderer(&self) -> Option<Renderer> {
        Some(Renderer::Csv)
    }

    fn rendered(&mut self, _id: u64, bytes: &[u8]) -> io::Result<()> {
        self.header()?;
        self.out.write_all(bytes)
    }

    /// CSV is one row per connection; host findings are in the other formats.
    fn host_findings(&mut self, _: &[Finding], _: crate::capture::Precision) -> io::Result<()> {
        Ok(())
    }

    fn finish(&mut self, _summary: &Summary) -> io::Result<()> {
        self.header()?;
        self.out.flush()
    }
}
