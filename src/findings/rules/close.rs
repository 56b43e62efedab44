//! Closing with FINs: retransmitted or unacknowledged FINs, CLOSE-WAIT, half-closes, data after a FIN, zero windows.

use crate::findings::evidence;

use super::{finding, who, Msg};
use crate::capture::Timestamp;
use crate::conn::{Connection, Dir};
use crate::findings::{secs, Finding, FindingKind, Severity, Thresholds};

pub(super) fn fin_retransmission(
    c: &Connection,
    dir: Dir,
    th: &Thresholds,
    out: &mut Vec<Finding>,
) {
    let Some(fin) = c.endpoint(dir).fin else {
        return;
    };
    if fin.count < 2 {
        return;
    }
    let retries = fin.count - 1;
    let severity = if retries >= th.fin_retries {
        Severity::Warning
    } else {
        Severity::Info
    };
    out.push(finding(
        c,
        FindingKind::FinRetransmission,
        severity,
        fin.last.ts,
        Msg::new()
            .who(c, dir)
            .text(" retransmitted its FIN ")
            .int(u64::from(retries))
            .text(if retries == 1 { " time (" } else { " times (" })
            .text(if fin.acked.is_some() { "its ACK was slow or lost" } else { "no ACK ever came back" })
            .text(")")
            .done(),
        evidence!({"by": dir.name(), "fin_seq": fin.seq.0, "first_frame": fin.first.frame(),
               "last_frame": fin.last.frame(), "retransmissions": retries, "acked": fin.acked.is_some()}),
    ));
}

pub(super) fn fin_unacked(
    c: &Connection,
    dir: Dir,
    now: Timestamp,
    th: &Thresholds,
    out: &mut Vec<Finding>,
) {
    let Some(fin) = c.endpoint(dir).fin else {
        return;
    };
    if fin.acked.is_some() || c.ep.iter().any(|e| e.rst().is_some_and(|r| r.accepted)) {
        return;
    }
    // Trap: nothing from the peer was ever captured (a one-sided capture):
    // its ACKs cannot be judged.
    if c.endpoint(dir.other()).packets == 0 {
        return;
    }
    let retries = fin.count - 1;
    let waited = now.since(fin.first.ts);
    if retries < th.fin_retries && waited < th.stall {
        return;
    }
    // Trap: a FIN the sender never retransmitted was acked on the wire;
    // only the capture missed the ACK.
    let (severity, why) = if retries == 0 {
        (Severity::Info, "; it was never retransmitted, so the ACK was most likely lost by the capture, not the network")
    } else {
        (Severity::Warning, "")
    };
    out.push(finding(
        c,
        FindingKind::FinUnacked,
        severity,
        fin.first.ts,
        format!(
            "{}'s FIN was never acknowledged ({retries} retransmission{}, watched for {}){why}",
            who(c, dir),
            if retries == 1 { "" } else { "s" },
            secs(waited)
        ),
        evidence!({"by": dir.name(), "fin_seq": fin.seq.0, "first_frame": fin.first.frame(),
               "retransmissions": retries, "observed_s": waited as f64 / 1e9}),
    ));
}

pub(super) fn close_wait_stall(
    c: &Connection,
    dir: Dir,
    now: Timestamp,
    th: &Thresholds,
    out: &mut Vec<Finding>,
) {
    let Some(w) = c.close_wait.as_ref().filter(|w| w.by == dir) else {
        return;
    };
    let (quiet, from) = w.longest_quiet_at(now);
    if quiet < th.stall {
        return;
    }
    let outcome = match w.ended {
        Some(_) => "before it finally closed",
        None => "and had not closed when the capture ended (an application not closing its socket)",
    };
    out.push(finding(
        c,
        FindingKind::CloseWaitStall,
        Severity::Warning,
        from,
        format!(
            "{} sat in CLOSE-WAIT for {} without sending or closing after {} closed, {outcome}",
            who(c, dir),
            secs(quiet),
            c.addr(dir.other())
        ),
        evidence!({"by": dir.name(), "peer_fin_acked_frame": w.since.frame(), "quiet_s": quiet as f64 / 1e9,
               "closed_frame": w.ended.map(|e| e.frame())}),
    ));
}

pub(super) fn half_close(c: &Connection, out: &mut Vec<Finding>) {
    let Some(h) = c.half_close.as_deref() else {
        return;
    };
    out.push(finding(
        c,
        FindingKind::HalfClose,
        Severity::Info,
        h.first.ts,
        Msg::new()
            .who(c, h.by)
            .text(" kept sending after ")
            .addr(c.addr(h.by.other()))
            .text(" closed its side: ")
            .int(h.bytes)
            .text(" bytes in ")
            .int(h.packets)
            .text(if h.packets == 1 { " segment" } else { " segments" })
            .text(" (a half-close, RFC 9293 §3.6)")
            .done(),
        evidence!({"by": h.by.name(), "first_frame": h.first.frame(), "bytes": h.bytes, "packets": h.packets}),
    ));
}

/// RFC 9293 §3.6: a FIN is the last octet a side sends; payload at or past
/// it is a broken stack or a forged segment.
pub(super) fn data_after_fin(c: &Connection, dir: Dir, out: &mut Vec<Finding>) {
    let e = c.endpoint(dir);
    let (Some(a), Some(fin)) = (e.data_after_fin(), e.fin) else {
        return;
    };
    out.push(finding(
        c,
        FindingKind::DataAfterFin,
        Severity::Error,
        a.0.ts,
        format!(
            "{} sent {} bytes of payload at or after its own FIN (seq {})",
            who(c, dir),
            a.1,
            fin.seq.0
        ),
        evidence!({"by": dir.name(), "frame": a.0.frame(), "bytes": a.1, "fin_seq": fin.seq.0}),
    ));
}

/// RFC 9293 §3.8.6.1: behind a zero window the sender can only probe; stuck
/// that way for `--stall` with probes seen, the receiver stopped reading.
pub(super) fn zero_window_stall(
    c: &Connection,
    dir: Dir,
    now: Timestamp,
    th: &Thresholds,
    out: &mut Vec<Finding>,
) {
    // `dir` is the receiver that advertised the zero window.
    let Some(z) = c.endpoint(dir).zero_window() else {
        return;
    };
    let (closed, from) = z.longest_at(now);
    if closed < th.stall || z.probes == 0 {
        return;
    }
    let state = if z.since.is_some() {
        "and it never reopened"
    } else {
        "before it reopened"
    };
    out.push(finding(
        c,
        FindingKind::ZeroWindowStall,
        Severity::Warning,
        from,
        format!(
            "{} advertised a zero window for {} {state}: {} could only probe ({} probe{}); its application stopped reading",
            who(c, dir),
            secs(closed),
            c.addr(dir.other()),
            z.probes,
            if z.probes == 1 { "" } else { "s" }
        ),
        evidence!({"receiver": dir.name(), "closed_s": closed as f64 / 1e9, "probes": z.probes, "reopened": z.since.is_none()}),
    ));
}
