//! Capture files: legacy pcap (both byte orders, µs and ns), read here
//! (`capture::legacy`), and pcapng (several sections, several interfaces
//! with their own link types and timestamp resolutions), read as a stream
//! with `pcap-parser`.
//!
//! Memory is one buffer per file whatever the file's size. A frame handed
//! out by [`FileSource::current`] borrows that buffer; it is consumed when the
//! source advances.

use std::fmt;
use std::fs::File;
use std::io::{self, Read};

use pcap_parser::pcapng::Block;
use pcap_parser::traits::PcapReaderIterator;
use pcap_parser::{PcapBlockOwned, PcapError};

use super::legacy::{self, RECORD_HEADER_LEN};
use super::time::{Precision, Timestamp};
use super::RawPacket;

/// Initial read buffer; grows (up to [`MAX_BUFFER`]) for larger records.
const INITIAL_BUFFER: usize = 1 << 20;
/// The smallest buffer a file gets (it holds the largest usual record).
const MIN_BUFFER: usize = 64 << 10;
/// No capture record we accept is larger than this (a pcapng block or a pcap
/// record claiming more is treated as corrupt).
const MAX_BUFFER: usize = 64 << 20;

/// Why a capture file could not be read (further).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureError {
    /// The file as the user named it (`-` for standard input).
    pub file: String,
    /// Byte offset in the file where the problem starts (`None` when the
    /// file could not be opened at all).
    pub offset: Option<u64>,
    /// What was wrong, as a sentence fragment.
    pub what: String,
}

impl fmt::Display for CaptureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.offset {
            Some(offset) => write!(f, "{}: at byte offset {offset}: {}", self.file, self.what),
            None => write!(f, "{}: {}", self.file, self.what),
        }
    }
}

impl std::error::Error for CaptureError {}

/// Which container format a file uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    Pcap,
    PcapNg,
}

/// What was read from one file, for the summary.
#[derive(Debug, Clone, Default)]
pub struct ReadStats {
    /// Frames read (every record that carries a packet).
    pub frames: u64,
    /// Frames whose captured length is shorter than their length on the
    /// wire (cut by the snapshot length).
    pub snaplen_cut: u64,
    /// Frames whose timestamp is earlier than the frame before them.
    pub time_went_backwards: u64,
    /// pcapng packets naming an interface that was never described.
    pub unknown_interface: u64,
    /// Records holding more bytes than the file's snapshot length allows
    /// (read all the same: the header is what is wrong, or the writer).
    pub over_snaplen: u64,
    /// Finest timestamp precision seen.
    pub precision: Precision,
}

#[derive(Debug, Clone, Copy)]
struct Interface {
    linktype: u32,
    /// Timestamp units per second.
    units_per_sec: u64,
    /// Seconds added to every timestamp (`if_tsoffset`).
    offset_secs: i64,
    /// The snapshot length the header promises (0: none).
    snaplen: u32,
}

/// Where the current frame sits in the reader's buffer.
#[derive(Debug, Clone, Copy)]
struct Current {
    ts: Timestamp,
    linktype: u32,
    start: usize,
    len: usize,
    orig_len: u32,
}

/// One capture file read as a stream of frames.
pub struct FileSource {
    name: String,
    records: Records,
    /// File offset of the first byte of [`FileSource::data`].
    consumed: u64,
    /// Length of the block holding the current frame; consumed on advance.
    pending: usize,
    capacity: usize,
    interfaces: Vec<Interface>,
    current: Option<Current>,
    last_ts: Timestamp,
    finished: bool,
    stats: ReadStats,
}

/// Where a file's records are read from.
enum Records {
    /// A legacy pcap file: its header (every record's byte order, time
    /// unit, link type and snapshot length), and the buffer its records
    /// are parsed from here.
    Legacy(legacy::Header, legacy::Buffer),
    /// A pcapng file, through `pcap-parser`.
    Parser(Box<dyn PcapReaderIterator + Send>),
}

/// Makes every `read` fill the buffer unless the input ends, so a pipe that
/// delivers a few bytes at a time looks like a file to `pcap-parser` (which
/// reads the file header with a single `read`).
struct FullRead<R>(R);

impl<R: Read> Read for FullRead<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut filled = 0;
        while filled < buf.len() {
            match self.0.read(buf.get_mut(filled..).unwrap_or_default()) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // Deliver what we have; a lasting error shows on the next
                // call, when nothing has been read.
                Err(_) if filled > 0 => break,
                Err(e) => return Err(e),
            }
        }
        Ok(filled)
    }
}

impl FileSource {
    /// Opens a capture file (`-` reads standard input).
    pub fn open(path: &str) -> Result<Self, CaptureError> {
        let input: Box<dyn Read + Send> = if path == "-" {
            Box::new(io::stdin())
        } else {
            let f = File::open(path).map_err(|e| CaptureError {
                file: path.to_string(),
                offset: None,
                what: format!("cannot open: {e}"),
            })?;
            if f.metadata().map(|m| m.is_dir()).unwrap_or(false) {
                return Err(CaptureError {
                    file: path.to_string(),
                    offset: None,
                    what: "is a directory, not a capture file".into(),
                });
            }
            // A small file needs no megabyte of buffer (merging many files
            // would add them all up).
            let len = f.metadata().map(|m| m.len()).unwrap_or(u64::MAX);
            let capacity = (len.saturating_add(1024) as usize).clamp(MIN_BUFFER, INITIAL_BUFFER);
            return Self::with_capacity(path, Box::new(f), capacity);
        };
        Self::from_reader(path, input)
    }

    /// Reads a capture from any byte stream; `name` is used in messages.
    pub fn from_reader(name: &str, input: Box<dyn Read + Send>) -> Result<Self, CaptureError> {
        Self::with_capacity(name, input, INITIAL_BUFFER)
    }

    fn with_capacity(
        name: &str,
        input: Box<dyn Read + Send>,
        capacity: usize,
    ) -> Result<Self, CaptureError> {
        let err = |offset: u64, what: String| CaptureError {
            file: name.to_string(),
            offset: Some(offset),
            what,
        };
        // Look at the magic number ourselves so the error can say what the
        // file starts with; then hand the whole stream to pcap-parser.
        let mut input = FullRead(input);
        let mut head = [0u8; 4];
        let got = input
            .read(&mut head)
            .map_err(|e| err(0, format!("cannot read: {e}")))?;
        if got == 0 {
            return Err(err(0, "the file is empty (no capture header)".into()));
        }
        let magic = head.get(..got).unwrap_or_default();
        let format = match magic {
            [0x0a, 0x0d, 0x0d, 0x0a] => FileFormat::PcapNg,
            [0xd4, 0xc3, 0xb2, 0xa1]
            | [0xa1, 0xb2, 0xc3, 0xd4]
            | [0x4d, 0x3c, 0xb2, 0xa1]
            | [0xa1, 0xb2, 0x3c, 0x4d] => FileFormat::Pcap,
            [0xa1, 0xb2, 0xcd, 0x34] | [0x34, 0xcd, 0xb2, 0xa1] => {
                return Err(err(
                    0,
                    "modified (Kuznetzov) pcap format is not supported; convert it with editcap"
                        .into(),
                ))
            }
            [0x1f, 0x8b, ..] => return Err(err(
                0,
                "the file is gzip-compressed; decompress it first (zcat FILE | finscope analyze -)"
                    .into(),
            )),
            _ if got < 4 => {
                return Err(err(
                    0,
                    format!("the file is {got} bytes long, too short for a capture header"),
                ))
            }
            _ => {
                return Err(err(
                    0,
                    format!(
                        "not a pcap or pcapng file (starts with {:02x} {:02x} {:02x} {:02x})",
                        head[0], head[1], head[2], head[3]
                    ),
                ))
            }
        };
        let mut stats = ReadStats::default();
        let (records, consumed) = match format {
            FileFormat::Pcap => {
                let mut header = [0u8; legacy::HEADER_LEN];
                let (known, rest) = header.split_at_mut(magic.len());
                known.copy_from_slice(magic);
                let got = input
                    .read(rest)
                    .map_err(|e| err(0, format!("read error in the file header ({e})")))?;
                if got < rest.len() {
                    return Err(err(0, "the file ends inside its header".into()));
                }
                let h = legacy::Header::parse(&header)
                    .ok_or_else(|| err(0, "malformed file header".into()))?;
                if h.nanos {
                    stats.precision = Precision::Nano;
                }
                let buffer = legacy::Buffer::new(Box::new(input), &[], capacity);
                (Records::Legacy(h, buffer), legacy::HEADER_LEN as u64)
            }
            FileFormat::PcapNg => {
                let chained = FullRead(io::Cursor::new(magic.to_vec()).chain(input));
                let reader =
                    pcap_parser::create_reader(capacity, chained).map_err(|e| match e {
                        PcapError::Incomplete(_) | PcapError::Eof | PcapError::UnexpectedEof => {
                            err(0, "the file ends inside its header".into())
                        }
                        PcapError::ReadError => err(0, "read error in the file header".into()),
                        other => err(0, format!("malformed file header ({other})")),
                    })?;
                (Records::Parser(reader), 0)
            }
        };
        Ok(FileSource {
            name: name.to_string(),
            records,
            consumed,
            pending: 0,
            capacity,
            interfaces: Vec::new(),
            current: None,
            last_ts: Timestamp(i64::MIN),
            finished: false,
            stats,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn format(&self) -> FileFormat {
        match self.records {
            Records::Legacy(..) => FileFormat::Pcap,
            Records::Parser(_) => FileFormat::PcapNg,
        }
    }

    pub fn stats(&self) -> &ReadStats {
        &self.stats
    }

    /// Byte offset in the file of the current frame's record.
    pub fn offset(&self) -> u64 {
        self.consumed
    }

    /// Timestamp of the current frame, if there is one.
    pub fn current_ts(&self) -> Option<Timestamp> {
        self.current.map(|c| c.ts)
    }

    /// The current frame, borrowed from the read buffer.
    #[inline]
    pub fn current(&self) -> Option<RawPacket<'_>> {
        let c = self.current?;
        let data = self.data().get(c.start..c.start.checked_add(c.len)?)?;
        Some(RawPacket {
            ts: c.ts,
            linktype: c.linktype,
            data,
            orig_len: c.orig_len,
        })
    }

    /// The bytes buffered and not yet consumed (the current frame's record
    /// is the first).
    #[inline]
    fn data(&self) -> &[u8] {
        match &self.records {
            Records::Legacy(_, buffer) => buffer.data(),
            Records::Parser(reader) => reader.data(),
        }
    }

    fn error(&self, what: String) -> CaptureError {
        CaptureError {
            file: self.name.clone(),
            offset: Some(self.consumed),
            what,
        }
    }

    /// Moves to the next frame. Afterwards [`FileSource::current`] is `None`
    /// at the end of the file. After an error the source is finished.
    #[inline]
    pub fn advance(&mut self) -> Result<(), CaptureError> {
        self.current = None;
        let pending = std::mem::take(&mut self.pending);
        self.consumed += pending as u64;
        match &mut self.records {
            Records::Legacy(h, buffer) => {
                buffer.consume(pending);
                // The usual case, inline: a record wholly in the buffer.
                if let Some((c, len)) = legacy_record(h, buffer.data(), &mut self.stats) {
                    self.pending = len;
                    self.note_frame(c);
                    return Ok(());
                }
                self.advance_legacy()
            }
            Records::Parser(reader) => {
                // `consume` would shift the buffer's remaining half whenever
                // the position passes the middle; without the shift,
                // `refill` moves only the partial record left at the end.
                reader.consume_noshift(pending);
                self.advance_parser()
            }
        }
    }

    /// [`FileSource::advance`] in a legacy pcap file once the buffer holds
    /// no whole record: reads more, or ends the file (cleanly on a record
    /// boundary, with an error inside a record).
    #[cold]
    #[inline(never)]
    fn advance_legacy(&mut self) -> Result<(), CaptureError> {
        while !self.finished {
            let Records::Legacy(h, buffer) = &mut self.records else {
                break;
            };
            if let Some((c, len)) = legacy_record(h, buffer.data(), &mut self.stats) {
                self.pending = len;
                self.note_frame(c);
                return Ok(());
            }
            let have = buffer.data().len();
            let needed = match buffer.data().get(..RECORD_HEADER_LEN) {
                Some(rh) => {
                    let caplen = rh.try_into().map_or(0, |rh| h.record(rh)[2]);
                    (caplen as usize)
                        .saturating_add(RECORD_HEADER_LEN)
                        .saturating_sub(have)
                }
                None => RECORD_HEADER_LEN.saturating_sub(have),
            };
            if buffer.exhausted() && have == 0 {
                self.finished = true;
                return Ok(());
            }
            // (A record claiming gigabytes is corrupt, not cut short.)
            let exhausted = buffer.exhausted();
            if let Err(e) = self.check_claim(have, needed) {
                self.finished = true;
                return Err(e);
            }
            if exhausted {
                self.finished = true;
                return Err(self.truncated(needed));
            }
            let Records::Legacy(_, buffer) = &mut self.records else {
                break;
            };
            // The record does not fit in what is buffered: grow when the
            // buffer is full of this one record, then read more.
            let capacity = buffer.capacity();
            if have >= capacity / 2 || needed > capacity.saturating_sub(have) {
                buffer.grow((capacity * 2).max(have + needed).min(MAX_BUFFER));
            }
            if let Err(e) = buffer.refill() {
                self.finished = true;
                return Err(self.error(format!("read error ({e})")));
            }
        }
        Ok(())
    }

    /// [`FileSource::advance`] in a pcapng file.
    fn advance_parser(&mut self) -> Result<(), CaptureError> {
        while !self.finished {
            match self.step() {
                Ok(true) => return Ok(()),
                Ok(false) => {}
                Err(e) => {
                    self.finished = true;
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// Reads one pcapng block. Returns true when it holds a frame (now
    /// `current`).
    fn step(&mut self) -> Result<bool, CaptureError> {
        let FileSource {
            records: Records::Parser(reader),
            interfaces,
            stats,
            ..
        } = self
        else {
            // (Legacy files never come here; were one to, it ends rather
            // than loops.)
            self.finished = true;
            return Ok(false);
        };
        let base = reader.data().as_ptr() as usize;
        let outcome = match reader.next() {
            Ok((len, block)) => Ok((len, classify(block, base, interfaces, stats))),
            Err(PcapError::Eof) => Err(Stop::Eof),
            Err(PcapError::Incomplete(n)) => Err(Stop::Incomplete(n)),
            Err(PcapError::BufferTooSmall) => Err(Stop::Incomplete(0)),
            Err(PcapError::UnexpectedEof) => Err(Stop::Truncated),
            Err(PcapError::ReadError) => Err(Stop::Fatal("read error".to_string())),
            Err(PcapError::HeaderNotRecognized) => {
                Err(Stop::Fatal("header not recognized".to_string()))
            }
            Err(PcapError::NomError(_, kind)) => {
                Err(Stop::Fatal(format!("malformed record ({kind:?})")))
            }
            Err(PcapError::OwnedNomError(_, kind)) => {
                Err(Stop::Fatal(format!("malformed record ({kind:?})")))
            }
        };
        match outcome {
            Ok((len, Classified::Frame(c))) => {
                self.pending = len;
                self.note_frame(c);
                Ok(true)
            }
            Ok((len, Classified::Other)) => {
                reader.consume_noshift(len);
                self.consumed += len as u64;
                Ok(false)
            }
            Ok((_, Classified::Bad(what))) => Err(self.error(what)),
            Err(Stop::Eof) => {
                self.finished = true;
                Ok(false)
            }
            Err(Stop::Incomplete(needed)) => self.refill(needed),
            Err(Stop::Truncated) => Err(self.truncated(0)),
            Err(Stop::Fatal(what)) => Err(self.error(format!(
                "{what} in a pcapng block; the file is corrupt from here on"
            ))),
        }
    }

    /// Refuses a record that claims more than any real one (or than the
    /// largest buffer) before reading on for it.
    fn check_claim(&self, available: usize, needed: usize) -> Result<(), CaptureError> {
        if let Some(claimed) = self.claimed_record_len().filter(|&n| n > MAX_BUFFER) {
            return Err(self.error(format!(
                "a record claims {claimed} bytes, more than the {} MiB any real capture record needs; the file is corrupt",
                MAX_BUFFER >> 20
            )));
        }
        if available.saturating_add(needed) > MAX_BUFFER {
            return Err(self.error(format!(
                "a record is larger than {} MiB; the file is corrupt",
                MAX_BUFFER >> 20
            )));
        }
        Ok(())
    }

    fn refill(&mut self, needed: usize) -> Result<bool, CaptureError> {
        let available = self.data().len();
        let Records::Parser(reader) = &self.records else {
            return Ok(false);
        };
        if reader.reader_exhausted() {
            if available == 0 {
                self.finished = true;
                return Ok(false);
            }
            return Err(self.truncated(needed));
        }
        self.check_claim(available, needed)?;
        let Records::Parser(reader) = &mut self.records else {
            return Ok(false);
        };
        // The block does not fit in what is buffered: grow when the buffer
        // is full of this one block, then read more.
        if available >= self.capacity / 2 || needed > self.capacity.saturating_sub(available) {
            let want = (self.capacity * 2).max(available + needed).min(MAX_BUFFER);
            if want > self.capacity && reader.grow(want) {
                self.capacity = want;
            }
        }
        match reader.refill() {
            Ok(()) => Ok(false),
            Err(PcapError::BufferTooSmall) => {
                let want = (self.capacity * 2).min(MAX_BUFFER);
                if want > self.capacity && reader.grow(want) {
                    self.capacity = want;
                    Ok(false)
                } else {
                    Err(self.error(format!("a record is larger than {} MiB", MAX_BUFFER >> 20)))
                }
            }
            Err(e) => {
                let what = format!("read error ({e})");
                Err(self.error(what))
            }
        }
    }

    /// The length the record at the start of the buffer says it has: a
    /// pcap record header's captured length (in the file's byte order), or
    /// a pcapng block's total length (in the section's byte order, which is
    /// not known here: either order tried, the smaller taken).
    fn claimed_record_len(&self) -> Option<usize> {
        let d = self.data();
        let word = |at: usize| -> Option<[u8; 4]> { d.get(at..at + 4)?.try_into().ok() };
        match &self.records {
            Records::Legacy(h, _) => {
                let rh = d.get(..RECORD_HEADER_LEN)?.try_into().ok()?;
                Some((h.record(rh)[2] as usize).saturating_add(RECORD_HEADER_LEN))
            }
            Records::Parser(_) => {
                let w = word(4)?;
                Some(u32::from_le_bytes(w).min(u32::from_be_bytes(w)) as usize)
            }
        }
    }

    fn truncated(&self, needed: usize) -> CaptureError {
        let have = self.data().len();
        let what = if needed > 0 {
            format!(
                "the file ends in the middle of a record ({have} bytes present, at least {needed} more needed); it was probably cut short while being written or copied"
            )
        } else {
            format!("the file ends in the middle of a record ({have} bytes present); it was probably cut short")
        };
        self.error(what)
    }

    fn note_frame(&mut self, mut c: Current) {
        if c.ts.0 == i64::MIN {
            // A simple packet block: no timestamp of its own.
            c.ts = if self.last_ts.0 == i64::MIN {
                Timestamp(0)
            } else {
                self.last_ts
            };
        }
        self.stats.frames += 1;
        if c.ts < self.last_ts {
            self.stats.time_went_backwards += 1;
        }
        self.last_ts = c.ts;
        if (c.len as u64) < u64::from(c.orig_len) {
            self.stats.snaplen_cut += 1;
        }
        self.current = Some(c);
    }
}

enum Stop {
    Eof,
    Incomplete(usize),
    Truncated,
    Fatal(String),
}

enum Classified {
    Frame(Current),
    Other,
    Bad(String),
}

/// Timestamp units per second for a pcapng `if_tsresol` (pcapng
/// specification, draft-ietf-opsawg-pcapng §4.2): the high bit chooses a power of two,
/// otherwise a power of ten. (pcap-parser 0.17 checks the byte with its flag
/// bit against 63, so it refuses every power-of-two resolution.)
fn ts_units_per_sec(if_tsresol: u8) -> Option<u64> {
    let exp = u32::from(if_tsresol & 0x7f);
    if if_tsresol & 0x80 != 0 {
        1u64.checked_shl(exp).filter(|_| exp <= 63)
    } else {
        10u64.checked_pow(exp)
    }
}

/// The legacy pcap record at the start of `data`, when all of it is there:
/// its frame, and the record's length.
#[inline(always)]
fn legacy_record(
    h: &legacy::Header,
    data: &[u8],
    stats: &mut ReadStats,
) -> Option<(Current, usize)> {
    let [ts_sec, ts_frac, caplen, orig_len] =
        h.record(data.get(..RECORD_HEADER_LEN)?.try_into().ok()?);
    let len = caplen as usize;
    let end = len
        .checked_add(RECORD_HEADER_LEN)
        .filter(|&e| e <= data.len())?;
    if h.snaplen > 0 && caplen > h.snaplen {
        stats.over_snaplen += 1;
    }
    // The fraction is in the file's units: µs or ns after the second.
    let frac = i64::from(ts_frac);
    let nanos = if h.nanos { frac } else { frac * 1000 };
    let c = Current {
        ts: Timestamp::from_secs_nanos(i64::from(ts_sec), nanos),
        linktype: h.linktype,
        start: RECORD_HEADER_LEN,
        len,
        orig_len,
    };
    Some((c, end))
}

/// Position of `data` inside the buffer that starts at `base`.
fn position(data: &[u8], base: usize) -> usize {
    (data.as_ptr() as usize).wrapping_sub(base)
}

/// Looks at one block: a frame to hand out, metadata to remember, or
/// something to skip.
fn classify(
    block: PcapBlockOwned<'_>,
    base: usize,
    interfaces: &mut Vec<Interface>,
    stats: &mut ReadStats,
) -> Classified {
    match block {
        // A pcapng reader gives none of these (legacy files are read in
        // `super::legacy`).
        PcapBlockOwned::LegacyHeader(_) | PcapBlockOwned::Legacy(_) => Classified::Other,
        PcapBlockOwned::NG(block) => match block {
            Block::SectionHeader(_) => {
                // Interface numbers start again in every section.
                interfaces.clear();
                Classified::Other
            }
            Block::InterfaceDescription(idb) => {
                let Some(units) = ts_units_per_sec(idb.if_tsresol) else {
                    return Classified::Bad(format!(
                        "interface {} has an unsupported timestamp resolution (if_tsresol = {:#04x})",
                        interfaces.len(),
                        idb.if_tsresol
                    ));
                };
                if units > 1_000_000 {
                    stats.precision = Precision::Nano;
                }
                interfaces.push(Interface {
                    linktype: idb.linktype.0 as u32,
                    units_per_sec: units.max(1),
                    offset_secs: idb.if_tsoffset,
                    snaplen: idb.snaplen,
                });
                Classified::Other
            }
            Block::EnhancedPacket(epb) => {
                let Some(iface) = interfaces.get(epb.if_id as usize) else {
                    stats.unknown_interface += 1;
                    return Classified::Other;
                };
                let raw = (u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low);
                if iface.snaplen > 0 && epb.data.len() > iface.snaplen as usize {
                    stats.over_snaplen += 1;
                }
                let units = u128::from(iface.units_per_sec);
                let secs = (u128::from(raw) / units) as i64;
                let frac = ((u128::from(raw) % units) * 1_000_000_000 / units) as i64;
                let len = (epb.caplen as usize).min(epb.data.len());
                Classified::Frame(Current {
                    ts: Timestamp::from_secs_nanos(secs.saturating_add(iface.offset_secs), frac),
                    linktype: iface.linktype,
                    start: position(epb.data, base),
                    len,
                    orig_len: epb.origlen,
                })
            }
            Block::SimplePacket(spb) => {
                // A simple packet block has no timestamp and belongs to
                // interface 0; it is timed as the frame before it.
                let Some(iface) = interfaces.first() else {
                    stats.unknown_interface += 1;
                    return Classified::Other;
                };
                Classified::Frame(Current {
                    ts: Timestamp(i64::MIN),
                    linktype: iface.linktype,
                    start: position(spb.data, base),
                    len: spb.data.len().min(spb.origlen as usize),
                    orig_len: spb.origlen,
                })
            }
            _ => Classified::Other,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::Merge;

    /// A pcapng block: type, body, padding, trailing length (little-endian).
    fn block(kind: u32, body: &[u8]) -> Vec<u8> {
        let padded = body.len().div_ceil(4) * 4;
        let total = (12 + padded) as u32;
        let mut b = kind.to_le_bytes().to_vec();
        b.extend_from_slice(&total.to_le_bytes());
        b.extend_from_slice(body);
        b.resize(8 + padded, 0);
        b.extend_from_slice(&total.to_le_bytes());
        b
    }

    fn shb() -> Vec<u8> {
        let mut body = 0x1a2b_3c4du32.to_le_bytes().to_vec();
        body.extend_from_slice(&[1, 0, 0, 0]);
        body.extend_from_slice(&(-1i64).to_le_bytes());
        block(0x0a0d_0d0a, &body)
    }

    fn idb(linktype: u16, tsresol: Option<u8>) -> Vec<u8> {
        let mut body = linktype.to_le_bytes().to_vec();
        body.extend_from_slice(&[0, 0, 0, 0, 4, 0]);
        if let Some(r) = tsresol {
            body.extend_from_slice(&[9, 0, 1, 0, r, 0, 0, 0, 0, 0, 0, 0]);
        }
        block(1, &body)
    }

    fn epb(iface: u32, ts: u64, data: &[u8]) -> Vec<u8> {
        let mut body = iface.to_le_bytes().to_vec();
        body.extend_from_slice(&((ts >> 32) as u32).to_le_bytes());
        body.extend_from_slice(&(ts as u32).to_le_bytes());
        body.extend_from_slice(&(data.len() as u32).to_le_bytes());
        body.extend_from_slice(&(data.len() as u32).to_le_bytes());
        body.extend_from_slice(data);
        block(6, &body)
    }

    fn read_all(bytes: Vec<u8>) -> (Vec<(i64, u32, usize)>, ReadStats, Option<CaptureError>) {
        let mut s = FileSource::from_reader("test", Box::new(std::io::Cursor::new(bytes))).unwrap();
        let mut out = Vec::new();
        let err = loop {
            match s.advance() {
                Ok(()) => match s.current() {
                    Some(p) => out.push((p.ts.0, p.linktype, p.data.len())),
                    None => break None,
                },
                Err(e) => break Some(e),
            }
        };
        (out, s.stats().clone(), err)
    }

    #[test]
    fn big_endian_microsecond_pcap() {
        let mut f = vec![
            0xa1, 0xb2, 0xc3, 0xd4, 0, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0,
            101,
        ];
        for (sec, usec) in [(1_700_000_000u32, 5u32), (1_700_000_001, 999_999)] {
            f.extend_from_slice(&sec.to_be_bytes());
            f.extend_from_slice(&usec.to_be_bytes());
            f.extend_from_slice(&3u32.to_be_bytes());
            f.extend_from_slice(&60u32.to_be_bytes());
            f.extend_from_slice(&[0x45, 0, 0]);
        }
        let (frames, stats, err) = read_all(f);
        assert!(err.is_none(), "{err:?}");
        assert_eq!(
            frames,
            vec![
                (1_700_000_000_000_005_000, 101, 3),
                (1_700_000_001_999_999_000, 101, 3)
            ]
        );
        assert_eq!(stats.snaplen_cut, 2);
        assert_eq!(stats.precision, Precision::Micro);
    }

    /// Little-endian nanosecond records read straight from the buffer
    /// (`FileSource::legacy_record`), many more than one buffer holds so
    /// records straddle refills, one over the snapshot length and one
    /// larger than the whole initial buffer.
    #[test]
    fn legacy_records_across_refills() {
        let mut f = vec![0x4d, 0x3c, 0xb2, 0xa1, 2, 0, 4, 0];
        f.extend_from_slice(&[0; 8]);
        f.extend_from_slice(&200u32.to_le_bytes()); // snaplen
        f.extend_from_slice(&1u32.to_le_bytes()); // Ethernet
        let lens: Vec<usize> = (0..30_000usize)
            .map(|i| match i {
                7 => 201,
                20_000 => INITIAL_BUFFER + 5,
                _ => 60 + i % 97,
            })
            .collect();
        for (i, &len) in lens.iter().enumerate() {
            f.extend_from_slice(&(1_700_000_000 + i as u32).to_le_bytes());
            f.extend_from_slice(&(i as u32 * 7).to_le_bytes());
            f.extend_from_slice(&(len as u32).to_le_bytes());
            f.extend_from_slice(&(len as u32 + 1).to_le_bytes());
            f.extend(std::iter::repeat_n(i as u8, len));
        }
        let mut s = FileSource::from_reader("test", Box::new(std::io::Cursor::new(f))).unwrap();
        let mut i = 0;
        while let (Ok(()), Some(p)) = (s.advance(), s.current()) {
            let want_ts = (1_700_000_000 + i as i64) * 1_000_000_000 + i as i64 * 7;
            let want = (want_ts, 1, lens[i], true);
            let every_byte = p.data.iter().all(|&b| b == i as u8);
            assert_eq!(
                (p.ts.0, p.linktype, p.data.len(), every_byte),
                want,
                "frame {i}"
            );
            assert_eq!(p.orig_len as usize, lens[i] + 1);
            i += 1;
        }
        assert_eq!(i, lens.len());
        let stats = s.stats();
        assert_eq!(stats.over_snaplen, 2);
        assert_eq!(stats.snaplen_cut, lens.len() as u64);
        assert_eq!(stats.precision, Precision::Nano);
    }

    #[test]
    fn pcapng_sections_interfaces_and_resolutions() {
        let mut f = shb();
        f.extend(idb(1, None)); // Ethernet, microseconds (the default)
        f.extend(idb(276, Some(9))); // SLL2, nanoseconds
        f.extend(epb(0, 1_700_000_000_000_001, &[1, 2, 3, 4]));
        f.extend(epb(1, 1_700_000_000_000_000_123, &[5; 7]));
        f.extend(epb(7, 1, &[0; 4])); // names an interface never described
                                      // A new section: interface numbers start again.
        f.extend(shb());
        f.extend(idb(101, Some(0x80 | 10))); // raw IP, 2^-10 s
        f.extend(epb(0, 1024 * 1_700_000_002 + 512, &[9; 5]));
        f.extend(block(3, &[4, 0, 0, 0, 0xaa, 0xbb, 0xcc, 0xdd])); // a simple packet block
        f.extend(block(0x0bad, &[0; 8])); // an unknown block is skipped
        let (frames, stats, err) = read_all(f);
        assert!(err.is_none(), "{err:?}");
        assert_eq!(
            frames,
            vec![
                (1_700_000_000_000_001_000, 1, 4),
                (1_700_000_000_000_000_123, 276, 7),
                (1_700_000_002_500_000_000, 101, 5),
                // Timed as the frame before it.
                (1_700_000_002_500_000_000, 101, 4),
            ]
        );
        assert_eq!(stats.unknown_interface, 1);
        assert_eq!(stats.time_went_backwards, 1);
        assert_eq!(stats.precision, Precision::Nano);
    }

    #[test]
    fn every_truncation_gives_a_positioned_error_or_clean_end() {
        let mut f = shb();
        f.extend(idb(1, None));
        f.extend(epb(0, 1, &[1; 40]));
        f.extend(epb(0, 2, &[2; 40]));
        for cut in 0..f.len() {
            let prefix = f[..cut].to_vec();
            match FileSource::from_reader("cut", Box::new(std::io::Cursor::new(prefix))) {
                Err(e) => assert_eq!(e.offset, Some(0), "cut at {cut}: {e}"),
                Ok(mut s) => loop {
                    match s.advance() {
                        Ok(()) if s.current().is_some() => {}
                        Ok(()) => break,
                        Err(e) => {
                            let off = e.offset.unwrap();
                            assert!(off <= cut as u64, "cut at {cut}: {e}");
                            assert!(
                                e.what.contains("ends in the middle")
                                    || e.what.contains("malformed"),
                                "{e}"
                            );
                            break;
                        }
                    }
                },
            }
        }
    }

    #[test]
    fn merge_orders_frames_across_files() {
        let file = |times: &[u64]| {
            let mut f = shb();
            f.extend(idb(1, None));
            for t in times {
                f.extend(epb(0, *t, &[0; 4]));
            }
            FileSource::from_reader("m", Box::new(std::io::Cursor::new(f))).unwrap()
        };
        let mut m = Merge::new(vec![file(&[10, 40, 50]), file(&[20, 30, 60])]);
        let mut seen = Vec::new();
        while let Ok(Some(i)) = m.advance() {
            seen.push(m.packet(i).unwrap().ts.0 / 1000);
        }
        assert_eq!(seen, vec![10, 20, 30, 40, 50, 60]);
    }
}
