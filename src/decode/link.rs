//! Link layers: find the IP packet inside a frame.

use super::{Layer, Skip};

/// The link types finscope decodes (values from the tcpdump.org list).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Linktype;

impl Linktype {
    /// BSD loopback: a 4-byte address family in the capturing host's order.
    pub const NULL: u32 = 0;
    pub const ETHERNET: u32 = 1;
    /// Raw IP (several historical values).
    pub const RAW_12: u32 = 12;
    pub const RAW_14: u32 = 14;
    pub const RAW: u32 = 101;
    /// OpenBSD loopback: the family in network byte order.
    pub const LOOP: u32 = 108;
    /// Linux "cooked" capture v1 (`-i any` with older libpcap).
    pub const LINUX_SLL: u32 = 113;
    pub const IPV4: u32 = 228;
    pub const IPV6: u32 = 229;
    /// Linux "cooked" capture v2 (`-i any` with libpcap ≥ 1.10).
    pub const LINUX_SLL2: u32 = 276;
}

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const ETHERTYPE_VLAN: u16 = 0x8100;
const ETHERTYPE_QINQ: u16 = 0x88a8;
const ETHERTYPE_QINQ_OLD: u16 = 0x9100;
const ETHERTYPE_MPLS: u16 = 0x8847;
const ETHERTYPE_MPLS_MULTICAST: u16 = 0x8848;
const ETHERTYPE_PPPOE_SESSION: u16 = 0x8864;

fn be16(frame: &[u8], at: usize) -> Option<u16> {
    let b = frame.get(at..at + 2)?;
    Some(u16::from_be_bytes([*b.first()?, *b.get(1)?]))
}

/// Returns the IP packet carried by a frame.
pub fn ip_payload(linktype: u32, frame: &[u8]) -> Result<&[u8], Skip> {
    let truncated = Skip::Truncated(Layer::Link);
    match linktype {
        Linktype::ETHERNET => {
            let ethertype = be16(frame, 12).ok_or(truncated)?;
            let rest = frame.get(14..).ok_or(truncated)?;
            // Untagged IP, nearly every frame: without the call.
            match ethertype {
                ETHERTYPE_IPV4 | ETHERTYPE_IPV6 => Ok(rest),
                _ => after_ethertype(ethertype, rest),
            }
        }
        Linktype::LINUX_SLL => {
            // 16 bytes: packet type, ARPHRD, address length, address (8),
            // protocol (an ethertype for the usual ARPHRD_ETHER frames).
            let proto = be16(frame, 14).ok_or(truncated)?;
            after_ethertype(proto, frame.get(16..).ok_or(truncated)?)
        }
        Linktype::LINUX_SLL2 => {
            // 20 bytes: protocol first, then interface index, ARPHRD, packet
            // type, address length and address (8).
            let proto = be16(frame, 0).ok_or(truncated)?;
            after_ethertype(proto, frame.get(20..).ok_or(truncated)?)
        }
        Linktype::NULL | Linktype::LOOP => {
            let fam: [u8; 4] = frame
                .get(0..4)
                .and_then(|f| f.try_into().ok())
                .ok_or(truncated)?;
            let le = u32::from_le_bytes(fam);
            let be = u32::from_be_bytes(fam);
            // AF_INET is 2 everywhere; AF_INET6 is 24, 28 or 30 depending on
            // the BSD, 10 on Linux. The byte order is the capturing host's.
            let family = if linktype == Linktype::LOOP {
                be
            } else if le < 256 {
                le
            } else {
                be
            };
            match family {
                2 | 10 | 24 | 28 | 30 => Ok(frame.get(4..).ok_or(truncated)?),
                _ => Err(Skip::NotIp),
            }
        }
        Linktype::RAW | Linktype::RAW_12 | Linktype::RAW_14 | Linktype::IPV4 | Linktype::IPV6 => {
            Ok(frame)
        }
        other => Err(Skip::UnsupportedLinktype(other)),
    }
}

/// Pops an MPLS label stack (RFC 3032) and returns the IP packet under it.
/// The payload's type is not in the stack: IP is told by its version
/// nibble; a 0 nibble is a pseudowire control word (RFC 4385) before an
/// Ethernet frame.
fn after_mpls(mut rest: &[u8]) -> Result<&[u8], Skip> {
    let truncated = Skip::Truncated(Layer::Link);
    for _ in 0..16 {
        let bottom = *rest.get(2).ok_or(truncated)? & 0x01 != 0;
        rest = rest.get(4..).ok_or(truncated)?;
        if bottom {
            return match rest.first().map(|b| b >> 4) {
                Some(4 | 6) => Ok(rest),
                Some(0) => {
                    let frame = rest.get(4..).ok_or(truncated)?;
                    let ethertype = be16(frame, 12).ok_or(truncated)?;
                    after_ethertype(ethertype, frame.get(14..).ok_or(truncated)?)
                }
                Some(_) => Err(Skip::NotIp),
                None => Err(truncated),
            };
        }
    }
    Err(Skip::Malformed(Layer::Link))
}

/// Steps over 802.1Q / 802.1ad tags and returns the IP packet.
fn after_ethertype(mut ethertype: u16, mut rest: &[u8]) -> Result<&[u8], Skip> {
    // QinQ stacks are rarely deeper than two; bound the loop anyway.
    for _ in 0..8 {
        match ethertype {
            ETHERTYPE_IPV4 | ETHERTYPE_IPV6 => return Ok(rest),
            ETHERTYPE_VLAN | ETHERTYPE_QINQ | ETHERTYPE_QINQ_OLD => {
                ethertype = be16(rest, 2).ok_or(Skip::Truncated(Layer::Link))?;
                rest = rest.get(4..).ok_or(Skip::Truncated(Layer::Link))?;
            }
            ETHERTYPE_MPLS | ETHERTYPE_MPLS_MULTICAST => return after_mpls(rest),
            ETHERTYPE_PPPOE_SESSION => {
                // RFC 2516 §4: 6 bytes of PPPoE, then the PPP protocol.
                let proto = be16(rest, 6).ok_or(Skip::Truncated(Layer::Link))?;
                let ip = rest.get(8..).ok_or(Skip::Truncated(Layer::Link))?;
                return match proto {
                    0x0021 | 0x0057 => Ok(ip),
                    _ => Err(Skip::NotIp),
                };
            }
            _ => return Err(Skip::NotIp),
        }
    }
    Err(Skip::Malformed(Layer::Link))
}
