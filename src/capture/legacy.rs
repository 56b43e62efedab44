//! Legacy pcap files, read from a buffer of our own.
//!
//! A legacy pcap file is a 24-byte header, then records: a 16-byte header
//! (seconds, fraction, captured length, length on the wire) and the
//! captured bytes. There is nothing to parse but four words, so these files
//! do not go through `pcap-parser`: its reader (a trait object over its
//! buffer crate, nom and a block enum, three calls a record) cost about
//! what decoding the packet does. pcapng keeps it.

use std::io::{self, Read};

/// What the file header says about every record after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Header {
    /// The writer's byte order (every word of the file is in it).
    pub(super) big_endian: bool,
    /// Nanosecond timestamps (magic `a1b23c4d`), else microseconds.
    pub(super) nanos: bool,
    pub(super) snaplen: u32,
    pub(super) linktype: u32,
}

/// The header's size on disk.
pub(super) const HEADER_LEN: usize = 24;

/// A record header's size on disk.
pub(super) const RECORD_HEADER_LEN: usize = 16;

impl Header {
    /// Reads a legacy pcap header; `None` when the magic number is not one
    /// of the four (byte order × precision) this reader takes.
    pub(super) fn parse(h: &[u8; HEADER_LEN]) -> Option<Header> {
        let [m0, m1, m2, m3, ..] = *h;
        let (big_endian, nanos) = match [m0, m1, m2, m3] {
            [0xd4, 0xc3, 0xb2, 0xa1] => (false, false),
            [0x4d, 0x3c, 0xb2, 0xa1] => (false, true),
            [0xa1, 0xb2, 0xc3, 0xd4] => (true, false),
            [0xa1, 0xb2, 0x3c, 0x4d] => (true, true),
            _ => return None,
        };
        let word = |at: usize| {
            let b: [u8; 4] = h.get(at..at + 4)?.try_into().ok()?;
            Some(match big_endian {
                true => u32::from_be_bytes(b),
                false => u32::from_le_bytes(b),
            })
        };
        // Version (4 bytes), time zone and accuracy (8) are not used.
        Some(Header {
            big_endian,
            nanos,
            snaplen: word(16)?,
            linktype: word(20)?,
        })
    }

    /// A record header's four words: seconds, fraction, captured length,
    /// length on the wire.
    #[inline(always)]
    pub(super) fn record(&self, h: &[u8; RECORD_HEADER_LEN]) -> [u32; 4] {
        let [a0, a1, a2, a3, b0, b1, b2, b3, c0, c1, c2, c3, d0, d1, d2, d3] = *h;
        let word = |b: [u8; 4]| match self.big_endian {
            true => u32::from_be_bytes(b),
            false => u32::from_le_bytes(b),
        };
        [
            word([a0, a1, a2, a3]),
            word([b0, b1, b2, b3]),
            word([c0, c1, c2, c3]),
            word([d0, d1, d2, d3]),
        ]
    }
}

/// The bytes read from the file and not yet consumed: `buf[pos..end]`.
pub(super) struct Buffer {
    input: Box<dyn Read + Send>,
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    /// A read returned nothing: the input has ended.
    exhausted: bool,
}

impl Buffer {
    /// A buffer of `capacity` bytes over `input`, starting with `head` (the
    /// bytes already read from it).
    pub(super) fn new(input: Box<dyn Read + Send>, head: &[u8], capacity: usize) -> Buffer {
        let mut buf = vec![0; capacity.max(head.len())];
        if let Some(dst) = buf.get_mut(..head.len()) {
            dst.copy_from_slice(head);
        }
        Buffer {
            input,
            buf,
            pos: 0,
            end: head.len(),
            exhausted: false,
        }
    }

    /// What is buffered and not consumed.
    #[inline]
    pub(super) fn data(&self) -> &[u8] {
        self.buf.get(self.pos..self.end).unwrap_or_default()
    }

    /// Drops the first `n` buffered bytes (at most what is buffered).
    #[inline]
    pub(super) fn consume(&mut self, n: usize) {
        self.pos = self.pos.saturating_add(n).min(self.end);
    }

    pub(super) fn capacity(&self) -> usize {
        self.buf.len()
    }

    pub(super) fn exhausted(&self) -> bool {
        self.exhausted
    }

    /// Grows the buffer to `capacity` bytes (never shrinks it).
    pub(super) fn grow(&mut self, capacity: usize) {
        if capacity > self.buf.len() {
            self.buf.resize(capacity, 0);
        }
    }

    /// Moves the unconsumed bytes to the front and reads after them until
    /// the buffer is full or the input ends (a read of nothing marks it
    /// exhausted).
    pub(super) fn refill(&mut self) -> io::Result<()> {
        self.buf.copy_within(self.pos..self.end, 0);
        self.end -= self.pos;
        self.pos = 0;
        let Some(space) = self.buf.get_mut(self.end..).filter(|s| !s.is_empty()) else {
            return Ok(());
        };
        let n = self.input.read(space)?;
        self.exhausted = n == 0;
        self.end += n;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_in_both_byte_orders_and_precisions() {
        let mut le = [0u8; HEADER_LEN];
        le[..4].copy_from_slice(&[0xd4, 0xc3, 0xb2, 0xa1]);
        le[16..20].copy_from_slice(&262_144u32.to_le_bytes());
        le[20..].copy_from_slice(&1u32.to_le_bytes());
        assert_eq!(
            Header::parse(&le),
            Some(Header {
                big_endian: false,
                nanos: false,
                snaplen: 262_144,
                linktype: 1
            })
        );
        let mut be = [0u8; HEADER_LEN];
        be[..4].copy_from_slice(&[0xa1, 0xb2, 0x3c, 0x4d]);
        be[16..20].copy_from_slice(&96u32.to_be_bytes());
        be[20..].copy_from_slice(&113u32.to_be_bytes());
        let h = Header::parse(&be).unwrap();
        assert_eq!(
            (h.big_endian, h.nanos, h.snaplen, h.linktype),
            (true, true, 96, 113)
        );
        let mut rec = [0u8; RECORD_HEADER_LEN];
        rec[8..12].copy_from_slice(&60u32.to_be_bytes());
        assert_eq!(h.record(&rec), [0, 0, 60, 0]);
        be[0] = 0;
        assert_eq!(Header::parse(&be), None);
    }

    /// A reader that hands out at most 5 bytes a call.
    struct Trickle(std::io::Cursor<Vec<u8>>);
    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(5);
            self.0.read(&mut buf[..n])
        }
    }

    #[test]
    fn refills_keep_unconsumed_bytes_and_notice_the_end() {
        let input = Trickle(std::io::Cursor::new((0u8..30).collect()));
        let mut b = Buffer::new(Box::new(input), &[100, 101], 8);
        assert_eq!(b.data(), &[100, 101]);
        b.consume(1);
        b.refill().unwrap();
        assert_eq!(b.data(), &[101, 0, 1, 2, 3, 4]);
        b.consume(10);
        assert_eq!(b.data(), &[] as &[u8]);
        b.grow(4);
        assert_eq!(b.capacity(), 8);
        let mut seen = Vec::new();
        while !b.exhausted() {
            b.refill().unwrap();
            seen.extend_from_slice(b.data());
            let n = b.data().len();
            b.consume(n);
        }
        assert_eq!(seen, (5u8..30).collect::<Vec<_>>());
    }
}
