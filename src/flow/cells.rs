//! The index of the program's two large hash tables (the flow table and
//! the host tracker's TIME-WAIT piles): open addressing with linear probing
//! over 8-byte cells, each a slot number in the table's own slab and its
//! key's hash. The owner keeps the load at most one half; deletion shifts
//! back the cells after the hole (no tombstones). A probe compares hashes
//! before the owner compares keys, so a lookup touches one cell and one
//! slot: two cache lines a caller can prefetch ahead of use
//! ([`Cells::prefetch`], [`Cells::likely`]).

/// No slot.
pub(crate) const NIL: u32 = u32::MAX;

/// One cell: a slot and its key's hash (its low bits are the cell's home).
#[derive(Clone, Copy)]
pub(crate) struct Cell {
    pub(crate) hash: u32,
    pub(crate) slot: u32,
}

const EMPTY: Cell = Cell { hash: 0, slot: NIL };

/// What a short probe says of a hash, for prefetching.
pub(crate) enum Likely {
    /// The first cell with the hash: most likely the key's.
    Slot(u32),
    /// An empty cell came first: the key is not there.
    Absent,
    /// Neither within a few probes (or no index).
    Unknown,
}

pub(crate) struct Cells(Vec<Cell>);

impl Cells {
    /// `n` empty cells: a power of two, or 0 for an index that finds
    /// nothing and must not be inserted into.
    pub(crate) fn new(n: usize) -> Self {
        let mut v = with_huge_pages(n);
        v.resize(n, EMPTY);
        Cells(v)
    }

    /// How many cells there are (the owner grows at half load).
    pub(crate) fn capacity(&self) -> usize {
        self.0.len()
    }

    fn mask(&self) -> usize {
        self.0.len().saturating_sub(1)
    }

    /// The slot of the first cell with hash `h` whose slot `is` the key.
    #[inline]
    pub(crate) fn find(&self, h: u32, mut is: impl FnMut(u32) -> bool) -> Option<u32> {
        let mask = self.mask();
        let mut i = h as usize & mask;
        loop {
            let cell = *self.0.get(i)?;
            if cell.slot == NIL {
                return None;
            }
            if cell.hash == h && is(cell.slot) {
                return Some(cell.slot);
            }
            i = (i + 1) & mask;
        }
    }

    /// Asks the CPU to fetch the cell a probe for `h` starts at.
    #[inline]
    pub(crate) fn prefetch(&self, h: u32) {
        if let Some(cell) = self.0.get(h as usize & self.mask()) {
            prefetch(cell as *const Cell as *const u8);
        }
    }

    /// A few probes for `h` (the index is at most half full, so chains are
    /// short): which slot to prefetch. Reads the index, so call it a while
    /// after [`Cells::prefetch`].
    #[inline]
    pub(crate) fn likely(&self, h: u32) -> Likely {
        let mask = self.mask();
        let mut i = h as usize & mask;
        for _ in 0..4 {
            match self.0.get(i) {
                Some(c) if c.slot == NIL => return Likely::Absent,
                Some(c) if c.hash == h => return Likely::Slot(c.slot),
                Some(_) => i = (i + 1) & mask,
                None => return Likely::Unknown,
            }
        }
        Likely::Unknown
    }

    /// Puts a cell in the first empty place from its home.
    pub(crate) fn place(&mut self, cell: Cell) {
        let mask = self.mask();
        let mut i = cell.hash as usize & mask;
        while let Some(c) = self.0.get_mut(i) {
            if c.slot == NIL {
                *c = cell;
                return;
            }
            i = (i + 1) & mask;
        }
    }

    /// Doubles the cells (at least to 16), placing every cell again.
    pub(crate) fn grow(&mut self) {
        let n = (self.0.len() * 2).max(16);
        let mut doubled = with_huge_pages(n);
        doubled.resize(n, EMPTY);
        let old = std::mem::replace(&mut self.0, doubled);
        for cell in old {
            if cell.slot != NIL {
                self.place(cell);
            }
        }
    }

    /// Takes `slot`'s cell (its key's hash is `hash`) out, shifting back
    /// the cells after it that probed past it.
    pub(crate) fn remove(&mut self, slot: u32, hash: u32) {
        let mask = self.mask();
        let mut i = hash as usize & mask;
        loop {
            match self.0.get(i) {
                Some(c) if c.slot == slot => break,
                Some(c) if c.slot != NIL => i = (i + 1) & mask,
                _ => return,
            }
        }
        let mut hole = i;
        let mut j = i;
        loop {
            j = (j + 1) & mask;
            let Some(&cell) = self.0.get(j) else {
                break;
            };
            if cell.slot == NIL {
                break;
            }
            let home = cell.hash as usize & mask;
            // The cell may move to the hole when its home is not in the
            // cyclic range (hole, j].
            let stays = if hole <= j {
                hole < home && home <= j
            } else {
                hole < home || home <= j
            };
            if !stays {
                if let Some(h) = self.0.get_mut(hole) {
                    *h = cell;
                }
                hole = j;
            }
        }
        if let Some(h) = self.0.get_mut(hole) {
            *h = EMPTY;
        }
    }
}

/// Prefetches the first `bytes` of `s`, a cache line at a time.
#[inline]
pub(crate) fn prefetch_bytes<T>(s: &T, bytes: usize) {
    let p = s as *const T as *const u8;
    let n = bytes.min(std::mem::size_of::<T>());
    let mut off = 0;
    while off < n {
        prefetch(p.wrapping_add(off));
        off += 64;
    }
}

/// A hint to the CPU to bring `p`'s cache line in; never faults, whatever
/// `p` is.
#[inline(always)]
pub(crate) fn prefetch(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: prefetching never dereferences in the language's sense and
    // never faults, even on an invalid address (Intel SDM, PREFETCHh).
    #[allow(unused_unsafe)]
    unsafe {
        std::arch::x86_64::_mm_prefetch(p as *const i8, std::arch::x86_64::_MM_HINT_T0);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// The huge page Linux backs an advised range with (x86-64, and arm64 with
/// 4 KB base pages).
const HUGE_PAGE: usize = 2 << 20;

/// An empty vector with room for `n`, whose allocation Linux is asked to
/// back with transparent huge pages (`madvise(MADV_HUGEPAGE)`, for kernels
/// whose THP setting is `madvise`, the common default) before anything is
/// written to it. The slab and the index are read at random, a cache line
/// a packet: with 4 KB pages nearly every such read also misses the TLB
/// (twice as costly under a VM's nested page tables) and every first
/// write of a page faults; with 2 MB pages neither does. Only the whole
/// 2 MB pages inside the allocation are advised; where the kernel says no,
/// nothing changes.
pub(crate) fn with_huge_pages<T>(n: usize) -> Vec<T> {
    let v = Vec::with_capacity(n);
    #[cfg(target_os = "linux")]
    {
        let start = v.as_ptr() as usize;
        let end = start.saturating_add(v.capacity().saturating_mul(std::mem::size_of::<T>()));
        let first = start.div_ceil(HUGE_PAGE).saturating_mul(HUGE_PAGE);
        let last = end / HUGE_PAGE * HUGE_PAGE;
        if last > first {
            // SAFETY: the range lies inside `v`'s own allocation, and
            // MADV_HUGEPAGE only changes how the kernel backs it, never
            // its contents or whether it is mapped (madvise(2)).
            unsafe {
                libc::madvise(
                    first as *mut libc::c_void,
                    last - first,
                    libc::MADV_HUGEPAGE,
                );
            }
        }
    }
    v
}

/// Whether the allocation at `start` carries the huge-page advice: its
/// first whole huge page is `THPeligible` in /proc/self/smaps. An error,
/// saying why, where that cannot tell: only under the `madvise` setting
/// does eligibility follow from the advice alone.
#[cfg(test)]
pub(crate) fn huge_page_advised(start: *const u8) -> Result<bool, String> {
    let setting = std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled")
        .map_err(|e| format!("no transparent huge pages here ({e})"))?;
    if !setting.contains("[madvise]") {
        return Err(format!(
            "the THP setting is {}, where eligibility does not follow from the advice",
            setting.trim()
        ));
    }
    let inside = (start as usize).div_ceil(HUGE_PAGE) * HUGE_PAGE;
    let smaps = std::fs::read_to_string("/proc/self/smaps").map_err(|e| e.to_string())?;
    // A mapping's header line `lo-hi perms ...`, then its `Field: value`
    // lines.
    let mut inside_mapping = false;
    for line in smaps.lines() {
        let first = line.split_whitespace().next().unwrap_or_default();
        if let Some((lo, hi)) = first.split_once('-').filter(|_| !first.ends_with(':')) {
            let lo = usize::from_str_radix(lo, 16).map_err(|e| e.to_string())?;
            let hi = usize::from_str_radix(hi, 16).map_err(|e| e.to_string())?;
            inside_mapping = (lo..hi).contains(&inside);
        } else if let Some(v) = line.strip_prefix("THPeligible:").filter(|_| inside_mapping) {
            return Ok(v.trim() == "1");
        }
    }
    Err(format!("no mapping holds {inside:#x}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The index asks for huge pages when it is made and when it grows,
    /// and grows without losing a cell.
    #[test]
    fn the_index_is_advised_huge_pages() {
        let n = (8 << 20) / std::mem::size_of::<Cell>();
        let cells = Cells::new(n);
        match huge_page_advised(cells.0.as_ptr().cast()) {
            Ok(advised) => assert!(advised, "a new index has no huge-page advice"),
            Err(why) => eprintln!("skipped the huge-page check: {why}"),
        }
        let mut cells = Cells::new(n / 2);
        cells.place(Cell { hash: 7, slot: 3 });
        cells.grow();
        assert_eq!(cells.capacity(), n);
        assert!(matches!(cells.likely(7), Likely::Slot(3)));
        match huge_page_advised(cells.0.as_ptr().cast()) {
            Ok(advised) => assert!(advised, "a grown index has no huge-page advice"),
            Err(why) => eprintln!("skipped the huge-page check: {why}"),
        }
    }
}
