//! A finding's evidence: named values (frame numbers, sequence numbers,
//! durations, states), written as the JSON object `evidence` in the
//! `finscope/1` records.
//!
//! Typed rather than a `serde_json::Value`: a busy capture has a finding
//! for every few connections, and building a `Value` map (an allocation
//! per key and per tree node) then serializing it cost more than judging
//! the connection. Entries are kept sorted by name, so the object is
//! written in the order a `Value` map writes it.

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

/// One value.
#[derive(Debug, Clone, PartialEq)]
pub enum Ev {
    Null,
    Bool(bool),
    U64(u64),
    I64(i64),
    F64(f64),
    /// A fixed name (a state, a side).
    Str(&'static str),
    /// Text made for this finding (an address).
    Text(String),
    /// A count per side, written as `{"client": …, "server": …}`.
    PerSide {
        client: u64,
        server: u64,
    },
}

impl Ev {
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Ev::U64(v) => Some(v),
            Ev::I64(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Ev::Str(s) => Some(s),
            Ev::Text(s) => Some(s),
            _ => None,
        }
    }
}

macro_rules! ev_from {
    ($($t:ty => $v:ident as $as:ty),* $(,)?) => {
        $(impl From<$t> for Ev {
            fn from(v: $t) -> Ev {
                Ev::$v(<$as>::from(v))
            }
        })*
    };
}

ev_from!(
    u8 => U64 as u64,
    u16 => U64 as u64,
    u32 => U64 as u64,
    u64 => U64 as u64,
    i64 => I64 as i64,
    f64 => F64 as f64,
    bool => Bool as bool,
);

impl From<usize> for Ev {
    fn from(v: usize) -> Ev {
        Ev::U64(v as u64)
    }
}

impl From<&'static str> for Ev {
    fn from(v: &'static str) -> Ev {
        Ev::Str(v)
    }
}

impl From<String> for Ev {
    fn from(v: String) -> Ev {
        Ev::Text(v)
    }
}

impl<T: Into<Ev>> From<Option<T>> for Ev {
    fn from(v: Option<T>) -> Ev {
        v.map_or(Ev::Null, Into::into)
    }
}

impl Serialize for Ev {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Ev::Null => s.serialize_unit(),
            Ev::Bool(v) => s.serialize_bool(*v),
            Ev::U64(v) => s.serialize_u64(*v),
            Ev::I64(v) => s.serialize_i64(*v),
            // As serde_json writes a `Value` number: not finite is null.
            Ev::F64(v) if v.is_finite() => s.serialize_f64(*v),
            Ev::F64(_) => s.serialize_unit(),
            Ev::Str(v) => s.serialize_str(v),
            Ev::Text(v) => s.serialize_str(v),
            Ev::PerSide { client, server } => {
                let mut m = s.serialize_map(Some(2))?;
                m.serialize_entry("client", client)?;
                m.serialize_entry("server", server)?;
                m.end()
            }
        }
    }
}

/// Named values, sorted by name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Evidence(Vec<(&'static str, Ev)>);

impl Evidence {
    /// The entries in any order (each name once).
    pub fn new(mut entries: Vec<(&'static str, Ev)>) -> Self {
        entries.sort_unstable_by_key(|&(k, _)| k);
        Evidence(entries)
    }

    /// The entries, sorted by name.
    pub fn entries(&self) -> &[(&'static str, Ev)] {
        &self.0
    }

    pub fn get(&self, key: &str) -> Option<&Ev> {
        self.0
            .binary_search_by_key(&key, |&(k, _)| k)
            .ok()
            .and_then(|i| self.0.get(i))
            .map(|(_, v)| v)
    }
}

impl Serialize for Evidence {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// `evidence!({"name": value, …})`, as `serde_json::json!` is written;
/// each value is anything `Into<Ev>`.
macro_rules! evidence {
    ({ $($k:literal : $v:expr),* $(,)? }) => {
        $crate::findings::Evidence::new(vec![$(($k, $crate::findings::Ev::from($v))),*])
    };
}
pub(crate) use evidence;

#[cfg(test)]
mod tests {
    use super::*;

    /// The bytes a `serde_json::Value` of the same content gives (the
    /// `finscope/1` records wrote that before).
    #[test]
    fn writes_what_a_json_value_writes() {
        let seq: Option<u32> = None;
        let ours = evidence!({
            "seq": seq,
            "by": "client",
            "frame": 7u64,
            "quiet_s": 3.325f64,
            "late": -2i64,
            "with_ack": true,
            "holder": "10.0.0.1:80".to_string(),
            "missed": Ev::PerSide { client: 1, server: 2 },
            "nan": f64::NAN,
        });
        let theirs = serde_json::json!({
            "seq": seq,
            "by": "client",
            "frame": 7u64,
            "quiet_s": 3.325f64,
            "late": -2i64,
            "with_ack": true,
            "holder": "10.0.0.1:80",
            "missed": {"client": 1, "server": 2},
            "nan": f64::NAN,
        });
        assert_eq!(
            serde_json::to_string(&ours).unwrap(),
            serde_json::to_string(&theirs).unwrap()
        );
        assert_eq!(ours.get("frame").and_then(Ev::as_u64), Some(7));
        assert_eq!(ours.get("holder").and_then(Ev::as_str), Some("10.0.0.1:80"));
        assert_eq!(ours.get("nothing"), None);
    }
}
