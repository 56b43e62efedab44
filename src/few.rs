//! A short list, at most `N` items, kept in a box made the first time it
//! gets one: 8 bytes where nothing ever comes (the usual case), where an
//! inline array and count would take the whole capacity. A connection
//! holds several (its streams' holes, Zeek's out-of-order blocks), and
//! every byte of a connection costs cache on the per-packet path.

/// See the module.
#[derive(Debug, Clone)]
pub(crate) struct Few<T, const N: usize>(Option<Box<Held<T, N>>>);

#[derive(Debug, Clone)]
struct Held<T, const N: usize> {
    /// The count lives in the box: beside the pointer it would pad the
    /// list to 16 bytes.
    len: u8,
    items: [T; N],
}

impl<T, const N: usize> Default for Few<T, N> {
    fn default() -> Self {
        Few(None)
    }
}

impl<T: Copy + Default, const N: usize> Few<T, N> {
    /// The count is a `u8`.
    const FITS: () = assert!(N <= u8::MAX as usize);

    pub(crate) fn as_slice(&self) -> &[T] {
        match &self.0 {
            Some(h) => h.items.get(..usize::from(h.len)).unwrap_or_default(),
            None => &[],
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |h| usize::from(h.len))
    }

    pub(crate) fn is_full(&self) -> bool {
        self.len() == N
    }

    pub(crate) fn get_mut(&mut self, i: usize) -> Option<&mut T> {
        let h = self.0.as_mut()?;
        h.items.get_mut(..usize::from(h.len))?.get_mut(i)
    }

    /// Adds `item` at the end; false (and nothing kept) when full.
    pub(crate) fn push(&mut self, item: T) -> bool {
        let len = self.len();
        self.insert(len, item)
    }

    /// Puts `item` at `i`, the items from `i` on one further; false (and
    /// nothing changed) when full or `i` is past the end.
    pub(crate) fn insert(&mut self, i: usize, item: T) -> bool {
        let () = Self::FITS;
        let len = self.len();
        if len == N || i > len {
            return false;
        }
        let h = self.0.get_or_insert_with(|| {
            Box::new(Held {
                len: 0,
                items: [T::default(); N],
            })
        });
        h.items.copy_within(i..len, i + 1);
        if let Some(slot) = h.items.get_mut(i) {
            *slot = item;
            h.len += 1;
        }
        true
    }

    /// Takes out the item at `i`, keeping the others' order (nothing
    /// happens past the end).
    pub(crate) fn remove(&mut self, i: usize) {
        if let Some(h) = self.0.as_mut().filter(|h| i < usize::from(h.len)) {
            let len = usize::from(h.len);
            h.items.copy_within(i + 1..len, i);
            h.len -= 1;
        }
    }

    /// Empties the list, keeping its box for the next items.
    pub(crate) fn clear(&mut self) {
        if let Some(h) = self.0.as_mut() {
            h.len = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Few;

    #[test]
    fn keeps_order_up_to_its_capacity() {
        let mut f: Few<u32, 4> = Few::default();
        assert!(f.as_slice().is_empty());
        assert_eq!(std::mem::size_of_val(&f), 8, "one pointer while empty");
        for v in [10, 20, 30, 40] {
            assert!(f.push(v));
        }
        assert!(f.is_full());
        assert!(!f.push(50), "a full list keeps nothing more");
        assert!(!f.insert(0, 5), "nor inserts");
        assert_eq!(f.as_slice(), &[10, 20, 30, 40]);
        f.remove(1);
        assert_eq!(f.as_slice(), &[10, 30, 40]);
        f.remove(7);
        assert_eq!(f.as_slice(), &[10, 30, 40], "past the end: nothing");
        assert!(f.insert(1, 20));
        assert_eq!(f.as_slice(), &[10, 20, 30, 40]);
        f.remove(3);
        assert!(f.insert(3, 45), "at the end is a push");
        if let Some(v) = f.get_mut(0) {
            *v = 11;
        }
        assert!(f.get_mut(4).is_none(), "only items, not spare room");
        assert_eq!(f.as_slice(), &[11, 20, 30, 45]);
        f.clear();
        assert!(f.as_slice().is_empty());
        assert!(!f.insert(1, 1), "past the end of an empty list");
        assert!(f.push(1));
        assert_eq!(f.as_slice(), &[1]);
    }
}
