//! What temper knows about the world, as configuration data with its sources: where pod specs
//! live and which component class a workload is (`workloads`), which kinds are cluster-scoped
//! (`scope`), which workloads cannot run twice (`single_writer`), and where well-known images
//! write (`writable`). Configuration builds it; rules and stages only read it.

mod patterns;
mod scope;
mod single_writer;
mod workloads;
mod writable;

pub use patterns::Patterns;
pub use scope::ClusterScoped;
pub use single_writer::{PodView, Signals, SingleWriter, SingleWriterTable, SingleWriters, Store};
pub use workloads::{Classes, WorkloadKind, WorkloadKinds, workload_kind};
pub use writable::{ImageWrites, WritablePaths};

/// Everything temper knows about the world, for one resolved environment.
#[derive(Clone, Debug)]
pub struct Knowledge {
    pub kinds: WorkloadKinds,
    pub classes: Classes,
    pub cluster_scoped: ClusterScoped,
    pub single_writers: SingleWriters,
    pub writable_paths: WritablePaths,
}

impl Default for Knowledge {
    /// The built-in workload kinds and nothing else.
    fn default() -> Knowledge {
        Knowledge {
            kinds: WorkloadKinds::new(Vec::new()),
            classes: Classes::default(),
            cluster_scoped: ClusterScoped::default(),
            single_writers: SingleWriters::default(),
            writable_paths: WritablePaths::default(),
        }
    }
}
