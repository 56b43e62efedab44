//! One rule per finding kind, grouped by what ends a connection.

mod capture;
mod close;
mod handshake;
mod reset;
mod time_wait;

use capture::*;
use close::*;
use handshake::*;
use reset::*;
use time_wait::*;

use super::{Finding, FindingKind, Severity, Thresholds};
use crate::capture::Timestamp;
use crate::conn::{Connection, Dir, Verdict};

/// Appends the findings about `c`, judged at capture time `now`.
pub fn evaluate(
    c: &Connection,
    v: &Verdict,
    now: Timestamp,
    th: &Thresholds,
    out: &mut Vec<Finding>,
) {
    midstream(c, out);
    refused(c, v, out);
    no_answer(c, v, now, out);
    for dir in [Dir::Client, Dir::Server] {
        rst_abort(c, v, dir, out);
        rst_after_fin(c, dir, out);
        fin_retransmission(c, dir, th, out);
        fin_unacked(c, dir, now, th, out);
        close_wait_stall(c, dir, now, th, out);
        data_after_fin(c, dir, out);
        rst_suspected_injection(c, dir, out);
        rst_discards_data(c, dir, out);
        zero_window_stall(c, dir, now, th, out);
        final_ack_lost(c, dir, out);
        time_wait_extended(c, dir, out);
        last_ack_reset(c, dir, out);
        time_wait_assassination_within(c, dir, th, out);
    }
    prior_generation(c, out);
    half_close(c, out);
    capture_gap(c, out);
    duplicate_packets(c, out);
}

pub(super) fn finding(
    c: &Connection,
    kind: FindingKind,
    severity: Severity,
    ts: Timestamp,
    message: String,
    evidence: crate::findings::Evidence,
) -> Finding {
    Finding {
        kind,
        severity,
        connection: Some(c.id()),
        host: None,
        ts,
        message,
        evidence,
    }
}

pub(super) fn who(c: &Connection, d: Dir) -> Who {
    Who(d, c.addr(d))
}

/// A finding's message appended piece by piece, for the messages most
/// captures are full of: `format!` goes through the formatting machinery,
/// about 1,500 instructions for one of them, more than judging the
/// connection that earned it. Writes what `format!` with `who` and the
/// addresses' `Display` writes.
pub(super) struct Msg(Vec<u8>);

impl Msg {
    pub(super) fn new() -> Msg {
        Msg(Vec::with_capacity(192))
    }

    pub(super) fn text(mut self, s: &str) -> Msg {
        self.0.extend_from_slice(s.as_bytes());
        self
    }

    /// `client 10.0.0.1:5000`, as [`who`] displays.
    pub(super) fn who(self, c: &Connection, d: Dir) -> Msg {
        self.text(d.name()).text(" ").addr(c.addr(d))
    }

    pub(super) fn addr(mut self, a: crate::flow::SocketAddr) -> Msg {
        a.write_to(&mut self.0);
        self
    }

    pub(super) fn int(mut self, v: u64) -> Msg {
        self.0
            .extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
        self
    }

    pub(super) fn done(self) -> String {
        // Every piece is a `&str` or ASCII digits and addresses.
        String::from_utf8(self.0).unwrap_or_default()
    }
}

/// `client 10.0.0.1:5000`: a side and its address, written straight into
/// the message it is part of (no `String` of its own).
pub(super) struct Who(Dir, crate::flow::SocketAddr);

impl std::fmt::Display for Who {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0.name())?;
        f.write_str(" ")?;
        std::fmt::Display::fmt(&self.1, f)
    }
}
