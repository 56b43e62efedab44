use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = finscope::cli::Cli::parse();
    ExitCode::from(finscope::run(cli) as u8)
}
