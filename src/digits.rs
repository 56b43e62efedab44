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

/// Appends `v` in decimal. Most counts in a record are below 100 (a
/// short connection's packets, and the zeros of retransmissions and
/// duplicates): those come from the pair table, without itoa's buffer and
/// a copy of unknown length.
#[inline(always)]
pub(crate) fn push_u64(out: &mut Vec<u8>, v: u64, big: &mut itoa::Buffer) {
    if v < 10 {
        out.push(b'0' + v as u8);
    } else if v < 100 {
        out.extend_from_slice(&pair(v as u32));
    } else {
        out.extend_from_slice(big.format(v).as_bytes());
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn push_u64_writes_what_itoa_writes() {
        let mut out = Vec::new();
        let mut big = itoa::Buffer::new();
        for v in (0..1_000).chain([u64::MAX, 1 << 32, 99, 100, 10]) {
            out.clear();
            super::push_u64(&mut out, v, &mut big);
            assert_eq!(out, v.to_string().as_bytes(), "{v}");
        }
    }
}
