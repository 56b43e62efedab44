//! Zeek's view of a connection: its per-endpoint states, `history` string
//! and `conn_state`, computed the way Zeek computes them
//! (`TCPSessionAdapter.cc`, `TCP_Endpoint.cc`, `TCP_Reassembler.cc`,
//! `scripts/base/protocols/conn/main.zeek`), so users who know Zeek can read
//! finscope's connections at a glance.
//!
//! Zeek's endpoint states are not RFC 9293's: they only say whether a side
//! is opening, established, closed (sent a FIN) or reset. finscope's own
//! states live in [`super::TcpState`].

use crate::decode::SegmentFields;
use crate::few::Few;

/// `TCP_ENDPOINT_*` in Zeek.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ZeekEndpointState {
    #[default]
    Inactive,
    SynSent,
    SynAckSent,
    Partial,
    Established,
    Closed,
    Reset,
}

use ZeekEndpointState as Z;

/// Beyond this, a SYN or RST's sequence number is not trusted (Zeek's
/// `TOO_LARGE_SEQ_DELTA`).
const TOO_LARGE_SEQ_DELTA: i64 = 1_048_576;

/// History bits (`HIST_*` in `TCP_Endpoint.h`); the responder's are << 16.
const HIST_SYN: u32 = 0x1;
const HIST_FIN: u32 = 0x2;
const HIST_RST: u32 = 0x4;
const HIST_FIN_RST: u32 = 0x8;
const HIST_DATA: u32 = 0x10;
const HIST_ACK: u32 = 0x20;
const HIST_MULTI_FLAG: u32 = 0x40;

/// Longest history kept; Zeek's strings stay far shorter in practice.
const HISTORY_CAP: usize = 40;

/// Out-of-order blocks a Zeek endpoint's reassembler remembers here.
const MAX_BLOCKS: usize = 4;

#[derive(Debug, Clone, Copy, Default)]
struct Scaled {
    count: u32,
    threshold: u32,
}

impl Scaled {
    /// Zeek's `ScaledHistoryEntry`: true at the 1st, 10th, 100th … event.
    fn hit(&mut self) -> bool {
        if self.threshold == 0 {
            self.threshold = 1;
        }
        self.count += 1;
        if self.count == self.threshold {
            self.threshold = self.threshold.saturating_mul(10);
            true
        } else {
            false
        }
    }
}

#[derive(Debug, Clone, Default)]
struct Endpoint {
    state: ZeekEndpointState,
    prev_state: ZeekEndpointState,
    /// Sequence numbers unwrapped to 64 bits around the first one seen.
    start: i64,
    last: i64,
    ack: i64,
    /// Reference for unwrapping new 32-bit values: `anchor_abs` is
    /// `anchor_raw` unwrapped, once `anchored` (a flag beside the states,
    /// where an `Option` would pad each endpoint by 8 bytes).
    anchored: bool,
    anchor_raw: u32,
    anchor_abs: i64,
    fin_cnt: u32,
    rst_cnt: u32,
    fin_seq: i64,
    hist_last_syn: i64,
    hist_last_fin: i64,
    hist_last_rst: i64,
    rxmt: Scaled,
    win0: Scaled,
    gap: Scaled,
    /// The reassembler: everything below this (relative) was delivered.
    last_reassem: i64,
    trim: i64,
    /// The reassembler's out-of-order blocks (start, end), in arrival
    /// order.
    blocks: Few<(i64, i64), MAX_BLOCKS>,
}

impl Endpoint {
    fn unwrap(&self, v: u32) -> i64 {
        if self.anchored {
            self.anchor_abs + i64::from(v.wrapping_sub(self.anchor_raw) as i32)
        } else {
            i64::from(v) + (1 << 32)
        }
    }

    fn set_anchor(&mut self, raw: u32, abs: i64) {
        self.anchored = true;
        self.anchor_raw = raw;
        self.anchor_abs = abs;
    }

    fn init_start(&mut self, seq: u32) {
        let abs = i64::from(seq) + (1 << 32);
        self.set_anchor(seq, abs);
        self.start = abs;
        self.ack = abs;
        self.last = abs;
        self.last_reassem = 1;
        self.trim = 0;
        self.blocks.clear();
    }

    fn rel(&self, v: u32) -> i64 {
        self.unwrap(v) - self.start
    }

    fn set_state(&mut self, s: ZeekEndpointState) {
        if s != self.state {
            self.prev_state = self.state;
            self.state = s;
        }
    }

    fn size(&self, peer_state: ZeekEndpointState) -> u64 {
        if self.prev_state == Z::SynSent
            && self.state == Z::Reset
            && peer_state == Z::Inactive
            && self.ack != self.start
        {
            return 0;
        }
        let top = self.last.max(self.ack);
        let mut size = (top - self.start).max(0) as u64;
        size = size.saturating_sub(1);
        if self.fin_cnt > 0 && size != 0 {
            size -= 1;
        }
        size
    }

    fn is_clean(&self) -> bool {
        self.state == Z::Established
            || (self.state == Z::Closed && self.prev_state == Z::Established)
    }

    /// Adds a data block to the reassembler (`TCP_Reassembler::DataSent`).
    fn data_sent(&mut self, seq: i64, len: i64) {
        let acked = self.ack - self.start;
        let (mut seq, upper) = (seq, seq + len);
        if seq < acked {
            if upper <= acked {
                return;
            }
            seq = acked;
        }
        if upper <= self.trim {
            return;
        }
        seq = seq.max(self.trim);
        if seq <= self.last_reassem {
            self.last_reassem = self.last_reassem.max(upper);
            self.deliver_blocks();
        } else {
            // A full list drops the block (Zeek's would grow): the cap
            // keeps a connection's size fixed.
            self.blocks.push((seq, upper));
        }
    }

    fn deliver_blocks(&mut self) {
        loop {
            let mut progressed = false;
            let mut i = 0;
            while let Some(&(s, e)) = self.blocks.as_slice().get(i) {
                if s <= self.last_reassem {
                    self.last_reassem = self.last_reassem.max(e);
                    self.blocks.remove(i);
                    progressed = true;
                } else {
                    i += 1;
                }
            }
            if !progressed {
                break;
            }
        }
    }
}

/// Zeek's state for one connection.
#[derive(Debug, Clone)]
pub struct ZeekConn {
    /// Index 0 is Zeek's originator.
    ep: [Endpoint; 2],
    hist_seen: u32,
    history: [u8; HISTORY_CAP],
    history_len: u8,
    is_partial: bool,
    first_packet_seen: [bool; 2],
    /// Zeek swapped originator and responder (history starts with `^`).
    pub flipped: bool,
    /// When Zeek's attempt timer fires (`tcp_attempt_delay` after the
    /// originator's SYN), in ns since the epoch; [`NO_DEADLINE`] until
    /// that SYN (a sentinel, where an `Option` would take 8 more bytes).
    attempt_deadline: i64,
    /// Rows Zeek would have logged for this connection before the current
    /// one (its timers split what finscope keeps as one connection); boxed,
    /// as nearly every connection has none.
    // The box costs an allocation once, and keeps 8 bytes in every
    // connection where a bare Vec would keep 24.
    #[allow(clippy::box_collection)]
    earlier: Option<Box<Vec<ZeekRow>>>,
}

/// One `conn.log` row.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ZeekRow {
    pub conn_state: &'static str,
    pub history: String,
    pub orig: crate::flow::SocketAddr,
}

/// Zeek's `tcp_attempt_delay`: an originator still in SYN_SENT this long
/// after its SYN, with a silent responder, ends the connection.
const ATTEMPT_DELAY_NS: i64 = 5_000_000_000;

/// `attempt_deadline` before the originator's SYN: never reached.
const NO_DEADLINE: i64 = i64::MAX;

impl ZeekConn {
    /// A connection whose first packet came from `orig`; `flip` when Zeek's
    /// port heuristic makes the receiver of that packet the originator.
    pub fn new(flip: bool) -> Self {
        let mut z = ZeekConn {
            ep: Default::default(),
            hist_seen: 0,
            history: [0; HISTORY_CAP],
            history_len: 0,
            is_partial: false,
            first_packet_seen: [false; 2],
            flipped: false,
            attempt_deadline: NO_DEADLINE,
            earlier: None,
        };
        if flip {
            z.flipped = true;
            z.add_history(b'^');
        }
        z
    }

    /// Whether Zeek's attempt timer has fired by `now` on a connection
    /// whose originator is still in SYN_SENT and whose responder is silent
    /// (`TCPSessionAdapter::AttemptTimer`).
    pub fn attempt_expired(&self, now: crate::capture::Timestamp) -> bool {
        now.0 >= self.attempt_deadline
            && matches!(self.ep[0].state, Z::SynSent | Z::SynAckSent)
            && self.ep[1].state == Z::Inactive
    }

    /// Ends the current row (whose originator was `orig`) and starts a new
    /// Zeek connection, whose first packet comes next.
    pub fn restart(&mut self, flip: bool, orig: crate::flow::SocketAddr) {
        let row = ZeekRow {
            conn_state: self.conn_state(),
            history: self.history().to_string(),
            orig,
        };
        let mut earlier = self.earlier.take().unwrap_or_default();
        earlier.push(row);
        *self = ZeekConn::new(flip);
        self.earlier = Some(earlier);
    }

    /// Rows Zeek would have logged for this connection before the current
    /// one (its timers split what finscope keeps as one connection).
    pub fn earlier(&self) -> &[ZeekRow] {
        self.earlier.as_deref().map_or(&[], Vec::as_slice)
    }

    pub fn history(&self) -> &str {
        let len = usize::from(self.history_len);
        std::str::from_utf8(self.history.get(..len).unwrap_or_default()).unwrap_or("")
    }

    fn add_history(&mut self, c: u8) {
        if let Some(slot) = self.history.get_mut(usize::from(self.history_len)) {
            *slot = c;
            self.history_len += 1;
        }
    }

    fn letter(is_orig: bool, code: u8) -> u8 {
        if is_orig {
            code
        } else {
            code.to_ascii_lowercase()
        }
    }

    /// Zeek's `CheckHistory`: records the letter the first time; returns
    /// whether it had been recorded before.
    fn check_history(&mut self, is_orig: bool, mask: u32, code: u8) -> bool {
        let mask = if is_orig { mask } else { mask << 16 };
        if self.hist_seen & mask == 0 {
            self.hist_seen |= mask;
            self.add_history(Self::letter(is_orig, code));
            false
        } else {
            true
        }
    }

    fn scaled(&mut self, is_orig: bool, which: u8) {
        let i = usize::from(!is_orig);
        let Some(ep) = self.ep.get_mut(i) else { return };
        let (counter, code) = match which {
            b'T' => (&mut ep.rxmt, b'T'),
            b'W' => (&mut ep.win0, b'W'),
            _ => (&mut ep.gap, b'G'),
        };
        if counter.hit() {
            self.add_history(Self::letter(is_orig, code));
        }
    }

    /// Zeek's `conn_state` for the connection as it stands.
    pub fn conn_state(&self) -> &'static str {
        let [o, r] = &self.ep;
        let (os, rs) = (o.state, r.state);
        let o_inactive = matches!(os, Z::Inactive | Z::Partial);
        let r_inactive = matches!(rs, Z::Inactive | Z::Partial);
        if rs == Z::Reset {
            if matches!(os, Z::SynSent | Z::SynAckSent)
                || (os == Z::Reset && o.size(rs) == 0 && r.size(os) == 0)
            {
                "REJ"
            } else if o_inactive {
                "RSTRH"
            } else {
                "RSTR"
            }
        } else if os == Z::Reset {
            if r_inactive {
                if rstos0_history(self.history()) {
                    "RSTOS0"
                } else {
                    "OTH"
                }
            } else {
                "RSTO"
            }
        } else if rs == Z::Closed && os == Z::Closed {
            "SF"
        } else if os == Z::Closed {
            if r_inactive {
                "SH"
            } else {
                "S2"
            }
        } else if rs == Z::Closed {
            if o_inactive {
                "SHR"
            } else {
                "S3"
            }
        } else if os == Z::SynSent && rs == Z::Inactive {
            "S0"
        } else if os == Z::Established && rs == Z::Established {
            "S1"
        } else {
            "OTH"
        }
    }

    /// Feeds one segment (`TCPSessionAdapter::Process`). `captured_all` is
    /// false when the snapshot length cut the payload.
    pub fn process(
        &mut self,
        now: crate::capture::Timestamp,
        is_orig: bool,
        seg: &SegmentFields,
        captured_all: bool,
    ) {
        if is_orig && seg.flags.syn() && !seg.flags.ack() && self.attempt_deadline == NO_DEADLINE {
            self.attempt_deadline = now.0.saturating_add(ATTEMPT_DELAY_NS);
        }
        let i = usize::from(!is_orig);
        let j = 1 - i;
        let flags = seg.flags;
        let len = i64::from(seg.payload_len);
        let (syn, fin, rst, ack) = (flags.syn(), flags.fin(), flags.rst(), flags.ack());

        // SetPartialStatus.
        if is_orig {
            if !self.first_packet_seen[0] {
                self.is_partial = !syn || ack;
            }
        } else if !self.first_packet_seen[1] && !self.is_partial {
            self.is_partial = !syn;
        }

        let mut seg_len = len + i64::from(syn) + i64::from(fin);
        if rst {
            seg_len -= len;
        }
        let seq_one_past = seg.seq.wrapping_add(seg_len as u32);

        self.init_endpoint(i, syn, seg.seq, seq_one_past);

        let (rel_seq, underflow) = {
            let ep = &self.ep[i];
            let r = ep.rel(seg.seq);
            (r.max(0), r < 0)
        };

        self.update_history(is_orig, syn, fin, rst, ack, rel_seq, len);

        // Zero windows (update_window): boring with or after a RST, or
        // after the peer's FIN.
        if seg.window == 0 && !rst && self.ep[j].state != Z::Closed && self.ep[i].state != Z::Reset
        {
            self.scaled(is_orig, b'W');
        }

        if fin {
            let ep = &mut self.ep[i];
            ep.fin_cnt += 1;
            ep.fin_seq = rel_seq + seg_len;
        }
        if rst {
            self.ep[i].rst_cnt += 1;
        }

        let mut rel_ack = 0;
        if ack {
            if self.ep[j].state == Z::Inactive {
                rel_ack = 1;
                // init_peer: number the peer as if its SYN had been seen.
                let peer = &mut self.ep[j];
                peer.init_start(seg.ack.wrapping_sub(1));
            } else {
                let peer = &self.ep[j];
                let r = peer.rel(seg.ack);
                if r < 0 {
                    rel_ack = 0;
                } else {
                    rel_ack = r;
                    if !rst {
                        let abs = peer.unwrap(seg.ack);
                        let peer = &mut self.ep[j];
                        if abs > peer.ack && !(seg.ack == 0 && abs - peer.ack > TOO_LARGE_SEQ_DELTA)
                        {
                            peer.ack = abs;
                            peer.set_anchor(seg.ack, abs);
                        }
                    }
                }
            }
        }

        let retransmitted = self.update_last_seq(i, seq_one_past, syn, fin, rst, len);
        if retransmitted {
            self.scaled(is_orig, b'T');
        }

        self.update_state_machine(is_orig, i, j, seg, len);

        if ack {
            self.ack_received(j, rel_ack);
        }

        let rel_data_seq = if syn { rel_seq + 1 } else { rel_seq };
        if len > 0 && !rst && !underflow && captured_all {
            self.ep[i].data_sent(rel_data_seq, len);
        }
        // CheckPIA_FirstPacket marks the side as seen.
        self.first_packet_seen[i] = true;
    }

    fn init_endpoint(&mut self, i: usize, syn: bool, seq: u32, last_seq: u32) {
        let ep = &mut self.ep[i];
        match ep.state {
            Z::Inactive => {
                if syn {
                    ep.init_start(seq);
                } else {
                    // A partial connection: number as though a SYN was seen.
                    ep.init_start(seq.wrapping_sub(1));
                }
                let last = if syn { last_seq } else { seq };
                ep.last = ep.unwrap(last);
            }
            Z::SynSent | Z::SynAckSent => {
                if syn && ep.unwrap(seq) != ep.start {
                    ep.init_start(seq);
                    ep.last = ep.unwrap(last_seq);
                }
            }
            Z::Established | Z::Partial => {
                if syn {
                    ep.init_start(seq);
                    ep.last = ep.unwrap(last_seq);
                }
            }
            Z::Reset => {
                if syn && ep.prev_state == Z::Inactive {
                    ep.init_start(seq);
                    ep.last = ep.unwrap(last_seq);
                }
            }
            Z::Closed => {}
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn update_history(
        &mut self,
        is_orig: bool,
        syn: bool,
        fin: bool,
        rst: bool,
        ack: bool,
        rel_seq: i64,
        len: i64,
    ) {
        let i = usize::from(!is_orig);
        let bits = u8::from(syn) + u8::from(fin) + u8::from(rst);
        if bits > 1 {
            if fin && rst {
                self.check_history(is_orig, HIST_FIN_RST, b'I');
            } else {
                self.check_history(is_orig, HIST_MULTI_FLAG, b'Q');
            }
        } else if bits == 1 {
            if syn {
                let code = if ack { b'H' } else { b'S' };
                if self.check_history(is_orig, HIST_SYN, code)
                    && rel_seq != self.ep[i].hist_last_syn
                {
                    self.add_history(Self::letter(is_orig, code));
                }
                self.ep[i].hist_last_syn = rel_seq;
            }
            if fin {
                // A FIN's sequence number is at the end of its data.
                if self.check_history(is_orig, HIST_FIN, b'F')
                    && rel_seq + len != self.ep[i].hist_last_fin
                {
                    self.add_history(Self::letter(is_orig, b'F'));
                }
                self.ep[i].hist_last_fin = rel_seq + len;
            }
            if rst {
                if self.check_history(is_orig, HIST_RST, b'R')
                    && rel_seq != self.ep[i].hist_last_rst
                {
                    self.add_history(Self::letter(is_orig, b'R'));
                }
                self.ep[i].hist_last_rst = rel_seq;
            }
        } else if len > 0 {
            self.check_history(is_orig, HIST_DATA, b'D');
        } else if ack {
            self.check_history(is_orig, HIST_ACK, b'A');
        }
    }

    /// `update_last_seq`: moves the highest sequence number seen; returns
    /// whether the segment counts as a retransmission.
    fn update_last_seq(
        &mut self,
        i: usize,
        last_seq: u32,
        syn: bool,
        fin: bool,
        rst: bool,
        len: i64,
    ) -> bool {
        let ep = &mut self.ep[i];
        let abs = ep.unwrap(last_seq);
        let delta = abs - ep.last;
        if (syn || rst) && !(-TOO_LARGE_SEQ_DELTA..=TOO_LARGE_SEQ_DELTA).contains(&delta) {
            // Not trusted.
            false
        } else if fin && ep.last == ep.start + 1 {
            ep.last = abs;
            ep.set_anchor(last_seq, abs);
            false
        } else if ep.state == Z::Reset {
            // Nothing after a RST is trusted.
            false
        } else if delta > 0 {
            ep.last = abs;
            ep.set_anchor(last_seq, abs);
            false
        } else {
            len > 0
        }
    }

    fn update_state_machine(
        &mut self,
        is_orig: bool,
        i: usize,
        j: usize,
        seg: &SegmentFields,
        len: i64,
    ) {
        let flags = seg.flags;
        let (syn, fin, rst, ack) = (flags.syn(), flags.fin(), flags.rst(), flags.ack());
        match self.ep[i].state {
            Z::Inactive => {
                if syn {
                    if is_orig {
                        self.ep[i].set_state(if ack { Z::SynAckSent } else { Z::SynSent });
                    } else {
                        if !ack
                            && self.ep[j].state == Z::SynAckSent
                            && self.ep[i].unwrap(seg.seq) == self.ep[i].start
                        {
                            // SYN and SYN-ACK reversed: flip and establish.
                            self.is_partial = false;
                            self.flip_roles();
                            // After the flip the sender is the originator.
                            let (i, j) = (j, i);
                            self.ep[j].set_state(Z::Established);
                            self.first_packet_seen[i] = true;
                            return self.inactive_tail(i, j, !is_orig, seg, len);
                        }
                        if self.ep[j].state == Z::SynSent {
                            self.ep[j].set_state(Z::Established);
                        }
                        self.ep[i].set_state(Z::Established);
                    }
                }
                self.inactive_tail(i, j, is_orig, seg, len);
            }
            Z::SynSent | Z::SynAckSent => {
                if fin {
                    self.ep[i].set_state(Z::Closed);
                }
                if rst {
                    self.ep[i].set_state(Z::Reset);
                }
            }
            Z::Established | Z::Partial => {
                if syn && self.ep[i].state == Z::Partial && self.ep[j].state == Z::Inactive && !ack
                {
                    self.ep[i].set_state(Z::SynSent);
                }
                if fin && !rst {
                    self.ep[i].set_state(Z::Closed);
                    if self.ep[j].state == Z::Reset && self.ep[j].prev_state == Z::Closed {
                        // The peer sent FIN then RST: a normal termination.
                        self.ep[j].set_state(Z::Closed);
                    }
                }
                if rst {
                    self.ep[i].set_state(Z::Reset);
                }
            }
            Z::Closed => {
                if rst && self.ep[j].state != Z::Closed {
                    self.ep[i].set_state(Z::Reset);
                }
            }
            Z::Reset => {}
        }
    }

    /// The FIN / RST / no-flag part of `UpdateInactiveState`.
    fn inactive_tail(&mut self, i: usize, j: usize, is_orig: bool, seg: &SegmentFields, len: i64) {
        let flags = seg.flags;
        if flags.fin() {
            self.ep[i].set_state(Z::Closed);
        }
        if flags.rst() {
            self.ep[i].set_state(Z::Reset);
        }
        if self.ep[i].state == Z::Inactive {
            if !is_orig && len == 0 && self.ep[0].state == Z::SynSent {
                // An ACK of the SYN before the SYN-ACK: not a partial start.
            } else if flags.ack() && self.ep[j].state == Z::Established {
                // The SYN was missed but the SYN-ACK seen: establish.
                self.ep[i].set_state(Z::Established);
                self.is_partial = false;
                self.first_packet_seen[i] = true;
            } else {
                self.ep[i].set_state(Z::Partial);
            }
        }
    }

    fn flip_roles(&mut self) {
        self.ep.swap(0, 1);
        self.first_packet_seen.swap(0, 1);
        self.hist_seen = self.hist_seen.rotate_left(16);
        self.flipped = !self.flipped;
        self.add_history(b'^');
    }

    /// The peer acknowledged up to `rel_ack` of endpoint `k`'s data
    /// (`TCP_Reassembler::AckReceived`): bytes acked but never seen are a
    /// content gap (`g`).
    fn ack_received(&mut self, k: usize, rel_ack: i64) {
        let is_orig = k == 0;
        let peer_state = self.ep[1 - k].state;
        let peer_prev = self.ep[1 - k].prev_state;
        let partial = self.is_partial;
        let ep = &mut self.ep[k];
        let mut seq = rel_ack;
        if ep.fin_cnt > 0 && seq >= ep.fin_seq {
            seq = ep.fin_seq - 1;
        }
        if seq <= ep.trim {
            return;
        }
        let clean = ep.is_clean()
            && (peer_state == Z::Established
                || (peer_state == Z::Closed && peer_prev == Z::Established));
        let mut gaps = 0;
        if seq > ep.last_reassem && !(seq <= 2 && partial) {
            // Deliver buffered blocks below the ack, with a gap before each.
            loop {
                let next = ep
                    .blocks
                    .as_slice()
                    .iter()
                    .enumerate()
                    .filter(|(_, b)| b.0 < seq)
                    .min_by_key(|(_, b)| b.0)
                    .map(|(n, b)| (n, *b));
                let Some((n, (s, e))) = next else { break };
                if s > ep.last_reassem {
                    gaps += 1;
                }
                ep.last_reassem = ep.last_reassem.max(e);
                ep.blocks.remove(n);
            }
            if seq > ep.last_reassem {
                gaps += 1;
                ep.last_reassem = seq;
            }
        } else if seq > ep.last_reassem {
            ep.last_reassem = seq;
        }
        ep.trim = seq;
        if clean {
            for _ in 0..gaps {
                self.scaled(is_orig, b'G');
            }
        }
    }
}

/// `/\^?S[^HAFGIQ]*R.*/` from `conn_state()`.
fn rstos0_history(h: &str) -> bool {
    let h = h.strip_prefix('^').unwrap_or(h);
    let Some(rest) = h.strip_prefix('S') else {
        return false;
    };
    for c in rest.chars() {
        match c {
            'R' => return true,
            'H' | 'A' | 'F' | 'G' | 'I' | 'Q' => return false,
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rstos0_pattern() {
        assert!(rstos0_history("SR"));
        assert!(rstos0_history("^SdR"));
        assert!(
            rstos0_history("ShR"),
            "a lower-case h (the responder) is allowed"
        );
        assert!(!rstos0_history("SAR"));
        assert!(!rstos0_history("R"));
    }

    #[test]
    fn scaled_entries_at_powers_of_ten() {
        let mut s = Scaled::default();
        let hits: Vec<u32> = (1..=150).filter(|_| s.hit()).collect();
        assert_eq!(hits, vec![1, 10, 100]);
    }

    /// Out-of-order data is buffered, then delivered when the hole fills.
    #[test]
    fn out_of_order_blocks_are_delivered_when_the_gap_fills() {
        let mut ep = Endpoint::default();
        ep.init_start(1000);
        ep.data_sent(1, 100);
        assert_eq!(ep.last_reassem, 101);
        ep.data_sent(201, 100);
        ep.data_sent(301, 50);
        assert_eq!(ep.blocks.as_slice(), &[(201, 301), (301, 351)]);
        ep.data_sent(101, 100);
        assert_eq!(ep.last_reassem, 351);
        assert!(ep.blocks.as_slice().is_empty());
    }
}
