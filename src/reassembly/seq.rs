//! TCP sequence numbers: 32-bit, compared modulo 2³² (RFC 9293 §3.4).

use std::fmt;
use std::ops::{Add, Sub};

/// A sequence or acknowledgment number. Ordering wraps around: `a.lt(b)`
/// when `b` is less than 2³¹ ahead of `a`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SeqNumber(pub u32);

impl SeqNumber {
    /// Signed distance `self - other` in sequence space.
    pub fn diff(self, other: SeqNumber) -> i32 {
        self.0.wrapping_sub(other.0) as i32
    }

    pub fn lt(self, other: SeqNumber) -> bool {
        self.diff(other) < 0
    }

    pub fn le(self, other: SeqNumber) -> bool {
        self.diff(other) <= 0
    }

    pub fn gt(self, other: SeqNumber) -> bool {
        self.diff(other) > 0
    }

    pub fn ge(self, other: SeqNumber) -> bool {
        self.diff(other) >= 0
    }

    pub fn max_seq(self, other: SeqNumber) -> SeqNumber {
        if self.lt(other) {
            other
        } else {
            self
        }
    }

    pub fn min_seq(self, other: SeqNumber) -> SeqNumber {
        if self.lt(other) {
            self
        } else {
            other
        }
    }

    /// Unsigned distance from `earlier` forward to `self`, 0 if `self` is
    /// not after `earlier`.
    pub fn distance_from(self, earlier: SeqNumber) -> u32 {
        let d = self.diff(earlier);
        if d > 0 {
            d as u32
        } else {
            0
        }
    }
}

impl Add<u32> for SeqNumber {
    type Output = SeqNumber;
    fn add(self, rhs: u32) -> SeqNumber {
        SeqNumber(self.0.wrapping_add(rhs))
    }
}

impl Sub<u32> for SeqNumber {
    type Output = SeqNumber;
    fn sub(self, rhs: u32) -> SeqNumber {
        SeqNumber(self.0.wrapping_sub(rhs))
    }
}

impl fmt::Debug for SeqNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Display for SeqNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}
