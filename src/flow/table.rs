//! The connection table: a hash map from [`FlowKey`] to a slot in a slab,
//! with every slot on one of two recency lists.
//!
//! The lists are ordered by last activity, so the least recently seen
//! connection of each list is at its tail: eviction in capture time only
//! looks at two tails per packet, and the table never scans itself.

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

    /// Adds a connection at the head of `list`. The key must not be present.
    pub fn insert(&mut self, key: FlowKey, value: C, list: List) -> SlotId {
        let slot = Slot {
            key,
            value: Some(value),
            list,
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
        self.link_head(id, list);
        id
    }

    /// Marks a connection as just seen, moving it to the head of `list`.
    pub fn touch(&mut self, id: SlotId, list: List) {
        let Some(s) = self.slots.get(id as usize) else {
            return;
        };
        if s.list == list && self.lists[list as usize].head == id {
            return;
        }
        self.unlink(id);
        self.link_head(id, list);
    }

    /// The least recently touched connection on `list`.
    pub fn oldest(&self, list: List) -> Option<SlotId> {
        let t = self.lists[list as usize].tail;
        (t != NIL).then_some(t)
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

    fn link_head(&mut self, id: SlotId, list: List) {
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
    fn oldest_follows_touch_order_per_list() {
        let mut t = FlowTable::new();
        let a = t.insert(key(1), "a", List::Open);
        let b = t.insert(key(2), "b", List::Open);
        let c = t.insert(key(3), "c", List::Open);
        assert_eq!(t.oldest(List::Open), Some(a));
        t.touch(a, List::Open);
        assert_eq!(t.oldest(List::Open), Some(b));
        t.touch(b, List::Closed);
        assert_eq!(t.oldest(List::Open), Some(c));
        assert_eq!(t.oldest(List::Closed), Some(b));
        assert_eq!(t.remove(c), Some((key(3), "c")));
        assert_eq!(t.oldest(List::Open), Some(a));
        assert_eq!(t.find(&key(3)), None);
        // A freed slot is reused.
        let d = t.insert(key(4), "d", List::Open);
        assert_eq!(d, c);
        assert_eq!(t.len(), 3);
        assert_eq!(t.remove(a).map(|x| x.1), Some("a"));
        assert_eq!(t.remove(d).map(|x| x.1), Some("d"));
        assert_eq!(t.oldest(List::Open), None);
        assert_eq!(t.remove(d), None);
        assert_eq!(t.drain().count(), 1);
    }
}
