//! Grayscale Softcopy Presentation States (PS3.3 A.33.1): graphic
//! annotations (text and graphic objects on graphic layers), the displayed
//! area, the softcopy VOI and the images each applies to.
//!
//! `PIXEL` coordinates are (column, row) with (0, 0) at the top-left
//! corner of the top-left pixel, as in [`crate::annotations::Point`];
//! `DISPLAY` coordinates are fractions (0–1) of the displayed area and are
//! kept with their unit ([`Units`]) for the viewer to map. An item without
//! a Referenced Image Sequence applies to every image of the Referenced
//! Series Sequence.

use dicom_dictionary_std::tags;

use super::values::{
    Ds, code_string, float, floats, int, ints, items, referenced_series, source_refs, text,
};
use super::{ForeignErrorKind, ForeignHeader, GraphicType, Reference, Referrer, SourceRef};
use crate::annotations::Point;

type Kind = ForeignErrorKind;

/// What annotation coordinates are relative to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Units {
    /// Image pixels: (column, row) from the top-left corner of the image.
    Pixel,
    /// Fractions of the displayed area: (0, 0) its top-left, (1, 1) its
    /// bottom-right corner.
    Display,
}

impl Units {
    fn parse(value: Option<String>) -> Option<Self> {
        match value.as_deref() {
            Some("PIXEL") => Some(Self::Pixel),
            Some("DISPLAY") => Some(Self::Display),
            _ => None,
        }
    }
}

/// A text object's bounding box.
#[derive(Debug, Clone, PartialEq)]
pub struct BoundingBox {
    /// The box's unit.
    pub units: Units,
    /// Top-left corner.
    pub top_left: Point,
    /// Bottom-right corner.
    pub bottom_right: Point,
    /// Bounding Box Text Horizontal Justification (`LEFT`, `RIGHT`, `CENTER`).
    pub justification: Option<String>,
}

/// A text object's anchor point.
#[derive(Debug, Clone, PartialEq)]
pub struct Anchor {
    /// The point's unit.
    pub units: Units,
    /// The point the text refers to.
    pub point: Point,
    /// Anchor Point Visibility: draw a line from the text to the point.
    pub visible: bool,
}

/// An item of the Text Object Sequence.
#[derive(Debug, Clone, PartialEq)]
pub struct TextObject {
    /// Unformatted Text Value.
    pub text: String,
    /// Where the text is drawn, when given.
    pub bounding_box: Option<BoundingBox>,
    /// The point the text is about, when given.
    pub anchor: Option<Anchor>,
}

/// An item of the Graphic Object Sequence.
#[derive(Debug, Clone, PartialEq)]
pub struct GraphicObject {
    /// Graphic Annotation Units.
    pub units: Units,
    /// Graphic Type.
    pub graphic_type: GraphicType,
    /// Graphic Data as points.
    pub points: Vec<Point>,
    /// Graphic Filled (closed shapes only).
    pub filled: bool,
}

/// An item of the Graphic Annotation Sequence.
#[derive(Debug, Clone, PartialEq)]
pub struct GraphicAnnotation {
    /// The images (and frames) it applies to; empty: every image of the
    /// Referenced Series Sequence.
    pub images: Vec<SourceRef>,
    /// Graphic Layer.
    pub layer: String,
    /// Text objects.
    pub texts: Vec<TextObject>,
    /// Graphic objects.
    pub graphics: Vec<GraphicObject>,
}

/// An item of the Graphic Layer Sequence.
#[derive(Debug, Clone, PartialEq)]
pub struct GraphicLayer {
    /// Graphic Layer (the name annotations refer to).
    pub name: String,
    /// Graphic Layer Order (lower is drawn first).
    pub order: i64,
    /// Graphic Layer Description.
    pub description: Option<String>,
}

/// An item of the Displayed Area Selection Sequence.
#[derive(Debug, Clone, PartialEq)]
pub struct DisplayedArea {
    /// The images it applies to; empty: every referenced image.
    pub images: Vec<SourceRef>,
    /// Displayed Area Top Left Hand Corner (column, row), 1-based pixel
    /// numbers as in the file (may lie outside the image).
    pub top_left: [i64; 2],
    /// Displayed Area Bottom Right Hand Corner (column, row), 1-based.
    pub bottom_right: [i64; 2],
    /// Presentation Size Mode: `SCALE TO FIT`, `TRUE SIZE` or `MAGNIFY`.
    pub size_mode: Option<String>,
    /// Presentation Pixel Spacing (row, column spacing in mm).
    pub pixel_spacing: Option<[f64; 2]>,
    /// Presentation Pixel Magnification Ratio (`MAGNIFY`).
    pub magnification: Option<f64>,
}

impl DisplayedArea {
    /// The area in source-pixel coordinates ([`crate::annotations`]'s
    /// convention): (left, top) and (right, bottom), covering the whole
    /// first and last pixels.
    pub fn pixel_rect(&self) -> (Point, Point) {
        (
            Point::new(self.top_left[0] as f64 - 1.0, self.top_left[1] as f64 - 1.0),
            Point::new(self.bottom_right[0] as f64, self.bottom_right[1] as f64),
        )
    }
}

/// An item of the Softcopy VOI LUT Sequence.
#[derive(Debug, Clone, PartialEq)]
pub struct VoiWindow {
    /// The images it applies to; empty: every referenced image.
    pub images: Vec<SourceRef>,
    /// Window Center; `None` when the item has a VOI LUT instead.
    pub center: Option<f64>,
    /// Window Width.
    pub width: Option<f64>,
    /// Window Center & Width Explanation.
    pub explanation: Option<String>,
    /// VOI LUT Function (`LINEAR`, `LINEAR_EXACT`, `SIGMOID`).
    pub function: Option<String>,
    /// True when the item carries a VOI LUT Sequence (not read).
    pub has_lut: bool,
}

/// A Grayscale Softcopy Presentation State.
#[derive(Debug, Clone, PartialEq)]
pub struct PresentationState {
    /// What every foreign object says about itself.
    pub header: ForeignHeader,
    /// Referenced Series Sequence: (series UID, images).
    pub referenced_series: Vec<(Option<String>, Vec<SourceRef>)>,
    /// Graphic layers.
    pub layers: Vec<GraphicLayer>,
    /// Graphic annotations.
    pub annotations: Vec<GraphicAnnotation>,
    /// Displayed areas.
    pub displayed_areas: Vec<DisplayedArea>,
    /// Softcopy VOI windows.
    pub windows: Vec<VoiWindow>,
    /// Rescale Slope and Intercept of its Modality LUT, when given.
    pub rescale: Option<(f64, f64)>,
    /// Presentation LUT Shape (`IDENTITY`, `INVERSE`).
    pub presentation_lut_shape: Option<String>,
}

impl PresentationState {
    /// Every image of the Referenced Series Sequence.
    pub fn all_images(&self) -> impl Iterator<Item = &SourceRef> {
        self.referenced_series.iter().flat_map(|(_, refs)| refs)
    }

    fn applies_to<'a>(
        &'a self,
        images: &'a [SourceRef],
    ) -> Box<dyn Iterator<Item = &'a SourceRef> + 'a> {
        if images.is_empty() {
            Box::new(self.all_images())
        } else {
            Box::new(images.iter())
        }
    }

    /// Every reference: per annotation, displayed area and window (an item
    /// without its own list names every referenced image), then the
    /// Referenced Series Sequence.
    pub fn references(&self) -> Vec<Reference> {
        let mut refs = Vec::new();
        let mut add = |referrer: Referrer, images: &[SourceRef]| {
            for source in self.applies_to(images) {
                refs.push(Reference {
                    referrer,
                    source: source.clone(),
                });
            }
        };
        for (i, a) in self.annotations.iter().enumerate() {
            add(Referrer::Annotation(i), &a.images);
        }
        for (i, d) in self.displayed_areas.iter().enumerate() {
            add(Referrer::DisplayedArea(i), &d.images);
        }
        for (i, w) in self.windows.iter().enumerate() {
            add(Referrer::Window(i), &w.images);
        }
        add(Referrer::Object, &[]);
        refs
    }
}

/// Graphic Data as points; `None` when it is not finite (column, row) pairs.
fn points(values: &[f64]) -> Option<Vec<Point>> {
    (!values.is_empty() && values.len().is_multiple_of(2) && values.iter().all(|v| v.is_finite()))
        .then(|| {
            values
                .chunks_exact(2)
                .map(|p| Point::new(p[0], p[1]))
                .collect()
        })
}

fn point(ds: &Ds, tag: dicom_core::Tag) -> Option<Point> {
    points(&floats(ds, tag))
        .filter(|p| p.len() == 1)
        .map(|p| p[0])
}

fn read_text(item: &Ds, notes: &mut Vec<String>) -> Option<TextObject> {
    let text_value = text(item, tags::UNFORMATTED_TEXT_VALUE).unwrap_or_default();
    let bounding_box = match (
        Units::parse(code_string(item, tags::BOUNDING_BOX_ANNOTATION_UNITS)),
        point(item, tags::BOUNDING_BOX_TOP_LEFT_HAND_CORNER),
        point(item, tags::BOUNDING_BOX_BOTTOM_RIGHT_HAND_CORNER),
    ) {
        (Some(units), Some(top_left), Some(bottom_right)) => Some(BoundingBox {
            units,
            top_left,
            bottom_right,
            justification: code_string(item, tags::BOUNDING_BOX_TEXT_HORIZONTAL_JUSTIFICATION),
        }),
        _ => None,
    };
    let anchor = match (
        Units::parse(code_string(item, tags::ANCHOR_POINT_ANNOTATION_UNITS)),
        point(item, tags::ANCHOR_POINT),
    ) {
        (Some(units), Some(point)) => Some(Anchor {
            units,
            point,
            visible: code_string(item, tags::ANCHOR_POINT_VISIBILITY).as_deref() == Some("Y"),
        }),
        _ => None,
    };
    if bounding_box.is_none() && anchor.is_none() {
        notes.push(format!(
            "text object \"{text_value}\" skipped: neither a bounding box nor an anchor point \
             with units"
        ));
        return None;
    }
    Some(TextObject {
        text: text_value,
        bounding_box,
        anchor,
    })
}

fn read_graphic(item: &Ds, notes: &mut Vec<String>) -> Option<GraphicObject> {
    let graphic_type = GraphicType::parse(&text(item, tags::GRAPHIC_TYPE).unwrap_or_default());
    let Some(units) = Units::parse(code_string(item, tags::GRAPHIC_ANNOTATION_UNITS)) else {
        notes.push(format!(
            "graphic object {graphic_type:?} skipped: no PIXEL or DISPLAY units"
        ));
        return None;
    };
    if int(item, tags::GRAPHIC_DIMENSIONS).is_some_and(|d| d != 2) {
        notes.push(format!(
            "graphic object {graphic_type:?} skipped: Graphic Dimensions is not 2"
        ));
        return None;
    }
    let Some(points) = points(&floats(item, tags::GRAPHIC_DATA)) else {
        notes.push(format!(
            "graphic object {graphic_type:?} skipped: its Graphic Data is not finite (column, \
             row) pairs"
        ));
        return None;
    };
    Some(GraphicObject {
        units,
        graphic_type,
        points,
        filled: code_string(item, tags::GRAPHIC_FILLED).as_deref() == Some("Y"),
    })
}

fn read_area(item: &Ds, notes: &mut Vec<String>) -> Option<DisplayedArea> {
    let corner = |tag| -> Option<[i64; 2]> { ints(item, tag).try_into().ok() };
    let (Some(top_left), Some(bottom_right)) = (
        corner(tags::DISPLAYED_AREA_TOP_LEFT_HAND_CORNER),
        corner(tags::DISPLAYED_AREA_BOTTOM_RIGHT_HAND_CORNER),
    ) else {
        notes.push("displayed area skipped: it has no two corners".into());
        return None;
    };
    let spacing = floats(item, tags::PRESENTATION_PIXEL_SPACING);
    Some(DisplayedArea {
        images: source_refs(item, tags::REFERENCED_IMAGE_SEQUENCE),
        top_left,
        bottom_right,
        size_mode: code_string(item, tags::PRESENTATION_SIZE_MODE),
        pixel_spacing: <[f64; 2]>::try_from(spacing)
            .ok()
            .filter(|s| s.iter().all(|v| v.is_finite() && *v > 0.0)),
        magnification: float(item, tags::PRESENTATION_PIXEL_MAGNIFICATION_RATIO),
    })
}

/// Reads a presentation state's data set.
pub(super) fn read(ds: &Ds, mut header: ForeignHeader) -> Result<PresentationState, Kind> {
    let notes = &mut header.notes;
    let layers = items(ds, tags::GRAPHIC_LAYER_SEQUENCE)
        .iter()
        .filter_map(|l| {
            Some(GraphicLayer {
                name: text(l, tags::GRAPHIC_LAYER)?,
                order: int(l, tags::GRAPHIC_LAYER_ORDER).unwrap_or(0),
                description: text(l, tags::GRAPHIC_LAYER_DESCRIPTION),
            })
        })
        .collect();
    let mut annotations = Vec::new();
    for item in items(ds, tags::GRAPHIC_ANNOTATION_SEQUENCE) {
        let texts = items(item, tags::TEXT_OBJECT_SEQUENCE)
            .iter()
            .filter_map(|t| read_text(t, notes))
            .collect();
        let graphics = items(item, tags::GRAPHIC_OBJECT_SEQUENCE)
            .iter()
            .filter_map(|g| read_graphic(g, notes))
            .collect();
        annotations.push(GraphicAnnotation {
            images: source_refs(item, tags::REFERENCED_IMAGE_SEQUENCE),
            layer: text(item, tags::GRAPHIC_LAYER).unwrap_or_default(),
            texts,
            graphics,
        });
    }
    let displayed_areas = items(ds, tags::DISPLAYED_AREA_SELECTION_SEQUENCE)
        .iter()
        .filter_map(|a| read_area(a, notes))
        .collect();
    let windows = items(ds, tags::SOFTCOPY_VOILUT_SEQUENCE)
        .iter()
        .map(|w| VoiWindow {
            images: source_refs(w, tags::REFERENCED_IMAGE_SEQUENCE),
            center: float(w, tags::WINDOW_CENTER),
            width: float(w, tags::WINDOW_WIDTH).filter(|w| *w > 0.0),
            explanation: text(w, tags::WINDOW_CENTER_WIDTH_EXPLANATION),
            function: code_string(w, tags::VOILUT_FUNCTION),
            has_lut: !items(w, tags::VOILUT_SEQUENCE).is_empty(),
        })
        .collect();
    let rescale = float(ds, tags::RESCALE_SLOPE).zip(float(ds, tags::RESCALE_INTERCEPT));
    Ok(PresentationState {
        referenced_series: referenced_series(ds),
        layers,
        annotations,
        displayed_areas,
        windows,
        rescale,
        presentation_lut_shape: code_string(ds, tags::PRESENTATION_LUT_SHAPE),
        header,
    })
}
