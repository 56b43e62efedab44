//! What the capture itself got wrong: gaps and duplicates (traps in taxonomy.md).

use crate::findings::evidence;

use super::finding;
use crate::conn::{Connection, Dir};
use crate::findings::{Ev, Finding, FindingKind, Severity};

/// Trap: bytes the peer acknowledged that the capture never held, and that
/// nobody retransmitted, were lost by the capture, not the network.
pub(super) fn capture_gap(c: &Connection, out: &mut Vec<Finding>) {
    let (client, server) = (c.missed_bytes(Dir::Client), c.missed_bytes(Dir::Server));
    if client + server == 0 {
        return;
    }
    out.push(finding(
        c,
        FindingKind::CaptureGap,
        Severity::Info,
        c.last_seen,
        format!(
            "{} bytes of {} ↔ {} were acknowledged but never captured: the capture lost them, not the network (nobody retransmitted)",
            client + server,
            c.client,
            c.server
        ),
        evidence!({"missed_bytes": Ev::PerSide { client, server }}),
    ));
}

/// Trap: the same packet captured twice (on `any`, or a SPAN port) is not a
/// retransmission.
pub(super) fn duplicate_packets(c: &Connection, out: &mut Vec<Finding>) {
    let (client, server) = (c.ep[0].duplicates, c.ep[1].duplicates);
    if client + server == 0 {
        return;
    }
    out.push(finding(
        c,
        FindingKind::DuplicatePackets,
        Severity::Info,
        c.first_seen.ts,
        format!(
            "{} packets of {} ↔ {} were captured twice (a capture on 'any' or a SPAN port); the copies were not counted as retransmissions",
            client + server,
            c.client,
            c.server
        ),
        evidence!({"duplicates": Ev::PerSide { client, server }}),
    ));
}
