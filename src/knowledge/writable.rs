//! Where well-known images write at run time, for read-only root filesystems: the directories
//! that need a scratch volume, the data directories that need a real one, and the images that
//! cannot run read-only at all.

use regex::Regex;

use crate::image::ImageRef;

/// What one image (matched by a pattern) writes.
#[derive(Clone, Debug)]
pub struct ImageWrites {
    /// Matched against the reference without its registry host.
    pub image: Regex,
    /// Scratch directories: an emptyDir is the right volume.
    pub paths: Vec<String>,
    /// Directories whose data must outlive the pod.
    pub data_paths: Vec<String>,
    /// Why the image cannot run with a read-only root at all, if it cannot.
    pub not_read_only: Option<String>,
}

/// The table, first match wins.
#[derive(Clone, Debug, Default)]
pub struct WritablePaths(pub Vec<ImageWrites>);

impl WritablePaths {
    /// What `image` writes, when the table knows it.
    pub fn of(&self, image: &str) -> Option<&ImageWrites> {
        let reference = ImageRef::parse(image).without_registry();
        self.0.iter().find(|w| w.image.is_match(&reference))
    }
}
