//! `check --format json`: one `finscope/1` document of type `check`.

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::Serialize;

use crate::check::{Example, Outcome, Reason};
use crate::conn::Teardown;
use crate::report::{Summary, SCHEMA};

#[derive(Serialize)]
struct Doc<'a> {
    schema: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    result: &'static str,
    violations: usize,
    policy: String,
    baseline: Option<&'a str>,
    items: Vec<ItemRec<'a>>,
    services: Vec<ServiceRec>,
    summary: Option<&'a Summary>,
}

#[derive(Serialize)]
struct ItemRec<'a> {
    rule: &'static str,
    subject: String,
    result: &'static str,
    reason: &'static str,
    why: String,
    severity: Option<crate::findings::Severity>,
    count: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    baseline: Option<u64>,
    excepted: u64,
    examples: Vec<ExampleRec<'a>>,
}

#[derive(Serialize)]
pub(super) struct ExampleRec<'a> {
    connection: Option<u64>,
    client: Option<String>,
    server: Option<String>,
    host: Option<String>,
    severity: crate::findings::Severity,
    ts: &'a str,
    message: &'a str,
}

impl<'a> From<&'a Example> for ExampleRec<'a> {
    fn from(e: &'a Example) -> Self {
        ExampleRec {
            connection: e.connection,
            client: e.client.map(|c| c.to_string()),
            server: e.server.map(|s| s.to_string()),
            host: e.host.map(|h| h.to_string()),
            severity: e.severity,
            ts: &e.ts,
            message: &e.message,
        }
    }
}

#[derive(Serialize)]
struct ServiceRec {
    service: String,
    connections: u64,
    teardown: BTreeMap<&'static str, u64>,
}

/// The stable code for a reason (`why` is the sentence).
pub(super) fn reason_code(r: &Reason) -> &'static str {
    match r {
        Reason::Severity { .. } => "severity",
        Reason::Kind => "kind",
        Reason::OverBudget { .. } => "over-budget",
        Reason::New => "new",
        Reason::Worse { .. } => "worse",
        Reason::WorseShare { .. } => "worse-share",
        Reason::Known { .. } => "known",
        Reason::Allowed => "allowed",
        Reason::Excepted => "excepted",
        Reason::WithinBudget { .. } => "within-budget",
        Reason::BelowSeverity => "below-severity",
    }
}

pub fn write(o: &Outcome, out: &mut dyn Write) -> io::Result<()> {
    let doc = Doc {
        schema: SCHEMA,
        kind: "check",
        result: if o.passed() { "pass" } else { "fail" },
        violations: o.failures().count(),
        policy: o.policy.describe(),
        baseline: o.baseline.as_deref(),
        items: o
            .items
            .iter()
            .map(|i| ItemRec {
                rule: i.rule.name(),
                subject: i.subject.to_string(),
                result: if i.fail { "fail" } else { "pass" },
                reason: reason_code(&i.reason),
                why: i.why(&o.policy),
                severity: i.severity,
                count: i.count,
                baseline: match i.reason {
                    Reason::Worse { baseline, .. } | Reason::Known { baseline } => Some(baseline),
                    Reason::WorseShare { baseline_count, .. } => Some(baseline_count),
                    Reason::New => Some(0),
                    _ => None,
                },
                excepted: i.excepted,
                examples: i.examples.iter().map(ExampleRec::from).collect(),
            })
            .collect(),
        services: o
            .services
            .iter()
            .map(|(s, st)| ServiceRec {
                service: s.to_string(),
                connections: st.connections,
                teardown: Teardown::ALL
                    .iter()
                    .filter_map(|t| {
                        let n = st.teardown.get(*t as usize).copied().unwrap_or(0);
                        (n > 0).then_some((t.name(), n))
                    })
                    .collect(),
            })
            .collect(),
        summary: o.summary.as_ref(),
    };
    // Serialized first so a closed pipe surfaces as the io error it is.
    let mut bytes = serde_json::to_vec_pretty(&doc).map_err(io::Error::other)?;
    bytes.push(b'\n');
    out.write_all(&bytes)
}
