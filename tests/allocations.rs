//! The per-packet path allocates nothing. With a counting allocator, the
//! same connections carrying ten times the packets cost no more
//! allocations, on one thread and on two; and twice the connections cost
//! none of their own on one thread (two threads' recycled buffers grow a
//! little further), so memory follows the connections, never the file's
//! size.
//!
//! Counts, not timings: these fail the day a change allocates per packet,
//! on any machine.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Cursor;
use std::sync::atomic::{AtomicU64, Ordering};

use common::{crafted_pcap, seg, Seg, ACK, FIN_ACK, PSH_ACK, SYN, SYN_ACK};
use finscope::capture::FileSource;
use finscope::pipeline::{run_sources, AnalysisConfig};
use finscope::report::JsonlSink;

/// Counts every allocation and reallocation, on every thread (the workers
/// of a two-thread run allocate on theirs).
struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call goes to the system allocator unchanged; the counter
// is an atomic add, which allocates nothing.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's contract, passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

/// `conns` graceful connections, 50 open at a time and interleaved, each
/// with `exchanges` request/response pairs (a 100-byte request, a
/// 1000-byte response, and the client's ACK) before a FIN from each side.
fn capture(conns: u16, exchanges: u32) -> Vec<u8> {
    const OPEN_AT_ONCE: u16 = 50;
    let script = |port: u16| -> Vec<Seg> {
        let at = |s: Seg| Seg { port, ..s };
        let (c, s) = (1_000u32, 50_000u32);
        let mut v = vec![
            at(seg(true, SYN, c, 0, 0)),
            at(seg(false, SYN_ACK, s, c + 1, 0)),
            at(seg(true, ACK, c + 1, s + 1, 0)),
        ];
        let (mut cn, mut sn) = (c + 1, s + 1);
        for _ in 0..exchanges {
            v.push(at(seg(true, PSH_ACK, cn, sn, 100)));
            cn += 100;
            v.push(at(seg(false, PSH_ACK, sn, cn, 1000)));
            sn += 1000;
            v.push(at(seg(true, ACK, cn, sn, 0)));
        }
        v.extend([
            at(seg(true, FIN_ACK, cn, sn, 0)),
            at(seg(false, FIN_ACK, sn, cn + 1, 0)),
            at(seg(true, ACK, cn + 1, sn + 1, 0)),
        ]);
        v
    };
    let mut segs = Vec::new();
    for group in (0..conns).step_by(usize::from(OPEN_AT_ONCE)) {
        let scripts: Vec<Vec<Seg>> = (group..conns.min(group + OPEN_AT_ONCE))
            .map(|i| script(20_000 + i))
            .collect();
        let longest = scripts.iter().map(Vec::len).max().unwrap_or(0);
        for step in 0..longest {
            segs.extend(scripts.iter().filter_map(|s| s.get(step).copied()));
        }
    }
    crafted_pcap(&segs)
}

/// Allocations while the pipeline runs over `bytes` with `threads`,
/// writing JSONL to nowhere; and the packets it read. The source is
/// opened (its read buffer allocated) before counting starts.
fn allocations(bytes: Vec<u8>, threads: usize) -> (u64, u64) {
    let source = FileSource::from_reader("allocations.pcap", Box::new(Cursor::new(bytes)))
        .expect("the crafted capture opens");
    let mut sink = JsonlSink::new(std::io::sink(), false);
    let cfg = AnalysisConfig {
        threads,
        ..AnalysisConfig::default()
    };
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    let result = run_sources(vec![source], cfg, &mut sink, &mut |_| {}).expect("the run ends");
    let after = ALLOCATIONS.load(Ordering::Relaxed);
    (after - before, result.counters.packets)
}

/// One test, so that no other test of this binary allocates meanwhile.
#[test]
fn allocations_follow_connections_not_packets() {
    let (few, few_packets) = allocations(capture(2000, 2), 1);
    let (many, many_packets) = allocations(capture(2000, 20), 1);
    let (double, double_packets) = allocations(capture(4000, 2), 1);
    assert_eq!(
        (few_packets, many_packets, double_packets),
        (2000 * 12, 2000 * 66, 4000 * 12),
        "the captures hold the packets they were built with"
    );
    eprintln!("one thread: {few} allocations, {many} with 5.5x the packets, {double} with 2x the connections");
    // 108,000 more packets: no more allocations than a buffer growing
    // once or twice, none per packet.
    assert!(
        many < few + 16,
        "one thread: {} more packets cost {} more allocations ({few} -> {many})",
        many_packets - few_packets,
        many.saturating_sub(few)
    );
    // 2,000 more connections: the table's index grows, and a connection
    // that ends gracefully allocates nothing of its own (the record and
    // its JSON are built in buffers that are reused).
    assert!(
        double < few + 100,
        "one thread: 2000 more connections cost {} more allocations ({few} -> {double})",
        double.saturating_sub(few)
    );

    // Two threads: buffers go round between the threads and grow to the
    // largest batch they carry, so how many get made depends on timing;
    // but they are a bounded set, far fewer than the packets or the
    // connections.
    let (two, _) = allocations(capture(2000, 20), 2);
    let (two_double, _) = allocations(capture(4000, 2), 2);
    let (two_few, _) = allocations(capture(2000, 2), 2);
    eprintln!("two threads: {two_few} allocations, {two} with 5.5x the packets, {two_double} with 2x the connections");
    assert!(
        two < 1000,
        "two threads: {two} allocations for {many_packets} packets of 2000 connections"
    );
    assert!(
        two_double < two_few + 400,
        "two threads: 2000 more connections cost {} more allocations ({two_few} -> {two_double})",
        two_double.saturating_sub(two_few)
    );
}
