//! One rule per finding kind.

use serde_json::json;

use super::{secs, Finding, FindingKind, Severity, Thresholds};
use crate::capture::Timestamp;
use crate::conn::{Connection, Dir, TcpState, Teardown, Verdict};

/// An unanswered SYN is only "no answer" after this long or a retransmission
/// (RFC 6298 §2: the initial RTO is 1 s; 3 s covers the classic value).
const NO_ANSWER_AFTER_NS: i64 = 3_000_000_000;

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
    }
    half_close(c, out);
    capture_gap(c, out);
    duplicate_packets(c, out);
}

fn finding(
    c: &Connection,
    kind: FindingKind,
    severity: Severity,
    ts: Timestamp,
    message: String,
    evidence: serde_json::Value,
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

fn who(c: &Connection, d: Dir) -> String {
    format!("{} {}", d.name(), c.addr(d))
}

fn midstream(c: &Connection, out: &mut Vec<Finding>) {
    if !c.is_midstream() {
        return;
    }
    let how = if c.role_inferred {
        "; client and server guessed from the ports"
    } else {
        ""
    };
    out.push(finding(
        c,
        FindingKind::Midstream,
        Severity::Info,
        c.first_seen.ts,
        format!(
            "{} ↔ {} was already open when the capture started (no SYN seen){how}",
            c.client, c.server
        ),
        json!({"first_frame": c.first_seen.frame, "role_inferred": c.role_inferred}),
    ));
}

fn refused(c: &Connection, v: &Verdict, out: &mut Vec<Finding>) {
    if v.teardown != Teardown::Refused {
        return;
    }
    let (Some(syn), Some(rst)) = (c.ep[0].syn, c.ep[1].rst) else {
        return;
    };
    out.push(finding(
        c,
        FindingKind::Refused,
        Severity::Info,
        rst.at.ts,
        format!("{} refused the connection from {}: SYN answered by RST (nothing listening, or a firewall)", c.server, c.client),
        json!({"syn_frame": syn.frame, "rst_frame": rst.at.frame, "syns": c.ep[0].syn_count,
               "rst_ack": rst.ack.map(|a| a.0)}),
    ));
}

fn no_answer(c: &Connection, v: &Verdict, now: Timestamp, out: &mut Vec<Finding>) {
    if v.teardown != Teardown::NoAnswer {
        return;
    }
    let Some(syn) = c.ep[0].syn else { return };
    let syns = c.ep[0].syn_count;
    let waited = now.since(syn.ts);
    // The capture must have watched long enough (taxonomy: "never claim a
    // stall without enough observed time").
    if syns < 2 && waited < NO_ANSWER_AFTER_NS {
        return;
    }
    out.push(finding(
        c,
        FindingKind::NoAnswer,
        Severity::Warning,
        syn.ts,
        format!(
            "{} sent {syns} SYN{} to {} and got no answer in {} (host down, or packets dropped)",
            c.client,
            if syns == 1 { "" } else { "s" },
            c.server,
            secs(waited)
        ),
        json!({"first_syn_frame": syn.frame, "syns": syns, "retransmissions": syns.saturating_sub(1),
               "observed_s": waited as f64 / 1e9}),
    ));
}

fn rst_abort(c: &Connection, v: &Verdict, dir: Dir, out: &mut Vec<Finding>) {
    if v.teardown != Teardown::Reset || v.closer != Some(dir.into()) {
        return;
    }
    let e = c.endpoint(dir);
    let Some(rst) = e.rst else { return };
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
        format!(
            "{} aborted the connection to {} with RST{state} (no FIN before it: SO_LINGER 0, a crash, or a closed socket with unread data)",
            who(c, dir),
            c.addr(dir.other())
        ),
        json!({"by": dir.name(), "frame": rst.at.frame, "seq": rst.seq.0, "ack": rst.ack.map(|a| a.0),
               "with_ack": rst.ack.is_some(), "seq_is_next": rst.seq_is_next,
               "state_before": rst.state_before.name(), "payload_len": rst.payload_len}),
    ));
}

fn rst_after_fin(c: &Connection, dir: Dir, out: &mut Vec<Finding>) {
    let e = c.endpoint(dir);
    let (Some(fin), Some(rst)) = (e.fin, e.rst) else {
        return;
    };
    if rst.at.ts < fin.first.ts {
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
        json!({"by": dir.name(), "fin_frame": fin.first.frame, "rst_frame": rst.at.frame,
               "answers_late_data": rst.after_peer_data, "seq": rst.seq.0}),
    ));
}

fn fin_retransmission(c: &Connection, dir: Dir, th: &Thresholds, out: &mut Vec<Finding>) {
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
        format!(
            "{} retransmitted its FIN {retries} time{} ({})",
            who(c, dir),
            if retries == 1 { "" } else { "s" },
            if fin.acked.is_some() { "its ACK was slow or lost" } else { "no ACK ever came back" }
        ),
        json!({"by": dir.name(), "fin_seq": fin.seq.0, "first_frame": fin.first.frame,
               "last_frame": fin.last.frame, "retransmissions": retries, "acked": fin.acked.is_some()}),
    ));
}

fn fin_unacked(c: &Connection, dir: Dir, now: Timestamp, th: &Thresholds, out: &mut Vec<Finding>) {
    let Some(fin) = c.endpoint(dir).fin else {
        return;
    };
    if fin.acked.is_some() || c.ep.iter().any(|e| e.rst.is_some_and(|r| r.accepted)) {
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
        json!({"by": dir.name(), "fin_seq": fin.seq.0, "first_frame": fin.first.frame,
               "retransmissions": retries, "observed_s": waited as f64 / 1e9}),
    ));
}

fn close_wait_stall(
    c: &Connection,
    dir: Dir,
    now: Timestamp,
    th: &Thresholds,
    out: &mut Vec<Finding>,
) {
    let Some(w) = c.close_wait.as_deref().filter(|w| w.by == dir) else {
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
        json!({"by": dir.name(), "peer_fin_acked_frame": w.since.frame, "quiet_s": quiet as f64 / 1e9,
               "closed_frame": w.ended.map(|e| e.frame)}),
    ));
}

fn half_close(c: &Connection, out: &mut Vec<Finding>) {
    let Some(h) = c.half_close.as_deref() else {
        return;
    };
    out.push(finding(
        c,
        FindingKind::HalfClose,
        Severity::Info,
        h.first.ts,
        format!(
            "{} kept sending after {} closed its side: {} bytes in {} segment{} (a half-close, RFC 9293 §3.6)",
            who(c, h.by),
            c.addr(h.by.other()),
            h.bytes,
            h.packets,
            if h.packets == 1 { "" } else { "s" }
        ),
        json!({"by": h.by.name(), "first_frame": h.first.frame, "bytes": h.bytes, "packets": h.packets}),
    ));
}

/// Trap: bytes the peer acknowledged that the capture never held, and that
/// nobody retransmitted, were lost by the capture, not the network.
fn capture_gap(c: &Connection, out: &mut Vec<Finding>) {
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
        json!({"missed_bytes": {"client": client, "server": server}}),
    ));
}

/// Trap: the same packet captured twice (on `any`, or a SPAN port) is not a
/// retransmission.
fn duplicate_packets(c: &Connection, out: &mut Vec<Finding>) {
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
        json!({"duplicates": {"client": client, "server": server}}),
    ));
}

/// A hop-count change this large between a side's RST and its first packet
/// marks the RST as coming from somewhere else.
const TTL_DELTA: u8 = 5;

/// RFC 9293 §3.6: a FIN is the last octet a side sends; payload at or past
/// it is a broken stack or a forged segment.
fn data_after_fin(c: &Connection, dir: Dir, out: &mut Vec<Finding>) {
    let e = c.endpoint(dir);
    let (Some(a), Some(fin)) = (e.data_after_fin.as_deref(), e.fin) else {
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
        json!({"by": dir.name(), "frame": a.0.frame, "bytes": a.1, "fin_seq": fin.seq.0}),
    ));
}

/// Taxonomy: a RST whose sender then carries on, or whose TTL differs from
/// that side's usual, was probably not sent by that side's stack.
fn rst_suspected_injection(c: &Connection, dir: Dir, out: &mut Vec<Finding>) {
    let e = c.endpoint(dir);
    let Some(rst) = e.rst.filter(|r| r.accepted) else {
        return;
    };
    let after = e.after_rst.as_deref();
    let usual = e.ttl.unwrap_or(rst.ttl);
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
        json!({"by": dir.name(), "rst_frame": rst.at.frame, "rst_ttl": rst.ttl, "usual_ttl": usual,
               "segments_after": after.map(|a| a.1), "first_after_frame": after.map(|a| a.0.frame)}),
    ));
}

/// RFC 9293 §3.10.7 (and SHLD-3, §3.6): a RST throws away data in flight.
/// Bytes the peer sent at least one round trip before the RST and the
/// sender never acknowledged were lost with it; so is payload on the RST.
fn rst_discards_data(c: &Connection, dir: Dir, out: &mut Vec<Finding>) {
    let Some(rst) = c.endpoint(dir).rst.filter(|r| r.accepted) else {
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
        json!({"by": dir.name(), "rst_frame": rst.at.frame, "unacked_bytes": unacked,
               "rst_payload": rst.payload_len, "rtt_s": rtt as f64 / 1e9}),
    ));
}

/// RFC 9293 §3.8.6.1: behind a zero window the sender can only probe; stuck
/// that way for `--stall` with probes seen, the receiver stopped reading.
fn zero_window_stall(
    c: &Connection,
    dir: Dir,
    now: Timestamp,
    th: &Thresholds,
    out: &mut Vec<Finding>,
) {
    // `dir` is the receiver that advertised the zero window.
    let Some(z) = c.endpoint(dir).zero_window.as_deref() else {
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
        json!({"receiver": dir.name(), "closed_s": closed as f64 / 1e9, "probes": z.probes, "reopened": z.since.is_none()}),
    ));
}
