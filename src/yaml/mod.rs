//! The only module that knows the YAML library: reading documents as Kubernetes does, and
//! writing them back without changing their meaning.
//!
//! Everything else in temper sees documents as `serde_json::Value`. To swap the YAML library,
//! change this module alone.

mod emit;
mod load;
mod locate;
mod resolve;

pub use emit::{display, emit};
pub use load::{Duplicate, LoadError, Loaded, MAX_ALIAS_NODES, MAX_DEPTH, load};
pub use locate::{locate, locate_all};
pub use resolve::{Resolved, resolve_plain};
