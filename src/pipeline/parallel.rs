//! The pipeline on several cores (`--threads N`).
//!
//! One thread reads and decodes every packet, does the per-packet
//! bookkeeping (frame numbers, capture time, the sweep schedule) and hands
//! each TCP segment to the worker that owns its connection, chosen by the
//! flow hash. Each worker keeps its own flow table and trackers. What a
//! worker would tell the host tracker or the sink (a connection started, a
//! state change a host count follows, a connection ended) it relays
//! instead, stamped with the frame and the phase of the frame it happened
//! in. The calling thread merges the workers' relays in that order, gives
//! connections their ids in order of their first packet, and does the rest
//! exactly as the single-threaded loop would: host aggregates, verdicts,
//! findings, output. The output is the same, byte for byte, as with one
//! thread (`tests/threads.rs`).
//!
//! Why this order is the single-threaded one: every worker sweeps at the
//! same frames, with the same capture time, because the reading thread
//! tells them all when; a sweep judges exactly the connections whose time
//! is up, ordered by expiry time then id; everything else a packet causes
//! happens in the one worker that owns it, in program order.
//!
//! The default `--max-connections` is split evenly between the workers;
//! once a worker reaches its share, which connection it evicts depends on
//! its table alone (an explicit `--max-connections` runs single-threaded).

use std::collections::{HashMap, VecDeque};
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::thread;

use super::{
    AnalysisConfig, Analyzer, Counters, Phase, Prepared, RunError, RunResult, EXPIRE_EVERY_NS,
    LOOKAHEAD, PREFETCH_AHEAD,
};
use crate::capture::{CaptureError, FileSource, Merge, Precision, Timestamp};
use crate::conn::{Changes, Connection, EndReason, Prior};
use crate::decode::Skip;
use crate::findings::Finding;
use crate::flow::SocketAddr;
use crate::report::{ConnRecord, FileSummary, Sink, Summary};

/// The cores this machine offers (the default for `--threads`).
pub fn default_threads() -> usize {
    thread::available_parallelism().map_or(1, |n| n.get())
}

/// Frames between two hand-overs from the reading thread to every worker
/// (each hand-over also tells the merging thread how far a worker got).
const HAND_OVER_EVERY: u64 = 8192;

/// Hand-overs a worker may have waiting before the reading thread waits.
const QUEUE_DEPTH: usize = 4;

/// What a worker relays, in the order it happened.
#[derive(Default)]
pub(super) struct Relay {
    items: Vec<RelayItem>,
}

impl Relay {
    pub(super) fn push(&mut self, frame: u64, phase: Phase, what: What) {
        // Everything judged at the capture's end sorts after every frame.
        let frame = match phase {
            Phase::CaptureEnd => u64::MAX,
            _ => frame,
        };
        self.items.push(RelayItem { frame, phase, what });
    }
}

pub(super) struct RelayItem {
    frame: u64,
    phase: Phase,
    what: What,
}

pub(super) enum What {
    /// A connection started; `local` is the worker's id for it.
    Start {
        local: u64,
        server: SocketAddr,
        /// When it began with a pure SYN (half-open toward `server`).
        half_open_at: Option<Timestamp>,
    },
    /// A half-open connection toward this server completed or finished.
    HalfOpenOut(SocketAddr),
    /// Endpoint state changes the host counts follow.
    Changes {
        client: SocketAddr,
        server: SocketAddr,
        changes: Changes,
        at: Timestamp,
    },
    /// A connection left the worker's table (its id still the worker's).
    End {
        judged_at: Timestamp,
        reason: EndReason,
        conn: Box<Connection>,
    },
}

/// What the reading thread hands a worker.
enum Input {
    Packet {
        frame: u64,
        now: Timestamp,
        p: Prepared<'static>,
    },
    Sweep {
        frame: u64,
        now: Timestamp,
    },
}

/// A hand-over: every input up to frame `through` that is the worker's.
struct InBatch {
    items: Vec<Input>,
    through: u64,
    /// Capture time after frame `through`.
    now: Timestamp,
}

/// A worker's relays for every frame up to `through`.
struct OutBatch {
    items: Vec<RelayItem>,
    through: u64,
}

/// What the reading thread counted and read.
struct ReadOutcome {
    counters: Counters,
    errors: Vec<CaptureError>,
    files: Vec<FileSummary>,
    now: Timestamp,
}

/// A sink for the workers, which relay instead of writing.
struct NoSink;

impl Sink for NoSink {
    fn connection(&mut self, _: &ConnRecord<'_>, _: &[Finding]) -> io::Result<()> {
        Ok(())
    }
    fn host_findings(&mut self, _: &[Finding], _: Precision) -> io::Result<()> {
        Ok(())
    }
    fn finish(&mut self, _: &Summary) -> io::Result<()> {
        Ok(())
    }
}

/// [`super::run_sources`] on `threads` workers (at least 2), plus the
/// reading thread and the calling one.
pub(super) fn run_threaded(
    sources: Vec<FileSource>,
    cfg: AnalysisConfig,
    sink: &mut dyn Sink,
    progress: &mut dyn FnMut(u64),
    threads: usize,
) -> Result<RunResult, RunError> {
    let n = threads.max(1);
    let mut worker_cfg = cfg.clone();
    worker_cfg.max_connections = (cfg.max_connections / n).max(1);
    let count = cfg.count;
    let bytes_read = AtomicU64::new(0);
    thread::scope(|scope| {
        let mut inputs = Vec::with_capacity(n);
        let mut outputs = Vec::with_capacity(n);
        let mut workers = Vec::with_capacity(n);
        for _ in 0..n {
            let (tx_in, rx_in) = mpsc::sync_channel::<InBatch>(QUEUE_DEPTH);
            let (tx_out, rx_out) = mpsc::channel::<OutBatch>();
            let wcfg = worker_cfg.clone();
            let worker = thread::Builder::new()
                .name(format!("finscope-w{}", workers.len()))
                .spawn_scoped(scope, move || work(wcfg, rx_in, tx_out))
                .map_err(RunError::Output)?;
            workers.push(worker);
            inputs.push(tx_in);
            outputs.push(rx_out);
        }
        let (tx_precision, rx_precision) = mpsc::channel();
        let bytes = &bytes_read;
        let reader = thread::Builder::new()
            .name("finscope-read".into())
            .spawn_scoped(scope, move || {
                read(sources, count, inputs, tx_precision, bytes)
            })
            .map_err(RunError::Output)?;

        let mut main = Analyzer::new(cfg, sink);
        if let Ok(p) = rx_precision.recv() {
            main.set_precision(p);
        }
        let merged = merge(&mut main, outputs, &mut || {
            progress(bytes_read.load(Ordering::Relaxed));
        });
        // A failed merge dropped its receivers: the workers and then the
        // reader stop at their next hand-over.
        let read = reader.join();
        let mut worker_counters = Vec::with_capacity(n);
        for w in workers {
            if let Ok(Ok(c)) = w.join() {
                worker_counters.push(c);
            }
        }
        let peak = merged.map_err(RunError::Output)?;
        let read =
            read.map_err(|_| RunError::Output(io::Error::other("the reading thread panicked")))?;
        let c = &mut main.counters;
        c.packets = read.counters.packets;
        c.first_ts = read.counters.first_ts;
        c.last_ts = read.counters.last_ts;
        c.not_decoded = read.counters.not_decoded;
        c.unsupported_linktypes = read.counters.unsupported_linktypes;
        for w in &worker_counters {
            c.tcp_packets += w.tcp_packets;
            c.duplicates += w.duplicates;
            c.connections += w.connections;
            c.evicted_closed += w.evicted_closed;
            c.evicted_idle += w.evicted_idle;
            c.evicted_reused += w.evicted_reused;
            c.evicted_cap += w.evicted_cap;
        }
        c.peak_connections = peak;
        main.now = read.now;
        let counters = main.finish(read.files).map_err(RunError::Output)?;
        Ok(RunResult {
            counters,
            errors: read.errors,
        })
    })
}

/// The reading thread: per-packet bookkeeping, decoding, and the hand-over
/// of each segment to its connection's worker.
fn read(
    sources: Vec<FileSource>,
    count: Option<u64>,
    workers: Vec<mpsc::SyncSender<InBatch>>,
    precision: mpsc::Sender<Precision>,
    bytes: &AtomicU64,
) -> ReadOutcome {
    let n = workers.len();
    let mut merge = Merge::new(sources);
    let mut pending: Vec<Vec<Input>> = (0..n).map(|_| Vec::new()).collect();
    let mut c = Counters::default();
    let mut errors = Vec::new();
    let (mut frame, mut now, mut last_sweep) = (0u64, Timestamp(i64::MIN), Timestamp(i64::MIN));
    let hand_over = |pending: &mut Vec<Vec<Input>>, through: u64, now: Timestamp| -> bool {
        for (w, tx) in workers.iter().enumerate() {
            let items = pending.get_mut(w).map(std::mem::take).unwrap_or_default();
            if tx
                .send(InBatch {
                    items,
                    through,
                    now,
                })
                .is_err()
            {
                return false;
            }
        }
        true
    };
    loop {
        match merge.advance() {
            Ok(Some(i)) => {
                if frame == 0 {
                    let p = merge
                        .sources()
                        .iter()
                        .map(|s| s.stats().precision)
                        .max()
                        .unwrap_or(Precision::Micro);
                    let _ = precision.send(p);
                }
                let Some(pkt) = merge.packet(i) else { continue };
                // As `Analyzer::process` does it, in the same order.
                frame += 1;
                c.packets += 1;
                c.first_ts.get_or_insert(pkt.ts);
                c.last_ts = Some(c.last_ts.map_or(pkt.ts, |t| t.max(pkt.ts)));
                if pkt.ts > now {
                    now = pkt.ts;
                    if now.since(last_sweep) >= EXPIRE_EVERY_NS {
                        last_sweep = now;
                        for p in pending.iter_mut() {
                            p.push(Input::Sweep { frame, now });
                        }
                    }
                }
                let p = Prepared::of(&pkt).detach();
                match p.seg {
                    Ok(_) if p.key.is_some() => {
                        if let Some(q) = pending.get_mut(p.hash.shard(n)) {
                            q.push(Input::Packet { frame, now, p });
                        }
                    }
                    Ok(_) => {}
                    Err(skip) => count_skip(&mut c, skip),
                }
                if frame % HAND_OVER_EVERY == 0 {
                    bytes.store(
                        merge.sources().iter().map(|s| s.offset()).sum(),
                        Ordering::Relaxed,
                    );
                    if !hand_over(&mut pending, frame, now) {
                        break;
                    }
                }
                if count.is_some_and(|n| frame >= n) {
                    break;
                }
            }
            Ok(None) => break,
            Err((_, e)) => errors.push(e),
        }
    }
    hand_over(&mut pending, frame, now);
    drop(workers);
    let files = merge
        .sources()
        .iter()
        .map(|s| FileSummary::new(s, errors.iter().find(|e| e.file == s.name())))
        .collect();
    ReadOutcome {
        counters: c,
        errors,
        files,
        now,
    }
}

/// Counts a frame that is not a TCP segment, by reason.
pub(super) fn count_skip(c: &mut Counters, skip: Skip) {
    if let Some(n) = c.not_decoded.get_mut(skip.index()) {
        *n += 1;
    }
    if let Skip::UnsupportedLinktype(lt) = skip {
        if !c.unsupported_linktypes.contains(&lt) && c.unsupported_linktypes.len() < 16 {
            c.unsupported_linktypes.push(lt);
        }
    }
}

/// A worker: its share of the connections, tracked as the single-threaded
/// loop would, with the same lookahead prefetching.
fn work(
    cfg: AnalysisConfig,
    input: mpsc::Receiver<InBatch>,
    output: mpsc::Sender<OutBatch>,
) -> io::Result<Counters> {
    let mut sink = NoSink;
    let mut a = Analyzer::new(cfg, &mut sink);
    a.relay = Some(Relay::default());
    let mut ahead: VecDeque<(u64, Timestamp, Prepared<'static>)> =
        VecDeque::with_capacity(LOOKAHEAD);
    let send = |a: &mut Analyzer<'_>, through: u64| -> bool {
        let items = a
            .relay
            .as_mut()
            .map(|r| std::mem::take(&mut r.items))
            .unwrap_or_default();
        output.send(OutBatch { items, through }).is_ok()
    };
    for batch in input {
        for item in batch.items {
            match item {
                Input::Packet { frame, now, p } => {
                    a.table.prefetch_cell(p.hash);
                    ahead.push_back((frame, now, p));
                    if let Some(q) = ahead.len().checked_sub(PREFETCH_AHEAD + 1) {
                        if let Some((_, _, p)) = ahead.get(q) {
                            a.prefetch(p);
                        }
                    }
                    if ahead.len() >= LOOKAHEAD {
                        if let Some((frame, now, p)) = ahead.pop_front() {
                            a.shard_packet(frame, now, p)?;
                        }
                    }
                }
                Input::Sweep { frame, now } => {
                    while let Some((frame, now, p)) = ahead.pop_front() {
                        a.shard_packet(frame, now, p)?;
                    }
                    a.shard_sweep(frame, now)?;
                }
            }
        }
        while let Some((frame, now, p)) = ahead.pop_front() {
            a.shard_packet(frame, now, p)?;
        }
        // Capture time moves with every packet, the other workers' too
        // (connections still open at the end are judged at the last one).
        a.now = a.now.max(batch.now);
        if !send(&mut a, batch.through) {
            return Ok(a.counters);
        }
    }
    a.end_all()?;
    send(&mut a, u64::MAX);
    Ok(a.counters)
}

/// The calling thread: merges the workers' relays in frame order and
/// plays them into `main` (its host tracker, findings and sink). Returns
/// the peak number of connections tracked at once.
fn merge(
    main: &mut Analyzer<'_>,
    workers: Vec<mpsc::Receiver<OutBatch>>,
    progress: &mut dyn FnMut(),
) -> io::Result<u64> {
    let n = workers.len();
    let mut queues: Vec<VecDeque<RelayItem>> = (0..n).map(|_| VecDeque::new()).collect();
    let mut through = vec![0u64; n];
    // Worker id → (global id, the global id of the connection it reused
    // the 4-tuple of), for the connections in each worker's table.
    let mut ids: Vec<IdMap> = (0..n).map(|_| HashMap::default()).collect();
    // Each worker's last connection ended by reuse: (frame, global id).
    let mut reused: Vec<Option<(u64, u64)>> = vec![None; n];
    let (mut next_id, mut live, mut peak) = (1u64, 0u64, 0u64);
    let mut group: Vec<(Timestamp, u64, EndReason, Box<Connection>)> = Vec::new();
    loop {
        let safe = through.iter().copied().min().unwrap_or(u64::MAX);
        loop {
            let next = queues
                .iter()
                .filter_map(|q| q.front())
                .filter(|it| it.frame <= safe)
                .map(|it| (it.frame, it.phase))
                .min();
            let Some((frame, phase)) = next else { break };
            let at_key = |q: &VecDeque<RelayItem>| {
                q.front()
                    .is_some_and(|it| it.frame == frame && it.phase == phase)
            };
            match phase {
                Phase::Packet => {
                    // Only the packet's worker relays in its phase.
                    for w in 0..n {
                        while let Some(q) = queues.get_mut(w).filter(|q| at_key(q)) {
                            let Some(item) = q.pop_front() else { break };
                            match item.what {
                                What::Start {
                                    local,
                                    server,
                                    half_open_at,
                                } => {
                                    let id = next_id;
                                    next_id += 1;
                                    let prior = reused
                                        .get(w)
                                        .copied()
                                        .flatten()
                                        .filter(|&(f, _)| f == frame)
                                        .map(|(_, id)| id);
                                    if let Some(m) = ids.get_mut(w) {
                                        m.insert(local, (id, prior));
                                    }
                                    live += 1;
                                    peak = peak.max(live);
                                    if let Some(at) = half_open_at {
                                        main.hosts.half_open_in(server, at);
                                    }
                                }
                                What::HalfOpenOut(server) => main.hosts.half_open_out(server),
                                What::Changes {
                                    client,
                                    server,
                                    changes,
                                    at,
                                } => main.hosts.apply_to(
                                    client,
                                    server,
                                    changes,
                                    at,
                                    main.cfg.thresholds.time_wait,
                                ),
                                What::End {
                                    judged_at,
                                    reason,
                                    mut conn,
                                } => {
                                    let id = globalize(&mut ids, w, &mut conn);
                                    live = live.saturating_sub(1);
                                    if reason == EndReason::Reused {
                                        if let Some(r) = reused.get_mut(w) {
                                            *r = Some((frame, id));
                                        }
                                    }
                                    main.emit(&conn, reason, judged_at)?;
                                }
                            }
                        }
                    }
                }
                Phase::Sweep | Phase::CaptureEnd => {
                    // Every worker sweeps at this frame: judge what they
                    // expired together, by expiry time then id, as one
                    // table's sweep does (at the end, all at one time).
                    group.clear();
                    for w in 0..n {
                        while let Some(q) = queues.get_mut(w).filter(|q| at_key(q)) {
                            let Some(item) = q.pop_front() else { break };
                            if let What::End {
                                judged_at,
                                reason,
                                mut conn,
                            } = item.what
                            {
                                let id = globalize(&mut ids, w, &mut conn);
                                group.push((judged_at, id, reason, conn));
                            }
                        }
                    }
                    group.sort_unstable_by_key(|(at, id, _, _)| (*at, *id));
                    for (judged_at, _, reason, conn) in group.drain(..) {
                        live = live.saturating_sub(1);
                        main.emit(&conn, reason, judged_at)?;
                    }
                }
            }
        }
        if safe == u64::MAX {
            return Ok(peak);
        }
        // Wait for the worker that is furthest behind.
        let laggard = (0..n).min_by_key(|&w| through.get(w).copied().unwrap_or(u64::MAX));
        let Some(w) = laggard else { return Ok(peak) };
        match workers.get(w).map(|rx| rx.recv()) {
            Some(Ok(batch)) => {
                if let Some(q) = queues.get_mut(w) {
                    q.extend(batch.items);
                }
                if let Some(t) = through.get_mut(w) {
                    *t = batch.through;
                }
            }
            // Done (or failed: its error surfaces when it is joined).
            _ => {
                if let Some(t) = through.get_mut(w) {
                    *t = u64::MAX;
                }
            }
        }
        progress();
    }
}

/// A worker's id → (global id, the global id of the connection whose
/// 4-tuple it reused), for the connections in the worker's table.
type IdMap = HashMap<u64, (u64, Option<u64>), ahash::RandomState>;

/// Gives a connection from worker `w` its global id (and the connection
/// its SYN ran into, when there was one), and forgets the worker's id.
fn globalize(ids: &mut [IdMap], w: usize, conn: &mut Connection) -> u64 {
    let Some((id, prior)) = ids.get_mut(w).and_then(|m| m.remove(&conn.id)) else {
        return conn.id;
    };
    conn.id = id;
    if let (Some(p), Some(prior_id)) = (conn.prior.as_mut(), prior) {
        match p.as_mut() {
            Prior::TimeWait(tw) => tw.id = prior_id,
            Prior::OpenTuple { id, .. } => *id = prior_id,
        }
    }
    id
}
