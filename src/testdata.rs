//! The captures in `testdata/`, for the unit tests.

use std::path::PathBuf;

use crate::pipeline::{run, AnalysisConfig};
use crate::report::Sink;

/// Every pcap and pcapng file in `testdata/`, sorted.
pub(crate) fn captures() -> Vec<PathBuf> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("testdata lists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "pcap" || x == "pcapng"))
        .collect();
    files.sort();
    assert!(files.len() > 20, "testdata holds {} captures", files.len());
    files
}

/// Runs each capture on its own into `sink`, with the default settings.
pub(crate) fn run_each(sink: &mut dyn Sink) {
    for f in captures() {
        let name = f.to_string_lossy().into_owned();
        run(&[name], AnalysisConfig::default(), sink, &mut |_| {})
            .unwrap_or_else(|e| panic!("{f:?}: {e}"));
    }
}
