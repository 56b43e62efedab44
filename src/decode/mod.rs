//! Frames to TCP segments: link layer → IP → TCP.
//!
//! Decoding never fails loudly: a frame that is not a TCP segment (or is too
//! damaged to be one) comes back as a [`Skip`] reason, which the pipeline
//! counts for the summary. Truncated frames decode as far as they go: a TCP
//! header that survived the snapshot length is enough, and the payload
//! length comes from the IP length fields, not from what was captured.

mod link;
mod tcp;
mod tunnel;

use std::net::IpAddr;

pub use link::Linktype;
pub use tcp::{TcpFlags, TcpOptions};

/// A decoded TCP segment, borrowing the frame: its ends, its payload bytes
/// and the fields the connection tracker reads (which a `--threads` worker
/// is handed without the rest).
#[derive(Debug, Clone, Copy)]
pub struct Segment<'a> {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub sport: u16,
    pub dport: u16,
    /// The payload bytes that were captured (at most `fields.payload_len`).
    pub payload: &'a [u8],
    pub fields: SegmentFields,
}

impl Segment<'_> {
    /// A placeholder to decode into (see [`decode_into`]).
    pub const EMPTY: Segment<'static> = Segment {
        src: IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
        dst: IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
        sport: 0,
        dport: 0,
        payload: &[],
        fields: SegmentFields {
            seq: 0,
            ack: 0,
            flags: TcpFlags::from_bits(0),
            window: 0,
            payload_len: 0,
            options: TcpOptions {
                mss: None,
                window_scale: None,
                sack_permitted: false,
                sack_blocks: 0,
                timestamps: None,
            },
            ttl: 0,
            ip_id: None,
        },
    };

    /// The same segment without its payload bytes (`payload_len` stays).
    pub fn detach(self) -> Segment<'static> {
        Segment {
            payload: &[],
            ..self
        }
    }
}

/// What the connection tracker reads of a [`Segment`]: everything but its
/// ends (addresses and ports) and payload bytes. A `--threads` worker is
/// handed these alone, the flow key giving the ends back.
#[derive(Debug, Clone, Copy)]
pub struct SegmentFields {
    pub seq: u32,
    pub ack: u32,
    pub flags: TcpFlags,
    /// The raw (unscaled) window field.
    pub window: u16,
    /// Payload length on the wire, from the IP header's length fields.
    pub payload_len: u32,
    pub options: TcpOptions,
    /// IPv4 TTL or IPv6 hop limit.
    pub ttl: u8,
    /// IPv4 identification (IPv6 has none).
    pub ip_id: Option<u16>,
}

impl SegmentFields {
    /// The segment from `src:sport` to `dst:dport`, without payload bytes.
    pub fn with_ends(self, src: IpAddr, sport: u16, dst: IpAddr, dport: u16) -> Segment<'static> {
        Segment {
            src,
            dst,
            sport,
            dport,
            payload: &[],
            fields: self,
        }
    }
}

/// Why a frame did not yield a TCP segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Skip {
    /// A link type finscope does not decode.
    UnsupportedLinktype(u32),
    /// A link-layer payload that is not IP (ARP, LLDP, …).
    NotIp,
    /// IP, but not TCP (UDP, ICMP, …).
    NotTcp,
    /// A non-first IP fragment, or a first fragment too short for TCP.
    IpFragment,
    /// The frame ends before the named header does.
    Truncated(Layer),
    /// A header's fields are impossible (bad version, length too small).
    Malformed(Layer),
}

/// The protocol layer a problem was found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Layer {
    Link,
    Ip,
    Tcp,
}

impl Skip {
    /// The reason's name in reports (`"truncated-tcp"`, …).
    pub fn reason(&self) -> &'static str {
        match self {
            Skip::UnsupportedLinktype(_) => "unsupported-linktype",
            Skip::NotIp => "not-ip",
            Skip::NotTcp => "not-tcp",
            Skip::IpFragment => "ip-fragment",
            Skip::Truncated(Layer::Link) => "truncated-link",
            Skip::Truncated(Layer::Ip) => "truncated-ip",
            Skip::Truncated(Layer::Tcp) => "truncated-tcp",
            Skip::Malformed(Layer::Link) => "malformed-link",
            Skip::Malformed(Layer::Ip) => "malformed-ip",
            Skip::Malformed(Layer::Tcp) => "malformed-tcp",
        }
    }

    /// Every reason name, in the order reports list them.
    pub const REASONS: [&'static str; 10] = [
        "unsupported-linktype",
        "not-ip",
        "not-tcp",
        "ip-fragment",
        "truncated-link",
        "truncated-ip",
        "truncated-tcp",
        "malformed-link",
        "malformed-ip",
        "malformed-tcp",
    ];

    /// Index of this reason in [`Skip::REASONS`], for counting in an array.
    pub fn index(&self) -> usize {
        match self {
            Skip::UnsupportedLinktype(_) => 0,
            Skip::NotIp => 1,
            Skip::NotTcp => 2,
            Skip::IpFragment => 3,
            Skip::Truncated(Layer::Link) => 4,
            Skip::Truncated(Layer::Ip) => 5,
            Skip::Truncated(Layer::Tcp) => 6,
            Skip::Malformed(Layer::Link) => 7,
            Skip::Malformed(Layer::Ip) => 8,
            Skip::Malformed(Layer::Tcp) => 9,
        }
    }
}

/// Tunnels inside tunnels are opened this deep at most.
const MAX_NESTING: u8 = 4;

/// Decodes one frame of the given link type into a TCP segment, opening
/// tunnels (MPLS, PPPoE, GRE/ERSPAN, VXLAN, Geneve) on the way.
pub fn decode(linktype: u32, frame: &[u8]) -> Result<Segment<'_>, Skip> {
    let mut seg = Segment::EMPTY;
    seg.payload = decode_into(linktype, frame, &mut seg)?;
    Ok(seg)
}

/// [`decode`], written over `out`: every field but the payload bytes,
/// which it returns. The per-packet path decodes so into the slot the
/// packet waits in, where a returned segment was copied twice on the way
/// (about 60 instructions a packet). On an error `out` holds a mix of old
/// and new fields.
#[inline]
pub fn decode_into<'f>(
    linktype: u32,
    frame: &'f [u8],
    out: &mut Segment<'_>,
) -> Result<&'f [u8], Skip> {
    let ip = link::ip_payload(linktype, frame)?;
    match ipv4_tcp_into(ip, out) {
        Some(payload) => payload,
        None => {
            let seg = ip_general(ip, 0)?;
            *out = seg.detach();
            Ok(seg.payload)
        }
    }
}

fn decode_nested(linktype: u32, frame: &[u8], depth: u8) -> Result<Segment<'_>, Skip> {
    let ip = link::ip_payload(linktype, frame)?;
    ip_nested(ip, depth)
}

/// Decodes an IP packet (v4 or v6, with extension headers) carrying TCP.
pub fn ip_to_tcp(packet: &[u8]) -> Result<Segment<'_>, Skip> {
    ip_nested(packet, 0)
}

fn ip_nested(packet: &[u8], depth: u8) -> Result<Segment<'_>, Skip> {
    match ipv4_tcp(packet) {
        Some(seg) => seg,
        None => ip_general(packet, depth),
    }
}

/// The common case, without etherparse's general slicing: IPv4 with a
/// 20-byte header, not a fragment, carrying TCP, its total length past
/// the header. Gives what [`ip_general`] gives for such a packet
/// (`tests.rs` holds it to that on every testdata frame, cut at every
/// length and with its header bytes changed); `None` for anything else.
fn ipv4_tcp(packet: &[u8]) -> Option<Result<Segment<'_>, Skip>> {
    let mut seg = Segment::EMPTY;
    Some(ipv4_tcp_into(packet, &mut seg)?.map(|payload| {
        seg.payload = payload;
        seg
    }))
}

/// [`ipv4_tcp`], written over `out` as [`decode_into`] does.
#[inline]
fn ipv4_tcp_into<'f>(packet: &'f [u8], out: &mut Segment<'_>) -> Option<Result<&'f [u8], Skip>> {
    let h: &[u8; 20] = packet.get(..20)?.try_into().ok()?;
    let total_len = usize::from(u16::from_be_bytes([h[2], h[3]]));
    // Version 4, IHL 5; protocol 6; MF clear and fragment offset 0.
    if h[0] != 0x45 || h[9] != 6 || h[6] & 0x3f != 0 || h[7] != 0 || total_len <= 20 {
        return None;
    }
    // Past the total length is link-layer padding; a total length past the
    // capture is a frame cut by the snapshot length (the segment's length
    // on the wire still comes from the header).
    let tcp_bytes = packet.get(20..total_len.min(packet.len()))?;
    let src = IpAddr::V4(std::net::Ipv4Addr::new(h[12], h[13], h[14], h[15]));
    let dst = IpAddr::V4(std::net::Ipv4Addr::new(h[16], h[17], h[18], h[19]));
    let ip_id = u16::from_be_bytes([h[4], h[5]]);
    Some(tcp::parse_into(
        tcp_bytes,
        total_len - 20,
        (src, dst, h[8], Some(ip_id)),
        out,
    ))
}

/// Whether the IPv4 fast path gives what the general path gives for this
/// IP packet, or declines it (for the decode fuzz target).
#[doc(hidden)]
pub fn fast_path_agrees(packet: &[u8]) -> bool {
    match ipv4_tcp(packet) {
        Some(fast) => format!("{fast:?}") == format!("{:?}", ip_general(packet, 0)),
        None => true,
    }
}

/// Any IP packet, through etherparse's lax slicing (which keeps what a
/// frame cut short still holds).
fn ip_general(packet: &[u8], depth: u8) -> Result<Segment<'_>, Skip> {
    use etherparse::{IpNumber, LaxIpSlice};
    let (ip, _ext_err) = LaxIpSlice::from_slice(packet).map_err(|e| match e {
        etherparse::err::ip::LaxHeaderSliceError::Len(_) => Skip::Truncated(Layer::Ip),
        etherparse::err::ip::LaxHeaderSliceError::Content(_) => Skip::Malformed(Layer::Ip),
    })?;
    let payload = ip.payload();
    if payload.fragmented {
        return Err(Skip::IpFragment);
    }
    if payload.ip_number != IpNumber::TCP {
        if depth < MAX_NESTING {
            match tunnel::inner(payload.ip_number.0, payload.payload) {
                Some(tunnel::Inner::Ip(inner)) => return ip_nested(inner, depth + 1),
                Some(tunnel::Inner::Ethernet(inner)) => {
                    return decode_nested(Linktype::ETHERNET, inner, depth + 1)
                }
                None => {}
            }
        }
        return Err(Skip::NotTcp);
    }
    // The TCP segment's length on the wire, from the IP header even when the
    // capture cut the frame short (snaplen). When the header's length is 0
    // (TSO/GRO super-segments on host captures) the slice length stands in.
    let (src, dst, ttl, ip_id, declared) = match &ip {
        LaxIpSlice::Ipv4(v4) => {
            let h = v4.header();
            let header_len =
                usize::from(h.ihl()) * 4 + v4.extensions().auth.map_or(0, |a| a.slice().len());
            let declared = usize::from(h.total_len()).checked_sub(header_len);
            (
                IpAddr::V4(h.source_addr()),
                IpAddr::V4(h.destination_addr()),
                h.ttl(),
                Some(h.identification()),
                declared,
            )
        }
        LaxIpSlice::Ipv6(v6) => {
            let h = v6.header();
            let declared =
                usize::from(h.payload_length()).checked_sub(v6.extensions().slice().len());
            (
                IpAddr::V6(h.source_addr()),
                IpAddr::V6(h.destination_addr()),
                h.hop_limit(),
                None,
                declared,
            )
        }
    };
    let tcp_bytes = payload.payload;
    let from_header = payload.incomplete || payload.len_source != etherparse::LenSource::Slice;
    let segment_len = match declared {
        Some(d) if d > 0 && from_header => d,
        _ => tcp_bytes.len(),
    };
    tcp::parse(tcp_bytes, segment_len, src, dst, ttl, ip_id)
}

#[cfg(test)]
mod tests;
