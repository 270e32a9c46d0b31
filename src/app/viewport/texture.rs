//! A viewport's textures: the windowed frame (rendered by the pipeline and
//! uploaded only when its key changes; sampled when larger than the GPU
//! allows or while the window is dragged on a minified image) and the
//! heatmap layer.

use egui::{Color32, TextureHandle, TextureOptions};

use crate::ai::saliency::Heatmap;
use crate::ai::saliency::overlay::{OverlayStyle, heatmap_rgba};
use crate::imaging::image::Photometric;
use crate::imaging::render::{
    GrayLut, Rendered, render_frame, render_sampled, resolve_voi, sample_nearest, step_positions,
};
use crate::imaging::{Image, WindowChoice};

use super::is_gray;

/// Pixels magnified stay sharp squares; minified ones are filtered.
pub const TEXTURE_OPTIONS: TextureOptions = TextureOptions {
    magnification: egui::TextureFilter::Nearest,
    minification: egui::TextureFilter::Linear,
    wrap_mode: egui::TextureWrapMode::ClampToEdge,
    mipmap_mode: None,
};

/// What a texture shows; a new rendering is made only when it changes.
#[derive(Debug, Clone, PartialEq)]
pub struct DisplayKey {
    /// Image index in the library.
    pub image: usize,
    /// Frame.
    pub frame: usize,
    /// Window.
    pub window: WindowChoice,
    /// Reader's inversion.
    pub invert: bool,
    /// Every `step`-th pixel in each direction: 1 shows every pixel; more
    /// only while the window is dragged on a minified image.
    pub step: usize,
}

/// The sampling step for a viewport showing an image at `scale` points
/// per pixel: 1 (every pixel) unless the window is being dragged on an
/// image shown smaller than 1 screen pixel per image pixel, where the
/// preview samples about one image pixel per screen pixel. When the drag
/// ends the full-resolution rendering is made once.
pub fn preview_step(adjusting: bool, scale: f32, pixels_per_point: f32) -> usize {
    let per_screen_pixel = scale * pixels_per_point;
    if !adjusting || per_screen_pixel >= 1.0 || per_screen_pixel <= 0.0 {
        return 1;
    }
    ((1.0 / per_screen_pixel).floor() as usize).clamp(1, 64)
}

/// The frame on screen in one viewport.
pub struct Displayed {
    /// What it shows.
    pub key: DisplayKey,
    /// The pipeline's 8-bit output (before the reader's inversion), the
    /// very pixels `hilum render` writes for the same window.
    pub rendered: Rendered,
    /// The texture.
    pub texture: TextureHandle,
    /// How many times the texture was uploaded.
    pub uploads: u64,
}

/// The heatmap layer on screen in one viewport.
pub struct HeatmapLayer {
    /// Image index, frame, the heatmap's caption and the overlay style.
    key: (usize, usize, String, OverlayStyleKey),
    texture: TextureHandle,
}

type OverlayStyleKey = (u32, u32, usize);

fn style_key(style: &OverlayStyle) -> OverlayStyleKey {
    (
        style.opacity.to_bits(),
        style.threshold.to_bits(),
        style.colormap as usize,
    )
}

/// Converts a rendering to an egui image, inverting when asked.
pub fn color_image(rendered: &Rendered, invert: bool) -> egui::ColorImage {
    let size = [rendered.width as usize, rendered.height as usize];
    let flip = |v: u8| if invert { 255 - v } else { v };
    if rendered.channels == 1 {
        egui::ColorImage::from_gray_iter(size, rendered.pixels.iter().map(|&v| flip(v)))
    } else {
        let rgb: Vec<u8> = rendered.pixels.iter().map(|&v| flip(v)).collect();
        egui::ColorImage::from_rgb(size, &rgb)
    }
}

/// A gray frame windowed by the pipeline's own lookup table
/// ([`GrayLut`], the table `render_frame` uses), written straight into the
/// texture's pixels in one pass split across the CPU's cores: the
/// window/level path for large radiographs. `None` when the frame is not
/// gray or its stored range is too wide for a table (then `render_frame`
/// is used).
pub fn render_gray_for_display(
    image: &Image,
    frame: usize,
    window: &WindowChoice,
    invert: bool,
) -> Option<crate::ImagingResult<(Rendered, egui::ColorImage)>> {
    if !is_gray(image, frame) || image.pixels.photometric == Photometric::PaletteColor {
        return None;
    }
    let f = match image.frame(frame) {
        Ok(f) => f,
        Err(e) => return Some(Err(e)),
    };
    let voi = match resolve_voi(image, frame, window) {
        Ok(v) => v,
        Err(e) => return Some(Err(e)),
    };
    let lut = GrayLut::new(image, frame, &voi)?;
    let n = f.pixel_count();
    let mut gray = vec![0u8; n];
    let mut color = vec![Color32::BLACK; n];
    let threads = std::thread::available_parallelism()
        .map_or(1, |t| t.get())
        .clamp(1, 16);
    // Below ~1 Mpixel one thread is as fast as starting several.
    let chunk = if n < 1 << 20 {
        n.max(1)
    } else {
        n.div_ceil(threads)
    };
    let (samples, lut) = (&f.samples, &lut);
    std::thread::scope(|scope| {
        for (i, (g, c)) in gray
            .chunks_mut(chunk)
            .zip(color.chunks_mut(chunk))
            .enumerate()
        {
            scope.spawn(move || {
                lut.apply_from(samples, i * chunk, g);
                for (o, &v) in c.iter_mut().zip(g.iter()) {
                    *o = Color32::from_gray(if invert { 255 - v } else { v });
                }
            });
        }
    });
    let size = [f.columns as usize, f.rows as usize];
    let rendered = Rendered {
        width: f.columns,
        height: f.rows,
        channels: 1,
        pixels: gray,
    };
    Some(Ok((rendered, egui::ColorImage::new(size, color))))
}

/// Makes sure `slot` shows `key`: renders through the pipeline and uploads
/// only when the key changed. Returns the error text when rendering fails.
pub fn update_texture(
    ctx: &egui::Context,
    name: &str,
    slot: &mut Option<Displayed>,
    image: &Image,
    key: DisplayKey,
) -> Result<(), String> {
    if slot.as_ref().is_some_and(|d| d.key == key) {
        return Ok(());
    }
    // Larger than the GPU allows: show a nearest-neighbour resample that
    // fits (the pipeline windows the sampled pixels) instead of failing.
    let max_side = ctx.input(|i| i.max_texture_side).max(1);
    let (w, h) = (image.pixels.columns as usize, image.pixels.rows as usize);
    let (rendered, color) = if w.max(h) > max_side || key.step > 1 {
        let step = texture_step(w, h, max_side).max(key.step);
        let (xs, ys) = (step_positions(w, step), step_positions(h, step));
        let rendered =
            render_sampled(image, key.frame, &key.window, &xs, &ys).map_err(|e| e.to_string())?;
        let color = color_image(&rendered, key.invert);
        (rendered, color)
    } else {
        match render_gray_for_display(image, key.frame, &key.window, key.invert) {
            Some(done) => done.map_err(|e| e.to_string())?,
            None => {
                let rendered =
                    render_frame(image, key.frame, &key.window).map_err(|e| e.to_string())?;
                let color = color_image(&rendered, key.invert);
                (rendered, color)
            }
        }
    };
    match slot {
        Some(d) => {
            d.texture.set(color, TEXTURE_OPTIONS);
            d.rendered = rendered;
            d.key = key;
            d.uploads += 1;
        }
        None => {
            let texture = ctx.load_texture(name, color, TEXTURE_OPTIONS);
            *slot = Some(Displayed {
                key,
                rendered,
                texture,
                uploads: 1,
            });
        }
    }
    Ok(())
}

/// Every how many pixels a `w`×`h` image is sampled so that its texture
/// fits `max_side` (1 when it fits).
fn texture_step(w: usize, h: usize, max_side: usize) -> usize {
    w.max(h).div_ceil(max_side.max(1)).max(1)
}

impl HeatmapLayer {
    /// Makes sure `layer` holds `heatmap` in `style` for image `image`'s
    /// `frame`: coloured and uploaded only when one of them changed. A map
    /// larger than the GPU allows is sampled like the image (the same
    /// pixels, [`sample_nearest`]).
    pub fn update(
        ctx: &egui::Context,
        name: &str,
        layer: &mut Option<HeatmapLayer>,
        (image, frame): (usize, usize),
        heatmap: &Heatmap,
        style: &OverlayStyle,
    ) {
        let key = (image, frame, heatmap.caption(), style_key(style));
        if layer.as_ref().is_some_and(|l| l.key == key) {
            return;
        }
        let rgba = heatmap_rgba(heatmap, style);
        let (w, h) = (rgba.width() as usize, rgba.height() as usize);
        let texture = rgba_texture(ctx, name, rgba.as_raw(), w, h);
        *layer = Some(HeatmapLayer { key, texture });
    }

    /// The uploaded texture.
    pub fn texture(&self) -> &TextureHandle {
        &self.texture
    }
}

/// A layer texture from straight-alpha RGBA `w` × `h` pixels; a layer
/// larger than the GPU allows is sampled like the image under it (the
/// same pixels, [`sample_nearest`]), so the two stay aligned.
pub fn rgba_texture(
    ctx: &egui::Context,
    name: &str,
    rgba: &[u8],
    w: usize,
    h: usize,
) -> TextureHandle {
    let max_side = ctx.input(|i| i.max_texture_side).max(1);
    let step = texture_step(w, h, max_side);
    let color = if step > 1 {
        let (xs, ys) = (step_positions(w, step), step_positions(h, step));
        let sampled = sample_nearest(rgba, w, 4, &xs, &ys);
        egui::ColorImage::from_rgba_unmultiplied([xs.len(), ys.len()], &sampled)
    } else {
        egui::ColorImage::from_rgba_unmultiplied([w, h], rgba)
    };
    ctx.load_texture(name, color, TEXTURE_OPTIONS)
}
