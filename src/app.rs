//! Runs a parsed command line: the glue between [`crate::cli`] and the
//! pipeline, kept out of `main.rs` so tests can call it.

use std::io::{self, IsTerminal, Write};

use clap::CommandFactory;

use crate::check::{self, Baseline, Gate};
use crate::cli::{CheckFormat, Cli, Command, Format};
use crate::config::{CheckConfig, Config, LiveConfig};
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
        Command::Check(args) => match CheckConfig::from_args(args) {
            Ok(cfg) => check(&cfg),
            Err(msg) => {
                eprintln!("finscope: {msg}");
                ExitStatus::Error
            }
        },
        Command::Show(args) => show(args),
        Command::Live(args) => match LiveConfig::from_args(args) {
            Ok(cfg) => crate::live::live(&cfg),
            Err(msg) => {
                eprintln!("finscope: {msg}");
                ExitStatus::Error
            }
        },
        Command::Interfaces { format } => crate::live::interfaces(format),
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
        Format::Jsonl => Box::new(JsonlSink::batched(out, cfg.quiet)),
        Format::Json => Box::new(JsonSink::new(out, cfg.quiet)),
        Format::Csv => Box::new(CsvSink::batched(out)),
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
    let result = run_with_progress(&cfg.files, &cfg.analysis, sink.as_mut(), cfg.progress);
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

/// Parses `IP:PORT-IP:PORT` (IPv6 in brackets), trying each `-`.
fn parse_pair(s: &str) -> Option<(std::net::SocketAddr, std::net::SocketAddr)> {
    s.match_indices('-').find_map(|(i, _)| {
        let a = s.get(..i)?.trim().parse().ok()?;
        let b = s.get(i + 1..)?.trim().parse().ok()?;
        Some((a, b))
    })
}

/// `show`: one connection as a ladder diagram.
fn show(args: crate::cli::ShowArgs) -> ExitStatus {
    use crate::pipeline::WatchTarget;
    use crate::report::ladder::{self, ShowSink};
    let fail = |msg: String| {
        eprintln!("finscope: {msg}");
        ExitStatus::Error
    };
    let (thresholds, max_connections) =
        match crate::config::ThresholdSettings::from(&args.thresholds).resolve() {
            Ok(t) => t,
            Err(e) => return fail(e),
        };
    let (target, mut sink) = match args.conn.trim_start_matches('#').parse::<u64>() {
        Ok(id) => (WatchTarget::Id(id), ShowSink::new(Some(id), None)),
        Err(_) => match parse_pair(&args.conn) {
            Some((a, b)) => {
                let (key, _) = crate::flow::FlowKey::of(a.into(), b.into());
                (
                    WatchTarget::Tuple(key),
                    ShowSink::new(None, Some((a.into(), b.into()))),
                )
            }
            None => {
                return fail(format!(
                "{:?} is not a connection: give its id (as analyze prints it) or IP:PORT-IP:PORT",
                args.conn
            ))
            }
        },
    };
    let cfg = crate::pipeline::AnalysisConfig {
        thresholds,
        max_connections,
        count: None,
        filter: None,
        write_streams: None,
        threads: 1,
        exit_after: true,
    };
    let files = [args.file.clone()];
    let (result, watched) = match pipeline::run_watching(&files, cfg, &mut sink, target) {
        Ok(r) => r,
        Err(e) => return fail(e.to_string()),
    };
    let Some(shown) = watched
        .id
        .and_then(|id| sink.found.iter().find(|s| s.id == id))
    else {
        return fail(format!(
            "no connection {} in {} ({} connections; `finscope analyze` lists them)",
            args.conn, args.file, result.counters.connections
        ));
    };
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let written = match args.format {
        crate::cli::ShowFormat::Text => ladder::write_text(
            &mut out,
            &args.file,
            shown,
            &watched.steps,
            watched.not_kept,
            args.full,
        ),
        crate::cli::ShowFormat::Mermaid => {
            ladder::write_mermaid(&mut out, shown, &watched.steps, watched.not_kept, args.full)
        }
    }
    .and_then(|()| {
        if !watched.same_tuple.is_empty() && args.format == crate::cli::ShowFormat::Text {
            let ids: Vec<String> = watched.same_tuple.iter().map(|i| format!("#{i}")).collect();
            writeln!(
                out,
                "\nlater connections on the same addresses: {} (show them by id)",
                ids.join(", ")
            )?;
        }
        out.flush()
    });
    match written {
        Ok(()) => {}
        Err(e) if is_broken_pipe(&e) => return ExitStatus::Ok,
        Err(e) => return fail(e.to_string()),
    }
    for e in &result.errors {
        eprintln!("finscope: {e}");
    }
    if result.errors.is_empty() {
        ExitStatus::Ok
    } else {
        ExitStatus::Error
    }
}

/// `check`: the analysis through the gate, then the verdict. Exit 0 pass,
/// 1 violations, 2 when the capture or the baseline could not be read
/// (the verdict for what was read is still printed).
fn check(cfg: &CheckConfig) -> ExitStatus {
    let baseline = match &cfg.baseline {
        Some(path) => match Baseline::load(path, cfg.policy.service_by) {
            Ok(b) => Some(b),
            Err(msg) => {
                eprintln!("finscope: {msg}");
                return ExitStatus::Error;
            }
        },
        None => None,
    };
    // --write-baseline: the same finscope/1 document `analyze --format json` writes.
    let mut baseline_out = match &cfg.write_baseline {
        Some(path) => match std::fs::File::create(path) {
            Ok(f) => Some(JsonSink::new(io::BufWriter::new(f), false)),
            Err(e) => {
                eprintln!("finscope: --write-baseline {path}: {e}");
                return ExitStatus::Error;
            }
        },
        None => None,
    };
    let mut gate = Gate::new(
        &cfg.policy,
        baseline_out.as_mut().map(|s| s as &mut dyn Sink),
    );
    let result = run_with_progress(&cfg.files, &cfg.analysis, &mut gate, cfg.progress);
    let errors = match result {
        Ok(r) => r.errors,
        Err(e) => {
            let what = match &e {
                RunError::Output(_) => match &cfg.write_baseline {
                    Some(path) => format!("--write-baseline {path}: {e}"),
                    None => e.to_string(),
                },
                _ => e.to_string(),
            };
            eprintln!("finscope: {what}");
            return ExitStatus::Error;
        }
    };
    let outcome = gate.judge(baseline.as_ref());
    let written = write_verdict(cfg, &outcome);
    match written {
        Err(e) if is_broken_pipe(&e) => {}
        Err(e) => {
            eprintln!("finscope: {e}");
            return ExitStatus::Error;
        }
        Ok(()) => {}
    }
    if !errors.is_empty() {
        for e in &errors {
            eprintln!("finscope: {e}");
        }
        eprintln!("finscope: the verdict above covers only what could be read before the error");
        return ExitStatus::Error;
    }
    // Recording a baseline (without gating on an older one) is not a gate.
    if outcome.passed() || (cfg.write_baseline.is_some() && cfg.baseline.is_none()) {
        ExitStatus::Ok
    } else {
        ExitStatus::Violations
    }
}

/// The verdict in `--format`, to `--output` or standard output; with
/// `--output`, the text verdict still goes to standard output for the log.
fn write_verdict(cfg: &CheckConfig, outcome: &check::Outcome) -> io::Result<()> {
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    match &cfg.output {
        Some(path) => {
            let mut file = std::fs::File::create(path)
                .map(io::BufWriter::new)
                .map_err(|e| io::Error::new(e.kind(), format!("--output {path}: {e}")))?;
            check::render::write(outcome, cfg.format, false, &mut file)?;
            check::render::write(outcome, CheckFormat::Text, cfg.color, &mut out)
        }
        None => check::render::write(outcome, cfg.format, cfg.color, &mut out),
    }
}

/// [`pipeline::run`] with the progress bar when it is wanted.
fn run_with_progress(
    files: &[String],
    analysis: &pipeline::AnalysisConfig,
    sink: &mut dyn Sink,
    progress: bool,
) -> Result<pipeline::RunResult, RunError> {
    let bar = progress_bar(files, progress);
    let mut on_progress = |bytes: u64| {
        if let Some(b) = &bar {
            b.set_position(bytes);
        }
    };
    let result = pipeline::run(files, analysis.clone(), sink, &mut on_progress);
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    result
}

fn terminal_width() -> Option<u16> {
    if !io::stdout().is_terminal() {
        return None;
    }
    std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok())
}

/// A byte-based bar for files whose size is known; hidden when stderr is
/// not a terminal (unless `--progress always`).
fn progress_bar(files: &[String], enabled: bool) -> Option<indicatif::ProgressBar> {
    if !enabled {
        return None;
    }
    let total: u64 = files
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
