//! Volumes: a series of parallel slices seen as one 3-D grid, for
//! multiplanar reformats and slabs.
//!
//! A [`Volume`] holds the series' decoded images themselves (shared
//! [`Arc`]s), ordered along the slice normal, plus the geometry checked
//! once when it is built: never a second copy of the voxels (DESIGN
//! invariant 46). What cannot be reformatted exactly is refused with a
//! reason ([`VolumeError`]); what is irregular but usable (gaps, uneven
//! spacing) is reported in [`VolumeGeometry`] and carried to every plane,
//! never hidden.

pub mod display;
pub mod oblique;
pub mod points;
pub mod reformat;

use std::path::PathBuf;
use std::sync::Arc;

use serde::Serialize;

use super::image::Image;
use super::series::{SliceGap, dot, find_gaps, median, slice_normal};

pub use self::display::render_plane;
pub use self::reformat::{Plane, PlaneImage, Slab, SlabMode};

/// Largest angle (degrees) between the line through the slice positions
/// and the slice normal still taken as "no tilt": below a hundredth of a
/// degree, a 500-slice stack drifts by less than a tenth of a millimetre
/// per 300 mm.
pub const TILT_TOLERANCE_DEGREES: f64 = 0.01;

/// Orientation vectors that differ by less than this are the same.
const ORIENTATION_TOLERANCE: f64 = 1e-4;

/// Why a series cannot be a volume, or a plane cannot be cut from it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum VolumeError {
    /// No images.
    #[error("the series holds no images")]
    Empty,
    /// A colour or palette image: reformats are of gray values only.
    #[error("{}: not a grayscale image ({photometric}); volumes are built from grayscale slices", path.display())]
    NotGray {
        /// The file.
        path: PathBuf,
        /// Its Photometric Interpretation.
        photometric: String,
    },
    /// An attribute the geometry needs is missing.
    #[error("{}: no {attribute}, so its place in the volume is unknown", path.display())]
    NoGeometry {
        /// The file.
        path: PathBuf,
        /// The missing attribute's name.
        attribute: &'static str,
    },
    /// A multi-frame image: per-frame positions are not read yet.
    #[error("{}: a multi-frame image ({frames} frames); volumes are built from single-frame slices", path.display())]
    MultiFrame {
        /// The file.
        path: PathBuf,
        /// Its number of frames.
        frames: usize,
    },
    /// Slices that do not share size, orientation or pixel spacing.
    #[error("{}: {what} differs from the first slice's ({first}), so the slices are not one grid", path.display())]
    Inconsistent {
        /// The file that differs.
        path: PathBuf,
        /// What differs.
        what: &'static str,
        /// The first slice's value, as text.
        first: String,
    },
    /// Two slices at the same position along the normal.
    #[error("{} and {} lie at the same position ({position:.3} mm along the normal): two series mixed, or a duplicate", first.display(), second.display())]
    DuplicatePosition {
        /// One file.
        first: PathBuf,
        /// The other.
        second: PathBuf,
        /// Their position along the normal, mm.
        position: f64,
    },
    /// The slices are not stacked along their normal (gantry or detector
    /// tilt): a reformat of the stored grid would shear the anatomy.
    #[error(
        "the slices are stacked at {degrees:.2}° to their normal (gantry tilt); {plane} planes of a tilted series need resampling, which the exact reformat does not do"
    )]
    GantryTilt {
        /// Angle between the stacking direction and the normal, degrees.
        degrees: f64,
        /// The plane that was asked for.
        plane: &'static str,
    },
    /// An index outside the plane's range.
    #[error("{plane} index {index} is out of range (0..{count})")]
    IndexOutOfRange {
        /// The plane.
        plane: &'static str,
        /// The index asked for.
        index: usize,
        /// How many planes there are.
        count: usize,
    },
    /// A slab of no planes.
    #[error("a slab needs at least one plane")]
    EmptySlab,
    /// A slice's frame could not be read.
    #[error("{0}")]
    Imaging(#[from] crate::error::ImagingError),
}

/// One slice of a volume: which frame of which image, and where it is.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Slice {
    /// Index into the volume's images.
    pub image: usize,
    /// Frame within that image.
    pub frame: usize,
    /// Image Position (Patient) of its first pixel, mm.
    pub position: [f64; 3],
    /// Its position along the slice normal, mm.
    pub offset: f64,
}

/// The geometry of a volume, checked when it was built.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VolumeGeometry {
    /// Rows of every slice.
    pub rows: u32,
    /// Columns of every slice.
    pub columns: u32,
    /// Direction of increasing column index (along a row), patient axes.
    pub row_direction: [f64; 3],
    /// Direction of increasing row index (down a column), patient axes.
    pub column_direction: [f64; 3],
    /// Slice normal: row direction × column direction.
    pub normal: [f64; 3],
    /// Pixel Spacing: distance between rows, then between columns, mm.
    pub pixel_spacing: [f64; 2],
    /// Median distance between neighbouring slices along the normal, mm
    /// (`None` for a single slice).
    pub slice_spacing: Option<f64>,
    /// Distances between neighbouring slices that are wider than 1.5 × the
    /// spacing (missing slices).
    pub gaps: Vec<SliceGap>,
    /// True when some neighbouring slices are closer or farther apart than
    /// the median spacing by more than 1 % (and 0.01 mm).
    pub irregular_spacing: bool,
    /// Angle between the stacking direction and the normal, degrees; 0 for
    /// a stack along its normal (or one slice).
    pub tilt_degrees: f64,
}

impl VolumeGeometry {
    /// True when the slices are stacked along their normal.
    pub fn is_orthogonal(&self) -> bool {
        self.tilt_degrees <= TILT_TOLERANCE_DEGREES
    }

    /// What is irregular about the stack, in words (empty when nothing is).
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        for gap in &self.gaps {
            out.push(format!(
                "gap of {:.2} mm after slice {} (spacing {:.2} mm): slices are missing",
                gap.distance,
                gap.after_index,
                self.slice_spacing.unwrap_or(0.0)
            ));
        }
        if self.irregular_spacing && self.gaps.is_empty() {
            out.push(
                "the slice spacing is irregular: rows of a reformat are not equally spaced".into(),
            );
        }
        if !self.is_orthogonal() {
            out.push(format!(
                "the slices are stacked at {:.2}° to their normal (gantry tilt)",
                self.tilt_degrees
            ));
        }
        out
    }
}

/// A series of parallel slices as a volume.
#[derive(Debug, Clone)]
pub struct Volume {
    images: Vec<Arc<Image>>,
    slices: Vec<Slice>,
    geometry: VolumeGeometry,
}

fn close(a: &[f64], b: &[f64], tolerance: f64) -> bool {
    a.iter().zip(b).all(|(x, y)| (x - y).abs() <= tolerance)
}

impl Volume {
    /// Builds a volume from the images of one series (any order): checks
    /// that they are grayscale single-frame slices of one grid, orders them
    /// along the normal by Image Position (Patient) (ties by Instance
    /// Number), and measures spacing, gaps and tilt. The images are shared,
    /// not copied.
    pub fn build(images: Vec<Arc<Image>>) -> Result<Self, VolumeError> {
        let first = images.first().ok_or(VolumeError::Empty)?;
        let no = |image: &Image, attribute| VolumeError::NoGeometry {
            path: image.path.clone(),
            attribute,
        };
        let orientation = first
            .metadata
            .image_orientation_patient
            .ok_or_else(|| no(first, "Image Orientation (Patient)"))?;
        let spacing = first
            .metadata
            .pixel_spacing
            .ok_or_else(|| no(first, "Pixel Spacing"))?;
        let (rows, columns) = (first.pixels.rows, first.pixels.columns);
        let mut slices = Vec::with_capacity(images.len());
        for (k, image) in images.iter().enumerate() {
            if !image.pixels.photometric.is_monochrome() || image.pixels.samples_per_pixel != 1 {
                return Err(VolumeError::NotGray {
                    path: image.path.clone(),
                    photometric: image.pixels.photometric_name.clone(),
                });
            }
            if image.pixels.frames != 1 {
                return Err(VolumeError::MultiFrame {
                    path: image.path.clone(),
                    frames: image.pixels.frames,
                });
            }
            let m = &image.metadata;
            let inconsistent = |what, first: String| VolumeError::Inconsistent {
                path: image.path.clone(),
                what,
                first,
            };
            if (image.pixels.rows, image.pixels.columns) != (rows, columns) {
                return Err(inconsistent("the image size", format!("{columns}×{rows}")));
            }
            let o = m
                .image_orientation_patient
                .ok_or_else(|| no(image, "Image Orientation (Patient)"))?;
            if !close(&o, &orientation, ORIENTATION_TOLERANCE) {
                return Err(inconsistent(
                    "Image Orientation (Patient)",
                    format!("{orientation:?}"),
                ));
            }
            let s = m.pixel_spacing.ok_or_else(|| no(image, "Pixel Spacing"))?;
            if !close(&s, &spacing, 1e-4 * spacing[0].max(spacing[1])) {
                return Err(inconsistent("Pixel Spacing", format!("{spacing:?}")));
            }
            let position = m
                .image_position_patient
                .ok_or_else(|| no(image, "Image Position (Patient)"))?;
            slices.push(Slice {
                image: k,
                frame: 0,
                position,
                offset: 0.0,
            });
        }
        let normal = slice_normal(&orientation);
        for slice in &mut slices {
            slice.offset = dot(slice.position, normal);
        }
        // The order `hilum info` lists: along the normal, ties by Instance
        // Number.
        slices.sort_by(|a, b| {
            a.offset.total_cmp(&b.offset).then_with(|| {
                let number = |s: &Slice| images[s.image].metadata.instance_number;
                number(a).cmp(&number(b))
            })
        });
        for pair in slices.windows(2) {
            if (pair[1].offset - pair[0].offset).abs() < 1e-3 {
                return Err(VolumeError::DuplicatePosition {
                    first: images[pair[0].image].path.clone(),
                    second: images[pair[1].image].path.clone(),
                    position: pair[0].offset,
                });
            }
        }
        let steps: Vec<f64> = slices
            .windows(2)
            .map(|p| p[1].offset - p[0].offset)
            .collect();
        let slice_spacing = median(&mut steps.clone());
        let gaps = slice_spacing
            .map(|s| find_gaps(&steps, s))
            .unwrap_or_default();
        let irregular_spacing = slice_spacing
            .is_some_and(|s| steps.iter().any(|d| (d - s).abs() > (0.01 * s).max(0.01)));
        let tilt_degrees = match (slices.first(), slices.last()) {
            (Some(a), Some(b)) if slices.len() > 1 => {
                let d = [0, 1, 2].map(|i| b.position[i] - a.position[i]);
                let length = dot(d, d).sqrt();
                let cos = (dot(d, normal).abs() / length).min(1.0);
                cos.acos().to_degrees()
            }
            _ => 0.0,
        };
        let geometry = VolumeGeometry {
            rows,
            columns,
            row_direction: [orientation[0], orientation[1], orientation[2]],
            column_direction: [orientation[3], orientation[4], orientation[5]],
            normal,
            pixel_spacing: spacing,
            slice_spacing,
            gaps,
            irregular_spacing,
            tilt_degrees,
        };
        Ok(Self {
            images,
            slices,
            geometry,
        })
    }

    /// The checked geometry.
    pub fn geometry(&self) -> &VolumeGeometry {
        &self.geometry
    }

    /// The slices, in order along the normal.
    pub fn slices(&self) -> &[Slice] {
        &self.slices
    }

    /// The image slice `index` comes from.
    pub fn slice_image(&self, index: usize) -> Option<&Arc<Image>> {
        self.slices.get(index).map(|s| &self.images[s.image])
    }

    /// The images, in the order they were given.
    pub fn images(&self) -> &[Arc<Image>] {
        &self.images
    }

    /// Bytes of decoded pixels the volume refers to (held once, shared
    /// with whoever else holds the images).
    pub fn pixel_bytes(&self) -> usize {
        self.images.iter().map(|i| i.pixel_bytes()).sum()
    }

    /// True when slice `a`'s patient z is below slice `b`'s: reformats put
    /// the most superior slice at the top.
    pub(crate) fn superior_last(&self) -> bool {
        match (self.slices.first(), self.slices.last()) {
            (Some(a), Some(b)) if (b.position[2] - a.position[2]).abs() > 1e-6 => {
                b.position[2] > a.position[2]
            }
            // No z difference (a sagittal or coronal acquisition): the
            // higher end along the normal is drawn at the top.
            _ => true,
        }
    }
}
