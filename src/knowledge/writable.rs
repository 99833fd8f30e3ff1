//! Where well-known images write at run time, for read-only root filesystems: the directories
//! that need a scratch volume, the data directories that need a real one, and the images that
//! cannot run read-only at all.

use super::patterns::Patterns;
use crate::image::ImageRef;

/// What one image (matched by a pattern) writes.
#[derive(Clone, Debug)]
pub struct ImageWrites {
    /// The pattern matched against the reference without its registry host.
    pub image: String,
    /// Scratch directories: an emptyDir is the right volume.
    pub paths: Vec<String>,
    /// Directories whose data must outlive the pod.
    pub data_paths: Vec<String>,
    /// Why the image cannot run with a read-only root at all, if it cannot.
    pub not_read_only: Option<String>,
}

/// The table, first match wins.
#[derive(Clone, Debug, Default)]
pub struct WritablePaths {
    entries: Vec<ImageWrites>,
    images: Patterns,
}

impl WritablePaths {
    /// The table of `entries`, whose image patterns have each passed [`Patterns::check`].
    pub fn new(entries: Vec<ImageWrites>) -> Result<WritablePaths, String> {
        let images = Patterns::new(entries.iter().enumerate().map(|(i, e)| (i, e.image.as_str())))?;
        Ok(WritablePaths { entries, images })
    }

    /// What `image` writes, when the table knows it.
    pub fn of(&self, image: &str) -> Option<&ImageWrites> {
        let reference = ImageRef::parse(image).without_registry();
        self.entries.get(self.images.first(&reference)?)
    }
}
