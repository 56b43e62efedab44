//! What the observer records about each endpoint: its FIN, its RST, its
//! zero windows, a CLOSE-WAIT it sits in, data it sends after the peer's
//! FIN.

use super::{Dir, Event, TcpState};
use crate::capture::Timestamp;
use crate::reassembly::{SeqNumber, Stream};

/// A FIN an endpoint sent.
#[derive(Debug, Clone, Copy)]
pub struct Fin {
    /// Sequence number of the FIN itself (after any data it carries).
    pub seq: SeqNumber,
    pub first: Event,
    pub last: Event,
    /// How many times it was sent (1 = never retransmitted).
    pub count: u32,
    /// Whether the FIN segment already acknowledged the peer's FIN.
    pub acked_peer_fin: bool,
    /// When the peer acknowledged it (ACK ≥ seq + 1).
    pub acked: Option<Event>,
}

/// A FIN sent again after the peer's ACK of it was seen (that ACK was lost
/// after the tap): one of an endpoint's rare parts (`Endpoint::fin_again`).
#[derive(Debug, Clone, Copy)]
pub struct FinAgain {
    /// How many times, and the first.
    pub count: u32,
    pub first: Event,
    /// ACKs of it the peer sent again after such retransmissions.
    pub reacked: u32,
}

/// The first RST an endpoint sent.
#[derive(Debug, Clone, Copy)]
pub struct Rst {
    pub at: Event,
    pub seq: SeqNumber,
    /// The acknowledgment field, when the ACK bit was set (RFC 9293 §3.10.7.1:
    /// without it the field means nothing).
    pub ack: Option<SeqNumber>,
    pub payload_len: u32,
    /// The sender's state just before the RST.
    pub state_before: TcpState,
    /// Whether its sequence number is where the receiver expected the
    /// sender's next byte (RFC 9293 §3.10.7.4: such a RST is accepted).
    pub seq_is_next: bool,
    /// Whether the receiver would accept it (in its window, or no window
    /// known); an unacceptable RST changes no state.
    pub accepted: bool,
    /// Whether the peer had sent data after this endpoint's FIN.
    pub after_peer_data: bool,
    pub ttl: u8,
    /// Bytes the peer had sent that this endpoint had not acknowledged.
    pub unacked_peer_bytes: u32,
    /// When the peer last sent new data before the RST.
    pub peer_last_data: Option<Event>,
    /// The RST answered the peer's FIN retransmitted after this side had
    /// acked it: this side's TIME-WAIT was gone.
    pub answers_fin_retransmission: bool,
    /// Both ends had finished before it (a RST into TIME-WAIT).
    pub after_close: bool,
}

/// What an endpoint sent, as seen by the observer.
#[derive(Debug, Clone, Default)]
pub struct Endpoint {
    pub state: TcpState,
    /// Packets sent (duplicates excluded).
    pub packets: u64,
    /// Exact duplicates of the packet before (a capture on `any`, SPAN).
    pub duplicates: u64,
    pub stream: Stream,
    /// Which of the small optional fields below hold a value ([`Known`]
    /// bits). One byte for all six, where an `Option` of each would pad
    /// the 32-bit ones to 8 bytes: 16 bytes an endpoint, 32 a connection,
    /// on the per-packet path's cache lines.
    known: u8,
    /// Initial sequence number, from its SYN or SYN-ACK
    /// ([`Endpoint::isn`]).
    isn: SeqNumber,
    /// Its first SYN (client) or SYN-ACK (server).
    pub syn: Option<Event>,
    pub syn_count: u32,
    /// One past the highest sequence number it used, SYN and FIN included
    /// ([`Endpoint::snd_nxt`]).
    snd_nxt: SeqNumber,
    /// The highest acknowledgment it sent ([`Endpoint::max_ack`]).
    max_ack: SeqNumber,
    pub fin: Option<Fin>,
    pub rst_count: u32,
    /// The last segment that carried bytes never seen before.
    pub last_new_data: Option<Event>,
    /// Its SYN's window scale option ([`Endpoint::window_scale`]).
    window_scale: u8,
    /// TTL (hop limit) of its first packet, its usual distance from the
    /// tap ([`Endpoint::ttl`]).
    ttl: u8,
    /// The last TCP timestamp (TSval) it sent ([`Endpoint::last_tsval`]).
    last_tsval: u32,
    /// What most endpoints never do (see [`Rare`]): boxed together, and
    /// only once one happens, as every byte of a connection's state costs
    /// cache on the per-packet path.
    rare: Option<Box<Rare>>,
    pub(super) last_packet: Option<(Fingerprint, Timestamp)>,
}

/// The parts of an endpoint's story most endpoints never have.
#[derive(Debug, Clone, Default)]
pub(super) struct Rare {
    /// Its first RST.
    pub(super) rst: Option<Rst>,
    /// Payload at or beyond its own FIN (first time, and bytes).
    pub(super) data_after_fin: Option<(Event, u64)>,
    /// Ordinary segments it sent after its own accepted RST (first, count).
    pub(super) after_rst: Option<(Event, u32)>,
    /// When it advertised a zero window, and how long the peer was stuck.
    pub(super) zero_window: Option<ZeroWindow>,
    /// Its FIN, sent again after the peer's ACK of it.
    pub(super) fin_again: Option<FinAgain>,
}

/// The bits of `Endpoint::known`.
struct Known;

impl Known {
    const ISN: u8 = 1;
    const SND_NXT: u8 = 1 << 1;
    const MAX_ACK: u8 = 1 << 2;
    const WINDOW_SCALE: u8 = 1 << 3;
    const TTL: u8 = 1 << 4;
    const TSVAL: u8 = 1 << 5;
}

impl Endpoint {
    fn known(&self, bit: u8) -> bool {
        self.known & bit != 0
    }

    fn get<T: Copy>(&self, bit: u8, v: T) -> Option<T> {
        self.known(bit).then_some(v)
    }

    /// Initial sequence number, from its SYN or SYN-ACK.
    pub fn isn(&self) -> Option<SeqNumber> {
        self.get(Known::ISN, self.isn)
    }

    pub fn set_isn(&mut self, isn: SeqNumber) {
        self.isn = isn;
        self.known |= Known::ISN;
    }

    /// One past the highest sequence number it used (SYN and FIN count).
    pub fn snd_nxt(&self) -> Option<SeqNumber> {
        self.get(Known::SND_NXT, self.snd_nxt)
    }

    pub fn set_snd_nxt(&mut self, n: SeqNumber) {
        self.snd_nxt = n;
        self.known |= Known::SND_NXT;
    }

    /// The highest acknowledgment it sent.
    pub fn max_ack(&self) -> Option<SeqNumber> {
        self.get(Known::MAX_ACK, self.max_ack)
    }

    pub fn set_max_ack(&mut self, ack: SeqNumber) {
        self.max_ack = ack;
        self.known |= Known::MAX_ACK;
    }

    /// Its SYN's window scale option, if it sent one.
    pub fn window_scale(&self) -> Option<u8> {
        self.get(Known::WINDOW_SCALE, self.window_scale)
    }

    /// Sets (or, with `None`, forgets) the window scale: a new SYN's
    /// options replace the old one's.
    pub fn set_window_scale(&mut self, ws: Option<u8>) {
        match ws {
            Some(ws) => {
                self.window_scale = ws;
                self.known |= Known::WINDOW_SCALE;
            }
            None => self.known &= !Known::WINDOW_SCALE,
        }
    }

    /// TTL (hop limit) of its first packet: its usual distance from the tap.
    pub fn ttl(&self) -> Option<u8> {
        self.get(Known::TTL, self.ttl)
    }

    /// Keeps `ttl` if none is kept yet (the first packet's counts).
    pub fn first_ttl(&mut self, ttl: u8) {
        if !self.known(Known::TTL) {
            self.ttl = ttl;
            self.known |= Known::TTL;
        }
    }

    /// The last TCP timestamp (TSval) it sent.
    pub fn last_tsval(&self) -> Option<u32> {
        self.get(Known::TSVAL, self.last_tsval)
    }

    pub fn set_last_tsval(&mut self, tsval: u32) {
        self.last_tsval = tsval;
        self.known |= Known::TSVAL;
    }

    /// Its first RST.
    pub fn rst(&self) -> Option<&Rst> {
        self.rare.as_deref()?.rst.as_ref()
    }

    /// Payload at or beyond its own FIN (first time, and bytes).
    pub fn data_after_fin(&self) -> Option<&(Event, u64)> {
        self.rare.as_deref()?.data_after_fin.as_ref()
    }

    /// Ordinary segments it sent after its own accepted RST (first, count).
    pub fn after_rst(&self) -> Option<&(Event, u32)> {
        self.rare.as_deref()?.after_rst.as_ref()
    }

    /// When it advertised a zero window, and how long the peer was stuck.
    pub fn zero_window(&self) -> Option<&ZeroWindow> {
        self.rare.as_deref()?.zero_window.as_ref()
    }

    /// Its FIN, sent again after the peer's ACK of it was seen.
    pub fn fin_again(&self) -> Option<&FinAgain> {
        self.rare.as_deref()?.fin_again.as_ref()
    }

    /// The rare parts, boxed on first use.
    pub(super) fn rare_mut(&mut self) -> &mut Rare {
        self.rare.get_or_insert_with(Default::default)
    }

    /// The rare parts, if any has happened.
    pub(super) fn rare_if_any(&mut self) -> Option<&mut Rare> {
        self.rare.as_deref_mut()
    }
}

/// An endpoint advertising a zero window (RFC 9293 §3.8.6.1): the peer may
/// only probe until it reopens.
#[derive(Debug, Clone, Copy)]
pub struct ZeroWindow {
    /// Since when the window has been zero (`None` once reopened).
    pub since: Option<Event>,
    /// The longest closed stretch so far, and when it began.
    pub longest: i64,
    pub longest_from: Timestamp,
    /// Segments the peer sent while the window was zero (probes).
    pub probes: u32,
}

impl ZeroWindow {
    /// The longest zero-window stretch, counting one still open at `now`.
    pub fn longest_at(&self, now: Timestamp) -> (i64, Timestamp) {
        match self.since {
            Some(s) if now.since(s.ts) > self.longest => (now.since(s.ts), s.ts),
            _ => (self.longest, self.longest_from),
        }
    }
}

/// The fields that make two packets the same packet seen twice.
///
/// The optional ones are a value (0 when absent) and a note of which are
/// present, not two `Option`s: 24 bytes instead of 28, and the note's
/// spare values leave an `Option` of it (with its time) at 32 bytes, not
/// 40. Equal exactly when the fields and their presence are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Fingerprint {
    seq: u32,
    ack: u32,
    len: u32,
    tsval: u32,
    window: u16,
    ip_id: u16,
    flags: u8,
    present: Present,
}

/// Which of a [`Fingerprint`]'s optional fields the packet had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Present {
    Neither,
    IpId,
    Tsval,
    Both,
}

impl Fingerprint {
    pub(super) fn new(
        seq: u32,
        ack: u32,
        flags: u8,
        window: u16,
        len: u32,
        ip_id: Option<u16>,
        tsval: Option<u32>,
    ) -> Fingerprint {
        let present = match (ip_id.is_some(), tsval.is_some()) {
            (false, false) => Present::Neither,
            (true, false) => Present::IpId,
            (false, true) => Present::Tsval,
            (true, true) => Present::Both,
        };
        Fingerprint {
            seq,
            ack,
            len,
            tsval: tsval.unwrap_or(0),
            window,
            ip_id: ip_id.unwrap_or(0),
            flags,
            present,
        }
    }
}

/// Two copies of one packet arrive microseconds apart on a capture on `any`
/// or a SPAN port. A retransmission comes at least 10 ms later (Linux's
/// floor for a tail-loss probe; an RTO is 200 ms or more) and, on IPv4,
/// with a new IP ID.
pub(super) const DUPLICATE_WINDOW_NS: i64 = 5_000_000;

/// Data sent after the peer's FIN was acknowledged (RFC 9293 §3.6: the
/// half-close is legal; the finding records it).
#[derive(Debug, Clone, Copy)]
pub struct HalfClose {
    /// The side still sending.
    pub by: Dir,
    pub first: Event,
    pub bytes: u64,
    pub packets: u64,
}

/// How long a side sat in CLOSE-WAIT without closing or sending.
#[derive(Debug, Clone, Copy)]
pub struct CloseWaitWatch {
    /// The side in CLOSE-WAIT.
    pub by: Dir,
    /// When the side acknowledged the peer's FIN.
    pub since: Event,
    /// The last time it sent new data (or `since`).
    pub last_activity: Timestamp,
    /// The longest quiet stretch so far, and when it started.
    pub longest_quiet: i64,
    pub longest_quiet_from: Timestamp,
    /// Set when it finally sent FIN or RST.
    pub ended: Option<Event>,
}

impl CloseWaitWatch {
    pub(super) fn activity(&mut self, ts: Timestamp) {
        let quiet = ts.since(self.last_activity);
        if quiet > self.longest_quiet {
            self.longest_quiet = quiet;
            self.longest_quiet_from = self.last_activity;
        }
        self.last_activity = ts;
    }

    /// The longest quiet stretch, counting the one still running at `now`.
    pub fn longest_quiet_at(&self, now: Timestamp) -> (i64, Timestamp) {
        let running = now.since(self.last_activity);
        if self.ended.is_none() && running > self.longest_quiet {
            (running, self.last_activity)
        } else {
            (self.longest_quiet, self.longest_quiet_from)
        }
    }
}
