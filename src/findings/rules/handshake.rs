//! Handshakes: connections seen without their start, refused, or never answered.

use crate::findings::evidence;

use super::finding;
use crate::capture::Timestamp;
use crate::conn::{Connection, Teardown, Verdict};
use crate::findings::{secs, Finding, FindingKind, Severity};

/// An unanswered SYN is only "no answer" after this long or a retransmission
/// (RFC 6298 §2: the initial RTO is 1 s; 3 s covers the classic value).
const NO_ANSWER_AFTER_NS: i64 = 3_000_000_000;

pub(super) fn midstream(c: &Connection, out: &mut Vec<Finding>) {
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
        evidence!({"first_frame": c.first_seen.frame(), "role_inferred": c.role_inferred}),
    ));
}

pub(super) fn refused(c: &Connection, v: &Verdict, out: &mut Vec<Finding>) {
    if v.teardown != Teardown::Refused {
        return;
    }
    let (Some(syn), Some(rst)) = (c.ep[0].syn, c.ep[1].rst().copied()) else {
        return;
    };
    out.push(finding(
        c,
        FindingKind::Refused,
        Severity::Info,
        rst.at.ts,
        format!("{} refused the connection from {}: SYN answered by RST (nothing listening, or a firewall)", c.server, c.client),
        evidence!({"syn_frame": syn.frame(), "rst_frame": rst.at.frame(), "syns": c.ep[0].syn_count,
               "rst_ack": rst.ack.map(|a| a.0)}),
    ));
}

pub(super) fn no_answer(c: &Connection, v: &Verdict, now: Timestamp, out: &mut Vec<Finding>) {
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
        evidence!({"first_syn_frame": syn.frame(), "syns": syns, "retransmissions": syns.saturating_sub(1),
               "observed_s": waited as f64 / 1e9}),
    ));
}
