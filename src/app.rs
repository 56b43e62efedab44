//! Runs a parsed command line: the glue between [`crate::cli`] and the
//! pipeline, kept out of `main.rs` so tests can call it.

use std::io::{self, IsTerminal, Write};

use clap::CommandFactory;

use crate::cli::{Cli, Command, Format};
use crate::config::Config;
use crate::pipeline::{self, RunError};
use crate::report::{CsvSink, JsonSink, JsonlSink, Sink, TableOptions, TableSink};

/// finscope's exit codes (documented in `--help` and the README).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// Success.
    Ok = 0,
    /// `check` found violations.
    Violations = 1,
    /// An error: bad arguments, an unreadable or malformed capture.
    Error = 2,
}

fn is_broken_pipe(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::BrokenPipe
}

/// Runs a command, writing the report to standard output and messages to
/// standard error.
pub fn run(cli: Cli) -> ExitStatus {
    match cli.command {
        Command::Analyze(args) => match Config::from_args(args) {
            Ok(cfg) => analyze(&cfg),
            Err(msg) => {
                eprintln!("finscope: {msg}");
                ExitStatus::Error
            }
        },
        Command::Completions { shell } => {
            let mut cmd = Cli::command();
            clap_complete::generate(shell, &mut cmd, "finscope", &mut io::stdout());
            ExitStatus::Ok
        }
        Command::Man { command } => {
            let root = Cli::command();
            let page = match command.as_deref() {
                None => root,
                Some(name) => match root.find_subcommand(name) {
                    // `finscope-analyze(1)`, as git and cargo name theirs.
                    Some(sub) => sub.clone().name(format!("finscope-{name}")),
                    None => {
                        eprintln!("finscope: no command named {name:?}");
                        return ExitStatus::Error;
                    }
                },
            };
            match clap_mangen::Man::new(page).render(&mut io::stdout()) {
                Ok(()) => ExitStatus::Ok,
                Err(e) if is_broken_pipe(&e) => ExitStatus::Ok,
                Err(e) => {
                    eprintln!("finscope: {e}");
                    ExitStatus::Error
                }
            }
        }
    }
}

fn analyze(cfg: &Config) -> ExitStatus {
    let stdout = io::stdout();
    let out = io::BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut sink: Box<dyn Sink> = match cfg.format {
        Format::Jsonl => Box::new(JsonlSink::new(out, cfg.quiet)),
        Format::Json => Box::new(JsonSink::new(out, cfg.quiet)),
        Format::Csv => Box::new(CsvSink::new(out)),
        Format::Table => Box::new(TableSink::new(
            out,
            TableOptions {
                all: cfg.all,
                connections: cfg.connections,
                quiet: cfg.quiet,
                color: cfg.color,
                width: terminal_width(),
            },
        )),
    };
    let bar = progress_bar(cfg);
    let mut on_progress = |bytes: u64| {
        if let Some(b) = &bar {
            b.set_position(bytes);
        }
    };
    let result = pipeline::run(
        &cfg.files,
        cfg.analysis.clone(),
        sink.as_mut(),
        &mut on_progress,
    );
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    match result {
        Ok(r) if r.errors.is_empty() => ExitStatus::Ok,
        Ok(r) => {
            for e in &r.errors {
                eprintln!("finscope: {e}");
            }
            eprintln!("finscope: the report above covers what could be read before the error");
            ExitStatus::Error
        }
        Err(RunError::Output(e)) if is_broken_pipe(&e) => ExitStatus::Ok,
        Err(e) => {
            eprintln!("finscope: {e}");
            let _ = io::stderr().flush();
            ExitStatus::Error
        }
    }
}

fn terminal_width() -> Option<u16> {
    if !io::stdout().is_terminal() {
        return None;
    }
    std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok())
}

/// A byte-based bar for files whose size is known; hidden when stderr is
/// not a terminal (unless `--progress always`).
fn progress_bar(cfg: &Config) -> Option<indicatif::ProgressBar> {
    if !cfg.progress {
        return None;
    }
    let total: u64 = cfg
        .files
        .iter()
        .filter(|f| *f != "-")
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum();
    // Small files finish before a bar would be seen.
    if total < 32 << 20 {
        return None;
    }
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(total),
        indicatif::ProgressDrawTarget::stderr(),
    );
    let style = indicatif::ProgressStyle::with_template(
        "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    )
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    bar.set_style(style);
    Some(bar)
}
