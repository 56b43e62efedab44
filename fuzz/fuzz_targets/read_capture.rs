//! Arbitrary bytes as a capture file, through the whole pipeline: reader
//! (pcap and pcapng), decoder, flow table, tracker, findings, records.
//! Must never panic or hang; errors are fine.
#![no_main]

use std::io::Cursor;

use finscope::capture::FileSource;
use finscope::findings::Finding;
use finscope::pipeline::{run_sources, AnalysisConfig};
use finscope::report::{ConnRecord, Sink, Summary};
use libfuzzer_sys::fuzz_target;

struct Render(Vec<u8>);

impl Sink for Render {
    fn connection(&mut self, r: &ConnRecord<'_>, _: &[Finding]) -> std::io::Result<()> {
        self.0.clear();
        r.write_json(&mut self.0);
        Ok(())
    }
    fn host_findings(
        &mut self,
        _: &[Finding],
        _: finscope::capture::Precision,
    ) -> std::io::Result<()> {
        Ok(())
    }
    fn finish(&mut self, _: &Summary) -> std::io::Result<()> {
        Ok(())
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(source) = FileSource::from_reader("fuzz", Box::new(Cursor::new(data.to_vec()))) else {
        return;
    };
    let mut cfg = AnalysisConfig::default();
    // Small caps so eviction paths run too.
    cfg.max_connections = 8;
    let _ = run_sources(vec![source], cfg, &mut Render(Vec::new()), &mut |_| {});
});
