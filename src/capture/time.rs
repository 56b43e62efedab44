//! Capture time: nanoseconds since the Unix epoch, and RFC 3339 rendering.

use std::fmt;

/// A point in capture time, in nanoseconds since 1970-01-01T00:00:00Z.
///
/// Time in finscope always comes from packets, never from the system clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub i64);

/// How many fractional digits a capture's timestamps carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum Precision {
    #[default]
    Micro,
    Nano,
}

impl Timestamp {
    pub const fn from_secs_nanos(secs: i64, nanos: i64) -> Self {
        Timestamp(secs.saturating_mul(1_000_000_000).saturating_add(nanos))
    }

    /// Nanoseconds from `earlier` to `self` (negative if `earlier` is later).
    pub fn since(self, earlier: Timestamp) -> i64 {
        self.0.saturating_sub(earlier.0)
    }

    pub fn add_nanos(self, nanos: i64) -> Timestamp {
        Timestamp(self.0.saturating_add(nanos))
    }

    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }

    /// Renders as RFC 3339 UTC (`2026-11-23T19:57:30.957466Z`) with 6 or 9
    /// fractional digits.
    pub fn rfc3339(self, precision: Precision) -> Rfc3339 {
        Rfc3339 {
            ts: self,
            precision,
        }
    }
}

thread_local! {
    /// The seconds [`Rfc3339::render`] rendered last, four of them (by the
    /// second's low two bits), each with its `YYYY-MM-DDTHH:MM:SS`: records
    /// come in capture order, and a connection's first and last packets and
    /// its findings fall within a few seconds of each other.
    static SECONDS: [std::cell::Cell<(i64, [u8; 19])>; 4] =
        const { [const { std::cell::Cell::new((i64::MIN, [0; 19])) }; 4] };
}

/// Writes the two digits of `v` (below 100) at `at`; every `at` here is a
/// constant in range. From a table: a division fewer each.
fn two(buf: &mut [u8], at: usize, v: u64) {
    if let Some(dst) = buf.get_mut(at..at + 2) {
        dst.copy_from_slice(&crate::digits::pair(v as u32));
    }
}

/// `YYYY-MM-DDTHH:MM:SS` of the second `secs` since the epoch; `None`
/// outside the years 0-9999.
fn second_text(secs: i64) -> Option<[u8; 19]> {
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    if !(0..=9999).contains(&y) {
        return None;
    }
    let mut text = *b"0000-00-00T00:00:00";
    two(&mut text, 0, y as u64 / 100);
    two(&mut text, 2, y as u64 % 100);
    two(&mut text, 5, u64::from(m));
    two(&mut text, 8, u64::from(d));
    let sod = secs.rem_euclid(86_400) as u64;
    two(&mut text, 11, sod / 3600);
    two(&mut text, 14, (sod / 60) % 60);
    two(&mut text, 17, sod % 60);
    Some(text)
}

/// Display adapter returned by [`Timestamp::rfc3339`].
pub struct Rfc3339 {
    ts: Timestamp,
    precision: Precision,
}

impl Rfc3339 {
    /// The rendered bytes: years 0-9999 only (others fall back to
    /// `Display`'s general path).
    fn render(&self) -> Option<([u8; 30], usize)> {
        let secs = self.ts.0.div_euclid(1_000_000_000);
        let nanos = self.ts.0.rem_euclid(1_000_000_000) as u64;
        // Digits go into a stack buffer, written out at once: this runs for
        // every record, and `write!` with padding is slow.
        let mut buf = *b"0000-00-00T00:00:00.000000000Z";
        let cached = SECONDS.with(|seconds| {
            let cell = seconds.get((secs & 3) as usize)?;
            match cell.get() {
                (s, text) if s == secs => Some(text),
                _ => {
                    let text = second_text(secs)?;
                    cell.set((secs, text));
                    Some(text)
                }
            }
        })?;
        buf[..19].copy_from_slice(&cached);
        let (mut frac, digits) = match self.precision {
            Precision::Micro => (nanos / 1000, 6),
            Precision::Nano => (nanos, 9),
        };
        // Two digits at a time from the right; nanoseconds have one more.
        let mut at = 20 + digits;
        while at >= 22 {
            at -= 2;
            two(&mut buf, at, frac % 100);
            frac /= 100;
        }
        if at > 20 {
            buf[20] = b'0' + frac as u8;
        }
        buf[20 + digits] = b'Z';
        Some((buf, 21 + digits))
    }

    /// Appends the rendering to `out` without going through `fmt`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        match self.render() {
            Some((buf, len)) => {
                // As `SocketAddr::write_to`: a fixed-size copy, then cut.
                let end = out.len() + len;
                out.extend_from_slice(&buf);
                out.truncate(end);
            }
            None => out.extend_from_slice(self.to_string().as_bytes()),
        }
    }
}

impl fmt::Display for Rfc3339 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.render() {
            Some((buf, len)) => f.write_str(std::str::from_utf8(&buf[..len]).unwrap_or_default()),
            None => {
                let secs = self.ts.0.div_euclid(1_000_000_000);
                let nanos = self.ts.0.rem_euclid(1_000_000_000);
                let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
                let sod = secs.rem_euclid(86_400);
                write!(
                    f,
                    "{y}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{nanos:09}Z",
                    sod / 3600,
                    (sod / 60) % 60,
                    sod % 60
                )
            }
        }
    }
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day), after
/// Howard Hinnant's `civil_from_days`.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// A duration parsed from the command line: `500ms`, `5s`, `2m`, `1h`, or a
/// bare number of seconds.
pub fn parse_duration(s: &str) -> Result<i64, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let value: f64 = num
        .parse()
        .map_err(|_| format!("'{s}' is not a duration (try 500ms, 5s, 2m, 1h)"))?;
    let scale = match unit {
        "ns" => 1.0,
        "us" | "µs" => 1e3,
        "ms" => 1e6,
        "" | "s" => 1e9,
        "m" | "min" => 60e9,
        "h" => 3600e9,
        _ => {
            return Err(format!(
                "unknown unit '{unit}' in '{s}' (use ms, s, m or h)"
            ))
        }
    };
    let nanos = value * scale;
    if !nanos.is_finite() || !(0.0..=1e18).contains(&nanos) {
        return Err(format!("'{s}' is out of range"));
    }
    Ok(nanos as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_rfc3339_with_capture_precision() {
        let ts = Timestamp::from_secs_nanos(1_795_463_850, 957_466_123);
        assert_eq!(
            ts.rfc3339(Precision::Micro).to_string(),
            "2026-11-23T19:57:30.957466Z"
        );
        assert_eq!(
            ts.rfc3339(Precision::Nano).to_string(),
            "2026-11-23T19:57:30.957466123Z"
        );
        assert_eq!(
            Timestamp(0).rfc3339(Precision::Micro).to_string(),
            "1970-01-01T00:00:00.000000Z"
        );
        // A leap day and a time before the epoch.
        assert_eq!(
            Timestamp::from_secs_nanos(951_782_400, 0)
                .rfc3339(Precision::Micro)
                .to_string(),
            "2000-02-29T00:00:00.000000Z"
        );
        assert_eq!(
            Timestamp(-1_000).rfc3339(Precision::Nano).to_string(),
            "1969-12-31T23:59:59.999999000Z"
        );
    }

    /// The digits and the remembered day agree with plain `format!` on
    /// timestamps that stay on one day, change day and jump back.
    #[test]
    fn rendering_matches_format_across_days() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut ts: i64 = 1_700_000_000_000_000_000;
        for i in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            ts = match i % 5 {
                // Within the day, across midnight, back a day, anywhere.
                0 | 1 => ts + (x % 3_000_000_000) as i64,
                2 => ts + (x % 200_000_000_000_000) as i64,
                3 => ts - 86_400_000_000_000,
                _ => (x >> 1) as i64 - i64::MAX / 2,
            };
            let secs = ts.div_euclid(1_000_000_000);
            let nanos = ts.rem_euclid(1_000_000_000);
            let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
            let sod = secs.rem_euclid(86_400);
            let hms = format!("{:02}:{:02}:{:02}", sod / 3600, (sod / 60) % 60, sod % 60);
            let t = Timestamp(ts);
            assert_eq!(
                t.rfc3339(Precision::Nano).to_string(),
                format!("{y:04}-{m:02}-{d:02}T{hms}.{nanos:09}Z"),
                "{ts}"
            );
            let mut out = Vec::new();
            t.rfc3339(Precision::Micro).write_to(&mut out);
            let micros = nanos / 1000;
            assert_eq!(
                String::from_utf8_lossy(&out),
                format!("{y:04}-{m:02}-{d:02}T{hms}.{micros:06}Z"),
                "{ts}"
            );
        }
    }

    #[test]
    fn parses_durations() {
        assert_eq!(parse_duration("500ms"), Ok(500_000_000));
        assert_eq!(parse_duration("5s"), Ok(5_000_000_000));
        assert_eq!(parse_duration("2m"), Ok(120_000_000_000));
        assert_eq!(parse_duration("60"), Ok(60_000_000_000));
        assert_eq!(parse_duration("1.5s"), Ok(1_500_000_000));
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("s").is_err());
    }
}
