//! Per-direction sequence space: which bytes were seen, which were sent
//! again, and which were never captured.
//!
//! Each direction keeps the highest sequence number seen and a bounded list
//! of holes below it. A segment's bytes are *new* (first time seen: above the
//! high mark or filling a hole) or *retransmitted* (already seen). Bytes the
//! peer acknowledged that fall in a hole, or beyond the high mark, were on
//! the wire but not in the capture: `missed_bytes`.

pub mod bytes;
mod seq;

pub use bytes::ByteStream;
pub use seq::SeqNumber;

use crate::few::Few;

/// How many holes a direction remembers; beyond that the lowest is given up
/// (and counted), so memory stays fixed per connection.
pub const MAX_HOLES: usize = 4;

/// What a segment's payload was, byte-wise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DataOutcome {
    /// Bytes seen for the first time.
    pub new: u32,
    /// Bytes already seen before (retransmitted or duplicated).
    pub old: u32,
    /// Bytes that filled a hole (counted in `new` too).
    pub filled: u32,
    /// Bytes beyond a gap: the segment started above the high mark.
    pub gap_before: u32,
}

/// The sequence space of one direction.
#[derive(Debug, Clone, Default)]
pub struct Stream {
    /// Sequence number of the first data byte (ISN + 1, or the first
    /// segment's sequence number for a connection seen midstream), once
    /// `started` (a flag beside the small fields, where an `Option` would
    /// pad every stream by 8 bytes).
    base: SeqNumber,
    started: bool,
    /// One past the highest data byte seen.
    high: SeqNumber,
    /// The open holes, lowest first (most streams never have one).
    holes: Few<(SeqNumber, SeqNumber), MAX_HOLES>,
    /// Unique payload bytes.
    pub unique_bytes: u64,
    /// Payload bytes seen more than once.
    pub retransmitted_bytes: u64,
}

impl Stream {
    /// Starts the sequence space at `first_data_seq` (ISN + 1 after a SYN).
    pub fn init(&mut self, first_data_seq: SeqNumber) {
        if !self.started {
            self.set_base(first_data_seq);
            self.high = first_data_seq;
        }
    }

    fn set_base(&mut self, first_data_seq: SeqNumber) {
        self.base = first_data_seq;
        self.started = true;
    }

    /// Restarts the sequence space (a new SYN with another ISN).
    pub fn reset(&mut self, first_data_seq: SeqNumber) {
        *self = Stream {
            base: first_data_seq,
            started: true,
            high: first_data_seq,
            ..Stream::default()
        };
    }

    pub fn is_started(&self) -> bool {
        self.started
    }

    /// One past the highest data byte seen.
    pub fn high(&self) -> Option<SeqNumber> {
        self.started.then_some(self.high)
    }

    pub fn base(&self) -> Option<SeqNumber> {
        self.started.then_some(self.base)
    }

    /// Number of holes currently open below the high mark.
    pub fn holes(&self) -> impl Iterator<Item = (SeqNumber, SeqNumber)> + '_ {
        self.holes.as_slice().iter().copied()
    }

    /// Records payload `[seq, seq + len)`.
    pub fn on_data(&mut self, seq: SeqNumber, len: u32) -> DataOutcome {
        let mut out = DataOutcome::default();
        if len == 0 {
            return out;
        }
        let end = seq + len;
        if !self.started {
            self.set_base(seq);
            self.high = seq;
        }
        // Bytes before the start of the sequence space (a midstream
        // connection's earlier data arriving late) are new but untracked.
        let mut start = seq;
        if let Some(base) = self.base() {
            if seq.lt(base) {
                let before = base.distance_from(seq).min(len);
                out.new += before;
                start = base;
                if !start.lt(end) {
                    self.unique_bytes += u64::from(out.new);
                    return out;
                }
            }
        }
        // Above the high mark: new, possibly after a gap.
        let old_high = self.high;
        if old_high.lt(end) {
            let from = start.max_seq(old_high);
            if old_high.lt(from) {
                out.gap_before = from.distance_from(old_high);
                self.add_hole(old_high, from);
            }
            out.new += end.distance_from(from);
            self.high = end;
        }
        // At or below the old high mark: holes get filled, the rest is old.
        let below_end = end.min_seq(old_high);
        if start.lt(below_end) {
            let overlap = below_end.distance_from(start);
            let filled = self.fill(start, below_end);
            out.filled = filled;
            out.new += filled;
            out.old += overlap - filled;
        }
        self.unique_bytes += u64::from(out.new);
        self.retransmitted_bytes += u64::from(out.old);
        out
    }

    fn add_hole(&mut self, from: SeqNumber, to: SeqNumber) {
        if self.holes.is_full() {
            // Give up the lowest hole: its bytes, if they ever come, will be
            // counted as retransmitted.
            self.holes.remove(0);
        }
        self.holes.push((from, to));
    }

    /// Removes `[from, to)` from the holes; returns how many bytes it filled.
    fn fill(&mut self, from: SeqNumber, to: SeqNumber) -> u32 {
        let mut filled = 0;
        let mut i = 0;
        while let Some(&(hs, he)) = self.holes.as_slice().get(i) {
            let lo = hs.max_seq(from);
            let hi = he.min_seq(to);
            if !lo.lt(hi) {
                i += 1;
                continue;
            }
            filled += hi.distance_from(lo);
            let left = hs.lt(lo).then_some((hs, lo));
            let right = hi.lt(he).then_some((hi, he));
            match (left, right) {
                (Some(l), Some(r)) => {
                    if let Some(h) = self.holes.get_mut(i) {
                        *h = l;
                    }
                    // Splitting needs one more slot; without one, keep the
                    // left part only: the right's bytes, if they come,
                    // count as retransmitted.
                    if self.holes.insert(i + 1, r) {
                        i += 1;
                    }
                    i += 1;
                }
                (Some(part), None) | (None, Some(part)) => {
                    if let Some(h) = self.holes.get_mut(i) {
                        *h = part;
                    }
                    i += 1;
                }
                (None, None) => self.holes.remove(i),
            }
        }
        filled
    }

    /// Bytes below `acked` (the peer's highest acknowledgment, limited to
    /// data: SYN and FIN octets excluded by the caller) that were never seen.
    pub fn missed_below(&self, acked: SeqNumber) -> u64 {
        let Some(base) = self.base() else { return 0 };
        if !base.lt(acked) {
            return 0;
        }
        let mut missed: u64 = self
            .holes()
            .map(|(s, e)| {
                let e = e.min_seq(acked);
                if s.lt(e) {
                    u64::from(e.distance_from(s))
                } else {
                    0
                }
            })
            .sum();
        if self.high.lt(acked) {
            missed += u64::from(acked.distance_from(self.high));
        }
        missed
    }
}

#[cfg(test)]
mod tests;
