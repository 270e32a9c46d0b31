//! Per-image annotation files ("sidecars") in the application's data
//! folder, so that annotating never writes to the source image.
//!
//! A DICOM image's sidecar is keyed by its SOP Instance UID (the same
//! instance copied elsewhere finds its annotations); any other file by a
//! SHA-256 hash of its canonical path. Writes are atomic: a temporary file
//! in the same folder, then a rename.

use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::{AnnotationSet, FORMAT_VERSION};
use crate::imaging::Image;

/// Environment variable that moves the data folder (tests, portable use).
pub const DATA_DIR_ENV: &str = "HILUM_DATA_DIR";

/// Hilum's data folder: `$HILUM_DATA_DIR` when set, else the platform's
/// (e.g. `~/.local/share/hilum` on Linux); `None` without a home folder.
/// Annotations, the study cache and the saved PACS nodes live in it.
pub fn data_dir() -> Option<PathBuf> {
    match std::env::var_os(DATA_DIR_ENV) {
        Some(dir) if !dir.is_empty() => Some(PathBuf::from(dir)),
        _ => directories::ProjectDirs::from("org", "Hilum", "hilum")
            .map(|dirs| dirs.data_dir().to_path_buf()),
    }
}

/// Why a sidecar could not be found, read or written.
#[derive(Debug, thiserror::Error)]
pub enum SidecarError {
    /// The platform has no data folder (no home directory).
    #[error("no data folder for annotations: set {DATA_DIR_ENV} or HOME")]
    NoDataDir,
    /// Reading, writing or renaming failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The sidecar (or the source image, for keying).
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The sidecar is not a valid annotation set.
    #[error("{}: not a valid annotation file: {reason}", path.display())]
    Invalid {
        /// The sidecar.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// What a sidecar is keyed by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SidecarKey {
    /// A DICOM SOP Instance UID.
    SopInstance(String),
    /// Hex SHA-256 of a non-DICOM file's canonical path.
    PathHash(String),
}

impl SidecarKey {
    /// The key of an image: its SOP Instance UID when it has a valid one,
    /// else the hash of its canonical path.
    pub fn for_image(image: &Image) -> Result<Self, SidecarError> {
        let uid = image.metadata.sop_instance_uid.as_deref().map(str::trim);
        match uid {
            Some(u) if is_uid(u) => Ok(SidecarKey::SopInstance(u.to_string())),
            _ => Self::for_path(&image.path),
        }
    }

    /// The key of a file by its canonical path.
    pub fn for_path(path: &Path) -> Result<Self, SidecarError> {
        let canonical = path.canonicalize().map_err(|source| SidecarError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let digest = Sha256::digest(canonical.as_os_str().as_encoded_bytes());
        Ok(SidecarKey::PathHash(
            digest.iter().map(|b| format!("{b:02x}")).collect(),
        ))
    }

    /// The sidecar's file name.
    pub fn file_name(&self) -> String {
        match self {
            SidecarKey::SopInstance(uid) => format!("uid-{uid}.json"),
            SidecarKey::PathHash(hash) => format!("path-{hash}.json"),
        }
    }
}

/// A UID as PS3.5 allows it: digits and dots, at most 64 characters (so it
/// is also a safe file name).
fn is_uid(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 64
        && text.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && !text.starts_with('.')
}

/// The folder holding the sidecars.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SidecarStore {
    dir: PathBuf,
}

impl SidecarStore {
    /// The store in `dir`.
    pub fn at(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The store in the application's data folder: `$HILUM_DATA_DIR/
    /// annotations` when set, else the platform's (e.g.
    /// `~/.local/share/hilum/annotations` on Linux).
    pub fn default_location() -> Result<Self, SidecarError> {
        let base = data_dir().ok_or(SidecarError::NoDataDir)?;
        Ok(Self::at(base.join("annotations")))
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the sidecar for `key` lives.
    pub fn path_for(&self, key: &SidecarKey) -> PathBuf {
        self.dir.join(key.file_name())
    }

    /// The annotations stored for `key`, or `None` when there are none.
    pub fn load(&self, key: &SidecarKey) -> Result<Option<AnnotationSet>, SidecarError> {
        let path = self.path_for(key);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(SidecarError::Io { path, source }),
        };
        let invalid = |reason: String| SidecarError::Invalid {
            path: path.clone(),
            reason,
        };
        let set: AnnotationSet = serde_json::from_str(&text).map_err(|e| invalid(e.to_string()))?;
        if set.version > FORMAT_VERSION {
            return Err(invalid(format!(
                "format version {} is newer than this program's {FORMAT_VERSION}",
                set.version
            )));
        }
        if let Some(bad) = set.annotations.iter().find(|a| !a.shape.is_finite()) {
            return Err(invalid(format!(
                "annotation {} has a coordinate that is not a finite number",
                bad.id.0
            )));
        }
        Ok(Some(set))
    }

    /// The annotations stored for `image`, or `None`.
    pub fn load_for(&self, image: &Image) -> Result<Option<AnnotationSet>, SidecarError> {
        self.load(&SidecarKey::for_image(image)?)
    }

    /// Stores `set` for `key` atomically; returns the sidecar's path.
    pub fn save(&self, key: &SidecarKey, set: &AnnotationSet) -> Result<PathBuf, SidecarError> {
        let path = self.path_for(key);
        let io = |source: std::io::Error| SidecarError::Io {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(&self.dir).map_err(io)?;
        let json = serde_json::to_vec_pretty(set).map_err(|e| io(std::io::Error::other(e)))?;
        let mut tmp = tempfile::NamedTempFile::new_in(&self.dir).map_err(io)?;
        tmp.write_all(&json).map_err(io)?;
        tmp.as_file().sync_all().map_err(io)?;
        tmp.persist(&path).map_err(|e| io(e.error))?;
        Ok(path)
    }

    /// Stores `set` for `image`; returns the sidecar's path.
    pub fn save_for(&self, image: &Image, set: &AnnotationSet) -> Result<PathBuf, SidecarError> {
        self.save(&SidecarKey::for_image(image)?, set)
    }
}
