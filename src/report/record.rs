//! The `finscope/1` records (`output.md`): field names are a contract.

use std::borrow::Cow;
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

/// The parts a record borrows from its connection are `Cow`s: a
/// `--threads` worker hands the merge an owned record
/// ([`ConnRecord::into_owned`]) instead of the 1 KB connection.
#[derive(Serialize)]
pub struct ZeekRecord<'a> {
    pub conn_state: &'static str,
    pub history: Cow<'a, str>,
    /// Zeek's originator (its `id.orig_h`:`id.orig_p`).
    pub orig: Disp<crate::flow::SocketAddr>,
    /// Rows Zeek logs before this one for what finscope keeps as one
    /// connection (its timers split it); absent when there are none.
    #[serde(skip_serializing_if = "no_rows")]
    pub earlier: Cow<'a, [crate::conn::zeek::ZeekRow]>,
}

fn no_rows(rows: &[crate::conn::zeek::ZeekRow]) -> bool {
    rows.is_empty()
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
    /// Written as `duration_s`, in seconds (see [`ConnRecord::duration_s`]);
    /// kept in nanoseconds, which the JSON writer prints the seconds from.
    #[serde(rename = "duration_s", serialize_with = "as_seconds")]
    pub duration_ns: i64,
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
            id: c.id(),
            client: Disp(c.client),
            server: Disp(c.server),
            role_inferred: c.role_inferred,
            first_seen: Disp(c.first_seen.ts.rfc3339(precision)),
            last_seen: Disp(c.last_seen.rfc3339(precision)),
            duration_ns,
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
                history: Cow::Borrowed(c.zeek.history()),
                orig: Disp(if c.zeek_orig_is_client {
                    c.client
                } else {
                    c.server
                }),
                earlier: Cow::Borrowed(c.zeek.earlier()),
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

/// Nanoseconds serialized as seconds (`duration_s`).
fn as_seconds<S: Serializer>(ns: &i64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(*ns as f64 / 1e9)
}

impl ConnRecord<'_> {
    /// The connection's duration in seconds.
    pub fn duration_s(&self) -> f64 {
        self.duration_ns as f64 / 1e9
    }

    /// The record with what it borrows from its connection copied: Zeek's
    /// history (at most 40 bytes) and its earlier rows (most connections
    /// have none).
    pub fn into_owned(self) -> ConnRecord<'static> {
        let ZeekRecord {
            conn_state,
            history,
            orig,
            earlier,
        } = self.zeek;
        ConnRecord {
            zeek: ZeekRecord {
                conn_state,
                history: Cow::Owned(history.into_owned()),
                orig,
                earlier: Cow::Owned(earlier.into_owned()),
            },
            kind: self.kind,
            id: self.id,
            client: self.client,
            server: self.server,
            role_inferred: self.role_inferred,
            first_seen: self.first_seen,
            last_seen: self.last_seen,
            duration_ns: self.duration_ns,
            handshake: self.handshake,
            teardown: self.teardown,
            closer: self.closer,
            time_wait: self.time_wait,
            state: self.state,
            packets: self.packets,
            bytes: self.bytes,
            retransmitted_bytes: self.retransmitted_bytes,
            missed_bytes: self.missed_bytes,
            duplicate_packets: self.duplicate_packets,
            ended_by: self.ended_by,
            findings: self.findings,
            precision: self.precision,
        }
    }

    /// Appends the record as one line of JSON: the same bytes serde would
    /// write for it (a test checks that), without serde's per-byte string
    /// escaping. Every string here is a fixed name, an address, a timestamp
    /// or a Zeek history (ASCII letters and `^`), none of which needs
    /// escaping. This runs once per connection, and on captures of short
    /// connections it was the largest cost in the program.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        let mut ints = itoa::Buffer::new();
        let mut int = |out: &mut Vec<u8>, v: u64| crate::digits::push_u64(out, v, &mut ints);
        let lit = |out: &mut Vec<u8>, s: &str| {
            out.push(b'"');
            out.extend_from_slice(s.as_bytes());
            out.push(b'"');
        };
        out.extend_from_slice(b"{\"type\":\"connection\",\"id\":");
        int(out, self.id);
        // Where each address's text went: Zeek's originator is one of
        // them, and is copied from there rather than rendered again.
        let mut texts = [0..0, 0..0];
        for ((key, addr), text) in [
            (&b",\"client\":\""[..], self.client.0),
            (&b",\"server\":\""[..], self.server.0),
        ]
        .into_iter()
        .zip(&mut texts)
        {
            out.extend_from_slice(key);
            let start = out.len();
            addr.write_to(out);
            *text = start..out.len();
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
        write_seconds(out, self.duration_ns);
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
        lit(out, &self.zeek.history);
        out.extend_from_slice(b",\"orig\":\"");
        let [client_text, server_text] = texts;
        if self.zeek.orig.0 == self.client.0 {
            out.extend_from_within(client_text);
        } else if self.zeek.orig.0 == self.server.0 {
            out.extend_from_within(server_text);
        } else {
            self.zeek.orig.0.write_to(out);
        }
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

impl FindingRecord<'_> {
    /// The bytes `serde_json` writes for this record (a test checks
    /// that), written directly: a finding's record went through serde's
    /// generic map and string paths at about 5,000 instructions each, as
    /// much as judging its connection.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        let mut ints = itoa::Buffer::new();
        out.extend_from_slice(b"{\"type\":");
        json_str(out, self.kind_tag);
        out.extend_from_slice(b",\"kind\":\"");
        out.extend_from_slice(self.kind.name().as_bytes());
        out.extend_from_slice(b"\",\"severity\":\"");
        out.extend_from_slice(self.severity.name().as_bytes());
        out.extend_from_slice(b"\",\"connection\":");
        match self.connection {
            Some(id) => out.extend_from_slice(ints.format(id).as_bytes()),
            None => out.extend_from_slice(b"null"),
        }
        if let Some(host) = self.host {
            out.extend_from_slice(b",\"host\":");
            json_str(out, &host.to_string());
        }
        out.extend_from_slice(b",\"ts\":\"");
        self.ts.0.write_to(out);
        out.extend_from_slice(b"\",\"message\":");
        json_str(out, self.message);
        out.extend_from_slice(b",\"evidence\":");
        write_evidence(out, self.evidence);
        out.push(b'}');
    }
}

/// How a number of seconds is laid out: as ryu writes it (JSON), or as
/// Rust's `Display` writes an `f64` (CSV).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Layout {
    Ryu,
    Display,
}

/// `secs` (which is `ns as f64 / 1e9`) as ryu writes it, from the integer
/// where that is plain: ryu took about 380 instructions a record.
fn write_seconds(out: &mut Vec<u8>, ns: i64) {
    write_seconds_as(out, ns, Layout::Ryu);
}

/// `ns as f64 / 1e9` laid out as `layout` writes the double, from the
/// integer where that is plain.
///
/// ryu, and `Display`, write the shortest decimal that reads back as the
/// same double. For `ns` of at most 15 significant digits (and below 2^53,
/// so the division is of exact operands and rounds once) that decimal is
/// `ns / 10^9` itself: two distinct decimals of 15 digits or fewer never
/// round to one double (`DBL_DIG`), so no shorter one can. What is left is
/// the layout. ryu's (`pretty::format64`): `ddd.0` for whole seconds,
/// `d.ddd`, and `0.0ddd` down to four zeros; beyond those it writes an
/// exponent, and ryu does. `Display`'s: `ddd` for whole seconds, `d.ddd`
/// and `0.0ddd`, never an exponent.
pub(super) fn write_seconds_as(out: &mut Vec<u8>, ns: i64, layout: Layout) {
    let secs = ns as f64 / 1e9;
    let general = |out: &mut Vec<u8>| match layout {
        Layout::Ryu => out.extend_from_slice(ryu::Buffer::new().format_finite(secs).as_bytes()),
        Layout::Display => {
            use std::io::Write;
            // Writing to a Vec cannot fail.
            let _ = write!(out, "{secs}");
        }
    };
    let Ok(n) = u64::try_from(ns) else {
        return general(out);
    };
    if n == 0 {
        return out.extend_from_slice(match layout {
            Layout::Ryu => b"0.0",
            Layout::Display => b"0",
        });
    }
    if n >= 1 << 53 {
        return general(out);
    }
    // n = m × 10^t, m without trailing zeros: the value is m × 10^(t-9).
    let (mut m, mut t) = (n, 0i32);
    while m % 10 == 0 {
        m /= 10;
        t += 1;
    }
    let mut digits = itoa::Buffer::new();
    let m_text = digits.format(m).as_bytes();
    let len = m_text.len() as i32;
    let k = t - 9;
    // The decimal point falls after `point` of m's digits (ryu's `kk`).
    let point = len + k;
    if len > 15 || (layout == Layout::Ryu && (point > 16 || point <= -5)) {
        return general(out);
    }
    if k >= 0 {
        out.extend_from_slice(m_text);
        out.extend(std::iter::repeat_n(b'0', k as usize));
        if layout == Layout::Ryu {
            out.extend_from_slice(b".0");
        }
    } else if point > 0 {
        let (whole, frac) = m_text.split_at(point as usize);
        out.extend_from_slice(whole);
        out.push(b'.');
        out.extend_from_slice(frac);
    } else {
        out.extend_from_slice(b"0.");
        out.extend(std::iter::repeat_n(b'0', (-point) as usize));
        out.extend_from_slice(m_text);
    }
}

/// `evidence` as `serde_json` writes it: the entries in their (sorted)
/// order, a number that is not finite as `null`.
fn write_evidence(out: &mut Vec<u8>, evidence: &crate::findings::Evidence) {
    use crate::findings::Ev;
    let mut ints = itoa::Buffer::new();
    out.push(b'{');
    for (i, (key, value)) in evidence.entries().iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        json_str(out, key);
        out.push(b':');
        match value {
            Ev::Null => out.extend_from_slice(b"null"),
            Ev::Bool(true) => out.extend_from_slice(b"true"),
            Ev::Bool(false) => out.extend_from_slice(b"false"),
            Ev::U64(v) => out.extend_from_slice(ints.format(*v).as_bytes()),
            Ev::I64(v) => out.extend_from_slice(ints.format(*v).as_bytes()),
            // serde_json's own float writer (its exponent style is not
            // ryu's); writing to a Vec cannot fail.
            Ev::F64(v) if v.is_finite() => {
                let _ = serde_json::to_writer(&mut *out, v);
            }
            Ev::F64(_) => out.extend_from_slice(b"null"),
            Ev::Str(v) => json_str(out, v),
            Ev::Text(v) => json_str(out, v),
            Ev::PerSide { client, server } => {
                out.extend_from_slice(b"{\"client\":");
                out.extend_from_slice(ints.format(*client).as_bytes());
                out.extend_from_slice(b",\"server\":");
                out.extend_from_slice(ints.format(*server).as_bytes());
                out.push(b'}');
            }
        }
    }
    out.push(b'}');
}

/// Whether any byte is a control character, `"` or `\\` (what JSON
/// escapes), looked at eight bytes at a time: findings' messages run to a
/// few hundred bytes.
fn needs_escape(bytes: &[u8]) -> bool {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    // Some byte of `x` is below `n` (n <= 0x80); exact as a yes/no.
    let below = |x: u64, n: u8| x.wrapping_sub(ONES * u64::from(n)) & !x & HIGH != 0;
    let zero = |x: u64| below(x, 1);
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let x = u64::from_ne_bytes(c.try_into().unwrap_or_default());
        if below(x, 0x20)
            || zero(x ^ (ONES * u64::from(b'"')))
            || zero(x ^ (ONES * u64::from(b'\\')))
        {
            return true;
        }
    }
    chunks
        .remainder()
        .iter()
        .any(|&b| b < 0x20 || b == b'"' || b == b'\\')
}

/// A JSON string as `serde_json` writes it. Nearly every string here needs
/// no escape and is copied whole; one that does goes through `serde_json`
/// itself, so the escapes are exactly its own.
fn json_str(out: &mut Vec<u8>, s: &str) {
    if !needs_escape(s.as_bytes()) {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        // Writing to a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::AnalysisConfig;
    use crate::report::{Sink, Summary};

    /// Checks every record against the serde derive: connections, then
    /// findings (connections' and hosts').
    struct Compare(usize, usize);

    fn same_as_serde(f: &Finding, precision: Precision) {
        let r = FindingRecord::new(f, precision);
        let mut fast = Vec::new();
        r.write_json(&mut fast);
        let derived = serde_json::to_vec(&r).unwrap();
        assert_eq!(
            String::from_utf8(fast).unwrap(),
            String::from_utf8(derived).unwrap()
        );
    }

    impl Sink for Compare {
        fn connection(&mut self, r: &ConnRecord<'_>, f: &[Finding]) -> std::io::Result<()> {
            let mut fast = Vec::new();
            r.write_json(&mut fast);
            let derived = serde_json::to_vec(r).unwrap();
            assert_eq!(
                String::from_utf8(fast).unwrap(),
                String::from_utf8(derived).unwrap()
            );
            self.0 += 1;
            for f in f {
                same_as_serde(f, r.precision);
                self.1 += 1;
            }
            Ok(())
        }
        fn host_findings(
            &mut self,
            f: &[Finding],
            precision: crate::capture::Precision,
        ) -> std::io::Result<()> {
            for f in f {
                same_as_serde(f, precision);
                self.1 += 1;
            }
            Ok(())
        }
        fn finish(&mut self, _: &Summary) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// The durations the seconds tests take: every one up to two
    /// milliseconds in nanoseconds, numbers of every length and number of
    /// trailing zeros up to 2^53, the edges of 2^53, negative ones, and
    /// whole seconds past ryu's exponent.
    fn seconds_cases() -> impl Iterator<Item = i64> {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let random = (0..200_000).filter_map(move |_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let digits = 1 + (x % 17) as u32;
            let m = (x >> 8) % 10u64.pow(digits);
            let zeros = (x >> 40) as u32 % 17;
            let n = 10u64.checked_pow(zeros).and_then(|p| m.checked_mul(p))?;
            Some(n.min(1 << 54) as i64)
        });
        let edges = [
            1i64 << 53,
            (1 << 53) - 1,
            (1 << 53) + 1,
            i64::MAX,
            -1,
            -1_000_000,
            1_000_000_000_000_000_000,
            123_000_000_000_000_000,
        ];
        (0..2_000_000).chain(random).chain(edges)
    }

    /// Seconds written from the integer are what ryu writes for the
    /// double.
    #[test]
    fn seconds_match_ryu() {
        for ns in seconds_cases() {
            let mut out = Vec::new();
            write_seconds(&mut out, ns);
            assert_eq!(
                std::str::from_utf8(&out).unwrap(),
                ryu::Buffer::new().format_finite(ns as f64 / 1e9),
                "{ns}"
            );
        }
    }

    /// Seconds laid out as `Display` are what `Display` writes for the
    /// double.
    #[test]
    fn seconds_match_display() {
        for ns in seconds_cases() {
            let mut out = Vec::new();
            write_seconds_as(&mut out, ns, Layout::Display);
            assert_eq!(
                std::str::from_utf8(&out).unwrap(),
                (ns as f64 / 1e9).to_string(),
                "{ns}"
            );
        }
    }

    #[test]
    fn fast_writer_matches_serde_byte_for_byte() {
        let mut sink = Compare(0, 0);
        crate::testdata::run_each(&mut sink);
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
                Compare(0, 0).connection(r, f)
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
        assert!(sink.1 >= 19, "{} findings", sink.1);
    }

    /// The eight-at-a-time check says what a byte-by-byte one says, for
    /// every byte at every place in strings of every length up to 24.
    #[test]
    fn escape_check_matches_bytewise() {
        for len in 1..=24 {
            for at in 0..len {
                for b in 0..=255u8 {
                    let mut v = vec![b'a'; len];
                    v[at] = b;
                    let naive = v.iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\');
                    assert_eq!(needs_escape(&v), naive, "{v:?}");
                    v[at] = 0xff - b;
                    let naive = v.iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\');
                    assert_eq!(needs_escape(&v), naive, "{v:?}");
                }
            }
        }
    }

    /// What no testdata finding carries: text to escape, a host (v4 and
    /// v6), no connection, every kind of evidence value.
    #[test]
    fn finding_writer_matches_serde_on_the_rare_cases() {
        use crate::findings::{evidence, Ev};
        let texts = [
            "plain",
            "a \"quoted\" word and a back\\slash",
            "tab\tnew\nline\u{1}\u{1f}\u{7f} § é",
            "",
        ];
        for (i, text) in texts.into_iter().enumerate() {
            let f = Finding {
                kind: FindingKind::TimeWaitAccumulation,
                severity: Severity::Info,
                connection: (i % 2 == 0).then_some(42),
                host: match i {
                    0 => Some("10.1.2.3".parse().unwrap()),
                    1 => Some("2001:db8::7".parse().unwrap()),
                    _ => None,
                },
                ts: crate::capture::Timestamp(1_700_000_000_123_456_789 + i as i64),
                message: text.to_string(),
                evidence: evidence!({
                    "null": Ev::Null, "yes": true, "no": false, "big": u64::MAX,
                    "neg": -5i64, "f": 0.125f64, "tiny": 1e-7f64, "huge": 1e300f64,
                    "nan": f64::NAN, "inf": f64::INFINITY, "state": "FIN-WAIT-2",
                    "text": text.to_string(), "sides": Ev::PerSide { client: 1, server: 0 },
                }),
            };
            for precision in [Precision::Micro, Precision::Nano] {
                same_as_serde(&f, precision);
            }
        }
        let empty = Finding {
            kind: FindingKind::RstAbort,
            severity: Severity::Warning,
            connection: Some(1),
            host: None,
            ts: crate::capture::Timestamp(0),
            message: "m".into(),
            evidence: crate::findings::Evidence::default(),
        };
        same_as_serde(&empty, Precision::Micro);
    }
}
