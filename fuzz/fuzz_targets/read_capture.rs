//! Arbitrary bytes as a capture file, through the whole pipeline: reader
//! (pcap and pcapng), decoder, flow table, tracker, findings, records.
//! Must never panic or hang; errors are fine.
#![no_main]

use std::io::Cursor;

use finscope::capture::FileSource;
use finscope::pipeline::{run_sources, AnalysisConfig};
use libfuzzer_sys::fuzz_target;

mod common;
use common::Render;

fuzz_target!(|data: &[u8]| {
    let Ok(source) = FileSource::from_reader("fuzz", Box::new(Cursor::new(data.to_vec()))) else {
        return;
    };
    let mut cfg = AnalysisConfig::default();
    // Small caps so eviction paths run too.
    cfg.max_connections = 8;
    let _ = run_sources(vec![source], cfg, &mut Render(Vec::new()), &mut |_| {});
});
