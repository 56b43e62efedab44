//! `check --format junit`: JUnit XML as GitLab, Jenkins and the GitHub test
//! reporters read it. One `<testsuite>` per rule, one `<testcase>` per
//! service (or host) in it; a violation is a `<failure>`.

use std::collections::BTreeSet;
use std::io::{self, Write};

use super::{example_line, headline};
use crate::check::{Item, Outcome, Rule, Subject};

/// Escapes text for XML 1.0 attributes and content; characters XML 1.0
/// cannot carry at all become U+FFFD.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\t' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// The body of a failure or a passing case's `<system-out>`.
fn details(item: &Item, o: &Outcome) -> String {
    let mut text = format!("{}\nwhy: {}\n", headline(item), item.why(&o.policy));
    for e in &item.examples {
        text.push_str(&example_line(e));
        text.push('\n');
    }
    let more = item.count.saturating_sub(item.examples.len() as u64);
    if more > 0 && !item.examples.is_empty() {
        text.push_str(&format!("… and {more} more\n"));
    }
    text
}

pub fn write(o: &Outcome, out: &mut dyn Write) -> io::Result<()> {
    let rules: Vec<Rule> = Rule::all()
        .filter(|r| *r != Rule::TeardownRegression || o.baseline.is_some())
        .collect();
    let services: BTreeSet<Subject> = o.services.keys().copied().collect();
    // Each suite: its subjects and their items.
    let mut suites = Vec::with_capacity(rules.len());
    for rule in &rules {
        let mut subjects: BTreeSet<Subject> = match rule {
            Rule::Kind(k) if k.is_host_level() => BTreeSet::new(),
            _ => services.clone(),
        };
        subjects.extend(
            o.items
                .iter()
                .filter(|i| i.rule == *rule)
                .map(|i| i.subject),
        );
        if subjects.is_empty() {
            // Nothing to attach the rule to: one case for the whole capture.
            subjects.insert(Subject {
                ip: None,
                port: None,
            });
        }
        // Failed cases: subjects with a failing item.
        let fails = subjects
            .iter()
            .filter(|s| o.failures().any(|i| i.rule == *rule && i.subject == **s))
            .count();
        suites.push((rule, subjects, fails));
    }
    let tests: usize = suites.iter().map(|(_, s, _)| s.len()).sum();
    let failures: usize = suites.iter().map(|(_, _, f)| f).sum();
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        out,
        r#"<testsuites name="finscope check" tests="{tests}" failures="{failures}" errors="0" time="0">"#
    )?;
    for (rule, subjects, fails) in suites {
        let items: Vec<&Item> = o.items.iter().filter(|i| i.rule == *rule).collect();
        writeln!(
            out,
            r#"  <testsuite name="{}" tests="{}" failures="{fails}" errors="0" skipped="0" time="0">"#,
            esc(rule.name()),
            subjects.len()
        )?;
        for subject in subjects {
            let name = esc(&subject.to_string());
            let class = esc(&format!("finscope.{}", rule.name()));
            let these: Vec<&&Item> = items.iter().filter(|i| i.subject == subject).collect();
            if these.is_empty() {
                writeln!(
                    out,
                    r#"    <testcase name="{name}" classname="{class}" time="0"/>"#
                )?;
                continue;
            }
            writeln!(
                out,
                r#"    <testcase name="{name}" classname="{class}" time="0">"#
            )?;
            // One <failure> per case (several teardown verdicts of a
            // service can fail at once): the first names it, all are in
            // the text.
            let (failed, passed): (Vec<&&Item>, Vec<&&Item>) = these.iter().partition(|i| i.fail);
            if let Some(first) = failed.first() {
                let mut message = format!("{}: {}", headline(first), first.why(&o.policy));
                if failed.len() > 1 {
                    message.push_str(&format!(" (and {} more)", failed.len() - 1));
                }
                let text: String = failed.iter().map(|i| details(i, o)).collect();
                writeln!(
                    out,
                    r#"      <failure message="{}" type="{}">{}</failure>"#,
                    esc(&message),
                    esc(rule.name()),
                    esc(&text)
                )?;
            }
            let passed_text: String = passed.iter().map(|i| details(i, o)).collect();
            if !passed_text.is_empty() {
                writeln!(out, "      <system-out>{}</system-out>", esc(&passed_text))?;
            }
            writeln!(out, "    </testcase>")?;
        }
        writeln!(out, "  </testsuite>")?;
    }
    writeln!(out, "</testsuites>")
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_markup_and_control_characters() {
        assert_eq!(
            super::esc("a<b & \"c\"\u{1}\n"),
            "a&lt;b &amp; &quot;c&quot;\u{FFFD}&#10;"
        );
    }
}
