//! The gate: a [`Sink`] that groups findings by rule and service as the
//! analysis runs, then judges each group against the policy and the
//! baseline.
//!
//! Memory grows with the number of services and rules, not connections:
//! each group keeps a count and a few examples.

use std::collections::BTreeMap;
use std::io;
use std::net::IpAddr;

use super::baseline::{host_subject, Baseline};
use super::policy::{Policy, Rule, Subject};
use crate::capture::Precision;
use crate::conn::Teardown;
use crate::findings::{Finding, Severity};
use crate::flow::SocketAddr;
use crate::report::{ConnRecord, Sink, Summary};

/// Examples kept per group (the count covers the rest).
pub const EXAMPLES: usize = 5;

/// One finding (or connection) shown as an example of a group.
#[derive(Debug, Clone)]
pub struct Example {
    pub connection: Option<u64>,
    pub client: Option<SocketAddr>,
    pub server: Option<SocketAddr>,
    pub host: Option<IpAddr>,
    pub severity: Severity,
    /// RFC 3339.
    pub ts: String,
    pub message: String,
}

/// Connections of one service.
#[derive(Debug, Clone, Default)]
pub struct ServiceStats {
    pub connections: u64,
    /// Connections per teardown verdict (`Teardown as usize`).
    pub teardown: [u64; Teardown::ALL.len()],
    /// A few connections per abnormal verdict.
    pub examples: BTreeMap<usize, Vec<Example>>,
}

/// Findings of one rule on one subject.
#[derive(Debug, Clone, Default)]
pub struct Group {
    /// Findings not excused by an exception.
    pub count: u64,
    /// `count` by severity (info, warning, error).
    pub by_severity: [u64; 3],
    /// Findings excused by an exception, and the reasons given.
    pub excepted: u64,
    pub reasons: Vec<String>,
    pub examples: Vec<Example>,
}

impl Group {
    fn add(&mut self, e: Example) {
        self.count += 1;
        self.by_severity[e.severity as usize] += 1;
        // Keep the most severe examples.
        if self.examples.len() < EXAMPLES {
            self.examples.push(e);
        } else if let Some(weakest) = self
            .examples
            .iter_mut()
            .filter(|x| x.severity < e.severity)
            .min_by_key(|x| x.severity)
        {
            *weakest = e;
        }
    }

    fn severity(&self) -> Option<Severity> {
        [Severity::Error, Severity::Warning, Severity::Info]
            .into_iter()
            .find(|s| self.by_severity[*s as usize] > 0)
    }
}

/// Collects findings for [`Gate::judge`]; also passes every record to a
/// second sink (`--write-baseline`).
pub struct Gate<'a> {
    policy: &'a Policy,
    services: BTreeMap<Subject, ServiceStats>,
    groups: BTreeMap<(Rule, Subject), Group>,
    tee: Option<&'a mut dyn Sink>,
    summary: Option<Summary>,
}

impl<'a> Gate<'a> {
    pub fn new(policy: &'a Policy, tee: Option<&'a mut dyn Sink>) -> Self {
        Gate {
            policy,
            services: BTreeMap::new(),
            groups: BTreeMap::new(),
            tee,
            summary: None,
        }
    }

    fn excused(&self, f: &Finding, client: IpAddr, server: Option<SocketAddr>) -> Option<String> {
        self.policy
            .exceptions
            .iter()
            .find(|e| e.matches(f.kind, client, server))
            .map(|e| e.reason.clone().unwrap_or_else(|| "no reason given".into()))
    }

    fn add(&mut self, f: &Finding, subject: Subject, example: Example, excused: Option<String>) {
        let g = self
            .groups
            .entry((Rule::Kind(f.kind), subject))
            .or_default();
        match excused {
            Some(reason) => {
                g.excepted += 1;
                if !g.reasons.contains(&reason) {
                    g.reasons.push(reason);
                }
            }
            None => g.add(example),
        }
    }
}

impl Sink for Gate<'_> {
    fn connection(&mut self, r: &ConnRecord<'_>, findings: &[Finding]) -> io::Result<()> {
        if let Some(t) = self.tee.as_deref_mut() {
            t.connection(r, findings)?;
        }
        let (client, server) = (r.client.0, r.server.0);
        let subject = Subject::service(server, self.policy.service_by);
        let stats = self.services.entry(subject).or_default();
        stats.connections += 1;
        let t = r.teardown as usize;
        if let Some(n) = stats.teardown.get_mut(t) {
            *n += 1;
        }
        if r.teardown.is_abnormal() {
            let ex = stats.examples.entry(t).or_default();
            if ex.len() < EXAMPLES {
                ex.push(Example {
                    connection: Some(r.id),
                    client: Some(client),
                    server: Some(server),
                    host: None,
                    severity: Severity::Info,
                    ts: r.first_seen.0.to_string(),
                    message: format!("ended {}", r.teardown.name()),
                });
            }
        }
        for f in findings {
            let example = Example {
                connection: Some(r.id),
                client: Some(client),
                server: Some(server),
                host: None,
                severity: f.severity,
                ts: f.ts.rfc3339(r.precision).to_string(),
                message: f.message.clone(),
            };
            let excused = self.excused(f, client.ip, Some(server));
            self.add(f, subject, example, excused);
        }
        Ok(())
    }

    fn host_findings(&mut self, findings: &[Finding], precision: Precision) -> io::Result<()> {
        if let Some(t) = self.tee.as_deref_mut() {
            t.host_findings(findings, precision)?;
        }
        for f in findings {
            let Some(host) = f.host else { continue };
            let toward = f.evidence.get("toward").and_then(|t| t.as_str());
            let subject = host_subject(host, toward, self.policy.service_by);
            let toward = toward
                .and_then(|t| t.parse::<std::net::SocketAddr>().ok())
                .map(SocketAddr::from);
            let example = Example {
                connection: None,
                client: None,
                server: toward,
                host: Some(host),
                severity: f.severity,
                ts: f.ts.rfc3339(precision).to_string(),
                message: f.message.clone(),
            };
            let excused = self.excused(f, host, toward);
            self.add(f, subject, example, excused);
        }
        Ok(())
    }

    fn finish(&mut self, summary: &Summary) -> io::Result<()> {
        if let Some(t) = self.tee.as_deref_mut() {
            t.finish(summary)?;
        }
        self.summary = Some(summary.clone());
        Ok(())
    }
}

/// Why an item passed or failed.
#[derive(Debug, Clone, PartialEq)]
pub enum Reason {
    /// Findings at or above `--fail-on`.
    Severity {
        failing: u64,
        fail_on: Severity,
    },
    /// `--fail-on-kind`.
    Kind,
    /// More findings than `--max` allows, over all services.
    OverBudget {
        total: u64,
        max: u64,
    },
    /// With a baseline: the baseline had none.
    New,
    /// With a baseline: more than it had, beyond the tolerance.
    Worse {
        baseline: u64,
        tolerated: u64,
    },
    /// With a baseline: a larger share of the service's connections ended
    /// this way (percentages).
    WorseShare {
        verdict: Teardown,
        now_pct: f64,
        baseline_pct: f64,
        baseline_count: u64,
    },
    /// With a baseline: no more than it had (within the tolerance).
    Known {
        baseline: u64,
    },
    Allowed,
    Excepted,
    WithinBudget {
        total: u64,
        max: u64,
    },
    BelowSeverity,
}

/// One rule on one subject, judged.
#[derive(Debug, Clone)]
pub struct Item {
    pub rule: Rule,
    pub subject: Subject,
    pub fail: bool,
    pub reason: Reason,
    /// The most severe finding's severity (none for teardown regressions).
    pub severity: Option<Severity>,
    /// Findings (or, for teardown regressions, connections).
    pub count: u64,
    pub excepted: u64,
    pub exception_reasons: Vec<String>,
    pub examples: Vec<Example>,
}

impl Item {
    /// Why it passed or failed, as a sentence fragment.
    pub fn why(&self, policy: &Policy) -> String {
        match &self.reason {
            Reason::Severity { failing, fail_on } => {
                format!("{failing} at {fail_on} or worse, and the policy fails on {fail_on}")
            }
            Reason::Kind => "the policy fails on this kind (--fail-on-kind)".into(),
            Reason::OverBudget { total, max } => {
                format!("{total} in all, over the budget of {max} (--max)")
            }
            Reason::New => "new: the baseline had none".into(),
            Reason::Worse {
                baseline,
                tolerated,
            } => format!(
                "worse than the baseline: {} now, {baseline} then (up to {tolerated} tolerated at {}%)",
                self.count, policy.tolerance_pct
            ),
            Reason::WorseShare {
                verdict,
                now_pct,
                baseline_pct,
                baseline_count,
            } => format!(
                "{now_pct:.1}% of connections ended {} now, {baseline_pct:.1}% ({baseline_count}) in the baseline",
                verdict.name()
            ),
            Reason::Known { baseline } => format!("known: the baseline had {baseline}"),
            Reason::Allowed => "allowed by the policy (--allow)".into(),
            Reason::Excepted => format!(
                "excused by an exception: {}",
                self.exception_reasons.join("; ")
            ),
            Reason::WithinBudget { total, max } => {
                format!("{total} in all, within the budget of {max} (--max)")
            }
            Reason::BelowSeverity => match policy.fail_on {
                Some(s) => format!("below {s}, the severity that fails"),
                None => "severity alone never fails (--fail-on never)".into(),
            },
        }
    }
}

/// The whole verdict of a `check` run.
#[derive(Debug)]
pub struct Outcome {
    /// Failing items first, then the rest, each in rule order.
    pub items: Vec<Item>,
    pub services: BTreeMap<Subject, ServiceStats>,
    pub summary: Option<Summary>,
    pub policy: Policy,
    pub baseline: Option<String>,
}

impl Outcome {
    pub fn passed(&self) -> bool {
        !self.items.iter().any(|i| i.fail)
    }

    pub fn failures(&self) -> impl Iterator<Item = &Item> {
        self.items.iter().filter(|i| i.fail)
    }
}

impl Gate<'_> {
    /// Judges every group (and, with a baseline, every service's teardown
    /// verdicts).
    pub fn judge(self, baseline: Option<&Baseline>) -> Outcome {
        let p = self.policy;
        let mut totals: BTreeMap<Rule, u64> = BTreeMap::new();
        for ((rule, _), g) in &self.groups {
            *totals.entry(*rule).or_default() += g.count;
        }
        let mut items = Vec::with_capacity(self.groups.len());
        for ((rule, subject), g) in self.groups {
            let total = totals.get(&rule).copied().unwrap_or(0);
            let failing_by_severity = p
                .fail_on
                .map(|s| g.by_severity[s as usize..].iter().sum::<u64>())
                .unwrap_or(0);
            // The policy first: does this group violate it at all?
            let policy_reason = if g.count == 0 {
                Err(Reason::Excepted)
            } else if p.allow.contains(&rule) {
                Err(Reason::Allowed)
            } else if let Some(&max) = p.max.get(&rule) {
                if total > max {
                    Ok(Reason::OverBudget { total, max })
                } else {
                    Err(Reason::WithinBudget { total, max })
                }
            } else if p.fail_on_kind.contains(&rule) {
                Ok(Reason::Kind)
            } else if failing_by_severity > 0 {
                Ok(Reason::Severity {
                    failing: failing_by_severity,
                    fail_on: p.fail_on.unwrap_or(Severity::Error),
                })
            } else {
                Err(Reason::BelowSeverity)
            };
            // Then the baseline: is the violation new or worse?
            let (fail, reason) = match (policy_reason, baseline) {
                (Err(r), _) => (false, r),
                (Ok(r), None) => (true, r),
                (Ok(_), Some(b)) => {
                    let then = b
                        .findings
                        .get(&(rule.name().to_string(), subject))
                        .copied()
                        .unwrap_or(0);
                    let tolerated = p.tolerated(then);
                    if then == 0 {
                        (true, Reason::New)
                    } else if g.count > tolerated {
                        (
                            true,
                            Reason::Worse {
                                baseline: then,
                                tolerated,
                            },
                        )
                    } else {
                        (false, Reason::Known { baseline: then })
                    }
                }
            };
            items.push(Item {
                rule,
                subject,
                fail,
                reason,
                severity: g.severity(),
                count: g.count,
                excepted: g.excepted,
                exception_reasons: g.reasons,
                examples: g.examples,
            });
        }
        if let Some(b) = baseline {
            items.extend(teardown_regressions(p, &self.services, b));
        }
        // Failing first; otherwise rule order, then subject (stable sort).
        items.sort_by_key(|i| !i.fail);
        Outcome {
            items,
            services: self.services,
            summary: self.summary,
            policy: p.clone(),
            baseline: baseline.map(|b| b.path.clone()),
        }
    }
}

/// Services (present in the baseline too) where a larger share of
/// connections ended abnormally than in the baseline.
fn teardown_regressions(
    p: &Policy,
    services: &BTreeMap<Subject, ServiceStats>,
    b: &Baseline,
) -> Vec<Item> {
    let rule = Rule::TeardownRegression;
    let mut out = Vec::new();
    for (subject, stats) in services {
        let Some(&then_total) = b.connections.get(subject) else {
            continue; // a service the baseline never saw: its findings speak for it
        };
        for t in Teardown::ALL.into_iter().filter(|t| t.is_abnormal()) {
            let now = stats.teardown.get(t as usize).copied().unwrap_or(0);
            if now == 0 {
                continue;
            }
            let then = b
                .teardowns
                .get(&(*subject, t.name().to_string()))
                .copied()
                .unwrap_or(0);
            let now_pct = 100.0 * now as f64 / stats.connections.max(1) as f64;
            let then_pct = 100.0 * then as f64 / then_total.max(1) as f64;
            let worse = then == 0 || now_pct > then_pct * (1.0 + p.tolerance_pct / 100.0);
            let allowed = p.allow.contains(&rule);
            let reason = if allowed {
                Reason::Allowed
            } else if worse {
                Reason::WorseShare {
                    verdict: t,
                    now_pct,
                    baseline_pct: then_pct,
                    baseline_count: then,
                }
            } else {
                Reason::Known { baseline: then }
            };
            out.push(Item {
                rule,
                subject: *subject,
                fail: worse && !allowed,
                reason,
                severity: None,
                count: now,
                excepted: 0,
                exception_reasons: Vec::new(),
                examples: stats
                    .examples
                    .get(&(t as usize))
                    .cloned()
                    .unwrap_or_default(),
            });
        }
    }
    out
}
