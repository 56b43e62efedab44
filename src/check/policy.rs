//! What `check` fails on: a policy over finding kinds, severities, budgets
//! and exceptions.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use crate::findings::{FindingKind, Severity};
use crate::flow::SocketAddr;

/// A rule `check` can fail: a finding kind, or (with a baseline) a service
/// whose connections end worse than they used to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rule {
    Kind(FindingKind),
    /// More connections of a service ended with a bad teardown verdict
    /// (reset, refused, …) than in the baseline.
    TeardownRegression,
}

impl Rule {
    pub const TEARDOWN_REGRESSION: &'static str = "teardown-regression";

    pub fn from_name(name: &str) -> Result<Rule, String> {
        if name == Self::TEARDOWN_REGRESSION {
            return Ok(Rule::TeardownRegression);
        }
        FindingKind::from_name(name)
            .map(Rule::Kind)
            .ok_or_else(|| unknown_kind(name))
    }

    pub fn name(self) -> &'static str {
        match self {
            Rule::Kind(k) => k.name(),
            Rule::TeardownRegression => Self::TEARDOWN_REGRESSION,
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Rule::Kind(k) => k.description(),
            Rule::TeardownRegression => {
                "More of a service's connections ended badly (reset, refused, unanswered, left half-closed) than in the baseline."
            }
        }
    }

    /// Every rule, in report order.
    pub fn all() -> impl Iterator<Item = Rule> {
        FindingKind::ALL
            .into_iter()
            .map(Rule::Kind)
            .chain(std::iter::once(Rule::TeardownRegression))
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The message for a kind name finscope does not know, listing the names.
pub fn unknown_kind(name: &str) -> String {
    let names: Vec<&str> = FindingKind::ALL.iter().map(|k| k.name()).collect();
    format!(
        "unknown finding kind {name:?}; the kinds are {}, and teardown-regression",
        names.join(", ")
    )
}

/// How connections are grouped into services.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceBy {
    /// The server's ip:port.
    Address,
    /// The server's port: for CI runs where addresses change every time.
    Port,
}

/// What a group of findings is about: a service (server ip:port, or port
/// alone), or a host for host-level findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Subject {
    pub ip: Option<IpAddr>,
    pub port: Option<u16>,
}

impl Subject {
    pub fn service(server: SocketAddr, by: ServiceBy) -> Subject {
        Subject {
            ip: match by {
                ServiceBy::Address => Some(server.ip),
                ServiceBy::Port => None,
            },
            port: Some(server.port),
        }
    }

    pub fn host(ip: IpAddr) -> Subject {
        Subject {
            ip: Some(ip),
            port: None,
        }
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.ip, self.port) {
            (Some(ip), Some(port)) => write!(f, "{}", SocketAddr { ip, port }),
            (Some(ip), None) => write!(f, "{ip}"),
            (None, Some(port)) => write!(f, "port {port}"),
            (None, None) => f.write_str("capture"),
        }
    }
}

/// An address block (`10.0.0.0/8`, `2001:db8::/32`, or one address).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    pub net: IpAddr,
    pub prefix: u8,
}

impl Cidr {
    pub fn parse(s: &str) -> Result<Cidr, String> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let net: IpAddr = addr
            .trim()
            .parse()
            .map_err(|_| format!("{s:?} is not an address or an address/prefix block"))?;
        let max = if net.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{s:?}: the prefix length must be 0 to {max}"))?,
            None => max,
        };
        Ok(Cidr { net, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        fn masked(bits: u128, prefix: u8, width: u8) -> u128 {
            if prefix == 0 {
                0
            } else {
                bits >> (width - prefix)
            }
        }
        match (self.net, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                masked(u32::from(n).into(), self.prefix, 32)
                    == masked(u32::from(a).into(), self.prefix, 32)
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                masked(u128::from(n), self.prefix, 128) == masked(u128::from(a), self.prefix, 128)
            }
            _ => false,
        }
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.net, self.prefix)
    }
}

/// Findings on matching connections never fail the check (a policy's
/// `[[exception]]`).
#[derive(Debug, Clone)]
pub struct Exception {
    /// The kinds excused; empty means every kind.
    pub kinds: Vec<FindingKind>,
    /// The server's port.
    pub port: Option<u16>,
    /// Matches when either end's address is inside.
    pub host: Option<Cidr>,
    pub reason: Option<String>,
}

impl Exception {
    /// Whether this exception excuses a finding of `kind` on a connection
    /// between `client` and `server` (host findings pass the host as both,
    /// and the server they pile up toward, when there is one, as `server`).
    pub fn matches(&self, kind: FindingKind, client: IpAddr, server: Option<SocketAddr>) -> bool {
        (self.kinds.is_empty() || self.kinds.contains(&kind))
            && self
                .port
                .is_none_or(|p| server.is_some_and(|s| s.port == p))
            && self
                .host
                .is_none_or(|h| h.contains(client) || server.is_some_and(|s| h.contains(s.ip)))
    }
}

/// The settings `check` judges by.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Findings this severe or worse fail; `None` = severity alone never
    /// fails.
    pub fail_on: Option<Severity>,
    /// Rules that fail whatever the severity.
    pub fail_on_kind: Vec<Rule>,
    /// Rules that never fail.
    pub allow: Vec<Rule>,
    /// Budgets: a rule fails only when it has more findings than this, in
    /// all services together.
    pub max: BTreeMap<Rule, u64>,
    /// With a baseline: how many percent more findings (per rule and
    /// service) are still no worse.
    pub tolerance_pct: f64,
    pub service_by: ServiceBy,
    pub exceptions: Vec<Exception>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            fail_on: Some(Severity::Warning),
            fail_on_kind: Vec::new(),
            allow: Vec::new(),
            max: BTreeMap::new(),
            tolerance_pct: 10.0,
            service_by: ServiceBy::Address,
            exceptions: Vec::new(),
        }
    }
}

impl Policy {
    /// The most findings of a rule that still count as no worse than
    /// `baseline` of them.
    pub fn tolerated(&self, baseline: u64) -> u64 {
        baseline + (baseline as f64 * self.tolerance_pct / 100.0).floor() as u64
    }

    /// One line describing the policy, for reports.
    pub fn describe(&self) -> String {
        let mut parts = vec![match self.fail_on {
            Some(s) => format!("fail on {s} or worse"),
            None => "severity alone never fails".to_string(),
        }];
        let list = |rules: &[Rule]| rules.iter().map(|r| r.name()).collect::<Vec<_>>().join(",");
        if !self.fail_on_kind.is_empty() {
            parts.push(format!("fail on kinds {}", list(&self.fail_on_kind)));
        }
        if !self.allow.is_empty() {
            parts.push(format!("allow {}", list(&self.allow)));
        }
        if !self.max.is_empty() {
            let budgets: Vec<String> = self.max.iter().map(|(r, n)| format!("{r}={n}")).collect();
            parts.push(format!("budgets {}", budgets.join(",")));
        }
        if !self.exceptions.is_empty() {
            parts.push(format!("{} exception(s)", self.exceptions.len()));
        }
        if self.service_by == ServiceBy::Port {
            parts.push("services by port".into());
        }
        parts.join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_blocks_match_by_prefix() {
        let c = Cidr::parse("10.1.0.0/16").unwrap();
        assert!(c.contains("10.1.200.3".parse().unwrap()));
        assert!(!c.contains("10.2.0.1".parse().unwrap()));
        assert!(!c.contains("::1".parse().unwrap()));
        let one = Cidr::parse("2001:db8::1").unwrap();
        assert!(one.contains("2001:db8::1".parse().unwrap()));
        assert!(!one.contains("2001:db8::2".parse().unwrap()));
        assert!(Cidr::parse("0.0.0.0/0")
            .unwrap()
            .contains("1.2.3.4".parse().unwrap()));
        assert!(Cidr::parse("10.0.0.0/33").is_err());
        assert!(Cidr::parse("ten").is_err());
    }

    #[test]
    fn tolerance_rounds_down() {
        let p = Policy::default();
        assert_eq!(p.tolerated(0), 0);
        assert_eq!(p.tolerated(5), 5);
        assert_eq!(p.tolerated(10), 11);
        assert_eq!(p.tolerated(20), 22);
    }

    #[test]
    fn exceptions_match_port_and_host() {
        let e = Exception {
            kinds: vec![FindingKind::RstAbort],
            port: Some(5432),
            host: None,
            reason: None,
        };
        let server = SocketAddr {
            ip: "10.0.0.2".parse().unwrap(),
            port: 5432,
        };
        let client = "10.0.0.1".parse().unwrap();
        assert!(e.matches(FindingKind::RstAbort, client, Some(server)));
        assert!(!e.matches(FindingKind::HalfClose, client, Some(server)));
        let other = SocketAddr { port: 80, ..server };
        assert!(!e.matches(FindingKind::RstAbort, client, Some(other)));
    }
}
