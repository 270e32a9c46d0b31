//! Typed errors for everything that reads images.
//!
//! Every error that reaches a user names the file and the reason in one line,
//! so that a folder load can list its failures and go on.

use std::path::{Path, PathBuf};

/// Why an image could not be opened, decoded or rendered.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ImagingErrorKind {
    /// The file could not be read from disk.
    #[error("cannot read file: {0}")]
    Io(String),
    /// The bytes are not a DICOM file or a supported raster image.
    #[error("not a DICOM file or a supported image format")]
    NotAnImage,
    /// The DICOM data set could not be parsed.
    #[error("malformed DICOM: {0}")]
    MalformedDicom(String),
    /// The data set parsed but holds no Pixel Data.
    #[error("no Pixel Data element: not an image")]
    NoPixelData,
    /// An attribute needed to interpret the pixels is missing or out of range.
    #[error("invalid image attribute {name}: {reason}")]
    InvalidAttribute {
        /// Keyword of the attribute, e.g. `BitsStored`.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The transfer syntax is known but this build cannot decode it.
    #[error("unsupported transfer syntax {name} ({uid})")]
    UnsupportedTransferSyntax {
        /// Transfer syntax UID.
        uid: String,
        /// Human-readable name.
        name: String,
    },
    /// The header declares more pixel data than this program will allocate.
    #[error("image too large: {0}")]
    TooLarge(String),
    /// The pixel data is shorter than the header declares.
    #[error("pixel data truncated: {found} bytes present, {expected} bytes expected")]
    Truncated {
        /// Bytes present in the file.
        found: usize,
        /// Bytes the header requires.
        expected: usize,
    },
    /// A codec failed on the compressed stream.
    #[error("cannot decode {codec} pixel data: {reason}")]
    Codec {
        /// Name of the codec or transfer syntax.
        codec: String,
        /// The decoder's reason.
        reason: String,
    },
    /// A frame number outside the image was asked for.
    #[error("frame {requested} out of range (the image has {available} frames)")]
    FrameOutOfRange {
        /// Requested frame index (0-based).
        requested: usize,
        /// Number of frames in the image.
        available: usize,
    },
    /// A window or preset cannot be applied to this image.
    #[error("invalid window: {0}")]
    InvalidWindow(String),
    /// A third-party decoder panicked; the panic was contained.
    #[error("decoder crashed on this file ({0})")]
    DecoderPanic(String),
    /// A zip archive that cannot be opened or is refused (a bomb, a member
    /// escaping its folder).
    #[error("zip archive: {0}")]
    Archive(String),
}

/// An [`ImagingErrorKind`] together with the file it happened in.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}: {kind}", path.display())]
pub struct ImagingError {
    /// The file the error is about.
    pub path: PathBuf,
    /// What went wrong.
    pub kind: ImagingErrorKind,
}

impl ImagingError {
    /// Attaches `path` to `kind`.
    /// The error about `path`; a file unpacked from a zip archive is named
    /// as users know it, `ARCHIVE.zip!member/path`.
    pub fn new(path: impl AsRef<Path>, kind: ImagingErrorKind) -> Self {
        Self {
            path: crate::imaging::archive::display_path(path.as_ref()),
            kind,
        }
    }
}

/// Result of an imaging operation that knows its file.
pub type ImagingResult<T> = Result<T, ImagingError>;
