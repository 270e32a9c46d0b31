//! `hilum render SERIES --plane P --index N [--slab K --mode M]`: an exact
//! reformat of a series of parallel slices to an 8-bit PNG, with the
//! plane's physical spacing as JSON on stdout.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

use super::render::RenderArgs;
use super::{report, threads};
use crate::imaging::series::assemble;
use crate::imaging::voi::{Voi, WindowChoice};
use crate::imaging::volume::display::{plane_voi, render_plane_with};
use crate::imaging::volume::{Plane, PlaneImage, Slab, SlabMode, Volume};
use crate::imaging::{self, Image, LoadOptions};

/// What `hilum render` prints for a reformat.
#[derive(Debug, Serialize)]
struct PlaneReport<'a> {
    /// Series Instance UID of the volume.
    series_instance_uid: &'a str,
    /// Slices in the volume.
    slices: usize,
    /// The plane, index, combined planes and spacing.
    #[serde(flatten)]
    plane: &'a PlaneImage,
    /// Distance between rows then columns of the PNG, mm (DICOM's Pixel
    /// Spacing order); `null` where unknown.
    pixel_spacing: [Option<f64>; 2],
    /// The window applied.
    window: WindowReport,
    /// Gaps, uneven spacing: what the reader must know about the rows.
    warnings: Vec<String>,
    /// The PNG written.
    out: &'a Path,
}

/// The VOI stage applied, as JSON.
#[derive(Debug, Serialize)]
#[serde(untagged)]
enum WindowReport {
    Window {
        center: f64,
        width: f64,
        function: &'static str,
    },
    Table {
        voi_lut: bool,
    },
}

impl From<&Voi> for WindowReport {
    fn from(voi: &Voi) -> Self {
        match voi {
            Voi::Window(w) => WindowReport::Window {
                center: w.center,
                width: w.width,
                function: w.function.name(),
            },
            Voi::Table(_) => WindowReport::Table { voi_lut: true },
        }
    }
}

/// The images of the one series under `path` (or of `--series UID`), as
/// `hilum info` groups them.
fn series_images(
    images: Vec<Image>,
    wanted: Option<&str>,
    path: &Path,
) -> Result<(String, Vec<Arc<Image>>), String> {
    let patients = assemble(&images);
    let mut by_path: BTreeMap<PathBuf, Image> =
        images.into_iter().map(|i| (i.path.clone(), i)).collect();
    let mut found: Vec<(String, Vec<PathBuf>)> = patients
        .iter()
        .flat_map(|p| &p.studies)
        .flat_map(|s| &s.series)
        .filter(|s| wanted.is_none_or(|w| s.series_instance_uid == w))
        .map(|s| {
            let name = match s.part {
                Some(k) => format!("{} (part {k})", s.series_instance_uid),
                None => s.series_instance_uid.clone(),
            };
            (name, s.instances.iter().map(|i| i.path.clone()).collect())
        })
        .collect();
    match found.len() {
        0 => Err(match wanted {
            Some(uid) => format!("{}: no series {uid}", path.display()),
            None => format!("{}: no images", path.display()),
        }),
        1 => {
            let (uid, paths) = found.remove(0);
            let images = paths
                .iter()
                .filter_map(|p| by_path.remove(p))
                .map(Arc::new)
                .collect();
            Ok((uid, images))
        }
        _ => Err(format!(
            "{}: holds {} series or parts of different orientation or size; name one with --series: {}",
            path.display(),
            found.len(),
            found
                .iter()
                .map(|(uid, paths)| format!("{uid} ({} images)", paths.len()))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// Runs the reformat branch of `hilum render`; returns the exit code.
pub fn run_render_volume(args: &RenderArgs, choice: &WindowChoice) -> i32 {
    let plane = args.plane.unwrap_or(Plane::Axial);
    let slab = args.slab.map(|planes| Slab {
        planes: planes as usize,
        mode: args.mode.unwrap_or(SlabMode::Mip),
    });
    let loaded = imaging::load_many(
        std::slice::from_ref(&args.file),
        &LoadOptions::default(),
        threads(),
    );
    for err in &loaded.errors {
        report(err);
    }
    let sources: Vec<&Path> = loaded.images.iter().map(|i| i.path.as_path()).collect();
    if let Err(e) = crate::output::check_target(&args.out, &sources, args.force) {
        report(&e);
        return 1;
    }
    let (uid, images) = match series_images(loaded.images, args.series.as_deref(), &args.file) {
        Ok(found) => found,
        Err(message) => {
            report(&message);
            return 1;
        }
    };
    let volume = match Volume::build(images) {
        Ok(v) => v,
        Err(e) => {
            report(&format!(
                "{}: cannot build a volume: {e}",
                args.file.display()
            ));
            return 1;
        }
    };
    let index = args.index.unwrap_or_else(|| volume.plane_count(plane) / 2);
    let warnings = volume.geometry().warnings();
    for warning in &warnings {
        eprintln!("hilum: warning: {}: {warning}", args.file.display());
    }
    let result = volume.plane(plane, index, slab).and_then(|p| {
        let voi = plane_voi(&volume, &p, choice)?;
        Ok((p, voi))
    });
    let (image, voi) = match result {
        Ok(found) => found,
        Err(e) => {
            report(&format!("{}: {e}", args.file.display()));
            return 1;
        }
    };
    let rendered = render_plane_with(&volume, &image, &voi);
    if let Err(e) = rendered.save_png(&args.out) {
        report(&e);
        return 1;
    }
    let summary = PlaneReport {
        series_instance_uid: &uid,
        slices: volume.slices().len(),
        plane: &image,
        pixel_spacing: [image.row_spacing, Some(image.column_spacing)],
        window: WindowReport::from(&voi),
        warnings,
        out: &args.out,
    };
    match serde_json::to_string(&summary) {
        Ok(text) => {
            println!("{text}");
            if loaded.errors.is_empty() { 0 } else { 1 }
        }
        Err(e) => {
            report(&e);
            1
        }
    }
}
