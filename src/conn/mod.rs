//! The connection tracker: what each endpoint did, segment by segment.
//!
//! A passive observer keeps a state per endpoint (as Zeek's `TCP_Endpoint`
//! does) and judges the connection from the pair; it never pretends to be
//! one socket. Time is the packets' time, passed in with each segment.
//!
//! Every transition goes through `Connection::set_state`; the RFC 9293
//! clause that justifies it is on the line that makes it.

mod endpoint;
mod prior;
mod state;
mod verdict;
pub mod zeek;

#[cfg(test)]
mod tests;

use std::num::NonZeroU64;

use serde::Serialize;

use crate::capture::Timestamp;
use crate::decode::SegmentFields;
use crate::flow::{is_likely_server_port, FlowKey, KeySide, Keyed, SocketAddr};
use crate::reassembly::SeqNumber;

pub use endpoint::{CloseWaitWatch, Endpoint, Fin, FinAgain, HalfClose, Rst, ZeroWindow};
use endpoint::{Fingerprint, DUPLICATE_WINDOW_NS};
pub use prior::{Prior, PriorTimeWait, ReuseOutcome};
pub use state::TcpState;
pub use verdict::{Handshake, Party, Teardown, Verdict};
use zeek::ZeekConn;

/// Which endpoint of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Dir {
    Client,
    Server,
}

impl Dir {
    pub const fn index(self) -> usize {
        match self {
            Dir::Client => 0,
            Dir::Server => 1,
        }
    }
    pub const fn other(self) -> Dir {
        match self {
            Dir::Client => Dir::Server,
            Dir::Server => Dir::Client,
        }
    }
    pub const fn name(self) -> &'static str {
        match self {
            Dir::Client => "client",
            Dir::Server => "server",
        }
    }
}

/// When something was seen: capture time and frame number (1-based, as
/// Wireshark numbers frames).
///
/// The frame is never 0, so an `Option<Event>` is no larger than an
/// `Event` (a connection holds about ten of them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    pub ts: Timestamp,
    frame: NonZeroU64,
}

impl Event {
    /// Frames are numbered from 1; a 0 (a caller's bug: every event is of
    /// a frame counted before it) is taken as frame 1 in a release build.
    pub fn new(ts: Timestamp, frame: u64) -> Event {
        debug_assert!(frame > 0, "frames are numbered from 1");
        Event {
            ts,
            frame: NonZeroU64::new(frame).unwrap_or(NonZeroU64::MIN),
        }
    }

    /// The frame's number (1 for the first frame of the run).
    pub fn frame(&self) -> u64 {
        self.frame.get()
    }
}

/// Whether Zeek makes the receiver of a connection's first packet its
/// originator (`TCPAnalyzer::WantConnection`'s port heuristic, for
/// connections that do not start with a SYN).
fn zeek_flips(sender: SocketAddr, receiver: SocketAddr, flags: crate::decode::TcpFlags) -> bool {
    (!flags.syn() || flags.ack())
        && is_likely_server_port(sender.port)
        && (!is_likely_server_port(receiver.port) || (!flags.syn() && sender.port < receiver.port))
}

/// Endpoint state changes that host-level counts follow, as bits: for each
/// kind, the client's bit, then the server's (`<< 1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Changes(pub u8);

impl Changes {
    pub const TIME_WAIT: u8 = 0b00_0001;
    pub const CLOSE_WAIT_IN: u8 = 0b00_0100;
    pub const CLOSE_WAIT_OUT: u8 = 0b01_0000;

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether `dir` had the change `kind` (one of the constants).
    pub fn has(self, kind: u8, dir: Dir) -> bool {
        self.0 & (kind << dir.index()) != 0
    }
}

/// Why a connection left the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EndReason {
    /// The capture ended.
    CaptureEnd,
    /// Closed and quiet for the TIME-WAIT window.
    Closed,
    /// Idle for `--idle-timeout`.
    IdleTimeout,
    /// A new connection (SYN with a new ISN) took over the 4-tuple.
    Reused,
    /// Pushed out by `--max-connections`.
    MaxConnections,
}

impl EndReason {
    pub fn name(self) -> &'static str {
        match self {
            EndReason::CaptureEnd => "capture-end",
            EndReason::Closed => "closed",
            EndReason::IdleTimeout => "idle-timeout",
            EndReason::Reused => "reused",
            EndReason::MaxConnections => "max-connections",
        }
    }
}

/// One TCP connection (one generation of a 4-tuple).
#[derive(Debug, Clone)]
pub struct Connection {
    pub client: SocketAddr,
    pub server: SocketAddr,
    client_side: KeySide,
    /// Roles were guessed from ports: no SYN or SYN-ACK was seen.
    pub role_inferred: bool,
    /// Its first packet; that frame's number is its [`Connection::id`].
    pub first_seen: Event,
    pub last_seen: Timestamp,
    /// Both ends are done (kept here so the per-packet path reads one
    /// field, not both endpoints).
    finished: bool,
    /// [`Changes`] bits not yet taken.
    changes: u8,
    /// Some endpoint has advertised a zero window (so the per-packet path
    /// only looks at zero-window state when there is any).
    zero_window_seen: bool,
    /// Index 0 is the client, 1 the server.
    pub ep: [Endpoint; 2],
    /// When the client acknowledged the server's SYN (handshake complete).
    pub established: Option<Event>,
    /// The handshake completed without the SYN-ACK in the capture.
    pub synack_missed: bool,
    /// Counted as half-open toward its server (it began with a SYN and has
    /// not completed the handshake); the host tracker follows these.
    pub half_open: bool,
    /// What this connection's SYN ran into on its 4-tuple.
    pub prior: Option<Box<Prior>>,
    pub half_close: Option<Box<HalfClose>>,
    /// The side sitting in CLOSE-WAIT (only one can: the one that did not
    /// close first).
    pub close_wait: Option<CloseWaitWatch>,
    pub zeek: ZeekConn,
    /// Whether Zeek's originator is our client.
    pub zeek_orig_is_client: bool,
}

/// The table finds a connection by its endpoints, which it keeps anyway.
impl Keyed for Connection {
    fn has_key(&self, key: &FlowKey) -> bool {
        key.endpoint(self.client_side) == self.client
            && key.endpoint(self.client_side.other()) == self.server
    }
}

impl Connection {
    /// The number of the frame that started it (1 for the first frame of
    /// the run): unique in the run, increasing in order of first packet.
    /// Read off `first_seen`, as a field of its own would repeat it.
    pub fn id(&self) -> u64 {
        self.first_seen.frame()
    }

    /// Starts a connection from its first packet, sent by `side` of `key`.
    pub fn new(key: FlowKey, side: KeySide, seg: &SegmentFields, at: Event) -> Self {
        let flags = seg.flags;
        let (sender, receiver) = (key.endpoint(side), key.endpoint(side.other()));
        let (client_side, role_inferred) = if flags.syn() && !flags.ack() {
            (side, false)
        } else if flags.syn() {
            (side.other(), false)
        } else {
            // Midstream: the side on a likely server port (or the lower
            // port) is the server.
            let (s, r) = (
                is_likely_server_port(sender.port),
                is_likely_server_port(receiver.port),
            );
            let sender_is_server = match (s, r) {
                (true, false) => true,
                (false, true) => false,
                _ => sender.port < receiver.port,
            };
            (if sender_is_server { side.other() } else { side }, true)
        };
        let zeek_flip = zeek_flips(sender, receiver, flags);
        let zeek_orig_side = if zeek_flip { side.other() } else { side };
        let mut c = Connection {
            client: key.endpoint(client_side),
            server: key.endpoint(client_side.other()),
            client_side,
            role_inferred,
            first_seen: at,
            last_seen: at.ts,
            finished: false,
            changes: 0,
            zero_window_seen: false,
            ep: Default::default(),
            established: None,
            synack_missed: false,
            half_open: false,
            prior: None,
            half_close: None,
            close_wait: None,
            zeek: ZeekConn::new(zeek_flip),
            zeek_orig_is_client: zeek_orig_side == client_side,
        };
        if !flags.syn() {
            // Seen midstream: both ends are taken to be established.
            c.ep[0].state = TcpState::Established;
            c.ep[1].state = TcpState::Established;
        }
        c
    }

    pub fn dir_of(&self, side: KeySide) -> Dir {
        if side == self.client_side {
            Dir::Client
        } else {
            Dir::Server
        }
    }

    pub fn endpoint(&self, dir: Dir) -> &Endpoint {
        &self.ep[dir.index()]
    }

    pub fn addr(&self, dir: Dir) -> SocketAddr {
        match dir {
            Dir::Client => self.client,
            Dir::Server => self.server,
        }
    }

    /// No SYN was seen: the capture started after the connection did.
    pub fn is_midstream(&self) -> bool {
        self.ep[0].syn.is_none() && self.ep[1].syn.is_none()
    }

    /// Whether a SYN from `side` starts a new connection on this 4-tuple
    /// (as Zeek's `IsReuse`): a new ISN, or any SYN once a side has closed
    /// or reset (a refused client retrying reuses its port).
    pub fn is_reused_by(&self, side: KeySide, seg: &SegmentFields) -> bool {
        if !seg.flags.syn() || seg.flags.ack() || seg.flags.rst() {
            return false;
        }
        let dir = self.dir_of(side);
        let closed = self
            .ep
            .iter()
            .any(|e| e.fin.is_some() || e.rst().is_some_and(|r| r.accepted));
        closed || dir == Dir::Server || self.ep[0].isn() != Some(SeqNumber(seg.seq))
    }

    /// Both ends are done: both FINs acknowledged, or a RST was accepted.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// A RST was accepted: the connection ended (or its TIME-WAIT did) by
    /// reset.
    pub fn was_reset(&self) -> bool {
        self.ep.iter().any(|e| e.rst().is_some_and(|r| r.accepted))
    }

    /// Recomputes `finished` after a FIN was acked or a RST accepted.
    fn update_finished(&mut self) {
        let fins = self
            .ep
            .iter()
            .all(|e| e.fin.is_some_and(|f| f.acked.is_some()));
        self.finished = fins || self.ep.iter().any(|e| e.rst().is_some_and(|r| r.accepted));
    }

    fn set_state(&mut self, dir: Dir, to: TcpState) {
        let from = self.ep[dir.index()].state;
        if from == to {
            return;
        }
        self.ep[dir.index()].state = to;
        let side = dir.index() as u8;
        if to == TcpState::TimeWait {
            self.changes |= Changes::TIME_WAIT << side;
        }
        if to == TcpState::CloseWait {
            self.changes |= Changes::CLOSE_WAIT_IN << side;
        }
        if from == TcpState::CloseWait {
            self.changes |= Changes::CLOSE_WAIT_OUT << side;
        }
    }

    /// The state changes host-level counts care about since the last call.
    pub fn take_changes(&mut self) -> Changes {
        Changes(std::mem::take(&mut self.changes))
    }

    /// Feeds one segment sent by `side`. `captured_all` is false when the
    /// snapshot length cut its payload.
    pub fn on_segment(
        &mut self,
        side: KeySide,
        seg: &SegmentFields,
        at: Event,
        captured_all: bool,
    ) -> bool {
        let dir = self.dir_of(side);
        let d = dir.index();
        self.last_seen = self.last_seen.max(at.ts);
        // Zeek would have ended its connection here (its attempt timer) and
        // logged what follows as another: keep its row and start afresh.
        if self.zeek.attempt_expired(at.ts) {
            let (sender, receiver) = (self.addr(dir), self.addr(dir.other()));
            let flip = zeek_flips(sender, receiver, seg.flags);
            let orig = if flip { receiver } else { sender };
            self.zeek.restart(
                flip,
                if self.zeek_orig_is_client {
                    self.client
                } else {
                    self.server
                },
            );
            self.zeek_orig_is_client = orig == self.client;
        }
        // Zeek sees every packet, duplicates included, as it would.
        self.zeek.process(
            at.ts,
            (dir == Dir::Client) == self.zeek_orig_is_client,
            seg,
            captured_all,
        );

        let fp = Fingerprint::new(
            seg.seq,
            seg.ack,
            seg.flags.bits(),
            seg.window,
            seg.payload_len,
            seg.ip_id,
            seg.options.timestamps.map(|t| t.0),
        );
        let e = &mut self.ep[d];
        if let Some((last, ts)) = e.last_packet {
            // IPv4 packets without a meaningful IP ID (0) and IPv6 packets
            // without timestamps are only duplicates within the window.
            if last == fp && at.ts.since(ts) <= DUPLICATE_WINDOW_NS {
                e.duplicates += 1;
                return false;
            }
        }
        e.last_packet = Some((fp, at.ts));
        e.packets += 1;
        e.first_ttl(seg.ttl);
        if let Some((tsval, _)) = seg.options.timestamps {
            e.set_last_tsval(tsval);
        }
        // Anything but another RST after its own accepted RST: a real stack
        // has forgotten the connection (taxonomy: suspected injection).
        if !seg.flags.rst() && e.rst().is_some_and(|r| r.accepted) {
            let a = e.rare_mut().after_rst.get_or_insert((at, 0));
            a.1 += 1;
        }
        if self.zero_window_seen || (seg.window == 0 && !seg.flags.rst() && !seg.flags.syn()) {
            self.zero_window_seen = true;
            self.track_window(dir, seg, at);
        }
        if self.prior.is_some() {
            self.watch_reuse(dir, seg, at);
        }

        let flags = seg.flags;
        let seq = SeqNumber(seg.seq);
        if flags.syn() {
            self.on_syn(dir, seq, seg, at);
        }
        let data_seq = seq + u32::from(flags.syn());
        if !self.ep[d].stream.is_started() && !flags.rst() {
            self.ep[d].stream.init(data_seq);
        }
        if flags.rst() {
            self.on_rst(dir, seg, at);
            self.update_finished();
            return true;
        }
        if flags.ack() {
            self.on_ack(dir, SeqNumber(seg.ack), at);
        }
        if seg.payload_len > 0 {
            self.on_data(dir, data_seq, seg.payload_len, at);
        }
        if flags.fin() {
            let ack = flags.ack().then_some(SeqNumber(seg.ack));
            self.on_fin(dir, data_seq + seg.payload_len, ack, at);
        }
        let end = data_seq + seg.payload_len + u32::from(flags.fin());
        let e = &mut self.ep[d];
        if e.snd_nxt().is_none_or(|n| end.gt(n)) {
            e.set_snd_nxt(end);
        }
        if !self.finished && (flags.ack() || flags.fin()) && self.ep.iter().any(|e| e.fin.is_some())
        {
            self.update_finished();
        }
        true
    }

    /// Zero windows: the sender's own advertisement, and probes into the
    /// peer's.
    fn track_window(&mut self, dir: Dir, seg: &SegmentFields, at: Event) {
        let (d, p) = (dir.index(), dir.other().index());
        let peer = self.ep[p].rare_if_any();
        if let Some(z) = peer.and_then(|r| r.zero_window.as_mut()) {
            if z.since.is_some() {
                z.probes += 1;
            }
        }
        if seg.flags.rst() || seg.flags.syn() {
            return;
        }
        let e = &mut self.ep[d];
        if seg.window == 0 {
            let z = e.rare_mut().zero_window.get_or_insert(ZeroWindow {
                since: None,
                longest: 0,
                longest_from: at.ts,
                probes: 0,
            });
            z.since.get_or_insert(at);
        } else if let Some(z) = e.rare_if_any().and_then(|r| r.zero_window.as_mut()) {
            if let Some(since) = z.since.take() {
                let closed = at.ts.since(since.ts);
                if closed > z.longest {
                    z.longest = closed;
                    z.longest_from = since.ts;
                }
            }
        }
    }

    fn on_syn(&mut self, dir: Dir, seq: SeqNumber, seg: &SegmentFields, at: Event) {
        let synack = seg.flags.ack();
        let e = &mut self.ep[dir.index()];
        e.syn_count += 1;
        if e.isn() != Some(seq) {
            e.set_isn(seq);
            e.syn = Some(at);
            e.stream.reset(seq + 1);
            e.set_snd_nxt(seq + 1);
        }
        e.set_window_scale(seg.options.window_scale);
        match (dir, synack, e.state) {
            // §3.5: the active opener sends SYN and enters SYN-SENT.
            (Dir::Client, false, TcpState::Closed) => self.set_state(dir, TcpState::SynSent),
            // §3.5: the passive opener answers SYN,ACK from SYN-RECEIVED.
            (Dir::Server, true, TcpState::Closed) => self.set_state(dir, TcpState::SynReceived),
            _ => {}
        }
    }

    fn on_ack(&mut self, dir: Dir, ack: SeqNumber, at: Event) {
        let (d, p) = (dir.index(), dir.other().index());
        let e = &mut self.ep[d];
        if e.max_ack().is_none_or(|m| ack.gt(m)) {
            e.set_max_ack(ack);
        }
        // A client that sent a SYN and now acknowledges something got a
        // SYN-ACK the capture missed (a one-sided capture, or capture loss):
        // it is established all the same, or the verdict would claim "no
        // answer" for a connection that carried data.
        if self.established.is_none()
            && dir == Dir::Client
            && self.ep[0].syn.is_some()
            && self.ep[1].syn.is_none()
            && self.ep[1].rst().is_none()
        {
            self.established = Some(at);
            self.synack_missed = true;
            if self.ep[0].state == TcpState::SynSent {
                self.set_state(Dir::Client, TcpState::Established);
            }
            if self.ep[1].state == TcpState::Closed {
                self.set_state(Dir::Server, TcpState::Established);
            }
        }
        // §3.5: the client's ACK of the server's SYN completes the handshake;
        // both ends are ESTABLISHED once it arrives.
        if self.established.is_none() && dir == Dir::Client {
            if let Some(isn) = self.ep[1].isn() {
                if ack == isn + 1 && self.ep[1].syn.is_some() {
                    self.established = Some(at);
                    if matches!(self.ep[0].state, TcpState::SynSent | TcpState::Closed) {
                        self.set_state(Dir::Client, TcpState::Established);
                    }
                    if matches!(self.ep[1].state, TcpState::SynReceived | TcpState::Closed) {
                        self.set_state(Dir::Server, TcpState::Established);
                    }
                }
            }
        }
        // The peer's FIN is acknowledged when ACK ≥ FIN + 1 (the FIN
        // occupies one sequence number, §3.4).
        // A re-ACK of a FIN retransmitted after its first ACK: the holder
        // answers from TIME-WAIT and restarts its 2MSL timer (§3.6.1).
        if let (Some(f), Some(again)) = (
            self.ep[p].fin,
            self.ep[p].rare_if_any().and_then(|r| r.fin_again.as_mut()),
        ) {
            if f.acked.is_some()
                && again.count > again.reacked
                && ack.ge(f.seq + 1)
                && at.ts >= f.last.ts
            {
                again.reacked += 1;
            }
        }
        let Some(peer_fin) = self.ep[p].fin else {
            return;
        };
        if peer_fin.acked.is_some() || !ack.ge(peer_fin.seq + 1) {
            return;
        }
        if let Some(f) = self.ep[p].fin.as_mut() {
            f.acked = Some(at);
        }
        let peer = dir.other();
        match self.ep[p].state {
            // §3.6 case 1: the closer's FIN is acked, it waits in FIN-WAIT-2.
            TcpState::FinWait1 => self.set_state(peer, TcpState::FinWait2),
            // §3.6 case 3: simultaneous close, both FINs acked: TIME-WAIT.
            TcpState::Closing => self.set_state(peer, TcpState::TimeWait),
            // §3.6 case 2: the last FIN is acked, the passive closer is done.
            TcpState::LastAck => self.set_state(peer, TcpState::Closed),
            _ => {}
        }
        match (self.ep[d].fin, self.ep[d].state) {
            // §3.6 case 2: the peer closed first; this side got its FIN and
            // sits in CLOSE-WAIT until its application closes.
            (None, TcpState::Established | TcpState::SynReceived) => {
                self.set_state(dir, TcpState::CloseWait);
                self.close_wait = Some(CloseWaitWatch {
                    by: dir,
                    since: at,
                    last_activity: at.ts,
                    longest_quiet: 0,
                    longest_quiet_from: at.ts,
                    ended: None,
                });
            }
            // §3.6 case 1: FIN-WAIT-2 receives the FIN, acks it: TIME-WAIT.
            (Some(_), TcpState::FinWait2) => self.set_state(dir, TcpState::TimeWait),
            // §3.6 case 3: FIN-WAIT-1 receives the peer's FIN before its own
            // FIN is acked: CLOSING.
            (Some(_), TcpState::FinWait1) => self.set_state(dir, TcpState::Closing),
            _ => {}
        }
    }

    fn on_data(&mut self, dir: Dir, seq: SeqNumber, len: u32, at: Event) {
        let (d, p) = (dir.index(), dir.other().index());
        let e = &mut self.ep[d];
        // A keep-alive (§3.8.4) re-sends the byte before SND.NXT (or none);
        // it is not a retransmission of data.
        if len <= 1
            && e.stream.high() == Some(seq + len)
            && e.snd_nxt() == Some(seq + len)
            && e.fin.is_none()
        {
            return;
        }
        // Payload at or beyond its own FIN: a FIN is the last byte
        // (§3.6); keep-alives at FIN - 1 were returned above.
        if let Some(f) = e.fin {
            let end = seq + len;
            if end.gt(f.seq) {
                let bytes = u64::from(end.distance_from(f.seq.max_seq(seq)));
                let a = e.rare_mut().data_after_fin.get_or_insert((at, 0));
                a.1 += bytes;
            }
        }
        let outcome = e.stream.on_data(seq, len);
        if outcome.new == 0 {
            return;
        }
        e.last_new_data = Some(at);
        if let Some(w) = self.close_wait.as_mut().filter(|w| w.by == dir) {
            if w.ended.is_none() {
                w.activity(at.ts);
            }
        }
        if self.ep[p].fin.is_some_and(|f| f.acked.is_some()) {
            let h = self.half_close.get_or_insert_with(|| {
                Box::new(HalfClose {
                    by: dir,
                    first: at,
                    bytes: 0,
                    packets: 0,
                })
            });
            if h.by == dir {
                h.bytes += u64::from(outcome.new);
                h.packets += 1;
            }
        }
    }

    fn on_fin(&mut self, dir: Dir, fin_seq: SeqNumber, ack: Option<SeqNumber>, at: Event) {
        let (d, p) = (dir.index(), dir.other().index());
        let acked_peer_fin = match (ack, self.ep[p].fin) {
            (Some(a), Some(pf)) => a.ge(pf.seq + 1),
            _ => false,
        };
        if let Some(f) = self.ep[d].fin.as_mut() {
            // The same FIN again is a retransmission; a FIN further on (data
            // sent after the first FIN) replaces it.
            if f.seq != fin_seq && fin_seq.gt(f.seq) {
                f.seq = fin_seq;
                f.acked = None;
            }
            f.count += 1;
            f.last = at;
            if f.seq == fin_seq && f.acked.is_some() {
                let again = self.ep[d].rare_mut().fin_again.get_or_insert(FinAgain {
                    count: 0,
                    first: at,
                    reacked: 0,
                });
                again.count += 1;
            }
            return;
        }
        self.ep[d].fin = Some(Fin {
            seq: fin_seq,
            first: at,
            last: at,
            count: 1,
            acked_peer_fin,
            acked: None,
        });
        if let Some(w) = self.close_wait.as_mut().filter(|w| w.by == dir) {
            w.activity(at.ts);
            w.ended = Some(at);
        }
        match self.ep[d].state {
            // §3.6 case 1: the application closes: FIN, FIN-WAIT-1.
            TcpState::Established | TcpState::SynReceived => {
                self.set_state(dir, TcpState::FinWait1)
            }
            // §3.6 case 2: closing from CLOSE-WAIT: FIN, LAST-ACK.
            TcpState::CloseWait => self.set_state(dir, TcpState::LastAck),
            // §3.6: a close in SYN-SENT just deletes the connection.
            TcpState::SynSent => self.set_state(dir, TcpState::Closed),
            _ => {}
        }
    }

    fn on_rst(&mut self, dir: Dir, seg: &SegmentFields, at: Event) {
        let (d, p) = (dir.index(), dir.other().index());
        let seq = SeqNumber(seg.seq);
        self.ep[d].rst_count += 1;
        if let Some(w) = self.close_wait.as_mut().filter(|w| w.by == dir) {
            if w.ended.is_none() {
                w.activity(at.ts);
                w.ended = Some(at);
            }
        }
        if self.ep[d].rst().is_some() {
            return;
        }
        // §3.10.7.4: in a synchronized state a RST is accepted when its
        // sequence number is in the receiver's window; exactly RCV.NXT is
        // the clean case. With no ACK from the receiver yet (a SYN answered
        // by RST, §3.10.7.3) it is accepted if it acks the SYN.
        let rcv_nxt = self.ep[p].max_ack();
        let seq_is_next =
            rcv_nxt == Some(seq) || (rcv_nxt.is_none() && self.ep[d].snd_nxt() == Some(seq));
        let accepted = match rcv_nxt {
            Some(n) => seq.ge(n - 1) && seq.lt(n + (1 << 30)),
            None => true,
        };
        let after_peer_data = match (self.ep[d].fin, self.ep[p].last_new_data) {
            (Some(f), Some(data)) => data.ts >= f.first.ts,
            _ => false,
        };
        // A RST with ACK acknowledges what its ack field says (§3.10.7.1:
        // only without the ACK bit does the field mean nothing).
        let rst_ack = seg.flags.ack().then_some(SeqNumber(seg.ack));
        let acked = match (self.ep[d].max_ack(), rst_ack) {
            (Some(a), Some(b)) => Some(a.max_seq(b)),
            (a, b) => a.or(b),
        };
        let unacked_peer_bytes = match (self.ep[p].stream.high(), acked) {
            (Some(high), Some(acked)) => high.distance_from(acked),
            _ => 0,
        };
        let peer_last_data = self.ep[p].last_new_data;
        let rst = Rst {
            at,
            seq,
            ack: seg.flags.ack().then_some(SeqNumber(seg.ack)),
            payload_len: seg.payload_len,
            state_before: self.ep[d].state,
            seq_is_next,
            accepted,
            after_peer_data,
            ttl: seg.ttl,
            unacked_peer_bytes,
            peer_last_data,
            answers_fin_retransmission: self.ep[d].fin.is_some()
                && self.ep[p].fin_again().is_some(),
            after_close: self.finished,
        };
        self.ep[d].rare_mut().rst = Some(rst);
        if accepted {
            // §3.10.7.4: the receiver of an acceptable RST closes; the
            // sender has already deleted its connection.
            self.set_state(dir, TcpState::Closed);
            self.set_state(dir.other(), TcpState::Closed);
        }
    }

    /// The verdict fields as the connection stands.
    pub fn verdict(&self, end: EndReason) -> Verdict {
        verdict::judge(self, end)
    }
}

impl Connection {
    /// The round-trip time the handshake showed at the tap (SYN to the
    /// client's ACK of the SYN-ACK).
    pub fn handshake_rtt(&self) -> Option<i64> {
        let syn = self.ep[0].syn?;
        let est = self.established?;
        Some(est.ts.since(syn.ts))
    }

    /// Bytes `dir` sent that its peer acknowledged but the capture never
    /// held (Zeek's `missed_bytes`, per direction).
    pub fn missed_bytes(&self, dir: Dir) -> u64 {
        // Before the handshake completes an ACK may belong to another
        // sequence space (a TIME-WAIT holder answering with the old
        // connection's numbers): it says nothing about this one.
        if self.established.is_none() && !self.is_midstream() {
            return 0;
        }
        let e = self.endpoint(dir);
        let Some(mut acked) = self.endpoint(dir.other()).max_ack() else {
            return 0;
        };
        // The FIN's sequence number is not data (§3.4).
        if let Some(f) = e.fin {
            acked = acked.min_seq(f.seq);
        }
        e.stream.missed_below(acked)
    }
}
