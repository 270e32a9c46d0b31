//! Painting what other systems put on the shown image ([`OnImage`]):
//! Parametric Maps as coloured layers with a colour bar, segments as
//! coloured overlays, SR and presentation-state graphics and text. The
//! layers' textures are made once per image, frame and change of what is
//! shown, not every frame.

use egui::{Color32, Pos2, Rect, Stroke, TextureHandle};

use crate::annotations::foreign::ForeignObject;
use crate::annotations::foreign::seg::SegmentationKind;
use crate::annotations::foreign::{ParametricMap, Segmentation};
use crate::app::foreign::{
    ForeignResults, Graphic, LAYER_OPACITY, MAP_COLORMAP, MapLayer, OnImage, Outline, SegmentLayer,
    Text,
};
use crate::app::state::ViewTransform;

use super::textured_mesh;

/// The foreign layers' textures of one viewport.
#[derive(Default)]
pub struct ForeignTextures {
    /// (image, frame, generation) the textures were made for.
    key: Option<(usize, usize, u64)>,
    /// One texture per map layer, then one per segment layer, in
    /// [`OnImage`] order.
    textures: Vec<TextureHandle>,
}

/// What a viewport is asked to draw from other systems.
pub struct ForeignInput<'a> {
    /// The objects.
    pub results: &'a ForeignResults,
    /// What they put on the shown image and frame.
    pub on: OnImage,
}

impl ForeignTextures {
    fn update(
        &mut self,
        ctx: &egui::Context,
        name: &str,
        key: (usize, usize, u64),
        input: &ForeignInput<'_>,
    ) {
        if self.key == Some(key) {
            return;
        }
        self.textures.clear();
        let objects = input.results.objects();
        for layer in &input.on.maps {
            if let ForeignObject::ParametricMap(map) = &objects[layer.object]
                && let Some(rgba) = map_rgba(map, layer.frame, layer.range)
            {
                let name = format!("{name} map {}", layer.object);
                self.textures.push(super::texture::rgba_texture(
                    ctx,
                    &name,
                    &rgba,
                    map.columns,
                    map.rows,
                ));
            }
        }
        for layer in &input.on.segments {
            if let ForeignObject::Segmentation(seg) = &objects[layer.object] {
                let rgba = segments_rgba(seg, layer);
                let name = format!("{name} seg {}", layer.object);
                self.textures.push(super::texture::rgba_texture(
                    ctx,
                    &name,
                    &rgba,
                    seg.columns,
                    seg.rows,
                ));
            }
        }
        self.key = Some(key);
    }
}

/// Paints `input` over the image drawn with `t` in `rect`; `shown` is the
/// (image, frame) on screen.
pub fn paint(
    painter: &egui::Painter,
    rect: Rect,
    t: &ViewTransform,
    shown: (usize, usize),
    input: &ForeignInput<'_>,
    textures: &mut ForeignTextures,
    name: &str,
) {
    if input.on.is_empty() {
        return;
    }
    let key = (shown.0, shown.1, input.results.generation());
    textures.update(painter.ctx(), name, key, input);
    for texture in &textures.textures {
        painter.add(textured_mesh(texture.id(), t, Color32::WHITE));
    }
    for graphic in &input.on.graphics {
        paint_graphic(painter, t, graphic);
    }
    for text in &input.on.texts {
        paint_text(painter, t, text);
    }
    if let Some(first) = input.on.maps.first() {
        color_bar(painter, rect, first);
    }
}

fn color(c: [u8; 3]) -> Color32 {
    Color32::from_rgb(c[0], c[1], c[2])
}

fn screen(t: &ViewTransform, p: crate::annotations::Point) -> Pos2 {
    let [x, y] = t.to_screen(p.x as f32, p.y as f32);
    Pos2::new(x, y)
}

fn paint_graphic(painter: &egui::Painter, t: &ViewTransform, g: &Graphic) {
    let c = color(g.color);
    let stroke = Stroke::new(1.5, c);
    let fill = if g.filled {
        c.gamma_multiply(0.3)
    } else {
        Color32::TRANSPARENT
    };
    let label_at = match &g.outline {
        Outline::Polyline(points) => {
            let pts: Vec<Pos2> = points.iter().map(|&p| screen(t, p)).collect();
            let closed = points.len() > 2 && points.first() == points.last();
            if g.filled && closed {
                painter.add(egui::Shape::convex_polygon(pts.clone(), fill, stroke));
            } else {
                painter.add(egui::Shape::line(pts.clone(), stroke));
            }
            pts.first().copied()
        }
        Outline::Points(points) => {
            for &p in points {
                let s = screen(t, p);
                painter.line_segment([s - egui::vec2(4.0, 0.0), s + egui::vec2(4.0, 0.0)], stroke);
                painter.line_segment([s - egui::vec2(0.0, 4.0), s + egui::vec2(0.0, 4.0)], stroke);
            }
            points.first().map(|&p| screen(t, p))
        }
        Outline::Circle { center, radius } => {
            let c = screen(t, *center);
            let r = *radius as f32 * t.scale;
            painter.circle(c, r, fill, stroke);
            Some(c - egui::vec2(0.0, r))
        }
        Outline::Ellipse { major, minor } => {
            let pts = ellipse_points(*major, *minor);
            let pts: Vec<Pos2> = pts.into_iter().map(|p| screen(t, p)).collect();
            let top = pts.first().copied();
            painter.add(egui::Shape::closed_line(pts, stroke));
            top
        }
    };
    if let (Some(label), Some(at)) = (&g.label, label_at) {
        painter.text(
            at - egui::vec2(0.0, 4.0),
            egui::Align2::LEFT_BOTTOM,
            label,
            egui::FontId::proportional(13.0),
            c,
        );
    }
}

/// 64 points around the ellipse with the given axes' end points.
fn ellipse_points(
    major: [crate::annotations::Point; 2],
    minor: [crate::annotations::Point; 2],
) -> Vec<crate::annotations::Point> {
    let cx = (major[0].x + major[1].x) / 2.0;
    let cy = (major[0].y + major[1].y) / 2.0;
    let (ax, ay) = (
        (major[1].x - major[0].x) / 2.0,
        (major[1].y - major[0].y) / 2.0,
    );
    let b = (minor[1].x - minor[0].x).hypot(minor[1].y - minor[0].y) / 2.0;
    let a = ax.hypot(ay).max(f64::MIN_POSITIVE);
    // The minor axis is perpendicular to the major one.
    let (bx, by) = (-ay / a * b, ax / a * b);
    (0..64)
        .map(|i| {
            let angle = i as f64 / 64.0 * std::f64::consts::TAU;
            let (s, c) = angle.sin_cos();
            crate::annotations::Point::new(cx + ax * c + bx * s, cy + ay * c + by * s)
        })
        .collect()
}

fn paint_text(painter: &egui::Painter, t: &ViewTransform, text: &Text) {
    let at = screen(t, text.at);
    let galley = painter.layout_no_wrap(
        text.text.clone(),
        egui::FontId::proportional(13.0),
        color(text.color),
    );
    let back = Rect::from_min_size(at, galley.size()).expand(2.0);
    painter.rect_filled(back, 2.0, Color32::from_black_alpha(150));
    painter.galley(at, galley, color(text.color));
}

/// The first map's colour bar at the viewport's right edge, between the
/// corner text and the orientation label, with its range and unit.
fn color_bar(painter: &egui::Painter, rect: Rect, layer: &MapLayer) {
    let top = rect.top() + 90.0;
    let bottom = (rect.center().y - 24.0).max(top + 40.0);
    let bar = Rect::from_min_max(
        Pos2::new(rect.right() - 30.0, top),
        Pos2::new(rect.right() - 18.0, bottom),
    );
    let steps = 64;
    let h = bar.height() / steps as f32;
    for i in 0..steps {
        let v = 1.0 - (i as f32 + 0.5) / steps as f32;
        let y = bar.top() + i as f32 * h;
        let strip = Rect::from_min_max(
            Pos2::new(bar.left(), y),
            Pos2::new(bar.right(), y + h + 0.5),
        );
        painter.rect_filled(strip, 0.0, color(MAP_COLORMAP.color(v)));
    }
    painter.rect_stroke(
        bar,
        0.0,
        Stroke::new(1.0, Color32::GRAY),
        egui::StrokeKind::Outside,
    );
    let font = egui::FontId::proportional(12.0);
    let text = Color32::from_rgb(230, 230, 230);
    let unit = if layer.unit.is_empty() {
        String::new()
    } else {
        format!(" {}", layer.unit)
    };
    let value = crate::app::foreign::format_value;
    painter.text(
        bar.left_top() - egui::vec2(4.0, 0.0),
        egui::Align2::RIGHT_TOP,
        format!("{}{unit}", value(layer.range.1)),
        font.clone(),
        text,
    );
    painter.text(
        bar.left_bottom() - egui::vec2(4.0, 0.0),
        egui::Align2::RIGHT_BOTTOM,
        format!("{}{unit}", value(layer.range.0)),
        font.clone(),
        text,
    );
    painter.text(
        bar.right_top() - egui::vec2(0.0, 4.0),
        egui::Align2::RIGHT_BOTTOM,
        &layer.label,
        font,
        text,
    );
}

/// Frame `frame` of `map` as straight-alpha RGBA, coloured over `range`
/// by [`MAP_COLORMAP`]; samples without a value are transparent.
pub fn map_rgba(map: &ParametricMap, frame: usize, range: (f64, f64)) -> Option<Vec<u8>> {
    let values = map.frame_values(frame)?;
    let table = MAP_COLORMAP.table();
    let (low, high) = range;
    let span = (high - low).max(f64::MIN_POSITIVE);
    let alpha = (LAYER_OPACITY * 255.0).round() as u8;
    let mut out = vec![0u8; values.len() * 4];
    for (px, &v) in out.chunks_exact_mut(4).zip(&values) {
        if v.is_finite() {
            let t = ((f64::from(v) - low) / span).clamp(0.0, 1.0);
            let [r, g, b] = table[(t * 255.0).round() as usize];
            px.copy_from_slice(&[r, g, b, alpha]);
        }
    }
    Some(out)
}

/// The segments of `layer` as one straight-alpha RGBA image: each pixel
/// takes the colour of the last segment covering it, its opacity scaled
/// by the fraction for FRACTIONAL segmentations.
pub fn segments_rgba(seg: &Segmentation, layer: &SegmentLayer) -> Vec<u8> {
    let n = seg.rows * seg.columns;
    let mut out = vec![0u8; n * 4];
    let max = match seg.kind {
        SegmentationKind::Binary => 1.0,
        SegmentationKind::Fractional { max_value, .. } => f32::from(max_value.max(1)),
    };
    for &(frame, _, [r, g, b]) in &layer.frames {
        let Some(pixels) = seg.frame_pixels(frame) else {
            continue;
        };
        for (px, &v) in out.chunks_exact_mut(4).zip(pixels) {
            if v > 0 {
                let a = (LAYER_OPACITY * (f32::from(v) / max).min(1.0) * 255.0).round() as u8;
                px.copy_from_slice(&[r, g, b, a]);
            }
        }
    }
    out
}
