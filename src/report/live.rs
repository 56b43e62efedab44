//! The live view `finscope live` draws on a terminal about once a second:
//! packets per second, drops, endpoints by state, the hosts piling up
//! TIME-WAIT or CLOSE-WAIT, and the newest findings.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{self, Write};
use std::rc::Rc;

use super::{ConnRecord, Sink, Summary};
use crate::capture::Precision;
use crate::conn::TcpState;
use crate::findings::Finding;
use crate::pipeline::Snapshot;

/// Findings shown in the view.
const NEWEST: usize = 8;

/// The newest findings, shared between [`Recent`] and the view.
pub type NewestFindings = Rc<RefCell<VecDeque<String>>>;

/// Passes records on to the final report's sink and keeps the newest
/// findings for the view.
pub struct Recent<S: Sink> {
    pub inner: S,
    newest: NewestFindings,
}

impl<S: Sink> Recent<S> {
    pub fn new(inner: S) -> (Self, NewestFindings) {
        let newest = NewestFindings::default();
        (
            Recent {
                inner,
                newest: newest.clone(),
            },
            newest,
        )
    }

    fn keep(&self, f: &Finding, precision: Precision) {
        let mut q = self.newest.borrow_mut();
        if q.len() == NEWEST {
            q.pop_front();
        }
        let ts = f.ts.rfc3339(precision).to_string();
        // The time of day is enough on a screen that refreshes.
        let time = ts.get(11..19).unwrap_or(&ts).to_string();
        let who = match (f.connection, f.host) {
            (Some(id), _) => format!("#{id}"),
            (None, Some(h)) => h.to_string(),
            _ => String::new(),
        };
        q.push_back(format!(
            "{time} {:<7} {:<24} {who} {}",
            f.severity.name(),
            f.kind.name(),
            f.message
        ));
    }
}

impl<S: Sink> Sink for Recent<S> {
    fn connection(&mut self, r: &ConnRecord<'_>, findings: &[Finding]) -> io::Result<()> {
        for f in findings {
            self.keep(f, r.precision);
        }
        self.inner.connection(r, findings)
    }

    fn host_findings(&mut self, findings: &[Finding], precision: Precision) -> io::Result<()> {
        self.inner.host_findings(findings, precision)
    }

    fn finish(&mut self, summary: &Summary) -> io::Result<()> {
        // The final report replaces the view.
        let mut err = io::stderr().lock();
        err.write_all(b"\x1b[H\x1b[2J")?;
        err.flush()?;
        self.inner.finish(summary)
    }
}

/// What one frame of the view shows besides the snapshot.
pub struct ViewFrame<'a> {
    pub interface: &'a str,
    pub filter: Option<&'a str>,
    pub elapsed_s: f64,
    pub packets: u64,
    pub packets_per_s: f64,
    pub dropped: u64,
    pub if_dropped: u64,
    pub findings: u64,
    pub width: usize,
}

/// Draws one frame (clearing the screen first).
pub fn draw_view(
    out: &mut dyn Write,
    f: &ViewFrame<'_>,
    snap: &Snapshot,
    newest: &NewestFindings,
) -> io::Result<()> {
    let cut = |s: &str| -> String { s.chars().take(f.width.max(20)).collect() };
    let mut text = String::with_capacity(2048);
    text.push_str("\x1b[H\x1b[2J");
    let filter = f.filter.map(|x| format!(" ({x})")).unwrap_or_default();
    text.push_str(&cut(&format!(
        "finscope live on {}{filter}: {:.0}s, {} packets, {:.0}/s, dropped {} by the kernel, {} by the interface",
        f.interface, f.elapsed_s, f.packets, f.packets_per_s, f.dropped, f.if_dropped
    )));
    text.push_str("\r\n\r\n");
    text.push_str(&format!(
        "connections tracked: {}   findings so far: {}\r\n",
        snap.connections, f.findings
    ));
    let states: Vec<String> = TcpState::ALL
        .iter()
        .filter(|s| **s != TcpState::Closed)
        .filter_map(|s| {
            let n = snap.states.get(*s as usize).copied().unwrap_or(0);
            (n > 0).then(|| format!("{} {n}", s.name()))
        })
        .collect();
    text.push_str("endpoints by state: ");
    text.push_str(&cut(&if states.is_empty() {
        "none".to_string()
    } else {
        states.join("  ")
    }));
    text.push_str("\r\n\r\nhosts holding TIME-WAIT / CLOSE-WAIT now:\r\n");
    if snap.hosts.is_empty() {
        text.push_str("  none\r\n");
    }
    for h in &snap.hosts {
        let line = match h.toward {
            Some(t) => format!("  {} → {t}: TIME-WAIT {}", h.host, h.time_wait),
            None => format!("  {}: CLOSE-WAIT {}", h.host, h.close_wait),
        };
        text.push_str(&cut(&line));
        text.push_str("\r\n");
    }
    text.push_str("\r\nnewest findings:\r\n");
    let q = newest.borrow();
    if q.is_empty() {
        text.push_str("  none yet (connections are judged when they end)\r\n");
    }
    for line in q.iter().rev() {
        text.push_str("  ");
        text.push_str(&cut(line));
        text.push_str("\r\n");
    }
    text.push_str("\r\nCtrl-C stops and prints the final report.\r\n");
    out.write_all(text.as_bytes())?;
    out.flush()
}
