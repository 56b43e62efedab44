//! The verdict for people reading a CI log.

use std::io::{self, Write};

use super::{example_line, files, headline, plural};
use crate::check::Outcome;

pub fn write(o: &Outcome, color: bool, out: &mut dyn Write) -> io::Result<()> {
    let paint = |code: &str, s: &str| {
        if color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    };
    let failures: Vec<_> = o.failures().collect();
    let (conns, packets) = o
        .summary
        .as_ref()
        .map(|s| (s.connections, s.packets))
        .unwrap_or((0, 0));
    let verdict = if failures.is_empty() {
        paint("1;32", "PASS")
    } else {
        paint("1;31", "FAIL")
    };
    writeln!(
        out,
        "{verdict} finscope check: {} in {} ({}, {})",
        plural(failures.len() as u64, "violation"),
        files(o).join(", "),
        plural(conns, "connection"),
        plural(packets, "packet"),
    )?;
    for item in &failures {
        writeln!(out)?;
        writeln!(out, "{} {}", paint("31", "✗"), headline(item))?;
        writeln!(out, "    why: {}", item.why(&o.policy))?;
        for e in &item.examples {
            writeln!(out, "    {}", example_line(e))?;
        }
        let more = item.count.saturating_sub(item.examples.len() as u64);
        if more > 0 && !item.examples.is_empty() {
            writeln!(out, "    … and {more} more")?;
        }
    }
    let passed: Vec<_> = o.items.iter().filter(|i| !i.fail).collect();
    if !passed.is_empty() {
        writeln!(out)?;
        writeln!(out, "Reported, not failing:")?;
        for item in passed {
            writeln!(
                out,
                "  {} {}: {}",
                paint("32", "✓"),
                headline(item),
                item.why(&o.policy)
            )?;
        }
    }
    writeln!(out)?;
    write!(out, "policy: {}", o.policy.describe())?;
    match &o.baseline {
        Some(b) => writeln!(out, "; baseline: {b}"),
        None => writeln!(out),
    }
}
