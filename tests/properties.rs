//! Property tests: sequence-number arithmetic, byte-exact reassembly under
//! any segmentation, order and duplication, and the tracker's invariants
//! (no verdict without the segments that justify it; a capture's packets
//! fed twice change no verdict).

mod common;

use proptest::prelude::*;

use finscope::reassembly::{ByteStream, SeqNumber};

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Order follows the shortest way around the 32-bit circle (RFC 9293 §3.4).
    #[test]
    fn sequence_numbers_compare_across_the_wrap(a in any::<u32>(), d in 1u32..(1 << 31)) {
        let x = SeqNumber(a);
        let y = x + d;
        prop_assert!(x.lt(y));
        prop_assert!(y.gt(x));
        prop_assert!(!y.lt(x));
        prop_assert_eq!(y.diff(x), d as i32);
        prop_assert_eq!(y.distance_from(x), d);
        prop_assert_eq!(y - d, x);
        prop_assert_eq!(x.max_seq(y), y);
        prop_assert_eq!(x.min_seq(y), x);
    }

    /// Any cutting of a stream into segments, sent in any order with any
    /// duplicates, from any initial sequence number, reassembles to the
    /// stream exactly.
    #[test]
    fn reassembly_is_exact_under_any_segmentation_and_order(
        data in proptest::collection::vec(any::<u8>(), 1..4000),
        isn in any::<u32>(),
        cuts in proptest::collection::vec(1usize..600, 1..40),
        order in proptest::collection::vec(any::<u16>(), 1..80),
    ) {
        // Segments from the cuts.
        let mut segs = Vec::new();
        let mut at = 0;
        let mut i = 0;
        while at < data.len() {
            let len = cuts[i % cuts.len()].min(data.len() - at);
            segs.push((at, len));
            at += len;
            i += 1;
        }
        // Shuffle and duplicate by the `order` list, then make sure every
        // segment is sent at least once.
        let mut sent: Vec<(usize, usize)> = order.iter().map(|k| segs[*k as usize % segs.len()]).collect();
        sent.extend(segs.iter().copied());
        let mut s = ByteStream::default();
        s.syn(SeqNumber(isn));
        let mut out = vec![0u8; data.len()];
        let mut written = vec![0u32; data.len()];
        for (off, len) in sent {
            let seq = SeqNumber(isn) + 1 + off as u32;
            s.segment(seq, &data[off..off + len], len as u32, false, usize::MAX, &mut |o, b| {
                for (k, byte) in b.iter().enumerate() {
                    out[o as usize + k] = *byte;
                    written[o as usize + k] += 1;
                }
            });
        }
        s.finish(&mut |_, _| {});
        prop_assert_eq!(&out, &data);
        prop_assert!(written.iter().all(|n| *n == 1), "every byte written exactly once");
        prop_assert!(s.gaps.is_empty());
        prop_assert_eq!(s.conflicts, 0);
    }

    /// Without some segments, the stream has gaps exactly where they were:
    /// every byte outside a gap is right, and gaps plus bytes cover it all.
    #[test]
    fn missing_segments_become_gaps_at_their_offsets(
        data in proptest::collection::vec(any::<u8>(), 100..3000),
        cut in 10usize..300,
        drop_every in 2usize..6,
    ) {
        let mut s = ByteStream::default();
        s.syn(SeqNumber(7));
        let mut got = vec![None; data.len()];
        let mut k = 0;
        let mut at = 0;
        while at < data.len() {
            let len = cut.min(data.len() - at);
            k += 1;
            // Keep the last segment so the stream's length is known.
            if k % drop_every != 0 || at + len == data.len() {
                s.segment(SeqNumber(8 + at as u32), &data[at..at + len], len as u32, false, usize::MAX, &mut |o, b| {
                    for (j, byte) in b.iter().enumerate() {
                        got[o as usize + j] = Some(*byte);
                    }
                });
            }
            at += len;
        }
        s.finish(&mut |o, b| {
            for (j, byte) in b.iter().enumerate() {
                got[o as usize + j] = Some(*byte);
            }
        });
        let mut in_gap = vec![false; data.len()];
        for (o, l) in &s.gaps {
            for b in in_gap.iter_mut().skip(*o as usize).take(*l as usize) {
                *b = true;
            }
        }
        for i in 0..data.len() {
            if in_gap[i] {
                prop_assert_eq!(got[i], None);
            } else {
                prop_assert_eq!(got[i], Some(data[i]));
            }
        }
    }
}

/// Records of a legacy pcap.
fn records(file: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut at = 24;
    while at + 16 <= file.len() {
        let caplen = u32::from_le_bytes(file[at + 8..at + 12].try_into().unwrap()) as usize;
        out.push(&file[at..at + 16 + caplen]);
        at += 16 + caplen;
    }
    out
}

/// Feeding every packet twice in a row (a capture on `any`, two taps)
/// changes no verdict: the copies are duplicates, not retransmissions.
#[test]
fn packets_fed_twice_change_no_verdict() {
    for name in [
        "graceful-client.pcap",
        "graceful-server.pcap",
        "half-close.pcap",
        "rst-server.pcap",
        "rst-unread.pcap",
        "fin-unacked.pcap",
        "final-ack-lost.pcap",
        "simultaneous-close.pcap",
        "refused.pcap",
        "no-answer.pcap",
        "close-wait.pcap",
        "payload-nooffload.pcap",
    ] {
        let path = common::testdata(name);
        let file = std::fs::read(&path).unwrap();
        let mut twice = file[..24].to_vec();
        for r in records(&file) {
            twice.extend_from_slice(r);
            twice.extend_from_slice(r);
        }
        let once = common::analyze(&path.to_string_lossy(), &[]);
        let again = common::analyze_bytes(&format!("twice-{name}"), &twice, &[]);
        assert_eq!(once.connections.len(), again.connections.len(), "{name}");
        for (a, b) in once.connections.iter().zip(&again.connections) {
            assert_eq!(
                (
                    &a.handshake,
                    &a.teardown,
                    &a.closer,
                    &a.time_wait,
                    &a.state,
                    &a.bytes
                ),
                (
                    &b.handshake,
                    &b.teardown,
                    &b.closer,
                    &b.time_wait,
                    &b.state,
                    &b.bytes
                ),
                "{name}"
            );
            assert_eq!(a.retransmitted_bytes, b.retransmitted_bytes, "{name}");
            let dups = b.duplicate_packets.client + b.duplicate_packets.server;
            assert_eq!(dups, a.packets.client + a.packets.server, "{name}");
        }
    }
}

/// Arbitrary segment sequences on one connection: every verdict has the
/// segments that justify it.
#[derive(Debug, Clone)]
struct Arb {
    from_client: bool,
    flags: u8,
    seq_step: u16,
    ack_step: u16,
    len: u16,
}

fn arb_seg() -> impl Strategy<Value = Arb> {
    (
        any::<bool>(),
        prop::sample::select(vec![0x02u8, 0x12, 0x10, 0x18, 0x11, 0x04, 0x14, 0x01]),
        0u16..3000,
        0u16..3000,
        0u16..200,
    )
        .prop_map(|(from_client, flags, seq_step, ack_step, len)| Arb {
            from_client,
            flags,
            seq_step,
            ack_step,
            len,
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn no_verdict_without_the_segments_that_justify_it(segs in proptest::collection::vec(arb_seg(), 1..30)) {
        let mut seq = [1000u32, 5000u32];
        let crafted: Vec<common::Seg> = segs
            .iter()
            .map(|a| {
                let i = usize::from(!a.from_client);
                seq[i] = seq[i].wrapping_add(u32::from(a.seq_step % 4 * a.len));
                let ack = seq[1 - i].wrapping_add(u32::from(a.ack_step % 3));
                common::Seg { from_client: a.from_client, flags: a.flags, seq: seq[i], ack, len: a.len, ttl: 64, gap_ms: 3, port: 40000 }
            })
            .collect();
        let report = common::analyze_bytes("arb.pcap", &common::crafted_pcap(&crafted), &[]);
        let any = |f: &dyn Fn(&Arb) -> bool| segs.iter().any(f);
        for c in &report.connections {
            match c.teardown.as_str() {
                "reset" | "refused" => prop_assert!(any(&|a| a.flags & 0x04 != 0), "{:?}", c),
                "graceful" | "simultaneous" => {
                    prop_assert!(any(&|a| a.flags & 0x01 != 0 && a.from_client));
                    prop_assert!(any(&|a| a.flags & 0x01 != 0 && !a.from_client));
                }
                "half-closed" | "closing" => prop_assert!(any(&|a| a.flags & 0x01 != 0)),
                _ => {}
            }
            if c.handshake == "complete" {
                prop_assert!(any(&|a| a.flags == 0x02) || any(&|a| a.flags == 0x12), "{:?}", c);
            }
            if c.closer.is_some() {
                prop_assert!(any(&|a| a.flags & 0x05 != 0), "a closer needs a FIN or RST: {:?}", c);
            }
            prop_assert!(c.bytes.client + c.bytes.server <= segs.iter().map(|a| u64::from(a.len)).sum::<u64>());
        }
    }
}
