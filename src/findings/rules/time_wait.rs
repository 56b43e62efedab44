//! TIME-WAIT hazards (RFC 9293 §3.6.1, RFC 1337, RFC 6191).

use crate::findings::evidence;

use super::{finding, who};
use crate::conn::{Connection, Dir, Prior, ReuseOutcome, TcpState};
use crate::findings::{secs, Finding, FindingKind, Severity, Thresholds};

/// Taxonomy `final-ack-lost`: the holder's ACK of the peer's FIN is in the
/// capture, yet the peer sends that FIN again: the ACK was lost beyond the
/// tap. `dir` is the side whose FIN it is.
pub(super) fn final_ack_lost(c: &Connection, dir: Dir, out: &mut Vec<Finding>) {
    let e = c.endpoint(dir);
    let (Some(fin), Some(again)) = (e.fin, e.fin_again().copied()) else {
        return;
    };
    let Some(acked) = fin.acked else {
        return;
    };
    let holder = dir.other();
    out.push(finding(
        c,
        FindingKind::FinalAckLost,
        Severity::Warning,
        again.first.ts,
        format!(
            "{}'s final ACK of {}'s FIN is in the capture, yet the FIN came again {} time{}: the ACK was lost beyond the tap",
            who(c, holder),
            c.addr(dir),
            again.count,
            if again.count == 1 { "" } else { "s" }
        ),
        evidence!({"holder": holder.name(), "final_ack_frame": acked.frame(), "fin_frame": fin.first.frame(),
               "retransmitted_after_ack": again.count, "first_retransmission_frame": again.first.frame()}),
    ));
}

/// Taxonomy `time-wait-extended`: each re-ACK from TIME-WAIT restarts the
/// 2MSL timer (RFC 9293 §3.6.1). `dir` is the side whose FIN was re-acked.
pub(super) fn time_wait_extended(c: &Connection, dir: Dir, out: &mut Vec<Finding>) {
    let e = c.endpoint(dir);
    let (Some(fin), Some(again)) = (e.fin, e.fin_again().filter(|a| a.reacked > 0)) else {
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
            again.reacked,
            if again.reacked == 1 { "" } else { "s" }
        ),
        evidence!({"holder": holder.name(), "reacks": again.reacked}),
    ));
}

/// Taxonomy `last-ack-reset`: the former holder answers a retransmitted
/// last FIN with RST: its TIME-WAIT was gone, so the peer's close ends in
/// an error.
pub(super) fn last_ack_reset(c: &Connection, dir: Dir, out: &mut Vec<Finding>) {
    let Some(rst) = c
        .endpoint(dir)
        .rst()
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
        evidence!({"by": dir.name(), "rst_frame": rst.at.frame(), "with_ack": rst.ack.is_some()}),
    ));
}

/// RFC 1337: a RST at exactly RCV.NXT reaching the holder during TIME-WAIT
/// kills it (Linux does, with `tcp_rfc1337` off). `dir` sent the RST.
pub(super) fn time_wait_assassination_within(
    c: &Connection,
    dir: Dir,
    th: &Thresholds,
    out: &mut Vec<Finding>,
) {
    let Some(rst) = c.endpoint(dir).rst().copied().filter(|r| r.after_close) else {
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
    if c.endpoint(holder).max_ack() != Some(rst.seq)
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
        c.id(),
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
        evidence!({"rst_frame": at.frame(), "holder": holder.to_string(), "time_wait_connection": old,
               "into_time_wait_s": into as f64 / 1e9}),
    ));
}

/// What this connection's SYN ran into: a TIME-WAIT (`syn-on-time-wait`,
/// and `time-wait-assassination` when a RST then killed it) or a
/// connection still open (`syn-on-open-tuple`).
pub(super) fn prior_generation(c: &Connection, out: &mut Vec<Finding>) {
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
                evidence!({"time_wait_connection": p.id, "holder": p.holder_addr.to_string(),
                       "outcome": p.outcome.map(|(o, _)| match o { ReuseOutcome::Accepted => "accepted", ReuseOutcome::Rejected => "rejected" }),
                       "rfc6191_allowed": allowed, "judged_by": how, "syn_frame": p.syn_at.frame(),
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
            evidence!({"open_connection": *id, "client_state": client.name(), "server_state": server.name()}),
        )),
        None => {}
    }
}
