use super::*;

fn s(n: u32) -> SeqNumber {
    SeqNumber(n)
}

#[test]
fn in_order_data_is_all_new() {
    let mut st = Stream::default();
    st.init(s(1001));
    assert_eq!(st.on_data(s(1001), 100).new, 100);
    assert_eq!(st.on_data(s(1101), 50).new, 50);
    assert_eq!(st.unique_bytes, 150);
    assert_eq!(st.retransmitted_bytes, 0);
    assert_eq!(st.high(), Some(s(1151)));
}

#[test]
fn retransmission_counts_once_as_old() {
    let mut st = Stream::default();
    st.init(s(1));
    st.on_data(s(1), 100);
    let o = st.on_data(s(1), 100);
    assert_eq!((o.new, o.old), (0, 100));
    // A retransmission that also carries new bytes (repacketized).
    let o = st.on_data(s(51), 100);
    assert_eq!((o.new, o.old), (50, 50));
    assert_eq!(st.unique_bytes, 150);
    assert_eq!(st.retransmitted_bytes, 150);
}

#[test]
fn out_of_order_fills_a_hole_not_a_retransmission() {
    let mut st = Stream::default();
    st.init(s(1));
    st.on_data(s(1), 100);
    let o = st.on_data(s(201), 100);
    assert_eq!(o.gap_before, 100);
    assert_eq!(st.holes().collect::<Vec<_>>(), vec![(s(101), s(201))]);
    // Fill the middle of the hole: it splits in two.
    let o = st.on_data(s(131), 20);
    assert_eq!((o.new, o.old, o.filled), (20, 0, 20));
    assert_eq!(st.holes().count(), 2);
    let o = st.on_data(s(101), 100);
    assert_eq!((o.new, o.old), (80, 20));
    assert_eq!(st.holes().count(), 0);
    assert_eq!(st.unique_bytes, 300);
    assert_eq!(st.missed_below(s(301)), 0);
}

#[test]
fn missed_bytes_are_acked_but_never_seen() {
    let mut st = Stream::default();
    st.init(s(1));
    st.on_data(s(1), 100);
    st.on_data(s(201), 100);
    // The peer acked everything up to 401: hole 101..201 and 301..401.
    assert_eq!(st.missed_below(s(401)), 200);
    assert_eq!(st.missed_below(s(150)), 49);
    assert_eq!(st.missed_below(s(50)), 0);
}

#[test]
fn wraps_around_the_sequence_space() {
    let mut st = Stream::default();
    st.init(s(u32::MAX - 49));
    let o = st.on_data(s(u32::MAX - 49), 100);
    assert_eq!(o.new, 100);
    assert_eq!(st.high(), Some(s(50)));
    let o = st.on_data(s(u32::MAX - 9), 20);
    assert_eq!((o.new, o.old), (0, 20));
    assert_eq!(st.missed_below(s(150)), 100);
}

#[test]
fn hole_list_is_bounded() {
    let mut st = Stream::default();
    st.init(s(0));
    for i in 0..(MAX_HOLES as u32 + 5) {
        st.on_data(s(i * 20 + 10), 10);
    }
    assert_eq!(st.holes().count(), MAX_HOLES);
    // The five lowest holes were given up: their bytes count as
    // retransmitted when they come. The sixth is still held: new bytes.
    let o = st.on_data(s(0), 10);
    assert_eq!((o.new, o.old), (0, 10));
    let o = st.on_data(s(80), 10);
    assert_eq!((o.new, o.old), (0, 10));
    let o = st.on_data(s(100), 10);
    assert_eq!((o.new, o.old), (10, 0));
    assert_eq!(st.holes().count(), MAX_HOLES - 1);
}

#[test]
fn a_split_with_the_hole_list_full_keeps_the_left_part() {
    let mut st = Stream::default();
    st.init(s(0));
    for i in 0..MAX_HOLES as u32 {
        st.on_data(s(i * 20 + 10), 10);
    }
    assert_eq!(st.holes().count(), MAX_HOLES);
    // Bytes in the middle of the first hole, [0, 10): no slot for its
    // right part, which is given up.
    let o = st.on_data(s(3), 2);
    assert_eq!((o.new, o.old), (2, 0));
    assert_eq!(st.holes().next(), Some((s(0), s(3))));
    assert_eq!(st.holes().count(), MAX_HOLES);
    let o = st.on_data(s(5), 5);
    assert_eq!((o.new, o.old), (0, 5));
    let o = st.on_data(s(0), 3);
    assert_eq!((o.new, o.old), (3, 0));
}

#[test]
fn seq_numbers_compare_modulo_2_32() {
    assert!(s(u32::MAX).lt(s(0)));
    assert!(s(0).gt(s(u32::MAX)));
    assert_eq!(s(5).distance_from(s(u32::MAX - 4)), 10);
    assert_eq!(s(1).distance_from(s(2)), 0);
}
