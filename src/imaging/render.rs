//! The display pipeline: stored values → Modality LUT → VOI → inversion →
//! 8 bits, through a lookup table built once per window.
//!
//! This is the only place where windowing to 8 bits happens; the CLI, the
//! viewer and the reports all call it.

use std::path::Path;

use super::image::{Image, Photometric};
use super::pixels::{Frame, FrameKind, Samples};
use super::voi::{Voi, Window, WindowChoice, find_preset};
use crate::error::{ImagingError, ImagingErrorKind, ImagingResult};

/// An 8-bit rendering: gray (1 channel) or RGB (3 channels), row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// 1 for gray, 3 for RGB.
    pub channels: u8,
    /// The pixels.
    pub pixels: Vec<u8>,
}

impl Rendered {
    /// Converts to an `image` buffer (Luma8 or Rgb8).
    pub fn to_dynamic_image(&self) -> image::DynamicImage {
        if self.channels == 1 {
            image::DynamicImage::ImageLuma8(
                image::GrayImage::from_raw(self.width, self.height, self.pixels.clone())
                    .expect("buffer size matches dimensions"),
            )
        } else {
            image::DynamicImage::ImageRgb8(
                image::RgbImage::from_raw(self.width, self.height, self.pixels.clone())
                    .expect("buffer size matches dimensions"),
            )
        }
    }

    /// Writes a PNG to `path`, atomically (temporary file, then rename).
    pub fn save_png(&self, path: &Path) -> ImagingResult<()> {
        crate::output::write_atomic(path, |w| {
            let mut buffer = std::io::Cursor::new(Vec::new());
            self.to_dynamic_image()
                .write_to(&mut buffer, image::ImageFormat::Png)
                .map_err(std::io::Error::other)?;
            w.write_all(buffer.get_ref())
        })
        .map_err(|e| ImagingError::new(path, ImagingErrorKind::Io(e.to_string())))?;
        Ok(())
    }
}

/// Min / max / mean of a frame's values after the Modality LUT (for colour
/// and palette images, of the decoded values).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct FrameStats {
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// Mean value.
    pub mean: f64,
}

/// Computes [`FrameStats`] for frame `index`.
pub fn frame_stats(image: &Image, index: usize) -> ImagingResult<FrameStats> {
    let frame = image.frame(index)?;
    let gray = image.pixels.photometric.is_monochrome();
    let lut = image.modality_lut(index);
    let (mut min, mut max, mut sum) = (f64::INFINITY, f64::NEG_INFINITY, 0.0f64);
    let mut count = 0usize;
    frame.samples.for_each_i64(|s| {
        let v = if gray { lut.apply(s) } else { s as f64 };
        min = min.min(v);
        max = max.max(v);
        sum += v;
        count += 1;
    });
    if count == 0 {
        return Err(ImagingError::new(
            &image.path,
            ImagingErrorKind::Codec {
                codec: "frame".into(),
                reason: "empty frame".into(),
            },
        ));
    }
    Ok(FrameStats {
        min,
        max,
        mean: sum / count as f64,
    })
}

/// Modality-value range of a gray frame (min, max).
fn modality_min_max(image: &Image, index: usize, frame: &Frame) -> Option<(f64, f64)> {
    let lut = image.modality_lut(index);
    let (lo, hi) = frame.samples.min_max()?;
    match lut {
        super::modality::ModalityLut::Rescale { .. } => {
            let (a, b) = (lut.apply(lo), lut.apply(hi));
            Some((a.min(b), a.max(b)))
        }
        super::modality::ModalityLut::Table(_) => {
            let (mut mn, mut mx) = (f64::INFINITY, f64::NEG_INFINITY);
            frame.samples.for_each_i64(|s| {
                let v = lut.apply(s);
                mn = mn.min(v);
                mx = mx.max(v);
            });
            Some((mn, mx))
        }
    }
}

/// The rank (0-based, in ascending order) of the `percent` percentile
/// among `n` values: the nearest rank, as every auto window takes it.
pub(crate) fn percentile_rank(percent: f64, n: usize) -> usize {
    ((percent.clamp(0.0, 100.0) / 100.0) * n.saturating_sub(1) as f64).round() as usize
}

/// The modality values at the `low` and `high` percentiles of a gray frame.
fn modality_percentiles(
    image: &Image,
    index: usize,
    frame: &Frame,
    low: f64,
    high: f64,
) -> Option<(f64, f64)> {
    let lut = image.modality_lut(index);
    let mut values: Vec<i64> = Vec::with_capacity(frame.samples.len());
    frame.samples.for_each_i64(|s| values.push(s));
    if values.is_empty() {
        return None;
    }
    let n = values.len();
    let (lo_rank, hi_rank) = (percentile_rank(low, n), percentile_rank(high, n));
    let lo = *values.select_nth_unstable(lo_rank).1;
    let hi = *values.select_nth_unstable(hi_rank).1;
    let (a, b) = (lut.apply(lo), lut.apply(hi));
    Some((a.min(b), a.max(b)))
}

/// Resolves a [`WindowChoice`] to the VOI applied to gray frame `index`.
///
/// `FileDefault` takes the file's first window (honouring its VOI LUT
/// Function), else its first VOI LUT, else a min–max window over the frame.
pub fn resolve_voi(image: &Image, index: usize, choice: &WindowChoice) -> ImagingResult<Voi> {
    let frame = image.frame(index)?;
    resolve_voi_over(
        &image.path,
        image.file_vois(index),
        choice,
        || modality_min_max(image, index, frame),
        |low, high| modality_percentiles(image, index, frame, low, high),
    )
}

/// Resolves a [`WindowChoice`] for values whose range and percentiles the
/// caller computes (a frame, or a reformatted plane), with `file` the VOIs
/// the file offers; errors name `path`.
pub(crate) fn resolve_voi_over(
    path: &Path,
    file: &[Voi],
    choice: &WindowChoice,
    min_max: impl Fn() -> Option<(f64, f64)>,
    percentiles: impl Fn(f64, f64) -> Option<(f64, f64)>,
) -> ImagingResult<Voi> {
    let min_max = || {
        let (lo, hi) = min_max().unwrap_or((0.0, 1.0));
        Voi::Window(Window::min_max(lo, hi))
    };
    Ok(match choice {
        WindowChoice::FileDefault => file.first().cloned().unwrap_or_else(min_max),
        WindowChoice::FileWindow(n) => file
            .get(*n)
            .or(file.first())
            .cloned()
            .unwrap_or_else(min_max),
        WindowChoice::Explicit(w) => {
            if w.width.is_nan() || w.width <= 0.0 || !w.center.is_finite() {
                return Err(ImagingError::new(
                    path,
                    ImagingErrorKind::InvalidWindow(format!(
                        "center {} width {}: the width must be positive",
                        w.center, w.width
                    )),
                ));
            }
            Voi::Window(*w)
        }
        WindowChoice::Preset(name) => {
            let preset = find_preset(name).ok_or_else(|| {
                ImagingError::new(
                    path,
                    ImagingErrorKind::InvalidWindow(format!("unknown preset {name}")),
                )
            })?;
            Voi::Window(Window::linear(preset.center, preset.width))
        }
        WindowChoice::MinMax => min_max(),
        WindowChoice::Percentile(low, high) => {
            let (lo, hi) = percentiles(*low, *high).unwrap_or((0.0, 1.0));
            Voi::Window(Window::linear((lo + hi) / 2.0, (hi - lo).max(1.0)))
        }
    })
}

#[inline]
fn to_u8(y: f64) -> u8 {
    (y * 255.0 + 0.5).floor().clamp(0.0, 255.0) as u8
}

/// The displayed 8-bit value of one stored gray value: Modality LUT, VOI,
/// then inversion. Every gray path (tables and per-pixel) goes through here.
#[inline]
fn display_value(
    modality: &super::modality::ModalityLut,
    voi: &Voi,
    invert: bool,
    stored: i64,
) -> u8 {
    display_modality_value(voi, invert, modality.apply(stored))
}

/// The displayed 8-bit value of one modality value: VOI, then inversion.
/// Reformatted planes, which hold modality values, are displayed with it.
#[inline]
pub(crate) fn display_modality_value(voi: &Voi, invert: bool, value: f64) -> u8 {
    let v = to_u8(voi.apply(value));
    if invert { 255 - v } else { v }
}

/// A stored-value → 8-bit table for one frame's Modality LUT, VOI and
/// inversion. Built in microseconds; applying it is one load per pixel.
#[derive(Debug, Clone)]
pub struct GrayLut {
    /// The stored value of entry 0.
    offset: i64,
    table: Vec<u8>,
}

impl GrayLut {
    /// Builds the table for gray frame `index` of `image` with `voi`, or
    /// `None` when the stored range is wider than 16 bits (those frames are
    /// computed per pixel).
    pub fn new(image: &Image, index: usize, voi: &Voi) -> Option<Self> {
        let (lo, hi) = image.pixels.stored_range();
        if hi - lo >= 1 << 16 {
            return None;
        }
        let lut = image.modality_lut(index);
        let invert = image.inverts();
        let table = (lo..=hi)
            .map(|s| display_value(lut, voi, invert, s))
            .collect();
        Some(Self { offset: lo, table })
    }

    /// The stored value of the table's first entry (the smallest stored
    /// value the bit depth allows).
    pub fn offset(&self) -> i64 {
        self.offset
    }

    /// The displayed value of one stored value.
    #[inline]
    pub fn lookup(&self, stored: i64) -> u8 {
        self.table[(stored - self.offset).clamp(0, self.table.len() as i64 - 1) as usize]
    }

    /// Renders a whole frame into `out` (one byte per pixel).
    pub fn apply(&self, samples: &Samples, out: &mut [u8]) {
        self.apply_from(samples, 0, out);
    }

    /// Renders samples `start .. start + out.len()` into `out`, so a frame
    /// can be rendered in pieces (on several threads) with the same table.
    /// Samples past the end of the frame leave `out` as it is.
    pub fn apply_from(&self, samples: &Samples, start: usize, out: &mut [u8]) {
        let end = (start + out.len()).min(samples.len());
        if start >= end {
            return;
        }
        let out = &mut out[..end - start];
        let t = &self.table[..];
        let off = self.offset;
        let last = t.len() as i64 - 1;
        let idx = |v: i64| (v - off).clamp(0, last) as usize;
        match samples {
            Samples::U8(v) => out
                .iter_mut()
                .zip(&v[start..end])
                .for_each(|(o, &s)| *o = t[idx(s as i64)]),
            Samples::I8(v) => out
                .iter_mut()
                .zip(&v[start..end])
                .for_each(|(o, &s)| *o = t[idx(s as i64)]),
            // 16-bit samples: widen the table to every 16-bit pattern once
            // (65536 entries, far fewer than the pixels), so the pixel loop
            // is a plain gather with no range check.
            Samples::U16(v) => {
                let direct = widen(|raw| t[idx(raw as i64)]);
                out.iter_mut()
                    .zip(&v[start..end])
                    .for_each(|(o, &s)| *o = direct[s as usize]);
            }
            Samples::I16(v) => {
                let direct = widen(|raw| t[idx(raw as i16 as i64)]);
                out.iter_mut()
                    .zip(&v[start..end])
                    .for_each(|(o, &s)| *o = direct[s as u16 as usize]);
            }
            Samples::U32(v) => out
                .iter_mut()
                .zip(&v[start..end])
                .for_each(|(o, &s)| *o = t[idx(s as i64)]),
            Samples::I32(v) => out
                .iter_mut()
                .zip(&v[start..end])
                .for_each(|(o, &s)| *o = t[idx(s as i64)]),
        }
    }
}

/// A table over every 16-bit pattern; a fixed-size array, so indexing it
/// with a `u16` needs no bounds check.
fn widen(entry: impl Fn(u16) -> u8) -> Box<[u8; 65536]> {
    let mut table = Box::new([0u8; 65536]);
    for raw in 0..=u16::MAX {
        table[raw as usize] = entry(raw);
    }
    table
}

/// Renders gray frame `index` with a resolved VOI.
pub fn render_gray(image: &Image, index: usize, voi: &Voi) -> ImagingResult<Rendered> {
    let frame = image.frame(index)?;
    let mut pixels = vec![0u8; frame.pixel_count()];
    if let Some(lut) = GrayLut::new(image, index, voi) {
        lut.apply(&frame.samples, &mut pixels);
    } else {
        let modality = image.modality_lut(index);
        let invert = image.inverts();
        let mut i = 0;
        frame.samples.for_each_i64(|s| {
            pixels[i] = display_value(modality, voi, invert, s);
            i += 1;
        });
    }
    Ok(Rendered {
        width: frame.columns,
        height: frame.rows,
        channels: 1,
        pixels,
    })
}

fn render_color(image: &Image, frame: &Frame) -> Rendered {
    let max = ((1u64 << image.pixels.bits_stored.clamp(1, 32)) - 1) as f64;
    let pixels = match &frame.samples {
        Samples::U8(v) if max == 255.0 => v.clone(),
        samples => {
            let mut out = Vec::with_capacity(samples.len());
            samples.for_each_i64(|s| {
                out.push(((s as f64) * 255.0 / max + 0.5).floor().clamp(0.0, 255.0) as u8)
            });
            out
        }
    };
    Rendered {
        width: frame.columns,
        height: frame.rows,
        channels: 3,
        pixels,
    }
}

fn render_palette(image: &Image, frame: &Frame) -> Rendered {
    let palette = image
        .palette
        .as_ref()
        .expect("palette images carry a palette");
    let (lo, hi) = image.pixels.stored_range();
    let mut pixels = Vec::with_capacity(frame.pixel_count() * 3);
    if hi - lo < 1 << 16 {
        let table: Vec<[u8; 3]> = (lo..=hi).map(|i| palette.rgb8(i)).collect();
        frame.samples.for_each_i64(|s| {
            pixels.extend_from_slice(&table[(s - lo).clamp(0, hi - lo) as usize]);
        });
    } else {
        frame
            .samples
            .for_each_i64(|s| pixels.extend_from_slice(&palette.rgb8(s)));
    }
    Rendered {
        width: frame.columns,
        height: frame.rows,
        channels: 3,
        pixels,
    }
}

/// Renders frame `index` as displayed: gray images through the Modality
/// LUT, the chosen VOI and inversion; colour as RGB; palette images through
/// their palette. The window applies to gray images only.
pub fn render_frame(image: &Image, index: usize, choice: &WindowChoice) -> ImagingResult<Rendered> {
    let frame = image.frame(index)?;
    match (&image.pixels.photometric, frame.kind) {
        (Photometric::PaletteColor, FrameKind::Gray) if image.palette.is_some() => {
            Ok(render_palette(image, frame))
        }
        (_, FrameKind::Rgb) => Ok(render_color(image, frame)),
        _ => {
            let voi = resolve_voi(image, index, choice)?;
            render_gray(image, index, &voi)
        }
    }
}

/// Renders only the pixels at rows `ys` × columns `xs` of frame `index`, as
/// [`render_frame`] would show them: a nearest-neighbour resample that
/// windows the sampled pixels alone instead of the whole frame.
pub fn render_sampled(
    image: &Image,
    index: usize,
    choice: &WindowChoice,
    xs: &[usize],
    ys: &[usize],
) -> ImagingResult<Rendered> {
    let frame = image.frame(index)?;
    let columns = frame.columns as usize;
    if xs.iter().any(|&x| x >= columns) || ys.iter().any(|&y| y >= frame.rows as usize) {
        return Err(ImagingError::new(
            &image.path,
            ImagingErrorKind::InvalidWindow("sample position outside the frame".into()),
        ));
    }
    let width = xs.len() as u32;
    let height = ys.len() as u32;
    let gray =
        frame.kind == FrameKind::Gray && image.pixels.photometric != Photometric::PaletteColor;
    if gray {
        let voi = resolve_voi(image, index, choice)?;
        let modality = image.modality_lut(index);
        let invert = image.inverts();
        let lut = GrayLut::new(image, index, &voi);
        let mut pixels = Vec::with_capacity(xs.len() * ys.len());
        for &y in ys {
            for &x in xs {
                let s = frame.samples.get(y * columns + x).unwrap_or(0);
                pixels.push(match &lut {
                    Some(l) => l.lookup(s),
                    None => display_value(modality, &voi, invert, s),
                });
            }
        }
        return Ok(Rendered {
            width,
            height,
            channels: 1,
            pixels,
        });
    }
    let full = render_frame(image, index, choice)?;
    let pixels = sample_nearest(&full.pixels, columns, full.channels as usize, xs, ys);
    Ok(Rendered {
        width,
        height,
        channels: full.channels,
        pixels,
    })
}

/// Every `step`-th index below `len` (0, step, 2·step, …): the rows or
/// columns a nearest-neighbour downsample by `step` keeps. A `step` of 0
/// counts as 1.
pub fn step_positions(len: usize, step: usize) -> Vec<usize> {
    (0..len).step_by(step.max(1)).collect()
}

/// The one nearest-neighbour sampler: the pixels at rows `ys` × columns
/// `xs` of an interleaved 8-bit raster `width` pixels wide with `channels`
/// samples per pixel, row by row. Positions outside the raster read as 0
/// (callers pass positions inside it; [`render_sampled`] checks them).
pub fn sample_nearest(
    pixels: &[u8],
    width: usize,
    channels: usize,
    xs: &[usize],
    ys: &[usize],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(xs.len() * ys.len() * channels);
    for &y in ys {
        for &x in xs {
            let i = (y * width + x) * channels;
            match pixels.get(i..i + channels).filter(|_| x < width) {
                Some(p) => out.extend_from_slice(p),
                None => out.extend(std::iter::repeat_n(0, channels)),
            }
        }
    }
    out
}

#[cfg(test)]
mod sampler_tests {
    use super::{sample_nearest, step_positions};

    #[test]
    fn the_nearest_sampler_keeps_every_steps_pixel_of_each_channel() {
        assert_eq!(step_positions(5, 2), vec![0, 2, 4]);
        assert_eq!(step_positions(3, 0), vec![0, 1, 2]);
        // A 3×2 RGB raster whose pixel (x, y) is [10y + x, 100, 200].
        let raster: Vec<u8> = (0..2)
            .flat_map(|y| (0..3).flat_map(move |x| [10 * y + x, 100, 200]))
            .collect();
        let sampled = sample_nearest(&raster, 3, 3, &[0, 2], &[1]);
        assert_eq!(sampled, vec![10, 100, 200, 12, 100, 200]);
        // Outside the raster reads 0, never panics.
        assert_eq!(sample_nearest(&raster, 3, 3, &[5], &[0]), vec![0, 0, 0]);
        assert_eq!(sample_nearest(&raster, 3, 3, &[0], &[2]), vec![0, 0, 0]);
    }
}
