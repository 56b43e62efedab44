//! `--write-streams DIR`: each connection's two byte streams as files.
//!
//! `DIR/<id>.client` holds the bytes the client sent and `DIR/<id>.server`
//! the bytes the server sent, each byte at its offset in the stream. A gap
//! (bytes the capture never held) stays a hole of zeros at its offset, and
//! `DIR/<id>.gaps.json` lists every gap, so nothing is glued together.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

/// Bytes gathered per stream before they are written.
const FLUSH_AT: usize = 64 * 1024;

struct Pending {
    off: u64,
    buf: Vec<u8>,
    created: bool,
}

/// The totals for the summary.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StreamsSummary {
    pub dir: String,
    /// Connections that carried data (each has two files and an index).
    pub connections: u64,
    pub bytes: u64,
    pub gaps: u64,
    pub gap_bytes: u64,
    /// Bytes that arrived again with other contents (the first copy was kept).
    pub conflicts: u64,
    /// Holes given up because a connection's out-of-order buffer, or all of
    /// them together, reached the cap.
    pub overflows: u64,
    /// Segments further ahead than any TCP window, left out.
    pub out_of_window: u64,
}

/// One direction in `<id>.gaps.json`.
#[derive(Debug, Serialize)]
pub struct DirIndex {
    pub file: String,
    /// The stream's length: bytes written plus gaps.
    pub length: u64,
    pub gaps: Vec<GapRecord>,
    pub conflicts: u64,
    pub overflows: u64,
    pub out_of_window: u64,
}

#[derive(Debug, Serialize)]
pub struct GapRecord {
    pub offset: u64,
    pub length: u64,
}

/// `<id>.gaps.json`.
#[derive(Debug, Serialize)]
pub struct StreamIndex {
    pub connection: u64,
    pub client: String,
    pub server: String,
    pub client_stream: DirIndex,
    pub server_stream: DirIndex,
}

/// Writes the files.
pub struct StreamFiles {
    dir: PathBuf,
    pending: HashMap<(u64, usize), Pending>,
    pub summary: StreamsSummary,
}

fn context(path: &Path, e: io::Error) -> io::Error {
    io::Error::new(
        e.kind(),
        format!("--write-streams: {}: {e}", path.display()),
    )
}

impl StreamFiles {
    /// Creates `dir` if needed.
    pub fn new(dir: &str) -> io::Result<StreamFiles> {
        let path = PathBuf::from(dir);
        std::fs::create_dir_all(&path).map_err(|e| context(&path, e))?;
        Ok(StreamFiles {
            dir: path,
            pending: HashMap::new(),
            summary: StreamsSummary {
                dir: dir.to_string(),
                ..StreamsSummary::default()
            },
        })
    }

    fn path(&self, id: u64, side: usize) -> PathBuf {
        self.dir.join(format!(
            "{id}.{}",
            if side == 0 { "client" } else { "server" }
        ))
    }

    /// Bytes of connection `id`, direction `side` (0 client, 1 server), at
    /// stream offset `off`.
    pub fn write(&mut self, id: u64, side: usize, off: u64, bytes: &[u8]) -> io::Result<()> {
        self.summary.bytes += bytes.len() as u64;
        let p = self.pending.entry((id, side)).or_insert_with(|| Pending {
            off,
            buf: Vec::new(),
            created: false,
        });
        let contiguous = p.off + p.buf.len() as u64 == off;
        if !contiguous || p.buf.len() >= FLUSH_AT {
            self.flush(id, side)?;
        }
        if let Some(p) = self.pending.get_mut(&(id, side)) {
            if p.buf.is_empty() {
                p.off = off;
            }
            p.buf.extend_from_slice(bytes);
        }
        Ok(())
    }

    fn open(&self, id: u64, side: usize, created: bool) -> io::Result<File> {
        let path = self.path(id, side);
        OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(!created)
            .open(&path)
            .map_err(|e| context(&path, e))
    }

    fn flush(&mut self, id: u64, side: usize) -> io::Result<()> {
        let Some(p) = self.pending.get(&(id, side)) else {
            return Ok(());
        };
        if p.buf.is_empty() && p.created {
            return Ok(());
        }
        let mut f = self.open(id, side, p.created)?;
        let path = self.path(id, side);
        f.seek(SeekFrom::Start(p.off))
            .and_then(|_| f.write_all(&p.buf))
            .map_err(|e| context(&path, e))?;
        if let Some(p) = self.pending.get_mut(&(id, side)) {
            p.off += p.buf.len() as u64;
            p.buf.clear();
            p.created = true;
        }
        Ok(())
    }

    /// The connection is over: writes what is pending, gives each file its
    /// full length (a gap at the end stays visible), and writes the index.
    pub fn finish(&mut self, index: StreamIndex) -> io::Result<()> {
        let id = index.connection;
        for (side, d) in [(0, &index.client_stream), (1, &index.server_stream)] {
            self.pending.entry((id, side)).or_insert(Pending {
                off: 0,
                buf: Vec::new(),
                created: false,
            });
            self.flush(id, side)?;
            self.pending.remove(&(id, side));
            let path = self.path(id, side);
            let f = OpenOptions::new()
                .write(true)
                .open(&path)
                .map_err(|e| context(&path, e))?;
            f.set_len(d.length).map_err(|e| context(&path, e))?;
            self.summary.gaps += d.gaps.len() as u64;
            self.summary.gap_bytes += d.gaps.iter().map(|g| g.length).sum::<u64>();
            self.summary.conflicts += d.conflicts;
            self.summary.overflows += d.overflows;
            self.summary.out_of_window += d.out_of_window;
        }
        self.summary.connections += 1;
        let path = self.dir.join(format!("{id}.gaps.json"));
        let mut bytes = serde_json::to_vec_pretty(&index).map_err(io::Error::other)?;
        bytes.push(b'\n');
        std::fs::write(&path, bytes).map_err(|e| context(&path, e))
    }
}
