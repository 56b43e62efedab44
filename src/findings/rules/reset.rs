//! RSTs: aborts, RSTs after a FIN, RSTs that look injected or throw data away.

use crate::findings::evidence;

use super::{finding, who, Msg};
use crate::conn::{Connection, Dir, TcpState, Teardown, Verdict};
use crate::findings::{Finding, FindingKind, Severity};

/// A hop-count change this large between a side's RST and its first packet
/// marks the RST as coming from somewhere else.
const TTL_DELTA: u8 = 5;

pub(super) fn rst_abort(c: &Connection, v: &Verdict, dir: Dir, out: &mut Vec<Finding>) {
    if v.teardown != Teardown::Reset || v.closer != Some(dir.into()) {
        return;
    }
    let e = c.endpoint(dir);
    let Some(rst) = e.rst().copied() else {
        return;
    };
    // A RST after the sender's own FIN is `rst-after-fin`.
    if e.fin.is_some_and(|f| f.first.ts <= rst.at.ts) {
        return;
    }
    let state = if rst.state_before == TcpState::CloseWait {
        " from CLOSE-WAIT"
    } else {
        ""
    };
    out.push(finding(
        c,
        FindingKind::RstAbort,
        Severity::Warning,
        rst.at.ts,
        Msg::new()
            .who(c, dir)
            .text(" aborted the connection to ")
            .addr(c.addr(dir.other()))
            .text(" with RST")
            .text(state)
            .text(" (no FIN before it: SO_LINGER 0, a crash, or a closed socket with unread data)")
            .done(),
        evidence!({"by": dir.name(), "frame": rst.at.frame(), "seq": rst.seq.0, "ack": rst.ack.map(|a| a.0),
               "with_ack": rst.ack.is_some(), "seq_is_next": rst.seq_is_next,
               "state_before": rst.state_before.name(), "payload_len": rst.payload_len}),
    ));
}

pub(super) fn rst_after_fin(c: &Connection, dir: Dir, out: &mut Vec<Finding>) {
    let e = c.endpoint(dir);
    let (Some(fin), Some(rst)) = (e.fin, e.rst().copied()) else {
        return;
    };
    if rst.at.ts < fin.first.ts || rst.answers_fin_retransmission {
        return;
    }
    let late = if rst.after_peer_data {
        ", answering data that arrived after it had closed"
    } else {
        ""
    };
    out.push(finding(
        c,
        FindingKind::RstAfterFin,
        Severity::Info,
        rst.at.ts,
        format!("{} sent RST after its own FIN{late}", who(c, dir)),
        evidence!({"by": dir.name(), "fin_frame": fin.first.frame(), "rst_frame": rst.at.frame(),
               "answers_late_data": rst.after_peer_data, "seq": rst.seq.0}),
    ));
}

/// Taxonomy: a RST whose sender then carries on, or whose TTL differs from
/// that side's usual, was probably not sent by that side's stack.
pub(super) fn rst_suspected_injection(c: &Connection, dir: Dir, out: &mut Vec<Finding>) {
    let e = c.endpoint(dir);
    let Some(rst) = e.rst().copied().filter(|r| r.accepted) else {
        return;
    };
    let after = e.after_rst();
    let usual = e.ttl().unwrap_or(rst.ttl);
    let ttl_off = usual.abs_diff(rst.ttl) > TTL_DELTA;
    if after.is_none() && !ttl_off {
        return;
    }
    let mut why = Vec::new();
    if let Some((_, n)) = after {
        why.push(format!(
            "{n} more segment{} came from that side after it",
            if *n == 1 { "" } else { "s" }
        ));
    }
    if ttl_off {
        why.push(format!(
            "its TTL was {} where that side's packets have {usual}",
            rst.ttl
        ));
    }
    out.push(finding(
        c,
        FindingKind::RstSuspectedInjection,
        Severity::Warning,
        rst.at.ts,
        format!("the RST from {} looks injected: {}", who(c, dir), why.join(", and ")),
        evidence!({"by": dir.name(), "rst_frame": rst.at.frame(), "rst_ttl": rst.ttl, "usual_ttl": usual,
               "segments_after": after.map(|a| a.1), "first_after_frame": after.map(|a| a.0.frame())}),
    ));
}

/// RFC 9293 §3.10.7 (and SHLD-3, §3.6): a RST throws away data in flight.
/// Bytes the peer sent at least one round trip before the RST and the
/// sender never acknowledged were lost with it; so is payload on the RST.
pub(super) fn rst_discards_data(c: &Connection, dir: Dir, out: &mut Vec<Finding>) {
    let Some(rst) = c.endpoint(dir).rst().copied().filter(|r| r.accepted) else {
        return;
    };
    let rtt = c.handshake_rtt().unwrap_or(0);
    let old_enough = rst
        .peer_last_data
        .is_some_and(|d| rst.at.ts.since(d.ts) >= rtt);
    let unacked = if old_enough {
        rst.unacked_peer_bytes
    } else {
        0
    };
    if unacked == 0 && rst.payload_len == 0 {
        return;
    }
    let what = if unacked > 0 {
        format!(
            "{unacked} bytes {} had sent were never acknowledged",
            c.addr(dir.other())
        )
    } else {
        format!("the RST carried {} bytes of payload", rst.payload_len)
    };
    out.push(finding(
        c,
        FindingKind::RstDiscardsData,
        Severity::Error,
        rst.at.ts,
        format!(
            "the RST from {} discarded data in flight: {what}",
            who(c, dir)
        ),
        evidence!({"by": dir.name(), "rst_frame": rst.at.frame(), "unacked_bytes": unacked,
               "rst_payload": rst.payload_len, "rtt_s": rtt as f64 / 1e9}),
    ));
}
