//! From a loaded image to a model input tensor, as the manifest says, and
//! the geometry needed to map model-space maps back onto the image.

use crate::imaging::render::{Rendered, render_frame, render_sampled};
use crate::imaging::{Image, WindowChoice};

use super::AiError;
use super::manifest::{Layout, Manifest, ResizeMethod, WindowSource};

/// The smallest image side accepted for classification.
pub const MIN_SIDE: u32 = 8;

/// Where the resized image sits in the model input (for letterboxing) and
/// how it maps back to the source pixel grid.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InputGeometry {
    /// Source image width.
    pub source_width: u32,
    /// Source image height.
    pub source_height: u32,
    /// Model input width.
    pub input_width: u32,
    /// Model input height.
    pub input_height: u32,
    /// Left edge of the image content in the input.
    pub content_x: u32,
    /// Top edge of the image content in the input.
    pub content_y: u32,
    /// Width of the image content in the input.
    pub content_width: u32,
    /// Height of the image content in the input.
    pub content_height: u32,
}

/// A model input for one image.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The tensor shape (batch 1).
    pub shape: [usize; 4],
    /// The values, in the manifest's layout.
    pub data: Vec<f32>,
    /// Geometry.
    pub geometry: InputGeometry,
}

/// Pillow's nearest-neighbour index map: a running sum in f64, sampling at
/// pixel centres (`src / dst` per step, starting at half a step).
pub fn nearest_pil_indices(src: u32, dst: u32) -> Vec<usize> {
    let step = src as f64 / dst as f64;
    let mut o = step * 0.5;
    let last = src.saturating_sub(1) as usize;
    (0..dst)
        .map(|_| {
            let i = (o as usize).min(last);
            o += step;
            i
        })
        .collect()
}

/// Resizes an 8-bit interleaved image with `channels` channels.
fn resize(src: &Rendered, width: u32, height: u32, method: ResizeMethod) -> Vec<u8> {
    let ch = src.channels as usize;
    match method {
        ResizeMethod::NearestPil => {
            let xs = nearest_pil_indices(src.width, width);
            let ys = nearest_pil_indices(src.height, height);
            let mut out = Vec::with_capacity(width as usize * height as usize * ch);
            for &y in &ys {
                let row =
                    &src.pixels[y * src.width as usize * ch..(y + 1) * src.width as usize * ch];
                for &x in &xs {
                    out.extend_from_slice(&row[x * ch..x * ch + ch]);
                }
            }
            out
        }
        ResizeMethod::Bilinear => {
            let img = src.to_dynamic_image();
            let resized = img.resize_exact(width, height, image::imageops::FilterType::Triangle);
            if ch == 1 {
                resized.to_luma8().into_raw()
            } else {
                resized.to_rgb8().into_raw()
            }
        }
    }
}

/// Renders frame `frame` of `image` to 8 bits with the manifest's window
/// source (for a DICOM this is what `hilum render` shows with that window).
pub fn render_for_model(
    image: &Image,
    frame: usize,
    manifest: &Manifest,
) -> Result<Rendered, AiError> {
    Ok(render_frame(image, frame, &window_choice(manifest))?)
}

fn window_choice(manifest: &Manifest) -> WindowChoice {
    match manifest.preprocess.window {
        WindowSource::File => WindowChoice::FileDefault,
        WindowSource::Minmax => WindowChoice::MinMax,
        WindowSource::Percentile => WindowChoice::Percentile(1.0, 99.0),
    }
}

/// Builds the model input for frame `frame` of `image`.
pub fn prepare(image: &Image, frame: usize, manifest: &Manifest) -> Result<Prepared, AiError> {
    let p = &manifest.preprocess;
    let source = image.frame(frame)?;
    let input_error = |reason| AiError::Input {
        path: image.path.clone(),
        reason,
    };
    if p.resize == ResizeMethod::NearestPil
        && !p.keep_aspect
        && source.columns >= MIN_SIDE
        && source.rows >= MIN_SIDE
    {
        // A nearest-neighbour stretch: window only the pixels the model sees.
        let xs = nearest_pil_indices(source.columns, manifest.input.width);
        let ys = nearest_pil_indices(source.rows, manifest.input.height);
        let sampled = render_sampled(image, frame, &window_choice(manifest), &xs, &ys)?;
        let mut prepared = prepare_rendered(&sampled, manifest).map_err(input_error)?;
        prepared.geometry.source_width = source.columns;
        prepared.geometry.source_height = source.rows;
        return Ok(prepared);
    }
    let rendered = render_for_model(image, frame, manifest)?;
    prepare_rendered(&rendered, manifest).map_err(input_error)
}

/// Builds the model input from an 8-bit rendering.
pub fn prepare_rendered(rendered: &Rendered, manifest: &Manifest) -> Result<Prepared, String> {
    let input = &manifest.input;
    let p = &manifest.preprocess;
    if rendered.width < MIN_SIDE || rendered.height < MIN_SIDE {
        return Err(format!(
            "image is {}×{} pixels; classification needs at least {MIN_SIDE}×{MIN_SIDE}",
            rendered.width, rendered.height
        ));
    }
    let (w, h) = (input.width, input.height);
    let (cw, ch, cx, cy) = if p.keep_aspect {
        let scale = (w as f64 / rendered.width as f64).min(h as f64 / rendered.height as f64);
        let cw = ((rendered.width as f64 * scale).round() as u32).clamp(1, w);
        let chh = ((rendered.height as f64 * scale).round() as u32).clamp(1, h);
        (cw, chh, (w - cw) / 2, (h - chh) / 2)
    } else {
        (w, h, 0, 0)
    };
    let content = resize(rendered, cw, ch, p.resize);
    let src_ch = rendered.channels as usize;
    let channels = input.channels as usize;
    let plane = w as usize * h as usize;
    let mut data = vec![0f32; plane * channels];
    let normalise = |v: u8, c: usize| ((v as f32) * p.scale + p.offset - p.mean[c]) / p.std[c];
    for y in 0..h as usize {
        for x in 0..w as usize {
            let inside = x >= cx as usize
                && x < (cx + cw) as usize
                && y >= cy as usize
                && y < (cy + ch) as usize;
            let px: [u8; 3] = if inside {
                let i = ((y - cy as usize) * cw as usize + (x - cx as usize)) * src_ch;
                if src_ch == 1 {
                    [content[i]; 3]
                } else {
                    [content[i], content[i + 1], content[i + 2]]
                }
            } else {
                [p.pad_value; 3]
            };
            for c in 0..channels {
                let v = if channels == 1 && src_ch == 3 {
                    // Luma (ITU-R BT.601) for a gray model given colour.
                    (0.299 * px[0] as f32 + 0.587 * px[1] as f32 + 0.114 * px[2] as f32).round()
                        as u8
                } else if src_ch == 1 && !p.replicate_gray && c > 0 {
                    0
                } else {
                    px[c]
                };
                let value = normalise(v, c);
                let index = match input.layout {
                    Layout::Nhwc => (y * w as usize + x) * channels + c,
                    Layout::Nchw => c * plane + y * w as usize + x,
                };
                data[index] = value;
            }
        }
    }
    let shape = match input.layout {
        Layout::Nhwc => [1, h as usize, w as usize, channels],
        Layout::Nchw => [1, channels, h as usize, w as usize],
    };
    Ok(Prepared {
        shape,
        data,
        geometry: InputGeometry {
            source_width: rendered.width,
            source_height: rendered.height,
            input_width: w,
            input_height: h,
            content_x: cx,
            content_y: cy,
            content_width: cw,
            content_height: ch,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pil_nearest_map_matches_the_running_sum() {
        // 1000 → 150: step 6.666…; Pillow's map starts at floor(3.333) = 3.
        let m = nearest_pil_indices(1000, 150);
        assert_eq!(m[0], 3);
        assert_eq!(m[1], 10);
        assert_eq!(*m.last().unwrap(), 996);
        // Upscaling repeats pixels.
        assert_eq!(nearest_pil_indices(2, 4), vec![0, 0, 1, 1]);
    }
}
