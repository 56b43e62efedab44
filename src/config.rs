//! Validated settings, free of clap: what `main` hands to [`crate::run`].
//!
//! `check` settings come from three places, later ones winning: built-in
//! defaults, the `--policy` file (TOML), and flags.

use std::collections::BTreeMap;
use std::io::IsTerminal;

use serde::Deserialize;

use crate::capture::time::parse_duration;
use crate::check::{unknown_kind, Cidr, Exception, Policy, Rule, ServiceBy};
use crate::cli::{self, AnalyzeArgs, CheckArgs, CheckFormat, FailOn, Format, InputArgs, When};
use crate::findings::{FindingKind, Severity, Thresholds};
use crate::pipeline::{AnalysisConfig, StreamExport};

/// An `analyze` run, ready to go.
#[derive(Debug, Clone)]
pub struct Config {
    pub files: Vec<String>,
    pub format: Format,
    pub quiet: bool,
    pub all: bool,
    pub connections: bool,
    pub progress: bool,
    pub color: bool,
    pub analysis: AnalysisConfig,
}

impl Config {
    /// Checks the arguments; the error is a message for the user.
    pub fn from_args(a: AnalyzeArgs) -> Result<Config, String> {
        let files = input_files(&a.input, "analyze")?;
        let (thresholds, max_connections) = ThresholdSettings::from(&a.thresholds).resolve()?;
        let stdout_tty = std::io::stdout().is_terminal();
        let format = a.format.unwrap_or(if stdout_tty {
            Format::Table
        } else {
            Format::Jsonl
        });
        Ok(Config {
            files,
            format,
            quiet: a.quiet,
            all: a.all,
            connections: a.connections,
            progress: progress(a.progress),
            color: color(a.color),
            analysis: AnalysisConfig {
                thresholds,
                max_connections,
                count: a.input.count,
                threads: a.input.threads(),
                filter: a.input.filter,
                // `analyze` exits when the run is done.
                exit_after: true,
                write_streams: match a.write_streams {
                    Some(dir) => Some(StreamExport {
                        dir,
                        per_connection: parse_size("--stream-buffer", &a.stream_buffer)?,
                        total: parse_size("--stream-buffer-total", &a.stream_buffer_total)?,
                    }),
                    None => None,
                },
            },
        })
    }
}

/// `4M`, `512K`, `1G` or a plain number of bytes (powers of 1024).
fn parse_size(flag: &str, s: &str) -> Result<usize, String> {
    let t = s.trim();
    let (num, mult) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let mult: usize = match c.to_ascii_uppercase() {
                'K' => 1 << 10,
                'M' => 1 << 20,
                'G' => 1 << 30,
                _ => return Err(format!("{flag} {s}: use a number with K, M or G")),
            };
            (t.get(..i).unwrap_or(""), mult)
        }
        _ => (t, 1),
    };
    num.trim()
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .ok_or_else(|| format!("{flag} {s}: use a number with K, M or G"))
}

fn input_files(a: &InputArgs, command: &str) -> Result<Vec<String>, String> {
    let mut files = a.read.clone();
    files.extend(a.files.iter().cloned());
    if files.is_empty() {
        return Err(format!(
            "no capture file given (finscope {command} FILE..., or - for standard input)"
        ));
    }
    if files.iter().filter(|f| *f == "-").count() > 1 {
        return Err("standard input (-) can be read only once".into());
    }
    Ok(files)
}

fn color(w: When) -> bool {
    match w {
        When::Always => true,
        When::Never => false,
        When::Auto => std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    }
}

fn progress(w: When) -> bool {
    match w {
        When::Always => true,
        When::Never => false,
        When::Auto => std::io::stderr().is_terminal(),
    }
}

/// Thresholds as given (flags or a policy's `[thresholds]` table); unset
/// ones take the defaults.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ThresholdSettings {
    pub time_wait: Option<String>,
    pub stall: Option<String>,
    pub fin_retries: Option<u32>,
    pub idle_timeout: Option<String>,
    pub tw_accumulation: Option<u64>,
    pub cw_accumulation: Option<u64>,
    pub syn_flood: Option<u64>,
    pub max_connections: Option<usize>,
}

impl From<&cli::ThresholdArgs> for ThresholdSettings {
    fn from(a: &cli::ThresholdArgs) -> Self {
        ThresholdSettings {
            time_wait: a.time_wait.clone(),
            stall: a.stall.clone(),
            fin_retries: a.fin_retries,
            idle_timeout: a.idle_timeout.clone(),
            tw_accumulation: a.tw_accumulation,
            cw_accumulation: a.cw_accumulation,
            syn_flood: a.syn_flood,
            max_connections: a.max_connections,
        }
    }
}

impl ThresholdSettings {
    /// `over`'s settings win where they are set.
    fn overridden_by(self, over: ThresholdSettings) -> Self {
        ThresholdSettings {
            time_wait: over.time_wait.or(self.time_wait),
            stall: over.stall.or(self.stall),
            fin_retries: over.fin_retries.or(self.fin_retries),
            idle_timeout: over.idle_timeout.or(self.idle_timeout),
            tw_accumulation: over.tw_accumulation.or(self.tw_accumulation),
            cw_accumulation: over.cw_accumulation.or(self.cw_accumulation),
            syn_flood: over.syn_flood.or(self.syn_flood),
            max_connections: over.max_connections.or(self.max_connections),
        }
    }

    /// The thresholds and `--max-connections`, defaults filled in.
    pub fn resolve(&self) -> Result<(Thresholds, usize), String> {
        let d = Thresholds::default();
        let dur = |flag: &str, v: &Option<String>, default: i64| match v {
            Some(v) => parse_duration(v).map_err(|e| format!("--{flag}: {e}")),
            None => Ok(default),
        };
        let t = Thresholds {
            time_wait: dur("time-wait", &self.time_wait, d.time_wait)?,
            stall: dur("stall", &self.stall, d.stall)?,
            fin_retries: self.fin_retries.unwrap_or(d.fin_retries),
            idle_timeout: dur("idle-timeout", &self.idle_timeout, d.idle_timeout)?,
            tw_accumulation: self.tw_accumulation.unwrap_or(d.tw_accumulation),
            cw_accumulation: self.cw_accumulation.unwrap_or(d.cw_accumulation),
            syn_flood: self.syn_flood.unwrap_or(d.syn_flood),
        };
        if t.idle_timeout == 0 {
            return Err("--idle-timeout must be more than 0".into());
        }
        let max_connections = self.max_connections.unwrap_or(1_000_000);
        if max_connections == 0 {
            return Err("--max-connections must be at least 1".into());
        }
        Ok((t, max_connections))
    }
}

/// A `--policy` file. Keys are the flags' names; see `docs/ci.md`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct PolicyFile {
    fail_on: Option<FailOn>,
    #[serde(default)]
    fail_on_kind: Vec<String>,
    #[serde(default)]
    allow: Vec<String>,
    #[serde(default)]
    max: BTreeMap<String, u64>,
    tolerance: Option<f64>,
    service_by: Option<cli::ServiceBy>,
    baseline: Option<String>,
    #[serde(default)]
    thresholds: ThresholdSettings,
    #[serde(default)]
    exception: Vec<ExceptionFile>,
}

/// `[[exception]]`: findings on matching connections never fail the check.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExceptionFile {
    /// Finding kinds excused (all when absent).
    #[serde(default)]
    kinds: Vec<String>,
    /// The server's port.
    port: Option<u16>,
    /// An address or CIDR block matching either end.
    host: Option<String>,
    /// Why, for the report.
    reason: Option<String>,
}

/// A `check` run, ready to go.
#[derive(Debug, Clone)]
pub struct CheckConfig {
    pub files: Vec<String>,
    pub analysis: AnalysisConfig,
    pub policy: Policy,
    pub baseline: Option<String>,
    pub write_baseline: Option<String>,
    pub format: CheckFormat,
    pub output: Option<String>,
    pub progress: bool,
    pub color: bool,
}

impl CheckConfig {
    pub fn from_args(a: CheckArgs) -> Result<CheckConfig, String> {
        let files = input_files(&a.input, "check")?;
        let file: PolicyFile = match &a.policy {
            Some(path) => {
                let text =
                    std::fs::read_to_string(path).map_err(|e| format!("--policy {path}: {e}"))?;
                toml::from_str(&text).map_err(|e| format!("--policy {path}: {e}"))?
            }
            None => PolicyFile::default(),
        };
        let (thresholds, max_connections) = file
            .thresholds
            .overridden_by(ThresholdSettings::from(&a.thresholds))
            .resolve()?;

        let fail_on = match a.fail_on.or(file.fail_on).unwrap_or(FailOn::Warning) {
            FailOn::Info => Some(Severity::Info),
            FailOn::Warning => Some(Severity::Warning),
            FailOn::Error => Some(Severity::Error),
            FailOn::Never => None,
        };
        let rules = |flag: &str, names: &[String]| -> Result<Vec<Rule>, String> {
            names
                .iter()
                .filter(|n| !n.trim().is_empty())
                .map(|n| Rule::from_name(n.trim()).map_err(|e| format!("{flag}: {e}")))
                .collect()
        };
        let mut fail_on_kind = rules("--fail-on-kind", &file.fail_on_kind)?;
        fail_on_kind.extend(rules("--fail-on-kind", &a.fail_on_kind)?);
        let mut allow = rules("--allow", &file.allow)?;
        allow.extend(rules("--allow", &a.allow)?);
        let mut max = BTreeMap::new();
        for (k, n) in &file.max {
            max.insert(Rule::from_name(k).map_err(|e| format!("[max]: {e}"))?, *n);
        }
        for spec in a.max.iter().filter(|s| !s.trim().is_empty()) {
            let (k, n) = spec
                .split_once('=')
                .ok_or_else(|| format!("--max {spec}: expected KIND=N, as in rst-abort=3"))?;
            let n: u64 = n
                .trim()
                .parse()
                .map_err(|_| format!("--max {spec}: {n:?} is not a count"))?;
            max.insert(
                Rule::from_name(k.trim()).map_err(|e| format!("--max: {e}"))?,
                n,
            );
        }
        let tolerance_pct = a.tolerance.or(file.tolerance).unwrap_or(10.0);
        if !(tolerance_pct.is_finite() && tolerance_pct >= 0.0) {
            return Err(format!(
                "--tolerance: {tolerance_pct} is not a percentage (0 or more)"
            ));
        }
        let service_by = match a.service_by.or(file.service_by) {
            Some(cli::ServiceBy::Port) => ServiceBy::Port,
            _ => ServiceBy::Address,
        };
        let mut exceptions = Vec::new();
        for (i, e) in file.exception.into_iter().enumerate() {
            let at = |what: String| format!("[[exception]] number {}: {what}", i + 1);
            let kinds = e
                .kinds
                .iter()
                .map(|k| FindingKind::from_name(k).ok_or_else(|| at(unknown_kind(k))))
                .collect::<Result<Vec<_>, _>>()?;
            let host = match &e.host {
                Some(h) => Some(Cidr::parse(h).map_err(at)?),
                None => None,
            };
            if e.port.is_none() && host.is_none() {
                return Err(at(
                    "give a port or a host (an exception for everything is --allow)".into(),
                ));
            }
            exceptions.push(Exception {
                kinds,
                port: e.port,
                host,
                reason: e.reason,
            });
        }
        Ok(CheckConfig {
            files,
            analysis: AnalysisConfig {
                thresholds,
                max_connections,
                count: a.input.count,
                threads: a.input.threads(),
                filter: a.input.filter,
                write_streams: None,
                // `check` exits when the run is done.
                exit_after: true,
            },
            policy: Policy {
                fail_on,
                fail_on_kind,
                allow,
                max,
                tolerance_pct,
                service_by,
                exceptions,
            },
            baseline: a.baseline.or(file.baseline),
            write_baseline: a.write_baseline,
            format: a.format,
            output: a.output,
            progress: progress(a.progress),
            color: color(a.color),
        })
    }
}

/// A `live` run, ready to go.
#[derive(Debug, Clone)]
pub struct LiveConfig {
    pub interface: String,
    pub filter: Option<String>,
    pub snaplen: i32,
    /// `-B`, in bytes.
    pub buffer_bytes: Option<i32>,
    pub write: Option<String>,
    pub duration: Option<std::time::Duration>,
    pub count: Option<u64>,
    pub format: Format,
    /// Whether to draw the live view (stdout is a terminal and the format
    /// is the table).
    pub view: bool,
    pub quiet: bool,
    pub color: bool,
    pub analysis: AnalysisConfig,
}

impl LiveConfig {
    pub fn from_args(a: cli::LiveArgs) -> Result<LiveConfig, String> {
        let (thresholds, max_connections) = ThresholdSettings::from(&a.thresholds).resolve()?;
        if a.snaplen <= 0 {
            return Err("--snaplen must be more than 0".into());
        }
        let buffer_bytes = match a.buffer_size {
            Some(k) if k <= 0 || k > i32::MAX / 1024 => {
                return Err(format!("-B {k}: the buffer size is in KiB, 1 to 2097151"))
            }
            Some(k) => Some(k * 1024),
            None => None,
        };
        let duration = match &a.duration {
            Some(d) => {
                let ns = parse_duration(d).map_err(|e| format!("--duration: {e}"))?;
                Some(std::time::Duration::from_nanos(ns.max(0) as u64))
            }
            None => None,
        };
        let tty = std::io::stdout().is_terminal();
        let format = a
            .format
            .unwrap_or(if tty { Format::Table } else { Format::Jsonl });
        Ok(LiveConfig {
            interface: a.interface,
            filter: a.filter.clone(),
            snaplen: a.snaplen,
            buffer_bytes,
            write: a.write,
            duration,
            count: a.count,
            format,
            view: tty && format == Format::Table,
            quiet: a.quiet,
            color: color(a.color),
            analysis: AnalysisConfig {
                thresholds,
                max_connections,
                count: None,
                // The kernel filters live packets; nothing to do per frame.
                filter: None,
                write_streams: None,
                threads: 1,
                exit_after: true,
            },
        })
    }
}
