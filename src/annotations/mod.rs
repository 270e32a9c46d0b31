//! Annotations and measurements on an image, independent of any UI.
//!
//! Shapes are stored in **source-image pixel coordinates** of one frame:
//! `x` runs along the columns, `y` down the rows, and pixel (c, r) covers
//! the square `[c, c+1) × [r, r+1)`, so its centre is (c + 0.5, r + 0.5).
//! Zoom, pan and window never change a stored annotation; a viewer maps
//! these coordinates to the screen, the reports to the exported image.
//!
//! - [`measure`]: lengths, angles and ROI statistics in physical and
//!   modality units, with the calibration they rest on;
//! - [`sidecar`]: per-image persistence in the application's data folder
//!   (the source file is never written);
//! - [`draw`]: burning annotations into an RGBA image;
//! - [`history`]: undo and redo of one image's set;
//! - [`geometry`]: handles, outlines and hit testing for editing.

pub mod draw;
pub mod foreign;
pub mod geometry;
pub mod history;
pub mod measure;
pub mod sidecar;

use serde::{Deserialize, Serialize};

/// A point in source-image pixel coordinates (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// Along the columns, 0 at the left edge of the image.
    pub x: f64,
    /// Along the rows, 0 at the top edge of the image.
    pub y: f64,
}

impl Point {
    /// The point (`x`, `y`).
    pub const fn new(x: f64, y: f64) -> Self {
        Self { x, y }
    }
}

/// What an annotation draws (and, for the measuring kinds, measures).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Shape {
    /// A distance between two points.
    Length {
        /// One end.
        start: Point,
        /// The other end.
        end: Point,
    },
    /// The angle at `vertex` between the arms to `first` and `second`.
    Angle {
        /// The end of the first arm.
        first: Point,
        /// Where the arms meet.
        vertex: Point,
        /// The end of the second arm.
        second: Point,
    },
    /// An axis-aligned ellipse region of interest.
    Ellipse {
        /// The centre.
        center: Point,
        /// Half the width, in pixels.
        radius_x: f64,
        /// Half the height, in pixels.
        radius_y: f64,
    },
    /// An axis-aligned rectangle region of interest between two corners.
    Rectangle {
        /// One corner.
        corner: Point,
        /// The opposite corner.
        opposite: Point,
    },
    /// An arrow pointing at `head`.
    Arrow {
        /// Where the arrow starts.
        tail: Point,
        /// Where it points.
        head: Point,
    },
    /// A free-text note anchored at a point.
    Text {
        /// The top-left of the text.
        anchor: Point,
        /// The note.
        text: String,
    },
}

impl Shape {
    /// A short name for lists and captions.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Shape::Length { .. } => "Length",
            Shape::Angle { .. } => "Angle",
            Shape::Ellipse { .. } => "Ellipse ROI",
            Shape::Rectangle { .. } => "Rectangle ROI",
            Shape::Arrow { .. } => "Arrow",
            Shape::Text { .. } => "Text",
        }
    }

    /// True when every coordinate is finite (NaN or infinite points are
    /// rejected when a set is loaded).
    pub fn is_finite(&self) -> bool {
        let ok = |p: &Point| p.x.is_finite() && p.y.is_finite();
        match self {
            Shape::Length { start, end } => ok(start) && ok(end),
            Shape::Angle {
                first,
                vertex,
                second,
            } => ok(first) && ok(vertex) && ok(second),
            Shape::Ellipse {
                center,
                radius_x,
                radius_y,
            } => ok(center) && radius_x.is_finite() && radius_y.is_finite(),
            Shape::Rectangle { corner, opposite } => ok(corner) && ok(opposite),
            Shape::Arrow { tail, head } => ok(tail) && ok(head),
            Shape::Text { anchor, .. } => ok(anchor),
        }
    }
}

/// Identifies an annotation within its [`AnnotationSet`]; never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AnnotationId(pub u64);

/// One annotation on one frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Annotation {
    /// Its id.
    pub id: AnnotationId,
    /// The frame it belongs to (0-based).
    pub frame: usize,
    /// What it draws.
    pub shape: Shape,
    /// An optional label shown next to it (e.g. "lesion 1").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

/// The annotations of one image (all its frames).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AnnotationSet {
    /// Format version of the serialised set.
    pub version: u32,
    /// The annotations, in the order they were made.
    pub annotations: Vec<Annotation>,
    /// The id the next annotation gets.
    next_id: u64,
}

/// The current serialisation format version.
pub const FORMAT_VERSION: u32 = 1;

impl AnnotationSet {
    /// An empty set.
    pub fn new() -> Self {
        Self {
            version: FORMAT_VERSION,
            annotations: Vec::new(),
            next_id: 1,
        }
    }

    /// Adds a shape on `frame`; returns its new id.
    pub fn add(&mut self, frame: usize, shape: Shape) -> AnnotationId {
        self.add_labelled(frame, shape, None)
    }

    /// Adds a shape with a label on `frame`; returns its new id.
    pub fn add_labelled(
        &mut self,
        frame: usize,
        shape: Shape,
        label: Option<String>,
    ) -> AnnotationId {
        let next = self.next_id.max(
            self.annotations
                .iter()
                .map(|a| a.id.0 + 1)
                .max()
                .unwrap_or(1),
        );
        let id = AnnotationId(next);
        self.next_id = next + 1;
        self.annotations.push(Annotation {
            id,
            frame,
            shape,
            label,
        });
        id
    }

    /// The annotation with `id`.
    pub fn get(&self, id: AnnotationId) -> Option<&Annotation> {
        self.annotations.iter().find(|a| a.id == id)
    }

    /// The annotation with `id`, to edit.
    pub fn get_mut(&mut self, id: AnnotationId) -> Option<&mut Annotation> {
        self.annotations.iter_mut().find(|a| a.id == id)
    }

    /// Removes the annotation with `id`; returns it when it existed.
    pub fn remove(&mut self, id: AnnotationId) -> Option<Annotation> {
        let index = self.annotations.iter().position(|a| a.id == id)?;
        Some(self.annotations.remove(index))
    }

    /// The annotations on `frame`.
    pub fn on_frame(&self, frame: usize) -> impl DoubleEndedIterator<Item = &Annotation> {
        self.annotations.iter().filter(move |a| a.frame == frame)
    }

    /// True when the set holds no annotation.
    pub fn is_empty(&self) -> bool {
        self.annotations.is_empty()
    }
}
