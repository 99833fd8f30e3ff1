//! The library's error type. Every variant says where: a file, a document and line, or a
//! configuration field. Policy violations are not errors; they are findings in the report.

use std::fmt;
use std::path::PathBuf;

/// Where a document came from, for messages a user can act on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DocPlace {
    /// The input: a file path, or `<stdin>`.
    pub origin: String,
    /// 1-based number of the document among the non-empty documents of the whole stream.
    pub number: usize,
    /// 1-based line in the input.
    pub line: usize,
    pub column: Option<usize>,
    /// `Kind/name` when known.
    pub object: Option<String>,
    /// The chart template: a `# Source:` comment or Helm 4's filename annotation.
    pub template: Option<String>,
}

impl fmt::Display for DocPlace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.origin, self.line)?;
        if let Some(col) = self.column {
            write!(f, ":{col}")?;
        }
        write!(f, ": document {}", self.number)?;
        match (&self.object, &self.template) {
            (Some(o), Some(t)) => write!(f, " ({o} from {t})"),
            (Some(o), None) => write!(f, " ({o})"),
            (None, Some(t)) => write!(f, " (from {t})"),
            (None, None) => Ok(()),
        }
    }
}

/// Everything that stops a run with exit code 2.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An input could not be read. The OS error is part of the message and not also the
    /// error's `source()`: a chain printer (anyhow's `{:#}`) would print it twice.
    #[error("cannot read {}: {cause}", path.display())]
    Read { path: PathBuf, cause: std::io::Error },
    /// A `-f` directory is a Helm chart: its templates are not manifests until rendered.
    #[error(
        "{}: this is a Helm chart directory; render it first (helm template NAME {} | temper render ...)",
        path.display(),
        path.display()
    )]
    ChartDirectory { path: PathBuf },
    /// A document holds Helm template markup: a chart's template rather than its rendered output.
    #[error("unrendered Helm template at {}:{}: render the chart first (helm template ...); document {} reads `{text}`", place.origin, place.line, place.number)]
    Unrendered { place: Box<DocPlace>, text: String },
    /// Input bytes are not text in a supported encoding.
    #[error("{origin}: {message} at byte offset {offset}")]
    Encoding { origin: String, offset: usize, message: String },
    /// A document is not valid YAML, or not something Kubernetes can decode as an object.
    #[error("{place}: {message}")]
    Document { place: Box<DocPlace>, message: String },
    /// An object temper generated could not be handled (read back, written).
    #[error("generated {object}: {message}")]
    Generated { object: String, message: String },
    /// A document temper kept as text after the rules could not be read back.
    #[error("document {number} ({object}): {message}")]
    Sealed { number: usize, object: String, message: String },
    /// The configuration (overlays, environments, flags) is invalid.
    #[error("{file}: {message}")]
    Config { file: String, message: String },
    /// An overlay patch could not be applied to a document it targets.
    #[error("{place}: overlay `{overlay}` patch {patch}: {message}")]
    Patch { place: Box<DocPlace>, overlay: String, patch: usize, message: String },
    /// An input source (a chart, a kustomization, a directory) could not be rendered or read.
    #[error("{0}")]
    Source(String),
    /// Writing output failed (the OS error is in the message, as for `Read`).
    #[error("cannot write {what}: {cause}")]
    Write { what: String, cause: std::io::Error },
}

impl Error {
    pub fn config(file: impl Into<String>, message: impl Into<String>) -> Error {
        Error::Config { file: file.into(), message: message.into() }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
