//! Capture sources: where packets come from.
//!
//! A source yields [`RawPacket`]s (link-layer bytes plus a timestamp) in the
//! order they were recorded. [`Merge`] interleaves several sources into one
//! time-ordered stream, the way `mergecap` would, without copying packets.

pub mod file;
#[cfg(feature = "live")]
pub mod filter;
mod legacy;
#[cfg(feature = "live")]
pub mod live;
pub mod time;

pub use file::{CaptureError, FileSource, ReadStats};
pub use time::{Precision, Timestamp};

/// One captured frame, borrowed from the reader's buffer.
#[derive(Debug, Clone, Copy)]
pub struct RawPacket<'a> {
    /// When the frame was captured.
    pub ts: Timestamp,
    /// The link type (a `LINKTYPE_*` value) the frame starts with.
    pub linktype: u32,
    /// The bytes that were captured (may be shorter than `orig_len`).
    pub data: &'a [u8],
    /// The frame's length on the wire.
    pub orig_len: u32,
}

/// Several capture files read as one stream ordered by timestamp.
///
/// Each source keeps its current packet in its own buffer; `Merge` only
/// compares timestamps and hands out the earliest. With one source this is a
/// plain pass-through.
pub struct Merge {
    sources: Vec<FileSource>,
    /// Sources to advance before the next comparison: all of them at the
    /// start, then the one whose packet was handed out last.
    to_advance: Vec<usize>,
}

impl Merge {
    pub fn new(sources: Vec<FileSource>) -> Self {
        let to_advance = (0..sources.len()).rev().collect();
        Merge {
            sources,
            to_advance,
        }
    }

    /// Moves to the next packet in time order; returns the index of the
    /// source that holds it, or `None` when every source is exhausted.
    ///
    /// A source that fails stops contributing; its error is returned once and
    /// the other sources go on.
    pub fn advance(&mut self) -> Result<Option<usize>, (usize, CaptureError)> {
        if let [only] = self.sources.as_mut_slice() {
            // One file (the usual run): nothing to choose between, and
            // every call moves it on (a finished source stays finished).
            only.advance().map_err(|e| (0, e))?;
            return Ok(only.current_ts().map(|_| 0));
        }
        while let Some(i) = self.to_advance.pop() {
            if let Some(s) = self.sources.get_mut(i) {
                // A failed source is finished; the caller reports the error
                // and calls again to go on with the others.
                s.advance().map_err(|e| (i, e))?;
            }
        }
        let mut best: Option<(usize, Timestamp)> = None;
        for (i, s) in self.sources.iter().enumerate() {
            if let Some(ts) = s.current_ts() {
                if best.is_none_or(|(_, b)| ts < b) {
                    best = Some((i, ts));
                }
            }
        }
        let chosen = best.map(|(i, _)| i);
        self.to_advance.extend(chosen);
        Ok(chosen)
    }

    /// The packet that [`Merge::advance`] selected.
    pub fn packet(&self, source: usize) -> Option<RawPacket<'_>> {
        self.sources.get(source).and_then(|s| s.current())
    }

    pub fn sources(&self) -> &[FileSource] {
        &self.sources
    }
}
