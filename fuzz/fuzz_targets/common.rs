//! What the whole-pipeline targets share: a sink that renders each record
//! (so the record writer runs too) and keeps nothing.

use finscope::findings::Finding;
use finscope::report::{ConnRecord, Sink, Summary};

pub struct Render(pub Vec<u8>);

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
