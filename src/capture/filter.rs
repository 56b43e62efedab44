//! `-f EXPR` on capture files: libpcap's filter compiler (the `live`
//! feature), one compiled program per link type, applied to each frame.

use std::fmt;

/// A pcap-filter expression compiled for each link type it meets.
pub struct PacketFilter {
    expr: String,
    /// Programs by link type; `None` where the expression does not compile
    /// for that link type (no frame of it matches).
    programs: Vec<(u32, Option<pcap::BpfProgram>)>,
}

impl fmt::Debug for PacketFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PacketFilter({:?})", self.expr)
    }
}

fn compile(expr: &str, linktype: u32) -> Result<pcap::BpfProgram, String> {
    let dead = pcap::Capture::dead(pcap::Linktype(linktype as i32)).map_err(|e| e.to_string())?;
    dead.compile(expr, true).map_err(|e| e.to_string())
}

impl PacketFilter {
    /// Checks the expression by compiling it for Ethernet.
    pub fn new(expr: &str) -> Result<Self, String> {
        let ethernet = compile(expr, 1).map_err(|e| format!("-f {expr:?}: {e}"))?;
        Ok(PacketFilter {
            expr: expr.to_string(),
            programs: vec![(1, Some(ethernet))],
        })
    }

    /// Whether the frame passes the filter.
    pub fn matches(&mut self, linktype: u32, frame: &[u8]) -> bool {
        let found = self.programs.iter().position(|(lt, _)| *lt == linktype);
        let i = match found {
            Some(i) => i,
            None => {
                self.programs
                    .push((linktype, compile(&self.expr, linktype).ok()));
                self.programs.len() - 1
            }
        };
        match self.programs.get(i) {
            Some((_, Some(program))) => program.filter(frame),
            _ => false,
        }
    }
}
