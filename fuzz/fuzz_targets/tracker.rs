//! Arbitrary segment sequences on two 4-tuples, through the tracker: every
//! 8 input bytes become one segment (direction, flags, sequence and
//! acknowledgment steps, length, window, time step), so the fuzzer explores
//! orders of SYN, FIN, RST and data that no file-level mutation reaches
//! easily.
#![no_main]

use std::io::Cursor;

use finscope::capture::FileSource;
use finscope::pipeline::{run_sources, AnalysisConfig};
use libfuzzer_sys::fuzz_target;

mod common;
use common::Render;

/// One crafted Ethernet/IPv4/TCP frame.
fn frame(
    out: &mut Vec<u8>,
    t_us: u64,
    from_client: bool,
    port: u16,
    flags: u8,
    seq: u32,
    ack: u32,
    len: u16,
    win: u16,
) {
    let (src, dst, sp, dp) = if from_client {
        ([10, 0, 0, 1], [10, 0, 0, 2], port, 80u16)
    } else {
        ([10, 0, 0, 2], [10, 0, 0, 1], 80, port)
    };
    let mut f = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00, 0x45, 0];
    f.extend_from_slice(&(40 + len).to_be_bytes());
    f.extend_from_slice(&[0, 0, 0x40, 0, 64, 6, 0, 0]);
    f.extend_from_slice(&src);
    f.extend_from_slice(&dst);
    f.extend_from_slice(&sp.to_be_bytes());
    f.extend_from_slice(&dp.to_be_bytes());
    f.extend_from_slice(&seq.to_be_bytes());
    f.extend_from_slice(&ack.to_be_bytes());
    f.extend_from_slice(&[0x50, flags]);
    f.extend_from_slice(&win.to_be_bytes());
    f.extend_from_slice(&[0, 0, 0, 0]);
    f.resize(f.len() + usize::from(len), 0x61);
    out.extend_from_slice(&((t_us / 1_000_000) as u32).to_le_bytes());
    out.extend_from_slice(&((t_us % 1_000_000) as u32).to_le_bytes());
    out.extend_from_slice(&(f.len() as u32).to_le_bytes());
    out.extend_from_slice(&(f.len() as u32).to_le_bytes());
    out.extend_from_slice(&f);
}

fuzz_target!(|data: &[u8]| {
    let mut pcap = vec![
        0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0,
    ];
    let mut seq = [[1000u32, 9000u32]; 2];
    let mut t = 1_700_000_000_000_000u64;
    for c in data.chunks_exact(8) {
        let from_client = c[0] & 1 == 0;
        let tuple = usize::from(c[0] >> 1 & 1);
        let flags = c[1];
        let side = usize::from(!from_client);
        // Small steps keep segments near each other; large ones wrap.
        let step = u32::from(u16::from_be_bytes([c[2], c[3]]));
        seq[tuple][side] =
            seq[tuple][side].wrapping_add(if c[0] & 4 != 0 { step << 16 } else { step });
        let ack = seq[tuple][1 - side].wrapping_add(u32::from(c[4]));
        let len = u16::from(c[5]) * 8;
        let win = u16::from(c[6]) << 4;
        t += u64::from(c[7]) * 1000 + u64::from(c[7] == 255) * 400_000_000; // sometimes a long pause
        frame(
            &mut pcap,
            t,
            from_client,
            40000 + tuple as u16,
            flags,
            seq[tuple][side],
            ack,
            len,
            win,
        );
    }
    let Ok(source) = FileSource::from_reader("fuzz", Box::new(Cursor::new(pcap))) else {
        return;
    };
    let mut cfg = AnalysisConfig::default();
    cfg.max_connections = 4;
    cfg.thresholds.time_wait = 2_000_000_000;
    cfg.thresholds.stall = 1_000_000_000;
    cfg.thresholds.idle_timeout = 10_000_000_000;
    let _ = run_sources(vec![source], cfg, &mut Render(Vec::new()), &mut |_| {});
});
