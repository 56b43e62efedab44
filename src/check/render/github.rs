//! `check --format github`: workflow commands GitHub Actions turns into
//! annotations (`::error title=…::message`). One per rule and service, so
//! a bad run stays within GitHub's per-step annotation limits.

use std::io::{self, Write};

use super::{example_line, headline, plural};
use crate::check::Outcome;
use crate::findings::Severity;

/// Escapes a message (`%`, CR, LF) as the runner expects.
fn esc_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a property value: also `:` and `,`.
fn esc_prop(s: &str) -> String {
    esc_data(s).replace(':', "%3A").replace(',', "%2C")
}

pub fn write(o: &Outcome, out: &mut dyn Write) -> io::Result<()> {
    for i in &o.items {
        let command = if i.fail {
            "error"
        } else {
            match i.severity {
                Some(Severity::Error | Severity::Warning) => "warning",
                _ => "notice",
            }
        };
        let mut msg = format!("{}: {}", headline(i), i.why(&o.policy));
        for e in &i.examples {
            msg.push('\n');
            msg.push_str(&example_line(e));
        }
        writeln!(
            out,
            "::{command} title={}::{}",
            esc_prop(&format!("finscope {} on {}", i.rule, i.subject)),
            esc_data(&msg)
        )?;
    }
    let n = o.failures().count() as u64;
    writeln!(
        out,
        "finscope check: {} ({})",
        if n == 0 { "PASS" } else { "FAIL" },
        plural(n, "violation")
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_as_the_runner_expects() {
        assert_eq!(super::esc_data("50%\nx"), "50%25%0Ax");
        assert_eq!(super::esc_prop("a:b,c"), "a%3Ab%2Cc");
    }
}
