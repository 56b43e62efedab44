//! Findings: what the tracker saw that a person should know about.
//!
//! Each rule is a pure function of a finished connection, its verdict, the
//! capture time it is judged at and the thresholds. Rules cite the RFC
//! clause or the trap (`taxonomy.md`) they guard.

mod evidence;
pub mod hosts;
mod piles;
mod rules;

use std::fmt;
use std::net::IpAddr;

use serde::Serialize;

use crate::capture::Timestamp;

pub(crate) use self::evidence::evidence;
pub use self::evidence::{Ev, Evidence};
pub use rules::evaluate;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The kinds of finding (names as in `taxonomy.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindingKind {
    HalfClose,
    CloseWaitStall,
    FinUnacked,
    FinRetransmission,
    RstAbort,
    RstAfterFin,
    Refused,
    NoAnswer,
    Midstream,
    CaptureGap,
    DuplicatePackets,
    TimeWaitAccumulation,
    CloseWaitAccumulation,
    DataAfterFin,
    RstSuspectedInjection,
    RstDiscardsData,
    ZeroWindowStall,
    FinalAckLost,
    TimeWaitExtended,
    LastAckReset,
    SynOnTimeWait,
    TimeWaitAssassination,
    SynOnOpenTuple,
    SynFlood,
}

impl FindingKind {
    pub const ALL: [FindingKind; 24] = [
        FindingKind::HalfClose,
        FindingKind::CloseWaitStall,
        FindingKind::FinUnacked,
        FindingKind::FinRetransmission,
        FindingKind::RstAbort,
        FindingKind::RstAfterFin,
        FindingKind::Refused,
        FindingKind::NoAnswer,
        FindingKind::Midstream,
        FindingKind::CaptureGap,
        FindingKind::DuplicatePackets,
        FindingKind::TimeWaitAccumulation,
        FindingKind::CloseWaitAccumulation,
        FindingKind::DataAfterFin,
        FindingKind::RstSuspectedInjection,
        FindingKind::RstDiscardsData,
        FindingKind::ZeroWindowStall,
        FindingKind::FinalAckLost,
        FindingKind::TimeWaitExtended,
        FindingKind::LastAckReset,
        FindingKind::SynOnTimeWait,
        FindingKind::TimeWaitAssassination,
        FindingKind::SynOnOpenTuple,
        FindingKind::SynFlood,
    ];

    pub fn name(self) -> &'static str {
        match self {
            FindingKind::HalfClose => "half-close",
            FindingKind::CloseWaitStall => "close-wait-stall",
            FindingKind::FinUnacked => "fin-unacked",
            FindingKind::FinRetransmission => "fin-retransmission",
            FindingKind::RstAbort => "rst-abort",
            FindingKind::RstAfterFin => "rst-after-fin",
            FindingKind::Refused => "refused",
            FindingKind::NoAnswer => "no-answer",
            FindingKind::Midstream => "midstream",
            FindingKind::CaptureGap => "capture-gap",
            FindingKind::DuplicatePackets => "duplicate-packets",
            FindingKind::TimeWaitAccumulation => "time-wait-accumulation",
            FindingKind::CloseWaitAccumulation => "close-wait-accumulation",
            FindingKind::DataAfterFin => "data-after-fin",
            FindingKind::RstSuspectedInjection => "rst-suspected-injection",
            FindingKind::RstDiscardsData => "rst-discards-data",
            FindingKind::ZeroWindowStall => "zero-window-stall",
            FindingKind::FinalAckLost => "final-ack-lost",
            FindingKind::TimeWaitExtended => "time-wait-extended",
            FindingKind::LastAckReset => "last-ack-reset",
            FindingKind::SynOnTimeWait => "syn-on-time-wait",
            FindingKind::TimeWaitAssassination => "time-wait-assassination",
            FindingKind::SynOnOpenTuple => "syn-on-open-tuple",
            FindingKind::SynFlood => "syn-flood",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }

    /// The kind with this name (as [`FindingKind::name`] spells it).
    pub fn from_name(name: &str) -> Option<FindingKind> {
        FindingKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Whether findings of this kind are about a host rather than one
    /// connection.
    pub fn is_host_level(self) -> bool {
        matches!(
            self,
            FindingKind::TimeWaitAccumulation
                | FindingKind::CloseWaitAccumulation
                | FindingKind::SynFlood
        )
    }

    /// One line saying what the kind means, for rule lists (SARIF, JUnit).
    pub fn description(self) -> &'static str {
        match self {
            FindingKind::HalfClose => "One side closed its half (sent FIN) while the other kept sending.",
            FindingKind::CloseWaitStall => "A side received the peer's FIN and stayed in CLOSE-WAIT without closing: an application that never closes its socket.",
            FindingKind::FinUnacked => "A FIN was never acknowledged by the peer.",
            FindingKind::FinRetransmission => "A FIN had to be retransmitted.",
            FindingKind::RstAbort => "The connection was aborted by a RST instead of closing with FINs.",
            FindingKind::RstAfterFin => "A RST followed a FIN: the closing side aborted or the peer sent data into a closed socket.",
            FindingKind::Refused => "The SYN was answered by a RST: nothing listened on the port.",
            FindingKind::NoAnswer => "The SYN was never answered.",
            FindingKind::Midstream => "The capture began after the handshake, so roles are inferred.",
            FindingKind::CaptureGap => "The peer acknowledged bytes the capture never held.",
            FindingKind::DuplicatePackets => "The capture holds the same packet more than once (SPAN or `any` capture).",
            FindingKind::TimeWaitAccumulation => "A host held many connections in TIME-WAIT toward one server at once.",
            FindingKind::CloseWaitAccumulation => "A host held many connections in CLOSE-WAIT at once.",
            FindingKind::DataAfterFin => "Data arrived after the sender's FIN (RFC 9293 3.10.7.4).",
            FindingKind::RstSuspectedInjection => "A RST looks forged: segments continued after it, or its TTL differs from the sender's.",
            FindingKind::RstDiscardsData => "A RST was sent with data still unacknowledged, which the stack throws away.",
            FindingKind::ZeroWindowStall => "A receiver advertised a zero window for longer than the stall threshold.",
            FindingKind::FinalAckLost => "The last ACK of the close was lost, so the peer retransmitted its FIN.",
            FindingKind::TimeWaitExtended => "A retransmitted FIN restarted TIME-WAIT (RFC 9293 3.10.7.4).",
            FindingKind::LastAckReset => "A FIN in LAST-ACK was answered by a RST: the peer had already forgotten the connection.",
            FindingKind::SynOnTimeWait => "A SYN reused a tuple still in TIME-WAIT (RFC 6191).",
            FindingKind::TimeWaitAssassination => "A RST killed a connection in TIME-WAIT (RFC 1337).",
            FindingKind::SynOnOpenTuple => "A SYN arrived on a tuple whose connection was still open.",
            FindingKind::SynFlood => "A server had many half-open connections (SYNs without a completed handshake) at once: a SYN flood, or a server too slow to accept.",
        }
    }
}

impl fmt::Display for FindingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One finding about a connection (or, for host-level kinds, a host).
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub kind: FindingKind,
    pub severity: Severity,
    /// The connection's id, or `None` for host-level findings.
    pub connection: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<IpAddr>,
    #[serde(skip)]
    pub ts: Timestamp,
    pub message: String,
    pub evidence: Evidence,
}

/// The thresholds findings are judged by (flags with defaults).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    /// 2MSL: how long a TIME-WAIT lasts (`--time-wait`), in ns.
    pub time_wait: i64,
    /// How long a side may stay silent before it counts as stalled
    /// (`--stall`), in ns.
    pub stall: i64,
    /// FIN retransmissions that make a finding a warning (`--fin-retries`).
    pub fin_retries: u32,
    /// Idle connections leave the table after this (`--idle-timeout`), in ns.
    pub idle_timeout: i64,
    /// TIME-WAITs a host may hold toward one server ip:port at once
    /// (`--tw-accumulation`).
    pub tw_accumulation: u64,
    /// CLOSE-WAITs a host may hold at once (`--cw-accumulation`).
    pub cw_accumulation: u64,
    /// Half-open connections a server may have at once (`--syn-flood`).
    pub syn_flood: u64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            time_wait: 60_000_000_000,
            stall: 60_000_000_000,
            fin_retries: 3,
            idle_timeout: 300_000_000_000,
            tw_accumulation: 1000,
            cw_accumulation: 100,
            syn_flood: 1000,
        }
    }
}

/// Seconds for messages: `61.2 s`, `0.350 s`.
pub fn secs(ns: i64) -> Secs {
    Secs(ns)
}

/// [`secs`]: written where it is used, without a `String` of its own.
pub struct Secs(i64);

impl std::fmt::Display for Secs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.0 as f64 / 1e9;
        if s >= 10.0 {
            write!(f, "{s:.1} s")
        } else {
            write!(f, "{s:.3} s")
        }
    }
}
