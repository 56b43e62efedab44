//! Host-level counts in capture time: how many connections a host held in
//! TIME-WAIT toward one server ip:port at once (ephemeral ports run out
//! there: RFC 6191 §1), and how many in CLOSE-WAIT (an application that does
//! not close its sockets). Their peaks become host findings at the end.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;

use crate::findings::evidence;
use serde::Serialize;

use super::piles::{pile_hash, PileMap};
use super::{secs, Finding, FindingKind, Severity, Thresholds};
use crate::capture::{Precision, Timestamp};
use crate::conn::{Changes, Connection, Dir, TcpState};
use crate::flow::SocketAddr;

/// Distinct (host, server) pairs and hosts followed; beyond, new ones are
/// counted as untracked so memory stays bounded.
const MAX_KEYS: usize = 100_000;

/// What the pipeline tells the host tracker as connections run and end.
#[derive(Debug, Clone, Copy)]
pub enum HostEvent {
    /// A connection toward `server` began with a pure SYN.
    HalfOpenIn { server: SocketAddr, at: Timestamp },
    /// A half-open connection toward `server` completed its handshake or
    /// finished.
    HalfOpenOut { server: SocketAddr },
    /// Endpoint state changes ([`Changes`]) of the connection between
    /// `client` and `server`.
    Changes {
        client: SocketAddr,
        server: SocketAddr,
        changes: Changes,
        at: Timestamp,
    },
    /// A connection left the table ([`HostEvent::left`]).
    Left {
        /// The hosts of its sides still in CLOSE-WAIT (client, server):
        /// they stop counting (its record says they never closed).
        close_wait: [Option<IpAddr>; 2],
        /// The server, when the connection was still half-open.
        half_open: Option<SocketAddr>,
    },
}

impl HostEvent {
    /// What a connection leaving the table changes in the host counts.
    pub fn left(c: &Connection) -> Self {
        let close_wait =
            |dir| (c.endpoint(dir).state == TcpState::CloseWait).then(|| c.addr(dir).ip);
        HostEvent::Left {
            close_wait: [close_wait(Dir::Client), close_wait(Dir::Server)],
            half_open: c.half_open.then_some(c.server),
        }
    }
}

/// When a pile's running TIME-WAITs end, oldest first. They all last the
/// same 2MSL, so they end in the order they began. Most piles hold one at
/// a time (a client's TIME-WAIT toward a server), which takes no
/// allocation: `more` is used only from two on, and then holds them all.
#[derive(Debug, Default)]
struct Ends {
    one: Option<Timestamp>,
    // Boxed: eight bytes in every pile instead of a VecDeque's 32, for
    // the few piles that ever need it (the map is larger than the cache).
    #[allow(clippy::box_collection)]
    more: Option<Box<VecDeque<Timestamp>>>,
}

impl Ends {
    /// Forgets the TIME-WAITs that have ended by `now`.
    fn expire(&mut self, now: Timestamp) {
        let Some(more) = self.more.as_deref_mut() else {
            self.one = self.one.filter(|&end| end > now);
            return;
        };
        while more.front().is_some_and(|&end| end <= now) {
            more.pop_front();
        }
        if more.len() < 2 {
            self.one = more.pop_front();
            self.more = None;
        }
    }

    fn push(&mut self, end: Timestamp) {
        if let Some(more) = self.more.as_deref_mut() {
            more.push_back(end);
            return;
        }
        match self.one.take() {
            None => self.one = Some(end),
            Some(first) => self.more = Some(Box::new(VecDeque::from([first, end]))),
        }
    }

    fn running(&self) -> usize {
        match &self.more {
            None => usize::from(self.one.is_some()),
            Some(more) => more.len(),
        }
    }
}

#[derive(Debug, Default)]
struct TimeWaitPile {
    /// The TIME-WAITs running (as of the pile's last update).
    ends: Ends,
    peak: usize,
    peak_at: Timestamp,
    total: u64,
}

#[derive(Debug, Default)]
struct CloseWaitPile {
    now: u64,
    peak: u64,
    peak_at: Timestamp,
    total: u64,
}

/// One row of the summary's `hosts` list.
#[derive(Debug, Clone, Serialize)]
pub struct HostRow {
    pub host: IpAddr,
    /// Most TIME-WAITs held at once toward one server, and which.
    pub time_wait_peak: u64,
    pub time_wait_toward: Option<String>,
    pub time_wait_peak_at: Option<String>,
    pub close_wait_peak: u64,
    pub close_wait_peak_at: Option<String>,
}

/// A host's TIME-WAITs toward one server, or its CLOSE-WAITs, right now.
#[derive(Debug, Clone, Copy)]
pub struct CurrentPile {
    pub host: IpAddr,
    /// The server, for TIME-WAIT piles.
    pub toward: Option<SocketAddr>,
    pub time_wait: u64,
    pub close_wait: u64,
}

/// A pile's peak, kept after the pile is retired.
#[derive(Debug, Clone, Copy)]
struct Peak {
    host: IpAddr,
    toward: Option<SocketAddr>,
    peak: u64,
    at: Timestamp,
}

/// How many TIME-WAITs late [`HostTracker::record`] counts each.
const TIME_WAITS_AHEAD: usize = 8;

/// A host's TIME-WAIT toward `toward` began at `at`; `hash` is its pile's.
#[derive(Debug, Clone, Copy)]
struct TimeWaitBegan {
    host: IpAddr,
    toward: SocketAddr,
    hash: u32,
    at: Timestamp,
}

/// Retired peaks kept for the summary's host list.
const KEEP_PEAKS: usize = 20;

/// Follows TIME-WAIT and CLOSE-WAIT per host as connections change state.
///
/// Memory follows what is running, not the capture's length: a pile whose
/// last TIME-WAIT has ended (or whose CLOSE-WAITs are all closed) below its
/// threshold is retired, and only the highest retired peaks are kept.
#[derive(Debug, Default)]
pub struct HostTracker {
    time_wait: PileMap<(IpAddr, SocketAddr), TimeWaitPile>,
    /// TIME-WAITs that began, not yet counted: counting each a few
    /// later lets its pile's memory be fetched meanwhile (see
    /// [`HostTracker::record`]).
    pending: VecDeque<TimeWaitBegan>,
    /// When the TIME-WAIT piles are next swept for ones that ended (each
    /// pile counts its own TIME-WAITs down as it is updated; the sweep
    /// retires those left empty, so none is looked up again to end one).
    next_sweep: Timestamp,
    /// Piles a sweep retires (kept to save an allocation per sweep).
    gone: Vec<Peak>,
    close_wait: HashMap<IpAddr, CloseWaitPile, ahash::RandomState>,
    /// Half-open connections per server, now and at the peak.
    half_open: HashMap<SocketAddr, CloseWaitPile, ahash::RandomState>,
    retired: Vec<Peak>,
    /// Where in `retired` the lowest-ranked peak is, once it is full.
    worst_kept: usize,
    /// 2MSL: how long each TIME-WAIT counts (`--time-wait`), in ns.
    window: i64,
    tw_threshold: u64,
    cw_threshold: u64,
    syn_threshold: u64,
    /// State changes not counted because the maps were full.
    pub untracked: u64,
}

impl HostTracker {
    pub fn new(th: &Thresholds) -> Self {
        HostTracker {
            window: th.time_wait,
            tw_threshold: th.tw_accumulation,
            cw_threshold: th.cw_accumulation,
            syn_threshold: th.syn_flood,
            ..Default::default()
        }
    }

    /// Keeps a retired pile's peak if it is among the highest: by peak,
    /// then the earliest, then the lowest addresses, so which are kept
    /// does not depend on the order piles retire in.
    fn keep_peak(&mut self, p: Peak) {
        if p.peak == 0 {
            return;
        }
        let rank = |r: &Peak| (std::cmp::Reverse(r.peak), r.at, r.host, r.toward);
        if self.retired.len() < KEEP_PEAKS {
            self.retired.push(p);
        } else {
            let Some(worst) = self.retired.get_mut(self.worst_kept) else {
                return;
            };
            // Most retired piles peaked at one or two, later than the kept
            // ones: one comparison with the worst kept says so.
            if rank(&p) >= rank(worst) {
                return;
            }
            *worst = p;
        }
        if self.retired.len() == KEEP_PEAKS {
            self.worst_kept = (0..self.retired.len())
                .max_by_key(|&i| self.retired.get(i).map(rank))
                .unwrap_or(0);
        }
    }

    /// Retires the TIME-WAIT piles empty at `now` whose peak stayed below
    /// the threshold, at most every quarter of 2MSL (so a
    /// finished pile stays in memory up to a quarter longer than it runs;
    /// each sweep reads every pile).
    fn sweep(&mut self, now: Timestamp) {
        if now < self.next_sweep {
            return;
        }
        self.next_sweep = now.add_nanos((self.window / 4).max(1));
        let threshold = self.tw_threshold;
        let mut gone = std::mem::take(&mut self.gone);
        self.time_wait.retain(|&(host, toward), p| {
            p.ends.expire(now);
            let keep = p.ends.running() > 0 || p.peak as u64 >= threshold;
            if !keep {
                gone.push(Peak {
                    host,
                    toward: Some(toward),
                    peak: p.peak as u64,
                    at: p.peak_at,
                });
            }
            keep
        });
        for p in gone.drain(..) {
            self.keep_peak(p);
        }
        self.gone = gone;
    }

    /// Brings the piles up to `now`, for the reports at the end: what has
    /// ended is retired.
    pub fn settle(&mut self, now: Timestamp) {
        self.flush();
        self.next_sweep = Timestamp(i64::MIN);
        self.sweep(now);
    }

    /// Takes one event.
    ///
    /// The half-open and CLOSE-WAIT counts are kept per server and per
    /// host, few enough to stay in cache: they change at once. A TIME-WAIT
    /// that begins is counted eight TIME-WAITs late instead: its pile is
    /// one of a pile per (client, server), far larger than the cache, and
    /// is then in cache when counted (its index cell is fetched when the
    /// event comes, its entry halfway). The three counts are independent
    /// of each other, and each is still changed in the order taken, so the
    /// delay changes nothing; whatever reads the TIME-WAIT piles applies
    /// the rest first.
    pub fn record(&mut self, ev: HostEvent) {
        match ev {
            HostEvent::HalfOpenIn { server, at } => self.half_open_in(server, at),
            HostEvent::HalfOpenOut { server } => self.half_open_out(server),
            HostEvent::Changes {
                client,
                server,
                changes,
                at,
            } => {
                for (dir, host) in [(Dir::Client, client.ip), (Dir::Server, server.ip)] {
                    if changes.has(Changes::TIME_WAIT, dir) {
                        // Toward the server: for a client holder that is
                        // where its ephemeral ports run out; a server
                        // holder is listed under its own address.
                        self.time_wait_ahead(host, server, at);
                    }
                    if changes.has(Changes::CLOSE_WAIT_IN, dir) {
                        self.close_wait_in(host, at);
                    }
                    if changes.has(Changes::CLOSE_WAIT_OUT, dir) {
                        self.close_wait_out(host);
                    }
                }
            }
            HostEvent::Left {
                close_wait,
                half_open,
            } => {
                for host in close_wait.into_iter().flatten() {
                    self.close_wait_out(host);
                }
                if let Some(server) = half_open {
                    self.half_open_out(server);
                }
            }
        }
    }

    /// Queues a TIME-WAIT that began (see [`HostTracker::record`]).
    fn time_wait_ahead(&mut self, host: IpAddr, toward: SocketAddr, at: Timestamp) {
        let hash = pile_hash(&(host, toward));
        self.time_wait.prefetch_cell(hash);
        self.pending.push_back(TimeWaitBegan {
            host,
            toward,
            hash,
            at,
        });
        if let Some(halfway) = self
            .pending
            .get(self.pending.len().saturating_sub(TIME_WAITS_AHEAD / 2 + 1))
        {
            self.time_wait.prefetch_entry(halfway.hash);
        }
        if self.pending.len() > TIME_WAITS_AHEAD {
            if let Some(tw) = self.pending.pop_front() {
                self.time_wait_began(tw);
            }
        }
    }

    /// Counts every TIME-WAIT queued.
    fn flush(&mut self) {
        while let Some(tw) = self.pending.pop_front() {
            self.time_wait_began(tw);
        }
    }

    fn time_wait_began(&mut self, tw: TimeWaitBegan) {
        let TimeWaitBegan {
            host,
            toward,
            hash,
            at,
        } = tw;
        let key = (host, toward);
        self.sweep(at);
        if self.time_wait.len() >= MAX_KEYS && self.time_wait.find(hash, &key).is_none() {
            self.untracked += 1;
            return;
        }
        let Some(pile) = self.time_wait.entry(hash, key) else {
            return;
        };
        pile.ends.expire(at);
        pile.ends.push(at.add_nanos(self.window));
        pile.total += 1;
        let running = pile.ends.running();
        if running > pile.peak {
            pile.peak = running;
            pile.peak_at = at;
        }
    }

    /// A connection toward `server` began with a SYN (RFC 9293 §3.5: it is
    /// half-open until the handshake completes).
    fn half_open_in(&mut self, server: SocketAddr, at: Timestamp) {
        if self.half_open.len() >= MAX_KEYS && !self.half_open.contains_key(&server) {
            self.untracked += 1;
            return;
        }
        let pile = self.half_open.entry(server).or_default();
        pile.now += 1;
        pile.total += 1;
        if pile.now > pile.peak {
            pile.peak = pile.now;
            pile.peak_at = at;
        }
    }

    /// A half-open connection completed its handshake or left the table.
    /// Servers whose count falls to zero below the threshold are forgotten.
    fn half_open_out(&mut self, server: SocketAddr) {
        let Some(pile) = self.half_open.get_mut(&server) else {
            return;
        };
        pile.now = pile.now.saturating_sub(1);
        if pile.now == 0 && pile.peak < self.syn_threshold {
            self.half_open.remove(&server);
        }
    }

    fn close_wait_in(&mut self, host: IpAddr, at: Timestamp) {
        if self.close_wait.len() >= MAX_KEYS && !self.close_wait.contains_key(&host) {
            self.untracked += 1;
            return;
        }
        let pile = self.close_wait.entry(host).or_default();
        pile.now += 1;
        pile.total += 1;
        if pile.now > pile.peak {
            pile.peak = pile.now;
            pile.peak_at = at;
        }
    }

    fn close_wait_out(&mut self, host: IpAddr) {
        let Some(pile) = self.close_wait.get_mut(&host) else {
            return;
        };
        pile.now = pile.now.saturating_sub(1);
        if pile.now == 0 && pile.peak < self.cw_threshold {
            let (peak, at) = (pile.peak, pile.peak_at);
            self.close_wait.remove(&host);
            self.keep_peak(Peak {
                host,
                toward: None,
                peak,
                at,
            });
        }
    }

    /// The host findings: peaks at or over the thresholds.
    pub fn findings(&self, th: &Thresholds, precision: Precision) -> Vec<Finding> {
        let mut out = Vec::new();
        let mut tw: Vec<_> = self
            .time_wait
            .iter()
            .filter(|(_, p)| p.peak as u64 >= th.tw_accumulation)
            .collect();
        tw.sort_by(|a, b| b.1.peak.cmp(&a.1.peak).then(a.0.cmp(b.0)));
        for ((host, toward), p) in tw {
            out.push(Finding {
                kind: FindingKind::TimeWaitAccumulation,
                severity: Severity::Warning,
                connection: None,
                host: Some(*host),
                ts: p.peak_at,
                message: format!(
                    "{host} held {} connections in TIME-WAIT toward {toward} at once (--time-wait {}); each pins a local port until 2MSL passes, so new connections to that server can run out of ephemeral ports",
                    p.peak,
                    secs(th.time_wait)
                ),
                evidence: evidence!({"peak": p.peak, "peak_at": p.peak_at.rfc3339(precision).to_string(),
                                 "toward": toward.to_string(), "connections": p.total,
                                 "threshold": th.tw_accumulation, "time_wait_s": th.time_wait as f64 / 1e9}),
            });
        }
        let mut cw: Vec<_> = self
            .close_wait
            .iter()
            .filter(|(_, p)| p.peak >= th.cw_accumulation)
            .collect();
        cw.sort_by(|a, b| b.1.peak.cmp(&a.1.peak).then(a.0.cmp(b.0)));
        for (host, p) in cw {
            out.push(Finding {
                kind: FindingKind::CloseWaitAccumulation,
                severity: Severity::Warning,
                connection: None,
                host: Some(*host),
                ts: p.peak_at,
                message: format!(
                    "{host} held {} connections in CLOSE-WAIT at once: its peers closed and the application did not close its sockets",
                    p.peak
                ),
                evidence: evidence!({"peak": p.peak, "peak_at": p.peak_at.rfc3339(precision).to_string(),
                                 "connections": p.total, "threshold": th.cw_accumulation}),
            });
        }
        let mut syn: Vec<_> = self
            .half_open
            .iter()
            .filter(|(_, p)| p.peak >= th.syn_flood)
            .collect();
        syn.sort_by(|a, b| b.1.peak.cmp(&a.1.peak).then(a.0.cmp(b.0)));
        for (server, p) in syn {
            out.push(Finding {
                kind: FindingKind::SynFlood,
                // Ten times the threshold is no longer a slow accept queue.
                severity: if p.peak >= th.syn_flood.saturating_mul(10) {
                    Severity::Error
                } else {
                    Severity::Warning
                },
                connection: None,
                host: Some(server.ip),
                ts: p.peak_at,
                message: format!(
                    "{server} had {} half-open connections at once ({} in all began with a SYN and never completed the handshake while counted): a SYN flood, or a server too slow to accept",
                    p.peak, p.total
                ),
                evidence: evidence!({"peak": p.peak, "peak_at": p.peak_at.rfc3339(precision).to_string(),
                                 "toward": server.to_string(), "connections": p.total,
                                 "threshold": th.syn_flood}),
            });
        }
        out
    }

    /// The hosts holding the most TIME-WAITs (toward one server) or
    /// CLOSE-WAITs right now, for the live view.
    pub fn current(&mut self, now: Timestamp, n: usize) -> Vec<CurrentPile> {
        self.flush();
        let mut out: Vec<CurrentPile> = self
            .time_wait
            .iter_mut()
            .filter_map(
                |(&(host, toward), p): (&(IpAddr, SocketAddr), &mut TimeWaitPile)| {
                    p.ends.expire(now);
                    let running = p.ends.running() as u64;
                    (running > 0).then_some(CurrentPile {
                        host,
                        toward: Some(toward),
                        time_wait: running,
                        close_wait: 0,
                    })
                },
            )
            .chain(
                self.close_wait
                    .iter()
                    .filter(|(_, p)| p.now > 0)
                    .map(|(host, p)| CurrentPile {
                        host: *host,
                        toward: None,
                        time_wait: 0,
                        close_wait: p.now,
                    }),
            )
            .collect();
        out.sort_by(|a, b| {
            (b.time_wait + b.close_wait)
                .cmp(&(a.time_wait + a.close_wait))
                .then(a.host.cmp(&b.host))
        });
        out.truncate(n);
        out
    }

    /// Every pile's peak, TIME-WAIT ones (with their server) and
    /// CLOSE-WAIT ones, live and retired: (host, toward, peak, when).
    fn peaks(&self) -> impl Iterator<Item = (IpAddr, Option<SocketAddr>, u64, Timestamp)> + '_ {
        let tw = self
            .time_wait
            .iter()
            .map(|((host, toward), p)| (*host, Some(*toward), p.peak as u64, p.peak_at));
        let cw = self
            .close_wait
            .iter()
            .map(|(host, p)| (*host, None, p.peak, p.peak_at));
        let retired = self
            .retired
            .iter()
            .map(|r| (r.host, r.toward, r.peak, r.at));
        tw.chain(cw).chain(retired)
    }

    /// The hosts with the highest peaks, for reports: the `n` whose
    /// highest peak (TIME-WAIT toward one server, or CLOSE-WAIT) is
    /// highest, then by address. Meant for a small `n` (the summary lists
    /// 20): each pile is compared with up to `n` chosen hosts.
    ///
    /// Two passes over the piles, neither building a map of every host (a
    /// capture can hold a million clients; one map of them all took 18 ms
    /// of the 5.9M-packet benchmark's last, single-threaded, phase). The
    /// first keeps the `n` ranked highest so far, by the highest peak seen
    /// of each: a host dropped from them ranked lowest of `n` hosts that
    /// all rank higher for good, so a host that belongs in the top `n` is
    /// never dropped once its highest pile has been seen, and one seen
    /// again after being dropped is, by then, ranked by that pile. The
    /// second gathers those hosts' peaks.
    pub fn top(&self, n: usize, precision: Precision) -> Vec<HostRow> {
        // Rank: the higher peak, then the lower address (a total order,
        // each host once).
        let rank = |peak: u64, host: IpAddr| (peak, std::cmp::Reverse(host));
        let mut chosen: Vec<(u64, IpAddr)> = Vec::with_capacity(n.min(64));
        // The lowest rank among `chosen`, once it holds `n`.
        let mut floor = None;
        for (host, _, peak, _) in self.peaks() {
            // (A pile that never held one ranks no host.)
            if peak == 0 || floor.is_some_and(|f| rank(peak, host) <= f) {
                continue;
            }
            if let Some(c) = chosen.iter_mut().find(|c| c.1 == host) {
                c.0 = c.0.max(peak);
            } else if chosen.len() < n {
                chosen.push((peak, host));
            } else if let Some(lowest) = chosen.iter_mut().min_by_key(|c| rank(c.0, c.1)) {
                *lowest = (peak, host);
            }
            if chosen.len() == n {
                floor = chosen.iter().map(|c| rank(c.0, c.1)).min();
            }
        }
        let mut raw: Vec<(IpAddr, Raw)> = chosen
            .iter()
            .map(|&(_, host)| (host, Raw::default()))
            .collect();
        for (host, toward, peak, at) in self.peaks() {
            if peak == 0 {
                continue;
            }
            if let Some((_, r)) = raw.iter_mut().find(|(h, _)| *h == host) {
                r.take(toward, peak, at);
            }
        }
        raw.sort_by(Raw::order);
        raw.into_iter()
            .map(|(host, r)| r.row(host, precision))
            .collect()
    }
}

/// A host's highest peaks, as [`HostTracker::top`] gathers them.
#[derive(Default, Clone, Copy)]
struct Raw {
    tw: u64,
    toward: Option<SocketAddr>,
    tw_at: Timestamp,
    cw: u64,
    cw_at: Timestamp,
}

impl Raw {
    /// Takes one pile's peak: a TIME-WAIT pile's (toward a server) or a
    /// CLOSE-WAIT one's. Equal peaks: the earliest (then the lowest
    /// address) wins, whatever order the maps hold them in.
    fn take(&mut self, toward: Option<SocketAddr>, peak: u64, at: Timestamp) {
        let earlier = |old_at: Timestamp, old: Option<SocketAddr>| {
            peak > 0 && old.is_some_and(|o| (at, toward) < (old_at, Some(o)))
        };
        match toward {
            Some(t) if peak > self.tw || (peak == self.tw && earlier(self.tw_at, self.toward)) => {
                self.tw = peak;
                self.toward = Some(t);
                self.tw_at = at;
            }
            None if peak > self.cw || (peak == self.cw && peak > 0 && at < self.cw_at) => {
                self.cw = peak;
                self.cw_at = at;
            }
            _ => {}
        }
    }

    /// Highest peak first, then by address.
    fn order(a: &(IpAddr, Raw), b: &(IpAddr, Raw)) -> std::cmp::Ordering {
        (b.1.tw.max(b.1.cw))
            .cmp(&a.1.tw.max(a.1.cw))
            .then(a.0.cmp(&b.0))
    }

    fn row(self, host: IpAddr, precision: Precision) -> HostRow {
        HostRow {
            host,
            time_wait_peak: self.tw,
            time_wait_toward: self.toward.map(|t| t.to_string()),
            time_wait_peak_at: (self.tw > 0).then(|| self.tw_at.rfc3339(precision).to_string()),
            close_wait_peak: self.cw,
            close_wait_peak_at: (self.cw > 0).then(|| self.cw_at.rfc3339(precision).to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::Ev;

    fn sa(s: &str) -> SocketAddr {
        s.parse::<std::net::SocketAddr>().unwrap().into()
    }

    /// `host`, a client of `server`, entered TIME-WAIT at `at`.
    fn time_wait(h: &mut HostTracker, host: IpAddr, server: SocketAddr, at: Timestamp) {
        let client = SocketAddr {
            ip: host,
            port: 40000,
        };
        let changes = Changes(Changes::TIME_WAIT);
        h.record(HostEvent::Changes {
            client,
            server,
            changes,
            at,
        });
    }

    #[test]
    fn time_wait_peak_counts_only_windows_running_at_once() {
        let mut h = HostTracker::new(&Thresholds {
            tw_accumulation: 3,
            ..Thresholds::default()
        });
        let host: IpAddr = "10.0.0.1".parse().unwrap();
        let server = sa("10.0.0.2:80");
        let s = 1_000_000_000;
        // Three within 60 s of each other, then two after the first ended.
        for t in [0, 10, 20, 65, 70] {
            time_wait(&mut h, host, server, Timestamp(t * s));
        }
        h.settle(Timestamp(70 * s));
        let th = Thresholds {
            tw_accumulation: 4,
            ..Thresholds::default()
        };
        assert!(
            h.findings(&th, Precision::Micro).is_empty(),
            "peak is 4? no: at 65 s the first (0 s) has ended"
        );
        let th = Thresholds {
            tw_accumulation: 3,
            ..Thresholds::default()
        };
        let f = h.findings(&th, Precision::Micro);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].evidence.get("peak").and_then(Ev::as_u64), Some(3));
        assert_eq!(
            f[0].evidence.get("connections").and_then(Ev::as_u64),
            Some(5)
        );
        assert_eq!(f[0].ts, Timestamp(20 * s));
    }

    /// Which retired peaks are kept depends on the peaks, not on the order
    /// piles retire in (sweeps retire them in the map's order).
    #[test]
    fn retired_peaks_kept_do_not_depend_on_retirement_order() {
        let peaks: Vec<Peak> = (0..60u32)
            .map(|i| Peak {
                host: IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i)),
                toward: None,
                // Many ties, at the same and at different times.
                peak: u64::from(i % 4 + 1),
                at: Timestamp(i64::from(i % 3)),
            })
            .collect();
        let kept = |order: &mut dyn Iterator<Item = &Peak>| {
            let mut h = HostTracker::new(&Thresholds::default());
            for p in order {
                h.keep_peak(*p);
            }
            let mut v: Vec<(u64, Timestamp, IpAddr)> =
                h.retired.iter().map(|r| (r.peak, r.at, r.host)).collect();
            v.sort();
            v
        };
        let forward = kept(&mut peaks.iter());
        assert_eq!(forward.len(), KEEP_PEAKS);
        assert_eq!(forward, kept(&mut peaks.iter().rev()));
        // Every seventh, round and round (7 and 60 share no factor).
        let mut strided = (0..peaks.len()).filter_map(|i| peaks.get(i * 7 % peaks.len()));
        assert_eq!(forward, kept(&mut strided));
        // The highest peaks, the earliest first among equals.
        assert!(forward.iter().all(|&(peak, _, _)| peak >= 3));
    }

    #[test]
    fn close_wait_counts_up_and_down() {
        let mut h = HostTracker::new(&Thresholds {
            cw_accumulation: 3,
            ..Thresholds::default()
        });
        let host: IpAddr = "10.0.0.2".parse().unwrap();
        h.close_wait_in(host, Timestamp(1));
        h.close_wait_in(host, Timestamp(2));
        h.close_wait_out(host);
        h.close_wait_in(host, Timestamp(3));
        h.close_wait_in(host, Timestamp(4));
        let th = Thresholds {
            cw_accumulation: 3,
            ..Thresholds::default()
        };
        let f = h.findings(&th, Precision::Micro);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].evidence.get("peak").and_then(Ev::as_u64), Some(3));
        assert_eq!(f[0].ts, Timestamp(4));
        assert_eq!(h.top(10, Precision::Micro)[0].close_wait_peak, 3);
    }

    #[test]
    fn finished_piles_below_the_threshold_are_retired() {
        let th = Thresholds {
            tw_accumulation: 10,
            ..Thresholds::default()
        };
        let mut h = HostTracker::new(&th);
        let server = sa("10.0.0.2:80");
        let s = 1_000_000_000;
        // 1000 clients, one TIME-WAIT each, a second apart with a 60 s window:
        // only about 60 piles run at any time.
        for i in 0..1000u32 {
            let host = IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i));
            time_wait(&mut h, host, server, Timestamp(i64::from(i) * s));
        }
        // Running ones, those ended within a quarter of 2MSL, and the
        // events not yet applied.
        assert!(h.time_wait.len() <= 76, "{} piles kept", h.time_wait.len());
        assert!(h.time_wait.len() >= 55, "{} piles kept", h.time_wait.len());
        assert!(h.retired.len() <= KEEP_PEAKS);
        // Their peaks still show in the host list.
        assert_eq!(h.top(5, Precision::Micro).len(), 5);
    }

    /// Counting TIME-WAITs a few events late (while the other counts change
    /// at once) gives what counting every event at once gives: the same
    /// findings and host list, over a mixed run of every kind of event on
    /// a few hosts and servers.
    #[test]
    fn late_time_wait_counts_change_nothing() {
        let th = Thresholds {
            tw_accumulation: 3,
            cw_accumulation: 2,
            syn_flood: 3,
            ..Thresholds::default()
        };
        let run = |at_once: bool| {
            let mut h = HostTracker::new(&th);
            let mut x: u64 = 0x2545_f491_4f6c_dd1d;
            for i in 0..5000i64 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let host = IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + (x % 5) as u32));
                let server = SocketAddr {
                    ip: IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0100 + (x >> 8) as u32 % 3)),
                    port: 80,
                };
                let client = SocketAddr {
                    ip: host,
                    port: 40000,
                };
                let at = Timestamp(i * 2_000_000_000);
                let bits = [
                    Changes::TIME_WAIT,
                    Changes::CLOSE_WAIT_IN,
                    Changes::CLOSE_WAIT_OUT,
                    Changes::CLOSE_WAIT_IN << 1,
                    Changes::CLOSE_WAIT_OUT << 1,
                    Changes::TIME_WAIT | Changes::CLOSE_WAIT_OUT << 1,
                ];
                let ev = match (x >> 16) % 9 {
                    0 => HostEvent::HalfOpenIn { server, at },
                    1 => HostEvent::HalfOpenOut { server },
                    2 => HostEvent::Left {
                        close_wait: [Some(host), None],
                        half_open: Some(server),
                    },
                    k => HostEvent::Changes {
                        client,
                        server,
                        changes: Changes(bits[(k as usize - 3) % bits.len()]),
                        at,
                    },
                };
                h.record(ev);
                if at_once {
                    h.flush();
                }
            }
            h.settle(Timestamp(5000 * 2_000_000_000));
            let findings: Vec<String> = h
                .findings(&th, Precision::Micro)
                .iter()
                .map(|f| format!("{} {:?} {:?}", f.message, f.ts, f.evidence))
                .collect();
            let top: Vec<String> = h
                .top(20, Precision::Micro)
                .iter()
                .map(|r| format!("{r:?}"))
                .collect();
            (findings, top)
        };
        let late = run(false);
        // Every count the delay could disturb is in there.
        for kind in ["in TIME-WAIT", "in CLOSE-WAIT", "half-open"] {
            assert!(
                late.0.iter().any(|f| f.contains(kind)),
                "{kind}: {:?}",
                late.0
            );
        }
        assert_eq!(late, run(true));
    }

    /// What `top` gave when it gathered every host into one map first:
    /// the two passes must give the same rows.
    fn top_by_map(h: &HostTracker, n: usize) -> Vec<String> {
        let mut raw: HashMap<IpAddr, Raw> = HashMap::new();
        for (host, toward, peak, at) in h.peaks() {
            raw.entry(host).or_default().take(toward, peak, at);
        }
        let mut rows: Vec<(IpAddr, Raw)> =
            raw.into_iter().filter(|(_, r)| r.tw + r.cw > 0).collect();
        rows.sort_by(Raw::order);
        rows.truncate(n);
        rows.into_iter()
            .map(|(host, r)| format!("{:?}", r.row(host, Precision::Micro)))
            .collect()
    }

    #[test]
    fn top_gives_what_one_map_of_every_host_gave() {
        // Few hosts (each with several piles, peaks tying often) to many.
        for (hosts, seed) in [
            (6, 0x9e37_79b9u64),
            (15, 0x2545_f491),
            (40, 0x4f6c_dd1d),
            (150, 7),
        ] {
            let h = random_piles(hosts, seed);
            assert!(!h.retired.is_empty() && h.time_wait.len() > 0 && !h.close_wait.is_empty());
            let all = top_by_map(&h, usize::MAX);
            assert!(all.len() > hosts as usize / 2, "{} hosts", all.len());
            let peaks: Vec<u64> = h
                .top(usize::MAX >> 1, Precision::Micro)
                .iter()
                .map(|r| r.time_wait_peak.max(r.close_wait_peak))
                .collect();
            assert!(peaks.windows(2).any(|w| w[0] == w[1]), "no tie: {peaks:?}");
            for n in [
                0,
                1,
                2,
                3,
                5,
                10,
                20,
                all.len() - 1,
                all.len(),
                all.len() + 5,
            ] {
                let top: Vec<String> = h
                    .top(n, Precision::Micro)
                    .iter()
                    .map(|r| format!("{r:?}"))
                    .collect();
                assert_eq!(top, top_by_map(&h, n), "{hosts} hosts, n = {n}");
            }
        }
    }

    /// A tracker fed 4000 random TIME-WAIT and CLOSE-WAIT changes among
    /// `hosts` clients and three servers, then settled.
    fn random_piles(hosts: u32, seed: u64) -> HostTracker {
        let mut h = HostTracker::new(&Thresholds::default());
        let servers = [sa("10.0.0.1:80"), sa("10.0.0.2:80"), sa("10.0.0.3:443")];
        let mut x: u64 = seed;
        for i in 0..4000i64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let host = IpAddr::V4(std::net::Ipv4Addr::from(0x0a07_0000 + (x as u32 % hosts)));
            let client = SocketAddr {
                ip: host,
                port: 30_000 + (x >> 20) as u16 % 500,
            };
            let server = servers[(x >> 40) as usize % servers.len()];
            let changes = match (x >> 50) % 6 {
                0 | 1 => Changes::TIME_WAIT,
                2 => Changes::TIME_WAIT << 1,
                3 => Changes::CLOSE_WAIT_IN,
                4 => Changes::CLOSE_WAIT_OUT,
                _ => Changes::CLOSE_WAIT_IN << 1,
            };
            h.record(HostEvent::Changes {
                client,
                server,
                changes: Changes(changes),
                // A TIME-WAIT every 0.2 s on average, 2MSL 60 s: piles
                // rise, end and retire along the way.
                at: Timestamp(i * 200_000_000),
            });
        }
        h.settle(Timestamp(4000 * 200_000_000));
        h
    }

    /// Picking the first `n` hosts gives the first `n` of the whole list,
    /// ties in peak (ordered by address) included.
    #[test]
    fn top_n_is_a_prefix_of_the_whole_order() {
        let th = Thresholds::default();
        let mut h = HostTracker::new(&th);
        let server = sa("10.0.0.2:80");
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for i in 0..300u32 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let host = IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + (x as u32 % 100_000)));
            for k in 0..(x >> 40) % 5 + 1 {
                // Ports differ so each is a TIME-WAIT of its own.
                let client = SocketAddr {
                    ip: host,
                    port: 40_000 + k as u16,
                };
                h.record(HostEvent::Changes {
                    client,
                    server,
                    changes: Changes(Changes::TIME_WAIT),
                    at: Timestamp(i64::from(i)),
                });
            }
        }
        let key = |r: &HostRow| (r.host, r.time_wait_peak, r.close_wait_peak);
        let all: Vec<_> = h.top(10_000, Precision::Micro).iter().map(key).collect();
        assert!(all.len() > 200, "{} hosts", all.len());
        for w in all.windows(2) {
            assert!(
                w[0].1 > w[1].1 || (w[0].1 == w[1].1 && w[0].0 < w[1].0),
                "{w:?}"
            );
        }
        for n in [1, 2, 7, 20, 150, all.len() - 1, all.len()] {
            let top: Vec<_> = h.top(n, Precision::Micro).iter().map(key).collect();
            assert_eq!(top, all[..n], "n = {n}");
        }
        assert!(h.top(0, Precision::Micro).is_empty());
    }
}
