//! `finscope check`: the analysis as a CI gate. A [`Policy`] says which
//! findings fail the build; a [`Baseline`] from a good run narrows that to
//! what is new or worse.

mod baseline;
mod gate;
mod policy;
pub mod render;

pub use baseline::Baseline;
pub use gate::{Example, Gate, Item, Outcome, Reason, ServiceStats, EXAMPLES};
pub use policy::{unknown_kind, Cidr, Exception, Policy, Rule, ServiceBy, Subject};
