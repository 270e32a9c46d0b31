//! The study/series browser: patient → study → series with thumbnails and
//! image counts, the recent items, and the files that failed with why.

use std::collections::HashMap;
use std::path::PathBuf;

use egui::TextureHandle;

use crate::imaging::render::{Rendered, render_sampled};
use crate::imaging::{Image, WindowChoice};

use super::state::Library;
use super::viewport::{TEXTURE_OPTIONS, color_image};

/// Largest side of a browser thumbnail, pixels.
pub const THUMBNAIL_SIZE: usize = 96;

/// A nearest-neighbour thumbnail of frame 0 with the file's window, from
/// the pixels already in memory (about 9,000 samples: cheap enough to make
/// when a series is first listed, and only one per series is kept).
pub fn thumbnail(image: &Image) -> Option<Rendered> {
    let (w, h) = (image.pixels.columns as usize, image.pixels.rows as usize);
    if w == 0 || h == 0 {
        return None;
    }
    let step = (w.max(h) as f64 / THUMBNAIL_SIZE as f64).max(1.0);
    let xs: Vec<usize> = (0..((w as f64 / step) as usize).max(1))
        .map(|i| ((i as f64 * step) as usize).min(w - 1))
        .collect();
    let ys: Vec<usize> = (0..((h as f64 / step) as usize).max(1))
        .map(|i| ((i as f64 * step) as usize).min(h - 1))
        .collect();
    render_sampled(image, 0, &WindowChoice::FileDefault, &xs, &ys).ok()
}

/// What the reader picked in the browser this frame.
#[derive(Debug, Default)]
pub struct BrowserOutput {
    /// Show this series in the active viewport.
    pub series: Option<String>,
    /// Open these recent paths again.
    pub reopen: Option<PathBuf>,
}

/// Thumbnail textures, made once per image shown in the browser (the first
/// of each series).
#[derive(Default)]
pub struct Thumbnails {
    textures: HashMap<usize, TextureHandle>,
}

impl Thumbnails {
    fn get(
        &mut self,
        ctx: &egui::Context,
        library: &Library,
        image: usize,
    ) -> Option<TextureHandle> {
        if let Some(t) = self.textures.get(&image) {
            return Some(t.clone());
        }
        let rendered = thumbnail(&library.images.get(image)?.image)?;
        let texture = ctx.load_texture(
            format!("thumbnail {image}"),
            color_image(&rendered, false),
            TEXTURE_OPTIONS,
        );
        self.textures.insert(image, texture.clone());
        Some(texture)
    }

    /// Drops the thumbnail of `image` (it was reloaded).
    pub fn invalidate(&mut self, image: usize) {
        self.textures.remove(&image);
    }
}

/// Draws the browser.
pub fn show(
    ui: &mut egui::Ui,
    library: &Library,
    thumbnails: &mut Thumbnails,
    shown: &[Option<String>],
    recent: &[PathBuf],
) -> BrowserOutput {
    let mut out = BrowserOutput::default();
    ui.heading("Studies");
    egui::ScrollArea::vertical()
        .id_salt("browser")
        .show(ui, |ui| {
            if library.series.is_empty() {
                ui.label("Drop files or folders here, or use File > Open.");
            }
            let mut last_patient = None;
            let mut last_study = None;
            for series in &library.series {
                if last_patient != Some(&series.patient) {
                    ui.strong(&series.patient);
                    last_patient = Some(&series.patient);
                    last_study = None;
                }
                if last_study != Some(&series.study) && !series.study.is_empty() {
                    ui.label(format!("  {}", series.study));
                    last_study = Some(&series.study);
                }
                let images = series.stack.len();
                let text = format!("{} ({} images)", series.label, images);
                let selected = shown
                    .iter()
                    .any(|s| s.as_deref() == Some(series.key.as_str()));
                ui.horizontal(|ui| {
                    if let Some(first) = series.stack.first()
                        && let Some(t) = thumbnails.get(ui.ctx(), library, first.image)
                    {
                        let size = t.size_vec2();
                        let scale = 48.0 / size.x.max(size.y).max(1.0);
                        let thumb = ui.add(
                            egui::Image::new(egui::load::SizedTexture::from_handle(&t))
                                .fit_to_exact_size(size * scale)
                                .sense(egui::Sense::click()),
                        );
                        thumb.widget_info(|| {
                            egui::WidgetInfo::labeled(
                                egui::Role::Button,
                                true,
                                format!("Thumbnail of {text}"),
                            )
                        });
                        if thumb.clicked() {
                            out.series = Some(series.key.clone());
                        }
                    }
                    if ui.selectable_label(selected, &text).clicked() {
                        out.series = Some(series.key.clone());
                    }
                });
            }
            if !library.errors.is_empty() {
                ui.separator();
                ui.colored_label(
                    egui::Color32::LIGHT_RED,
                    format!("Failed to open ({})", library.errors.len()),
                );
                for e in &library.errors {
                    ui.label(format!("Failed: {e}"));
                }
            }
            if !recent.is_empty() {
                ui.separator();
                ui.collapsing("Recent", |ui| {
                    for path in recent {
                        if ui.button(path.display().to_string()).clicked() {
                            out.reopen = Some(path.clone());
                        }
                    }
                });
            }
        });
    out
}
