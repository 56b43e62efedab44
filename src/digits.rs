//! Decimal digits for the hand-written renderers (addresses, timestamps).

/// `00` to `99`: two digits from one load, where `v / 10` and `v % 10`
/// cost a multiply-and-shift each.
const PAIRS: [[u8; 2]; 100] = {
    let mut t = [[0u8; 2]; 100];
    let mut v = 0;
    while v < 100 {
        t[v] = [b'0' + (v / 10) as u8, b'0' + (v % 10) as u8];
        v += 1;
    }
    t
};

/// The two digits of `v` (below 100; `00` otherwise).
#[inline]
pub(crate) fn pair(v: u32) -> [u8; 2] {
    PAIRS.get(v as usize).copied().unwrap_or(*b"00")
}
