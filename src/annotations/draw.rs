//! Burning annotations (and text) into an RGBA image with `imageproc`, text
//! set in the bundled fonts (`crate::fonts`).
//!
//! Annotations live in source-pixel coordinates; a [`CanvasMap`] places them
//! on a canvas that shows a region of the source at some scale, so the same
//! drawing serves the whole image, a zoomed region and an upscaled key
//! image.

use ab_glyph::PxScale;
use image::{Rgba, RgbaImage};
use imageproc::drawing::{
    draw_filled_rect_mut, draw_hollow_ellipse_mut, draw_line_segment_mut, draw_text_mut, text_size,
};
use imageproc::rect::Rect;

use super::measure::{Calibration, measure};
use super::{Annotation, AnnotationSet, Point, Shape};
use crate::fonts;
use crate::imaging::Image;

/// Where source pixels land on the canvas: `canvas = (source − origin) × scale`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CanvasMap {
    /// The source point drawn at the canvas's top-left corner.
    pub origin: Point,
    /// Canvas pixels per source pixel.
    pub scale: f64,
}

impl Default for CanvasMap {
    fn default() -> Self {
        Self {
            origin: Point::new(0.0, 0.0),
            scale: 1.0,
        }
    }
}

impl CanvasMap {
    /// The canvas position of a source point.
    pub fn to_canvas(&self, p: Point) -> (f32, f32) {
        (
            ((p.x - self.origin.x) * self.scale) as f32,
            ((p.y - self.origin.y) * self.scale) as f32,
        )
    }
}

/// How annotations are drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DrawStyle {
    /// Line and text colour.
    pub color: Rgba<u8>,
    /// Line width in canvas pixels.
    pub line_width: u32,
    /// Text height in canvas pixels.
    pub font_px: f32,
}

impl DrawStyle {
    /// A style sized for a canvas of `width` × `height` pixels.
    pub fn for_canvas(width: u32, height: u32) -> Self {
        let side = width.min(height).max(64) as f32;
        Self {
            color: Rgba([255, 220, 0, 255]),
            line_width: ((side / 400.0).round() as u32).max(1),
            font_px: (side / 32.0).clamp(11.0, 28.0),
        }
    }
}

fn thick_line(canvas: &mut RgbaImage, a: (f32, f32), b: (f32, f32), style: &DrawStyle) {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len = dx.hypot(dy).max(f32::EPSILON);
    let (nx, ny) = (-dy / len, dx / len);
    let w = style.line_width as i32;
    for k in 0..w {
        let off = k as f32 - (w - 1) as f32 / 2.0;
        draw_line_segment_mut(
            canvas,
            (a.0 + nx * off, a.1 + ny * off),
            (b.0 + nx * off, b.1 + ny * off),
            style.color,
        );
    }
}

fn arrow_head(canvas: &mut RgbaImage, tail: (f32, f32), head: (f32, f32), style: &DrawStyle) {
    let angle = (tail.1 - head.1).atan2(tail.0 - head.0);
    let size = style.font_px * 0.8;
    for side in [-0.45f32, 0.45] {
        let end = (
            head.0 + size * (angle + side).cos(),
            head.1 + size * (angle + side).sin(),
        );
        thick_line(canvas, head, end, style);
    }
}

/// Width and height of `text` set at `px` in the bundled fonts.
pub fn text_extent(text: &str, px: f32) -> (u32, u32) {
    let text = &*fonts::displayable(text);
    let scale = PxScale::from(px);
    let fonts = fonts::parsed();
    let width = fonts::runs(text)
        .iter()
        .map(|r| text_size(scale, &fonts[r.font], r.text).0)
        .sum();
    (width, px.ceil() as u32)
}

/// Draws one line of text with its top-left at (`x`, `y`) on a dark box so
/// it reads over any image; each run in the first bundled font that has its
/// glyphs. (Glyphs are placed one by one, without shaping: Arabic letters
/// appear in their isolated forms.)
pub fn draw_text_line(
    canvas: &mut RgbaImage,
    x: i32,
    y: i32,
    text: &str,
    px: f32,
    color: Rgba<u8>,
) {
    let text = &*fonts::displayable(text);
    let (w, h) = text_extent(text, px);
    let pad = (px / 6.0).ceil() as i32;
    let backdrop = Rect::at(x - pad, y - pad).of_size(w + 2 * pad as u32, h + 2 * pad as u32);
    blend_rect(canvas, backdrop, Rgba([0, 0, 0, 160]));
    let scale = PxScale::from(px);
    let fonts = fonts::parsed();
    let mut cursor = x;
    for run in fonts::runs(text) {
        let font = &fonts[run.font];
        draw_text_mut(canvas, color, cursor, y, scale, font, run.text);
        cursor += text_size(scale, font, run.text).0 as i32;
    }
}

/// Darkens (or tints) a rectangle by blending `color` over it.
fn blend_rect(canvas: &mut RgbaImage, rect: Rect, color: Rgba<u8>) {
    let a = color[3] as f32 / 255.0;
    let (w, h) = canvas.dimensions();
    let x0 = rect.left().clamp(0, w as i32) as u32;
    let y0 = rect.top().clamp(0, h as i32) as u32;
    let x1 = (rect.right() + 1).clamp(0, w as i32) as u32;
    let y1 = (rect.bottom() + 1).clamp(0, h as i32) as u32;
    for y in y0..y1 {
        for x in x0..x1 {
            let p = canvas.get_pixel_mut(x, y);
            for c in 0..3 {
                p[c] = (p[c] as f32 * (1.0 - a) + color[c] as f32 * a).round() as u8;
            }
        }
    }
}

/// Draws a band of text lines at the bottom of the canvas (captions).
pub fn draw_caption(canvas: &mut RgbaImage, lines: &[String], px: f32) {
    let (w, h) = canvas.dimensions();
    let line_h = (px * 1.35).ceil() as i32;
    let band = line_h * lines.len() as i32 + line_h / 2;
    let top = h as i32 - band;
    draw_filled_rect_mut(
        canvas,
        Rect::at(0, top.max(0)).of_size(w, band.min(h as i32).max(1) as u32),
        Rgba([0, 0, 0, 255]),
    );
    for (i, line) in lines.iter().enumerate() {
        draw_text_line(
            canvas,
            (px / 2.0) as i32,
            top + line_h / 4 + i as i32 * line_h,
            line,
            px,
            Rgba([255, 255, 255, 255]),
        );
    }
}

/// Draws one annotation's shape and, when given, its text next to it.
pub fn draw_annotation(
    canvas: &mut RgbaImage,
    annotation: &Annotation,
    text: Option<&str>,
    map: &CanvasMap,
    style: &DrawStyle,
) {
    let c = |p: Point| map.to_canvas(p);
    let anchor = match &annotation.shape {
        Shape::Length { start, end } => {
            thick_line(canvas, c(*start), c(*end), style);
            let tick = style.font_px * 0.3;
            for p in [c(*start), c(*end)] {
                draw_filled_rect_mut(
                    canvas,
                    Rect::at((p.0 - tick / 2.0) as i32, (p.1 - tick / 2.0) as i32)
                        .of_size(tick.max(1.0) as u32, tick.max(1.0) as u32),
                    style.color,
                );
            }
            c(*end)
        }
        Shape::Angle {
            first,
            vertex,
            second,
        } => {
            thick_line(canvas, c(*vertex), c(*first), style);
            thick_line(canvas, c(*vertex), c(*second), style);
            c(*vertex)
        }
        Shape::Ellipse {
            center,
            radius_x,
            radius_y,
        } => {
            let (cx, cy) = c(*center);
            let rx = (radius_x.abs() * map.scale).round() as i32;
            let ry = (radius_y.abs() * map.scale).round() as i32;
            for k in 0..style.line_width as i32 {
                draw_hollow_ellipse_mut(
                    canvas,
                    (cx.round() as i32, cy.round() as i32),
                    (rx + k).max(1),
                    (ry + k).max(1),
                    style.color,
                );
            }
            (cx + rx as f32, cy - ry as f32)
        }
        Shape::Rectangle { corner, opposite } => {
            let (a, b) = (c(*corner), c(*opposite));
            let (x0, y0, x1, y1) = (a.0.min(b.0), a.1.min(b.1), a.0.max(b.0), a.1.max(b.1));
            for (p, q) in [
                ((x0, y0), (x1, y0)),
                ((x1, y0), (x1, y1)),
                ((x1, y1), (x0, y1)),
                ((x0, y1), (x0, y0)),
            ] {
                thick_line(canvas, p, q, style);
            }
            (x1, y0)
        }
        Shape::Arrow { tail, head } => {
            thick_line(canvas, c(*tail), c(*head), style);
            arrow_head(canvas, c(*tail), c(*head), style);
            c(*tail)
        }
        Shape::Text { anchor, text: note } => {
            let (x, y) = c(*anchor);
            draw_text_line(canvas, x as i32, y as i32, note, style.font_px, style.color);
            (x, y + style.font_px * 1.4)
        }
    };
    let label = match (&annotation.label, text) {
        (Some(l), Some(t)) => Some(format!("{l}: {t}")),
        (Some(l), None) => Some(l.clone()),
        (None, Some(t)) => Some(t.to_string()),
        (None, None) => None,
    };
    if let Some(label) = label {
        let (w, _) = text_extent(&label, style.font_px);
        let max_x = canvas.width() as i32 - w as i32 - 2;
        let x = ((anchor.0 + style.font_px * 0.4) as i32).min(max_x).max(2);
        let y = ((anchor.1 + style.font_px * 0.2) as i32)
            .min(canvas.height() as i32 - style.font_px as i32 - 2)
            .max(2);
        draw_text_line(canvas, x, y, &label, style.font_px, style.color);
    }
}

/// Burns every annotation of `set` on `frame` into `canvas`, each labelled
/// with its measurement (and the calibration caveat); a measurement that
/// fails is labelled with the reason instead.
pub fn burn_in(
    canvas: &mut RgbaImage,
    image: &Image,
    set: &AnnotationSet,
    frame: usize,
    map: &CanvasMap,
    style: &DrawStyle,
) {
    let calibration = Calibration::of(&image.metadata);
    for annotation in set.on_frame(frame) {
        let text = match measure(image, annotation) {
            Ok(m) => m.describe(&calibration),
            Err(e) => Some(format!("not measured: {e}")),
        };
        draw_annotation(canvas, annotation, text.as_deref(), map, style);
    }
}
