//! Blending a heatmap over a rendered image, with a colormap from
//! `colorous`.

use image::RgbaImage;
use serde::Serialize;

use crate::imaging::render::Rendered;

use super::Heatmap;

/// The colormaps offered for heatmaps (perceptually ordered ones only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Colormap {
    /// Google's Turbo (rainbow-like, the common choice for saliency).
    #[default]
    Turbo,
    /// Inferno (dark to bright, colour-blind safe).
    Inferno,
    /// Viridis (colour-blind safe).
    Viridis,
    /// Magma.
    Magma,
}

impl Colormap {
    /// All colormaps, for menus.
    pub const ALL: [Colormap; 4] = [
        Colormap::Turbo,
        Colormap::Inferno,
        Colormap::Viridis,
        Colormap::Magma,
    ];

    /// The colour for `t` in [0, 1].
    pub fn color(self, t: f32) -> [u8; 3] {
        let gradient = match self {
            Colormap::Turbo => colorous::TURBO,
            Colormap::Inferno => colorous::INFERNO,
            Colormap::Viridis => colorous::VIRIDIS,
            Colormap::Magma => colorous::MAGMA,
        };
        let c = gradient.eval_continuous(t.clamp(0.0, 1.0) as f64);
        [c.r, c.g, c.b]
    }

    /// A 256-entry table of [`Colormap::color`].
    pub fn table(self) -> [[u8; 3]; 256] {
        let mut table = [[0; 3]; 256];
        for (i, entry) in table.iter_mut().enumerate() {
            *entry = self.color(i as f32 / 255.0);
        }
        table
    }
}

/// How a heatmap is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct OverlayStyle {
    /// Opacity of the heatmap at full value, 0..=1.
    pub opacity: f32,
    /// The colormap.
    pub colormap: Colormap,
    /// Values below this are not drawn, 0..=1.
    pub threshold: f32,
}

impl Default for OverlayStyle {
    fn default() -> Self {
        Self {
            opacity: 0.45,
            colormap: Colormap::Turbo,
            threshold: 0.2,
        }
    }
}

/// The heatmap as straight-alpha RGBA on its own, the size of the source
/// image, for a viewer to draw as a layer over the image.
pub fn heatmap_rgba(heatmap: &Heatmap, style: &OverlayStyle) -> RgbaImage {
    let table = style.colormap.table();
    let mut out = RgbaImage::new(heatmap.width, heatmap.height);
    for (px, &v) in out.pixels_mut().zip(&heatmap.values) {
        if v >= style.threshold && v > 0.0 {
            let [r, g, b] = table[(v.clamp(0.0, 1.0) * 255.0).round() as usize];
            let a = (style.opacity.clamp(0.0, 1.0) * 255.0).round() as u8;
            *px = image::Rgba([r, g, b, a]);
        }
    }
    out
}

/// `rendered` (gray or RGB, the same size as the heatmap) with the heatmap
/// blended in; an error when the sizes differ.
pub fn blend(
    rendered: &Rendered,
    heatmap: &Heatmap,
    style: &OverlayStyle,
) -> Result<RgbaImage, String> {
    if (rendered.width, rendered.height) != (heatmap.width, heatmap.height) {
        return Err(format!(
            "heatmap is {}×{} but the image is {}×{}",
            heatmap.width, heatmap.height, rendered.width, rendered.height
        ));
    }
    let layer = heatmap_rgba(heatmap, style);
    let ch = rendered.channels as usize;
    let mut out = RgbaImage::new(rendered.width, rendered.height);
    for (i, (dst, over)) in out.pixels_mut().zip(layer.pixels()).enumerate() {
        let base = &rendered.pixels[i * ch..i * ch + ch];
        let base = if ch == 1 {
            [base[0]; 3]
        } else {
            [base[0], base[1], base[2]]
        };
        let a = over[3] as f32 / 255.0;
        let mix = |b: u8, o: u8| (b as f32 * (1.0 - a) + o as f32 * a).round() as u8;
        *dst = image::Rgba([
            mix(base[0], over[0]),
            mix(base[1], over[1]),
            mix(base[2], over[2]),
            255,
        ]);
    }
    Ok(out)
}
