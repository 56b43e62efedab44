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
        Cells(vec![EMPTY; n])
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
        let doubled = vec![EMPTY; (self.0.len() * 2).max(16)];
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
