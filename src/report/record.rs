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
    pub evidence: &'a serde_json::Value,
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
