//! Results from other systems as the viewer keeps them: the objects the
//! loader read ([`crate::annotations::foreign`]), matched to the loaded
//! images, which of them the reader shows, and what each puts on a given
//! image and frame, in image coordinates. No egui here: the viewport
//! paints [`OnImage`], the panel lists [`ForeignResults::objects`].

use std::collections::HashSet;

use crate::ai::saliency::overlay::Colormap;
use crate::annotations::Point;
use crate::annotations::foreign::gsps::Units;
use crate::annotations::foreign::{
    ForeignError, ForeignObject, GraphicType, ImageRef, Match, ParametricMap, PresentationState,
    Referrer, Resolved, Segmentation, StructuredReport, match_references,
};

use super::state::LoadedImage;

/// The colour of SR coordinates.
pub const SR_COLOR: [u8; 3] = [255, 160, 40];
/// The colour of presentation-state graphics and text.
pub const GSPS_COLOR: [u8; 3] = [120, 230, 120];
/// The colormap of Parametric Maps (their own colour bar shows it).
pub const MAP_COLORMAP: Colormap = Colormap::Turbo;
/// Opacity of map and segment layers.
pub const LAYER_OPACITY: f32 = 0.5;

/// Every foreign object opened, matched to the images, and what is shown.
#[derive(Debug, Default)]
pub struct ForeignResults {
    objects: Vec<ForeignObject>,
    /// Files of those classes that could not be read, with the reason.
    pub errors: Vec<ForeignError>,
    matches: Vec<Match>,
    /// (objects, images) the matches were made for.
    matched_for: (usize, usize),
    hidden: HashSet<usize>,
    hidden_segments: HashSet<(usize, u16)>,
    /// Bumped whenever what is drawn changes, so layers are re-made.
    generation: u64,
}

/// A Parametric Map frame on the shown image.
#[derive(Debug, Clone, PartialEq)]
pub struct MapLayer {
    /// Index of the object.
    pub object: usize,
    /// The map's frame (0-based).
    pub frame: usize,
    /// The real-world values the colour bar spans, low to high.
    pub range: (f64, f64),
    /// The mapping's label (LUT Label, else LUT Explanation, else "value").
    pub label: String,
    /// The unit after a value (empty for unitless).
    pub unit: String,
}

/// The visible segments of one Segmentation on the shown image.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentLayer {
    /// Index of the object.
    pub object: usize,
    /// (segmentation frame, segment number, colour) drawn, in order.
    pub frames: Vec<(usize, u16, [u8; 3])>,
}

/// A shape another system drew, in image coordinates.
#[derive(Debug, Clone, PartialEq)]
pub enum Outline {
    /// Connected points; closed when the last equals the first.
    Polyline(Vec<Point>),
    /// Unconnected points.
    Points(Vec<Point>),
    /// A circle.
    Circle {
        /// Centre.
        center: Point,
        /// Radius, image pixels.
        radius: f64,
    },
    /// An ellipse given by the end points of its two axes.
    Ellipse {
        /// The major axis's end points.
        major: [Point; 2],
        /// The minor axis's end points.
        minor: [Point; 2],
    },
}

/// One graphic on the shown image.
#[derive(Debug, Clone, PartialEq)]
pub struct Graphic {
    /// Index of the object.
    pub object: usize,
    /// The shape.
    pub outline: Outline,
    /// Filled (GSPS Graphic Filled).
    pub filled: bool,
    /// sRGB colour.
    pub color: [u8; 3],
    /// A label drawn beside it (the SR item's name), if any.
    pub label: Option<String>,
}

/// One text on the shown image.
#[derive(Debug, Clone, PartialEq)]
pub struct Text {
    /// Index of the object.
    pub object: usize,
    /// The text.
    pub text: String,
    /// Its top-left corner (or anchor), image coordinates.
    pub at: Point,
    /// sRGB colour.
    pub color: [u8; 3],
}

/// What the shown objects put on one image and frame.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OnImage {
    /// Parametric Map layers, first drawn first.
    pub maps: Vec<MapLayer>,
    /// Segment layers.
    pub segments: Vec<SegmentLayer>,
    /// Graphics.
    pub graphics: Vec<Graphic>,
    /// Texts.
    pub texts: Vec<Text>,
    /// Objects that refer to this image but cannot be drawn on it, with
    /// why (a grid that differs from the image's).
    pub not_drawn: Vec<(usize, String)>,
}

impl OnImage {
    /// True when nothing is drawn.
    pub fn is_empty(&self) -> bool {
        self.maps.is_empty()
            && self.segments.is_empty()
            && self.graphics.is_empty()
            && self.texts.is_empty()
    }
}

impl ForeignResults {
    /// Adds `object`; one with the same SOP Instance UID (or file) is
    /// replaced in place.
    pub fn add(&mut self, object: ForeignObject) {
        let header = object.header();
        let same = self.objects.iter().position(|o| {
            let h = o.header();
            (!header.sop_instance_uid.is_empty() && h.sop_instance_uid == header.sop_instance_uid)
                || h.path == header.path
        });
        self.errors.retain(|e| e.path != header.path);
        match same {
            Some(i) => self.objects[i] = object,
            None => self.objects.push(object),
        }
        self.matched_for = (usize::MAX, usize::MAX);
        self.generation += 1;
    }

    /// Records an object that could not be read.
    pub fn fail(&mut self, error: ForeignError) {
        self.errors.retain(|e| e.path != error.path);
        self.errors.push(error);
    }

    /// The objects, in arrival order (indices never change).
    pub fn objects(&self) -> &[ForeignObject] {
        &self.objects
    }

    /// A counter that changes whenever what is drawn may have changed.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Matches the objects to `images` again if either grew since the
    /// last call (once per frame at most).
    pub fn refresh(&mut self, images: &[LoadedImage]) {
        if self.matched_for == (self.objects.len(), images.len()) {
            return;
        }
        let refs: Vec<ImageRef> = images
            .iter()
            .map(|l| ImageRef {
                sop_instance_uid: l
                    .image
                    .metadata
                    .sop_instance_uid
                    .clone()
                    .unwrap_or_default(),
                frames: l.image.pixels.frames,
            })
            .collect();
        self.matches = match_references(&self.objects, &refs);
        self.matched_for = (self.objects.len(), images.len());
        self.generation += 1;
    }

    /// How object `object`'s references were resolved (after
    /// [`ForeignResults::refresh`]).
    pub fn matched(&self, object: usize) -> Option<&Match> {
        self.matches.get(object)
    }

    /// True when object `object` is drawn.
    pub fn is_shown(&self, object: usize) -> bool {
        !self.hidden.contains(&object)
    }

    /// Shows or hides object `object`.
    pub fn set_shown(&mut self, object: usize, shown: bool) {
        let changed = if shown {
            self.hidden.remove(&object)
        } else {
            self.hidden.insert(object)
        };
        if changed {
            self.generation += 1;
        }
    }

    /// True when segment `number` of object `object` is drawn (with its
    /// object).
    pub fn is_segment_shown(&self, object: usize, number: u16) -> bool {
        !self.hidden_segments.contains(&(object, number))
    }

    /// Shows or hides segment `number` of object `object`.
    pub fn set_segment_shown(&mut self, object: usize, number: u16, shown: bool) {
        let changed = if shown {
            self.hidden_segments.remove(&(object, number))
        } else {
            self.hidden_segments.insert((object, number))
        };
        if changed {
            self.generation += 1;
        }
    }

    /// The objects that refer to image `image` (any frame).
    pub fn objects_on(&self, image: usize) -> Vec<usize> {
        self.matches
            .iter()
            .filter(|m| m.resolved.iter().any(|r| r.image == image))
            .map(|m| m.object)
            .collect()
    }

    /// What the shown objects put on frame `frame` of image `image`, an
    /// image of `columns` × `rows` pixels.
    pub fn on(&self, image: usize, frame: usize, (columns, rows): (usize, usize)) -> OnImage {
        let mut on = OnImage::default();
        for m in &self.matches {
            let i = m.object;
            if !self.is_shown(i) {
                continue;
            }
            let here = |r: &&Resolved| r.image == image && r.frame.is_none_or(|f| f == frame);
            let mut referrers = m.resolved.iter().filter(here).map(|r| r.referrer);
            match &self.objects[i] {
                ForeignObject::ParametricMap(map) => {
                    let frames = frames_of(referrers);
                    if frames.is_empty() {
                        continue;
                    }
                    if (map.columns, map.rows) != (columns, rows) {
                        on.not_drawn.push((i, grid_mismatch(map.columns, map.rows)));
                    } else if let Some(layer) = map_layer(i, map, frames[0]) {
                        on.maps.push(layer);
                    }
                }
                ForeignObject::Segmentation(seg) => {
                    let frames = frames_of(referrers);
                    if frames.is_empty() {
                        continue;
                    }
                    if (seg.columns, seg.rows) != (columns, rows) {
                        on.not_drawn.push((i, grid_mismatch(seg.columns, seg.rows)));
                        continue;
                    }
                    let drawn = segment_frames(seg, &frames, |n| self.is_segment_shown(i, n));
                    if !drawn.is_empty() {
                        on.segments.push(SegmentLayer {
                            object: i,
                            frames: drawn,
                        });
                    }
                }
                ForeignObject::StructuredReport(sr) => {
                    for referrer in referrers.by_ref() {
                        if let Referrer::Coordinate(c) = referrer {
                            on.graphics.extend(sr_graphic(i, sr, c));
                        }
                    }
                }
                ForeignObject::PresentationState(ps) => {
                    let referrers: Vec<Referrer> = referrers.collect();
                    let area = referrers.iter().find_map(|r| match r {
                        Referrer::DisplayedArea(d) => ps.displayed_areas.get(*d),
                        _ => None,
                    });
                    let area = area.map_or(
                        (
                            Point::new(0.0, 0.0),
                            Point::new(columns as f64, rows as f64),
                        ),
                        |a| a.pixel_rect(),
                    );
                    for r in &referrers {
                        if let Referrer::Annotation(a) = r {
                            gsps_annotation(i, ps, *a, area, &mut on);
                        }
                    }
                }
            }
        }
        on
    }

    /// What the shown maps and segments say at pixel (`x`, `y`) of `on`,
    /// one line each, e.g. `RAMP 42.5 HU` or `segment: Disk lesion`.
    pub fn readout(&self, on: &OnImage, x: usize, y: usize) -> Vec<String> {
        let mut lines = Vec::new();
        for layer in &on.maps {
            if let ForeignObject::ParametricMap(map) = &self.objects[layer.object] {
                let value = map
                    .value_at(layer.frame, x, y)
                    .map_or("no value".to_string(), format_value);
                let unit = if layer.unit.is_empty() {
                    String::new()
                } else {
                    format!(" {}", layer.unit)
                };
                lines.push(format!("{} {value}{unit}", layer.label));
            }
        }
        for layer in &on.segments {
            if let ForeignObject::Segmentation(seg) = &self.objects[layer.object] {
                for &(frame, number, _) in &layer.frames {
                    let fraction = seg.fraction_at(frame, x, y).unwrap_or(0.0);
                    if fraction > 0.0 {
                        let label = seg.segment(number).map_or("?", |s| s.label.as_str());
                        lines.push(match seg.kind {
                            crate::annotations::foreign::seg::SegmentationKind::Binary => {
                                format!("segment: {label}")
                            }
                            _ => format!("segment: {label} {}", format_value(fraction)),
                        });
                    }
                }
            }
        }
        lines
    }
}

/// A value for the readout: four significant digits, no float noise.
pub fn format_value(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    if (1e-3..1e5).contains(&v.abs()) {
        let magnitude = v.abs().log10().floor() as i32;
        let decimals = (3 - magnitude).clamp(0, 6) as usize;
        let text = format!("{v:.decimals$}");
        if text.contains('.') {
            text.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            text
        }
    } else {
        format!("{v:.3e}")
    }
}

fn grid_mismatch(columns: usize, rows: usize) -> String {
    format!("its grid ({columns} × {rows}) is not the image's; not drawn")
}

fn frames_of(referrers: impl Iterator<Item = Referrer>) -> Vec<usize> {
    let mut frames: Vec<usize> = referrers
        .filter_map(|r| match r {
            Referrer::Frame(f) => Some(f),
            _ => None,
        })
        .collect();
    frames.sort_unstable();
    frames.dedup();
    frames
}

fn map_layer(object: usize, map: &ParametricMap, frame: usize) -> Option<MapLayer> {
    let mapping = map.mapping(frame)?;
    // One range for every frame: a colour means the same value throughout
    // a stack.
    let range = map.value_range()?;
    let label = mapping
        .label
        .clone()
        .or_else(|| mapping.explanation.clone())
        .filter(|l| !l.trim().is_empty())
        .unwrap_or_else(|| "value".into());
    Some(MapLayer {
        object,
        frame,
        range,
        label,
        unit: mapping.unit_text(),
    })
}

fn segment_frames(
    seg: &Segmentation,
    frames: &[usize],
    shown: impl Fn(u16) -> bool,
) -> Vec<(usize, u16, [u8; 3])> {
    frames
        .iter()
        .filter_map(|&f| {
            let number = seg.frames.get(f)?.segment;
            let color = seg.segment(number)?.color;
            shown(number).then_some((f, number, color))
        })
        .collect()
}

fn outline(graphic_type: &GraphicType, points: &[Point]) -> Option<Outline> {
    let first = *points.first()?;
    Some(match graphic_type {
        GraphicType::Point | GraphicType::Multipoint => Outline::Points(points.to_vec()),
        GraphicType::Circle => {
            let edge = *points.get(1)?;
            Outline::Circle {
                center: first,
                radius: (edge.x - first.x).hypot(edge.y - first.y),
            }
        }
        GraphicType::Ellipse if points.len() >= 4 => Outline::Ellipse {
            major: [points[0], points[1]],
            minor: [points[2], points[3]],
        },
        // Interpolated curves are drawn through their points; an unknown
        // type is drawn as its points joined, never dropped.
        _ => Outline::Polyline(points.to_vec()),
    })
}

fn sr_graphic(object: usize, sr: &StructuredReport, index: usize) -> Option<Graphic> {
    let c = sr.coordinates.get(index)?;
    let group_title = c
        .group
        .and_then(|g| sr.groups.get(g))
        .and_then(|g| g.title());
    Some(Graphic {
        object,
        outline: outline(&c.graphic_type, &c.points)?,
        filled: false,
        color: SR_COLOR,
        label: group_title.or_else(|| (!c.name.is_empty()).then(|| c.name.clone())),
    })
}

fn gsps_annotation(
    object: usize,
    ps: &PresentationState,
    index: usize,
    (top_left, bottom_right): (Point, Point),
    on: &mut OnImage,
) {
    let Some(annotation) = ps.annotations.get(index) else {
        return;
    };
    // DISPLAY coordinates are fractions of the displayed area.
    let place = |units: &Units, p: Point| match units {
        Units::Display => Point::new(
            top_left.x + p.x * (bottom_right.x - top_left.x),
            top_left.y + p.y * (bottom_right.y - top_left.y),
        ),
        _ => p,
    };
    for g in &annotation.graphics {
        let points: Vec<Point> = g.points.iter().map(|&p| place(&g.units, p)).collect();
        if let Some(outline) = outline(&g.graphic_type, &points) {
            on.graphics.push(Graphic {
                object,
                outline,
                filled: g.filled,
                color: GSPS_COLOR,
                label: None,
            });
        }
    }
    for t in &annotation.texts {
        let at = t
            .bounding_box
            .as_ref()
            .map(|b| place(&b.units, b.top_left))
            .or_else(|| t.anchor.as_ref().map(|a| place(&a.units, a.point)));
        if let Some(at) = at {
            on.texts.push(Text {
                object,
                text: t.text.clone(),
                at,
                color: GSPS_COLOR,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_out_with_four_significant_digits() {
        assert_eq!(format_value(0.0), "0");
        assert_eq!(format_value(42.5), "42.5");
        assert_eq!(format_value(-1.0), "-1");
        assert_eq!(format_value(0.123456), "0.1235");
        assert_eq!(format_value(1234.5678), "1235");
        assert_eq!(format_value(2.5e-7), "2.500e-7");
    }

    #[test]
    fn a_circle_is_its_centre_and_radius_and_an_unknown_type_its_points() {
        let pts = [Point::new(10.0, 10.0), Point::new(13.0, 14.0)];
        assert_eq!(
            outline(&GraphicType::Circle, &pts),
            Some(Outline::Circle {
                center: pts[0],
                radius: 5.0
            })
        );
        assert_eq!(
            outline(&GraphicType::Other("SPLINE".into()), &pts),
            Some(Outline::Polyline(pts.to_vec()))
        );
        assert_eq!(outline(&GraphicType::Polyline, &[]), None);
    }
}
