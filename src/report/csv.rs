//! `csv`: one row per connection, streamed.

use std::io::{self, Write};

use super::record::{write_seconds_as, ConnRecord, Layout};
use super::{Gathered, Renderer, Sink, Summary, GATHER_BATCH};
use crate::conn::Party;
use crate::digits::push_u64;
use crate::findings::Finding;

pub const HEADER: &str = "id,client,server,role_inferred,first_seen,last_seen,duration_s,handshake,teardown,closer,time_wait,\
client_state,server_state,zeek_conn_state,zeek_history,client_packets,server_packets,client_bytes,server_bytes,\
client_retransmitted_bytes,server_retransmitted_bytes,missed_bytes,findings";

pub struct CsvSink<W: Write> {
    out: Gathered<W>,
    header_done: bool,
}

impl<W: Write> CsvSink<W> {
    /// Each row is written as it is made (through a `LineWriter`, the
    /// live view's output shows each as it ends).
    pub fn new(out: W) -> Self {
        CsvSink {
            out: Gathered::new(out, 0),
            header_done: false,
        }
    }

    /// [`CsvSink::new`], but the rows are written a quarter megabyte at a
    /// time, from a buffer of the sink's own (see `Gathered`).
    pub fn batched(out: W) -> Self {
        CsvSink {
            out: Gathered::new(out, GATHER_BATCH),
            header_done: false,
        }
    }
}

/// Appends what `write` writes as one CSV field, quoted when it holds a
/// comma, quote or line break (RFC 4180 §2.6, its quotes doubled, §2.7).
fn field(out: &mut Vec<u8>, write: impl FnOnce(&mut Vec<u8>)) {
    let start = out.len();
    write(out);
    let text = out.get(start..).unwrap_or_default();
    if text
        .iter()
        .any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r'))
    {
        quote_from(out, start);
    }
}

/// Quotes the field that begins at `start` (rare: no address or Zeek
/// history holds such a byte).
#[cold]
fn quote_from(out: &mut Vec<u8>, start: usize) {
    let text = out.split_off(start);
    out.push(b'"');
    for &b in &text {
        if b == b'"' {
            out.push(b'"');
        }
        out.push(b);
    }
    out.push(b'"');
}

/// Appends a connection's row, with no allocation (the columns of
/// [`HEADER`]: names as the JSON records spell them, an absent party
/// empty, seconds as `Display` writes the `f64`).
pub(super) fn render_row(r: &ConnRecord<'_>, out: &mut Vec<u8>) {
    let mut ints = itoa::Buffer::new();
    push_u64(out, r.id, &mut ints);
    for addr in [r.client.0, r.server.0] {
        out.push(b',');
        field(out, |out| addr.write_to(out));
    }
    out.extend_from_slice(match r.role_inferred {
        true => b",true,",
        false => b",false,",
    });
    r.first_seen.0.write_to(out);
    out.push(b',');
    r.last_seen.0.write_to(out);
    out.push(b',');
    write_seconds_as(out, r.duration_ns, Layout::Display);
    for name in [
        r.handshake.name(),
        r.teardown.name(),
        r.closer.map_or("", Party::name),
        r.time_wait.map_or("", Party::name),
        r.state.client.name(),
        r.state.server.name(),
        r.zeek.conn_state,
    ] {
        // Names of our own: none needs quoting.
        out.push(b',');
        out.extend_from_slice(name.as_bytes());
    }
    out.push(b',');
    field(out, |out| out.extend_from_slice(r.zeek.history.as_bytes()));
    for n in [
        r.packets.client,
        r.packets.server,
        r.bytes.client,
        r.bytes.server,
        r.retransmitted_bytes.client,
        r.retransmitted_bytes.server,
        r.missed_bytes,
    ] {
        out.push(b',');
        push_u64(out, n, &mut ints);
    }
    out.push(b',');
    for (i, k) in r.findings.iter().enumerate() {
        if i > 0 {
            out.push(b';');
        }
        out.extend_from_slice(k.name().as_bytes());
    }
    out.push(b'\n');
}

impl<W: Write> CsvSink<W> {
    fn header(&mut self) -> io::Result<()> {
        if !self.header_done {
            writeln!(self.out.writer()?, "{HEADER}")?;
            self.header_done = true;
        }
        Ok(())
    }
}

impl<W: Write> Sink for CsvSink<W> {
    fn connection(&mut self, r: &ConnRecord<'_>, _findings: &[Finding]) -> io::Result<()> {
        self.header()?;
        self.out.render(|row| render_row(r, row))
    }

    fn renderer(&self) -> Option<Renderer> {
        Some(Renderer::Csv)
    }

    fn rendered(&mut self, _id: u64, bytes: &[u8]) -> io::Result<()> {
        self.header()?;
        self.out.writer()?.write_all(bytes)
    }

    fn rendered_parts(&mut self, parts: &[(u64, &[u8])]) -> io::Result<()> {
        self.header()?;
        super::write_parts(self.out.writer()?, parts)
    }

    /// CSV is one row per connection; host findings are in the other formats.
    fn host_findings(&mut self, _: &[Finding], _: crate::capture::Precision) -> io::Result<()> {
        Ok(())
    }

    fn finish(&mut self, _summary: &Summary) -> io::Result<()> {
        self.header()?;
        self.out.writer()?.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A batched sink writes what a row-at-a-time one writes, on every
    /// testdata capture (how it batches is `Gathered`'s test).
    #[test]
    fn batched_csv_writes_what_row_at_a_time_writes() {
        let mut each = Vec::new();
        crate::testdata::run_each(&mut CsvSink::new(&mut each));
        let mut batched = Vec::new();
        crate::testdata::run_each(&mut CsvSink::batched(&mut batched));
        assert!(each.len() > 20_000);
        assert!(each == batched);
    }

    /// The row as it was first written, through serde and `to_string` (a
    /// `String` a column): what [`render_row`] must still write.
    fn reference_row(r: &ConnRecord<'_>) -> String {
        fn field<T: serde::Serialize>(v: &T) -> String {
            match serde_json::to_value(v) {
                Ok(serde_json::Value::String(s)) => s,
                Ok(serde_json::Value::Null) => String::new(),
                Ok(other) => other.to_string(),
                Err(_) => String::new(),
            }
        }
        fn quote(s: &str) -> String {
            if s.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", s.replace('"', "\"\""))
            } else {
                s.to_string()
            }
        }
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
            quote(&r.zeek.history),
            r.packets.client.to_string(),
            r.packets.server.to_string(),
            r.bytes.client.to_string(),
            r.bytes.server.to_string(),
            r.retransmitted_bytes.client.to_string(),
            r.retransmitted_bytes.server.to_string(),
            r.missed_bytes.to_string(),
            findings.join(";"),
        ];
        cols.join(",") + "\n"
    }

    struct Compare(usize);

    impl Sink for Compare {
        fn connection(&mut self, r: &ConnRecord<'_>, _: &[Finding]) -> io::Result<()> {
            let mut row = Vec::new();
            render_row(r, &mut row);
            assert_eq!(String::from_utf8(row).unwrap(), reference_row(r));
            self.0 += 1;
            Ok(())
        }
        fn host_findings(&mut self, _: &[Finding], _: crate::capture::Precision) -> io::Result<()> {
            Ok(())
        }
        fn finish(&mut self, _: &Summary) -> io::Result<()> {
            Ok(())
        }
    }

    /// Every connection of every testdata capture gets the row the serde
    /// version wrote, byte for byte.
    #[test]
    fn rows_match_the_serde_rendering() {
        let mut sink = Compare(0);
        crate::testdata::run_each(&mut sink);
        assert!(sink.0 > 100, "only {} connections", sink.0);
    }

    /// A field holding a comma or a quote is quoted, its quotes doubled;
    /// one without is written as it is.
    #[test]
    fn fields_are_quoted_as_rfc_4180_says() {
        let mut out = b"x,".to_vec();
        field(&mut out, |o| o.extend_from_slice(b"a,\"b\""));
        out.push(b',');
        field(&mut out, |o| o.extend_from_slice(b"plain"));
        out.push(b',');
        field(&mut out, |o| o.extend_from_slice(b"two\nlines"));
        assert_eq!(out, b"x,\"a,\"\"b\"\"\",plain,\"two\nlines\"");
    }
}
