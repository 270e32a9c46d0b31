//! AI results and annotations that other systems put next to a study, read
//! into a UI-free model: Parametric Maps ([`pmap`]), Segmentations
//! ([`seg`]), Structured Reports, TID 1500-shaped or not ([`sr`]), and
//! Grayscale Softcopy Presentation States ([`gsps`]).
//!
//! [`read_foreign`] reads one file (`None` for any other SOP class);
//! [`match_references`] resolves every reference an object makes (per
//! frame, per coordinate, per annotation item) to a loaded image and frame
//! by SOP Instance UID. A reference that cannot be resolved is listed with
//! its UID, never dropped, so a viewer can say what is missing.
//!
//! Coordinates keep the conventions of their source: SR SCOORD and GSPS
//! `PIXEL` data are (column, row) pairs with (0, 0) at the top-left corner
//! of the top-left pixel, the same as [`crate::annotations::Point`];
//! GSPS `DISPLAY` data are fractions of the displayed area, kept with their
//! unit for the viewer to map.

pub mod gsps;
pub mod pmap;
pub mod seg;
pub mod sr;
mod values;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use dicom_dictionary_std::tags;

use self::values::{Ds, text};
use crate::error::ImagingErrorKind;

pub use self::gsps::PresentationState;
pub use self::pmap::ParametricMap;
pub use self::seg::Segmentation;
pub use self::sr::StructuredReport;

/// Parametric Map Storage.
pub const PARAMETRIC_MAP: &str = "1.2.840.10008.5.1.4.1.1.30";
/// Segmentation Storage.
pub const SEGMENTATION: &str = "1.2.840.10008.5.1.4.1.1.66.4";
/// Basic, Enhanced, Comprehensive and Comprehensive 3D SR Storage.
pub const STRUCTURED_REPORTS: [&str; 4] = [
    "1.2.840.10008.5.1.4.1.1.88.11",
    "1.2.840.10008.5.1.4.1.1.88.22",
    "1.2.840.10008.5.1.4.1.1.88.33",
    "1.2.840.10008.5.1.4.1.1.88.34",
];
/// Grayscale Softcopy Presentation State Storage.
pub const GRAYSCALE_PRESENTATION_STATE: &str = "1.2.840.10008.5.1.4.1.1.11.1";

/// Why a foreign object could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ForeignErrorKind {
    /// The file could not be read or parsed as DICOM.
    #[error("{0}")]
    Read(ImagingErrorKind),
    /// A required attribute is absent.
    #[error("missing attribute {0}")]
    MissingAttribute(&'static str),
    /// An attribute has a value this reader cannot use.
    #[error("invalid attribute {name}: {reason}")]
    InvalidAttribute {
        /// Keyword of the attribute, e.g. `SegmentationType`.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The pixel data holds less than the header declares.
    #[error("pixel data truncated: {found} bytes present, {expected} bytes expected")]
    PixelDataTruncated {
        /// Bytes present.
        found: usize,
        /// Bytes the header requires.
        expected: usize,
    },
    /// The header declares more pixels than the reader will allocate.
    #[error("too large: {0}")]
    TooLarge(String),
    /// A Parametric Map without a Real World Value Mapping: its values
    /// have no stated meaning or unit, so it is not shown.
    #[error(
        "no Real World Value Mapping (shared or for frame {frame}): the map's values have no \
         stated meaning or unit"
    )]
    NoValueMapping {
        /// The first frame without one (1-based, as in the file).
        frame: usize,
    },
    /// A panic while reading was contained.
    #[error("reader crashed on this file ({0})")]
    Panic(String),
}

/// A [`ForeignErrorKind`] with the file it happened in.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}: {kind}", path.display())]
pub struct ForeignError {
    /// The file (a zip member as `ARCHIVE.zip!member`).
    pub path: PathBuf,
    /// What went wrong.
    pub kind: ForeignErrorKind,
}

impl ForeignError {
    /// The error `kind` about `path`.
    pub fn new(path: impl AsRef<Path>, kind: ForeignErrorKind) -> Self {
        Self {
            path: crate::imaging::archive::display_path(path.as_ref()),
            kind,
        }
    }
}

/// A coded concept (Code Value, Coding Scheme Designator, Code Meaning).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Code {
    /// Code Value (or Long / URN Code Value).
    pub value: String,
    /// Coding Scheme Designator, e.g. `DCM`, `SCT`, `UCUM`.
    pub scheme: String,
    /// Code Meaning: what a reader is shown.
    pub meaning: String,
}

impl Code {
    /// True when this is `value` in `scheme`.
    pub fn is(&self, value: &str, scheme: &str) -> bool {
        self.value == value && self.scheme.eq_ignore_ascii_case(scheme)
    }
}

/// A reference to an image (and optionally frames of it) by SOP Instance UID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceRef {
    /// Referenced SOP Instance UID.
    pub sop_instance_uid: String,
    /// Referenced SOP Class UID, when given.
    pub sop_class_uid: Option<String>,
    /// Referenced Frame Numbers (1-based, as in the file); empty when the
    /// reference names no frame (the whole image).
    pub frames: Vec<u32>,
}

/// A graphic's shape, shared by SR SCOORD items and GSPS graphic objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GraphicType {
    /// One point.
    Point,
    /// Several unconnected points (SR).
    Multipoint,
    /// Connected line segments; closed when the last point equals the first.
    Polyline,
    /// A curve through the points (GSPS), drawable as a polyline.
    Interpolated,
    /// A circle: centre, then a point on the circumference.
    Circle,
    /// An ellipse: the two end points of the major axis, then those of the
    /// minor axis.
    Ellipse,
    /// A type this reader does not know, as written.
    Other(String),
}

impl GraphicType {
    /// The type named by a Graphic Type value.
    pub fn parse(value: &str) -> Self {
        match value.trim().to_ascii_uppercase().as_str() {
            "POINT" => Self::Point,
            "MULTIPOINT" => Self::Multipoint,
            "POLYLINE" => Self::Polyline,
            "INTERPOLATED" => Self::Interpolated,
            "CIRCLE" => Self::Circle,
            "ELLIPSE" => Self::Ellipse,
            other => Self::Other(other.to_string()),
        }
    }
}

/// What every foreign object says about itself.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ForeignHeader {
    /// The file it was read from (a zip member as `ARCHIVE.zip!member`).
    pub path: PathBuf,
    /// SOP Class UID.
    pub sop_class_uid: String,
    /// SOP Instance UID.
    pub sop_instance_uid: String,
    /// Study Instance UID.
    pub study_instance_uid: Option<String>,
    /// Series Instance UID.
    pub series_instance_uid: Option<String>,
    /// Modality (`OT`, `SEG`, `SR`, `PR`...).
    pub modality: Option<String>,
    /// Series Description.
    pub series_description: Option<String>,
    /// Content Label.
    pub content_label: Option<String>,
    /// Content Description.
    pub content_description: Option<String>,
    /// Manufacturer.
    pub manufacturer: Option<String>,
    /// Manufacturer's Model Name.
    pub model_name: Option<String>,
    /// Software Versions (joined with `\`).
    pub software_versions: Option<String>,
    /// The algorithm that made the content, where the object names one
    /// (a segmentation algorithm, an SR's device observer or algorithm
    /// name), with its version when given.
    pub algorithm: Option<String>,
    /// What the reader skipped or could not use (unknown value types,
    /// malformed items), one line each; empty when everything was read.
    pub notes: Vec<String>,
}

impl ForeignHeader {
    fn read(path: &Path, ds: &Ds, sop_class_uid: &str) -> Self {
        let versions = values::element_texts(ds, tags::SOFTWARE_VERSIONS);
        Self {
            path: crate::imaging::archive::display_path(path),
            sop_class_uid: sop_class_uid.to_string(),
            sop_instance_uid: text(ds, tags::SOP_INSTANCE_UID).unwrap_or_default(),
            study_instance_uid: text(ds, tags::STUDY_INSTANCE_UID),
            series_instance_uid: text(ds, tags::SERIES_INSTANCE_UID),
            modality: text(ds, tags::MODALITY),
            series_description: text(ds, tags::SERIES_DESCRIPTION),
            content_label: text(ds, tags::CONTENT_LABEL),
            content_description: text(ds, tags::CONTENT_DESCRIPTION),
            manufacturer: text(ds, tags::MANUFACTURER),
            model_name: text(ds, tags::MANUFACTURER_MODEL_NAME),
            software_versions: (!versions.is_empty()).then(|| versions.join("\\")),
            algorithm: None,
            notes: Vec::new(),
        }
    }
}

/// One object another system produced.
#[derive(Debug, Clone, PartialEq)]
pub enum ForeignObject {
    /// A Parametric Map: a heatmap layer with its own colour bar.
    ParametricMap(ParametricMap),
    /// A Segmentation: coloured, toggleable segment overlays.
    Segmentation(Segmentation),
    /// A Structured Report: findings, measurements, image coordinates.
    StructuredReport(StructuredReport),
    /// A Grayscale Softcopy Presentation State: annotations, displayed
    /// area, VOI.
    PresentationState(PresentationState),
}

impl ForeignObject {
    /// The common header.
    pub fn header(&self) -> &ForeignHeader {
        match self {
            Self::ParametricMap(o) => &o.header,
            Self::Segmentation(o) => &o.header,
            Self::StructuredReport(o) => &o.header,
            Self::PresentationState(o) => &o.header,
        }
    }

    /// A short name for lists.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Self::ParametricMap(_) => "Parametric Map",
            Self::Segmentation(_) => "Segmentation",
            Self::StructuredReport(_) => "Structured Report",
            Self::PresentationState(_) => "Presentation State",
        }
    }

    /// Every image reference the object makes, with what makes it.
    pub fn references(&self) -> Vec<Reference> {
        match self {
            Self::ParametricMap(o) => o.references(),
            Self::Segmentation(o) => o.references(),
            Self::StructuredReport(o) => o.references(),
            Self::PresentationState(o) => o.references(),
        }
    }
}

/// True when `uid` is a SOP class [`read_foreign`] reads.
pub fn is_foreign_sop_class(uid: &str) -> bool {
    let uid = uid.trim_matches(|c: char| c == '\0' || c.is_whitespace());
    uid == PARAMETRIC_MAP
        || uid == SEGMENTATION
        || uid == GRAYSCALE_PRESENTATION_STATE
        || STRUCTURED_REPORTS.contains(&uid)
}

/// Reads `path` as a foreign object: `Ok(None)` when its SOP class is not
/// one of those this module reads (an image, say); an error naming the
/// file and the reason when it is one but cannot be read. Never panics.
pub fn read_foreign(path: &Path) -> Result<Option<ForeignObject>, ForeignError> {
    let (ds, _ts) = crate::imaging::dicom::read_dataset(path)
        .map_err(|e| ForeignError::new(path, ForeignErrorKind::Read(e.kind)))?;
    let Some(class) = text(&ds, tags::SOP_CLASS_UID) else {
        return Ok(None);
    };
    if !is_foreign_sop_class(&class) {
        return Ok(None);
    }
    let run = || -> Result<Result<ForeignObject, ForeignErrorKind>, ImagingErrorKind> {
        let header = ForeignHeader::read(path, &ds, &class);
        Ok(if class == PARAMETRIC_MAP {
            pmap::read(&ds, header).map(ForeignObject::ParametricMap)
        } else if class == SEGMENTATION {
            seg::read(&ds, header).map(ForeignObject::Segmentation)
        } else if class == GRAYSCALE_PRESENTATION_STATE {
            gsps::read(&ds, header).map(ForeignObject::PresentationState)
        } else {
            sr::read(&ds, header).map(ForeignObject::StructuredReport)
        })
    };
    match crate::imaging::contain_panics(run) {
        Ok(Ok(object)) => Ok(Some(object)),
        Ok(Err(kind)) => Err(ForeignError::new(path, kind)),
        Err(ImagingErrorKind::DecoderPanic(message)) => {
            Err(ForeignError::new(path, ForeignErrorKind::Panic(message)))
        }
        Err(other) => Err(ForeignError::new(path, ForeignErrorKind::Read(other))),
    }
}

/// What, inside a foreign object, makes a reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Referrer {
    /// The object as a whole (its Referenced Series Sequence or evidence).
    Object,
    /// Frame `n` (0-based) of a Parametric Map or Segmentation.
    Frame(usize),
    /// `StructuredReport::coordinates[n]`.
    Coordinate(usize),
    /// `PresentationState::annotations[n]`.
    Annotation(usize),
    /// `PresentationState::displayed_areas[n]`.
    DisplayedArea(usize),
    /// `PresentationState::windows[n]`.
    Window(usize),
}

/// One reference an object makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// What makes it.
    pub referrer: Referrer,
    /// The image (and frames) it names.
    pub source: SourceRef,
}

/// A loaded image that references are matched against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// Its SOP Instance UID.
    pub sop_instance_uid: String,
    /// Its number of frames.
    pub frames: usize,
}

/// A reference resolved to a loaded image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// What made the reference.
    pub referrer: Referrer,
    /// Index of the image in the `images` given to [`match_references`].
    pub image: usize,
    /// The frame (0-based); `None` when a multi-frame image is referenced
    /// without a frame number (the object applies to all its frames).
    pub frame: Option<usize>,
}

/// Why a reference could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnresolvedReason {
    /// No loaded image has the SOP Instance UID.
    NotLoaded,
    /// The image is loaded but has no such frame.
    FrameOutOfRange {
        /// The frames the loaded image has.
        frames: usize,
    },
}

/// A reference that could not be resolved, listed rather than dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unresolved {
    /// What made the reference.
    pub referrer: Referrer,
    /// The SOP Instance UID it names.
    pub sop_instance_uid: String,
    /// The frame number it names (1-based, as in the file), if any.
    pub frame_number: Option<u32>,
    /// Why it is unresolved.
    pub reason: UnresolvedReason,
}

/// The references of one object, resolved or listed as missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    /// Index of the object in the `objects` given to [`match_references`].
    pub object: usize,
    /// The references that found their image (and frame).
    pub resolved: Vec<Resolved>,
    /// The references that did not.
    pub unresolved: Vec<Unresolved>,
}

impl Match {
    /// The distinct SOP Instance UIDs of the unresolved references, sorted.
    pub fn missing_uids(&self) -> Vec<&str> {
        let mut uids: Vec<&str> = self
            .unresolved
            .iter()
            .map(|u| u.sop_instance_uid.as_str())
            .collect();
        uids.sort_unstable();
        uids.dedup();
        uids
    }

    /// The distinct images (indices) the object refers to, sorted.
    pub fn images(&self) -> Vec<usize> {
        let mut images: Vec<usize> = self.resolved.iter().map(|r| r.image).collect();
        images.sort_unstable();
        images.dedup();
        images
    }

    /// True when every reference was resolved (also when there is none).
    pub fn is_complete(&self) -> bool {
        self.unresolved.is_empty()
    }

    /// The resolved references made by `referrer`.
    pub fn resolved_for(&self, referrer: Referrer) -> impl Iterator<Item = &Resolved> {
        self.resolved.iter().filter(move |r| r.referrer == referrer)
    }
}

/// Resolves every reference of every object against `images` by SOP
/// Instance UID (and frame number). Returns one [`Match`] per object, in
/// order: an object with nothing resolved is still there, its references
/// listed as unresolved with the UIDs they name.
pub fn match_references(objects: &[ForeignObject], images: &[ImageRef]) -> Vec<Match> {
    let mut by_uid: HashMap<&str, usize> = HashMap::new();
    for (i, image) in images.iter().enumerate() {
        by_uid.entry(image.sop_instance_uid.trim()).or_insert(i);
    }
    objects
        .iter()
        .enumerate()
        .map(|(object, o)| {
            let mut m = Match {
                object,
                resolved: Vec::new(),
                unresolved: Vec::new(),
            };
            for reference in o.references() {
                resolve(&reference, images, &by_uid, &mut m);
            }
            m
        })
        .collect()
}

fn resolve(
    reference: &Reference,
    images: &[ImageRef],
    by_uid: &HashMap<&str, usize>,
    m: &mut Match,
) {
    let uid = reference.source.sop_instance_uid.trim();
    let unresolved = |frame_number, reason| Unresolved {
        referrer: reference.referrer,
        sop_instance_uid: uid.to_string(),
        frame_number,
        reason,
    };
    let Some(&image) = by_uid.get(uid) else {
        let frames = &reference.source.frames;
        if frames.is_empty() {
            m.unresolved
                .push(unresolved(None, UnresolvedReason::NotLoaded));
        }
        for &n in frames {
            m.unresolved
                .push(unresolved(Some(n), UnresolvedReason::NotLoaded));
        }
        return;
    };
    let count = images[image].frames.max(1);
    if reference.source.frames.is_empty() {
        m.resolved.push(Resolved {
            referrer: reference.referrer,
            image,
            frame: (count == 1).then_some(0),
        });
        return;
    }
    for &n in &reference.source.frames {
        let index = (n as usize).checked_sub(1).filter(|&i| i < count);
        if let Some(index) = index {
            m.resolved.push(Resolved {
                referrer: reference.referrer,
                image,
                frame: Some(index),
            });
        } else {
            m.unresolved.push(unresolved(
                Some(n),
                UnresolvedReason::FrameOutOfRange { frames: count },
            ));
        }
    }
}

/// Every reference of an enhanced object: each frame's sources, then the
/// object's Referenced Series Sequence.
fn enhanced_references<'a>(
    frame_sources: impl Iterator<Item = &'a [SourceRef]>,
    series: &[(Option<String>, Vec<SourceRef>)],
) -> Vec<Reference> {
    let mut refs: Vec<Reference> = frame_sources
        .enumerate()
        .flat_map(|(i, sources)| {
            sources.iter().map(move |s| Reference {
                referrer: Referrer::Frame(i),
                source: s.clone(),
            })
        })
        .collect();
    refs.extend(object_references(series));
    refs
}

/// The references of a top-level Referenced Series Sequence as
/// [`Referrer::Object`] references.
fn object_references(series: &[(Option<String>, Vec<SourceRef>)]) -> Vec<Reference> {
    series
        .iter()
        .flat_map(|(_, refs)| refs.iter())
        .map(|source| Reference {
            referrer: Referrer::Object,
            source: source.clone(),
        })
        .collect()
}
