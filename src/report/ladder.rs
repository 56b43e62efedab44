//! `finscope show`: one connection as a ladder (sequence) diagram, the way
//! textbooks draw the handshake and the four-way close. Text for the
//! terminal, Mermaid for CI reports and wikis.
//!
//! Each segment is one arrow, labelled with its flags and sequence numbers
//! relative to the sender's initial one; each endpoint's state appears in
//! its column when it changes; retransmissions and findings are marked on
//! the row where they happen. A long data phase folds into one line.

use std::io::{self, Write};

use super::{ConnRecord, Sink, Summary};
use crate::capture::{Precision, Timestamp};
use crate::conn::{Dir, TcpState};
use crate::findings::{Finding, FindingKind, Severity};
use crate::flow::SocketAddr;
use crate::pipeline::Step;

/// A finding, placed on a row.
#[derive(Debug, Clone)]
pub struct Mark {
    pub kind: FindingKind,
    pub severity: Severity,
    pub message: String,
    /// The frame its evidence names, if any.
    pub frame: Option<u64>,
    pub ts: Timestamp,
}

/// What the report said about the connection.
#[derive(Debug, Clone)]
pub struct Shown {
    pub id: u64,
    pub client: String,
    pub server: String,
    pub handshake: &'static str,
    pub teardown: &'static str,
    pub closer: Option<&'static str>,
    pub time_wait: Option<&'static str>,
    pub end_states: [TcpState; 2],
    pub zeek: String,
    pub role_inferred: bool,
    pub marks: Vec<Mark>,
    /// The precision of the capture's timestamps.
    pub precision: Precision,
}

/// Keeps the records of the connections `show` may want (by id, or on a
/// pair of addresses), and nothing else.
pub struct ShowSink {
    id: Option<u64>,
    ends: Option<(SocketAddr, SocketAddr)>,
    pub found: Vec<Shown>,
}

impl ShowSink {
    /// Connection `id`, or any on the addresses `a` and `b` (either way).
    pub fn new(id: Option<u64>, ends: Option<(SocketAddr, SocketAddr)>) -> Self {
        ShowSink {
            id,
            ends,
            found: Vec::new(),
        }
    }
}

impl Sink for ShowSink {
    fn connection(&mut self, r: &ConnRecord<'_>, findings: &[Finding]) -> io::Result<()> {
        // Compared as addresses: no text is made for the connections passed over.
        let (client, server) = (r.client.0, r.server.0);
        let wanted = self.id == Some(r.id)
            || self
                .ends
                .is_some_and(|(a, b)| (a == client && b == server) || (a == server && b == client));
        if !wanted {
            return Ok(());
        }
        let (client, server) = (client.to_string(), server.to_string());
        self.found.push(Shown {
            id: r.id,
            client,
            server,
            handshake: r.handshake.name(),
            teardown: r.teardown.name(),
            closer: r.closer.map(|p| p.name()),
            time_wait: r.time_wait.map(|p| p.name()),
            end_states: [r.state.client, r.state.server],
            zeek: format!("{} {}", r.zeek.conn_state, r.zeek.history),
            role_inferred: r.role_inferred,
            precision: r.precision,
            marks: findings
                .iter()
                .map(|f| Mark {
                    kind: f.kind,
                    severity: f.severity,
                    message: f.message.clone(),
                    frame: ["frame", "first_frame", "fin_frame", "rst_frame"]
                        .iter()
                        .find_map(|k| f.evidence.get(k).and_then(|v| v.as_u64())),
                    ts: f.ts,
                })
                .collect(),
        });
        Ok(())
    }

    fn host_findings(&mut self, _: &[Finding], _: Precision) -> io::Result<()> {
        Ok(())
    }

    fn finish(&mut self, _: &Summary) -> io::Result<()> {
        Ok(())
    }
}

/// Runs of at least this many plain data/ACK segments fold into one line.
const FOLD_MIN: usize = 16;
/// Segments shown at each end of a folded run.
const FOLD_KEEP: usize = 3;
/// Width of the arrow column.
const ARROW: usize = 46;

/// One row of the diagram.
enum Row<'a> {
    Seg {
        step: &'a Step,
        label: String,
        /// New states (client, server), shown when they changed.
        states: [Option<TcpState>; 2],
        notes: Vec<String>,
    },
    Fold(String),
}

fn flag_names(s: &Step) -> String {
    let f = s.flags;
    let mut names = Vec::new();
    if f.syn() {
        names.push("SYN");
    }
    if f.fin() {
        names.push("FIN");
    }
    if f.rst() {
        names.push("RST");
    }
    if f.contains(crate::decode::TcpFlags::PSH) {
        names.push("PSH");
    }
    if f.ack() {
        names.push("ACK");
    }
    if names.is_empty() {
        names.push("none");
    }
    names.join(",")
}

fn plural(n: u64, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

fn bytes(n: u64) -> String {
    match n {
        n if n >= 1_000_000 => format!("{:.1} MB", n as f64 / 1e6),
        n if n >= 10_000 => format!("{:.1} kB", n as f64 / 1e3),
        n => format!("{n} B"),
    }
}

/// Builds the rows: relative numbers, state changes, marks, folding.
fn rows<'a>(steps: &'a [Step], shown: &Shown, full: bool) -> Vec<Row<'a>> {
    // Relative numbers start at each side's first sequence number seen (its
    // ISN when the SYN was captured).
    let base: [Option<u32>; 2] = [Dir::Client, Dir::Server].map(|d| {
        let mut mine = steps.iter().filter(|s| s.dir == d);
        steps
            .iter()
            .filter(|s| s.dir == d)
            .find(|s| s.flags.syn())
            .or_else(|| mine.next())
            .map(|s| s.seq)
    });
    let rel = |side: Dir, v: u32| v.wrapping_sub(base[side as usize].unwrap_or(v));
    let mut prev = [TcpState::Closed; 2];
    let mut out: Vec<Row<'a>> = Vec::with_capacity(steps.len());
    let mut seen_syn_fin: Vec<(Dir, u32, bool)> = Vec::new();
    for s in steps {
        let peer = match s.dir {
            Dir::Client => Dir::Server,
            Dir::Server => Dir::Client,
        };
        let mut label = format!("{} seq={}", flag_names(s), rel(s.dir, s.seq));
        if s.flags.ack() {
            label.push_str(&format!(" ack={}", rel(peer, s.ack)));
        }
        if s.len > 0 {
            label.push_str(&format!(" len={}", s.len));
        }
        if s.window == 0 && !s.flags.rst() {
            label.push_str(" win=0");
        }
        let mut notes = Vec::new();
        // A SYN or FIN sent again with the same sequence number.
        let control = s.flags.syn() || s.flags.fin();
        if control {
            let key = (s.dir, s.seq, s.flags.syn());
            if seen_syn_fin.contains(&key) {
                notes.push("↻ retransmission".to_string());
            } else {
                seen_syn_fin.push(key);
            }
        }
        if s.retransmitted && !notes.iter().any(|n| n.starts_with('↻')) {
            notes.push("↻ retransmission".to_string());
        }
        if s.duplicate {
            notes.push("duplicate packet".to_string());
        }
        for m in shown.marks.iter().filter(|m| m.frame == Some(s.frame)) {
            notes.push(format!("⚠ {} ({})", m.kind, m.severity));
        }
        let states = [0, 1].map(|i| (s.states[i] != prev[i]).then_some(s.states[i]));
        prev = s.states;
        out.push(Row::Seg {
            step: s,
            label,
            states,
            notes,
        });
    }
    // Findings without a frame go on the last row.
    if let Some(Row::Seg { notes, .. }) = out.last_mut() {
        for m in shown.marks.iter().filter(|m| m.frame.is_none()) {
            notes.push(format!("⚠ {} ({})", m.kind, m.severity));
        }
    }
    if full {
        return out;
    }
    fold(out)
}

/// Folds long runs of plain segments (data and ACKs in ESTABLISHED, no
/// state change, nothing marked) into a summary line.
fn fold<'a>(rows: Vec<Row<'a>>) -> Vec<Row<'a>> {
    let plain = |r: &Row<'_>| match r {
        Row::Seg {
            step,
            states,
            notes,
            ..
        } => {
            !step.flags.syn()
                && !step.flags.fin()
                && !step.flags.rst()
                && states.iter().all(|s| s.is_none())
                && notes
                    .iter()
                    .all(|n| n.starts_with('↻') || n == "duplicate packet")
        }
        Row::Fold(_) => false,
    };
    let mut out = Vec::with_capacity(rows.len().min(64));
    let mut run: Vec<Row<'a>> = Vec::new();
    let flush = |run: &mut Vec<Row<'a>>, out: &mut Vec<Row<'a>>| {
        if run.len() < FOLD_MIN {
            out.append(run);
            return;
        }
        let mut rest: Vec<Row<'a>> = std::mem::take(run);
        let tail = rest.split_off(rest.len() - FOLD_KEEP);
        let middle = rest.split_off(FOLD_KEEP);
        out.append(&mut rest);
        let (mut segs, mut data, mut retrans) = ([0u64; 2], [0u64; 2], 0u64);
        for r in &middle {
            if let Row::Seg { step, .. } = r {
                segs[step.dir as usize] += 1;
                data[step.dir as usize] += u64::from(step.len);
                retrans += u64::from(step.retransmitted);
            }
        }
        let mut text = format!(
            "⋮ {} folded: client→server {} with {}, server→client {} with {}",
            plural(middle.len() as u64, "segment"),
            plural(segs[0], "segment"),
            bytes(data[0]),
            plural(segs[1], "segment"),
            bytes(data[1]),
        );
        if retrans > 0 {
            text.push_str(&format!(", {}", plural(retrans, "retransmission")));
        }
        text.push_str(" (--full shows them)");
        out.push(Row::Fold(text));
        out.extend(tail);
    };
    for r in rows {
        if plain(&r) {
            run.push(r);
        } else {
            flush(&mut run, &mut out);
            out.push(r);
        }
    }
    flush(&mut run, &mut out);
    out
}

fn summary_line(s: &Shown) -> String {
    let who = |p: &str| match p {
        "both" => "both sides".to_string(),
        p => format!("the {p}"),
    };
    let mut parts = vec![format!("handshake: {}", s.handshake)];
    parts.push(match (s.teardown, s.closer) {
        (t, Some(c)) => format!("ending: {t}, closed by {}", who(c)),
        (t, None) => format!("ending: {t}"),
    });
    if let Some(tw) = s.time_wait {
        parts.push(format!("TIME-WAIT held by {}", who(tw)));
    }
    let waiting: Vec<String> = [("client", s.end_states[0]), ("server", s.end_states[1])]
        .into_iter()
        .filter_map(|(who, st)| {
            let why = match st {
                TcpState::Closed => return None,
                TcpState::TimeWait => "holding the port until 2MSL passes",
                TcpState::CloseWait => "its peer closed, its application never closed the socket",
                TcpState::FinWait1 => "its FIN never acknowledged",
                TcpState::FinWait2 => "waiting for the peer's FIN",
                TcpState::LastAck => "waiting for the ACK of its FIN",
                TcpState::Closing => "both FINs sent, its own not yet acknowledged",
                TcpState::SynSent | TcpState::SynReceived => "the handshake never finished",
                TcpState::Established => "still open when the capture ended",
            };
            Some(format!("the {who} in {} ({why})", st.name()))
        })
        .collect();
    let end = if waiting.is_empty() {
        "neither side is left waiting".to_string()
    } else {
        format!("left waiting: {}", waiting.join(", "))
    };
    format!("{}.\n{end}", parts.join("; "))
}

fn arrow(dir: Dir, label: &str) -> String {
    let label: String = label.chars().take(ARROW - 6).collect();
    let fill = ARROW.saturating_sub(label.chars().count() + 5);
    match dir {
        Dir::Client => format!("── {label} {}▶", "─".repeat(fill)),
        Dir::Server => format!("◀{} {label} ──", "─".repeat(fill)),
    }
}

/// The diagram as text.
pub fn write_text(
    out: &mut dyn Write,
    file: &str,
    shown: &Shown,
    steps: &[Step],
    not_kept: u64,
    full: bool,
) -> io::Result<()> {
    writeln!(out, "connection #{} in {file}", shown.id)?;
    writeln!(
        out,
        "client {} → server {}{}",
        shown.client,
        shown.server,
        if shown.role_inferred {
            " (roles inferred: the capture missed the handshake)"
        } else {
            ""
        }
    )?;
    writeln!(out, "{}", summary_line(shown))?;
    writeln!(out, "Zeek: {}", shown.zeek)?;
    for m in &shown.marks {
        writeln!(out, "⚠ {} ({}): {}", m.kind, m.severity, m.message)?;
    }
    writeln!(out)?;
    let Some(first) = steps.first() else {
        return writeln!(out, "(no segments)");
    };
    let decimals = match shown.precision {
        Precision::Micro => 6,
        Precision::Nano => 9,
    };
    writeln!(
        out,
        "{:>12}  {:<12} {:w$} server",
        "elapsed s",
        "client",
        "",
        w = ARROW
    )?;
    for r in rows(steps, shown, full) {
        match r {
            Row::Seg {
                step,
                label,
                states,
                notes,
            } => {
                let t = step.ts.since(first.ts) as f64 / 1e9;
                let cs = states[0].map(|s| s.name()).unwrap_or("");
                let ss = states[1].map(|s| s.name()).unwrap_or("");
                let line = format!(
                    "{t:>12.decimals$}  {cs:<12} {} {ss:<12} {}",
                    arrow(step.dir, &label),
                    notes.join("  ")
                );
                writeln!(out, "{}", line.trim_end())?;
            }
            Row::Fold(text) => writeln!(out, "{:>12}  {:<12} {text}", "", "")?,
        }
    }
    if not_kept > 0 {
        writeln!(out, "… and {not_kept} more segments not kept")?;
    }
    Ok(())
}

/// Mermaid treats `;` and `#` specially in messages, and breaks lines
/// with `<br/>`.
fn mermaid_text(s: &str) -> String {
    s.replace(';', ",")
        .replace('#', "no. ")
        .replace('\n', "<br/>")
}

/// The diagram as a Mermaid sequence diagram.
pub fn write_mermaid(
    out: &mut dyn Write,
    shown: &Shown,
    steps: &[Step],
    not_kept: u64,
    full: bool,
) -> io::Result<()> {
    writeln!(out, "sequenceDiagram")?;
    writeln!(out, "    participant C as client {}", shown.client)?;
    writeln!(out, "    participant S as server {}", shown.server)?;
    writeln!(
        out,
        "    Note over C,S: connection {}: {}",
        shown.id,
        mermaid_text(&summary_line(shown))
    )?;
    for r in rows(steps, shown, full) {
        match r {
            Row::Seg {
                step,
                label,
                states,
                notes,
            } => {
                let retrans = notes.iter().any(|n| n.starts_with('↻'));
                let (from, to) = match step.dir {
                    Dir::Client => ("C", "S"),
                    Dir::Server => ("S", "C"),
                };
                // A cross for resets, dotted for retransmissions.
                let arrow = if step.flags.rst() {
                    "-x"
                } else if retrans {
                    "-->>"
                } else {
                    "->>"
                };
                writeln!(out, "    {from}{arrow}{to}: {}", mermaid_text(&label))?;
                if let Some(s) = states[0] {
                    writeln!(out, "    Note left of C: {}", s.name())?;
                }
                if let Some(s) = states[1] {
                    writeln!(out, "    Note right of S: {}", s.name())?;
                }
                for n in notes.iter().filter(|n| n.starts_with('⚠')) {
                    writeln!(out, "    Note over C,S: {}", mermaid_text(n))?;
                }
            }
            Row::Fold(text) => writeln!(out, "    Note over C,S: {}", mermaid_text(&text))?,
        }
    }
    if not_kept > 0 {
        writeln!(out, "    Note over C,S: {not_kept} more segments not kept")?;
    }
    Ok(())
}
