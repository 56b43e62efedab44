//! One rule per finding kind.

use serde_json::json;

use super::{secs, Finding, FindingKind, Severity, Thresholds};
use crate::capture::Timestamp;
use crate::conn::{Connection, Dir, Prior, ReuseOutcome, TcpState, Teardown, Verdict};

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
    let (Some(syn), Some(rst)) = (c.ep[0].syn, c.ep[1].rst.as_deref().copied()) else {
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
    let Some(rst) = e.rst.as_deref().copied() else {
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
    let (Some(fin), Some(rst)) = (e.fin, e.rst.as_deref().copied()) else {
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
    if fin.acked.is_some()
        || c.ep
            .iter()
            .any(|e| e.rst.as_deref().is_some_and(|r| r.accepted))
    {
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
    let Some(rst) = e.rst.as_deref().copied().filter(|r| r.accepted) else {
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
    let Some(rst) = c
        .endpoint(dir)
        .rst
        .as_deref()
        .copied()
        .filter(|r| r.accepted)
    else {
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

/// Taxonomy `final-ack-lost`: the holder's ACK of the peer's FIN is in the
/// capture, yet the peer sends that FIN again: the ACK was lost beyond the
/// tap. `dir` is the side whose FIN it is.
fn final_ack_lost(c: &Connection, dir: Dir, out: &mut Vec<Finding>) {
    let Some(fin) = c.endpoint(dir).fin else {
        return;
    };
    let (Some(acked), Some(again)) = (fin.acked, fin.first_after_ack) else {
        return;
    };
    let holder = dir.other();
    out.push(finding(
        c,
        FindingKind::FinalAckLost,
        Severity::Warning,
        again.ts,
        format!(
            "{}'s final ACK of {}'s FIN is in the capture, yet the FIN came again {} time{}: the ACK was lost beyond the tap",
            who(c, holder),
            c.addr(dir),
            fin.after_ack,
            if fin.after_ack == 1 { "" } else { "s" }
        ),
        json!({"holder": holder.name(), "final_ack_frame": acked.frame, "fin_frame": fin.first.frame,
               "retransmitted_after_ack": fin.after_ack, "first_retransmission_frame": again.frame}),
    ));
}

/// Taxonomy `time-wait-extended`: each re-ACK from TIME-WAIT restarts the
/// 2MSL timer (RFC 9293 §3.6.1). `dir` is the side whose FIN was re-acked.
fn time_wait_extended(c: &Connection, dir: Dir, out: &mut Vec<Finding>) {
    let Some(fin) = c.endpoint(dir).fin.filter(|f| f.reacked > 0) else {
        return;
    };
    let holder = dir.other();
    out.push(finding(
        c,
        FindingKind::TimeWaitExtended,
        Severity::Info,
        fin.last.ts,
        format!(
            "{} acknowledged the retransmitted FIN again {} time{} from TIME-WAIT; each restarts its 2MSL wait",
            who(c, holder),
            fin.reacked,
            if fin.reacked == 1 { "" } else { "s" }
        ),
        json!({"holder": holder.name(), "reacks": fin.reacked}),
    ));
}

/// Taxonomy `last-ack-reset`: the former holder answers a retransmitted
/// last FIN with RST: its TIME-WAIT was gone, so the peer's close ends in
/// an error.
fn last_ack_reset(c: &Connection, dir: Dir, out: &mut Vec<Finding>) {
    let Some(rst) = c
        .endpoint(dir)
        .rst
        .as_deref()
        .copied()
        .filter(|r| r.answers_fin_retransmission)
    else {
        return;
    };
    out.push(finding(
        c,
        FindingKind::LastAckReset,
        Severity::Error,
        rst.at.ts,
        format!(
            "{} answered {}'s retransmitted FIN with RST: it kept no TIME-WAIT to repeat its lost final ACK, so the peer's LAST-ACK ends in a reset",
            who(c, dir),
            c.addr(dir.other())
        ),
        json!({"by": dir.name(), "rst_frame": rst.at.frame, "with_ack": rst.ack.is_some()}),
    ));
}

/// RFC 1337: a RST at exactly RCV.NXT reaching the holder during TIME-WAIT
/// kills it (Linux does, with `tcp_rfc1337` off). `dir` sent the RST.
fn time_wait_assassination_within(
    c: &Connection,
    dir: Dir,
    th: &Thresholds,
    out: &mut Vec<Finding>,
) {
    let Some(rst) = c
        .endpoint(dir)
        .rst
        .as_deref()
        .copied()
        .filter(|r| r.after_close)
    else {
        return;
    };
    let holder = dir.other();
    if c.endpoint(holder).state != TcpState::Closed
        && c.endpoint(holder).state != TcpState::TimeWait
    {
        return;
    }
    let Some(since) = c.endpoint(dir).fin.and_then(|f| f.acked) else {
        return;
    };
    if c.endpoint(holder).max_ack != Some(rst.seq)
        || rst.at.ts.since(since.ts) >= th.time_wait
        || rst.answers_fin_retransmission
    {
        return;
    }
    push_assassination(
        c,
        c.addr(dir),
        c.addr(holder),
        rst.at,
        rst.at.ts.since(since.ts),
        c.id,
        out,
    );
}

fn push_assassination(
    c: &Connection,
    by: crate::flow::SocketAddr,
    holder: crate::flow::SocketAddr,
    at: crate::conn::Event,
    into: i64,
    old: u64,
    out: &mut Vec<Finding>,
) {
    out.push(finding(
        c,
        FindingKind::TimeWaitAssassination,
        Severity::Warning,
        at.ts,
        format!(
            "a RST from {by} at exactly the expected sequence number reached {holder} {} into its TIME-WAIT and ended it early (RFC 1337 hazard)",
            secs(into)
        ),
        json!({"rst_frame": at.frame, "holder": holder.to_string(), "time_wait_connection": old,
               "into_time_wait_s": into as f64 / 1e9}),
    ));
}

/// What this connection's SYN ran into: a TIME-WAIT (`syn-on-time-wait`,
/// and `time-wait-assassination` when a RST then killed it) or a
/// connection still open (`syn-on-open-tuple`).
fn prior_generation(c: &Connection, out: &mut Vec<Finding>) {
    match c.prior.as_deref() {
        Some(Prior::TimeWait(p)) => {
            let (allowed, how) = p.rfc6191();
            let outcome = match p.outcome {
                Some((ReuseOutcome::Accepted, _)) => "accepted (SYN-ACK)",
                Some((ReuseOutcome::Rejected, _)) => "rejected (answered with an ACK of the old connection)",
                None => "not answered in the capture",
            };
            let into = p.syn_at.ts.since(p.since);
            out.push(finding(
                c,
                FindingKind::SynOnTimeWait,
                Severity::Warning,
                p.syn_at.ts,
                format!(
                    "a SYN from {} reused the 4-tuple {} into {}'s TIME-WAIT (connection {}): {outcome}; RFC 6191 {} it by {how}",
                    c.client,
                    secs(into),
                    p.holder_addr,
                    p.id,
                    if allowed { "allows" } else { "does not allow" }
                ),
                json!({"time_wait_connection": p.id, "holder": p.holder_addr.to_string(),
                       "outcome": p.outcome.map(|(o, _)| match o { ReuseOutcome::Accepted => "accepted", ReuseOutcome::Rejected => "rejected" }),
                       "rfc6191_allowed": allowed, "judged_by": how, "syn_frame": p.syn_at.frame,
                       "into_time_wait_s": into as f64 / 1e9, "syn_isn": p.syn_isn.0,
                       "holder_rcv_nxt": p.rcv_nxt.map(|n| n.0), "syn_tsval": p.syn_tsval, "last_tsval": p.last_tsval}),
            ));
            if let Some(at) = p.assassinated {
                push_assassination(c, c.client, p.holder_addr, at, at.ts.since(p.since), p.id, out);
            }
        }
        Some(Prior::OpenTuple { id, client, server }) => out.push(finding(
            c,
            FindingKind::SynOnOpenTuple,
            Severity::Error,
            c.first_seen.ts,
            format!(
                "a SYN with a new ISN opened {} → {} while connection {id} on the same 4-tuple was still open ({client} / {server})",
                c.client, c.server
            ),
            json!({"open_connection": id, "client_state": client.name(), "server_state": server.name()}),
        )),
        None => {}
    }
}
