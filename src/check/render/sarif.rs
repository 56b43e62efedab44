//! `check --format sarif`: SARIF 2.1.0 (OASIS), for GitHub code scanning
//! and other dashboards. One result per rule and service; the capture file
//! is the artifact, the service its logical location.

use std::io::{self, Write};

use serde_json::{json, Value};

use super::{example_line, files, headline};
use crate::check::{Outcome, Reason, Rule};
use crate::findings::{FindingKind, Severity};

fn level(s: Option<Severity>) -> &'static str {
    match s {
        Some(Severity::Error) => "error",
        Some(Severity::Warning) | None => "warning",
        Some(Severity::Info) => "note",
    }
}

pub fn write(o: &Outcome, out: &mut dyn Write) -> io::Result<()> {
    let rules: Vec<Rule> = Rule::all().collect();
    let rule_objs: Vec<Value> = rules
        .iter()
        .map(|r| {
            json!({
                "id": r.name(),
                "shortDescription": {"text": r.description()},
                "fullDescription": {"text": r.description()},
                "defaultConfiguration": {"level": match r {
                    Rule::Kind(FindingKind::Midstream | FindingKind::HalfClose) => "note",
                    _ => "warning",
                }},
            })
        })
        .collect();
    let files = files(o);
    let uri = files.first().cloned().unwrap_or_else(|| "capture".into());
    let artifacts: Vec<Value> = files
        .iter()
        .map(|f| json!({"location": {"uri": f}}))
        .collect();
    let results: Vec<Value> = o
        .items
        .iter()
        .map(|i| {
            let mut text = format!("{}: {}.", headline(i), i.why(&o.policy));
            if let Some(e) = i.examples.first() {
                text.push_str(&format!(" For example, {}", example_line(e)));
            }
            let mut r = json!({
                "ruleId": i.rule.name(),
                "ruleIndex": rules.iter().position(|r| *r == i.rule).unwrap_or(0),
                // A violation is an error whatever its severity; the rest
                // keep their severity as a level.
                "level": if i.fail { "error" } else { level(i.severity) },
                "message": {"text": text},
                "locations": [{
                    "physicalLocation": {"artifactLocation": {"uri": uri, "index": 0}},
                    "logicalLocations": [{"name": i.subject.to_string(), "kind": "module"}],
                }],
                "partialFingerprints": {"finscopeRuleSubject/v1": format!("{}|{}", i.rule, i.subject)},
                "properties": {"count": i.count, "failed": i.fail, "connections":
                    i.examples.iter().filter_map(|e| e.connection).collect::<Vec<_>>()},
            });
            if o.baseline.is_some() {
                let state = match i.reason {
                    Reason::New => Some("new"),
                    Reason::Worse { .. } | Reason::WorseShare { .. } => Some("updated"),
                    Reason::Known { .. } => Some("unchanged"),
                    _ => None,
                };
                if let (Some(state), Some(obj)) = (state, r.as_object_mut()) {
                    obj.insert("baselineState".into(), json!(state));
                }
            }
            r
        })
        .collect();
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "finscope",
                "version": env!("CARGO_PKG_VERSION"),
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "rules": rule_objs,
            }},
            "artifacts": artifacts,
            "invocations": [{"executionSuccessful": true, "exitCode": if o.passed() { 0 } else { 1 }}],
            "results": results,
        }],
    });
    // Serialized first so a closed pipe surfaces as the io error it is.
    let mut bytes = serde_json::to_vec_pretty(&doc).map_err(io::Error::other)?;
    bytes.push(b'\n');
    out.write_all(&bytes)
}
