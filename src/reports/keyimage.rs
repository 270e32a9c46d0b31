//! The key image: a frame as displayed (through `imaging::render`, with the
//! chosen window), the heatmap when shown, cropped to the zoom region,
//! scaled to a readable size, with the annotations burned in and a caption
//! band below.

use image::{Rgba, RgbaImage, imageops};

use super::ReportError;
use crate::ai::saliency::Heatmap;
use crate::ai::saliency::overlay::{OverlayStyle, blend};
use crate::annotations::AnnotationSet;
use crate::annotations::Point;
use crate::annotations::draw::{CanvasMap, DrawStyle, burn_in, draw_caption, text_extent};
use crate::imaging::voi::WindowChoice;
use crate::imaging::{Image, render_frame};

/// A rectangle of source pixels (the zoom region).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    /// Left column.
    pub x: u32,
    /// Top row.
    pub y: u32,
    /// Columns.
    pub width: u32,
    /// Rows.
    pub height: u32,
}

/// One key image of a report: what is shown and how.
#[derive(Debug, Clone)]
pub struct KeyImage<'a> {
    /// The image.
    pub image: &'a Image,
    /// The frame (0-based).
    pub frame: usize,
    /// The window as displayed.
    pub window: WindowChoice,
    /// The zoom region, or `None` for the whole image.
    pub region: Option<Region>,
    /// Annotations to burn in (those on `frame`).
    pub annotations: Option<&'a AnnotationSet>,
    /// A heatmap to blend in, when shown.
    pub heatmap: Option<&'a Heatmap>,
    /// How the heatmap is drawn.
    pub heatmap_style: OverlayStyle,
    /// Draw the heatmap even when the deletion test found it not faithful
    /// (the reader asked for it); otherwise such a map is only described.
    pub draw_unfaithful: bool,
    /// Gray values inverted, as the reader displayed them.
    pub invert: bool,
}

impl<'a> KeyImage<'a> {
    /// The heatmap as it is drawn: none when it is not faithful and the
    /// reader did not ask to see it anyway.
    pub fn drawn_heatmap(&self) -> Option<&'a Heatmap> {
        self.heatmap
            .filter(|h| self.draw_unfaithful || !h.is_unfaithful())
    }

    /// Frame 0 of `image`, whole, in the file's default window, with
    /// nothing on it.
    pub fn plain(image: &'a Image) -> Self {
        Self {
            image,
            frame: 0,
            window: WindowChoice::FileDefault,
            region: None,
            annotations: None,
            heatmap: None,
            heatmap_style: OverlayStyle::default(),
            draw_unfaithful: false,
            invert: false,
        }
    }
}

/// Images are scaled so that the longer side is at least this many
/// pixels (nearest neighbour, so pixels stay visible)...
const MIN_SIDE: u32 = 768;
/// ...and at most this many (downscaled smoothly).
const MAX_SIDE: u32 = 2048;

/// Lines of `text` no wider than `width` pixels at `px`.
pub fn wrap(text: &str, width: u32, px: f32) -> Vec<String> {
    crate::fonts::wrap(text, width as f32, |t| text_extent(t, px).0 as f32)
}

/// Composes the key image with `caption` lines (wrapped to its width)
/// in a band below the image.
pub fn compose(key: &KeyImage<'_>, caption: &[String]) -> Result<RgbaImage, ReportError> {
    let mut rendered = render_frame(key.image, key.frame, &key.window)?;
    if key.invert {
        rendered.pixels.iter_mut().for_each(|v| *v = 255 - *v);
    }
    let full: RgbaImage = match key.drawn_heatmap() {
        Some(heatmap) => {
            blend(&rendered, heatmap, &key.heatmap_style).map_err(|reason| ReportError::Input {
                path: key.image.path.clone(),
                reason,
            })?
        }
        None => rendered.to_dynamic_image().to_rgba8(),
    };
    let region = key.region.unwrap_or(Region {
        x: 0,
        y: 0,
        width: full.width(),
        height: full.height(),
    });
    if region.width == 0
        || region.height == 0
        || region.x.saturating_add(region.width) > full.width()
        || region.y.saturating_add(region.height) > full.height()
    {
        return Err(ReportError::Input {
            path: key.image.path.clone(),
            reason: format!(
                "zoom region {}×{} at ({}, {}) is not inside the {}×{} image",
                region.width,
                region.height,
                region.x,
                region.y,
                full.width(),
                full.height()
            ),
        });
    }
    let cropped =
        imageops::crop_imm(&full, region.x, region.y, region.width, region.height).to_image();
    let longer = region.width.max(region.height) as f64;
    let scale = if longer < MIN_SIDE as f64 {
        (MIN_SIDE as f64 / longer).ceil()
    } else if longer > MAX_SIDE as f64 {
        MAX_SIDE as f64 / longer
    } else {
        1.0
    };
    let (w, h) = (
        ((region.width as f64 * scale).round() as u32).max(1),
        ((region.height as f64 * scale).round() as u32).max(1),
    );
    let filter = if scale >= 1.0 {
        imageops::FilterType::Nearest
    } else {
        imageops::FilterType::Triangle
    };
    let mut canvas = if scale == 1.0 {
        cropped
    } else {
        imageops::resize(&cropped, w, h, filter)
    };
    let style = DrawStyle::for_canvas(w, h);
    if let Some(set) = key.annotations {
        let map = CanvasMap {
            origin: Point::new(region.x as f64, region.y as f64),
            scale,
        };
        burn_in(&mut canvas, key.image, set, key.frame, &map, &style);
    }
    if caption.is_empty() {
        return Ok(canvas);
    }
    let px = style.font_px.clamp(14.0, 22.0);
    let lines: Vec<String> = caption
        .iter()
        .flat_map(|l| wrap(l, w.saturating_sub(px as u32), px))
        .collect();
    let band = ((px * 1.35).ceil() as u32) * lines.len() as u32 + (px * 0.7) as u32;
    let mut out = RgbaImage::from_pixel(w, h + band, Rgba([0, 0, 0, 255]));
    imageops::replace(&mut out, &canvas, 0, 0);
    draw_caption(&mut out, &lines, px);
    Ok(out)
}
