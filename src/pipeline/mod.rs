//! The loop: capture → decode → flow table → tracker → findings → sink.
//!
//! This is the one module that knows every stage. Per packet it does one
//! decode, one hash lookup and one tracker step; connections leave the
//! table (and stream out to the sink) once they are closed and their
//! TIME-WAIT window has passed, or after the idle timeout, both measured in
//! capture time.

use std::io;

mod parallel;
pub use parallel::default_threads;
use parallel::{Relay, What};

use crate::capture::{CaptureError, Merge, Precision, RawPacket, Timestamp};
use crate::conn::{Connection, EndReason, Event, TcpState};
use crate::decode::{self, Skip};
use crate::findings::hosts::HostEvent;
use crate::findings::{self, Finding, FindingKind, Thresholds};
use crate::flow::{FlowKey, FlowTable, List, SlotId};
use crate::reassembly::{ByteStream, SeqNumber};
use crate::report::{ConnRecord, Sink, Summary};
use std::collections::HashMap;

/// How much of a connection's slot [`Analyzer::prefetch`] brings in: all
/// of it (a segment touches both endpoints, Zeek's endpoint machines and
/// the slot's header, spread over the slot; the slot is about 1.1 KB).
const PREFETCH_BYTES: usize = 1536;

/// How many packets the file loop prepares ahead of the one it processes,
/// and how far ahead it prefetches their connections.
const LOOKAHEAD: usize = 12;
const PREFETCH_AHEAD: usize = 6;
/// The file loop's ring of packets decoded ahead (a power of two).
const RING: usize = 16;
const _: () = assert!(RING >= LOOKAHEAD && RING.is_power_of_two());

/// A decoded packet waiting for [`Analyzer::process`] (see
/// [`Analyzer::prepare`]).
pub struct Prepared<'a> {
    ts: Timestamp,
    decoded: Result<Decoded<'a>, Skip>,
}

/// A TCP segment with what the table needs to find its connection.
struct Decoded<'a> {
    seg: decode::Segment<'a>,
    key: FlowKey,
    side: crate::flow::KeySide,
    hash: crate::flow::KeyHash,
    /// The whole payload was captured (not cut by the snapshot length).
    captured_all: bool,
}

impl Decoded<'static> {
    /// A placeholder to decode into.
    const EMPTY: Decoded<'static> = Decoded {
        seg: decode::Segment::EMPTY,
        key: FlowKey::EMPTY,
        side: crate::flow::KeySide::Lo,
        hash: crate::flow::KeyHash(0),
        captured_all: false,
    };
}

/// What the tracker reads of a TCP segment: its connection's key, which
/// end sent it, the segment's fields, and (from the single-threaded loop,
/// for `--write-streams`) its payload bytes. Both loops lend theirs: the
/// single-threaded one from its [`Decoded`], a worker from its [`Handed`],
/// neither building the other's form.
#[derive(Clone, Copy)]
struct Seen<'s> {
    key: &'s FlowKey,
    side: crate::flow::KeySide,
    hash: crate::flow::KeyHash,
    captured_all: bool,
    fields: &'s decode::SegmentFields,
    /// `None` on a worker: the hand-over carries no payload bytes, and a
    /// `--write-streams` run is never split (see [`run_sources`]).
    payload: Option<&'s [u8]>,
}

/// A TCP segment as it crosses to a `--threads` worker: a [`Decoded`]
/// without the segment's addresses (its key and side give them back) or
/// payload bytes. The reading thread writes one per packet into a batch,
/// where [`Prepared`]'s 152 bytes took two-fifths of its time; these are
/// 112, written over the batch's old ones in place (see `Gathering`).
#[derive(Clone, Copy)]
struct Handed {
    ts: Timestamp,
    key: FlowKey,
    hash: crate::flow::KeyHash,
    side: crate::flow::KeySide,
    captured_all: bool,
    fields: decode::SegmentFields,
}

impl Handed {
    fn of(ts: Timestamp, d: &Decoded<'_>) -> Self {
        Handed {
            ts,
            key: d.key,
            hash: d.hash,
            side: d.side,
            captured_all: d.captured_all,
            fields: d.seg.fields,
        }
    }

    /// [`Handed::of`] over `self`, one field at a time: each is copied
    /// straight from the decoded packet, with no whole value on the stack
    /// between. (Destructured, so a field added to `Handed` must be added
    /// here too.)
    #[inline]
    fn refill(&mut self, at: Timestamp, d: &Decoded<'_>) {
        let Handed {
            ts,
            key,
            hash,
            side,
            captured_all,
            fields,
        } = self;
        *ts = at;
        *key = d.key;
        *hash = d.hash;
        *side = d.side;
        *captured_all = d.captured_all;
        *fields = d.seg.fields;
    }

    /// The packet as the reading thread decoded it (its payload bytes
    /// detached): what the hand-over keeps, for the tests to compare.
    #[cfg(test)]
    fn prepared(&self) -> Prepared<'static> {
        let (src, dst) = (
            self.key.endpoint(self.side),
            self.key.endpoint(self.side.other()),
        );
        Prepared {
            ts: self.ts,
            decoded: Ok(Decoded {
                seg: self.fields.with_ends(src.ip, src.port, dst.ip, dst.port),
                key: self.key,
                side: self.side,
                hash: self.hash,
                captured_all: self.captured_all,
            }),
        }
    }
}

impl<'a> Prepared<'a> {
    /// Decodes a frame and finds its key and the key's hash.
    fn of(pkt: &RawPacket<'a>) -> Self {
        Prepared::decode(pkt, |payload| payload)
    }

    /// [`Prepared::of`] without the payload bytes, which only
    /// `--write-streams` needs (the payload's captured length is kept):
    /// what the lookahead and the `--threads` workers hold. They refill
    /// their own with [`Prepared::refill`] and [`decode::Segment::detach`]
    /// as this does (detaching [`Prepared::of`]'s would copy the decoded
    /// packet once more).
    #[cfg(test)]
    fn detached(pkt: &RawPacket<'_>) -> Prepared<'static> {
        Prepared::decode(pkt, |_| &[])
    }

    /// Decodes `pkt`, its segment given the payload bytes `attach` gives.
    #[inline]
    fn decode<'p>(pkt: &RawPacket<'p>, attach: impl FnOnce(&'p [u8]) -> &'a [u8]) -> Self {
        let mut p = Prepared::empty();
        p.refill(pkt, attach);
        p
    }

    /// A placeholder, to be refilled.
    fn empty() -> Self {
        Prepared {
            ts: Timestamp(0),
            decoded: Err(Skip::NotTcp),
        }
    }

    /// [`Prepared::decode`] written over `self`: the lookahead ring's slots
    /// are refilled in place, the frame decoded straight into the slot's
    /// segment, where building a new `Prepared` and moving it in cost
    /// about 130 instructions a packet. `attach` gives the segment its
    /// payload bytes, or none.
    /// (Always inlined: as a call of its own it went through a temporary
    /// again.)
    #[inline(always)]
    fn refill<'p>(&mut self, pkt: &RawPacket<'p>, attach: impl FnOnce(&'p [u8]) -> &'a [u8]) {
        self.ts = pkt.ts;
        if self.decoded.is_err() {
            self.decoded = Ok(Decoded::EMPTY);
        }
        let Ok(d) = &mut self.decoded else { return };
        match decode::decode_into(pkt.linktype, pkt.data, &mut d.seg) {
            Ok(payload) => {
                d.captured_all = payload.len() as u64 >= u64::from(d.seg.fields.payload_len);
                (d.key, d.side, d.hash) = FlowKey::of_segment_hashed(&d.seg);
                d.seg.payload = attach(payload);
            }
            Err(skip) => self.decoded = Err(skip),
        }
    }

    /// The key's hash, for a TCP segment.
    fn hash(&self) -> Option<crate::flow::KeyHash> {
        self.decoded.as_ref().ok().map(|d| d.hash)
    }
}

/// Hosts listed in the summary (the highest TIME-WAIT / CLOSE-WAIT peaks).
const HOSTS_IN_SUMMARY: usize = 20;

/// How long a connection ended by RST stays to collect stragglers (Zeek
/// waits as long: `tcp_close_delay`).
const RESET_LINGER_NS: i64 = 5_000_000_000;

/// How often (in capture time) the table is swept for expired connections.
const EXPIRE_EVERY_NS: i64 = 100_000_000;

/// Settings the analysis needs (no CLI types here).
#[derive(Debug, Clone)]
pub struct AnalysisConfig {
    pub thresholds: Thresholds,
    /// Cap on connections tracked at once; the least recently active is
    /// evicted (and counted) to make room.
    pub max_connections: usize,
    /// Stop after this many packets (`-c`).
    pub count: Option<u64>,
    /// Only analyze frames matching this pcap-filter expression (`-f`,
    /// with the `live` feature).
    pub filter: Option<String>,
    /// `--write-streams`: export each connection's byte streams.
    pub write_streams: Option<StreamExport>,
    /// `--threads`: workers that share the connections out by flow hash
    /// (1: the single-threaded loop). [`run`] uses them unless `-f`,
    /// `--write-streams` or a `--max-connections` other than the default
    /// is given; the output is the same either way while each worker
    /// stays under its share of the cap. `show` and `live` always run on
    /// one thread.
    pub threads: usize,
    /// The process exits as soon as the run is done (the command line):
    /// the analysis leaves its memory to the operating system instead of
    /// freeing it. The table's slab holds every slot ever used, about a
    /// kilobyte each with its last connection still in it; freeing it
    /// walked cold memory and made a few hundred munmaps, 2% of a run.
    pub exit_after: bool,
}

/// Where and with how much buffer `--write-streams` works.
#[derive(Debug, Clone)]
pub struct StreamExport {
    pub dir: String,
    /// Out-of-order bytes one connection may hold (`--stream-buffer`).
    pub per_connection: usize,
    /// Out-of-order bytes all connections together may hold
    /// (`--stream-buffer-total`).
    pub total: usize,
}

/// Byte-exact reassembly into files, for `--write-streams`.
struct Exporter {
    cfg: StreamExport,
    files: crate::report::streams::StreamFiles,
    streams: HashMap<u64, [ByteStream; 2], ahash::RandomState>,
    buffered: usize,
}

impl Exporter {
    fn segment(
        &mut self,
        id: u64,
        dir: crate::conn::Dir,
        seg: &decode::SegmentFields,
        payload: &[u8],
    ) -> io::Result<()> {
        if seg.flags.rst() {
            return Ok(());
        }
        let side = dir as usize;
        let streams = self.streams.entry(id).or_default();
        let Some(bs) = streams.get_mut(side) else {
            return Ok(());
        };
        if seg.flags.syn() {
            bs.syn(SeqNumber(seg.seq));
        }
        let seq = if seg.flags.syn() {
            SeqNumber(seg.seq) + 1
        } else {
            SeqNumber(seg.seq)
        };
        // The cap: this connection's allowance, and what is left of the total.
        let room = self.cfg.total.saturating_sub(self.buffered) + bs.buffered();
        let cap = self.cfg.per_connection.min(room);
        let files = &mut self.files;
        let mut err = None;
        let delta = bs.segment(
            seq,
            payload,
            seg.payload_len,
            seg.flags.fin(),
            cap,
            &mut |off, bytes| {
                if err.is_none() {
                    err = files.write(id, side, off, bytes).err();
                }
            },
        );
        self.buffered = (self.buffered as isize + delta).max(0) as usize;
        err.map_or(Ok(()), Err)
    }

    fn finish(&mut self, conn: &Connection) -> io::Result<()> {
        use crate::report::streams::{DirIndex, GapRecord, StreamIndex};
        let Some(mut streams) = self.streams.remove(&conn.id()) else {
            return Ok(());
        };
        let id = conn.id();
        let files = &mut self.files;
        let mut err = None;
        for (side, bs) in streams.iter_mut().enumerate() {
            let delta = bs.finish(&mut |off, bytes| {
                if err.is_none() {
                    err = files.write(id, side, off, bytes).err();
                }
            });
            self.buffered = (self.buffered as isize + delta).max(0) as usize;
        }
        if let Some(e) = err {
            return Err(e);
        }
        let index = |side: usize, bs: &ByteStream| DirIndex {
            file: format!("{id}.{}", if side == 0 { "client" } else { "server" }),
            length: bs.delivered(),
            gaps: bs
                .gaps
                .iter()
                .map(|&(offset, length)| GapRecord { offset, length })
                .collect(),
            conflicts: bs.conflicts,
            overflows: bs.overflows,
            out_of_window: bs.out_of_window,
        };
        let [c, s] = &streams;
        self.files.finish(StreamIndex {
            connection: id,
            client: conn.client.to_string(),
            server: conn.server.to_string(),
            client_stream: index(0, c),
            server_stream: index(1, s),
        })
    }
}

impl Default for AnalysisConfig {
    fn default() -> Self {
        AnalysisConfig {
            thresholds: Thresholds::default(),
            max_connections: 1_000_000,
            count: None,
            filter: None,
            write_streams: None,
            threads: 1,
            exit_after: false,
        }
    }
}

/// Counters for the summary.
#[derive(Debug, Clone, Default)]
pub struct Counters {
    pub packets: u64,
    pub tcp_packets: u64,
    pub duplicates: u64,
    /// Frames the `-f` filter left out.
    pub filtered_out: u64,
    pub not_decoded: [u64; Skip::REASONS.len()],
    /// Link types seen that finscope does not decode.
    pub unsupported_linktypes: Vec<u32>,
    pub connections: u64,
    pub teardown: [u64; crate::conn::Teardown::ALL.len()],
    pub findings: [u64; FindingKind::ALL.len()],
    /// Findings by kind and severity (info, warning, error).
    pub findings_by_severity: [[u64; 3]; FindingKind::ALL.len()],
    pub severities: [u64; 3],
    pub evicted_closed: u64,
    pub evicted_idle: u64,
    pub evicted_reused: u64,
    pub evicted_cap: u64,
    pub peak_connections: u64,
    pub first_ts: Option<Timestamp>,
    pub last_ts: Option<Timestamp>,
}

impl Counters {
    /// Counts a frame that is not a TCP segment, by reason.
    fn skipped(&mut self, skip: Skip) {
        if let Some(n) = self.not_decoded.get_mut(skip.index()) {
            *n += 1;
        }
        if let Skip::UnsupportedLinktype(lt) = skip {
            if !self.unsupported_linktypes.contains(&lt) && self.unsupported_linktypes.len() < 16 {
                self.unsupported_linktypes.push(lt);
            }
        }
    }

    /// What the reading thread of a `--threads` run counted (per frame).
    fn add_reader(&mut self, r: Counters) {
        self.packets = r.packets;
        self.first_ts = r.first_ts;
        self.last_ts = r.last_ts;
        self.not_decoded = r.not_decoded;
        self.unsupported_linktypes = r.unsupported_linktypes;
    }

    /// What a worker of a `--threads` run counted (per segment and per
    /// connection it tracked).
    fn add_worker(&mut self, w: &Counters) {
        // Verdicts and findings, of the connections the worker rendered
        // itself (the merge counts the others).
        for (n, m) in self.teardown.iter_mut().zip(&w.teardown) {
            *n += m;
        }
        for (n, m) in self.findings.iter_mut().zip(&w.findings) {
            *n += m;
        }
        for (row, other) in self
            .findings_by_severity
            .iter_mut()
            .zip(&w.findings_by_severity)
        {
            for (n, m) in row.iter_mut().zip(other) {
                *n += m;
            }
        }
        for (n, m) in self.severities.iter_mut().zip(&w.severities) {
            *n += m;
        }
        self.tcp_packets += w.tcp_packets;
        self.duplicates += w.duplicates;
        self.connections += w.connections;
        self.evicted_closed += w.evicted_closed;
        self.evicted_idle += w.evicted_idle;
        self.evicted_reused += w.evicted_reused;
        self.evicted_cap += w.evicted_cap;
    }

    /// Counts a judged connection: its teardown and its findings.
    fn judged(&mut self, verdict: &crate::conn::Verdict, found: &[Finding]) {
        if let Some(n) = self.teardown.get_mut(verdict.teardown as usize) {
            *n += 1;
        }
        for f in found {
            self.count(f);
        }
    }

    /// Counts a finding by kind and severity.
    fn count(&mut self, f: &Finding) {
        if let Some(n) = self.findings.get_mut(f.kind.index()) {
            *n += 1;
        }
        if let Some(n) = self.severities.get_mut(f.severity as usize) {
            *n += 1;
        }
        if let Some(n) = self
            .findings_by_severity
            .get_mut(f.kind.index())
            .and_then(|row| row.get_mut(f.severity as usize))
        {
            *n += 1;
        }
    }
}

/// The analysis state between packets.
pub struct Analyzer<'s> {
    cfg: AnalysisConfig,
    /// Connections live inline in the table's slab: a lookup reaches the
    /// state without another pointer to follow.
    table: FlowTable<Connection>,
    clock: Clock,
    precision: Precision,
    sink: &'s mut dyn Sink,
    scratch: Vec<Finding>,
    hosts: crate::findings::hosts::HostTracker,
    pub counters: Counters,
    /// `finscope show`: the connection whose segments are recorded.
    watch: Option<Watch>,
    /// `--write-streams`.
    export: Option<Exporter>,
    /// The sweep's list of expired connections (kept for its capacity).
    due: Vec<(Timestamp, u64, SlotId, EndReason)>,
    /// A worker of a `--threads` run: what would go to the host tracker
    /// and the sink goes here instead, for the merging thread.
    relay: Option<Relay>,
    /// Where in the packet's handling the analysis is (orders what a
    /// worker relays).
    phase: Phase,
}

/// Frame numbers and capture time, and when to sweep the table. The
/// single-threaded loop and the reading thread of a `--threads` run keep
/// it the same way.
#[derive(Debug, Clone, Copy)]
struct Clock {
    /// The current frame (1-based, as Wireshark numbers them).
    frame: u64,
    /// Capture time: the latest packet timestamp seen.
    now: Timestamp,
    /// Capture time of the last sweep for expired connections.
    last_sweep: Timestamp,
}

impl Default for Clock {
    fn default() -> Self {
        Clock {
            frame: 0,
            now: Timestamp(i64::MIN),
            last_sweep: Timestamp(i64::MIN),
        }
    }
}

impl Clock {
    /// One more frame, stamped `ts`: counts it, and says whether the table
    /// is due for a sweep before the frame is handled. Sweeping the lists'
    /// tails touches cold memory, so it happens every `EXPIRE_EVERY_NS` of
    /// capture time, not every packet; connections are judged at their
    /// exact expiry time either way.
    fn next_frame(&mut self, ts: Timestamp, c: &mut Counters) -> bool {
        self.frame += 1;
        c.packets += 1;
        c.first_ts.get_or_insert(ts);
        c.last_ts = Some(c.last_ts.map_or(ts, |t| t.max(ts)));
        if ts > self.now {
            self.now = ts;
            if self.now.since(self.last_sweep) >= EXPIRE_EVERY_NS {
                self.last_sweep = self.now;
                return true;
            }
        }
        false
    }
}

/// When, within one frame, a connection ends: in the sweep before the
/// packet, while handling the packet, or at the end of the capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    Sweep = 0,
    Packet = 1,
    CaptureEnd = 2,
}

/// What `finscope show` asks for: a connection by id, or the first one on
/// a 4-tuple.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchTarget {
    Id(u64),
    Tuple(FlowKey),
}

/// One segment of a watched connection, with both endpoints' states after
/// it.
#[derive(Debug, Clone, Copy)]
pub struct Step {
    pub frame: u64,
    pub ts: Timestamp,
    pub dir: crate::conn::Dir,
    pub flags: crate::decode::TcpFlags,
    pub seq: u32,
    pub ack: u32,
    pub len: u32,
    pub window: u16,
    /// Client, server.
    pub states: [TcpState; 2],
    /// Carried bytes the sender had sent before (the stream grew its
    /// retransmitted count).
    pub retransmitted: bool,
    /// An exact copy of the packet before it (two taps).
    pub duplicate: bool,
}

/// Steps kept for a watched connection; the rest are only counted.
pub const MAX_STEPS: usize = 200_000;

/// The watched connection's record of segments.
#[derive(Debug, Default)]
pub struct Watched {
    /// The connection's id, once its first packet was seen.
    pub id: Option<u64>,
    pub steps: Vec<Step>,
    /// Segments beyond [`MAX_STEPS`].
    pub not_kept: u64,
    /// Other connections on the same 4-tuple (later generations).
    pub same_tuple: Vec<u64>,
}

#[derive(Debug)]
struct Watch {
    target: WatchTarget,
    key: Option<FlowKey>,
    got: Watched,
}

impl<'s> Analyzer<'s> {
    /// Like [`Analyzer::new`], creating the `--write-streams` directory.
    pub fn with_export(cfg: AnalysisConfig, sink: &'s mut dyn Sink) -> io::Result<Self> {
        let export = match &cfg.write_streams {
            Some(x) => Some(Exporter {
                cfg: x.clone(),
                files: crate::report::streams::StreamFiles::new(&x.dir)?,
                streams: HashMap::default(),
                buffered: 0,
            }),
            None => None,
        };
        let mut a = Analyzer::new(cfg, sink);
        a.export = export;
        Ok(a)
    }

    pub fn new(cfg: AnalysisConfig, sink: &'s mut dyn Sink) -> Self {
        let hosts = crate::findings::hosts::HostTracker::new(&cfg.thresholds);
        Analyzer {
            cfg,
            table: FlowTable::new(),
            clock: Clock::default(),
            precision: Precision::Micro,
            sink,
            scratch: Vec::new(),
            hosts,
            counters: Counters::default(),
            watch: None,
            export: None,
            due: Vec::new(),
            relay: None,
            phase: Phase::Packet,
        }
    }

    /// Records every segment of one connection (for `finscope show`).
    pub fn watch(&mut self, target: WatchTarget) {
        self.watch = Some(Watch {
            target,
            key: match target {
                WatchTarget::Tuple(k) => Some(k),
                WatchTarget::Id(_) => None,
            },
            got: Watched::default(),
        });
    }

    /// What [`Analyzer::watch`] recorded.
    pub fn take_watched(&mut self) -> Watched {
        self.watch.take().map(|w| w.got).unwrap_or_default()
    }

    /// Timestamps in records use this precision (nanoseconds when any input
    /// has them).
    pub fn set_precision(&mut self, p: Precision) {
        self.precision = self.precision.max(p);
    }

    /// Processes one captured frame.
    pub fn packet(&mut self, pkt: RawPacket<'_>) -> io::Result<()> {
        let p = self.prepare(&pkt);
        self.process(&p)
    }

    /// The first half of [`Analyzer::packet`], which does not change the
    /// analysis: decodes the frame, finds its key and that key's hash, and
    /// asks the CPU to fetch the index cell the lookup will read. A run
    /// loop that prepares a few packets ahead of [`Analyzer::process`]
    /// (and calls [`Analyzer::prefetch`] in between) so finds the table's
    /// memory in cache instead of waiting for it twice per packet.
    pub fn prepare<'a>(&self, pkt: &RawPacket<'a>) -> Prepared<'a> {
        let p = Prepared::of(pkt);
        self.fetch_cell(&p);
        p
    }

    /// [`Analyzer::prepare`] without the payload bytes (the lookahead
    /// keeps packets past the read buffer's turn), into a slot of the
    /// lookahead ring.
    fn prepare_into(&self, pkt: &RawPacket<'_>, slot: &mut Prepared<'static>) {
        slot.refill(pkt, |_| &[]);
        self.fetch_cell(slot);
    }

    /// Asks for the index cell `p`'s lookup will read.
    #[inline]
    fn fetch_cell(&self, p: &Prepared<'_>) {
        if let Some(h) = p.hash() {
            self.table.prefetch_cell(h);
        }
    }

    /// The second step of the lookahead: fetches the connection a prepared
    /// packet will most likely update (a hint only; it changes nothing).
    pub fn prefetch(&self, p: &Prepared<'_>) {
        if let Some(h) = p.hash() {
            self.prefetch_hashed(h);
        }
    }

    /// [`Analyzer::prefetch`] for a key's hash.
    #[inline]
    fn prefetch_hashed(&self, h: crate::flow::KeyHash) {
        self.table.prefetch_slot(h, PREFETCH_BYTES);
    }

    /// The rest of [`Analyzer::packet`]: every effect of the packet, in
    /// the order packets are given.
    // Always inlined into the file loop: as a call of its own it cost
    // about 30 instructions a packet (callgrind).
    #[inline(always)]
    pub fn process(&mut self, p: &Prepared<'_>) -> io::Result<()> {
        if self.clock.next_frame(p.ts, &mut self.counters) {
            self.expire()?;
        }
        match &p.decoded {
            Ok(d) => self.track(
                Seen {
                    key: &d.key,
                    side: d.side,
                    hash: d.hash,
                    captured_all: d.captured_all,
                    fields: &d.seg.fields,
                    payload: Some(d.seg.payload),
                },
                p.ts,
            ),
            Err(skip) => {
                self.counters.skipped(*skip);
                Ok(())
            }
        }
    }

    /// A worker's share of a packet in a `--threads` run: the reading
    /// thread kept the clock ([`Analyzer::process`]'s first half) and says
    /// which frame this is and what the capture time is; this worker owns
    /// the packet's connection.
    fn shard_packet(&mut self, frame: u64, now: Timestamp, h: &Handed) -> io::Result<()> {
        self.clock.frame = frame;
        self.clock.now = self.clock.now.max(now);
        self.track(
            Seen {
                key: &h.key,
                side: h.side,
                hash: h.hash,
                captured_all: h.captured_all,
                fields: &h.fields,
                payload: None,
            },
            h.ts,
        )
    }

    /// A worker's sweep, at the frame and capture time the single-threaded
    /// loop sweeps at.
    fn shard_sweep(&mut self, frame: u64, now: Timestamp) -> io::Result<()> {
        self.clock.frame = frame;
        self.tick(now)
    }

    /// The packet's effect on its connection: find (or start) it, update
    /// it, move it between lists.
    fn track(&mut self, d: Seen<'_>, pkt_ts: Timestamp) -> io::Result<()> {
        let Seen {
            key,
            side,
            hash,
            captured_all,
            fields: seg,
            payload,
        } = d;
        self.counters.tcp_packets += 1;
        let at = Event::new(pkt_ts, self.clock.frame);
        // What the packet's connection, if any, makes of it: one look.
        enum Fate {
            Ours,
            Reused,
            Expired(EndReason),
        }
        let found = self.table.find_hashed(key, hash).and_then(|id| {
            let c = self.table.get(id)?;
            let fate = if c.is_reused_by(side, seg) {
                Fate::Reused
            } else {
                match self.expiry(c) {
                    // Its time ran out before this packet (the sweep runs
                    // only now and then): it ends, and the packet starts a
                    // new one.
                    (until, reason) if until <= self.clock.now => Fate::Expired(reason),
                    _ => Fate::Ours,
                }
            };
            Some((id, fate))
        });
        let id = match found {
            Some((id, Fate::Ours)) => id,
            Some((id, Fate::Reused)) => {
                let prior = self
                    .table
                    .get(id)
                    .and_then(|old| old.prior_for(side, seg, at, self.cfg.thresholds.time_wait));
                self.end(id, EndReason::Reused)?;
                self.start(*key, hash, side, seg, at, prior)?
            }
            Some((id, Fate::Expired(reason))) => {
                self.end(id, reason)?;
                self.start(*key, hash, side, seg, at, None)?
            }
            None => self.start(*key, hash, side, seg, at, None)?,
        };
        let Some(conn) = self.table.get_mut(id) else {
            return Ok(());
        };
        // Only `show` needs these before the segment changes them.
        let dir = conn.dir_of(side);
        let retrans_before = match self.watch {
            Some(_) => conn.endpoint(dir).stream.retransmitted_bytes,
            None => 0,
        };
        let fresh = conn.on_segment(side, seg, at, captured_all);
        if !fresh {
            self.counters.duplicates += 1;
        }
        if let Some(x) = self.export.as_mut() {
            // A duplicate (two taps) carries nothing new; skip it.
            debug_assert!(payload.is_some(), "streams exported from a worker");
            if let (true, Some(payload)) = (fresh, payload) {
                x.segment(conn.id(), dir, seg, payload)?;
            }
        }
        if let Some(w) = self.watch.as_mut() {
            let wanted = match (w.target, w.got.id) {
                (WatchTarget::Id(want), _) => conn.id() == want,
                (WatchTarget::Tuple(_), Some(first)) => conn.id() == first,
                (WatchTarget::Tuple(k), None) => k == *key,
            };
            if wanted {
                w.got.id = Some(conn.id());
                w.key = Some(*key);
                if w.got.steps.len() < MAX_STEPS {
                    w.got.steps.push(Step {
                        frame: self.clock.frame,
                        ts: pkt_ts,
                        dir,
                        flags: seg.flags,
                        seq: seg.seq,
                        ack: seg.ack,
                        len: seg.payload_len,
                        window: seg.window,
                        states: [conn.ep[0].state, conn.ep[1].state],
                        retransmitted: conn.endpoint(dir).stream.retransmitted_bytes
                            > retrans_before,
                        duplicate: !fresh,
                    });
                } else {
                    w.got.not_kept += 1;
                }
            } else if w.key == Some(*key)
                && w.got.id.is_some_and(|first| conn.id() > first)
                && !w.got.same_tuple.contains(&conn.id())
            {
                w.got.same_tuple.push(conn.id());
            }
        }
        let half_open_out = conn.half_open && (conn.established.is_some() || conn.is_finished());
        if half_open_out {
            conn.half_open = false;
        }
        let changes = conn.take_changes();
        let list = match (conn.is_finished(), conn.was_reset()) {
            (false, _) => List::Open,
            (true, false) => List::Closed,
            (true, true) => List::Reset,
        };
        // The addresses only when a host count changes (few packets).
        if half_open_out || !changes.is_empty() {
            let (client, server) = (conn.client, conn.server);
            if half_open_out {
                self.host(HostEvent::HalfOpenOut { server });
            }
            if !changes.is_empty() {
                self.host(HostEvent::Changes {
                    client,
                    server,
                    changes,
                    at: pkt_ts,
                });
            }
        }
        self.table.touch(id, list, pkt_ts.0);
        Ok(())
    }

    /// Tells the host tracker, or relays it when this is a worker.
    fn host(&mut self, ev: HostEvent) {
        match self.relay.as_mut() {
            Some(r) => r.push(self.clock.frame, Phase::Packet, What::Host(ev)),
            None => self.hosts.record(ev),
        }
    }

    fn start(
        &mut self,
        key: FlowKey,
        hash: crate::flow::KeyHash,
        side: crate::flow::KeySide,
        seg: &decode::SegmentFields,
        at: Event,
        prior: Option<crate::conn::Prior>,
    ) -> io::Result<SlotId> {
        if self.table.len() >= self.cfg.max_connections.max(1) {
            // Make room: the longest-quiet closed connection, else the
            // longest-quiet open one.
            let finished = [List::Closed, List::Reset]
                .into_iter()
                .filter_map(|l| self.table.oldest(l))
                .min_by_key(|&(_, stamp)| stamp);
            if let Some((victim, _)) = finished.or_else(|| self.table.oldest(List::Open)) {
                self.end(victim, EndReason::MaxConnections)?;
            }
        }
        // A pure SYN opens a half-open connection toward the server.
        let half_open = seg.flags.syn() && !seg.flags.ack();
        // A connection's id is the number of the frame that started it
        // (Wireshark's `frame.number` for one file): unique, in order of
        // first packet, and known to whichever thread tracks it.
        self.counters.connections += 1;
        let id = self.table.insert_with(key, hash, List::Open, at.ts.0, || {
            let mut conn = Connection::new(key, side, seg, at);
            conn.half_open = half_open;
            conn.prior = prior.map(Box::new);
            conn
        });
        let server = self.table.get(id).map(|c| c.server);
        if let Some(r) = self.relay.as_mut() {
            r.push(self.clock.frame, Phase::Packet, What::Start);
        }
        if let (true, Some(server)) = (half_open, server) {
            self.host(HostEvent::HalfOpenIn { server, at: at.ts });
        }
        self.counters.peak_connections =
            self.counters.peak_connections.max(self.table.len() as u64);
        Ok(id)
    }

    /// When a connection's time is up: a closed one after the TIME-WAIT
    /// window, an open one after the idle timeout, from its last packet.
    fn expiry(&self, c: &Connection) -> (Timestamp, EndReason) {
        let th = &self.cfg.thresholds;
        if c.is_finished() {
            // A reset connection keeps no TIME-WAIT (RFC 9293 §3.10.7.4):
            // it only waits for stragglers; later packets start a new one.
            let linger = if c.was_reset() {
                th.time_wait.min(RESET_LINGER_NS)
            } else {
                th.time_wait
            };
            (c.last_seen.add_nanos(linger), EndReason::Closed)
        } else {
            (
                c.last_seen.add_nanos(th.idle_timeout),
                EndReason::IdleTimeout,
            )
        }
    }

    /// Evicts connections whose time is up at `now`. Each list is in the
    /// order connections were linked to it and has one timeout; one used
    /// since is requeued (once per sweep), and the walk stops at the first
    /// connection that is neither expired nor used since it was linked, so
    /// it finds every connection whose time is up. A connection may so
    /// outlive its expiry by up to one sweep in memory, never in its
    /// verdict: it is judged at its expiry time, and a packet for it after
    /// that starts a new connection (see `process`).
    ///
    /// The expired ones are judged in order of expiry time, then id: an
    /// order that depends only on the connections, not on how the table
    /// happened to hold them, so `--threads` reproduces it exactly.
    fn expire(&mut self) -> io::Result<()> {
        let mut due = std::mem::take(&mut self.due);
        due.clear();
        for list in [List::Closed, List::Reset, List::Open] {
            while let Some((id, stamp)) = self.table.oldest(list) {
                self.table.prefetch_next_oldest(id, PREFETCH_BYTES);
                let Some(c) = self.table.get(id) else { break };
                let (at, reason) = self.expiry(c);
                if at <= self.clock.now {
                    due.push((at, c.id(), id, reason));
                    // Out of the index and lists; the value stays readable
                    // in its slot until the next insert (none comes before
                    // the loop below).
                    self.table.release(id);
                } else if c.last_seen.0 > stamp {
                    self.table.requeue(id, self.clock.now.0);
                } else {
                    break;
                }
            }
        }
        // Each list comes out nearly in expiry order already: the stable
        // sort finds those runs and merges them, where an unstable one
        // partitions them all over again. (Ids are unique, so both give
        // the same order.)
        due.sort_by_key(|&(at, id, _, _)| (at, id));
        self.phase = Phase::Sweep;
        let result = self.with_table(|a, table| {
            for (i, &(_, _, slot, reason)) in due.iter().enumerate() {
                // Expired connections have been cold for a timeout. The
                // loop above fetched each as it reached it, but a large
                // sweep (after a gap in the capture) outgrows the cache
                // before judging gets there: fetch a few ahead again (on
                // the bench capture this costs nothing measurable).
                if let Some(&(_, _, ahead, _)) = due.get(i + PREFETCH_AHEAD) {
                    table.prefetch_id(ahead, PREFETCH_BYTES);
                }
                a.judge(table, slot, reason)?;
            }
            Ok(())
        });
        self.phase = Phase::Packet;
        self.due = due;
        result
    }

    /// Runs `f` with the table lent out of `self`: a connection is judged
    /// where it lies in the table's slab (it is a kilobyte: moving it out
    /// costs more than judging it) while the rest of `self` is borrowed.
    fn with_table<R>(&mut self, f: impl FnOnce(&mut Self, &mut FlowTable<Connection>) -> R) -> R {
        let mut table = std::mem::replace(&mut self.table, FlowTable::placeholder());
        let result = f(self, &mut table);
        self.table = table;
        result
    }

    /// Takes a connection out of the table, judges it and hands it on.
    fn end(&mut self, id: SlotId, reason: EndReason) -> io::Result<()> {
        self.with_table(|a, table| match table.release(id) {
            Some(_) => a.judge(table, id, reason),
            None => Ok(()),
        })
    }

    /// Counts why a released connection ended and hands it on: to the
    /// sink, or (a worker) to the merging thread.
    fn judge(
        &mut self,
        table: &mut FlowTable<Connection>,
        slot: SlotId,
        reason: EndReason,
    ) -> io::Result<()> {
        // An expired connection is judged at the moment its time ran out,
        // whenever the sweep notices; the others at the current time.
        let judged_at = match (reason, table.released(slot)) {
            (_, None) => return Ok(()),
            (EndReason::Closed | EndReason::IdleTimeout, Some(c)) => self.expiry(c).0,
            _ => self.clock.now,
        };
        match reason {
            EndReason::Closed => self.counters.evicted_closed += 1,
            EndReason::IdleTimeout => self.counters.evicted_idle += 1,
            EndReason::Reused => self.counters.evicted_reused += 1,
            EndReason::MaxConnections => self.counters.evicted_cap += 1,
            EndReason::CaptureEnd => {}
        }
        if self.relay.is_some() {
            self.relay_end(table, slot, reason, judged_at);
            return Ok(());
        }
        match table.released(slot) {
            Some(conn) => self.emit(conn, reason, judged_at),
            None => Ok(()),
        }
    }

    /// A worker's end of a connection: the verdict and findings are worked
    /// out here, where the connection is in cache (its id, a frame number,
    /// is the run's already).
    fn relay_end(
        &mut self,
        table: &FlowTable<Connection>,
        slot: SlotId,
        reason: EndReason,
        judged_at: Timestamp,
    ) {
        let Some(conn) = table.released(slot) else {
            return;
        };
        let verdict = self.verdict_and_findings(conn, reason, judged_at);
        // Counted here, where the connection is in cache, and left in its
        // slot (the next connection there overwrites it): the merge gets
        // its output, or its record.
        self.counters.judged(&verdict, &self.scratch);
        let (frame, phase, precision) = (self.clock.frame, self.phase, self.precision);
        let Some(r) = self.relay.as_mut() else {
            return;
        };
        let left = HostEvent::left(conn);
        match r.render {
            // The sink takes rendered bytes: rendered here.
            Some(render) => {
                let found = &self.scratch;
                r.rendered(frame, phase, conn.id(), judged_at, left, |out| {
                    let record = ConnRecord::new(conn, &verdict, reason, precision, found);
                    render.render(&record, found, out);
                });
            }
            // A sink that takes records gets one without the connection:
            // 300 bytes for the merge to read where the connection is a
            // kilobyte. The findings are handed over, not copied (the
            // scratch allocates again only for the next connection with
            // findings).
            None => {
                let found = std::mem::take(&mut self.scratch);
                let record =
                    ConnRecord::new(conn, &verdict, reason, precision, &found).into_owned();
                r.record(frame, phase, judged_at, left, record, found);
            }
        }
    }

    /// Judges a connection: its verdict and findings, then [`Analyzer::deliver`].
    fn emit(
        &mut self,
        conn: &Connection,
        reason: EndReason,
        judged_at: Timestamp,
    ) -> io::Result<()> {
        let verdict = self.verdict_and_findings(conn, reason, judged_at);
        let found = std::mem::take(&mut self.scratch);
        let result = self.deliver(conn, reason, &verdict, &found);
        self.scratch = found;
        result
    }

    /// A connection's verdict, and its findings in `self.scratch`.
    fn verdict_and_findings(
        &mut self,
        conn: &Connection,
        reason: EndReason,
        judged_at: Timestamp,
    ) -> crate::conn::Verdict {
        let verdict = conn.verdict(reason);
        self.scratch.clear();
        findings::evaluate(
            conn,
            &verdict,
            judged_at,
            &self.cfg.thresholds,
            &mut self.scratch,
        );
        verdict
    }

    /// A judged connection leaves: the host counts it held, its streams,
    /// the counters, and its record to the sink.
    fn deliver(
        &mut self,
        conn: &Connection,
        reason: EndReason,
        verdict: &crate::conn::Verdict,
        found: &[Finding],
    ) -> io::Result<()> {
        self.hosts.record(HostEvent::left(conn));
        if let Some(x) = self.export.as_mut() {
            x.finish(conn)?;
        }
        self.counters.judged(verdict, found);
        let record = ConnRecord::new(conn, verdict, reason, self.precision, found);
        self.sink.connection(&record, found)
    }

    /// Moves capture time to `now` without a packet (live capture on a quiet
    /// link), so TIME-WAIT windows and idle timeouts still run out.
    pub fn tick(&mut self, now: Timestamp) -> io::Result<()> {
        if now > self.clock.now {
            self.clock.now = now;
            self.clock.last_sweep = now;
            self.expire()?;
        }
        Ok(())
    }

    /// What is in the table now, for the live view: endpoints by state,
    /// and the hosts holding the most TIME-WAITs and CLOSE-WAITs.
    pub fn snapshot(&mut self, hosts: usize) -> Snapshot {
        let mut states = [0u64; TcpState::ALL.len()];
        for c in self.table.values() {
            for ep in &c.ep {
                if let Some(n) = states.get_mut(ep.state as usize) {
                    *n += 1;
                }
            }
        }
        Snapshot {
            connections: self.table.len() as u64,
            states,
            hosts: self.hosts.current(self.clock.now, hosts),
        }
    }

    /// Ends the analysis: every connection still in the table is judged at
    /// the capture's end, in id order.
    pub fn finish(self, files: Vec<crate::report::FileSummary>) -> io::Result<Counters> {
        self.finish_with(files, None)
    }

    /// Judges every connection still in the table at the capture's end,
    /// in id order.
    fn end_all(&mut self) -> io::Result<()> {
        self.end_all_then(&mut |_| true)
    }

    /// [`Analyzer::end_all`], calling `then` after each connection (a
    /// worker hands its relays over now and then); `false` stops.
    fn end_all_then(&mut self, then: &mut dyn FnMut(&mut Self) -> bool) -> io::Result<()> {
        let mut rest: Vec<(u64, SlotId)> = self.table.ids().map(|(s, c)| (c.id(), s)).collect();
        rest.sort_unstable();
        self.phase = Phase::CaptureEnd;
        self.with_table(|a, table| {
            for (i, &(_, slot)) in rest.iter().enumerate() {
                if let Some(&(_, ahead)) = rest.get(i + PREFETCH_AHEAD) {
                    table.prefetch_id(ahead, PREFETCH_BYTES);
                }
                if table.release(slot).is_some() {
                    a.judge(table, slot, EndReason::CaptureEnd)?;
                    if !then(a) {
                        break;
                    }
                }
            }
            Ok(())
        })
    }

    /// [`Analyzer::finish`] with what a live capture adds to the summary.
    pub fn finish_with(
        mut self,
        files: Vec<crate::report::FileSummary>,
        live: Option<crate::report::LiveSummary>,
    ) -> io::Result<Counters> {
        self.end_all()?;
        self.hosts.settle(self.clock.now);
        let host_findings = self.hosts.findings(&self.cfg.thresholds, self.precision);
        for f in &host_findings {
            self.counters.count(f);
        }
        self.sink.host_findings(&host_findings, self.precision)?;
        let mut summary = Summary::new(&self.counters, &self.cfg, files, self.precision);
        summary.hosts = self.hosts.top(HOSTS_IN_SUMMARY, self.precision);
        summary.untracked_host_changes = self.hosts.untracked;
        summary.live = live;
        summary.streams = self.export.as_ref().map(|x| x.files.summary.clone());
        self.sink.finish(&summary)?;
        Ok(self.into_counters())
    }

    /// The counters; the rest goes, or with [`AnalysisConfig::exit_after`]
    /// is left for the process's exit to take back.
    fn into_counters(mut self) -> Counters {
        let counters = std::mem::take(&mut self.counters);
        // A worker's relay goes now either way: it holds the channel the
        // merge hands spent buffers back on, and while it is open the
        // merge keeps handing them back instead of freeing them.
        self.relay = None;
        if self.cfg.exit_after {
            std::mem::forget(self);
        }
        counters
    }
}

/// The table at one moment (see [`Analyzer::snapshot`]).
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Connections tracked (including closed ones in their TIME-WAIT window).
    pub connections: u64,
    /// Endpoints per state (`TcpState as usize`), both ends of every
    /// connection, as `ss` would count sockets on both hosts.
    pub states: [u64; TcpState::ALL.len()],
    pub hosts: Vec<crate::findings::hosts::CurrentPile>,
}

/// What a run ended with.
#[derive(Debug)]
pub struct RunResult {
    pub counters: Counters,
    /// Files that could not be read to the end (their partial results are in
    /// the report).
    pub errors: Vec<CaptureError>,
}

/// Reads `files` as one time-ordered stream and analyzes it into `sink`.
/// `progress` is called now and then with the bytes read so far.
pub fn run(
    files: &[String],
    cfg: AnalysisConfig,
    sink: &mut dyn Sink,
    progress: &mut dyn FnMut(u64),
) -> Result<RunResult, RunError> {
    let mut sources = Vec::with_capacity(files.len());
    for f in files {
        sources.push(crate::capture::FileSource::open(f).map_err(RunError::Open)?);
    }
    run_sources(sources, cfg, sink, progress)
}

/// [`run`] on sources already open (in-memory captures, for example).
pub fn run_sources(
    sources: Vec<crate::capture::FileSource>,
    cfg: AnalysisConfig,
    sink: &mut dyn Sink,
    progress: &mut dyn FnMut(u64),
) -> Result<RunResult, RunError> {
    // An explicit --max-connections asks for one table's exact eviction
    // order, which workers with a share of the cap each cannot give.
    let default_cap = cfg.max_connections == AnalysisConfig::default().max_connections;
    if cfg.threads > 1 && default_cap && cfg.filter.is_none() && cfg.write_streams.is_none() {
        let threads = cfg.threads;
        return parallel::run_threaded(sources, cfg, sink, progress, threads);
    }
    run_sources_watching(sources, cfg, sink, progress, None).map(|(r, _)| r)
}

/// [`run`], recording every segment of one connection (`finscope show`).
pub fn run_watching(
    files: &[String],
    cfg: AnalysisConfig,
    sink: &mut dyn Sink,
    target: WatchTarget,
) -> Result<(RunResult, Watched), RunError> {
    let mut sources = Vec::with_capacity(files.len());
    for f in files {
        sources.push(crate::capture::FileSource::open(f).map_err(RunError::Open)?);
    }
    run_sources_watching(sources, cfg, sink, &mut |_| {}, Some(target))
}

fn run_sources_watching(
    sources: Vec<crate::capture::FileSource>,
    cfg: AnalysisConfig,
    sink: &mut dyn Sink,
    progress: &mut dyn FnMut(u64),
    watch: Option<WatchTarget>,
) -> Result<(RunResult, Watched), RunError> {
    #[cfg(feature = "live")]
    let mut filter = match &cfg.filter {
        Some(expr) => {
            Some(crate::capture::filter::PacketFilter::new(expr).map_err(RunError::Filter)?)
        }
        None => None,
    };
    #[cfg(not(feature = "live"))]
    if let Some(expr) = &cfg.filter {
        return Err(RunError::Filter(format!(
            "-f {expr:?}: filters need libpcap's compiler; build finscope with `--features live`"
        )));
    }
    let mut merge = Merge::new(sources);
    let count = cfg.count;
    let mut analyzer = Analyzer::with_export(cfg, sink).map_err(RunError::Output)?;
    if let Some(t) = watch {
        analyzer.watch(t);
    }
    let mut errors = Vec::new();
    let mut seen: u64 = 0;
    // Packets decoded ahead of the one being processed (see
    // `Analyzer::prepare`); `--write-streams` needs each packet's payload
    // while it is processed, so it goes one packet at a time.
    let lookahead = analyzer.export.is_none();
    // A ring, written in place: a `VecDeque` took each 152-byte packet
    // through a temporary and a copy.
    let mut ahead: [Prepared<'static>; RING] = std::array::from_fn(|_| Prepared::empty());
    // The oldest packet's place in the ring, and how many are waiting.
    let (mut first, mut waiting) = (0usize, 0usize);
    loop {
        match merge.advance() {
            Ok(Some(i)) => {
                if seen == 0 {
                    for s in merge.sources() {
                        analyzer.set_precision(s.stats().precision);
                    }
                }
                if let Some(pkt) = merge.packet(i) {
                    #[cfg(feature = "live")]
                    if let Some(f) = filter.as_mut() {
                        if !f.matches(pkt.linktype, pkt.data) {
                            analyzer.counters.filtered_out += 1;
                            seen += 1;
                            continue;
                        }
                    }
                    if lookahead {
                        if let Some(slot) = ahead.get_mut((first + waiting) % RING) {
                            analyzer.prepare_into(&pkt, slot);
                        }
                        waiting += 1;
                        if let Some(q) = waiting.checked_sub(PREFETCH_AHEAD + 1) {
                            if let Some(p) = ahead.get((first + q) % RING) {
                                analyzer.prefetch(p);
                            }
                        }
                        if waiting >= LOOKAHEAD {
                            if let Some(p) = ahead.get(first) {
                                analyzer.process(p).map_err(RunError::Output)?;
                            }
                            first = (first + 1) % RING;
                            waiting -= 1;
                        }
                    } else {
                        analyzer.packet(pkt).map_err(RunError::Output)?;
                    }
                }
                seen += 1;
                if seen & 0xffff == 0 {
                    progress(merge.sources().iter().map(|s| s.offset()).sum());
                }
                if count.is_some_and(|c| seen >= c) {
                    break;
                }
            }
            Ok(None) => break,
            Err((_, e)) => errors.push(e),
        }
    }
    for i in 0..waiting {
        if let Some(p) = ahead.get((first + i) % RING) {
            analyzer.process(p).map_err(RunError::Output)?;
        }
    }
    let files = merge
        .sources()
        .iter()
        .map(|s| crate::report::FileSummary::new(s, errors.iter().find(|e| e.file == s.name())))
        .collect();
    let watched = analyzer.take_watched();
    let counters = analyzer.finish(files).map_err(RunError::Output)?;
    Ok((RunResult { counters, errors }, watched))
}

/// When a live capture stops on its own.
#[cfg(feature = "live")]
#[derive(Debug, Clone, Copy, Default)]
pub struct LiveLimits {
    /// `--duration`, wall-clock.
    pub duration: Option<std::time::Duration>,
    /// `-c`: packets read.
    pub count: Option<u64>,
}

/// Reads a live capture until `stop` is set (Ctrl-C, SIGTERM), the
/// duration passes or the count is reached, then judges what is left and
/// writes the summary. Between packets, and at least every 200 ms on a
/// quiet link, capture time moves on with the clock so timers run;
/// `on_tick` is called about once a second with the analyzer and
/// libpcap's counts (the live view).
#[cfg(feature = "live")]
pub fn run_live(
    source: &mut crate::capture::live::LiveSource,
    cfg: AnalysisConfig,
    sink: &mut dyn Sink,
    stop: &std::sync::atomic::AtomicBool,
    limits: LiveLimits,
    on_tick: &mut dyn FnMut(&mut Analyzer<'_>, crate::capture::live::LiveStats) -> io::Result<()>,
) -> Result<Counters, RunError> {
    use std::sync::atomic::Ordering;
    use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

    let mut analyzer = Analyzer::new(cfg, sink);
    let started = Instant::now();
    let mut last_tick = started;
    let mut seen: u64 = 0;
    let wall = || {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| Timestamp(d.as_nanos().min(i64::MAX as u128) as i64))
            .unwrap_or(Timestamp(0))
    };
    let mut failure = None;
    while !stop.load(Ordering::Relaxed) {
        if limits.duration.is_some_and(|d| started.elapsed() >= d)
            || limits.count.is_some_and(|c| seen >= c)
        {
            break;
        }
        match source.next_packet() {
            Ok(Some(pkt)) => {
                seen += 1;
                analyzer.packet(pkt).map_err(RunError::Output)?;
            }
            // A quiet link: time passes all the same.
            Ok(None) => analyzer.tick(wall()).map_err(RunError::Output)?,
            Err(e) => {
                failure = Some(e.to_string());
                break;
            }
        }
        if last_tick.elapsed() >= Duration::from_secs(1) {
            last_tick = Instant::now();
            analyzer.tick(wall()).map_err(RunError::Output)?;
            let stats = source.stats();
            on_tick(&mut analyzer, stats).map_err(RunError::Output)?;
        }
    }
    let stats = source.stats();
    let closed = source.close_savefile();
    let live = crate::report::LiveSummary {
        interface: source.interface().to_string(),
        filter: source.filter().map(str::to_string),
        received: stats.received,
        dropped: stats.dropped,
        if_dropped: stats.if_dropped,
    };
    let counters = analyzer
        .finish_with(Vec::new(), Some(live))
        .map_err(RunError::Output)?;
    if let Some(e) = failure {
        return Err(RunError::Live(e));
    }
    closed.map_err(|e| RunError::Live(e.to_string()))?;
    Ok(counters)
}

/// Why a run could not complete.
#[derive(Debug)]
pub enum RunError {
    /// A file could not be opened or is not a capture.
    Open(CaptureError),
    /// Writing the report failed (a broken pipe is the caller's to forgive).
    Output(io::Error),
    /// The `-f` expression is not usable.
    Filter(String),
    /// A live capture failed after it started.
    Live(String),
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::Open(e) => write!(f, "{e}"),
            RunError::Output(e) => write!(f, "cannot write the report: {e}"),
            RunError::Filter(e) | RunError::Live(e) => write!(f, "{e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Calls `f` with every frame of every capture in testdata, and the
    /// capture's path.
    fn each_testdata_frame(mut f: impl FnMut(&std::path::Path, &RawPacket<'_>)) {
        for path in crate::testdata::captures() {
            let mut src = crate::capture::FileSource::open(&path.to_string_lossy()).unwrap();
            while let (Ok(()), Some(pkt)) = (src.advance(), src.current()) {
                f(&path, &pkt);
            }
        }
    }

    /// A packet handed to a worker comes back as the reading thread
    /// decoded it, for every TCP frame in testdata.
    #[test]
    fn handed_packets_come_back_whole() {
        let mut checked = 0;
        each_testdata_frame(|path, pkt| {
            let p = Prepared::detached(pkt);
            let Ok(d) = &p.decoded else { return };
            let back = Handed::of(p.ts, d).prepared();
            let Ok(b) = &back.decoded else {
                panic!("{path:?}: a TCP segment came back as a skip")
            };
            assert_eq!(back.ts, p.ts);
            assert_eq!(format!("{:?}", b.seg), format!("{:?}", d.seg), "{path:?}");
            assert_eq!((b.key, b.side, b.hash), (d.key, d.side, d.hash));
            assert_eq!(b.captured_all, d.captured_all);
            checked += 1;
        });
        assert!(checked > 1000, "{checked} segments");
    }

    /// What a prepared packet holds, for comparing two.
    fn describe(p: &Prepared<'_>) -> String {
        match &p.decoded {
            Ok(d) => format!(
                "{:?} {:?} {:?} {:?} {:?} {}",
                p.ts, d.seg, d.key, d.side, d.hash, d.captured_all
            ),
            Err(skip) => format!("{:?} {skip:?}", p.ts),
        }
    }

    /// A ring slot refilled in place holds what a packet decoded afresh
    /// gives, whatever the slot held before: every testdata frame in turn,
    /// with a frame that is not IP after every third (TCP over a skip, a
    /// skip over TCP).
    #[test]
    fn refilled_slots_hold_what_a_fresh_decode_gives() {
        let mut slot = Prepared::empty();
        let (mut frames, mut tcp, mut skips) = (0, 0, 0);
        each_testdata_frame(|path, pkt| {
            // The reference: decoded, then detached, as a new value.
            let fresh = match decode::decode(pkt.linktype, pkt.data) {
                Ok(seg) => {
                    let (key, side) = FlowKey::of_segment(&seg);
                    let hash = crate::flow::hash_key(&key);
                    Prepared {
                        ts: pkt.ts,
                        decoded: Ok(Decoded {
                            captured_all: seg.payload.len() as u64
                                >= u64::from(seg.fields.payload_len),
                            seg: seg.detach(),
                            key,
                            side,
                            hash,
                        }),
                    }
                }
                Err(skip) => Prepared {
                    ts: pkt.ts,
                    decoded: Err(skip),
                },
            };
            slot.refill(pkt, |_| &[]);
            assert_eq!(describe(&slot), describe(&fresh), "{path:?}");
            match fresh.decoded {
                Ok(_) => tcp += 1,
                Err(_) => skips += 1,
            }
            frames += 1;
            if frames % 3 == 0 {
                // Ethertype 0: not IP.
                let not_ip = RawPacket {
                    ts: pkt.ts,
                    linktype: crate::decode::Linktype::ETHERNET,
                    data: &[0u8; 60],
                    orig_len: 60,
                };
                slot.refill(&not_ip, |_| &[]);
                assert_eq!(slot.decoded.as_ref().err(), Some(&Skip::NotIp));
            }
        });
        assert!(tcp > 1000 && skips > 0, "{tcp} segments, {skips} skips");
    }
}
