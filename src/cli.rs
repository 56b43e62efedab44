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
    /// Analyze capture files as a CI gate: exit 1 when a policy is violated.
    Check(CheckArgs),
    /// Draw one connection as a ladder diagram: every segment, both endpoints' states, findings where they happen.
    Show(ShowArgs),
    /// Watch an interface: a live view on a terminal, JSON Lines otherwise; Ctrl-C ends with the final report (needs the `live` feature).
    Live(LiveArgs),
    /// List the interfaces `live` can capture on (needs the `live` feature).
    Interfaces {
        /// Output format.
        #[arg(long, value_enum, default_value_t = ListFormat::Table)]
        format: ListFormat,
    },
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

/// The capture files and what to read of them (`analyze` and `check`).
#[derive(Debug, Args)]
pub struct InputArgs {
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

    /// Worker threads that share the connections out by flow hash (default: the machine's cores; 1: one thread does everything). The output is the same, byte for byte, whatever N is, while each worker stays under its share of the default --max-connections (N workers hold 1,000,000/N each). -f, --write-streams and an explicit --max-connections (one table's exact eviction order) run on one thread.
    #[arg(short = 'j', long = "threads", value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub threads: Option<u16>,
}

impl InputArgs {
    /// `--threads`, or the machine's cores when it is not given.
    pub fn threads(&self) -> usize {
        self.threads
            .map_or_else(crate::pipeline::default_threads, usize::from)
    }
}

#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    #[command(flatten)]
    pub input: InputArgs,

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

    /// Write each connection's byte streams to DIR: ID.client, ID.server (bytes at their stream offsets, gaps as holes) and ID.gaps.json.
    #[arg(long, value_name = "DIR")]
    pub write_streams: Option<String>,

    /// With --write-streams: out-of-order bytes one connection may hold while waiting for a hole to fill (K, M, G suffixes).
    #[arg(long, value_name = "SIZE", default_value = "4M")]
    pub stream_buffer: String,

    /// With --write-streams: out-of-order bytes all connections together may hold.
    #[arg(long, value_name = "SIZE", default_value = "256M")]
    pub stream_buffer_total: String,

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
    /// 2MSL: how long a TIME-WAIT lasts (Linux 60s; Windows peers use 120s-240s) [default: 60s].
    #[arg(long, value_name = "DUR")]
    pub time_wait: Option<String>,

    /// How long a side may stay silent (in CLOSE-WAIT, or with a FIN unacknowledged) before it counts as stalled [default: 60s].
    #[arg(long, value_name = "DUR")]
    pub stall: Option<String>,

    /// FIN retransmissions that make a finding a warning [default: 3].
    #[arg(long, value_name = "N")]
    pub fin_retries: Option<u32>,

    /// Connections idle this long leave the table (verdict idle-timeout if they never closed) [default: 300s].
    #[arg(long, value_name = "DUR")]
    pub idle_timeout: Option<String>,

    /// Warn when a host holds this many connections in TIME-WAIT toward one server ip:port at once [default: 1000].
    #[arg(long, value_name = "N")]
    pub tw_accumulation: Option<u64>,

    /// Warn when a host holds this many connections in CLOSE-WAIT at once [default: 100].
    #[arg(long, value_name = "N")]
    pub cw_accumulation: Option<u64>,

    /// Warn when a server has this many half-open connections (SYN seen, handshake not completed) at once [default: 1000].
    #[arg(long, value_name = "N")]
    pub syn_flood: Option<u64>,

    /// Cap on connections tracked at once; evictions are counted and reported [default: 1000000].
    #[arg(long, value_name = "N")]
    pub max_connections: Option<usize>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// A policy file (TOML) with the settings below, thresholds and exceptions; flags override it.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<String>,

    /// Fail on findings of this severity or worse [default: warning].
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub fail_on: Option<FailOn>,

    /// Fail on these finding kinds whatever their severity (comma-separated).
    #[arg(long, value_name = "KIND,...", value_delimiter = ',')]
    pub fail_on_kind: Vec<String>,

    /// Never fail on these finding kinds (comma-separated); they are still reported.
    #[arg(long, value_name = "KIND,...", value_delimiter = ',')]
    pub allow: Vec<String>,

    /// Budget: fail on KIND only when there are more than N of it (repeatable, or comma-separated).
    #[arg(long, value_name = "KIND=N", value_delimiter = ',')]
    pub max: Vec<String>,

    /// Compare with a finscope/1 JSON report from a good run (`--write-baseline`, or `analyze --format json`): fail only on what is new or worse.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<String>,

    /// Save this run as a baseline (a finscope/1 JSON report); without --baseline this records and exits 0 whatever it found.
    #[arg(long, value_name = "FILE")]
    pub write_baseline: Option<String>,

    /// With --baseline: how many percent more of a finding kind (per service) still counts as no worse [default: 10].
    #[arg(long, value_name = "PCT")]
    pub tolerance: Option<f64>,

    /// What makes a service: the server's address and port, or the port alone (when addresses change between runs) [default: address].
    #[arg(long, value_enum, value_name = "KEY")]
    pub service_by: Option<ServiceBy>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
    pub format: CheckFormat,

    /// Write the --format output to FILE; the text verdict still goes to standard output.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<String>,

    /// Progress bar on standard error.
    #[arg(long, value_enum, default_value_t = When::Auto, value_name = "WHEN")]
    pub progress: When,

    /// Colors in the text verdict.
    #[arg(long, value_enum, default_value_t = When::Auto, value_name = "WHEN")]
    pub color: When,

    #[command(flatten)]
    pub thresholds: ThresholdArgs,
}

/// The least severity that fails `check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FailOn {
    Info,
    Warning,
    Error,
    /// Fail on severity never (only --fail-on-kind, --max and baselines fail).
    Never,
}

/// How `check` groups connections into services.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ServiceBy {
    /// The server's ip:port.
    Address,
    /// The server's port alone.
    Port,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    /// The verdict for people: each violation with the connection and the rule.
    Text,
    /// One finscope/1 document of type `check`.
    Json,
    /// JUnit XML: a test suite per rule, a test case per service.
    Junit,
    /// SARIF 2.1.0, for code-scanning dashboards.
    Sarif,
    /// GitHub Actions annotation lines (::error ...::).
    Github,
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

#[derive(Debug, Args)]
pub struct LiveArgs {
    /// The interface to capture on (`finscope interfaces` lists them; `any` for all on Linux).
    #[arg(short = 'i', long = "interface", value_name = "IFACE")]
    pub interface: String,

    /// Capture only packets matching this pcap-filter expression (compiled into the kernel filter).
    #[arg(short = 'f', long = "filter", value_name = "EXPR")]
    pub filter: Option<String>,

    /// Bytes to capture of each packet; headers are enough for finscope.
    #[arg(
        short = 's',
        long = "snaplen",
        value_name = "SNAPLEN",
        default_value_t = 262144
    )]
    pub snaplen: i32,

    /// Kernel capture buffer in KiB, as tcpdump's -B.
    #[arg(short = 'B', long = "buffer-size", value_name = "KIB")]
    pub buffer_size: Option<i32>,

    /// Also write what is captured to FILE (pcap).
    #[arg(short = 'w', long = "write", value_name = "FILE")]
    pub write: Option<String>,

    /// Stop after this long (500ms, 30s, 5m) and print the final report.
    #[arg(long, value_name = "DUR")]
    pub duration: Option<String>,

    /// Stop after reading COUNT packets.
    #[arg(short = 'c', long = "count", value_name = "COUNT")]
    pub count: Option<u64>,

    /// Output format [default: a live view, then the table, on a terminal; jsonl otherwise].
    #[arg(long, value_enum)]
    pub format: Option<Format>,

    /// The final report's summary only (and no connection records in jsonl).
    #[arg(short = 'q', long)]
    pub quiet: bool,

    /// Colors in the table report.
    #[arg(long, value_enum, default_value_t = When::Auto, value_name = "WHEN")]
    pub color: When,

    #[command(flatten)]
    pub thresholds: ThresholdArgs,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The capture file (pcap or pcapng).
    #[arg(value_name = "FILE")]
    pub file: String,

    /// The connection: its id from `analyze` (the number of its first frame), or its addresses as IP:PORT-IP:PORT (either order; IPv6 addresses in brackets).
    #[arg(value_name = "CONN")]
    pub conn: String,

    /// Text for the terminal, or a Mermaid sequence diagram.
    #[arg(long, value_enum, default_value_t = ShowFormat::Text)]
    pub format: ShowFormat,

    /// Show every segment of a long data phase instead of folding it.
    #[arg(long)]
    pub full: bool,

    #[command(flatten)]
    pub thresholds: ThresholdArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ShowFormat {
    /// A ladder diagram for the terminal.
    Text,
    /// A Mermaid sequenceDiagram (for CI reports, wikis, GitHub comments).
    Mermaid,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    /// One line per interface.
    Table,
    /// A JSON array.
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum When {
    Auto,
    Always,
    Never,
}
