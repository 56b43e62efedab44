//! finscope: a packet capture analyzer that finds TCP connections ending
//! badly.
//!
//! Data flows one way, and the modules are listed in that order:
//! capture → decode → flow → reassembly → conn → findings → report, with
//! [`pipeline`] driving the loop, and [`check`] (the CI gate) consuming the
//! report's records. A module uses only the ones before it.

pub mod app;
pub mod capture;
pub mod check;
pub mod cli;
pub mod config;
pub mod conn;
pub mod decode;
mod digits;
mod few;
pub mod findings;
pub mod flow;
pub mod live;
pub mod pipeline;
pub mod reassembly;
pub mod report;
#[cfg(test)]
mod testdata;

pub use app::{run, ExitStatus};
