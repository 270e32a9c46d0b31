//! `hilum info`: image files and the series of folders, as JSON.

use std::path::PathBuf;

use clap::Args;

use super::json::{ImageInfo, InfoRecord, SeriesInfo, write_json};
use super::{report, threads};
use crate::imaging::series::assemble;
use crate::imaging::{self, FrameSelection, LoadOptions, frame_stats};

/// Arguments of `hilum info`.
#[derive(Debug, Args)]
pub struct InfoArgs {
    /// Files or folders (folders are searched recursively).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Print one JSON array instead of one JSON object per line.
    #[arg(long)]
    pub json: bool,
    /// Decode frame 0 and add `frame0_stats` (min, max, mean after the
    /// Modality LUT).
    #[arg(long)]
    pub stats: bool,
}

/// Runs `hilum info`; returns the process exit code.
pub fn run_info(args: &InfoArgs) -> i32 {
    let options = LoadOptions {
        frames: if args.stats {
            FrameSelection::Only(0)
        } else {
            FrameSelection::None
        },
        ..LoadOptions::default()
    };
    let loaded = imaging::load_many(&args.paths, &options, threads());
    let mut failed = !loaded.errors.is_empty();
    for err in &loaded.errors {
        report(err);
    }
    // Images whose statistics cannot be computed are reported and left out.
    let mut measured = Vec::new();
    for image in &loaded.images {
        for warning in &image.pixels.warnings {
            let path = imaging::archive::display_path(&image.path);
            eprintln!("hilum: warning: {}: {warning}", path.display());
        }
        if !args.stats {
            measured.push((image, None));
            continue;
        }
        match frame_stats(image, 0) {
            Ok(s) => measured.push((image, Some(s))),
            Err(e) => {
                report(&e);
                failed = true;
            }
        }
    }
    let mut records: Vec<InfoRecord> = measured
        .iter()
        .map(|(image, stats)| InfoRecord::Image(Box::new(ImageInfo::new(image, stats.as_ref()))))
        .collect();
    let patients = if args
        .paths
        .iter()
        .any(|p| p.is_dir() || imaging::media::is_dicomdir(p))
    {
        assemble(&loaded.images)
    } else {
        Vec::new()
    };
    records.extend(
        SeriesInfo::all(&patients)
            .into_iter()
            .map(InfoRecord::Series),
    );
    match write_json(&records, args.json) {
        0 => i32::from(failed),
        code => code,
    }
}
