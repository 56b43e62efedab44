//! Live capture from an interface through libpcap (feature `live`).
//!
//! The capture runs in immediate mode with a short read timeout, so a quiet
//! link still returns control to the caller regularly (for timers and the
//! live view).

use pcap::{Active, Capture, Savefile};

use super::{RawPacket, Timestamp};

/// libpcap's buffer timeout (for platforms where immediate mode is not
/// available).
const READ_TIMEOUT_MS: i32 = 200;

/// How long `next` sleeps when no packet is waiting: the most a packet
/// waits before finscope reads it on a quiet link.
const IDLE_NAP_MS: u64 = 5;

/// What to capture.
#[derive(Debug, Clone)]
pub struct LiveOptions {
    pub interface: String,
    pub filter: Option<String>,
    pub snaplen: i32,
    /// Kernel buffer size in bytes (`-B`, given in KiB as in tcpdump).
    pub buffer_bytes: Option<i32>,
    /// Also write the capture here (`-w`).
    pub write: Option<String>,
}

/// Why a live capture could not start or go on.
#[derive(Debug)]
pub enum LiveError {
    /// Not allowed to capture: the message says which capabilities.
    Permission(String),
    /// Anything else libpcap reported.
    Other(String),
}

impl std::fmt::Display for LiveError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LiveError::Permission(m) | LiveError::Other(m) => f.write_str(m),
        }
    }
}

/// libpcap's own link-layer numbers (DLT_*) where they differ from the
/// LINKTYPE_* values files carry (tcpdump's `pcap-common.c`).
fn linktype_of_dlt(dlt: i32) -> u32 {
    match dlt {
        12 | 14 => 101, // DLT_RAW on the BSDs and Linux → LINKTYPE_RAW
        d => d as u32,
    }
}

/// The permission message, with the exact `setcap` line for this binary.
fn permission_message(interface: &str, detail: &str) -> String {
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "finscope".into());
    format!(
        "cannot capture on {interface}: permission denied ({detail}).\n\
         Capturing needs CAP_NET_RAW (and CAP_NET_ADMIN for some interfaces and buffer sizes).\n\
         Run finscope as root, or give the binary the capabilities once:\n\
         \n    sudo setcap cap_net_raw,cap_net_admin=eip {exe}\n"
    )
}

fn classify(interface: &str, e: pcap::Error) -> LiveError {
    let text = e.to_string();
    let lower = text.to_ascii_lowercase();
    if lower.contains("permission") || lower.contains("operation not permitted") {
        LiveError::Permission(permission_message(interface, &text))
    } else if lower.contains("no such device") || lower.contains("doesn't exist") {
        LiveError::Other(format!(
            "no interface named {interface:?} ({text}); `finscope interfaces` lists them"
        ))
    } else {
        LiveError::Other(format!("cannot capture on {interface}: {text}"))
    }
}

/// Counts libpcap keeps for a capture.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct LiveStats {
    /// Packets the capture received.
    pub received: u64,
    /// Dropped because finscope did not read fast enough (kernel buffer full).
    pub dropped: u64,
    /// Dropped by the interface or its driver.
    pub if_dropped: u64,
}

/// An open live capture.
pub struct LiveSource {
    cap: Capture<Active>,
    linktype: u32,
    save: Option<Savefile>,
    interface: String,
    filter: Option<String>,
}

impl LiveSource {
    pub fn open(o: &LiveOptions) -> Result<LiveSource, LiveError> {
        let classify = |e| classify(&o.interface, e);
        let mut inactive = Capture::from_device(o.interface.as_str())
            .map_err(classify)?
            .immediate_mode(true)
            .timeout(READ_TIMEOUT_MS)
            .snaplen(o.snaplen)
            .promisc(true);
        if let Some(b) = o.buffer_bytes {
            inactive = inactive.buffer_size(b);
        }
        // Non-blocking reads: libpcap's own read timeout does not return
        // control on Linux in immediate mode (it polls again), so `next`
        // naps briefly itself when nothing is waiting.
        let mut cap = inactive
            .open()
            .and_then(|c| c.setnonblock())
            .map_err(classify)?;
        if let Some(expr) = &o.filter {
            cap.filter(expr, true)
                .map_err(|e| LiveError::Other(format!("-f {expr:?}: {e}")))?;
        }
        let save = match &o.write {
            Some(path) => Some(
                cap.savefile(path)
                    .map_err(|e| LiveError::Other(format!("-w {path}: {e}")))?,
            ),
            None => None,
        };
        let linktype = linktype_of_dlt(cap.get_datalink().0);
        Ok(LiveSource {
            cap,
            linktype,
            save,
            interface: o.interface.clone(),
            filter: o.filter.clone(),
        })
    }

    pub fn interface(&self) -> &str {
        &self.interface
    }

    /// The `-f` expression the kernel applies.
    pub fn filter(&self) -> Option<&str> {
        self.filter.as_deref()
    }

    /// The next packet, or `None` (after a short nap) when none is waiting.
    /// Packets are also written to the `-w` file.
    pub fn next_packet(&mut self) -> Result<Option<RawPacket<'_>>, LiveError> {
        match self.cap.next_packet() {
            Ok(p) => {
                if let Some(s) = self.save.as_mut() {
                    s.write(&p);
                }
                let tv = p.header.ts;
                // time_t and suseconds_t are i64 here but i32 on some
                // 32-bit targets.
                #[allow(clippy::useless_conversion)]
                let ts = Timestamp(
                    i64::from(tv.tv_sec)
                        .saturating_mul(1_000_000_000)
                        .saturating_add(i64::from(tv.tv_usec).saturating_mul(1_000)),
                );
                Ok(Some(RawPacket {
                    ts,
                    linktype: self.linktype,
                    data: p.data,
                    orig_len: p.header.len,
                }))
            }
            Err(pcap::Error::TimeoutExpired) => {
                std::thread::sleep(std::time::Duration::from_millis(IDLE_NAP_MS));
                Ok(None)
            }
            Err(e) => Err(LiveError::Other(format!(
                "reading from {}: {e}",
                self.interface
            ))),
        }
    }

    pub fn stats(&mut self) -> LiveStats {
        self.cap
            .stats()
            .map(|s| LiveStats {
                received: s.received.into(),
                dropped: s.dropped.into(),
                if_dropped: s.if_dropped.into(),
            })
            .unwrap_or_default()
    }

    /// Flushes and closes the `-w` file (also done on drop).
    pub fn close_savefile(&mut self) -> Result<(), LiveError> {
        if let Some(mut s) = self.save.take() {
            s.flush()
                .map_err(|e| LiveError::Other(format!("-w: {e}")))?;
        }
        Ok(())
    }
}

/// One interface, for `finscope interfaces`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Interface {
    pub name: String,
    pub description: Option<String>,
    pub addresses: Vec<String>,
    pub up: bool,
    pub running: bool,
    pub loopback: bool,
}

/// The interfaces libpcap can capture on.
pub fn interfaces() -> Result<Vec<Interface>, LiveError> {
    let devices = pcap::Device::list().map_err(|e| LiveError::Other(e.to_string()))?;
    Ok(devices
        .into_iter()
        .map(|d| Interface {
            addresses: d.addresses.iter().map(|a| a.addr.to_string()).collect(),
            up: d.flags.is_up(),
            running: d.flags.is_running(),
            loopback: d.flags.is_loopback(),
            name: d.name,
            description: d.desc,
        })
        .collect())
}
