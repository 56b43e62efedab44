//! The map behind the host tracker's TIME-WAIT piles: keyed by (host,
//! server), one entry per pile, looked up once per TIME-WAIT that begins.
//!
//! On captures of many clients it holds a pile per client and is far
//! larger than the cache, so a lookup waits for memory twice (the index,
//! then the entry). It is built like the flow table, on the same index
//! (`flow/cells.rs`), so that a caller who knows a key's hash early can
//! have both fetched ahead of use ([`PileMap::prefetch_cell`],
//! [`PileMap::prefetch_entry`]); the entries are in a slab.

use std::hash::Hash;

use crate::flow::cells::{prefetch, Cell, Cells, Likely};

struct Entry<K, V> {
    hash: u32,
    key: K,
    /// `None` while the slot is free.
    value: Option<V>,
}

/// A key's hash (fixed seeds: nothing to draw at start). The map's order
/// of iteration is its slab's, which follows the inserts and removals
/// only, never the hashes.
pub(super) fn pile_hash<K: Hash>(key: &K) -> u32 {
    let state = ahash::RandomState::with_seeds(
        0x5851_f42d_4c95_7f2d,
        0x1405_7b7e_f767_814f,
        0x9e37_79b9_7f4a_7c15,
        0xbf58_476d_1ce4_e5b9,
    );
    state.hash_one(key) as u32
}

pub(super) struct PileMap<K, V> {
    index: Cells,
    entries: Vec<Entry<K, V>>,
    free: Vec<u32>,
    len: usize,
}

impl<K, V> std::fmt::Debug for PileMap<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PileMap").field("len", &self.len).finish()
    }
}

impl<K: Eq + Copy, V: Default> Default for PileMap<K, V> {
    fn default() -> Self {
        PileMap {
            index: Cells::new(16),
            entries: Vec::new(),
            free: Vec::new(),
            len: 0,
        }
    }
}

impl<K: Eq + Copy, V: Default> PileMap<K, V> {
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// The slot holding `key` (whose hash is `h`).
    pub(super) fn find(&self, h: u32, key: &K) -> Option<u32> {
        self.index.find(h, |slot| {
            self.entries
                .get(slot as usize)
                .is_some_and(|e| e.key == *key && e.value.is_some())
        })
    }

    /// The value for `key`, added (as `V::default()`) when missing.
    pub(super) fn entry(&mut self, h: u32, key: K) -> Option<&mut V> {
        let slot = match self.find(h, &key) {
            Some(slot) => slot,
            None => self.insert(h, key),
        };
        self.get_mut(slot)
    }

    fn insert(&mut self, h: u32, key: K) -> u32 {
        if (self.len + 1) * 2 > self.index.capacity() {
            self.index.grow();
        }
        let entry = Entry {
            hash: h,
            key,
            value: Some(V::default()),
        };
        let slot = match self.free.pop() {
            Some(slot) => {
                if let Some(e) = self.entries.get_mut(slot as usize) {
                    *e = entry;
                }
                slot
            }
            None => {
                self.entries.push(entry);
                (self.entries.len() - 1) as u32
            }
        };
        self.index.place(Cell { hash: h, slot });
        self.len += 1;
        slot
    }

    pub(super) fn get_mut(&mut self, slot: u32) -> Option<&mut V> {
        self.entries.get_mut(slot as usize)?.value.as_mut()
    }

    /// Takes `slot` out: its cell leaves the index, and the cells after it
    /// that probed past it shift back.
    fn remove(&mut self, slot: u32) {
        let Some(hash) = self
            .entries
            .get_mut(slot as usize)
            .filter(|e| e.value.is_some())
            .map(|e| {
                e.value = None;
                e.hash
            })
        else {
            return;
        };
        self.free.push(slot);
        self.len -= 1;
        self.index.remove(slot, hash);
    }

    /// Keeps the entries `keep` says to keep.
    pub(super) fn retain(&mut self, mut keep: impl FnMut(&K, &mut V) -> bool) {
        // Removing leaves the slab where it is (it frees the slot and
        // shifts index cells), so entries can go as the walk meets them.
        for slot in 0..self.entries.len() {
            let kept = match self.entries.get_mut(slot) {
                Some(Entry {
                    key,
                    value: Some(v),
                    ..
                }) => keep(key, v),
                _ => true,
            };
            if !kept {
                self.remove(slot as u32);
            }
        }
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = (&K, &V)> + '_ {
        self.entries
            .iter()
            .filter_map(|e| Some((&e.key, e.value.as_ref()?)))
    }

    pub(super) fn iter_mut(&mut self) -> impl Iterator<Item = (&K, &mut V)> + '_ {
        self.entries
            .iter_mut()
            .filter_map(|e| Some((&e.key, e.value.as_mut()?)))
    }

    /// Asks the CPU to fetch the index cell a lookup of hash `h` starts at.
    pub(super) fn prefetch_cell(&self, h: u32) {
        self.index.prefetch(h);
    }

    /// Asks the CPU to fetch the entry the first cell with hash `h` names,
    /// or when there is none the free slot an insert would fill (a new
    /// pile: most are, where each client holds one TIME-WAIT). Reads the
    /// index: call it a while after [`PileMap::prefetch_cell`].
    pub(super) fn prefetch_entry(&self, h: u32) {
        let slot = match self.index.likely(h) {
            Likely::Slot(slot) => Some(slot),
            Likely::Absent => self.free.last().copied(),
            Likely::Unknown => None,
        };
        if let Some(e) = slot.and_then(|s| self.entries.get(s as usize)) {
            prefetch(e as *const Entry<K, V> as *const u8);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// Against std's map, with hashes made to collide and wrap around.
    #[test]
    fn behaves_as_a_map_under_churn() {
        let mut m: PileMap<u32, u64> = PileMap::default();
        let mut model: HashMap<u32, u64> = HashMap::new();
        // Few distinct hashes, all near the index's end: long probe runs
        // that wrap, and deletions inside them.
        let h = |k: u32| 0xffff_fff0 | (k % 7);
        let mut x: u64 = 1;
        for step in 0..20_000u32 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let k = (x >> 33) as u32 % 300;
            match x % 3 {
                0 | 1 => {
                    if let Some(v) = m.entry(h(k), k) {
                        *v += 1;
                    }
                    *model.entry(k).or_default() += 1;
                }
                _ => {
                    let before = model.len();
                    m.retain(|&key, _| key != k);
                    model.remove(&k);
                    assert!(model.len() <= before);
                }
            }
            if step % 1000 == 0 {
                assert_eq!(m.len(), model.len());
                for (k, v) in &model {
                    let slot = m.find(h(*k), k).expect("present");
                    assert_eq!(m.get_mut(slot).copied(), Some(*v));
                }
                let mut ours: Vec<(u32, u64)> = m.iter().map(|(k, v)| (*k, *v)).collect();
                ours.sort_unstable();
                let mut theirs: Vec<(u32, u64)> = model.iter().map(|(k, v)| (*k, *v)).collect();
                theirs.sort_unstable();
                assert_eq!(ours, theirs);
            }
        }
    }
}
