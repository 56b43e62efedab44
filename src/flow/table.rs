//! The connection table: a hash map from [`FlowKey`] to a slot in a slab,
//! with every slot on one of two recency lists.
//!
//! Each list is ordered by the time (a caller-given stamp) a connection was
//! linked into it. Recency is kept lazily: a packet does not move its
//! connection (that would touch two cold neighbours per packet); instead
//! whoever sweeps the tail requeues connections used since they were
//! linked. The table never scans itself.

use std::collections::HashMap;

use super::FlowKey;

/// Index of a connection's slot.
pub type SlotId = u32;

const NIL: u32 = u32::MAX;

/// The recency list a connection is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum List {
    /// Connections still open (or half-open); evicted after the idle timeout.
    Open = 0,
    /// Connections both of whose ends are done (closed or reset); evicted
    /// once their TIME-WAIT window has passed.
    Closed = 1,
}

struct Slot<C> {
    key: FlowKey,
    value: Option<C>,
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

/// Connections by key, each on a recency list.
pub struct FlowTable<C> {
    map: HashMap<FlowKey, SlotId, ahash::RandomState>,
    slots: Vec<Slot<C>>,
    free: Vec<SlotId>,
    lists: [Ends; 2],
}

impl<C> Default for FlowTable<C> {
    fn default() -> Self {
        Self::new()
    }
}

impl<C> FlowTable<C> {
    pub fn new() -> Self {
        FlowTable {
            map: HashMap::with_hasher(ahash::RandomState::new()),
            slots: Vec::new(),
            free: Vec::new(),
            lists: [Ends {
                head: NIL,
                tail: NIL,
            }; 2],
        }
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn find(&self, key: &FlowKey) -> Option<SlotId> {
        self.map.get(key).copied()
    }

    pub fn get(&self, id: SlotId) -> Option<&C> {
        self.slots.get(id as usize)?.value.as_ref()
    }

    pub fn get_mut(&mut self, id: SlotId) -> Option<&mut C> {
        self.slots.get_mut(id as usize)?.value.as_mut()
    }

    /// Adds a connection at the head of `list`, stamped `stamp`. The key
    /// must not be present.
    pub fn insert(&mut self, key: FlowKey, value: C, list: List, stamp: i64) -> SlotId {
        let slot = Slot {
            key,
            value: Some(value),
            list,
            stamp,
            prev: NIL,
            next: NIL,
        };
        let id = match self.free.pop() {
            Some(id) => {
                if let Some(s) = self.slots.get_mut(id as usize) {
                    *s = slot;
                }
                id
            }
            None => {
                self.slots.push(slot);
                (self.slots.len() - 1) as SlotId
            }
        };
        self.map.insert(key, id);
        self.link_head(id, list, stamp);
        id
    }

    /// Puts a connection on `list`: a no-op when it is there already (see
    /// the module comment), else it moves to that list's head with `stamp`.
    pub fn touch(&mut self, id: SlotId, list: List, stamp: i64) {
        if self.slots.get(id as usize).is_some_and(|s| s.list != list) {
            self.requeue_on(id, list, stamp);
        }
    }

    /// Moves a connection to the head of its list with a new stamp.
    pub fn requeue(&mut self, id: SlotId, stamp: i64) {
        if let Some(list) = self.slots.get(id as usize).map(|s| s.list) {
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
        self.slots.get(t as usize).map(|s| (t, s.stamp))
    }

    /// Takes a connection out of the table.
    pub fn remove(&mut self, id: SlotId) -> Option<(FlowKey, C)> {
        let s = self.slots.get(id as usize)?;
        s.value.as_ref()?;
        self.unlink(id);
        let s = self.slots.get_mut(id as usize)?;
        let key = s.key;
        let value = s.value.take()?;
        self.map.remove(&key);
        self.free.push(id);
        Some((key, value))
    }

    /// Every connection, in no particular order.
    pub fn values(&self) -> impl Iterator<Item = &C> + '_ {
        self.slots.iter().filter_map(|s| s.value.as_ref())
    }

    /// Takes every connection out, in no particular order.
    pub fn drain(&mut self) -> impl Iterator<Item = (FlowKey, C)> + '_ {
        self.map.clear();
        self.free.clear();
        self.lists = [Ends {
            head: NIL,
            tail: NIL,
        }; 2];
        self.slots
            .drain(..)
            .filter_map(|s| s.value.map(|v| (s.key, v)))
    }

    fn link_head(&mut self, id: SlotId, list: List, stamp: i64) {
        let ends = &mut self.lists[list as usize];
        let old_head = ends.head;
        ends.head = id;
        if ends.tail == NIL {
            ends.tail = id;
        }
        if let Some(h) = self.slots.get_mut(old_head as usize) {
            h.prev = id;
        }
        if let Some(s) = self.slots.get_mut(id as usize) {
            s.list = list;
            s.stamp = stamp;
            s.prev = NIL;
            s.next = old_head;
        }
    }

    fn unlink(&mut self, id: SlotId) {
        let Some(s) = self.slots.get(id as usize) else {
            return;
        };
        let (prev, next, list) = (s.prev, s.next, s.list);
        match self.slots.get_mut(prev as usize) {
            Some(p) => p.next = next,
            None => self.lists[list as usize].head = next,
        }
        match self.slots.get_mut(next as usize) {
            Some(n) => n.prev = prev,
            None => self.lists[list as usize].tail = prev,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::SocketAddr;

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
        let a = t.insert(key(1), "a", List::Open, 10);
        let b = t.insert(key(2), "b", List::Open, 20);
        let c = t.insert(key(3), "c", List::Open, 30);
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
        assert_eq!(t.remove(c), Some((key(3), "c")));
        assert_eq!(t.oldest(List::Open), Some((a, 40)));
        assert_eq!(t.find(&key(3)), None);
        // A freed slot is reused.
        let d = t.insert(key(4), "d", List::Open, 60);
        assert_eq!(d, c);
        assert_eq!(t.len(), 3);
        assert_eq!(t.remove(a).map(|x| x.1), Some("a"));
        assert_eq!(t.remove(d).map(|x| x.1), Some("d"));
        assert_eq!(t.oldest(List::Open), None);
        assert_eq!(t.remove(d), None);
        assert_eq!(t.drain().count(), 1);
    }
}
