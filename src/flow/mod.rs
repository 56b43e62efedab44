//! Packets to connections: a direction-free key for the 4-tuple and a table
//! that finds a packet's connection with one hash lookup.

pub(crate) mod cells;
mod table;

use std::cmp::Ordering;
use std::fmt;
use std::net::IpAddr;

pub use table::{hash_key, hash_v4, FlowTable, KeyHash, Keyed, List, SlotId};

/// One end of a TCP connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SocketAddr {
    pub ip: IpAddr,
    pub port: u16,
}

impl From<std::net::SocketAddr> for SocketAddr {
    fn from(a: std::net::SocketAddr) -> Self {
        SocketAddr {
            ip: a.ip(),
            port: a.port(),
        }
    }
}

impl SocketAddr {
    /// Appends `ip:port` (`[ip]:port` for IPv6) to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        match self.ip {
            IpAddr::V4(ip) => {
                let (buf, len) = v4_text(ip, self.port);
                // All of the buffer, then back to its length: a copy of a
                // fixed size is a few moves, one of a variable size a call.
                let end = out.len() + len;
                out.extend_from_slice(&buf);
                out.truncate(end);
            }
            IpAddr::V6(_) => {
                use std::io::Write;
                let _ = write!(out, "{self}");
            }
        }
    }
}

/// Each octet's digits, their count in the last byte (see [`v4_text`]).
const OCTET_TEXT: [[u8; 4]; 256] = {
    let mut t = [[0u8; 4]; 256];
    let mut v = 0;
    while v < 256 {
        let (h, te, o) = ((v / 100) as u8, (v / 10 % 10) as u8, (v % 10) as u8);
        t[v] = match v {
            0..=9 => [b'0' + o, 0, 0, 1],
            10..=99 => [b'0' + te, b'0' + o, 0, 2],
            _ => [b'0' + h, b'0' + te, b'0' + o, 3],
        };
        v += 1;
    }
    t
};

/// `a.b.c.d:port` in a stack buffer, and its length. Every record names
/// three addresses and every finding's message one or two; `Ipv4Addr`'s
/// `Display` pads each octet through `fmt`, and even itoa per octet cost
/// about 300 instructions an address.
#[inline]
fn v4_text(ip: std::net::Ipv4Addr, port: u16) -> ([u8; 24], usize) {
    // 21 bytes at most; each octet is written as its four-byte table row,
    // the byte past its digits overwritten by what follows.
    let mut buf = [0u8; 24];
    let mut len = 0;
    for (i, octet) in ip.octets().into_iter().enumerate() {
        let row = OCTET_TEXT
            .get(usize::from(octet))
            .copied()
            .unwrap_or_default();
        if let Some(dst) = buf.get_mut(len..len + 4) {
            dst.copy_from_slice(&row);
        }
        len += usize::from(row[3]);
        if let Some(b) = buf.get_mut(len) {
            *b = if i < 3 { b'.' } else { b':' };
        }
        len += 1;
    }
    // The port's five digits (leading zeros included) in one word, shifted
    // down past the leading zeros, and written as eight bytes: the copy is
    // of a fixed size, the bytes past the port are scratch.
    let p = u32::from(port);
    let [m0, m1] = crate::digits::pair(p / 100 % 100);
    let [l0, l1] = crate::digits::pair(p % 100);
    let digits = [b'0' + (p / 10_000) as u8, m0, m1, l0, l1, 0, 0, 0];
    let skip = match port {
        10_000.. => 0,
        1000.. => 1,
        100.. => 2,
        10.. => 3,
        _ => 4,
    };
    let shifted = u64::from_le_bytes(digits) >> (8 * skip);
    // `len` is at most 16 ("255.255.255.255:"), so eight more fit.
    if let Some(dst) = buf.get_mut(len..len + 8) {
        dst.copy_from_slice(&shifted.to_le_bytes());
    }
    (buf, len + 5 - skip)
}

impl serde::Serialize for SocketAddr {
    /// As text: `10.0.0.1:80`, `[2001:db8::1]:443`.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl fmt::Display for SocketAddr {
    /// `10.0.0.1:80`, `[2001:db8::1]:443`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.ip {
            // Findings' messages name addresses, and `Ipv4Addr`'s own
            // `Display` goes through padding for each octet: render the
            // digits (as `write_to` does) and write them at once.
            IpAddr::V4(ip) => {
                let (buf, len) = v4_text(ip, self.port);
                f.write_str(std::str::from_utf8(buf.get(..len).unwrap_or_default()).unwrap_or(""))
            }
            IpAddr::V6(ip) => write!(f, "[{ip}]:{}", self.port),
        }
    }
}

/// An IPv4 endpoint's place in the derived order of [`SocketAddr`]s
/// (address as a number, then port), without the derived order's general
/// path: keys are made for every packet.
#[inline]
fn v4_rank(ip: u32, port: u16) -> u64 {
    (u64::from(ip) << 16) | u64::from(port)
}

/// The 4-tuple without a direction: both directions of a connection map to
/// the same key. `lo` is the smaller endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FlowKey {
    pub lo: SocketAddr,
    pub hi: SocketAddr,
}

/// Which of the key's endpoints sent a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeySide {
    Lo,
    Hi,
}

impl FlowKey {
    /// A placeholder (both ends 0.0.0.0:0).
    pub const EMPTY: FlowKey = FlowKey {
        lo: SocketAddr {
            ip: IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
            port: 0,
        },
        hi: SocketAddr {
            ip: IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
            port: 0,
        },
    };

    /// The key of a packet from `src` to `dst`, and which side sent it.
    pub fn of(src: SocketAddr, dst: SocketAddr) -> (FlowKey, KeySide) {
        let order = match (src.ip, dst.ip) {
            (IpAddr::V4(a), IpAddr::V4(b)) => {
                v4_rank(u32::from(a), src.port).cmp(&v4_rank(u32::from(b), dst.port))
            }
            _ => src.cmp(&dst),
        };
        match order {
            Ordering::Greater => (FlowKey { lo: dst, hi: src }, KeySide::Hi),
            _ => (FlowKey { lo: src, hi: dst }, KeySide::Lo),
        }
    }

    /// The key of a decoded segment, and which side sent it.
    pub fn of_segment(seg: &crate::decode::Segment<'_>) -> (FlowKey, KeySide) {
        FlowKey::of(
            SocketAddr {
                ip: seg.src,
                port: seg.sport,
            },
            SocketAddr {
                ip: seg.dst,
                port: seg.dport,
            },
        )
    }

    /// [`FlowKey::of_segment`] and the key's [`hash_key`], together: for
    /// IPv4 (nearly every packet) from the header's fields as decoded,
    /// without reading back the key just built (this runs for every
    /// packet, and the copies in between showed in profiles).
    #[inline]
    pub fn of_segment_hashed(seg: &crate::decode::Segment<'_>) -> (FlowKey, KeySide, KeyHash) {
        let (IpAddr::V4(a), IpAddr::V4(b)) = (seg.src, seg.dst) else {
            let (key, side) = FlowKey::of_segment(seg);
            return (key, side, hash_key(&key));
        };
        let (a, b) = (u32::from(a), u32::from(b));
        let src_first = v4_rank(a, seg.sport) <= v4_rank(b, seg.dport);
        let ((lo, lo_port), (hi, hi_port), side) = if src_first {
            ((a, seg.sport), (b, seg.dport), KeySide::Lo)
        } else {
            ((b, seg.dport), (a, seg.sport), KeySide::Hi)
        };
        let v4 = |ip: u32, port| SocketAddr {
            ip: IpAddr::V4(ip.into()),
            port,
        };
        let key = FlowKey {
            lo: v4(lo, lo_port),
            hi: v4(hi, hi_port),
        };
        (key, side, hash_v4(lo, lo_port, hi, hi_port))
    }

    pub fn endpoint(&self, side: KeySide) -> SocketAddr {
        match side {
            KeySide::Lo => self.lo,
            KeySide::Hi => self.hi,
        }
    }
}

impl KeySide {
    pub fn other(self) -> KeySide {
        match self {
            KeySide::Lo => KeySide::Hi,
            KeySide::Hi => KeySide::Lo,
        }
    }
}

/// Ports a server is likely to listen on, used to guess roles when a
/// connection is seen without its SYN.
pub fn is_likely_server_port(port: u16) -> bool {
    port < 1024
        || matches!(
            port,
            1080 | 1433
                | 1521
                | 2049
                | 2181
                | 2379
                | 3128
                | 3306
                | 3389
                | 5060
                | 5432
                | 5672
                | 5900
                | 6379
                | 6443
                | 6667
                | 8000
                | 8008
                | 8080
                | 8443
                | 8888
                | 9000
                | 9042
                | 9092
                | 9200
                | 9418
                | 11211
                | 27017
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sa(s: &str) -> SocketAddr {
        s.parse::<std::net::SocketAddr>().unwrap().into()
    }

    #[test]
    fn both_directions_share_a_key() {
        let (k1, s1) = FlowKey::of(sa("10.0.0.2:80"), sa("10.0.0.1:5000"));
        let (k2, s2) = FlowKey::of(sa("10.0.0.1:5000"), sa("10.0.0.2:80"));
        assert_eq!(k1, k2);
        assert_ne!(s1, s2);
        assert_eq!(k1.endpoint(s1), sa("10.0.0.2:80"));
        assert_eq!(k2.endpoint(s2), sa("10.0.0.1:5000"));
    }

    #[test]
    fn renders_ipv6_in_brackets() {
        assert_eq!(sa("[2001:db8::1]:443").to_string(), "[2001:db8::1]:443");
        assert_eq!(sa("10.0.0.1:80").to_string(), "10.0.0.1:80");
        assert_eq!(
            sa("255.255.255.255:65535").to_string(),
            "255.255.255.255:65535"
        );
        assert_eq!(sa("0.0.0.0:0").to_string(), "0.0.0.0:0");
    }

    /// The digits written by hand read as std's own rendering, for every
    /// octet and port length, through both `Display` and `write_to`.
    #[test]
    fn ipv4_text_matches_std() {
        let mut out = Vec::new();
        for octet in 0..=255u8 {
            for port in [
                0u16, 7, 10, 99, 100, 999, 1000, 9999, 10_000, 54_321, 65_535,
            ] {
                let ip = std::net::Ipv4Addr::new(octet, 255 - octet, octet / 3, 10);
                let std_text = std::net::SocketAddrV4::new(ip, port).to_string();
                let ours = SocketAddr {
                    ip: IpAddr::V4(ip),
                    port,
                };
                assert_eq!(ours.to_string(), std_text);
                out.clear();
                ours.write_to(&mut out);
                assert_eq!(String::from_utf8_lossy(&out), std_text);
            }
        }
        out.clear();
        sa("[2001:db8::1]:443").write_to(&mut out);
        assert_eq!(out, b"[2001:db8::1]:443");
    }

    /// A bare segment from `s` to `d`.
    fn segment(s: SocketAddr, d: SocketAddr) -> crate::decode::Segment<'static> {
        crate::decode::SegmentFields {
            seq: 0,
            ack: 0,
            flags: Default::default(),
            window: 0,
            payload_len: 0,
            options: Default::default(),
            ttl: 64,
            ip_id: None,
        }
        .with_ends(s.ip, s.port, d.ip, d.port)
    }

    /// The IPv4 fast path orders endpoints as the derived order does.
    #[test]
    fn key_order_matches_the_derived_order() {
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..100_000 {
            let (a, b) = (next(), next());
            // Few distinct addresses and ports, so ties happen too.
            let ep = |r: u64| SocketAddr {
                ip: IpAddr::V4(std::net::Ipv4Addr::from((r as u32) % 7 * 0x0101_0101)),
                port: (r >> 40) as u16 % 5,
            };
            let (s, d) = (ep(a), ep(b));
            let (key, side) = FlowKey::of(s, d);
            let (lo, hi) = if s > d { (d, s) } else { (s, d) };
            assert_eq!((key.lo, key.hi), (lo, hi));
            assert_eq!(side == KeySide::Hi, s > d);
            // The per-packet path gives the same key, side and hash.
            let seg = segment(s, d);
            assert_eq!(
                FlowKey::of_segment_hashed(&seg),
                (key, side, hash_key(&key))
            );
        }
        let v6 = segment(sa("[2001:db8::2]:443"), sa("[2001:db8::1]:5000"));
        let (key, side) = FlowKey::of_segment(&v6);
        assert_eq!(side, KeySide::Hi);
        assert_eq!(FlowKey::of_segment_hashed(&v6), (key, side, hash_key(&key)));
    }
}
