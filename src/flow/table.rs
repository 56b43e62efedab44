//! The connection table: a hash map from [`FlowKey`] to a slot in a slab,
//! with every slot on one of two recency lists.
//!
//! Each list is ordered by the time (a caller-given stamp) a connection was
//! linked into it. Recency is kept lazily: a packet does not move its
//! connection (that would touch two cold neighbours per packet); instead
//! whoever sweeps the tail requeues connections used since they were
//! linked. The table never scans itself.

use super::cells::{prefetch_bytes, Cell, Cells, Likely, NIL};
use super::FlowKey;

/// Index of a connection's slot.
pub type SlotId = u32;

/// Slots per chunk of the slab. Chunks never move once allocated, so the
/// slab grows without copying kilobyte-sized connections (or doubling its
/// memory for a moment, as a growing `Vec` would). A chunk of 16384 slots
/// (about 18 MB, reserved, not touched until used) lies nearly all in
/// whole 2 MB pages, which it asks the kernel to back with huge pages
/// ([`super::cells::with_huge_pages`]); with 4096 slots only about half
/// of the slab did.
const CHUNK_BITS: u32 = 14;
const CHUNK: usize = 1 << CHUNK_BITS;

/// The recency list a connection is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum List {
    /// Connections still open (or half-open); evicted after the idle timeout.
    Open = 0,
    /// Connections both of whose ends are done, without a reset; evicted
    /// once their TIME-WAIT window has passed.
    Closed = 1,
    /// Connections ended by a reset; evicted after a shorter linger. A
    /// list of their own keeps every list's timeout uniform, so a sweep of
    /// a list's tail finds every connection whose time is up.
    Reset = 2,
}

/// A value that knows its key, so that its slot keeps no copy of it (a
/// connection holds its endpoints anyway; 40 bytes fewer per slot is 4%
/// more of the open connections in cache).
pub trait Keyed {
    fn has_key(&self, key: &FlowKey) -> bool;
}

struct Slot<C> {
    /// The value; after [`FlowTable::release`] it stays until the slot is
    /// reused, but the slot is no longer `live`.
    value: Option<C>,
    live: bool,
    /// The key's hash (its low bits place it in the index).
    hash: u32,
    list: List,
    /// When the slot was linked at its list's head.
    stamp: i64,
    prev: u32,
    next: u32,
}

#[derive(Clone, Copy)]
struct Ends {
    head: u32,
    tail: u32,
}

/// A key's hash, computed once per packet: it finds the key in the index
/// and lets the pipeline prefetch the index cell and the slot ahead of use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyHash(pub u32);

/// Connections by key, each on a recency list.
///
/// The index is open addressing with linear probing over 8-byte cells
/// (load at most one half, backward-shift deletion, so no tombstones), and
/// the values live inline in a chunked slab: a lookup is one index cell
/// and one slot, two cache lines that [`FlowTable::prefetch_cell`] and
/// [`FlowTable::prefetch_slot`] can bring in ahead of time.
pub struct FlowTable<C> {
    index: Cells,
    len: usize,
    chunks: Vec<Vec<Slot<C>>>,
    free: Vec<SlotId>,
    lists: [Ends; 3],
}

impl<C> Default for FlowTable<C> {
    fn default() -> Self {
        Self::new()
    }
}

impl<C> FlowTable<C> {
    pub fn new() -> Self {
        FlowTable::with_index(Cells::new(64))
    }

    /// An empty table that allocates nothing, to stand in while the real
    /// one is borrowed elsewhere; using it finds nothing and inserts
    /// nowhere.
    pub fn placeholder() -> Self {
        FlowTable::with_index(Cells::new(0))
    }

    fn with_index(index: Cells) -> Self {
        FlowTable {
            index,
            len: 0,
            chunks: Vec::new(),
            free: Vec::new(),
            lists: [Ends {
                head: NIL,
                tail: NIL,
            }; 3],
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// Fixed keys: a key hashes alike in every run and in every thread, so the
/// reading thread of a `--threads` run can pick a key's worker by it.
const HASHER: ahash::RandomState = ahash::RandomState::with_seeds(
    0x243f_6a88_85a3_08d3,
    0x1319_8a2e_0370_7344,
    0xa409_3822_299f_31d0,
    0x082e_fa98_ec4e_6c89,
);

/// A key's hash, as every [`FlowTable`] takes it ([`FlowTable::find_hashed`],
/// the prefetches).
///
/// An IPv4 key (nearly every packet) is mixed as two words, the addresses
/// then the ports, each by a folded multiply (as ahash folds): the
/// derived `Hash` would feed each enum's tag and bytes through separately.
pub fn hash_key(key: &FlowKey) -> KeyHash {
    match (key.lo.ip, key.hi.ip) {
        (std::net::IpAddr::V4(a), std::net::IpAddr::V4(b)) => {
            hash_v4(u32::from(a), key.lo.port, u32::from(b), key.hi.port)
        }
        _ => fold(HASHER.hash_one(key)),
    }
}

/// [`hash_key`] of the IPv4 key whose `lo` is `lo_ip:lo_port` and whose
/// `hi` is `hi_ip:hi_port`.
#[inline]
pub fn hash_v4(lo_ip: u32, lo_port: u16, hi_ip: u32, hi_port: u16) -> KeyHash {
    let ips = (u64::from(lo_ip) << 32) | u64::from(hi_ip);
    let ports = (u64::from(lo_port) << 16) | u64::from(hi_port);
    let h = folded_multiply(ips ^ 0x243f_6a88_85a3_08d3, 0x1319_8a2e_0370_7344);
    fold(folded_multiply(h ^ ports, 0xa409_3822_299f_31d0))
}

fn fold(h: u64) -> KeyHash {
    KeyHash((h ^ (h >> 32)) as u32)
}

/// The high and low halves of a full 64×64 product, xored: every input
/// bit reaches the middle bits of the result.
fn folded_multiply(a: u64, b: u64) -> u64 {
    let full = u128::from(a) * u128::from(b);
    (full as u64) ^ ((full >> 64) as u64)
}

impl KeyHash {
    /// Which of `n` workers owns the key: from the hash's high bits, as the
    /// table's index uses the low ones (so each worker's table still
    /// spreads its keys over every cell).
    pub fn shard(self, n: usize) -> usize {
        ((u64::from(self.0) * n as u64) >> 32) as usize
    }
}

impl<C: Keyed> FlowTable<C> {
    fn slot(&self, id: SlotId) -> Option<&Slot<C>> {
        self.chunks
            .get((id >> CHUNK_BITS) as usize)?
            .get(id as usize & (CHUNK - 1))
    }

    fn slot_mut(&mut self, id: SlotId) -> Option<&mut Slot<C>> {
        self.chunks
            .get_mut((id >> CHUNK_BITS) as usize)?
            .get_mut(id as usize & (CHUNK - 1))
    }

    pub fn find(&self, key: &FlowKey) -> Option<SlotId> {
        self.find_hashed(key, hash_key(key))
    }

    /// [`FlowTable::find`] with the key's hash already computed.
    pub fn find_hashed(&self, key: &FlowKey, h: KeyHash) -> Option<SlotId> {
        self.index
            .find(h.0, |slot| self.get(slot).is_some_and(|c| c.has_key(key)))
    }

    /// Asks the CPU to fetch the index cell `h` starts probing at.
    pub fn prefetch_cell(&self, h: KeyHash) {
        self.index.prefetch(h.0);
    }

    /// Asks the CPU to fetch the slot the first cell with hash `h` points
    /// to (the likely match), up to `bytes` of it. Reads the index, so
    /// call it a while after [`FlowTable::prefetch_cell`].
    pub fn prefetch_slot(&self, h: KeyHash, bytes: usize) {
        match self.index.likely(h.0) {
            Likely::Slot(id) => self.prefetch_id(id, bytes),
            // Most likely a new connection: the slot an insert takes next
            // (the last one released), whose old value it drops and whose
            // kilobyte it then writes.
            Likely::Absent => {
                if let Some(&id) = self.free.last() {
                    self.prefetch_id(id, bytes);
                }
            }
            Likely::Unknown => {}
        }
    }

    /// Asks the CPU to fetch up to `bytes` of slot `id` (live or
    /// released): a sweep judges connections untouched for a long while.
    pub fn prefetch_id(&self, id: SlotId, bytes: usize) {
        if let Some(s) = self.slot(id) {
            prefetch_bytes(s, bytes);
        }
    }

    pub fn get(&self, id: SlotId) -> Option<&C> {
        let s = self.slot(id)?;
        s.value.as_ref().filter(|_| s.live)
    }

    pub fn get_mut(&mut self, id: SlotId) -> Option<&mut C> {
        let s = self.slot_mut(id)?;
        match s.live {
            true => s.value.as_mut(),
            false => None,
        }
    }

    /// Adds a connection at the head of `list`, stamped `stamp`. The key
    /// must not be present, and must be the value's.
    pub fn insert(&mut self, key: FlowKey, value: C, list: List, stamp: i64) -> SlotId {
        self.insert_with(key, hash_key(&key), list, stamp, || value)
    }

    /// [`FlowTable::insert`] with the key's hash already computed, the
    /// value made by `make` once its slot is chosen (and the slot's old,
    /// released value dropped there).
    pub fn insert_with(
        &mut self,
        key: FlowKey,
        h: KeyHash,
        list: List,
        stamp: i64,
        make: impl FnOnce() -> C,
    ) -> SlotId {
        let make = || {
            let value = make();
            debug_assert!(value.has_key(&key), "a value inserted under another key");
            value
        };
        if (self.len + 1) * 2 > self.index.capacity() {
            self.index.grow();
        }
        let id = match self.free.pop() {
            Some(id) => {
                if let Some(s) = self.slot_mut(id) {
                    s.value = Some(make());
                    s.live = true;
                    s.hash = h.0;
                }
                id
            }
            None => {
                if self.chunks.last().is_none_or(|c| c.len() == CHUNK) {
                    self.chunks.push(super::cells::with_huge_pages(CHUNK));
                }
                let n = self.chunks.len() - 1;
                let mut at = 0;
                if let Some(c) = self.chunks.last_mut() {
                    at = c.len();
                    c.push(Slot {
                        value: Some(make()),
                        live: true,
                        hash: h.0,
                        list,
                        stamp,
                        prev: NIL,
                        next: NIL,
                    });
                }
                ((n << CHUNK_BITS) + at) as SlotId
            }
        };
        self.index.place(Cell {
            hash: h.0,
            slot: id,
        });
        self.len += 1;
        self.link_head(id, list, stamp);
        id
    }

    /// Puts a connection on `list`: a no-op when it is there already (see
    /// the module comment), else it moves to that list's head with `stamp`.
    pub fn touch(&mut self, id: SlotId, list: List, stamp: i64) {
        if self.slot(id).is_some_and(|s| s.list != list) {
            self.requeue_on(id, list, stamp);
        }
    }

    /// Moves a connection to the head of its list with a new stamp.
    pub fn requeue(&mut self, id: SlotId, stamp: i64) {
        if let Some(list) = self.slot(id).map(|s| s.list) {
            self.requeue_on(id, list, stamp);
        }
    }

    fn requeue_on(&mut self, id: SlotId, list: List, stamp: i64) {
        self.unlink(id);
        self.link_head(id, list, stamp);
    }

    /// The connection at the tail of `list` (the earliest stamp), and its
    /// stamp.
    pub fn oldest(&self, list: List) -> Option<(SlotId, i64)> {
        let t = self.lists[list as usize].tail;
        self.slot(t).map(|s| (t, s.stamp))
    }

    /// Asks the CPU to fetch what a sweep that takes `id` off its list's
    /// tail reads next: the connection after it (up to `bytes`), and the
    /// index cell that releasing `id` rewrites. A sweep walks a list of
    /// connections cold for a timeout, one link at a time; this overlaps
    /// the next one's fetch with the work on this one.
    pub fn prefetch_next_oldest(&self, id: SlotId, bytes: usize) {
        if let Some(s) = self.slot(id) {
            self.prefetch_id(s.prev, bytes);
            self.index.prefetch(s.hash);
        }
    }

    /// Takes a connection out of the table, leaving its value where it is
    /// until the slot is used again: the caller reads it in place
    /// ([`FlowTable::released`]) instead of moving a large value out.
    pub fn release(&mut self, id: SlotId) -> Option<&C> {
        let s = self.slot(id)?;
        if !s.live {
            return None;
        }
        let hash = s.hash;
        self.unlink(id);
        self.index.remove(id, hash);
        self.len -= 1;
        self.free.push(id);
        let s = self.slot_mut(id)?;
        s.live = false;
        s.value.as_ref()
    }

    /// A value [`FlowTable::release`] left in its slot (until the next
    /// insert), or a live one.
    pub fn released(&self, id: SlotId) -> Option<&C> {
        self.slot(id)?.value.as_ref()
    }

    /// Every connection with its slot, in no particular order.
    pub fn ids(&self) -> impl Iterator<Item = (SlotId, &C)> + '_ {
        self.chunks.iter().enumerate().flat_map(|(n, c)| {
            c.iter().enumerate().filter_map(move |(i, s)| {
                let value = s.value.as_ref().filter(|_| s.live)?;
                Some((((n << CHUNK_BITS) + i) as SlotId, value))
            })
        })
    }

    /// Every connection, in no particular order.
    pub fn values(&self) -> impl Iterator<Item = &C> + '_ {
        self.ids().map(|(_, c)| c)
    }

    fn link_head(&mut self, id: SlotId, list: List, stamp: i64) {
        let ends = &mut self.lists[list as usize];
        let old_head = ends.head;
        ends.head = id;
        if ends.tail == NIL {
            ends.tail = id;
        }
        if let Some(h) = self.slot_mut(old_head) {
            h.prev = id;
        }
        if let Some(s) = self.slot_mut(id) {
            s.list = list;
            s.stamp = stamp;
            s.prev = NIL;
            s.next = old_head;
        }
    }

    fn unlink(&mut self, id: SlotId) {
        let Some(s) = self.slot(id) else {
            return;
        };
        let (prev, next, list) = (s.prev, s.next, s.list);
        match self.slot_mut(prev) {
            Some(p) => p.next = next,
            None => self.lists[list as usize].head = next,
        }
        match self.slot_mut(next) {
            Some(n) => n.prev = prev,
            None => self.lists[list as usize].tail = prev,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::SocketAddr;

    /// A test value and the key it is filed under.
    #[derive(Debug, PartialEq)]
    struct Kv<T>(FlowKey, T);

    impl<T> Keyed for Kv<T> {
        fn has_key(&self, key: &FlowKey) -> bool {
            self.0 == *key
        }
    }

    fn kv<T>(port: u16, v: T) -> Kv<T> {
        Kv(key(port), v)
    }

    /// The slab's chunks ask for huge pages (for connection-sized values a
    /// chunk spans several).
    #[test]
    fn slab_chunks_are_advised_huge_pages() {
        let mut t: FlowTable<Kv<[u8; 1024]>> = FlowTable::new();
        t.insert(key(1), kv(1, [0; 1024]), List::Open, 0);
        let Some(chunk) = t.chunks.first() else {
            panic!("an insert made no chunk");
        };
        match super::super::cells::huge_page_advised(chunk.as_ptr().cast()) {
            Ok(advised) => assert!(advised, "a slab chunk has no huge-page advice"),
            Err(why) => eprintln!("skipped the huge-page check: {why}"),
        }
    }

    fn key(port: u16) -> FlowKey {
        let a = SocketAddr {
            ip: "10.0.0.1".parse().unwrap(),
            port,
        };
        let b = SocketAddr {
            ip: "10.0.0.2".parse().unwrap(),
            port: 80,
        };
        FlowKey::of(a, b).0
    }

    #[test]
    fn lists_keep_link_order_and_touch_only_moves_between_lists() {
        let mut t = FlowTable::new();
        let a = t.insert(key(1), kv(1, "a"), List::Open, 10);
        let b = t.insert(key(2), kv(2, "b"), List::Open, 20);
        let c = t.insert(key(3), kv(3, "c"), List::Open, 30);
        assert_eq!(t.oldest(List::Open), Some((a, 10)));
        // Staying on its list, a connection does not move.
        t.touch(a, List::Open, 40);
        assert_eq!(t.oldest(List::Open), Some((a, 10)));
        // The sweeper requeues it instead.
        t.requeue(a, 40);
        assert_eq!(t.oldest(List::Open), Some((b, 20)));
        // Changing lists moves it to the other list's head.
        t.touch(b, List::Closed, 50);
        assert_eq!(t.oldest(List::Open), Some((c, 30)));
        assert_eq!(t.oldest(List::Closed), Some((b, 50)));
        assert_eq!(t.release(c).map(|v| v.1), Some("c"));
        assert_eq!(t.oldest(List::Open), Some((a, 40)));
        assert_eq!(t.find(&key(3)), None);
        // A freed slot is reused.
        let d = t.insert(key(4), kv(4, "d"), List::Open, 60);
        assert_eq!(d, c);
        assert_eq!(t.len(), 3);
        assert_eq!(t.release(a).map(|v| v.1), Some("a"));
        assert_eq!(t.released(a).map(|v| v.1), Some("a"), "left in its slot");
        assert_eq!(t.release(d).map(|v| v.1), Some("d"));
        assert_eq!(t.oldest(List::Open), None);
        assert_eq!(t.release(d), None);
        assert_eq!(t.values().count(), 1);
    }

    /// The index against a `HashMap` model under random inserts and
    /// removes, with the hash squeezed to few bits so probe chains collide,
    /// wrap around the index's end and shift back on removal.
    #[test]
    fn index_matches_a_map_under_churn() {
        let mut t: FlowTable<Kv<u32>> = FlowTable::new();
        let mut model = std::collections::HashMap::new();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for step in 0..200_000u32 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let k = key((x % 600) as u16);
            // Few distinct hashes, all homed at the index's end: long chains
            // that wrap around, and many shifts.
            let h = KeyHash(u32::MAX - (x >> 20) as u32 % 61);
            match model.get(&(x % 600)) {
                Some(&(id, hh)) if step % 3 != 0 => {
                    assert_eq!(t.find_hashed(&k, hh), Some(id));
                    assert!(t.release(id).is_some());
                    model.remove(&(x % 600));
                    assert_eq!(t.find_hashed(&k, hh), None);
                }
                Some(_) => {}
                None => {
                    let id = t.insert_with(k, h, List::Open, i64::from(step), || Kv(k, step));
                    model.insert(x % 600, (id, h));
                }
            }
            if step % 10_000 == 0 {
                for (port, &(id, hh)) in &model {
                    assert_eq!(t.find_hashed(&key(*port as u16), hh), Some(id));
                }
            }
        }
        assert_eq!(t.len(), model.len());
        assert_eq!(t.values().count(), model.len());
    }

    #[test]
    fn release_leaves_the_value_readable_until_the_slot_is_reused() {
        let mut t = FlowTable::new();
        let a = t.insert(key(1), kv(1, String::from("a")), List::Closed, 1);
        assert_eq!(t.release(a).map(|v| v.1.as_str()), Some("a"));
        assert_eq!(t.get(a), None);
        assert_eq!(t.find(&key(1)), None);
        assert_eq!(t.release(a), None);
        assert_eq!(t.oldest(List::Closed), None);
        let b = t.insert(key(2), kv(2, String::from("b")), List::Open, 2);
        assert_eq!(b, a);
        assert_eq!(t.ids().count(), 1);
    }
}
