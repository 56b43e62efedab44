//! The formats `check` writes its verdict in: text for people, JSON,
//! JUnit XML for test reporters, SARIF for code-scanning dashboards, and
//! GitHub Actions annotations.

mod github;
mod json;
mod junit;
mod sarif;
mod text;

use std::io::{self, Write};

use crate::check::{Example, Item, Outcome};
use crate::cli::CheckFormat;

/// Writes `outcome` in `format`.
pub fn write(
    outcome: &Outcome,
    format: CheckFormat,
    color: bool,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        CheckFormat::Text => text::write(outcome, color, out),
        CheckFormat::Json => json::write(outcome, out),
        CheckFormat::Junit => junit::write(outcome, out),
        CheckFormat::Sarif => sarif::write(outcome, out),
        CheckFormat::Github => github::write(outcome, out),
    }?;
    out.flush()
}

/// `rst-abort on 10.0.0.2:80: 3 findings (error)`.
fn headline(item: &Item) -> String {
    let what = if item.rule == crate::check::Rule::TeardownRegression {
        plural(item.count, "connection")
    } else {
        plural(item.count, "finding")
    };
    match item.severity {
        Some(s) => format!("{} on {}: {what} ({s})", item.rule, item.subject),
        None => format!("{} on {}: {what}", item.rule, item.subject),
    }
}

/// `connection #4 10.0.0.1:5000 → 10.0.0.2:80 at …: message`.
fn example_line(e: &Example) -> String {
    let who = match (e.connection, e.client, e.server, e.host) {
        (Some(id), Some(c), Some(s), _) => format!("connection #{id} {c} → {s}"),
        (_, _, Some(s), Some(h)) => format!("host {h} toward {s}"),
        (_, _, _, Some(h)) => format!("host {h}"),
        _ => "capture".to_string(),
    };
    format!("{who} at {}: {}", e.ts, e.message)
}

fn plural(n: u64, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// The capture files named in the summary (for locations and headers).
fn files(outcome: &Outcome) -> Vec<String> {
    outcome
        .summary
        .as_ref()
        .map(|s| s.files.iter().map(|f| f.path.clone()).collect())
        .unwrap_or_default()
}
