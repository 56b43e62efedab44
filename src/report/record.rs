//! The `finscope/1` records (`output.md`): field names are a contract.

use std::fmt::Display;

use serde::{Serialize, Serializer};

use crate::capture::Precision;
use crate::conn::{Connection, Dir, EndReason, Handshake, Party, TcpState, Teardown, Verdict};
use crate::findings::{Finding, FindingKind, Severity};

/// The schema every record belongs to.
pub const SCHEMA: &str = "finscope/1";

/// Serializes through `Display`, without building a `String` first.
pub struct Disp<T>(pub T);

impl<T: Display> Serialize for Disp<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

#[derive(Serialize)]
pub struct PerSide<T> {
    pub client: T,
    pub server: T,
}

#[derive(Serialize)]
pub struct ZeekRecord<'a> {
    pub conn_state: &'static str,
    pub history: &'a str,
    /// Zeek's originator (its `id.orig_h`:`id.orig_p`).
    pub orig: Disp<crate::flow::SocketAddr>,
    /// Rows Zeek logs before this one for what finscope keeps as one
    /// connection (its timers split it); absent when there are none.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub earlier: &'a [crate::conn::zeek::ZeekRow],
}

/// A `connection` record.
#[derive(Serialize)]
pub struct ConnRecord<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub id: u64,
    pub client: Disp<crate::flow::SocketAddr>,
    pub server: Disp<crate::flow::SocketAddr>,
    pub role_inferred: bool,
    pub first_seen: Disp<crate::capture::time::Rfc3339>,
    pub last_seen: Disp<crate::capture::time::Rfc3339>,
    pub duration_s: f64,
    pub handshake: Handshake,
    pub teardown: Teardown,
    pub closer: Option<Party>,
    pub time_wait: Option<Party>,
    pub state: PerSide<TcpState>,
    pub zeek: ZeekRecord<'a>,
    pub packets: PerSide<u64>,
    pub bytes: PerSide<u64>,
    pub retransmitted_bytes: PerSide<u64>,
    pub missed_bytes: u64,
    pub duplicate_packets: PerSide<u64>,
    /// Why the connection left the table (`capture-end`, `closed`, …).
    pub ended_by: EndReason,
    pub findings: Vec<FindingKind>,
    /// The precision timestamps are rendered with (for finding records).
    #[serde(skip)]
    pub precision: Precision,
}

impl<'a> ConnRecord<'a> {
    pub fn new(
        c: &'a Connection,
        v: &Verdict,
        ended_by: EndReason,
        precision: Precision,
        findings: &[Finding],
    ) -> Self {
        let per = |f: &dyn Fn(Dir) -> u64| PerSide {
            client: f(Dir::Client),
            server: f(Dir::Server),
        };
        let mut kinds: Vec<FindingKind> = findings.iter().map(|f| f.kind).collect();
        kinds.dedup();
        let div = match precision {
            Precision::Micro => 1_000,
            Precision::Nano => 1,
        };
        let duration_ns = c.last_seen.since(c.first_seen.ts) / div * div;
        ConnRecord {
            kind: "connection",
            id: c.id,
            client: Disp(c.client),
            server: Disp(c.server),
            role_inferred: c.role_inferred,
            first_seen: Disp(c.first_seen.ts.rfc3339(precision)),
            last_seen: Disp(c.last_seen.rfc3339(precision)),
            duration_s: duration_ns as f64 / 1e9,
            handshake: v.handshake,
            teardown: v.teardown,
            closer: v.closer,
            time_wait: v.time_wait,
            state: PerSide {
                client: c.ep[0].state,
                server: c.ep[1].state,
            },
            zeek: ZeekRecord {
                conn_state: c.zeek.conn_state(),
                history: c.zeek.history(),
                orig: Disp(if c.zeek_orig_is_client {
                    c.client
                } else {
                    c.server
                }),
                earlier: &c.zeek.earlier,
            },
            packets: per(&|d| c.endpoint(d).packets),
            bytes: per(&|d| c.endpoint(d).stream.unique_bytes),
            retransmitted_bytes: per(&|d| c.endpoint(d).stream.retransmitted_bytes),
            missed_bytes: c.missed_bytes(Dir::Client) + c.missed_bytes(Dir::Server),
            duplicate_packets: per(&|d| c.endpoint(d).duplicates),
            ended_by,
            findings: kinds,
            precision,
        }
    }
}

impl ConnRecord<'_> {
    /// Appends the record as one line of JSON: the same bytes serde would
    /// write for it (a test checks that), without serde's per-byte string
    /// escaping. Every string here is a fixed name, an address, a timestamp
    /// or a Zeek history (ASCII letters and `^`), none of which needs
    /// escaping. This runs once per connection, and on captures of short
    /// connections it was the largest cost in the program.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        let mut ints = itoa::Buffer::new();
        let mut int = |out: &mut Vec<u8>, v: u64| out.extend_from_slice(ints.format(v).as_bytes());
        let lit = |out: &mut Vec<u8>, s: &str| {
            out.push(b'"');
            out.extend_from_slice(s.as_bytes());
            out.push(b'"');
        };
        out.extend_from_slice(b"{\"type\":\"connection\",\"id\":");
        int(out, self.id);
        for (key, addr) in [
            (&b",\"client\":\""[..], self.client.0),
            (&b",\"server\":\""[..], self.server.0),
        ] {
            out.extend_from_slice(key);
            addr.write_to(out);
            out.push(b'"');
        }
        out.extend_from_slice(if self.role_inferred {
            b",\"role_inferred\":true"
        } else {
            b",\"role_inferred\":false"
        });
        out.extend_from_slice(b",\"first_seen\":\"");
        self.first_seen.0.write_to(out);
        out.extend_from_slice(b"\",\"last_seen\":\"");
        self.last_seen.0.write_to(out);
        out.extend_from_slice(b"\",\"duration_s\":");
        if self.duration_s.is_finite() {
            out.extend_from_slice(ryu::Buffer::new().format_finite(self.duration_s).as_bytes());
        } else {
            out.extend_from_slice(b"null");
        }
        out.extend_from_slice(b",\"handshake\":");
        lit(out, self.handshake.name());
        out.extend_from_slice(b",\"teardown\":");
        lit(out, self.teardown.name());
        for (key, party) in [
            (&b",\"closer\":"[..], self.closer),
            (&b",\"time_wait\":"[..], self.time_wait),
        ] {
            out.extend_from_slice(key);
            match party {
                Some(p) => lit(out, p.name()),
                None => out.extend_from_slice(b"null"),
            }
        }
        out.extend_from_slice(b",\"state\":{\"client\":");
        lit(out, self.state.client.name());
        out.extend_from_slice(b",\"server\":");
        lit(out, self.state.server.name());
        out.extend_from_slice(b"},\"zeek\":{\"conn_state\":");
        lit(out, self.zeek.conn_state);
        out.extend_from_slice(b",\"history\":");
        lit(out, self.zeek.history);
        out.extend_from_slice(b",\"orig\":\"");
        self.zeek.orig.0.write_to(out);
        out.push(b'"');
        if !self.zeek.earlier.is_empty() {
            out.extend_from_slice(b",\"earlier\":[");
            for (i, row) in self.zeek.earlier.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(b"{\"conn_state\":");
                lit(out, row.conn_state);
                out.extend_from_slice(b",\"history\":");
                lit(out, &row.history);
                out.extend_from_slice(b",\"orig\":\"");
                row.orig.write_to(out);
                out.extend_from_slice(b"\"}");
            }
            out.push(b']');
        }
        out.push(b'}');
        for (key, sides) in [
            (&b",\"packets\":{\"client\":"[..], &self.packets),
            (&b",\"bytes\":{\"client\":"[..], &self.bytes),
            (
                &b",\"retransmitted_bytes\":{\"client\":"[..],
                &self.retransmitted_bytes,
            ),
        ] {
            out.extend_from_slice(key);
            int(out, sides.client);
            out.extend_from_slice(b",\"server\":");
            int(out, sides.server);
            out.push(b'}');
        }
        out.extend_from_slice(b",\"missed_bytes\":");
        int(out, self.missed_bytes);
        out.extend_from_slice(b",\"duplicate_packets\":{\"client\":");
        int(out, self.duplicate_packets.client);
        out.extend_from_slice(b",\"server\":");
        int(out, self.duplicate_packets.server);
        out.extend_from_slice(b"},\"ended_by\":");
        lit(out, self.ended_by.name());
        out.extend_from_slice(b",\"findings\":[");
        for (i, k) in self.findings.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            lit(out, k.name());
        }
        out.extend_from_slice(b"]}");
    }
}

/// A `finding` record.
#[derive(Serialize)]
pub struct FindingRecord<'a> {
    #[serde(rename = "type")]
    pub kind_tag: &'static str,
    pub kind: FindingKind,
    pub severity: Severity,
    pub connection: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<std::net::IpAddr>,
    pub ts: Disp<crate::capture::time::Rfc3339>,
    pub message: &'a str,
    pub evidence: &'a crate::findings::Evidence,
}

impl<'a> FindingRecord<'a> {
    pub fn new(f: &'a Finding, precision: Precision) -> Self {
        FindingRecord {
            kind_tag: "finding",
            kind: f.kind,
            severity: f.severity,
            connection: f.connection,
            host: f.host,
            ts: Disp(f.ts.rfc3339(precision)),
            message: &f.message,
            evidence: &f.evidence,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::{run, AnalysisConfig};
    use crate::report::{Sink, Summary};

    /// Checks every record against the serde derive.
    struct Compare(usize);

    impl Sink for Compare {
        fn connection(&mut self, r: &ConnRecord<'_>, _: &[Finding]) -> std::io::Result<()> {
            let mut fast = Vec::new();
            r.write_json(&mut fast);
            let derived = serde_json::to_vec(r).unwrap();
            assert_eq!(
                String::from_utf8(fast).unwrap(),
                String::from_utf8(derived).unwrap()
            );
            self.0 += 1;
            Ok(())
        }
        fn host_findings(
            &mut self,
            _: &[Finding],
            _: crate::capture::Precision,
        ) -> std::io::Result<()> {
            Ok(())
        }
        fn finish(&mut self, _: &Summary) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn fast_writer_matches_serde_byte_for_byte() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "pcap" || x == "pcapng"))
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        files.sort();
        let mut sink = Compare(0);
        for f in &files {
            run(
                std::slice::from_ref(f),
                AnalysisConfig::default(),
                &mut sink,
                &mut |_| {},
            )
            .unwrap();
        }
        // A one-sided capture Zeek splits with its attempt timer: the record
        // carries Zeek's earlier row.
        let mut pcap = vec![
            0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 1, 0, 0, 0,
        ];
        for (sec, flags, seq, ack) in [
            (0u32, 0x02u8, 1000u32, 0u32),
            (6, 0x18, 1001, 1),
            (7, 0x11, 1011, 1),
        ] {
            let len: u16 = if flags == 0x18 { 10 } else { 0 };
            let mut f = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0, 0x45, 0];
            f.extend_from_slice(&(40 + len).to_be_bytes());
            f.extend_from_slice(&[
                0, 0, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, 0x9c, 0x40, 0, 22,
            ]);
            f.extend_from_slice(&seq.to_be_bytes());
            f.extend_from_slice(&ack.to_be_bytes());
            f.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
            f.resize(f.len() + usize::from(len), b'x');
            pcap.extend_from_slice(&(1_700_000_000 + sec).to_le_bytes());
            pcap.extend_from_slice(&0u32.to_le_bytes());
            pcap.extend_from_slice(&(f.len() as u32).to_le_bytes());
            pcap.extend_from_slice(&(f.len() as u32).to_le_bytes());
            pcap.extend_from_slice(&f);
        }
        struct Split(usize);
        impl Sink for Split {
            fn connection(&mut self, r: &ConnRecord<'_>, f: &[Finding]) -> std::io::Result<()> {
                assert_eq!(r.zeek.earlier.len(), 1, "Zeek's attempt timer splits it");
                assert_eq!(
                    (r.zeek.earlier[0].conn_state, r.zeek.conn_state),
                    ("S0", "SH")
                );
                self.0 += 1;
                Compare(0).connection(r, f)
            }
            fn host_findings(
                &mut self,
                _: &[Finding],
                _: crate::capture::Precision,
            ) -> std::io::Result<()> {
                Ok(())
            }
            fn finish(&mut self, _: &Summary) -> std::io::Result<()> {
                Ok(())
            }
        }
        let src =
            crate::capture::FileSource::from_reader("split", Box::new(std::io::Cursor::new(pcap)))
                .unwrap();
        let mut split = Split(0);
        crate::pipeline::run_sources(
            vec![src],
            AnalysisConfig::default(),
            &mut split,
            &mut |_| {},
        )
        .unwrap();
        assert_eq!(split.0, 1);
        // Every verdict, state and role appears in some capture.
        assert!(sink.0 >= 19, "{} records", sink.0);
    }
}
