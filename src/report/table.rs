//! `table`: a screen a person reads. Summary first, then the findings worth
//! a look (most severe first), then servers by abnormal endings. Long lists
//! show their top rows and say how many more there are.

use std::collections::{BTreeMap, HashMap};
use std::io::{self, Write};

use comfy_table::presets::UTF8_BORDERS_ONLY;
use comfy_table::{Cell, CellAlignment, Color, ContentArrangement, Table};

use super::record::ConnRecord;
use super::{Sink, Summary};
use crate::capture::{Precision, Timestamp};
use crate::conn::Teardown;
use crate::findings::{Finding, FindingKind, Severity};
use crate::flow::SocketAddr;

#[derive(Debug, Clone, Copy)]
pub struct TableOptions {
    /// Show every row instead of the top ones (`--all`).
    pub all: bool,
    /// Add the per-connection table (`--connections`).
    pub connections: bool,
    /// Summary only (`-q`).
    pub quiet: bool,
    pub color: bool,
    /// Terminal width, if known.
    pub width: Option<u16>,
}

/// Findings shown per kind, so one frequent kind cannot hide the others.
const TOP_PER_KIND: usize = 5;
const TOP_SERVERS: usize = 10;
const TOP_CONNECTIONS: usize = 50;
/// Servers tracked for the per-server section; beyond, they are lumped.
const MAX_SERVERS: usize = 100_000;

struct FindingRow {
    severity: Severity,
    kind: FindingKind,
    connection: Option<u64>,
    ts: Timestamp,
    message: String,
}

#[derive(Default)]
struct ServerRow {
    connections: u64,
    teardown: [u64; Teardown::ALL.len()],
}

pub struct TableSink<W: Write> {
    out: W,
    opts: TableOptions,
    precision: Precision,
    /// The findings kept for display, by kind (all of them with `--all`).
    findings: Vec<Vec<FindingRow>>,
    servers: HashMap<SocketAddr, ServerRow>,
    servers_lumped: u64,
    connections: Vec<[String; 10]>,
    connections_total: u64,
}

impl<W: Write> TableSink<W> {
    pub fn new(out: W, opts: TableOptions) -> Self {
        TableSink {
            out,
            opts,
            precision: Precision::Micro,
            findings: (0..FindingKind::ALL.len()).map(|_| Vec::new()).collect(),
            servers: HashMap::new(),
            servers_lumped: 0,
            connections: Vec::new(),
            connections_total: 0,
        }
    }

    /// Most severe first, then earliest.
    fn rank(rows: &mut [FindingRow]) {
        rows.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.ts.cmp(&b.ts)));
    }

    fn table(&self) -> Table {
        let mut t = Table::new();
        t.load_style(UTF8_BORDERS_ONLY)
            .set_content_arrangement(ContentArrangement::Dynamic);
        // Off a terminal (a file, a pager) lines are kept to a readable
        // width too.
        t.set_width(self.opts.width.unwrap_or(120));
        if !self.opts.color {
            t.force_no_tty();
        } else {
            t.enforce_styling();
        }
        t
    }

    fn severity_cell(&self, s: Severity) -> Cell {
        let c = Cell::new(s.name());
        if !self.opts.color {
            return c;
        }
        match s {
            Severity::Error => c.fg(Color::Red),
            Severity::Warning => c.fg(Color::Yellow),
            Severity::Info => c.fg(Color::Cyan),
        }
    }
}

fn n(v: u64) -> String {
    // Thousands separators make big counts readable at a glance.
    let s = v.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

impl<W: Write> TableSink<W> {
    fn keep(&mut self, f: &Finding) {
        let Some(rows) = self.findings.get_mut(f.kind.index()) else {
            return;
        };
        rows.push(FindingRow {
            severity: f.severity,
            kind: f.kind,
            connection: f.connection,
            ts: f.ts,
            message: f.message.clone(),
        });
        if !self.opts.all && rows.len() > 8 * TOP_PER_KIND {
            Self::rank(rows);
            rows.truncate(TOP_PER_KIND);
        }
    }
}

impl<W: Write> Sink for TableSink<W> {
    fn connection(&mut self, r: &ConnRecord<'_>, findings: &[Finding]) -> io::Result<()> {
        self.precision = r.precision;
        for f in findings {
            self.keep(f);
        }
        let server = r.server.0;
        let known = self.servers.len() < MAX_SERVERS || self.servers.contains_key(&server);
        if known {
            let row = self.servers.entry(server).or_default();
            row.connections += 1;
            if let Some(n) = row.teardown.get_mut(r.teardown as usize) {
                *n += 1;
            }
        } else {
            self.servers_lumped += 1;
        }
        if self.opts.connections {
            self.connections_total += 1;
            if self.opts.all || self.connections.len() < TOP_CONNECTIONS * 8 {
                let kinds: Vec<&str> = r.findings.iter().map(|k| k.name()).collect();
                self.connections.push([
                    r.id.to_string(),
                    r.client.0.to_string(),
                    r.server.0.to_string(),
                    r.teardown.name().to_string(),
                    r.closer.map(|p| p.name()).unwrap_or("-").to_string(),
                    r.state.client.name().to_string(),
                    r.state.server.name().to_string(),
                    format!("{} {}", r.zeek.conn_state, r.zeek.history),
                    format!("{:.3}", r.duration_s()),
                    kinds.join(", "),
                ]);
            }
        }
        Ok(())
    }

    fn host_findings(&mut self, findings: &[Finding], precision: Precision) -> io::Result<()> {
        self.precision = precision;
        for f in findings {
            self.keep(f);
        }
        Ok(())
    }

    fn finish(&mut self, s: &Summary) -> io::Result<()> {
        let names: Vec<&str> = s.files.iter().map(|f| f.path.as_str()).collect();
        let files = match &s.live {
            Some(l) => match &l.filter {
                Some(f) => format!("live on {} ({f})", l.interface),
                None => format!("live on {}", l.interface),
            },
            None if names.len() <= 3 => names.join(", "),
            None => format!("{} files", names.len()),
        };
        writeln!(
            self.out,
            "finscope: {files} — {} packets ({} TCP) over {:.1} s, {} connections",
            n(s.packets),
            n(s.tcp_packets),
            s.duration_s,
            n(s.connections)
        )?;
        if let (Some(a), Some(b)) = (&s.capture_start, &s.capture_end) {
            writeln!(self.out, "capture: {a} → {b}")?;
        }
        if let Some(l) = &s.live {
            writeln!(
                self.out,
                "libpcap: {} packets received, {} dropped by the kernel (finscope too slow), {} by the interface",
                n(l.received),
                n(l.dropped),
                n(l.if_dropped)
            )?;
        }
        for f in &s.files {
            if let Some(e) = &f.error {
                writeln!(
                    self.out,
                    "warning: {}: {e} (results up to there are included)",
                    f.path
                )?;
            }
            if f.over_snaplen > 0 {
                writeln!(
                    self.out,
                    "warning: {}: {} records are longer than the file's snapshot length (read anyway)",
                    f.path,
                    n(f.over_snaplen)
                )?;
            }
            if f.snaplen_cut > 0 {
                writeln!(
                    self.out,
                    "note: {}: {} frames were cut by the snapshot length",
                    f.path,
                    n(f.snaplen_cut)
                )?;
            }
        }
        let skipped: u64 = s.not_decoded.values().sum();
        if skipped > 0 {
            let parts: Vec<String> = s
                .not_decoded
                .iter()
                .map(|(k, v)| format!("{k} {}", n(*v)))
                .collect();
            writeln!(
                self.out,
                "not analyzed: {} packets ({})",
                n(skipped),
                parts.join(", ")
            )?;
        }
        if s.duplicate_packets > 0 {
            writeln!(self.out, "duplicates: {} packets seen twice (capture on 'any' or a SPAN port); not counted as retransmissions", n(s.duplicate_packets))?;
        }
        let ev = &s.evictions;
        if ev.max_connections > 0 {
            writeln!(
                self.out,
                "warning: {} connections were evicted by --max-connections {}; their verdicts may be incomplete",
                n(ev.max_connections),
                s.thresholds.max_connections
            )?;
        }
        writeln!(self.out)?;

        // Verdicts and findings side by side.
        let mut t = self.table();
        t.set_header(vec![
            "teardown",
            "connections",
            "",
            "finding",
            "info",
            "warning",
            "error",
        ]);
        let teardowns: Vec<(&str, u64)> = s
            .teardown
            .iter()
            .filter(|(_, v)| **v > 0)
            .map(|(k, v)| (*k, *v))
            .collect();
        let kinds: Vec<(&str, &BTreeMap<&str, u64>)> = s
            .findings_by_severity
            .iter()
            .map(|(k, v)| (*k, v))
            .collect();
        let rows = teardowns.len().max(kinds.len());
        for i in 0..rows {
            let mut row: Vec<Cell> = Vec::new();
            match teardowns.get(i) {
                Some((k, v)) => {
                    row.push(Cell::new(*k));
                    row.push(Cell::new(n(*v)).set_alignment(CellAlignment::Right));
                }
                None => {
                    row.push(Cell::new(""));
                    row.push(Cell::new(""));
                }
            }
            row.push(Cell::new(""));
            match kinds.get(i) {
                Some((k, by_severity)) => {
                    row.push(Cell::new(*k));
                    for col in ["info", "warning", "error"] {
                        let v = by_severity.get(col).copied().unwrap_or(0);
                        let text = if v > 0 { n(v) } else { String::new() };
                        row.push(Cell::new(text).set_alignment(CellAlignment::Right));
                    }
                }
                None => row.extend((0..4).map(|_| Cell::new(""))),
            }
            t.add_row(row);
        }
        writeln!(self.out, "{t}")?;
        if self.opts.quiet {
            return self.out.flush();
        }

        if self.findings.iter().any(|rows| !rows.is_empty()) {
            // Kinds by their worst severity, then how often they occurred.
            let mut kinds: Vec<(FindingKind, Severity, u64)> = Vec::new();
            for k in FindingKind::ALL {
                let Some(rows) = self.findings.get_mut(k.index()) else {
                    continue;
                };
                if rows.is_empty() {
                    continue;
                }
                Self::rank(rows);
                if !self.opts.all {
                    rows.truncate(TOP_PER_KIND);
                }
                let worst = rows.first().map(|r| r.severity).unwrap_or(Severity::Info);
                kinds.push((k, worst, s.findings.get(k.name()).copied().unwrap_or(0)));
            }
            kinds.sort_by(|a, b| b.1.cmp(&a.1).then(b.2.cmp(&a.2)));
            writeln!(self.out, "\nFindings worth a look (most severe kinds first; up to {TOP_PER_KIND} of each, --all for every one)")?;
            let mut t = self.table();
            t.set_header(vec!["severity", "kind", "conn", "time", "what happened"]);
            for (k, _, total) in &kinds {
                let rows = self
                    .findings
                    .get(k.index())
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                for f in rows {
                    t.add_row(vec![
                        self.severity_cell(f.severity),
                        Cell::new(f.kind.name()),
                        Cell::new(f.connection.map(|c| c.to_string()).unwrap_or_default())
                            .set_alignment(CellAlignment::Right),
                        Cell::new(time_of_day(f.ts, self.precision)),
                        Cell::new(&f.message),
                    ]);
                }
                let more = total.saturating_sub(rows.len() as u64);
                if more > 0 {
                    t.add_row(vec![
                        Cell::new(""),
                        Cell::new(k.name()),
                        Cell::new(""),
                        Cell::new(""),
                        Cell::new(format!("… and {} more {} findings", n(more), k.name())),
                    ]);
                }
            }
            writeln!(self.out, "{t}")?;
        }

        let mut servers: Vec<(&SocketAddr, &ServerRow)> = self.servers.iter().collect();
        let abnormal = |r: &ServerRow| -> u64 {
            Teardown::ALL
                .iter()
                .filter(|t| t.is_abnormal())
                .map(|t| r.teardown.get(*t as usize).copied().unwrap_or(0))
                .sum()
        };
        servers.sort_by(|a, b| {
            abnormal(b.1)
                .cmp(&abnormal(a.1))
                .then(b.1.connections.cmp(&a.1.connections))
                .then(a.0.cmp(b.0))
        });
        if !servers.is_empty() {
            writeln!(self.out, "\nServers")?;
            let mut t = self.table();
            t.set_header(vec![
                "server",
                "connections",
                "graceful",
                "reset",
                "half-closed",
                "refused",
                "no-answer",
                "other abnormal",
            ]);
            let limit = if self.opts.all {
                servers.len()
            } else {
                TOP_SERVERS
            };
            for (addr, r) in servers.iter().take(limit) {
                let get = |td: Teardown| r.teardown.get(td as usize).copied().unwrap_or(0);
                let listed = get(Teardown::Reset)
                    + get(Teardown::HalfClosed)
                    + get(Teardown::Refused)
                    + get(Teardown::NoAnswer);
                let cells = [
                    n(r.connections),
                    n(get(Teardown::Graceful) + get(Teardown::Simultaneous)),
                    n(get(Teardown::Reset)),
                    n(get(Teardown::HalfClosed)),
                    n(get(Teardown::Refused)),
                    n(get(Teardown::NoAnswer)),
                    n(abnormal(r) - listed),
                ];
                let mut row = vec![Cell::new(addr.to_string())];
                row.extend(
                    cells
                        .into_iter()
                        .map(|c| Cell::new(c).set_alignment(CellAlignment::Right)),
                );
                t.add_row(row);
            }
            writeln!(self.out, "{t}")?;
            if servers.len() > limit {
                writeln!(
                    self.out,
                    "… and {} more servers (--all)",
                    n((servers.len() - limit) as u64)
                )?;
            }
            if self.servers_lumped > 0 {
                writeln!(
                    self.out,
                    "({} connections to further servers are not itemized)",
                    n(self.servers_lumped)
                )?;
            }
        }

        // One TIME-WAIT is no pile-up: the section lists hosts holding two
        // or more at once (the summary's `hosts` has them all).
        let piling: Vec<_> = s
            .hosts
            .iter()
            .filter(|h| h.time_wait_peak.max(h.close_wait_peak) >= 2)
            .collect();
        if !piling.is_empty() {
            writeln!(self.out, "\nHosts (most connections held at once)")?;
            let mut t = self.table();
            t.set_header(vec![
                "host",
                "TIME-WAIT peak",
                "toward",
                "at",
                "CLOSE-WAIT peak",
                "at",
            ]);
            let limit = if self.opts.all {
                s.hosts.len()
            } else {
                TOP_SERVERS
            };
            for h in s.hosts.iter().take(limit) {
                let time = |t: &Option<String>| {
                    t.as_deref()
                        .and_then(|t| t.get(11..23))
                        .unwrap_or("")
                        .to_string()
                };
                t.add_row(vec![
                    Cell::new(h.host.to_string()),
                    Cell::new(n(h.time_wait_peak)).set_alignment(CellAlignment::Right),
                    Cell::new(h.time_wait_toward.clone().unwrap_or_default()),
                    Cell::new(time(&h.time_wait_peak_at)),
                    Cell::new(n(h.close_wait_peak)).set_alignment(CellAlignment::Right),
                    Cell::new(time(&h.close_wait_peak_at)),
                ]);
            }
            writeln!(self.out, "{t}")?;
            if s.hosts.len() > limit {
                writeln!(
                    self.out,
                    "… and {} more hosts (--all)",
                    s.hosts.len() - limit
                )?;
            }
        }

        if self.opts.connections && !self.connections.is_empty() {
            self.connections
                .sort_by_key(|r| r[0].parse::<u64>().unwrap_or(0));
            let limit = if self.opts.all {
                self.connections.len()
            } else {
                TOP_CONNECTIONS
            };
            writeln!(self.out, "\nConnections")?;
            let mut t = self.table();
            t.set_header(vec![
                "id",
                "client",
                "server",
                "teardown",
                "closer",
                "client state",
                "server state",
                "zeek",
                "duration s",
                "findings",
            ]);
            // Addresses, states and Zeek's fields stay on one line; the
            // findings column wraps.
            t.set_constraints(
                (0..9)
                    .map(|_| comfy_table::ColumnConstraint::ContentWidth)
                    .chain([comfy_table::ColumnConstraint::LowerBoundary(
                        comfy_table::Width::Fixed(12),
                    )]),
            );
            for r in self.connections.iter().take(limit) {
                t.add_row(r.iter().map(Cell::new).collect::<Vec<_>>());
            }
            writeln!(self.out, "{t}")?;
            if self.connections_total > limit as u64 {
                writeln!(
                    self.out,
                    "… and {} more connections (--all)",
                    n(self.connections_total - limit as u64)
                )?;
            }
        }
        self.out.flush()
    }
}

/// `19:57:30.957` for the findings table (the date is in the header).
fn time_of_day(ts: Timestamp, p: Precision) -> String {
    let full = ts.rfc3339(p).to_string();
    full.get(11..23).unwrap_or(&full).to_string()
}
