//! temper: a hardening post-renderer for Kubernetes manifests.
//!
//! It reads rendered manifests exactly as Kubernetes decodes them, applies an environment's
//! hardening rules and overlay patches, and writes the manifests back, changing only what the
//! rules changed and recording every change and every remaining violation.
//!
//! The pipeline, one module per stage: [`read`] → [`patch`] → [`index`] → rules ([`check`],
//! running the catalog in [`rules`]) → [`generate`] → check generated ([`check`]) → [`write`]
//! → [`report`], run by [`pipeline::run`]. What a run records is in [`record`]; configuration
//! in [`config`]; the YAML library is hidden behind [`yaml`]. [`diff`] and [`compliance`] read
//! runs; [`source`] turns an application directory into input for one.

#![forbid(unsafe_code)]

pub mod canon;
pub mod check;
pub mod compliance;
pub mod config;
pub mod credential;
pub mod diff;
pub mod error;
pub mod exempt;
pub mod flows;
pub mod generate;
pub mod image;
pub mod index;
pub mod intern;
pub mod knowledge;
pub mod object;
pub mod par;
pub mod patch;
pub mod pipeline;
pub mod pointer;
pub mod progress;
pub mod quantity;
pub mod read;
pub mod record;
pub mod report;
pub mod rules;
pub mod select;
pub mod source;
pub mod suggest;
pub mod target;
pub mod workload;
pub mod write;
pub mod yaml;

pub use config::{Config, Policy};
pub use error::{Error, Result};
pub use pipeline::{Outcome, Settings, run, run_forgetting_text, run_packing_text, run_parsed};
pub use read::Input;
