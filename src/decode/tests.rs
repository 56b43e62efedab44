use super::*;
use etherparse::PacketBuilder;

fn tcp_v4(payload: &[u8]) -> Vec<u8> {
    let b = PacketBuilder::ethernet2([1; 6], [2; 6])
        .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
        .tcp(51514, 80, 1000, 64240)
        .syn()
        .options_raw(&[2, 4, 5, 0xb4, 1, 3, 3, 7])
        .unwrap();
    let mut out = Vec::new();
    b.write(&mut out, payload).unwrap();
    out
}

#[test]
fn decodes_ethernet_ipv4_tcp_with_options() {
    let frame = tcp_v4(b"hello");
    let seg = decode(Linktype::ETHERNET, &frame).unwrap();
    assert_eq!(seg.src.to_string(), "10.0.0.1");
    assert_eq!(seg.dport, 80);
    assert_eq!(seg.fields.seq, 1000);
    assert!(seg.fields.flags.syn() && !seg.fields.flags.ack());
    assert_eq!(seg.fields.payload_len, 5);
    assert_eq!(seg.payload, b"hello");
    assert_eq!(seg.fields.options.mss, Some(1460));
    assert_eq!(seg.fields.options.window_scale, Some(7));
    assert_eq!(seg.fields.ttl, 64);
}

#[test]
fn snaplen_cut_keeps_the_wire_length() {
    let frame = tcp_v4(&[0u8; 1000]);
    let cut = &frame[..14 + 20 + 28 + 10];
    let seg = decode(Linktype::ETHERNET, cut).unwrap();
    assert_eq!(seg.fields.payload_len, 1000);
    assert_eq!(seg.payload.len(), 10);
}

#[test]
fn ethernet_padding_is_not_payload() {
    let mut frame = tcp_v4(b"");
    frame.extend_from_slice(&[0u8; 6]);
    let seg = decode(Linktype::ETHERNET, &frame).unwrap();
    assert_eq!(seg.fields.payload_len, 0);
}

#[test]
fn vlan_and_qinq_tags_are_skipped() {
    let plain = tcp_v4(b"x");
    let mut tagged = plain[..12].to_vec();
    tagged.extend_from_slice(&[0x88, 0xa8, 0, 10, 0x81, 0x00, 0, 20]);
    tagged.extend_from_slice(&plain[12..]);
    let seg = decode(Linktype::ETHERNET, &tagged).unwrap();
    assert_eq!(seg.fields.payload_len, 1);
}

#[test]
fn cooked_and_loopback_link_types() {
    let eth = tcp_v4(b"abc");
    let ip = &eth[14..];
    let mut sll = vec![0u8; 14];
    sll.extend_from_slice(&[0x08, 0x00]);
    sll.extend_from_slice(ip);
    assert_eq!(
        decode(Linktype::LINUX_SLL, &sll)
            .unwrap()
            .fields
            .payload_len,
        3
    );
    let mut sll2 = vec![0x08, 0x00];
    sll2.extend_from_slice(&[0u8; 18]);
    sll2.extend_from_slice(ip);
    assert_eq!(
        decode(Linktype::LINUX_SLL2, &sll2)
            .unwrap()
            .fields
            .payload_len,
        3
    );
    let mut null = 2u32.to_le_bytes().to_vec();
    null.extend_from_slice(ip);
    assert_eq!(decode(Linktype::NULL, &null).unwrap().fields.payload_len, 3);
    assert_eq!(decode(Linktype::RAW, ip).unwrap().fields.payload_len, 3);
}

#[test]
fn ipv6_with_extension_header() {
    let b = PacketBuilder::ethernet2([1; 6], [2; 6])
        .ipv6(
            [0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
            [0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2],
            64,
        )
        .tcp(40000, 443, 7, 1000)
        .ack(9);
    let mut frame = Vec::new();
    b.write(&mut frame, b"data").unwrap();
    let seg = decode(Linktype::ETHERNET, &frame).unwrap();
    assert_eq!(seg.src.to_string(), "2001:db8::1");
    assert_eq!(seg.fields.ack, 9);
    assert_eq!(seg.fields.payload_len, 4);
    assert_eq!(seg.fields.ip_id, None);
}

#[test]
fn problems_are_reasons_not_panics() {
    assert_eq!(
        decode(Linktype::ETHERNET, &[0u8; 5]).unwrap_err(),
        Skip::Truncated(Layer::Link)
    );
    let mut arp = vec![0u8; 12];
    arp.extend_from_slice(&[0x08, 0x06, 0, 0]);
    assert_eq!(decode(Linktype::ETHERNET, &arp).unwrap_err(), Skip::NotIp);
    assert_eq!(
        decode(147, &[0u8; 40]).unwrap_err(),
        Skip::UnsupportedLinktype(147)
    );
    let frame = tcp_v4(b"");
    assert_eq!(
        decode(Linktype::ETHERNET, &frame[..14 + 20 + 10]).unwrap_err(),
        Skip::Truncated(Layer::Tcp)
    );
    let mut bad_ver = frame.clone();
    bad_ver[14] = 0x75;
    assert!(matches!(
        decode(Linktype::ETHERNET, &bad_ver),
        Err(Skip::Malformed(Layer::Ip))
    ));
    // Every prefix of a frame decodes or gives a reason.
    for n in 0..frame.len() {
        let _ = decode(Linktype::ETHERNET, &frame[..n]);
    }
}

#[test]
fn tcp_options_stop_at_malformed_lengths() {
    let o = tcp::parse_options(&[2, 4, 5, 0xb4, 1, 3, 3, 7, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2]);
    assert_eq!(o.mss, Some(1460));
    assert_eq!(o.window_scale, Some(7));
    assert_eq!(o.timestamps, Some((1, 2)));
    let o = tcp::parse_options(&[2, 0, 5, 0xb4]);
    assert_eq!(o, TcpOptions::default());
    let o = tcp::parse_options(&[2, 40, 5, 0xb4]);
    assert_eq!(o.mss, None);
}

/// The IP packet of `tcp_v4`, behind an Ethernet header with `ethertype`
/// and `shim` bytes before the IP packet.
fn with_shim(ethertype: [u8; 2], shim: &[u8]) -> Vec<u8> {
    let plain = tcp_v4(b"tunnel");
    let mut f = plain[..12].to_vec();
    f.extend_from_slice(&ethertype);
    f.extend_from_slice(shim);
    f.extend_from_slice(&plain[14..]);
    f
}

#[test]
fn mpls_label_stacks_and_pseudowires() {
    // Two labels, the second with the bottom-of-stack bit.
    let f = with_shim([0x88, 0x47], &[0, 1, 0x00, 64, 0, 2, 0x01, 64]);
    assert_eq!(
        decode(Linktype::ETHERNET, &f).unwrap().fields.payload_len,
        6
    );
    // A pseudowire: control word, then a whole Ethernet frame.
    let inner = tcp_v4(b"pw");
    let mut shim = vec![0, 3, 0x01, 64, 0, 0, 0, 0];
    shim.extend_from_slice(&inner);
    let plain = tcp_v4(b"");
    let mut f = plain[..12].to_vec();
    f.extend_from_slice(&[0x88, 0x47]);
    f.extend_from_slice(&shim);
    assert_eq!(
        decode(Linktype::ETHERNET, &f).unwrap().fields.payload_len,
        2
    );
    // A stack that never ends is refused, not looped over.
    let endless = with_shim([0x88, 0x47], &[0u8; 80]);
    assert!(decode(Linktype::ETHERNET, &endless).is_err());
}

#[test]
fn pppoe_session() {
    let f = with_shim([0x88, 0x64], &[0x11, 0, 0, 1, 0, 40, 0x00, 0x21]);
    assert_eq!(
        decode(Linktype::ETHERNET, &f).unwrap().fields.payload_len,
        6
    );
    let lcp = with_shim([0x88, 0x64], &[0x11, 0, 0, 1, 0, 40, 0xc0, 0x21]);
    assert_eq!(decode(Linktype::ETHERNET, &lcp).unwrap_err(), Skip::NotIp);
}

#[test]
fn gre_carrying_ethernet_is_opened() {
    let inner = tcp_v4(b"inner!!");
    let mut gre = vec![0x00, 0x00, 0x65, 0x58];
    gre.extend_from_slice(&inner);
    let outer = PacketBuilder::ethernet2([1; 6], [2; 6]).ip(etherparse::IpHeaders::Ipv4(
        etherparse::Ipv4Header::new(
            gre.len() as u16,
            64,
            etherparse::IpNumber::GRE,
            [192, 0, 2, 1],
            [192, 0, 2, 2],
        )
        .unwrap(),
        Default::default(),
    ));
    let mut frame = Vec::new();
    outer
        .write(&mut frame, etherparse::IpNumber::GRE, &gre)
        .unwrap();
    let seg = decode(Linktype::ETHERNET, &frame).unwrap();
    // The inner connection, not the tunnel's endpoints.
    assert_eq!(seg.src.to_string(), "10.0.0.1");
    assert_eq!(seg.fields.payload_len, 7);
}

/// The IPv4 fast path gives what the general decoder gives, or declines:
/// on the first frames of every testdata capture, cut at every length
/// through the headers and near the end, and with each of its first 24
/// bytes set to values that cross the fast path's checks.
#[test]
fn the_ipv4_fast_path_decodes_as_the_general_path() {
    let files = crate::testdata::captures();
    let same = |p: &[u8]| {
        if let Some(fast) = ipv4_tcp(p) {
            let general = ip_general(p, 0);
            assert_eq!(format!("{fast:?}"), format!("{general:?}"), "{p:02x?}");
            true
        } else {
            false
        }
    };
    let (mut frames, mut taken) = (0, 0);
    for f in files {
        let mut src = crate::capture::FileSource::open(f.to_str().unwrap()).unwrap();
        let mut n = 0;
        while src.advance().is_ok() && n < 12 {
            n += 1;
            let Some(pkt) = src.current() else { break };
            let Ok(ip) = link::ip_payload(pkt.linktype, pkt.data) else {
                continue;
            };
            frames += 1;
            if !same(ip) {
                continue;
            }
            taken += 1;
            for cut in (0..ip.len().min(80)).chain(ip.len().saturating_sub(30)..ip.len()) {
                same(&ip[..cut]);
            }
            for at in 0..24.min(ip.len()) {
                for v in [0x00, 0x05, 0x06, 0x15, 0x20, 0x40, 0x45, 0xff] {
                    let mut m = ip.to_vec();
                    m[at] = v;
                    same(&m);
                    // And cut short after the change.
                    same(&m[..m.len().saturating_sub(7)]);
                }
            }
        }
    }
    assert!(
        frames > 150 && taken * 10 > frames * 9,
        "{taken} of {frames}"
    );
}
