//! The connection's verdict: how it opened and how it ended
//! (`taxonomy.md`, "Verdict per connection").

use serde::Serialize;

use super::{Connection, Dir, EndReason};

/// How the connection opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Handshake {
    Complete,
    SynOnly,
    SynSynack,
    Refused,
    Midstream,
}

impl Handshake {
    pub fn name(self) -> &'static str {
        match self {
            Handshake::Complete => "complete",
            Handshake::SynOnly => "syn-only",
            Handshake::SynSynack => "syn-synack",
            Handshake::Refused => "refused",
            Handshake::Midstream => "midstream",
        }
    }
}

/// How the connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Teardown {
    Graceful,
    Simultaneous,
    Reset,
    HalfClosed,
    Closing,
    Open,
    IdleTimeout,
    Refused,
    NoAnswer,
    HandshakeFailed,
}

impl Teardown {
    pub const ALL: [Teardown; 10] = [
        Teardown::Graceful,
        Teardown::Simultaneous,
        Teardown::Reset,
        Teardown::HalfClosed,
        Teardown::Closing,
        Teardown::Open,
        Teardown::IdleTimeout,
        Teardown::Refused,
        Teardown::NoAnswer,
        Teardown::HandshakeFailed,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Teardown::Graceful => "graceful",
            Teardown::Simultaneous => "simultaneous",
            Teardown::Reset => "reset",
            Teardown::HalfClosed => "half-closed",
            Teardown::Closing => "closing",
            Teardown::Open => "open",
            Teardown::IdleTimeout => "idle-timeout",
            Teardown::Refused => "refused",
            Teardown::NoAnswer => "no-answer",
            Teardown::HandshakeFailed => "handshake-failed",
        }
    }

    /// Whether a person should look at connections that ended this way.
    pub fn is_abnormal(self) -> bool {
        !matches!(
            self,
            Teardown::Graceful | Teardown::Simultaneous | Teardown::Open
        )
    }
}

/// `closer` and `time_wait` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Party {
    Client,
    Server,
    Both,
}

impl From<Dir> for Party {
    fn from(d: Dir) -> Party {
        match d {
            Dir::Client => Party::Client,
            Dir::Server => Party::Server,
        }
    }
}

impl Party {
    pub fn name(self) -> &'static str {
        match self {
            Party::Client => "client",
            Party::Server => "server",
            Party::Both => "both",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    pub handshake: Handshake,
    pub teardown: Teardown,
    pub closer: Option<Party>,
    pub time_wait: Option<Party>,
}

pub(super) fn judge(c: &Connection, end: EndReason) -> Verdict {
    let [client, server] = &c.ep;
    let handshake = if client.syn.is_some() || server.syn.is_some() {
        if c.established.is_some() {
            Handshake::Complete
        } else if server.syn.is_some() {
            Handshake::SynSynack
        } else if server.rst().is_some() {
            Handshake::Refused
        } else {
            Handshake::SynOnly
        }
    } else {
        Handshake::Midstream
    };

    let synchronized = matches!(handshake, Handshake::Complete | Handshake::Midstream);
    if !synchronized {
        let teardown = match handshake {
            Handshake::Refused => Teardown::Refused,
            // The server answered, but not with SYN-ACK or RST (an ACK from
            // TIME-WAIT, say): the handshake failed; it was not unanswered.
            Handshake::SynOnly if server.packets > 0 => Teardown::HandshakeFailed,
            Handshake::SynOnly => Teardown::NoAnswer,
            _ => Teardown::HandshakeFailed,
        };
        return Verdict {
            handshake,
            teardown,
            closer: None,
            time_wait: None,
        };
    }

    // The first accepted RST, if any, and who sent it.
    let first_rst = [Dir::Client, Dir::Server]
        .into_iter()
        .filter_map(|d| {
            c.endpoint(d)
                .rst()
                .copied()
                .filter(|r| r.accepted)
                .map(|r| (d, r))
        })
        .min_by_key(|(_, r)| (r.at.ts, r.at.frame));
    let fin_acked = |d: Dir| c.endpoint(d).fin.and_then(|f| f.acked);
    let both_acked_at = match (fin_acked(Dir::Client), fin_acked(Dir::Server)) {
        (Some(a), Some(b)) => Some(a.ts.max(b.ts)),
        _ => None,
    };
    let first_fin = [Dir::Client, Dir::Server]
        .into_iter()
        .filter_map(|d| c.endpoint(d).fin.map(|f| (d, f)))
        .min_by_key(|(_, f)| (f.first.ts, f.first.frame))
        .map(|(d, _)| d);

    let reset_first = match (first_rst, both_acked_at) {
        (Some(_), None) => true,
        (Some((_, r)), Some(done)) => r.at.ts < done,
        _ => false,
    };
    if let (true, Some((by, _))) = (reset_first, first_rst) {
        return Verdict {
            handshake,
            teardown: Teardown::Reset,
            closer: Some(by.into()),
            time_wait: None,
        };
    }
    if both_acked_at.is_some() {
        // Simultaneous: neither FIN acknowledged the other's (§3.6 case 3).
        let simultaneous = client.fin.is_some_and(|f| !f.acked_peer_fin)
            && server.fin.is_some_and(|f| !f.acked_peer_fin);
        if simultaneous {
            return Verdict {
                handshake,
                teardown: Teardown::Simultaneous,
                closer: Some(Party::Both),
                time_wait: Some(Party::Both),
            };
        }
        // The side whose FIN came first acked the other's: it holds
        // TIME-WAIT (§3.6 case 1).
        let closer = first_fin.map(Party::from);
        return Verdict {
            handshake,
            teardown: Teardown::Graceful,
            closer,
            time_wait: closer,
        };
    }
    let one_acked_other_silent = [Dir::Client, Dir::Server]
        .into_iter()
        .any(|d| fin_acked(d).is_some() && c.endpoint(d.other()).fin.is_none());
    let teardown = if one_acked_other_silent {
        Teardown::HalfClosed
    } else if first_fin.is_some() {
        Teardown::Closing
    } else if end == EndReason::IdleTimeout {
        Teardown::IdleTimeout
    } else {
        Teardown::Open
    };
    let closer = match teardown {
        Teardown::HalfClosed | Teardown::Closing => first_fin.map(Party::from),
        _ => None,
    };
    Verdict {
        handshake,
        teardown,
        closer,
        time_wait: None,
    }
}
