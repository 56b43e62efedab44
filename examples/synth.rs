//! Writes a large synthetic capture for benchmarks: many concurrent TCP
//! connections, interleaved in time, with a mix of endings.
//!
//!     cargo run --release --example synth -- OUT.pcap [CONNECTIONS] [CONCURRENCY] [GAP_US] [SEED]
//!
//! Defaults: 200000 connections, 2000 open at once, packets on average
//! GAP_US = 10 µs apart. Each connection is a
//! handshake, a request, 1-2 MTU-sized response segments (ACKed every
//! second one) or, one in 500, a bulk transfer of 100-300 segments (MTU
//! and TSO-sized, one lost and retransmitted), and one of: graceful close
//! by the client or the server, a three-packet close, a RST abort, a
//! half-close with data after the FIN, a lost final ACK (FIN
//! retransmitted), or a data segment lost and retransmitted before a
//! graceful close. One connection in 25 reopens the 4-tuple of one that
//! closed moments before, while its TIME-WAIT still holds (RFC 6191).
//! Segments carry the TCP options Linux sends: timestamps on every one,
//! MSS, SACK permitted and window scale on SYNs.

use std::fs::File;
use std::io::{BufWriter, Write};

/// A small deterministic generator (xorshift64*), so runs are repeatable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const FIN: u8 = 0x01;
const SYN: u8 = 0x02;
const RST: u8 = 0x04;
const PSH: u8 = 0x08;
const ACK: u8 = 0x10;
const MSS: u32 = 1448;

struct Pkt {
    from_client: bool,
    flags: u8,
    seq: u32,
    ack: u32,
    len: u32,
}

/// The packets of one connection, in order.
fn script(rng: &mut Rng) -> Vec<Pkt> {
    let c_isn = rng.next() as u32;
    let s_isn = rng.next() as u32;
    let mut p = Vec::with_capacity(24);
    let (mut cs, mut ss) = (c_isn.wrapping_add(1), s_isn.wrapping_add(1));
    let c = |flags, seq, ack, len| Pkt {
        from_client: true,
        flags,
        seq,
        ack,
        len,
    };
    let s = |flags, seq, ack, len| Pkt {
        from_client: false,
        flags,
        seq,
        ack,
        len,
    };
    p.push(c(SYN, c_isn, 0, 0));
    p.push(s(SYN | ACK, s_isn, cs, 0));
    p.push(c(ACK, cs, ss, 0));
    let req = 100 + rng.below(400) as u32;
    p.push(c(PSH | ACK, cs, ss, req));
    cs = cs.wrapping_add(req);
    p.push(s(ACK, ss, cs, 0));
    // Most responses are short; one connection in 500 is a bulk transfer
    // of 100-300 segments, half of them TSO/GRO super-segments of up to
    // 45 MSS as a capture on the sending host shows them.
    let bulk = rng.below(500) == 0;
    let segments = if bulk {
        100 + rng.below(200) as u32
    } else {
        1 + rng.below(2) as u32
    };
    let variant = rng.below(100);
    let lose = (variant >= 90 || bulk) && segments > 1;
    for i in 0..segments {
        let len = if i + 1 == segments {
            1 + rng.below(u64::from(MSS)) as u32
        } else if bulk && i % 2 == 1 {
            MSS * (2 + rng.below(44) as u32)
        } else {
            MSS
        };
        p.push(s(
            if i + 1 == segments { PSH | ACK } else { ACK },
            ss,
            cs,
            len,
        ));
        if lose && i == 0 {
            // The first segment again (the original was lost after the tap
            // would show it; here the tap saw both).
            p.push(s(ACK, ss, cs, len));
        }
        ss = ss.wrapping_add(len);
        if i % 2 == 1 || i + 1 == segments {
            p.push(c(ACK, cs, ss, 0));
        }
    }
    match variant {
        // Graceful, client closes first (four packets).
        0..=34 | 90..=99 => {
            p.push(c(FIN | ACK, cs, ss, 0));
            p.push(s(ACK, ss, cs.wrapping_add(1), 0));
            p.push(s(FIN | ACK, ss, cs.wrapping_add(1), 0));
            p.push(c(ACK, cs.wrapping_add(1), ss.wrapping_add(1), 0));
        }
        // Graceful, server closes first.
        35..=54 => {
            p.push(s(FIN | ACK, ss, cs, 0));
            p.push(c(ACK, cs, ss.wrapping_add(1), 0));
            p.push(c(FIN | ACK, cs, ss.wrapping_add(1), 0));
            p.push(s(ACK, ss.wrapping_add(1), cs.wrapping_add(1), 0));
        }
        // Three-packet close.
        55..=69 => {
            p.push(c(FIN | ACK, cs, ss, 0));
            p.push(s(FIN | ACK, ss, cs.wrapping_add(1), 0));
            p.push(c(ACK, cs.wrapping_add(1), ss.wrapping_add(1), 0));
        }
        // RST abort by the client.
        70..=77 => p.push(c(RST | ACK, cs, ss, 0)),
        // Half-close: the server sends after the client's FIN.
        78..=84 => {
            p.push(c(FIN | ACK, cs, ss, 0));
            p.push(s(ACK, ss, cs.wrapping_add(1), 0));
            p.push(s(PSH | ACK, ss, cs.wrapping_add(1), 300));
            ss = ss.wrapping_add(300);
            p.push(c(ACK, cs.wrapping_add(1), ss, 0));
            p.push(s(FIN | ACK, ss, cs.wrapping_add(1), 0));
            p.push(c(ACK, cs.wrapping_add(1), ss.wrapping_add(1), 0));
        }
        // Lost final ACK: the server retransmits its FIN, re-acked.
        _ => {
            p.push(c(FIN | ACK, cs, ss, 0));
            p.push(s(FIN | ACK, ss, cs.wrapping_add(1), 0));
            p.push(s(FIN | ACK, ss, cs.wrapping_add(1), 0));
            p.push(c(ACK, cs.wrapping_add(1), ss.wrapping_add(1), 0));
        }
    }
    p
}

struct Conn {
    client: [u8; 4],
    server: [u8; 4],
    sport: u16,
    packets: Vec<Pkt>,
    next: usize,
    ip_id: u16,
}

fn write_packet(
    out: &mut impl Write,
    buf: &mut Vec<u8>,
    ts_us: u64,
    conn: &mut Conn,
    p: &Pkt,
) -> std::io::Result<()> {
    let (src, dst, sport, dport) = if p.from_client {
        (conn.client, conn.server, conn.sport, 80)
    } else {
        (conn.server, conn.client, 80, conn.sport)
    };
    conn.ip_id = conn.ip_id.wrapping_add(1);
    // TCP options as Linux sends them: MSS, SACK permitted, timestamps and
    // window scale on SYNs, timestamps (NOP, NOP, TS) on everything else.
    // Each side's TSval is a millisecond clock offset per address pair (as
    // Linux's `secure_tcp_ts_off`), so a reused 4-tuple's clock runs on.
    let clock = |from: [u8; 4], to: [u8; 4]| {
        let pair = u64::from(u32::from_be_bytes(from)) << 32 | u64::from(u32::from_be_bytes(to));
        ((ts_us / 1000) as u32)
            .wrapping_add((pair.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 32) as u32)
    };
    let tsval = clock(src, dst);
    let tsecr = match p.flags & (SYN | ACK) {
        SYN => 0,
        // The peer's clock a millisecond earlier: its last segment.
        _ => clock(dst, src).wrapping_sub(1),
    };
    let mut opts = [0u8; 20];
    let opts_len = if p.flags & SYN != 0 {
        opts[..8].copy_from_slice(&[2, 4, 0x05, 0xb4, 4, 2, 8, 10]);
        opts[8..12].copy_from_slice(&tsval.to_be_bytes());
        opts[12..16].copy_from_slice(&tsecr.to_be_bytes());
        opts[16..].copy_from_slice(&[1, 3, 3, 7]);
        20
    } else {
        opts[..4].copy_from_slice(&[1, 1, 8, 10]);
        opts[4..8].copy_from_slice(&tsval.to_be_bytes());
        opts[8..12].copy_from_slice(&tsecr.to_be_bytes());
        12
    };
    let tcp_len = 20 + opts_len;
    let ip_len = 20 + tcp_len + p.len as usize;
    buf.clear();
    buf.extend_from_slice(&[2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00]);
    buf.extend_from_slice(&[0x45, 0]);
    buf.extend_from_slice(&(ip_len as u16).to_be_bytes());
    buf.extend_from_slice(&conn.ip_id.to_be_bytes());
    buf.extend_from_slice(&[0x40, 0, 64, 6, 0, 0]);
    buf.extend_from_slice(&src);
    buf.extend_from_slice(&dst);
    buf.extend_from_slice(&sport.to_be_bytes());
    buf.extend_from_slice(&dport.to_be_bytes());
    buf.extend_from_slice(&p.seq.to_be_bytes());
    buf.extend_from_slice(&p.ack.to_be_bytes());
    buf.extend_from_slice(&[((tcp_len / 4) as u8) << 4, p.flags, 0xff, 0xff, 0, 0, 0, 0]);
    buf.extend_from_slice(&opts[..opts_len]);
    // Payload bytes are not needed by the analysis; keep frames small by
    // capturing 96 bytes, as a header-only capture would (`tcpdump -s 96`).
    let wire = 14 + ip_len;
    let payload = (p.len as usize).min(96 - (14 + 20 + tcp_len));
    buf.resize(buf.len() + payload, 0x61);
    let mut rec = [0u8; 16];
    rec[0..4].copy_from_slice(&((ts_us / 1_000_000) as u32).to_le_bytes());
    rec[4..8].copy_from_slice(&((ts_us % 1_000_000) as u32).to_le_bytes());
    rec[8..12].copy_from_slice(&(buf.len() as u32).to_le_bytes());
    rec[12..16].copy_from_slice(&(wire as u32).to_le_bytes());
    out.write_all(&rec)?;
    out.write_all(buf)
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let Some(path) = args.get(1) else {
        eprintln!("usage: synth OUT.pcap [CONNECTIONS] [CONCURRENCY] [GAP_US] [SEED]");
        std::process::exit(2);
    };
    let total: u64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(200_000);
    let concurrency: usize = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(2000);
    let gap: u64 = args
        .get(4)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10)
        .max(1);
    let mut rng = Rng(args
        .get(5)
        .and_then(|a| a.parse().ok())
        .unwrap_or(0x5eed_f15c_09e5_0001));
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
    // pcap header: µs, Ethernet, snaplen 96.
    out.write_all(&[
        0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 96, 0, 0, 0, 1, 0, 0, 0,
    ])?;
    let mut started = 0u64;
    let mut packets = 0u64;
    let mut ts_us: u64 = 1_795_000_000_000_000;
    let mut open: Vec<Conn> = Vec::with_capacity(concurrency);
    // 4-tuples of connections that just closed, for TIME-WAIT reuse.
    let mut recent: Vec<([u8; 4], [u8; 4], u16)> = Vec::new();
    let mut buf = Vec::with_capacity(128);
    while started < total || !open.is_empty() {
        while open.len() < concurrency && started < total {
            let n = started;
            started += 1;
            let (client, server, sport) = match recent.pop() {
                // TIME-WAIT reuse: a closed connection's 4-tuple again.
                Some(t) if rng.below(25) == 0 => t,
                _ => (
                    [10, (n >> 16) as u8 & 0x7f, (n >> 8) as u8, n as u8],
                    [10, 200, 0, 1 + (rng.below(16) as u8)],
                    // Ports cycle so 4-tuples are reused by later connections.
                    1024 + (n / 8_000_000) as u16 + (rng.below(60_000) as u16),
                ),
            };
            open.push(Conn {
                client,
                server,
                sport,
                packets: script(&mut rng),
                next: 0,
                ip_id: rng.next() as u16,
            });
        }
        let i = rng.below(open.len() as u64) as usize;
        let conn = &mut open[i];
        let p = &conn.packets[conn.next];
        let p = Pkt {
            from_client: p.from_client,
            flags: p.flags,
            seq: p.seq,
            ack: p.ack,
            len: p.len,
        };
        write_packet(&mut out, &mut buf, ts_us, conn, &p)?;
        conn.next += 1;
        packets += 1;
        ts_us += 1 + rng.below(2 * gap);
        if conn.next == conn.packets.len() {
            let done = open.swap_remove(i);
            if recent.len() < 64 {
                recent.push((done.client, done.server, done.sport));
            }
        }
    }
    out.flush()?;
    eprintln!(
        "wrote {path}: {total} connections, {packets} packets, {:.1} s of capture time",
        (ts_us - 1_795_000_000_000_000) as f64 / 1e6
    );
    Ok(())
}
