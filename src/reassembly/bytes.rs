//! Byte-exact reassembly of one direction, for stream export.
//!
//! Bytes come out in stream order, each exactly once, at their offset from
//! the first data byte (ISN + 1, RFC 9293 §3.4: the SYN consumes one
//! sequence number). Segments that arrive ahead of a hole wait in a buffer
//! with a cap; a hole that never fills (the capture lost the packet, or the
//! buffer hit its cap) is skipped and recorded as a gap with its offset, so
//! nothing is ever glued together silently.
//!
//! Overlap policy: the first copy of a byte wins. Bytes already delivered
//! are never replaced, and a later copy that disagrees is counted as a
//! conflict (RFC 9293 §3.10.7.4 has the receiver trim what it already
//! has). Among buffered out-of-order copies, the one that arrived first
//! keeps its bytes.

use std::collections::BTreeMap;

use super::SeqNumber;

/// One direction's bytes, in order.
#[derive(Debug, Default)]
pub struct ByteStream {
    /// Sequence number of offset `next_off`.
    next_seq: Option<SeqNumber>,
    /// Bytes delivered so far (and gaps skipped): the next offset expected.
    next_off: u64,
    /// The last bytes delivered, to tell retransmissions that disagree.
    recent: Vec<u8>,
    /// Out-of-order bytes by offset (all beyond `next_off`).
    ooo: BTreeMap<u64, Vec<u8>>,
    ooo_bytes: usize,
    /// Holes skipped: (offset, length).
    pub gaps: Vec<(u64, u64)>,
    /// Offset just past the last byte, from the FIN.
    pub fin_off: Option<u64>,
    /// Bytes that arrived again with different contents.
    pub conflicts: u64,
    /// Times the buffer cap forced a hole to be skipped.
    pub overflows: u64,
    /// Segments that start further ahead than any window allows.
    pub out_of_window: u64,
}

/// The largest window TCP can advertise (65535 << 14, RFC 7323 §2.3):
/// data further ahead than this cannot be acceptable (RFC 9293 §3.10.7.4)
/// and is not placed in the stream.
const MAX_WINDOW: u64 = 65535 << 14;

/// How many delivered bytes are kept to compare retransmissions against.
const RECENT: usize = 64 * 1024;

impl ByteStream {
    /// The stream's data starts after this SYN (it consumes one number).
    pub fn syn(&mut self, seq: SeqNumber) {
        if self.next_seq.is_none() {
            self.next_seq = Some(seq + 1);
        }
    }

    /// Bytes waiting in the out-of-order buffer.
    pub fn buffered(&self) -> usize {
        self.ooo_bytes
    }

    /// The offset of the next byte expected (bytes delivered plus gaps).
    pub fn delivered(&self) -> u64 {
        self.next_off
    }

    /// Takes one segment: `payload` is what was captured of its `wire_len`
    /// bytes. In-order bytes go to `out(offset, bytes)`; bytes ahead of a
    /// hole wait unless the buffer would pass `cap`, in which case the
    /// lowest hole is given up. Returns the change in buffered bytes.
    pub fn segment(
        &mut self,
        seq: SeqNumber,
        payload: &[u8],
        wire_len: u32,
        fin: bool,
        cap: usize,
        out: &mut dyn FnMut(u64, &[u8]),
    ) -> isize {
        let before = self.ooo_bytes as isize;
        // Seen midstream: the first segment defines offset 0.
        let next_seq = *self.next_seq.get_or_insert(seq);
        // Where this segment starts, in stream offsets (sequence numbers wrap,
        // so the distance is taken relative to the next expected one).
        let start = self.next_off as i64 + i64::from(seq.diff(next_seq));
        if fin {
            let end = start + i64::from(wire_len);
            if end >= 0 {
                self.fin_off.get_or_insert(end as u64);
            }
        }
        if payload.is_empty() || start + payload.len() as i64 <= 0 {
            return 0;
        }
        // Bytes before offset 0 (before the SYN) are not part of the stream.
        let (start, payload) = if start < 0 {
            let skip = usize::try_from(-start).unwrap_or(usize::MAX);
            (0u64, payload.get(skip..).unwrap_or(&[]))
        } else {
            (start as u64, payload)
        };
        let end = start + payload.len() as u64;
        if start > self.next_off + MAX_WINDOW {
            self.out_of_window += 1;
            return 0;
        }
        if end <= self.next_off {
            // A keep-alive may carry one garbage byte just below the next
            // expected one (RFC 9293 §3.8.4); it is not a conflicting copy.
            let keep_alive = payload.len() == 1 && end == self.next_off;
            if !keep_alive {
                self.compare_delivered(start, payload);
            }
            return 0;
        }
        if start <= self.next_off {
            // Overlaps what was delivered: keep the first copy, deliver the rest.
            let have = (self.next_off - start) as usize;
            if let (Some(old), Some(new)) = (payload.get(..have), payload.get(have..)) {
                self.compare_delivered(start, old);
                self.deliver(new, out);
            }
            self.drain(out);
        } else {
            self.buffer(start, payload);
            while self.ooo_bytes > cap {
                // Over the cap: give up the lowest hole.
                self.overflows += 1;
                self.skip_hole(out);
            }
        }
        self.ooo_bytes as isize - before
    }

    /// The stream is over: holes left before buffered bytes become gaps, and
    /// bytes the FIN says were sent but the capture never held are a gap
    /// at the end. Returns the change in buffered bytes.
    pub fn finish(&mut self, out: &mut dyn FnMut(u64, &[u8])) -> isize {
        let before = self.ooo_bytes as isize;
        while !self.ooo.is_empty() {
            self.skip_hole(out);
        }
        if let Some(fin) = self.fin_off {
            if fin > self.next_off {
                self.gaps.push((self.next_off, fin - self.next_off));
                self.next_off = fin;
            }
        }
        self.ooo_bytes as isize - before
    }

    fn deliver(&mut self, bytes: &[u8], out: &mut dyn FnMut(u64, &[u8])) {
        if bytes.is_empty() {
            return;
        }
        out(self.next_off, bytes);
        self.next_off += bytes.len() as u64;
        self.next_seq = self.next_seq.map(|s| s + bytes.len() as u32);
        // Keep the tail for comparing retransmissions.
        if bytes.len() >= RECENT {
            self.recent.clear();
            self.recent
                .extend_from_slice(bytes.get(bytes.len() - RECENT..).unwrap_or(&[]));
        } else {
            let excess = (self.recent.len() + bytes.len()).saturating_sub(RECENT);
            self.recent.drain(..excess.min(self.recent.len()));
            self.recent.extend_from_slice(bytes);
        }
    }

    /// Counts bytes that arrive again (at `start`, all below `next_off`)
    /// with other contents, as far as the recent window reaches.
    fn compare_delivered(&mut self, start: u64, bytes: &[u8]) {
        let window_start = self.next_off - self.recent.len() as u64;
        for (i, b) in bytes.iter().enumerate() {
            let off = start + i as u64;
            if off < window_start {
                continue;
            }
            if let Some(old) = self.recent.get((off - window_start) as usize) {
                if old != b {
                    self.conflicts += 1;
                }
            }
        }
    }

    fn buffer(&mut self, start: u64, payload: &[u8]) {
        // First copy wins: trim against buffered neighbours.
        let mut start = start;
        let mut bytes = payload;
        if let Some((&s, prev)) = self.ooo.range(..=start).next_back() {
            let prev_end = s + prev.len() as u64;
            if prev_end >= start + bytes.len() as u64 {
                return; // entirely buffered already
            }
            if prev_end > start {
                bytes = bytes.get((prev_end - start) as usize..).unwrap_or(&[]);
                start = prev_end;
            }
        }
        let end = start + bytes.len() as u64;
        if let Some((&s, _)) = self.ooo.range(start..end).next() {
            // Keep only what comes before the next buffered copy; the rest of
            // this segment (if any) beyond it arrives again later or is a
            // duplicate of buffered bytes.
            bytes = bytes.get(..(s - start) as usize).unwrap_or(&[]);
        }
        if !bytes.is_empty() {
            self.ooo_bytes += bytes.len();
            self.ooo.insert(start, bytes.to_vec());
        }
    }

    /// Delivers buffered bytes that have become contiguous.
    fn drain(&mut self, out: &mut dyn FnMut(u64, &[u8])) {
        while let Some((&s, _)) = self.ooo.first_key_value() {
            if s > self.next_off {
                break;
            }
            let Some(bytes) = self.ooo.remove(&s) else {
                break;
            };
            self.ooo_bytes -= bytes.len();
            let have = (self.next_off - s) as usize;
            if let Some(rest) = bytes.get(have..) {
                self.deliver(rest, out);
            }
        }
    }

    /// Gives up the hole before the lowest buffered bytes.
    fn skip_hole(&mut self, out: &mut dyn FnMut(u64, &[u8])) {
        let Some((&s, _)) = self.ooo.first_key_value() else {
            return;
        };
        if s > self.next_off {
            self.gaps.push((self.next_off, s - self.next_off));
            let len = s - self.next_off;
            self.next_seq = self.next_seq.map(|q| q + len as u32);
            self.next_off = s;
            // Delivered bytes are no longer contiguous with what follows.
            self.recent.clear();
        }
        self.drain(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds segments (seq, bytes) and returns the stream as written at
    /// offsets, with zeros in the gaps.
    fn run(isn: u32, segs: &[(u32, &[u8])], cap: usize) -> (Vec<u8>, ByteStream) {
        let mut s = ByteStream::default();
        s.syn(SeqNumber(isn));
        let mut file = Vec::new();
        let mut put = |off: u64, b: &[u8]| {
            let off = off as usize;
            if file.len() < off + b.len() {
                file.resize(off + b.len(), 0);
            }
            file[off..off + b.len()].copy_from_slice(b);
        };
        for (seq, b) in segs {
            s.segment(SeqNumber(*seq), b, b.len() as u32, false, cap, &mut put);
        }
        s.finish(&mut put);
        (file, s)
    }

    #[test]
    fn in_order_out_of_order_and_retransmitted_bytes_come_out_once() {
        let (f, s) = run(
            99,
            &[
                (100, b"hello "),
                (112, b"!!"),
                (106, b"world "),
                (106, b"world "),
                (100, b"he"),
            ],
            1 << 20,
        );
        assert_eq!(f, b"hello world !!");
        assert!(s.gaps.is_empty());
        assert_eq!(s.conflicts, 0);
    }

    #[test]
    fn sequence_numbers_wrap() {
        let isn = u32::MAX - 3;
        let (f, s) = run(
            isn,
            &[
                (isn.wrapping_add(5), b"cdef"),
                (isn.wrapping_add(1), b"ab\0\0"),
            ],
            1 << 20,
        );
        assert_eq!(f, b"ab\0\0cdef");
        assert!(s.gaps.is_empty());
    }

    #[test]
    fn a_hole_that_never_fills_is_a_gap_with_its_offset() {
        let (f, s) = run(0, &[(1, b"abc"), (10, b"xyz")], 1 << 20);
        assert_eq!(f, b"abc\0\0\0\0\0\0xyz");
        assert_eq!(s.gaps, [(3, 6)]);
    }

    #[test]
    fn the_buffer_cap_gives_up_the_lowest_hole() {
        let (f, s) = run(0, &[(1, b"a"), (5, b"eeee"), (20, b"tttt"), (2, b"bcd")], 6);
        // The second buffered segment pushed the buffer over 6 bytes: the
        // hole at 1..4 was given up, and "bcd" arrived too late.
        assert_eq!(s.overflows, 1);
        assert_eq!(s.gaps, [(1, 3), (8, 11)]);
        assert_eq!(&f[..8], b"a\0\0\0eeee");
    }

    #[test]
    fn a_keep_alive_byte_is_neither_data_nor_a_conflict() {
        let (f, s) = run(0, &[(1, b"abcd"), (4, b"\0"), (5, b"ef")], 1 << 20);
        assert_eq!(f, b"abcdef");
        assert_eq!(s.conflicts, 0);
    }

    #[test]
    fn first_copy_wins_and_disagreeing_copies_are_counted() {
        let (f, s) = run(0, &[(1, b"abcd"), (3, b"XYef")], 1 << 20);
        assert_eq!(f, b"abcdef");
        assert_eq!(s.conflicts, 2);
    }

    #[test]
    fn bytes_the_fin_covers_but_the_capture_missed_are_a_final_gap() {
        let mut s = ByteStream::default();
        s.syn(SeqNumber(0));
        let mut n = 0;
        let mut put = |_: u64, b: &[u8]| n += b.len();
        s.segment(SeqNumber(1), b"ab", 2, false, 100, &mut put);
        s.segment(SeqNumber(5), b"", 0, true, 100, &mut put);
        s.finish(&mut put);
        assert_eq!(n, 2);
        assert_eq!(s.gaps, [(2, 2)]);
    }
}
