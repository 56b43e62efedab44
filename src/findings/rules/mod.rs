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
        connection: Some(c.id),
        host: None,
        ts,
        message,
        evidence,
    }
}

pub(super) fn who(c: &Connection, d: Dir) -> Who {
    Who(d, c.addr(d))
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
