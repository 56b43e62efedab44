//! The command line (clap derive types only; validated into [`crate::config`]).

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Find TCP connections that end badly: resets, lost final ACKs, FINs never
/// acknowledged, CLOSE-WAIT leaks and stuck TIME-WAITs, in pcap/pcapng
/// captures.
#[derive(Debug, Parser)]
#[command(name = "finscope", version, about, long_about = None, propagate_version = true)]
#[command(
    after_help = "Exit status: 0 success, 1 `check` found violations, 2 error (bad arguments, unreadable or malformed capture)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Analyze capture files and report how every TCP connection opened and ended.
    Analyze(AnalyzeArgs),
    /// Print shell completions.
    Completions {
        /// The shell to generate completions for.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), or a subcommand's (`man analyze`).
    Man {
        /// The subcommand whose page to print.
        command: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    /// Capture files (pcap or pcapng), read as one time-ordered stream; `-` reads standard input.
    #[arg(value_name = "FILE")]
    pub files: Vec<String>,

    /// Read this capture file (tcpdump's -r); may be repeated.
    #[arg(short = 'r', long = "read", value_name = "FILE")]
    pub read: Vec<String>,

    /// Only analyze packets matching this pcap-filter expression (needs the `live` feature, built with libpcap).
    #[arg(short = 'f', long = "filter", value_name = "EXPR")]
    pub filter: Option<String>,

    /// Stop after reading COUNT packets.
    #[arg(short = 'c', long = "count", value_name = "COUNT")]
    pub count: Option<u64>,

    /// Output format [default: table on a terminal, jsonl otherwise].
    #[arg(long, value_enum)]
    pub format: Option<Format>,

    /// Print the summary only.
    #[arg(short = 'q', long)]
    pub quiet: bool,

    /// Show every row of the table report instead of the top ones.
    #[arg(long)]
    pub all: bool,

    /// Add the per-connection table to the table report.
    #[arg(long)]
    pub connections: bool,

    /// Progress bar on standard error.
    #[arg(long, value_enum, default_value_t = When::Auto, value_name = "WHEN")]
    pub progress: When,

    /// Colors in the table report.
    #[arg(long, value_enum, default_value_t = When::Auto, value_name = "WHEN")]
    pub color: When,

    #[command(flatten)]
    pub thresholds: ThresholdArgs,
}

#[derive(Debug, Args)]
pub struct ThresholdArgs {
    /// 2MSL: how long a TIME-WAIT lasts (Linux 60s; Windows peers use 120s-240s).
    #[arg(long, value_name = "DUR", default_value = "60s")]
    pub time_wait: String,

    /// How long a side may stay silent (in CLOSE-WAIT, or with a FIN unacknowledged) before it counts as stalled.
    #[arg(long, value_name = "DUR", default_value = "60s")]
    pub stall: String,

    /// FIN retransmissions that make a finding a warning.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub fin_retries: u32,

    /// Connections idle this long leave the table (verdict idle-timeout if they never closed).
    #[arg(long, value_name = "DUR", default_value = "300s")]
    pub idle_timeout: String,

    /// Warn when a host holds this many connections in TIME-WAIT toward one server ip:port at once.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub tw_accumulation: u64,

    /// Warn when a host holds this many connections in CLOSE-WAIT at once.
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub cw_accumulation: u64,

    /// Cap on connections tracked at once; evictions are counted and reported.
    #[arg(long, value_name = "N", default_value_t = 1_000_000)]
    pub max_connections: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A readable report: summary, findings, servers.
    Table,
    /// One finscope/1 JSON document.
    Json,
    /// finscope/1 records, one per line, streamed.
    Jsonl,
    /// One row per connection.
    Csv,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum When {
    Auto,
    Always,
    Never,
}
