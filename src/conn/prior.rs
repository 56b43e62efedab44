//! A SYN reopening a 4-tuple: what it ran into (a TIME-WAIT, or a
//! connection still open), and how the TIME-WAIT holder answered
//! (RFC 6191, RFC 1337).

use super::{Connection, Dir, Event, TcpState};
use crate::capture::Timestamp;
use crate::decode::SegmentFields;
use crate::flow::{KeySide, SocketAddr};
use crate::reassembly::SeqNumber;

/// What the SYN that opened a connection ran into on its 4-tuple.
#[derive(Debug, Clone, Copy)]
pub enum Prior {
    /// The connection before was closed and this SYN's receiver still held
    /// TIME-WAIT.
    TimeWait(PriorTimeWait),
    /// The connection before was still open.
    OpenTuple {
        id: u64,
        client: TcpState,
        server: TcpState,
    },
}

/// How a holder of TIME-WAIT answered a SYN reopening its 4-tuple.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReuseOutcome {
    /// With a SYN-ACK: a new connection (RFC 6191, Linux `TCP_TW_SYN`).
    Accepted,
    /// With an ACK of the old connection: the SYN was refused as old
    /// (Linux `TCP_TW_ACK`).
    Rejected,
}

#[derive(Debug, Clone, Copy)]
pub struct PriorTimeWait {
    /// The connection whose TIME-WAIT this is.
    pub id: u64,
    /// The TIME-WAIT holder, as seen in this connection.
    pub holder_addr: SocketAddr,
    /// When its TIME-WAIT began (its final ACK).
    pub since: Timestamp,
    /// What the holder expected next from the SYN's sender (its RCV.NXT).
    pub rcv_nxt: Option<SeqNumber>,
    /// The SYN sender's last TSval in the old connection.
    pub last_tsval: Option<u32>,
    pub syn_isn: SeqNumber,
    pub syn_tsval: Option<u32>,
    pub syn_at: Event,
    pub outcome: Option<(ReuseOutcome, Event)>,
    /// A RST from the SYN's sender at exactly RCV.NXT reached the holder
    /// (RFC 1337: it kills TIME-WAIT).
    pub assassinated: Option<Event>,
}

impl PriorTimeWait {
    /// RFC 6191 §2: a SYN may reopen TIME-WAIT when its timestamp is newer
    /// than the last one seen, or, without timestamps, when its ISN is
    /// beyond RCV.NXT. Returns (allowed, how it was judged).
    pub fn rfc6191(&self) -> (bool, &'static str) {
        match (self.syn_tsval, self.last_tsval) {
            (Some(new), Some(old)) => ((new.wrapping_sub(old) as i32) > 0, "timestamps"),
            _ => (
                self.rcv_nxt.is_none_or(|n| self.syn_isn.gt(n)),
                "sequence numbers",
            ),
        }
    }
}

impl Connection {
    /// What a SYN from `side` reopening this connection's 4-tuple at `now`
    /// runs into, for the connection it starts.
    pub fn prior_for(
        &self,
        side: KeySide,
        seg: &SegmentFields,
        at: Event,
        time_wait: i64,
    ) -> Option<Prior> {
        let sender = self.dir_of(side);
        let receiver = sender.other();
        let syn = (SeqNumber(seg.seq), seg.options.timestamps.map(|t| t.0));
        let tw = |id, holder_addr, since: Timestamp, rcv_nxt, last_tsval| {
            (at.ts.since(since) < time_wait).then_some(Prior::TimeWait(PriorTimeWait {
                id,
                holder_addr,
                since,
                rcv_nxt,
                last_tsval,
                syn_isn: syn.0,
                syn_tsval: syn.1,
                syn_at: at,
                outcome: None,
                assassinated: None,
            }))
        };
        if self.finished {
            // The receiver holds TIME-WAIT when it acked the sender's FIN
            // after its own FIN was acked (or in a simultaneous close).
            let holds = self.endpoint(receiver).state == TcpState::TimeWait;
            if holds {
                let since = self.endpoint(sender).fin.and_then(|f| f.acked)?.ts;
                return tw(
                    self.id(),
                    self.addr(receiver),
                    since,
                    self.endpoint(receiver).max_ack(),
                    self.endpoint(sender).last_tsval(),
                );
            }
            // A refused attempt into a TIME-WAIT passes the TIME-WAIT on to
            // the retry, unless its RST killed it.
            if let Some(Prior::TimeWait(p)) = self.prior.as_deref() {
                if p.assassinated.is_none() {
                    return tw(p.id, p.holder_addr, p.since, p.rcv_nxt, p.last_tsval);
                }
            }
            return None;
        }
        // Still open (not a new attempt at a connection never answered).
        if self.established.is_some() || self.is_midstream() {
            return Some(Prior::OpenTuple {
                id: self.id(),
                client: self.ep[0].state,
                server: self.ep[1].state,
            });
        }
        None
    }

    /// How the TIME-WAIT holder answers the SYN that reopened its tuple,
    /// and whether a RST kills its TIME-WAIT.
    pub(super) fn watch_reuse(&mut self, dir: Dir, seg: &SegmentFields, at: Event) {
        let from = self.addr(dir);
        let Some(Prior::TimeWait(p)) = self.prior.as_deref_mut() else {
            return;
        };
        let flags = seg.flags;
        if from == p.holder_addr {
            if p.outcome.is_none() && !flags.rst() {
                if flags.syn() && flags.ack() {
                    p.outcome = Some((ReuseOutcome::Accepted, at));
                } else if flags.ack() && !flags.syn() && p.rcv_nxt == Some(SeqNumber(seg.ack)) {
                    // An ACK of the old connection answers the SYN.
                    p.outcome = Some((ReuseOutcome::Rejected, at));
                }
            }
        } else if flags.rst() && p.assassinated.is_none() && p.rcv_nxt == Some(SeqNumber(seg.seq)) {
            p.assassinated = Some(at);
        }
    }
}
