//! The tracker step by step, smoltcp-style: each state's fixture is built
//! from the previous one, with explicit capture times.

use super::*;
use crate::decode::{SegmentFields, TcpFlags, TcpOptions};
use crate::flow::{FlowKey, KeySide, SocketAddr};

const CLIENT: &str = "10.0.0.1:40000";
const SERVER: &str = "10.0.0.2:80";
const C_ISN: u32 = 1000;
const S_ISN: u32 = 5000;

fn addr(s: &str) -> SocketAddr {
    s.parse::<std::net::SocketAddr>().unwrap().into()
}

/// A segment from `from` with the given flags, seq, ack and length.
fn seg(from: Dir, flags: TcpFlags, seq: u32, ack: u32, len: u32) -> (KeySide, SegmentFields) {
    let (src, dst) = match from {
        Dir::Client => (addr(CLIENT), addr(SERVER)),
        Dir::Server => (addr(SERVER), addr(CLIENT)),
    };
    let (_, side) = FlowKey::of(src, dst);
    let s = SegmentFields {
        seq,
        ack,
        flags,
        window: 500,
        payload_len: len,
        options: TcpOptions::default(),
        ttl: 64,
        ip_id: Some(seq as u16 ^ ack as u16 ^ flags.bits() as u16),
    };
    (side, s)
}

struct Fixture {
    c: Connection,
    t: i64,
    frame: u64,
}

impl Fixture {
    fn send(&mut self, from: Dir, flags: TcpFlags, seq: u32, ack: u32, len: u32) -> &mut Self {
        self.t += 10_000_000; // 10 ms apart
        self.frame += 1;
        let (side, s) = seg(from, flags, seq, ack, len);
        self.c
            .on_segment(side, &s, Event::new(Timestamp(self.t), self.frame), true);
        self
    }

    fn states(&self) -> (TcpState, TcpState) {
        (self.c.ep[0].state, self.c.ep[1].state)
    }

    fn verdict(&self) -> Verdict {
        self.c.verdict(EndReason::CaptureEnd)
    }
}

const S: TcpFlags = TcpFlags::SYN;
const SA: TcpFlags = TcpFlags::SYN.union(TcpFlags::ACK);
const A: TcpFlags = TcpFlags::ACK;
const PA: TcpFlags = TcpFlags::PSH.union(TcpFlags::ACK);
const FA: TcpFlags = TcpFlags::FIN.union(TcpFlags::ACK);
const RA: TcpFlags = TcpFlags::RST.union(TcpFlags::ACK);

fn syn_sent() -> Fixture {
    let (side, s) = seg(Dir::Client, S, C_ISN, 0, 0);
    let (key, _) = FlowKey::of(addr(CLIENT), addr(SERVER));
    let at = Event::new(Timestamp(0), 1);
    let mut c = Connection::new(key, side, &s, at);
    c.on_segment(side, &s, at, true);
    Fixture { c, t: 0, frame: 1 }
}

fn syn_received() -> Fixture {
    let mut f = syn_sent();
    f.send(Dir::Server, SA, S_ISN, C_ISN + 1, 0);
    f
}

fn established() -> Fixture {
    let mut f = syn_received();
    f.send(Dir::Client, A, C_ISN + 1, S_ISN + 1, 0);
    f
}

/// Established, 100 bytes each way.
fn exchanged() -> Fixture {
    let mut f = established();
    f.send(Dir::Client, PA, C_ISN + 1, S_ISN + 1, 100)
        .send(Dir::Server, PA, S_ISN + 1, C_ISN + 101, 100)
        .send(Dir::Client, A, C_ISN + 101, S_ISN + 101, 0);
    f
}

fn fin_wait_1() -> Fixture {
    let mut f = exchanged();
    f.send(Dir::Client, FA, C_ISN + 101, S_ISN + 101, 0);
    f
}

fn fin_wait_2() -> Fixture {
    let mut f = fin_wait_1();
    f.send(Dir::Server, A, S_ISN + 101, C_ISN + 102, 0);
    f
}

fn last_ack() -> Fixture {
    let mut f = fin_wait_2();
    f.send(Dir::Server, FA, S_ISN + 101, C_ISN + 102, 0);
    f
}

fn time_wait() -> Fixture {
    let mut f = last_ack();
    f.send(Dir::Client, A, C_ISN + 102, S_ISN + 102, 0);
    f
}

#[test]
fn handshake_states() {
    let f = syn_sent();
    assert_eq!(f.states(), (TcpState::SynSent, TcpState::Closed));
    assert_eq!(f.verdict().handshake, Handshake::SynOnly);
    let f = syn_received();
    assert_eq!(f.states(), (TcpState::SynSent, TcpState::SynReceived));
    assert_eq!(f.verdict().teardown, Teardown::HandshakeFailed);
    let f = established();
    assert_eq!(f.states(), (TcpState::Established, TcpState::Established));
    assert_eq!(f.verdict().handshake, Handshake::Complete);
    assert_eq!(f.verdict().teardown, Teardown::Open);
}

#[test]
fn four_way_close_states() {
    assert_eq!(
        fin_wait_1().states(),
        (TcpState::FinWait1, TcpState::Established)
    );
    assert_eq!(
        fin_wait_2().states(),
        (TcpState::FinWait2, TcpState::CloseWait)
    );
    assert_eq!(fin_wait_2().verdict().teardown, Teardown::HalfClosed);
    assert_eq!(last_ack().states(), (TcpState::FinWait2, TcpState::LastAck));
    assert_eq!(last_ack().verdict().teardown, Teardown::Closing);
    let f = time_wait();
    assert_eq!(f.states(), (TcpState::TimeWait, TcpState::Closed));
    let v = f.verdict();
    assert_eq!(v.teardown, Teardown::Graceful);
    assert_eq!(v.closer, Some(Party::Client));
    assert_eq!(v.time_wait, Some(Party::Client));
    assert!(f.c.is_finished());
    assert_eq!(f.c.ep[0].stream.unique_bytes, 100);
    assert_eq!(f.c.ep[1].stream.unique_bytes, 100);
}

#[test]
fn simultaneous_close_goes_through_closing() {
    let mut f = exchanged();
    // Both FINs cross: neither acks the other's.
    f.send(Dir::Client, FA, C_ISN + 101, S_ISN + 101, 0).send(
        Dir::Server,
        FA,
        S_ISN + 101,
        C_ISN + 101,
        0,
    );
    assert_eq!(f.states(), (TcpState::FinWait1, TcpState::FinWait1));
    f.send(Dir::Client, A, C_ISN + 102, S_ISN + 102, 0);
    assert_eq!(f.states(), (TcpState::Closing, TcpState::FinWait2));
    f.send(Dir::Server, A, S_ISN + 102, C_ISN + 102, 0);
    assert_eq!(f.states(), (TcpState::TimeWait, TcpState::TimeWait));
    let v = f.verdict();
    assert_eq!(v.teardown, Teardown::Simultaneous);
    assert_eq!(v.closer, Some(Party::Both));
    assert_eq!(v.time_wait, Some(Party::Both));
}

#[test]
fn acceptable_rst_resets_and_stale_rst_does_not() {
    let mut f = exchanged();
    // A RST far outside the receiver's window (RFC 9293 §3.10.7.4) is
    // dropped by the receiver: nothing changes.
    f.send(Dir::Server, RA, S_ISN.wrapping_sub(100_000), C_ISN + 101, 0);
    assert_eq!(f.states(), (TcpState::Established, TcpState::Established));
    assert_eq!(f.verdict().teardown, Teardown::Open);
    let mut f = exchanged();
    f.send(Dir::Server, RA, S_ISN + 101, C_ISN + 101, 0);
    assert_eq!(f.states(), (TcpState::Closed, TcpState::Closed));
    let v = f.verdict();
    assert_eq!(v.teardown, Teardown::Reset);
    assert_eq!(v.closer, Some(Party::Server));
    let rst = f.c.ep[1].rst().copied().unwrap();
    assert!(rst.accepted && rst.seq_is_next);
    assert_eq!(rst.state_before, TcpState::Established);
}

#[test]
fn rst_after_graceful_close_keeps_the_graceful_verdict() {
    let mut f = time_wait();
    f.send(Dir::Client, RA, C_ISN + 102, S_ISN + 102, 0);
    assert_eq!(f.verdict().teardown, Teardown::Graceful);
}

#[test]
fn retransmission_is_counted_and_duplicate_is_not() {
    let mut f = exchanged();
    // The same packet again within microseconds: a duplicate.
    let (side, s) = seg(Dir::Client, PA, C_ISN + 101, S_ISN + 101, 50);
    f.c.on_segment(side, &s, Event::new(Timestamp(f.t + 1_000_000), 90), true);
    f.c.on_segment(side, &s, Event::new(Timestamp(f.t + 1_000_050), 91), true);
    assert_eq!(f.c.ep[0].duplicates, 1);
    assert_eq!(f.c.ep[0].stream.retransmitted_bytes, 0);
    // The same bytes 300 ms later with a new IP ID: a retransmission.
    let (side, mut s) = seg(Dir::Client, PA, C_ISN + 101, S_ISN + 101, 50);
    s.ip_id = Some(7);
    f.c.on_segment(side, &s, Event::new(Timestamp(f.t + 300_000_000), 92), true);
    assert_eq!(f.c.ep[0].stream.retransmitted_bytes, 50);
    assert_eq!(f.c.ep[0].stream.unique_bytes, 150);
}

#[test]
fn keepalive_is_not_a_retransmission() {
    let mut f = exchanged();
    // seq = SND.NXT - 1 with one garbage byte (RFC 9293 §3.8.4).
    f.send(Dir::Client, A, C_ISN + 100, S_ISN + 101, 1);
    assert_eq!(f.c.ep[0].stream.retransmitted_bytes, 0);
    assert_eq!(f.c.ep[0].stream.unique_bytes, 100);
}

#[test]
fn half_close_records_data_after_the_peer_fin() {
    let mut f = fin_wait_2();
    f.send(Dir::Server, PA, S_ISN + 101, C_ISN + 102, 40).send(
        Dir::Server,
        PA,
        S_ISN + 141,
        C_ISN + 102,
        60,
    );
    let h = f.c.half_close.as_deref().copied().unwrap();
    assert_eq!((h.by, h.bytes, h.packets), (Dir::Server, 100, 2));
}

#[test]
fn close_wait_watch_measures_the_longest_quiet() {
    let f = fin_wait_2();
    let w = f.c.close_wait.as_ref().copied().unwrap();
    assert_eq!(w.by, Dir::Server);
    let (quiet, _) = w.longest_quiet_at(Timestamp(f.t + 5_000_000_000));
    assert_eq!(quiet, 5_000_000_000);
    let f = last_ack();
    let w = f.c.close_wait.as_ref().copied().unwrap();
    assert_eq!(w.by, Dir::Server);
    assert!(w.ended.is_some());
    // Once closed, later capture time adds nothing.
    assert_eq!(
        w.longest_quiet_at(Timestamp(f.t + 60_000_000_000)).0,
        10_000_000
    );
}

#[test]
fn new_isn_or_a_syn_after_close_starts_a_new_connection() {
    let f = established();
    let (side, same) = seg(Dir::Client, S, C_ISN, 0, 0);
    assert!(!f.c.is_reused_by(side, &same), "a retransmitted SYN");
    let (side, new) = seg(Dir::Client, S, C_ISN + 99_999, 0, 0);
    assert!(f.c.is_reused_by(side, &new));
    let f = time_wait();
    assert!(
        f.c.is_reused_by(side, &same),
        "after a close even the same ISN reopens"
    );
    let (side, synack) = seg(Dir::Server, SA, S_ISN, C_ISN + 1, 0);
    assert!(!f.c.is_reused_by(side, &synack));
}

#[test]
fn refused_and_unanswered() {
    let mut f = syn_sent();
    f.send(Dir::Server, RA, 0, C_ISN + 1, 0);
    assert_eq!(f.verdict().teardown, Teardown::Refused);
    assert_eq!(f.verdict().handshake, Handshake::Refused);
    let mut f = syn_sent();
    f.send(Dir::Client, S, C_ISN, 0, 0);
    assert_eq!(f.c.ep[0].syn_count, 2);
    assert_eq!(f.verdict().teardown, Teardown::NoAnswer);
}

#[test]
fn missed_bytes_are_acked_but_never_captured() {
    let mut f = established();
    // 100 bytes the capture lost, then 50 it saw; the server acks all 150.
    f.send(Dir::Client, PA, C_ISN + 101, S_ISN + 1, 50).send(
        Dir::Server,
        A,
        S_ISN + 1,
        C_ISN + 151,
        0,
    );
    assert_eq!(f.c.missed_bytes(Dir::Client), 100);
    assert_eq!(f.c.missed_bytes(Dir::Server), 0);
}

/// A fingerprint tells an absent IP ID or TSval from one that is 0, and
/// compares every field.
#[test]
fn fingerprints_keep_presence_apart_from_zero() {
    use super::endpoint::Fingerprint;
    let fp = |ip_id, tsval| Fingerprint::new(1, 2, 0x18, 512, 100, ip_id, tsval);
    assert_eq!(fp(Some(7), Some(9)), fp(Some(7), Some(9)));
    assert_ne!(fp(Some(0), None), fp(None, None));
    assert_ne!(fp(None, Some(0)), fp(None, None));
    assert_ne!(fp(Some(0), None), fp(None, Some(0)));
    assert_ne!(fp(Some(7), Some(9)), fp(Some(7), Some(8)));
    assert_ne!(
        Fingerprint::new(1, 2, 0x18, 512, 100, None, None),
        Fingerprint::new(1, 2, 0x18, 512, 101, None, None)
    );
}

/// The flow table finds a connection by asking it for its key
/// ([`Keyed`]): it must answer for its own key whichever side of it the
/// client is on, and for no other; its id is its first frame's number.
#[test]
fn a_connection_knows_its_key_and_its_first_frame() {
    let syn = |from: &str, to: &str| {
        let (key, side) = FlowKey::of(addr(from), addr(to));
        let s = seg(Dir::Client, S, C_ISN, 0, 0).1;
        (key, side, s)
    };
    // The client on the key's low side, then on its high side.
    for (from, to) in [(CLIENT, SERVER), (SERVER, CLIENT)] {
        let (key, side, s) = syn(from, to);
        let c = Connection::new(key, side, &s, Event::new(Timestamp(0), 7));
        assert_eq!((c.client, c.server), (addr(from), addr(to)));
        assert!(
            c.has_key(&key),
            "{from} -> {to}: not found under its own key"
        );
        let (elsewhere, _) = FlowKey::of(addr(from), addr("10.0.0.3:80"));
        assert!(
            !c.has_key(&elsewhere),
            "{from} -> {to}: found under another key"
        );
        assert_eq!(c.id(), 7);
    }
}

/// The per-packet path is bound by cache misses on the open connections'
/// slots (cachegrind: 128 bytes more per connection, 7% more LL misses).
/// A field that grows a connection should say so here, on purpose.
#[test]
fn a_connection_stays_within_its_cache_budget() {
    let size = std::mem::size_of::<Connection>();
    assert!(size <= 944, "Connection grew to {size} bytes (budget 944)");
}

/// The endpoint's small optional fields share one byte of presence bits:
/// each reads back what was set, and only that.
#[test]
fn an_endpoints_packed_fields_read_back_alone() {
    let mut e = endpoint::Endpoint::default();
    assert_eq!(
        (e.isn(), e.snd_nxt(), e.max_ack(), e.last_tsval()),
        (None, None, None, None)
    );
    assert_eq!((e.window_scale(), e.ttl()), (None, None));
    e.set_max_ack(SeqNumber(0));
    assert_eq!(e.max_ack(), Some(SeqNumber(0)));
    assert_eq!((e.isn(), e.snd_nxt(), e.last_tsval()), (None, None, None));
    e.set_isn(SeqNumber(u32::MAX));
    e.set_snd_nxt(SeqNumber(5));
    e.set_last_tsval(9);
    assert_eq!(
        (e.isn(), e.snd_nxt(), e.max_ack(), e.last_tsval()),
        (
            Some(SeqNumber(u32::MAX)),
            Some(SeqNumber(5)),
            Some(SeqNumber(0)),
            Some(9)
        )
    );
    // The first packet's TTL stays; a later SYN without the option
    // forgets the window scale.
    e.first_ttl(64);
    e.first_ttl(3);
    assert_eq!(e.ttl(), Some(64));
    e.set_window_scale(Some(7));
    assert_eq!(e.window_scale(), Some(7));
    e.set_window_scale(None);
    assert_eq!(e.window_scale(), None);
    assert_eq!(e.ttl(), Some(64));
}
