//! Measurement math: lengths and areas in mm from the image's spacing
//! (flagged by where the spacing comes from), angles, and ROI statistics in
//! modality units (after the Modality LUT, e.g. HU for CT).

use serde::Serialize;

use super::{Annotation, Point, Shape};
use crate::imaging::Image;
use crate::imaging::metadata::{Metadata, SpacingSource};
use crate::imaging::pixels::FrameKind;

/// How pixel distances become physical ones.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum Calibration {
    /// Pixel Spacing: mm in the patient.
    Patient {
        /// mm between rows (along y).
        row_mm: f64,
        /// mm between columns (along x).
        column_mm: f64,
    },
    /// Imager Pixel Spacing only: mm at the detector plane, which overstates
    /// sizes in the patient by the geometric magnification.
    Detector {
        /// mm between rows (along y).
        row_mm: f64,
        /// mm between columns (along x).
        column_mm: f64,
    },
    /// No usable spacing: pixels only.
    Uncalibrated,
}

impl Calibration {
    /// The calibration an image's metadata allows (zero, negative or
    /// non-finite spacings count as none).
    pub fn of(metadata: &Metadata) -> Self {
        let usable = |s: [f64; 2]| s.iter().all(|v| v.is_finite() && *v > 0.0);
        match metadata.measurement_spacing() {
            Some((s, SpacingSource::Patient)) if usable(s) => Calibration::Patient {
                row_mm: s[0],
                column_mm: s[1],
            },
            Some((s, SpacingSource::Detector)) if usable(s) => Calibration::Detector {
                row_mm: s[0],
                column_mm: s[1],
            },
            _ => Calibration::Uncalibrated,
        }
    }

    /// (mm per pixel along x, along y), or `None` when uncalibrated.
    pub fn mm_per_pixel(&self) -> Option<(f64, f64)> {
        match *self {
            Calibration::Patient { row_mm, column_mm }
            | Calibration::Detector { row_mm, column_mm } => Some((column_mm, row_mm)),
            Calibration::Uncalibrated => None,
        }
    }

    /// The caveat a reader must see next to a measurement, if any.
    pub fn caveat(&self) -> Option<&'static str> {
        match self {
            Calibration::Patient { .. } => None,
            Calibration::Detector { .. } => Some("detector plane (ImagerPixelSpacing)"),
            Calibration::Uncalibrated => Some("uncalibrated"),
        }
    }
}

/// A length: mm when calibrated, else pixels.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Length {
    /// The value.
    pub value: f64,
    /// `mm` or `px`.
    pub unit: &'static str,
    /// The length in pixels.
    pub pixels: f64,
}

/// Statistics of the pixels inside a region of interest.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RoiStats {
    /// Pixels whose centre lies inside the region.
    pub pixel_count: usize,
    /// Mean value, in `value_unit`.
    pub mean: f64,
    /// Standard deviation (population), in `value_unit`.
    pub std_dev: f64,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// What the values are: `HU` for CT, else `modality units` (after the
    /// Modality LUT) or `stored value` when the image has none.
    pub value_unit: String,
    /// Geometric area of the shape in `area_unit`.
    pub area: f64,
    /// `mm²` when calibrated, else `px²`.
    pub area_unit: &'static str,
}

/// What one annotation measures.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Measurement {
    /// A length.
    Length(Length),
    /// An angle in degrees (0–180), in physical space when calibrated.
    Angle {
        /// Degrees.
        degrees: f64,
    },
    /// Region statistics.
    Roi(RoiStats),
    /// Arrows and notes measure nothing.
    None,
}

/// Why a measurement could not be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MeasureError {
    /// The frame the annotation is on is not decoded or does not exist.
    #[error("{0}")]
    Frame(#[from] crate::ImagingError),
    /// ROI statistics need one value per pixel.
    #[error("ROI statistics need a grayscale image (this one is colour)")]
    NotGray,
    /// No pixel centre lies inside the region (it is outside the image or
    /// smaller than a pixel).
    #[error("the region covers no pixel of the image")]
    EmptyRegion,
}

/// Distance from `a` to `b` under `calibration`.
pub fn length(calibration: &Calibration, a: Point, b: Point) -> Length {
    let (dx, dy) = (b.x - a.x, b.y - a.y);
    let pixels = dx.hypot(dy);
    match calibration.mm_per_pixel() {
        Some((sx, sy)) => Length {
            value: (dx * sx).hypot(dy * sy),
            unit: "mm",
            pixels,
        },
        None => Length {
            value: pixels,
            unit: "px",
            pixels,
        },
    }
}

/// The angle at `vertex` between the arms to `first` and `second`, in
/// degrees; measured in physical space when the pixels are not square.
pub fn angle_degrees(calibration: &Calibration, first: Point, vertex: Point, second: Point) -> f64 {
    let (sx, sy) = calibration.mm_per_pixel().unwrap_or((1.0, 1.0));
    let u = ((first.x - vertex.x) * sx, (first.y - vertex.y) * sy);
    let v = ((second.x - vertex.x) * sx, (second.y - vertex.y) * sy);
    let cross = u.0 * v.1 - u.1 * v.0;
    let dot = u.0 * v.0 + u.1 * v.1;
    cross.abs().atan2(dot).to_degrees()
}

/// The modality-value unit of an image, for ROI statistics.
fn value_unit(image: &Image, frame: usize) -> String {
    let is_ct = image
        .metadata
        .modality
        .as_deref()
        .is_some_and(|m| m.eq_ignore_ascii_case("CT"));
    if is_ct && !image.modality_lut(frame).is_identity() {
        "HU".into()
    } else if image.modality_lut(frame).is_identity() {
        "stored value".into()
    } else {
        "modality units".into()
    }
}

/// An ROI shape reduced to what membership needs.
enum Region {
    Ellipse { cx: f64, cy: f64, rx: f64, ry: f64 },
    Rectangle { x0: f64, y0: f64, x1: f64, y1: f64 },
}

impl Region {
    fn of(shape: &Shape) -> Option<Self> {
        match shape {
            Shape::Ellipse {
                center,
                radius_x,
                radius_y,
            } => Some(Region::Ellipse {
                cx: center.x,
                cy: center.y,
                rx: radius_x.abs(),
                ry: radius_y.abs(),
            }),
            Shape::Rectangle { corner, opposite } => Some(Region::Rectangle {
                x0: corner.x.min(opposite.x),
                y0: corner.y.min(opposite.y),
                x1: corner.x.max(opposite.x),
                y1: corner.y.max(opposite.y),
            }),
            _ => None,
        }
    }

    /// (left, top, right, bottom) in source coordinates.
    fn bounds(&self) -> (f64, f64, f64, f64) {
        match *self {
            Region::Ellipse { cx, cy, rx, ry } => (cx - rx, cy - ry, cx + rx, cy + ry),
            Region::Rectangle { x0, y0, x1, y1 } => (x0, y0, x1, y1),
        }
    }

    /// Whether the point (a pixel centre) is inside.
    fn contains(&self, x: f64, y: f64) -> bool {
        match *self {
            Region::Ellipse { cx, cy, rx, ry } => {
                if rx == 0.0 || ry == 0.0 {
                    return false;
                }
                let (u, v) = ((x - cx) / rx, (y - cy) / ry);
                u * u + v * v <= 1.0
            }
            Region::Rectangle { x0, y0, x1, y1 } => x >= x0 && x <= x1 && y >= y0 && y <= y1,
        }
    }
}

/// The geometric area of a region in pixels².
fn area_pixels(shape: &Shape) -> f64 {
    match shape {
        Shape::Ellipse {
            radius_x, radius_y, ..
        } => std::f64::consts::PI * radius_x.abs() * radius_y.abs(),
        Shape::Rectangle { corner, opposite } => {
            (opposite.x - corner.x).abs() * (opposite.y - corner.y).abs()
        }
        _ => 0.0,
    }
}

/// Statistics of the modality values inside an ellipse or rectangle on
/// `frame` (pixels whose centre is inside); `None` for other shapes.
pub fn roi_stats(
    image: &Image,
    frame: usize,
    shape: &Shape,
) -> Result<Option<RoiStats>, MeasureError> {
    let Some(region) = Region::of(shape) else {
        return Ok(None);
    };
    let (x0, y0, x1, y1) = region.bounds();
    let decoded = image.frame(frame)?;
    if decoded.kind != FrameKind::Gray || !image.pixels.photometric.is_monochrome() {
        return Err(MeasureError::NotGray);
    }
    let lut = image.modality_lut(frame);
    let columns = decoded.columns as usize;
    let clip = |v: f64, n: u32| (v.floor().max(0.0) as usize).min(n as usize);
    let (c0, c1) = (clip(x0, decoded.columns), clip(x1 + 1.0, decoded.columns));
    let (r0, r1) = (clip(y0, decoded.rows), clip(y1 + 1.0, decoded.rows));
    // Welford's running mean and variance: one pass, no stored copy.
    let (mut n, mut mean, mut m2) = (0usize, 0.0f64, 0.0f64);
    let (mut min, mut max) = (f64::INFINITY, f64::NEG_INFINITY);
    for r in r0..r1 {
        for c in c0..c1 {
            if !region.contains(c as f64 + 0.5, r as f64 + 0.5) {
                continue;
            }
            let Some(stored) = decoded.samples.get(r * columns + c) else {
                continue;
            };
            let v = lut.apply(stored);
            n += 1;
            let delta = v - mean;
            mean += delta / n as f64;
            m2 += delta * (v - mean);
            min = min.min(v);
            max = max.max(v);
        }
    }
    if n == 0 {
        return Err(MeasureError::EmptyRegion);
    }
    let calibration = Calibration::of(&image.metadata);
    let px2 = area_pixels(shape);
    let (area, area_unit) = match calibration.mm_per_pixel() {
        Some((sx, sy)) => (px2 * sx * sy, "mm²"),
        None => (px2, "px²"),
    };
    Ok(Some(RoiStats {
        pixel_count: n,
        mean,
        std_dev: (m2 / n as f64).sqrt(),
        min,
        max,
        value_unit: value_unit(image, frame),
        area,
        area_unit,
    }))
}

/// Measures one annotation on `image`.
pub fn measure(image: &Image, annotation: &Annotation) -> Result<Measurement, MeasureError> {
    let calibration = Calibration::of(&image.metadata);
    Ok(match &annotation.shape {
        Shape::Length { start, end } => Measurement::Length(length(&calibration, *start, *end)),
        Shape::Angle {
            first,
            vertex,
            second,
        } => Measurement::Angle {
            degrees: angle_degrees(&calibration, *first, *vertex, *second),
        },
        shape @ (Shape::Ellipse { .. } | Shape::Rectangle { .. }) => {
            match roi_stats(image, annotation.frame, shape)? {
                Some(stats) => Measurement::Roi(stats),
                None => Measurement::None,
            }
        }
        Shape::Arrow { .. } | Shape::Text { .. } => Measurement::None,
    })
}

impl Measurement {
    /// The measurement in words, with the calibration caveat when there is
    /// one (e.g. "42.1 mm (detector plane (ImagerPixelSpacing))").
    pub fn describe(&self, calibration: &Calibration) -> Option<String> {
        let caveat = calibration
            .caveat()
            .map(|c| format!(" ({c})"))
            .unwrap_or_default();
        match self {
            Measurement::Length(l) => Some(format!("{:.1} {}{caveat}", l.value, l.unit)),
            Measurement::Angle { degrees } => Some(format!("{degrees:.1}°")),
            Measurement::Roi(s) => Some(format!(
                "mean {:.1} ± {:.1} {}, min {:.0}, max {:.0}, area {:.1} {}{caveat}",
                s.mean, s.std_dev, s.value_unit, s.min, s.max, s.area, s.area_unit
            )),
            Measurement::None => None,
        }
    }
}
