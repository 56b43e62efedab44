//! Baselines: a `finscope/1` report from a good run, reduced to what
//! `check` compares: findings per rule and service, and teardown verdicts
//! per service.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use serde::Deserialize;

use super::policy::{ServiceBy, Subject};
use crate::flow::SocketAddr;

/// What a baseline held, grouped the way the current run is.
#[derive(Debug, Default)]
pub struct Baseline {
    pub path: String,
    /// Findings per (rule name, subject). Names are kept as text so a
    /// baseline from a newer finscope with more kinds still loads.
    pub findings: BTreeMap<(String, Subject), u64>,
    /// Connections per (subject, teardown verdict).
    pub teardowns: BTreeMap<(Subject, String), u64>,
    /// Connections per subject.
    pub connections: BTreeMap<Subject, u64>,
}

#[derive(Deserialize)]
struct ConnLine {
    id: u64,
    server: String,
    teardown: String,
}

#[derive(Deserialize)]
struct FindingLine {
    kind: String,
    connection: Option<u64>,
    host: Option<IpAddr>,
    #[serde(default)]
    evidence: serde_json::Value,
}

#[derive(Deserialize)]
struct Document {
    schema: String,
    #[serde(default)]
    connections: Vec<ConnLine>,
    #[serde(default)]
    findings: Vec<FindingLine>,
}

impl Baseline {
    /// Reads a `json` document or `jsonl` records written by finscope.
    pub fn load(path: &str, by: ServiceBy) -> Result<Baseline, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("--baseline {path}: {e}"))?;
        let (conns, findings) = match serde_json::from_str::<Document>(&text) {
            Ok(doc) => {
                if !doc.schema.starts_with("finscope/1") {
                    return Err(format!(
                        "--baseline {path}: schema {:?}, expected finscope/1",
                        doc.schema
                    ));
                }
                (doc.connections, doc.findings)
            }
            Err(doc_err) => Self::parse_lines(&text).map_err(|line_err| {
                format!(
                    "--baseline {path}: not a finscope/1 JSON report ({doc_err}) nor JSON lines ({line_err})"
                )
            })?,
        };
        let mut b = Baseline {
            path: path.to_string(),
            ..Baseline::default()
        };
        let mut servers: HashMap<u64, SocketAddr> = HashMap::with_capacity(conns.len());
        for c in &conns {
            let server: std::net::SocketAddr = c.server.parse().map_err(|_| {
                format!(
                    "--baseline {path}: connection {} has server {:?}, not an ip:port",
                    c.id, c.server
                )
            })?;
            let subject = Subject::service(server.into(), by);
            servers.insert(c.id, server.into());
            *b.connections.entry(subject).or_default() += 1;
            *b.teardowns
                .entry((subject, c.teardown.clone()))
                .or_default() += 1;
        }
        for f in &findings {
            let subject = match (f.connection, f.host) {
                (Some(id), _) => match servers.get(&id) {
                    Some(s) => Subject::service(*s, by),
                    None => continue, // a quiet (-q) report: no connections
                },
                (None, Some(host)) => {
                    host_subject(host, f.evidence.get("toward").and_then(|t| t.as_str()), by)
                }
                (None, None) => Subject {
                    ip: None,
                    port: None,
                },
            };
            *b.findings.entry((f.kind.clone(), subject)).or_default() += 1;
        }
        Ok(b)
    }

    fn parse_lines(text: &str) -> Result<(Vec<ConnLine>, Vec<FindingLine>), String> {
        let mut conns = Vec::new();
        let mut findings = Vec::new();
        let mut saw_summary = false;
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let v: serde_json::Value =
                serde_json::from_str(line).map_err(|e| format!("line {}: {e}", i + 1))?;
            let bad = |e: serde_json::Error| format!("line {}: {e}", i + 1);
            match v.get("type").and_then(|t| t.as_str()) {
                Some("connection") => conns.push(serde_json::from_value(v).map_err(bad)?),
                Some("finding") => findings.push(serde_json::from_value(v).map_err(bad)?),
                Some("summary") => saw_summary = true,
                _ => return Err(format!("line {}: not a finscope/1 record", i + 1)),
            }
        }
        if !saw_summary {
            return Err("no summary record (the report is cut short)".into());
        }
        Ok((conns, findings))
    }
}

/// The subject of a host-level finding: the server a TIME-WAIT pile-up
/// points at (its evidence's `toward`), or the host itself.
pub fn host_subject(host: IpAddr, toward: Option<&str>, by: ServiceBy) -> Subject {
    match toward.and_then(|t| t.parse::<std::net::SocketAddr>().ok()) {
        Some(server) => Subject::service(server.into(), by),
        None => Subject::host(host),
    }
}
