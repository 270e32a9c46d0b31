//! `hilum render`: one frame to an 8-bit PNG, exactly as displayed; or,
//! for a series folder or with `--plane`, an exact reformat or slab of the
//! series as a volume ([`super::render_volume`]).

use std::path::PathBuf;

use clap::Args;

use super::args::DisplayArgs;
use super::report;
use crate::imaging::volume::{Plane, SlabMode};
use crate::imaging::{self, FrameSelection, LoadOptions, render_frame};

/// Arguments of `hilum render`.
#[derive(Debug, Args)]
pub struct RenderArgs {
    /// The image file, or a folder holding one series of parallel slices
    /// (a volume: see --plane).
    pub file: PathBuf,
    /// Output PNG.
    #[arg(long)]
    pub out: PathBuf,
    /// Frame and window.
    #[command(flatten)]
    pub display: DisplayArgs,
    /// Plane of the volume: axial (a slice, in the order `hilum info`
    /// lists them), coronal (row N of every slice) or sagittal (column N of
    /// every slice), most superior slice at the top. The default for a
    /// folder is axial.
    #[arg(long, value_parser = parse_plane)]
    pub plane: Option<Plane>,
    /// Index of the plane (slice, row or column; default: the middle one).
    #[arg(long)]
    pub index: Option<usize>,
    /// Combine K neighbouring planes centred on the index (planes
    /// INDEX-K/2 .. INDEX-K/2+K, cut at the edges).
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u32).range(1..))]
    pub slab: Option<u32>,
    /// How a slab's planes are combined: mip, minip or mean.
    #[arg(long, requires = "slab", value_parser = parse_mode)]
    pub mode: Option<SlabMode>,
    /// The Series Instance UID to reformat when the folder holds several.
    #[arg(long)]
    pub series: Option<String>,
    /// Overwrite OUT if it exists.
    #[arg(long)]
    pub force: bool,
}

fn parse_plane(text: &str) -> Result<Plane, String> {
    Plane::parse(text).ok_or_else(|| format!("{text}: expected axial, coronal or sagittal"))
}

fn parse_mode(text: &str) -> Result<SlabMode, String> {
    SlabMode::parse(text).ok_or_else(|| format!("{text}: expected mip, minip or mean"))
}

impl RenderArgs {
    /// True when the arguments ask for a plane of a volume.
    fn wants_volume(&self) -> bool {
        self.file.is_dir()
            || self.plane.is_some()
            || self.index.is_some()
            || self.slab.is_some()
            || self.series.is_some()
    }
}

/// Runs `hilum render`; returns the process exit code.
pub fn run_render(args: &RenderArgs) -> i32 {
    let frame = args.display.frame;
    let choice = match args.display.window_choice() {
        Ok(c) => c,
        Err(e) => {
            report(&e);
            return 2;
        }
    };
    if let Err(e) = crate::output::check_target(&args.out, &[&args.file], args.force) {
        report(&e);
        return 1;
    }
    if args.wants_volume() {
        if frame != 0 {
            report(
                &"--frame selects a frame of one image; a volume's planes are chosen with --plane and --index",
            );
            return 2;
        }
        return super::render_volume::run_render_volume(args, &choice);
    }
    let options = LoadOptions {
        frames: FrameSelection::Only(frame),
        ..LoadOptions::default()
    };
    let result = imaging::load_path(&args.file, &options)
        .and_then(|image| render_frame(&image, frame, &choice))
        .and_then(|rendered| rendered.save_png(&args.out));
    match result {
        Ok(()) => 0,
        Err(e) => {
            report(&e);
            1
        }
    }
}
