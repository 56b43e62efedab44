//! The TCP header and its options (RFC 9293 §3.1, RFC 7323, RFC 2018).

use std::fmt;
use std::net::IpAddr;

use super::{Layer, Segment, Skip};

/// The TCP control bits.
#[derive(Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct TcpFlags(u8);

impl TcpFlags {
    pub const FIN: TcpFlags = TcpFlags(0x01);
    pub const SYN: TcpFlags = TcpFlags(0x02);
    pub const RST: TcpFlags = TcpFlags(0x04);
    pub const PSH: TcpFlags = TcpFlags(0x08);
    pub const ACK: TcpFlags = TcpFlags(0x10);
    pub const URG: TcpFlags = TcpFlags(0x20);
    pub const ECE: TcpFlags = TcpFlags(0x40);
    pub const CWR: TcpFlags = TcpFlags(0x80);

    pub const fn from_bits(bits: u8) -> Self {
        TcpFlags(bits)
    }
    pub const fn bits(self) -> u8 {
        self.0
    }
    pub const fn contains(self, other: TcpFlags) -> bool {
        self.0 & other.0 == other.0
    }
    pub const fn syn(self) -> bool {
        self.contains(Self::SYN)
    }
    pub const fn ack(self) -> bool {
        self.contains(Self::ACK)
    }
    pub const fn fin(self) -> bool {
        self.contains(Self::FIN)
    }
    pub const fn rst(self) -> bool {
        self.contains(Self::RST)
    }
    pub const fn union(self, other: TcpFlags) -> Self {
        TcpFlags(self.0 | other.0)
    }
}

impl std::ops::BitOr for TcpFlags {
    type Output = TcpFlags;
    fn bitor(self, rhs: TcpFlags) -> TcpFlags {
        self.union(rhs)
    }
}

impl fmt::Display for TcpFlags {
    /// tcpdump's notation: `S`, `S.`, `F.`, `R`, `P.` …
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut any = false;
        for (flag, c) in [
            (Self::SYN, 'S'),
            (Self::FIN, 'F'),
            (Self::RST, 'R'),
            (Self::PSH, 'P'),
            (Self::URG, 'U'),
            (Self::ECE, 'E'),
            (Self::CWR, 'W'),
        ] {
            if self.contains(flag) {
                write!(f, "{c}")?;
                any = true;
            }
        }
        if self.ack() {
            write!(f, ".")?;
            any = true;
        }
        if !any {
            write!(f, "none")?;
        }
        Ok(())
    }
}

impl fmt::Debug for TcpFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{self}]")
    }
}

/// The TCP options finscope uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TcpOptions {
    pub mss: Option<u16>,
    pub window_scale: Option<u8>,
    pub sack_permitted: bool,
    /// Number of SACK blocks carried.
    pub sack_blocks: u8,
    /// (TSval, TSecr), RFC 7323 §3.
    pub timestamps: Option<(u32, u32)>,
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at + 4)?;
    Some(u32::from_be_bytes([
        *s.first()?,
        *s.get(1)?,
        *s.get(2)?,
        *s.get(3)?,
    ]))
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at + 2)?;
    Some(u16::from_be_bytes([*s.first()?, *s.get(1)?]))
}

/// Parses TCP options; a malformed option ends the walk, keeping what parsed.
#[inline]
pub fn parse_options(opts: &[u8]) -> TcpOptions {
    let mut out = TcpOptions::default();
    // What Linux puts on every segment after the handshake: NOP, NOP,
    // timestamps (RFC 7323 Appendix A's layout). The walk below gives the
    // same; this skips it.
    if let [1, 1, 8, 10, v0, v1, v2, v3, e0, e1, e2, e3] = *opts {
        out.timestamps = Some((
            u32::from_be_bytes([v0, v1, v2, v3]),
            u32::from_be_bytes([e0, e1, e2, e3]),
        ));
        return out;
    }
    walk_options(opts)
}

/// The general option walk behind [`parse_options`] (kept out of line, so
/// the shortcut before it inlines into the per-packet parse).
#[inline(never)]
fn walk_options(mut opts: &[u8]) -> TcpOptions {
    let mut out = TcpOptions::default();
    while let Some(&kind) = opts.first() {
        match kind {
            0 => break, // end of option list
            1 => {
                opts = opts.get(1..).unwrap_or_default();
                continue;
            }
            _ => {}
        }
        let Some(&len) = opts.get(1) else { break };
        let len = usize::from(len);
        if len < 2 || len > opts.len() {
            break;
        }
        let body = opts.get(2..len).unwrap_or_default();
        match (kind, body.len()) {
            (2, 2) => out.mss = be16(body, 0),
            (3, 1) => out.window_scale = body.first().copied(),
            (4, 0) => out.sack_permitted = true,
            (5, n) => out.sack_blocks = (n / 8) as u8,
            (8, 8) => out.timestamps = be32(body, 0).zip(be32(body, 4)),
            _ => {}
        }
        opts = opts.get(len..).unwrap_or_default();
    }
    out
}

/// Parses a TCP header. `segment_len` is the segment's length on the wire
/// (header + payload), which may exceed what was captured.
pub(super) fn parse(
    tcp: &[u8],
    segment_len: usize,
    src: IpAddr,
    dst: IpAddr,
    ttl: u8,
    ip_id: Option<u16>,
) -> Result<Segment<'_>, Skip> {
    let mut seg = Segment::EMPTY;
    seg.payload = parse_into(tcp, segment_len, (src, dst, ttl, ip_id), &mut seg)?;
    Ok(seg)
}

/// [`parse`], written over `out`: every field but the payload bytes, which
/// it returns (the per-packet path keeps only their length). On an error
/// `out` holds a mix of old and new fields.
#[inline]
pub(super) fn parse_into<'f>(
    tcp: &'f [u8],
    segment_len: usize,
    (src, dst, ttl, ip_id): (IpAddr, IpAddr, u8, Option<u16>),
    out: &mut Segment<'_>,
) -> Result<&'f [u8], Skip> {
    // The fixed header's fields (the first 16 bytes); a header cut short
    // after them (by the snapshot length) still gives its segment.
    let fixed: &[u8; 16] = tcp
        .get(..16)
        .and_then(|h| h.try_into().ok())
        .ok_or(Skip::Truncated(Layer::Tcp))?;
    let [p0, p1, p2, p3, s0, s1, s2, s3, a0, a1, a2, a3, offset_byte, flag_bits, w0, w1] = *fixed;
    let header_len = usize::from(offset_byte >> 4) * 4;
    if header_len < 20 || header_len > segment_len.max(tcp.len()) {
        return Err(Skip::Malformed(Layer::Tcp));
    }
    // Options cut off by the snapshot length are parsed as far as they go.
    let options = parse_options(tcp.get(20..header_len.min(tcp.len())).unwrap_or_default());
    let payload = tcp.get(header_len..).unwrap_or_default();
    let payload_len = segment_len.saturating_sub(header_len).max(payload.len());
    out.src = src;
    out.dst = dst;
    out.sport = u16::from_be_bytes([p0, p1]);
    out.dport = u16::from_be_bytes([p2, p3]);
    out.fields.seq = u32::from_be_bytes([s0, s1, s2, s3]);
    out.fields.ack = u32::from_be_bytes([a0, a1, a2, a3]);
    out.fields.flags = TcpFlags(flag_bits);
    out.fields.window = u16::from_be_bytes([w0, w1]);
    out.fields.payload_len = u32::try_from(payload_len).unwrap_or(u32::MAX);
    out.fields.options = options;
    out.fields.ttl = ttl;
    out.fields.ip_id = ip_id;
    Ok(payload.get(..payload_len).unwrap_or(payload))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shortcut for NOP, NOP, timestamps gives what the walk gives, on
    /// that layout and on every one-byte change of it.
    #[test]
    fn timestamp_shortcut_matches_the_walk() {
        let base = [1u8, 1, 8, 10, 0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 7];
        assert_eq!(parse_options(&base).timestamps, Some((0xdead_beef, 7)));
        for at in 0..base.len() {
            for b in 0..=255u8 {
                let mut o = base;
                o[at] = b;
                assert_eq!(parse_options(&o), walk_options(&o), "{o:?}");
                assert_eq!(parse_options(&o[..11]), walk_options(&o[..11]));
            }
        }
    }
}
