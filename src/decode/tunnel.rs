//! Tunnels: the packet carried inside GRE (with ERSPAN), VXLAN and Geneve,
//! so inner connections are analyzed like any other. (MPLS and PPPoE are
//! link-layer shims, in `link.rs`.)

/// What a tunnel carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inner<'a> {
    /// An Ethernet frame.
    Ethernet(&'a [u8]),
    /// An IPv4 or IPv6 packet.
    Ip(&'a [u8]),
}

const IP_GRE: u8 = 47;
const IP_UDP: u8 = 17;
/// IANA: VXLAN (RFC 7348 §5) and Geneve (RFC 8926 §3.3).
const UDP_VXLAN: u16 = 4789;
const UDP_GENEVE: u16 = 6081;

const ETH_IPV4: u16 = 0x0800;
const ETH_IPV6: u16 = 0x86dd;
const ETH_BRIDGED: u16 = 0x6558;
const ERSPAN_II: u16 = 0x88be;
const ERSPAN_III: u16 = 0x22eb;

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

/// The payload of an IP packet with protocol `ip_number`, if it is a tunnel
/// finscope opens.
pub fn inner(ip_number: u8, payload: &[u8]) -> Option<Inner<'_>> {
    match ip_number {
        IP_GRE => gre(payload),
        IP_UDP => {
            let dport = be16(payload, 2)?;
            let body = payload.get(8..)?;
            match dport {
                // RFC 7348 §5: an 8-byte VXLAN header, then Ethernet.
                UDP_VXLAN => Some(Inner::Ethernet(body.get(8..)?)),
                // RFC 8926 §3.4: 8 bytes plus options (length in 4-byte
                // words), then the protocol named by an ethertype.
                UDP_GENEVE => {
                    let opt_len = usize::from(*body.first()? & 0x3f) * 4;
                    let proto = be16(body, 2)?;
                    by_ethertype(proto, body.get(8 + opt_len..)?)
                }
                _ => None,
            }
        }
        _ => None,
    }
}

fn by_ethertype(proto: u16, rest: &[u8]) -> Option<Inner<'_>> {
    match proto {
        ETH_IPV4 | ETH_IPV6 => Some(Inner::Ip(rest)),
        ETH_BRIDGED => Some(Inner::Ethernet(rest)),
        _ => None,
    }
}

/// GRE (RFC 2784, RFC 2890 keys and sequence numbers), version 0 only
/// (version 1 is PPTP's enhanced GRE, carrying PPP).
fn gre(p: &[u8]) -> Option<Inner<'_>> {
    let flags = be16(p, 0)?;
    if flags & 0x0007 != 0 {
        return None;
    }
    let proto = be16(p, 2)?;
    let mut len = 4;
    for bit in [0x8000, 0x2000, 0x1000] {
        // Checksum (+ reserved), key, sequence number: 4 bytes each.
        if flags & bit != 0 {
            len += 4;
        }
    }
    let rest = p.get(len..)?;
    match proto {
        // ERSPAN type II: an 8-byte header, then the mirrored frame.
        ERSPAN_II => Some(Inner::Ethernet(rest.get(8..)?)),
        // ERSPAN type III: 12 bytes, plus 8 of platform data when the O bit
        // (the last bit of the header) is set.
        ERSPAN_III => {
            let o = *rest.get(11)? & 0x01 != 0;
            Some(Inner::Ethernet(rest.get(if o { 20 } else { 12 }..)?))
        }
        _ => by_ethertype(proto, rest),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gre_with_key_and_sequence() {
        let mut p = vec![0x30, 0x00, 0x08, 0x00, 0, 0, 0, 1, 0, 0, 0, 2];
        p.extend_from_slice(&[0x45, 0]);
        assert_eq!(inner(47, &p), Some(Inner::Ip(&[0x45, 0][..])));
        // PPTP's GRE version 1 is not opened.
        let v1 = [0x30, 0x01, 0x88, 0x0b, 0, 0, 0, 0];
        assert_eq!(inner(47, &v1), None);
    }

    #[test]
    fn erspan_types_ii_and_iii() {
        // GRE with a sequence number, ERSPAN II: 8-byte header, then Ethernet.
        let mut ii = vec![0x10, 0x00, 0x88, 0xbe, 0, 0, 0, 7];
        ii.extend_from_slice(&[0x10, 0, 0, 1, 0, 0, 0, 0]);
        ii.extend_from_slice(&[0xee; 6]);
        assert_eq!(inner(47, &ii), Some(Inner::Ethernet(&[0xee; 6][..])));
        // ERSPAN III: 12 bytes, plus 8 of platform data with the O bit.
        let mut iii = vec![0x00, 0x00, 0x22, 0xeb];
        iii.extend_from_slice(&[0x20, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0x01]);
        iii.extend_from_slice(&[0; 8]);
        iii.extend_from_slice(&[0xdd; 6]);
        assert_eq!(inner(47, &iii), Some(Inner::Ethernet(&[0xdd; 6][..])));
        // A header cut short is no tunnel.
        assert_eq!(inner(47, &iii[..10]), None);
    }

    #[test]
    fn vxlan_and_geneve() {
        let mut vx = vec![
            0x12, 0x34, 0x12, 0xb5, 0, 24, 0, 0, 0x08, 0, 0, 0, 0, 0, 1, 0,
        ];
        vx.extend_from_slice(&[0xaa; 8]);
        assert_eq!(inner(17, &vx), Some(Inner::Ethernet(&[0xaa; 8][..])));
        let mut gv = vec![
            0x12, 0x34, 0x17, 0xc1, 0, 0, 0, 0, 0x01, 0, 0x65, 0x58, 0, 0, 1, 0, 9, 9, 9, 9,
        ];
        gv.extend_from_slice(&[0xbb; 4]);
        assert_eq!(inner(17, &gv), Some(Inner::Ethernet(&[0xbb; 4][..])));
        // Other UDP is not a tunnel; short packets are not either.
        assert_eq!(inner(17, &[0, 53, 0, 53, 0, 8, 0, 0]), None);
        assert_eq!(inner(17, &[0x12, 0x34, 0x12]), None);
    }
}
