//! Validated settings, free of clap: what `main` hands to [`crate::run`].

use std::io::IsTerminal;

use crate::capture::time::parse_duration;
use crate::cli::{AnalyzeArgs, Format, When};
use crate::findings::Thresholds;
use crate::pipeline::AnalysisConfig;

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
        let mut files = a.read;
        files.extend(a.files);
        if files.is_empty() {
            return Err(
                "no capture file given (finscope analyze FILE..., or - for standard input)".into(),
            );
        }
        if files.iter().filter(|f| *f == "-").count() > 1 {
            return Err("standard input (-) can be read only once".into());
        }
        let dur = |flag: &str, v: &str| parse_duration(v).map_err(|e| format!("--{flag}: {e}"));
        let thresholds = Thresholds {
            time_wait: dur("time-wait", &a.thresholds.time_wait)?,
            stall: dur("stall", &a.thresholds.stall)?,
            fin_retries: a.thresholds.fin_retries,
            idle_timeout: dur("idle-timeout", &a.thresholds.idle_timeout)?,
            tw_accumulation: a.thresholds.tw_accumulation,
            cw_accumulation: a.thresholds.cw_accumulation,
        };
        if thresholds.idle_timeout == 0 {
            return Err("--idle-timeout must be more than 0".into());
        }
        if a.thresholds.max_connections == 0 {
            return Err("--max-connections must be at least 1".into());
        }
        let stdout_tty = std::io::stdout().is_terminal();
        let stderr_tty = std::io::stderr().is_terminal();
        let format = a.format.unwrap_or(if stdout_tty {
            Format::Table
        } else {
            Format::Jsonl
        });
        let color = match a.color {
            When::Always => true,
            When::Never => false,
            When::Auto => stdout_tty && std::env::var_os("NO_COLOR").is_none(),
        };
        let progress = match a.progress {
            When::Always => true,
            When::Never => false,
            When::Auto => stderr_tty,
        };
        Ok(Config {
            files,
            format,
            quiet: a.quiet,
            all: a.all,
            connections: a.connections,
            progress,
            color,
            analysis: AnalysisConfig {
                thresholds,
                max_connections: a.thresholds.max_connections,
                count: a.count,
                filter: a.filter,
            },
        })
    }
}
