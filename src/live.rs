//! The `live` and `interfaces` commands: glue between the command line, a
//! libpcap capture and the pipeline (feature `live`; without it both say
//! how to get it).

use crate::app::ExitStatus;
use crate::cli::ListFormat;
use crate::config::LiveConfig;

#[cfg(not(feature = "live"))]
const NOT_BUILT: &str = "this finscope was built without live capture; rebuild it with \
`cargo build --release --features live` (needs libpcap: apt-get install libpcap-dev)";

#[cfg(not(feature = "live"))]
pub fn live(_: &LiveConfig) -> ExitStatus {
    eprintln!("finscope: {NOT_BUILT}");
    ExitStatus::Error
}

#[cfg(not(feature = "live"))]
pub fn interfaces(_: ListFormat) -> ExitStatus {
    eprintln!("finscope: {NOT_BUILT}");
    ExitStatus::Error
}

#[cfg(feature = "live")]
pub use with_pcap::{interfaces, live};

#[cfg(feature = "live")]
mod with_pcap {
    use std::io::{self, Write};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Instant;

    use super::*;
    use crate::capture::live::{self, LiveError, LiveOptions, LiveSource};
    use crate::cli::Format;
    use crate::pipeline::{self, LiveLimits, RunError};
    use crate::report::live::{draw_view, Recent, ViewFrame};
    use crate::report::{CsvSink, JsonSink, JsonlSink, Sink, TableOptions, TableSink};

    /// Set by Ctrl-C or SIGTERM; the capture loop checks it at least every
    /// read timeout.
    static STOP: AtomicBool = AtomicBool::new(false);

    pub fn interfaces(format: ListFormat) -> ExitStatus {
        let list = match live::interfaces() {
            Ok(l) => l,
            Err(e) => {
                eprintln!("finscope: cannot list interfaces: {e}");
                return ExitStatus::Error;
            }
        };
        let mut out = io::stdout().lock();
        let written = match format {
            ListFormat::Json => serde_json::to_vec_pretty(&list)
                .map_err(io::Error::other)
                .and_then(|mut b| {
                    b.push(b'\n');
                    out.write_all(&b)
                }),
            ListFormat::Table => list.iter().try_for_each(|i| {
                let mut flags = Vec::new();
                flags.push(if i.up { "up" } else { "down" });
                if i.running {
                    flags.push("running");
                }
                if i.loopback {
                    flags.push("loopback");
                }
                writeln!(
                    out,
                    "{:<16} {:<22} {}{}",
                    i.name,
                    flags.join(","),
                    i.addresses.join(" "),
                    i.description
                        .as_deref()
                        .map(|d| format!("  ({d})"))
                        .unwrap_or_default()
                )
            }),
        };
        match written {
            Ok(()) => ExitStatus::Ok,
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitStatus::Ok,
            Err(e) => {
                eprintln!("finscope: {e}");
                ExitStatus::Error
            }
        }
    }

    pub fn live(cfg: &LiveConfig) -> ExitStatus {
        let opts = LiveOptions {
            interface: cfg.interface.clone(),
            filter: cfg.filter.clone(),
            snaplen: cfg.snaplen,
            buffer_bytes: cfg.buffer_bytes,
            write: cfg.write.clone(),
        };
        let mut source = match LiveSource::open(&opts) {
            Ok(s) => s,
            Err(LiveError::Permission(m)) | Err(LiveError::Other(m)) => {
                eprintln!("finscope: {m}");
                return ExitStatus::Error;
            }
        };
        if let Err(e) = ctrlc::set_handler(|| STOP.store(true, Ordering::Relaxed)) {
            eprintln!("finscope: cannot catch Ctrl-C: {e}");
            return ExitStatus::Error;
        }
        eprintln!(
            "finscope: capturing on {}{}; Ctrl-C stops and prints the final report",
            cfg.interface,
            cfg.filter
                .as_deref()
                .map(|f| format!(" ({f})"))
                .unwrap_or_default()
        );
        let stdout = io::stdout();
        let limits = LiveLimits {
            duration: cfg.duration,
            count: cfg.count,
        };
        let result = match cfg.format {
            // Streamed: a LineWriter flushes each record as its line ends,
            // so `| jq` sees it at once.
            Format::Jsonl => {
                let mut sink = JsonlSink::new(io::LineWriter::new(stdout.lock()), cfg.quiet);
                run(&mut source, cfg, &mut sink, limits, None)
            }
            Format::Json => {
                let mut sink = JsonSink::new(io::BufWriter::new(stdout.lock()), cfg.quiet);
                run(&mut source, cfg, &mut sink, limits, None)
            }
            Format::Csv => {
                let mut sink = CsvSink::new(io::LineWriter::new(stdout.lock()));
                run(&mut source, cfg, &mut sink, limits, None)
            }
            Format::Table => {
                let table = TableSink::new(
                    io::BufWriter::new(stdout.lock()),
                    TableOptions {
                        all: false,
                        connections: false,
                        quiet: cfg.quiet,
                        color: cfg.color,
                        width: None,
                    },
                );
                if cfg.view {
                    let (mut sink, newest) = Recent::new(table);
                    run(&mut source, cfg, &mut sink, limits, Some(newest))
                } else {
                    let mut sink = table;
                    run(&mut source, cfg, &mut sink, limits, None)
                }
            }
        };
        match result {
            Ok(()) => ExitStatus::Ok,
            Err(RunError::Output(e)) if e.kind() == io::ErrorKind::BrokenPipe => ExitStatus::Ok,
            Err(e) => {
                eprintln!("finscope: {e}");
                ExitStatus::Error
            }
        }
    }

    fn run(
        source: &mut LiveSource,
        cfg: &LiveConfig,
        sink: &mut dyn Sink,
        limits: LiveLimits,
        view: Option<crate::report::live::NewestFindings>,
    ) -> Result<(), RunError> {
        let started = Instant::now();
        let mut last_packets = 0u64;
        let mut last_at = started;
        let interface = cfg.interface.clone();
        let filter = cfg.filter.clone();
        let width = std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(120);
        let mut on_tick = |a: &mut pipeline::Analyzer<'_>, stats: live::LiveStats| {
            let Some(newest) = &view else {
                return Ok(());
            };
            let packets = a.counters.packets;
            let dt = last_at.elapsed().as_secs_f64().max(1e-3);
            let frame = ViewFrame {
                interface: &interface,
                filter: filter.as_deref(),
                elapsed_s: started.elapsed().as_secs_f64(),
                packets,
                packets_per_s: (packets - last_packets) as f64 / dt,
                dropped: stats.dropped,
                if_dropped: stats.if_dropped,
                findings: a.counters.severities.iter().sum(),
                width,
            };
            last_packets = packets;
            last_at = Instant::now();
            let snap = a.snapshot(8);
            draw_view(&mut io::stderr().lock(), &frame, &snap, newest)
        };
        let r = pipeline::run_live(
            source,
            cfg.analysis.clone(),
            sink,
            &STOP,
            limits,
            &mut on_tick,
        );
        r.map(|_| ())
    }
}
