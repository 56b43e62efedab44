//! The pipeline on several cores (`--threads N`).
//!
//! One thread reads and decodes every packet, keeps the clock (frame
//! numbers, capture time, the sweep schedule) and hands each TCP segment to
//! the worker that owns its connection, chosen by the flow hash. Each
//! worker keeps its own flow table and trackers, and judges the
//! connections that leave it (verdict and findings). What it would tell
//! the host tracker or the sink (a connection started, a state change a
//! host count follows, a connection ended) it relays instead, stamped with
//! the frame and the phase of the frame it happened in. A connection's id
//! is the number of its first frame, which the worker knows. The calling
//! thread merges the workers' relays in that order and does the rest
//! exactly as the single-threaded loop would: host aggregates, counters,
//! output. The output is the same, byte for byte, as with one thread
//! (`tests/threads.rs`).
//!
//! Why this order is the single-threaded one: every worker sweeps at the
//! same frames, with the same capture time, because the reading thread
//! tells them all when; a sweep judges exactly the connections whose time
//! is up, ordered by expiry time then id; everything else a packet causes
//! happens in the one worker that owns it, in program order.
//!
//! Buffers travel in circles (reader → worker → reader, worker → merge →
//! worker) and every channel forward is bounded, so memory stays bounded
//! whichever stage is slowest.
//!
//! The default `--max-connections` is split evenly between the workers;
//! once a worker reaches its share, which connection it evicts depends on
//! its table alone (an explicit `--max-connections` runs single-threaded).

use std::collections::VecDeque;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::thread;

use super::{
    AnalysisConfig, Analyzer, Clock, Counters, Decoded, Handed, Phase, Prepared, RunError,
    RunResult, LOOKAHEAD, PREFETCH_AHEAD,
};
use crate::capture::{CaptureError, FileSource, Merge, Precision, Timestamp};
use crate::findings::hosts::HostEvent;
use crate::findings::Finding;
use crate::report::{ConnRecord, FileSummary, Renderer, Sink, Summary};

/// The cores this machine offers (the default for `--threads`).
pub fn default_threads() -> usize {
    thread::available_parallelism().map_or(1, |n| n.get())
}

/// Frames between two hand-overs from the reading thread to every worker
/// (each hand-over also tells the merging thread how far a worker got).
/// Each hand-over wakes threads on both sides. On two cores, 16384 took
/// the two-core speedup from 1.65x to 1.76x over 8192 (median of 10
/// interleaved rounds on the 5.9M-packet benchmark capture, 2026-12-03);
/// 32768 and 65536 did no better and raised the peak RSS from 164 MB to
/// 187 MB and 235 MB.
const HAND_OVER_EVERY: u64 = 16384;

/// Connections a worker hands over at a time at the capture's end (each
/// is over a kilobyte, and the channel counts batches).
const CAPTURE_END_BATCH: u64 = 512;

/// The `through` of a worker's batches of connections judged at the
/// capture's end, before its last one (`u64::MAX`): every frame is done.
const CAPTURE_ENDING: u64 = u64::MAX - 1;

/// Hand-overs a worker may have waiting before the reading thread waits,
/// and (times the workers) batches waiting for the merge before a worker
/// waits.
const QUEUE_DEPTH: usize = 4;

/// What a worker relays, in the order it happened: the items, the
/// records of connections that ended with their findings, for the merge
/// to hand to a sink that takes records (the merge reads them in place),
/// and the output of those the worker rendered itself.
#[derive(Default)]
pub(super) struct Relayed {
    items: Vec<RelayItem>,
    records: Vec<(ConnRecord<'static>, Vec<Finding>)>,
    out: Vec<u8>,
}

impl Relayed {
    fn clear(&mut self) {
        self.items.clear();
        self.records.clear();
        self.out.clear();
    }
}

/// A worker's relays so far, and how it renders connections when the sink
/// takes them rendered.
pub(super) struct Relay {
    now: Relayed,
    /// Buffers the merge is done with, to fill again.
    spare: mpsc::Receiver<Relayed>,
    pub(super) render: Option<Renderer>,
}

impl Relay {
    pub(super) fn push(&mut self, frame: u64, phase: Phase, what: What) {
        // Everything judged at the capture's end sorts after every frame.
        let frame = match phase {
            Phase::CaptureEnd => u64::MAX,
            _ => frame,
        };
        self.now.items.push(RelayItem { frame, phase, what });
    }

    /// A connection ended and this worker judged, counted and rendered it:
    /// its output is what `render` appends to the batch's bytes.
    pub(super) fn rendered(
        &mut self,
        frame: u64,
        phase: Phase,
        id: u64,
        judged_at: Timestamp,
        left: HostEvent,
        render: impl FnOnce(&mut Vec<u8>),
    ) {
        let start = self.now.out.len();
        render(&mut self.now.out);
        let bytes = start..self.now.out.len();
        self.push(
            frame,
            phase,
            What::Rendered {
                id,
                judged_at,
                left,
                bytes,
            },
        );
    }

    /// A connection ended and this worker judged and counted it: its
    /// record and findings, for a sink that takes records.
    pub(super) fn record(
        &mut self,
        frame: u64,
        phase: Phase,
        judged_at: Timestamp,
        left: HostEvent,
        record: ConnRecord<'static>,
        found: Vec<Finding>,
    ) {
        self.now.records.push((record, found));
        let record = self.now.records.len() - 1;
        self.push(
            frame,
            phase,
            What::Record {
                judged_at,
                left,
                record,
            },
        );
    }

    /// What was relayed so far, leaving empty buffers (recycled ones when
    /// the merge has returned some) in its place.
    fn take(&mut self) -> Relayed {
        let mut next = self.spare.try_recv().unwrap_or_else(|_| Relayed {
            items: Vec::with_capacity(self.now.items.capacity()),
            records: Vec::with_capacity(self.now.records.capacity()),
            out: Vec::with_capacity(self.now.out.capacity()),
        });
        // The merge hands buffers back as it used them: what their
        // records and findings hold is freed here, on the thread that
        // allocated it (a free from another thread sends glibc's malloc
        // down its slow path on both).
        next.clear();
        std::mem::replace(&mut self.now, next)
    }
}

pub(super) struct RelayItem {
    frame: u64,
    phase: Phase,
    what: What,
}

pub(super) enum What {
    /// A connection started (the merge counts how many run at once).
    Start,
    /// For the host tracker.
    Host(HostEvent),
    /// A connection left the worker's table, judged and counted there:
    /// what the host tracker hears of it, and its record and findings, at
    /// `record` of the batch's.
    Record {
        judged_at: Timestamp,
        left: HostEvent,
        record: usize,
    },
    /// A connection left the worker's table, judged, counted and rendered
    /// there: what the host tracker hears of it, and its output, at
    /// `bytes` of the batch's.
    Rendered {
        id: u64,
        judged_at: Timestamp,
        left: HostEvent,
        bytes: std::ops::Range<usize>,
    },
}

/// What the reading thread hands a worker.
enum Input {
    Packet {
        frame: u64,
        now: Timestamp,
        p: Handed,
    },
    Sweep {
        frame: u64,
        now: Timestamp,
    },
}

/// A worker's inputs as the reading thread gathers them, in a buffer that
/// comes back from the worker still holding its last batch: those slots
/// are overwritten in place. (`Vec::push` of each 112-byte item built it
/// on the stack, copied it to a second place there and then into the
/// buffer, each copy reading back what was just stored in pieces of
/// another width. Writing in place took the reading thread's loop from
/// 12.2% to 8.6% of a two-thread run's perf samples.)
#[derive(Default)]
struct Gathering {
    slots: Vec<Input>,
    len: usize,
}

impl Gathering {
    /// A packet for the worker, written field by field over the slot's
    /// last packet when it holds one.
    #[inline]
    fn packet(&mut self, frame: u64, now: Timestamp, ts: Timestamp, d: &Decoded<'_>) {
        match self.slots.get_mut(self.len) {
            Some(Input::Packet {
                frame: f,
                now: n,
                p,
            }) => {
                *f = frame;
                *n = now;
                p.refill(ts, d);
                self.len += 1;
            }
            _ => self.put(Input::Packet {
                frame,
                now,
                p: Handed::of(ts, d),
            }),
        }
    }

    #[inline]
    fn put(&mut self, item: Input) {
        match self.slots.get_mut(self.len) {
            Some(slot) => *slot = item,
            None => self.slots.push(item),
        }
        self.len += 1;
    }

    /// The inputs gathered, leaving `spare` to gather into.
    fn take(&mut self, spare: Vec<Input>) -> Vec<Input> {
        self.slots.truncate(self.len);
        self.len = 0;
        std::mem::replace(&mut self.slots, spare)
    }
}

/// A hand-over: every input up to frame `through` that is the worker's.
struct InBatch {
    items: Vec<Input>,
    through: u64,
    /// Capture time after frame `through`.
    now: Timestamp,
    /// The precision records are rendered with.
    precision: Precision,
}

/// A worker's relays for every frame up to `through`.
struct OutBatch {
    worker: usize,
    relayed: Relayed,
    through: u64,
}

/// A batch the merge is working through.
struct Pending {
    relayed: Relayed,
    /// The first item not yet merged.
    next: usize,
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

/// A worker's channels: its input and where the input's buffers go back,
/// its output and where the output's buffers come back.
struct WorkerEnds {
    me: usize,
    input: mpsc::Receiver<InBatch>,
    spare_input: mpsc::Sender<Vec<Input>>,
    output: mpsc::SyncSender<OutBatch>,
    spare_output: mpsc::Receiver<Relayed>,
    render: Option<Renderer>,
}

/// [`super::run_sources`] on `threads` workers, plus the reading thread
/// and the calling one.
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
    let render = sink.renderer();
    let bytes_read = AtomicU64::new(0);
    thread::scope(|scope| {
        let mut inputs = Vec::with_capacity(n);
        let mut spare_inputs = Vec::with_capacity(n);
        let mut spare_outputs = Vec::with_capacity(n);
        let mut workers = Vec::with_capacity(n);
        // One bounded channel from all workers: the merge never waits on
        // one worker while another's relays pile up, and a worker that is
        // ahead of the merge waits.
        let (tx_out, outputs) = mpsc::sync_channel::<OutBatch>(n * QUEUE_DEPTH);
        for w in 0..n {
            let (tx_in, rx_in) = mpsc::sync_channel::<InBatch>(QUEUE_DEPTH);
            let (tx_spare_in, rx_spare_in) = mpsc::channel::<Vec<Input>>();
            let (tx_spare_out, rx_spare_out) = mpsc::channel();
            let ends = WorkerEnds {
                me: w,
                input: rx_in,
                spare_input: tx_spare_in,
                output: tx_out.clone(),
                spare_output: rx_spare_out,
                render,
            };
            let wcfg = worker_cfg.clone();
            let worker = thread::Builder::new()
                .name(format!("finscope-w{w}"))
                .spawn_scoped(scope, move || work(wcfg, ends))
                .map_err(RunError::Output)?;
            workers.push(worker);
            inputs.push(tx_in);
            spare_inputs.push(rx_spare_in);
            spare_outputs.push(tx_spare_out);
        }
        drop(tx_out);
        let (tx_precision, rx_precision) = mpsc::channel();
        let bytes = &bytes_read;
        let reader = thread::Builder::new()
            .name("finscope-read".into())
            .spawn_scoped(scope, move || {
                read(sources, count, inputs, spare_inputs, tx_precision, bytes)
            })
            .map_err(RunError::Output)?;

        let mut main = Analyzer::new(cfg, sink);
        if let Ok(p) = rx_precision.recv() {
            main.set_precision(p);
        }
        let merged = merge(&mut main, outputs, spare_outputs, &mut || {
            progress(bytes_read.load(Ordering::Relaxed));
        });
        // A failed merge dropped its receiver: the workers and then the
        // reader stop at their next hand-over.
        let read = reader.join();
        let mut worker_counters = Vec::with_capacity(n);
        for w in workers {
            match w.join() {
                Ok(Ok(c)) => worker_counters.push(c),
                Ok(Err(e)) => return Err(RunError::Output(e)),
                Err(_) => return Err(panicked("a worker")),
            }
        }
        let peak = merged.map_err(RunError::Output)?;
        let read = read.map_err(|_| panicked("the reading thread"))?;
        let c = &mut main.counters;
        c.add_reader(read.counters);
        for w in &worker_counters {
            c.add_worker(w);
        }
        c.peak_connections = peak;
        main.clock.now = read.now;
        let counters = main.finish(read.files).map_err(RunError::Output)?;
        Ok(RunResult {
            counters,
            errors: read.errors,
        })
    })
}

fn panicked(who: &str) -> RunError {
    RunError::Output(io::Error::other(format!(
        "{who} of the --threads analysis panicked (a bug: please report it; --threads 1 avoids it)"
    )))
}

/// The reading thread: the clock, decoding, and the hand-over of each
/// segment to its connection's worker.
fn read(
    sources: Vec<FileSource>,
    count: Option<u64>,
    workers: Vec<mpsc::SyncSender<InBatch>>,
    spare: Vec<mpsc::Receiver<Vec<Input>>>,
    precision: mpsc::Sender<Precision>,
    bytes: &AtomicU64,
) -> ReadOutcome {
    let n = workers.len();
    let mut merge = Merge::new(sources);
    let mut pending: Vec<Gathering> = (0..n).map(|_| Gathering::default()).collect();
    let mut c = Counters::default();
    let mut errors = Vec::new();
    let mut clock = Clock::default();
    let mut prec = Precision::Micro;
    // Refilled in place for every packet (see `Prepared::refill`).
    let mut p = Prepared::empty();
    let hand_over = |pending: &mut Vec<Gathering>, clock: &Clock, precision| -> bool {
        for ((p, tx), spare) in pending.iter_mut().zip(&workers).zip(&spare) {
            let empty = spare
                .try_recv()
                .unwrap_or_else(|_| Vec::with_capacity(p.slots.capacity()));
            let batch = InBatch {
                items: p.take(empty),
                through: clock.frame,
                now: clock.now,
                precision,
            };
            if tx.send(batch).is_err() {
                return false;
            }
        }
        true
    };
    loop {
        match merge.advance() {
            Ok(Some(i)) => {
                if clock.frame == 0 {
                    let p = merge
                        .sources()
                        .iter()
                        .map(|s| s.stats().precision)
                        .max()
                        .unwrap_or(Precision::Micro);
                    prec = p;
                    let _ = precision.send(p);
                }
                let Some(pkt) = merge.packet(i) else { continue };
                // As `Analyzer::process` keeps it, so every worker sweeps
                // where the single-threaded loop would.
                if clock.next_frame(pkt.ts, &mut c) {
                    let (frame, now) = (clock.frame, clock.now);
                    for p in pending.iter_mut() {
                        p.put(Input::Sweep { frame, now });
                    }
                }
                p.refill(&pkt, |_| &[]);
                match &p.decoded {
                    Ok(d) => {
                        if let Some(q) = pending.get_mut(d.hash.shard(n)) {
                            let (frame, now) = (clock.frame, clock.now);
                            q.packet(frame, now, p.ts, d);
                        }
                    }
                    Err(skip) => c.skipped(*skip),
                }
                if clock.frame % HAND_OVER_EVERY == 0 {
                    bytes.store(
                        merge.sources().iter().map(|s| s.offset()).sum(),
                        Ordering::Relaxed,
                    );
                    if !hand_over(&mut pending, &clock, prec) {
                        break;
                    }
                }
                if count.is_some_and(|n| clock.frame >= n) {
                    break;
                }
            }
            Ok(None) => break,
            Err((_, e)) => errors.push(e),
        }
    }
    hand_over(&mut pending, &clock, prec);
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
        now: clock.now,
    }
}

/// A worker: its share of the connections, tracked as the single-threaded
/// loop would, with the same lookahead prefetching.
fn work(cfg: AnalysisConfig, ends: WorkerEnds) -> io::Result<Counters> {
    let WorkerEnds {
        me,
        input,
        spare_input,
        output,
        spare_output,
        render,
    } = ends;
    let mut sink = NoSink;
    let mut a = Analyzer::new(cfg, &mut sink);
    a.relay = Some(Relay {
        now: Relayed::default(),
        spare: spare_output,
        render,
    });
    let send = |a: &mut Analyzer<'_>, through: u64| -> bool {
        let Some(relayed) = a.relay.as_mut().map(Relay::take) else {
            return false;
        };
        let batch = OutBatch {
            worker: me,
            relayed,
            through,
        };
        output.send(batch).is_ok()
    };
    for batch in input {
        a.set_precision(batch.precision);
        // The lookahead of the single-threaded loop, by index: the packets
        // to prefetch for are already in the batch.
        let items = &batch.items;
        let hash = |i: usize| match items.get(i) {
            Some(Input::Packet { p, .. }) => Some(p.hash),
            _ => None,
        };
        for (i, item) in items.iter().enumerate() {
            if let Some(h) = hash(i + LOOKAHEAD) {
                a.table.prefetch_cell(h);
            }
            if let Some(h) = hash(i + PREFETCH_AHEAD) {
                a.prefetch_hashed(h);
            }
            match *item {
                Input::Packet { frame, now, ref p } => a.shard_packet(frame, now, p)?,
                Input::Sweep { frame, now } => a.shard_sweep(frame, now)?,
            }
        }
        // Back to the reader, items and all: it writes over them. (It may
        // have stopped: then the buffer is dropped.)
        let _ = spare_input.send(batch.items);
        // Capture time moves with every packet, the other workers' too
        // (connections still open at the end are judged at the last one).
        a.clock.now = a.clock.now.max(batch.now);
        if !send(&mut a, batch.through) {
            return Ok(a.counters);
        }
    }
    // What is left at the end goes over in batches too (in id order, the
    // order the merge takes them in), not in one batch as large as the
    // table.
    let mut judged = 0u64;
    a.end_all_then(&mut |a| {
        judged += 1;
        !judged.is_multiple_of(CAPTURE_END_BATCH) || send(a, CAPTURE_ENDING)
    })?;
    send(&mut a, u64::MAX);
    Ok(a.into_counters())
}

/// The calling thread: merges the workers' relays in frame order and
/// plays them into `main` (its host tracker, counters and sink). Returns
/// the peak number of connections tracked at once.
fn merge(
    main: &mut Analyzer<'_>,
    workers: mpsc::Receiver<OutBatch>,
    spare: Vec<mpsc::Sender<Relayed>>,
    progress: &mut dyn FnMut(),
) -> io::Result<u64> {
    let n = spare.len();
    let mut queues: Vec<VecDeque<Pending>> = (0..n).map(|_| VecDeque::new()).collect();
    let mut through = vec![0u64; n];
    let mut running = Running::default();
    // A sweep's ends: (expiry, id, worker, index of the item in its batch).
    let mut group: Vec<(Timestamp, u64, usize, usize)> = Vec::new();
    // Rendered connections taken but not yet written (see `Parts`).
    let mut parts = Parts::default();
    loop {
        let safe = through.iter().copied().min().unwrap_or(u64::MAX);
        loop {
            recycle(main, &mut queues, &spare, &mut parts)?;
            // (Connections judged at the capture's end wait for the loop
            // after this one.)
            let next = queues
                .iter()
                .filter_map(|q| q.front().and_then(|b| b.relayed.items.get(b.next)))
                .filter(|it| it.frame <= safe.min(CAPTURE_ENDING))
                .map(|it| (it.frame, it.phase))
                .min();
            let Some((frame, phase)) = next else { break };
            if phase == Phase::Packet {
                // A packet's relays come from its one worker: take that
                // worker's run of packet items up to where another
                // worker's next item (or the safe frame) comes first,
                // without looking across the queues for each.
                let limit = safe.min(CAPTURE_ENDING);
                let Some(w) = queues.iter().position(|q| {
                    q.front()
                        .and_then(|b| b.relayed.items.get(b.next))
                        .is_some_and(|it| (it.frame, it.phase) == (frame, phase))
                }) else {
                    break;
                };
                let bound = queues
                    .iter()
                    .enumerate()
                    .filter(|&(o, _)| o != w)
                    .filter_map(|(_, q)| q.front().and_then(|b| b.relayed.items.get(b.next)))
                    .map(|it| (it.frame, it.phase))
                    .min();
                let Some(b) = queues.get_mut(w).and_then(|q| q.front_mut()) else {
                    break;
                };
                while let Some(item) = b.relayed.items.get(b.next).filter(|it| {
                    it.phase == Phase::Packet
                        && it.frame <= limit
                        && bound.is_none_or(|bd| (it.frame, it.phase) < bd)
                }) {
                    let at = b.next;
                    b.next += 1;
                    play(main, item, &b.relayed, at, w, &mut running, &mut parts)?;
                }
                if parts.full() {
                    parts.write(main, &queues)?;
                }
                continue;
            }
            // A sweep (and the capture's end) happens in every worker at
            // once: judge what they expired together, by expiry time then
            // id, as one table's sweep does. A packet's relays come from
            // its one worker, in order. Either way a worker's items for one
            // frame and phase sit in one batch (it hands over between
            // input batches, which hold whole sweeps).
            group.clear();
            for (w, q) in queues.iter_mut().enumerate() {
                let Some(b) = q.front_mut() else { continue };
                while let Some(item) = b
                    .relayed
                    .items
                    .get(b.next)
                    .filter(|it| (it.frame, it.phase) == (frame, phase))
                {
                    let at = b.next;
                    b.next += 1;
                    // (Packet items went the way above.)
                    match end_key(&item.what, &b.relayed) {
                        Some((judged_at, id)) => group.push((judged_at, id, w, at)),
                        None => play(main, item, &b.relayed, at, w, &mut running, &mut parts)?,
                    }
                }
            }
            group.sort_unstable_by_key(|g| (g.0, g.1));
            for (_, _, w, at) in group.drain(..) {
                if let Some(b) = queues.get(w).and_then(|q| q.front()) {
                    running.now = running.now.saturating_sub(1);
                    leave(main, &b.relayed, at, w, &mut parts)?;
                }
            }
            if parts.full() {
                parts.write(main, &queues)?;
            }
        }
        if safe >= CAPTURE_ENDING {
            // The capture's end: each worker's connections come in id
            // order, so taking the lowest id of the workers' next ones
            // gives one table's order without holding them all. A worker
            // with none waiting must be done for the merge to go on.
            loop {
                recycle(main, &mut queues, &spare, &mut parts)?;
                let mut lowest: Option<(u64, usize)> = None;
                let mut ready = true;
                for (w, q) in queues.iter().enumerate() {
                    let front = q.front().and_then(|b| {
                        let item = b.relayed.items.get(b.next)?;
                        end_key(&item.what, &b.relayed).map(|(_, id)| id)
                    });
                    match front {
                        Some(id) => {
                            if lowest.is_none_or(|(low, _)| id < low) {
                                lowest = Some((id, w));
                            }
                        }
                        None => ready &= through.get(w) == Some(&u64::MAX),
                    }
                }
                let (true, Some((_, w))) = (ready, lowest) else {
                    break;
                };
                let Some(b) = queues.get_mut(w).and_then(|q| q.front_mut()) else {
                    break;
                };
                let at = b.next;
                b.next += 1;
                running.now = running.now.saturating_sub(1);
                leave(main, &b.relayed, at, w, &mut parts)?;
                if parts.full() {
                    parts.write(main, &queues)?;
                }
            }
            recycle(main, &mut queues, &spare, &mut parts)?;
            if safe == u64::MAX && queues.iter().all(VecDeque::is_empty) {
                parts.write(main, &queues)?;
                return Ok(running.peak);
            }
        }
        match workers.recv() {
            Ok(batch) => {
                if let Some(q) = queues.get_mut(batch.worker) {
                    q.push_back(Pending {
                        relayed: batch.relayed,
                        next: 0,
                    });
                }
                if let Some(t) = through.get_mut(batch.worker) {
                    *t = batch.through;
                }
            }
            // Every worker is done (or failed: its error surfaces when it
            // is joined).
            Err(_) => through.iter_mut().for_each(|t| *t = u64::MAX),
        }
        progress();
    }
}

/// Connections the workers track at once: now, and at most so far.
#[derive(Default)]
struct Running {
    now: u64,
    peak: u64,
}

/// Plays an item that is not one of a sweep's ends into `main` as it
/// comes: a start is counted, a host event recorded, a connection that
/// ended while its worker handled a packet handed on.
fn play(
    main: &mut Analyzer<'_>,
    item: &RelayItem,
    relayed: &Relayed,
    at: usize,
    worker: usize,
    running: &mut Running,
    parts: &mut Parts,
) -> io::Result<()> {
    match &item.what {
        What::Start => {
            running.now += 1;
            running.peak = running.peak.max(running.now);
            Ok(())
        }
        What::Host(ev) => {
            main.hosts.record(*ev);
            Ok(())
        }
        What::Record { .. } | What::Rendered { .. } => {
            running.now = running.now.saturating_sub(1);
            leave(main, relayed, at, worker, parts)
        }
    }
}

/// What orders a connection's end among a sweep's: when it was judged,
/// then its id (`None` for an item that is no end).
fn end_key(what: &What, relayed: &Relayed) -> Option<(Timestamp, u64)> {
    match *what {
        What::Record {
            judged_at, record, ..
        } => relayed.records.get(record).map(|(r, _)| (judged_at, r.id)),
        What::Rendered { id, judged_at, .. } => Some((judged_at, id)),
        What::Start | What::Host(_) => None,
    }
}

/// Sends the batches the merge has worked through back to their workers,
/// once what it took of them is written. (The check runs for every run of
/// items the merge takes; the sending, once a batch, is out of line.)
#[inline]
fn recycle(
    main: &mut Analyzer<'_>,
    queues: &mut [VecDeque<Pending>],
    spare: &[mpsc::Sender<Relayed>],
    parts: &mut Parts,
) -> io::Result<()> {
    let done = |q: &VecDeque<Pending>| q.front().is_some_and(|b| b.next >= b.relayed.items.len());
    if queues.iter().any(done) {
        parts.write(main, queues)?;
        for (q, back) in queues.iter_mut().zip(spare) {
            if done(q) {
                send_back(q, back);
            }
        }
    }
    Ok(())
}

/// Connections the workers rendered, taken in order but not yet written:
/// (id, worker, where in the output of the worker's front batch). They
/// go to the sink together ([`Sink::rendered_parts`]), straight from the
/// workers' buffers; a batch goes back to its worker only once they are
/// written.
#[derive(Default)]
struct Parts(Vec<(u64, usize, std::ops::Range<usize>)>);

impl Parts {
    /// Connections a write takes (the kernel's `IOV_MAX`). In the unit
    /// tests, whose captures hold a few hundred connections, a handful: so
    /// that writes happen in the middle of a batch there too.
    #[cfg(not(test))]
    const EVERY: usize = 1024;
    #[cfg(test)]
    const EVERY: usize = 5;

    fn full(&self) -> bool {
        self.0.len() >= Self::EVERY
    }

    fn write(&mut self, main: &mut Analyzer<'_>, queues: &[VecDeque<Pending>]) -> io::Result<()> {
        if self.0.is_empty() {
            return Ok(());
        }
        let parts: Vec<(u64, &[u8])> = self
            .0
            .iter()
            .filter_map(|(id, w, bytes)| {
                let out = &queues.get(*w)?.front()?.relayed.out;
                Some((*id, out.get(bytes.clone())?))
            })
            .collect();
        let written = main.sink.rendered_parts(&parts);
        self.0.clear();
        written
    }
}

#[cold]
#[inline(never)]
fn send_back(q: &mut VecDeque<Pending>, back: &mpsc::Sender<Relayed>) {
    while q.front().is_some_and(|b| b.next >= b.relayed.items.len()) {
        if let Some(b) = q.pop_front() {
            // The worker empties it (see `Relay::take`); one that has
            // finished takes no more.
            let _ = back.send(b.relayed);
        }
    }
}

/// A connection leaves, at item `at` of worker `worker`'s front batch: the
/// host counts it held and its output (the record the worker made, or
/// what it rendered, which waits in `parts`). A sink either takes records
/// or rendered bytes, so the two never interleave.
fn leave(
    main: &mut Analyzer<'_>,
    relayed: &Relayed,
    at: usize,
    worker: usize,
    parts: &mut Parts,
) -> io::Result<()> {
    let Some(item) = relayed.items.get(at) else {
        return Ok(());
    };
    match &item.what {
        What::Record { left, record, .. } => {
            main.hosts.record(*left);
            match relayed.records.get(*record) {
                Some((r, found)) => main.sink.connection(r, found),
                None => Ok(()),
            }
        }
        What::Rendered {
            id, left, bytes, ..
        } => {
            main.hosts.record(*left);
            parts.0.push((*id, worker, bytes.clone()));
            Ok(())
        }
        What::Start | What::Host(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::JsonlSink;

    fn testdata() -> Vec<String> {
        crate::testdata::captures()
            .iter()
            .map(|p| p.display().to_string())
            .collect()
    }

    fn jsonl(threads: usize, files: &[String]) -> Vec<u8> {
        let sources = files
            .iter()
            .map(|f| FileSource::open(f).expect("opens"))
            .collect();
        let mut out = Vec::new();
        let mut sink = JsonlSink::new(&mut out, false);
        let cfg = AnalysisConfig {
            thresholds: crate::findings::Thresholds {
                time_wait: 2_000_000_000,
                ..Default::default()
            },
            ..Default::default()
        };
        let result = match threads {
            // The single-threaded loop itself, not the dispatch that picks.
            1 => super::super::run_sources(sources, cfg, &mut sink, &mut |_| {}),
            n => run_threaded(sources, cfg, &mut sink, &mut |_| {}, n),
        };
        let r = result.unwrap_or_else(|e| panic!("{e}"));
        assert!(r.errors.is_empty());
        drop(sink);
        out
    }

    /// What a gathered input holds, for comparing two.
    fn describe(input: &Input) -> String {
        match input {
            Input::Sweep { frame, now } => format!("sweep {frame} {now:?}"),
            Input::Packet { frame, now, p } => match p.prepared().decoded {
                Ok(d) => format!(
                    "packet {frame} {now:?} {:?} {:?} {:?} {:?} {:?} {}",
                    p.ts, d.seg, d.key, d.side, d.hash, d.captured_all
                ),
                Err(skip) => panic!("a handed packet came back as {skip:?}"),
            },
        }
    }

    /// A buffer gathered over again holds exactly the new batch, whatever
    /// its slots held before: packets over packets and over sweeps,
    /// sweeps over packets, a longer batch, then a shorter one.
    #[test]
    fn a_recycled_buffer_gathers_only_the_new_batch() {
        let mut tcp = Vec::new();
        for path in crate::testdata::captures() {
            let mut src = FileSource::open(&path.to_string_lossy()).expect("opens");
            while let (Ok(()), Some(pkt)) = (src.advance(), src.current()) {
                let p = Prepared::detached(&pkt);
                if p.decoded.is_ok() {
                    tcp.push(p);
                }
            }
        }
        assert!(tcp.len() > 40, "{} TCP frames", tcp.len());
        // Each batch: how many inputs, which are sweeps, and which packets
        // (by an offset into `tcp`) fill the rest.
        let batches: [(usize, &[usize], usize); 4] = [
            (10, &[3, 7], 0),
            (14, &[0, 9], 11),
            (4, &[2], 29),
            (12, &[], 5),
        ];
        let mut g = Gathering::default();
        for (round, &(len, sweeps, first)) in batches.iter().enumerate() {
            let mut want = Vec::new();
            for i in 0..len {
                let frame = (round * 100 + i) as u64;
                let now = Timestamp(frame as i64 * 1000 + round as i64);
                if sweeps.contains(&i) {
                    want.push(describe(&Input::Sweep { frame, now }));
                    g.put(Input::Sweep { frame, now });
                } else if let Some(Prepared { ts, decoded: Ok(d) }) = tcp.get(first + i) {
                    let p = Handed::of(*ts, d);
                    want.push(describe(&Input::Packet { frame, now, p }));
                    g.packet(frame, now, *ts, d);
                }
            }
            assert_eq!(want.len(), len);
            let batch = g.take(Vec::new());
            let got: Vec<String> = batch.iter().map(describe).collect();
            assert_eq!(got, want, "batch {round}");
            // The worker hands the buffer back, items and all, and the
            // next batch is gathered over them.
            let empty = g.take(batch);
            assert!(empty.is_empty());
        }
    }

    /// The threaded path itself (whatever `run_sources` decides to use)
    /// gives the single-threaded loop's bytes, on every testdata capture
    /// merged into one stream.
    #[test]
    fn run_threaded_writes_what_one_thread_writes() {
        let files = testdata();
        let one = jsonl(1, &files);
        assert!(one.len() > 10_000);
        for n in [2, 3, 4] {
            let many = jsonl(n, &files);
            assert!(one == many, "{n} workers differ from one thread");
        }
    }
}
