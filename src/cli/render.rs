//! `hilum render`: one frame to an 8-bit PNG, exactly as displayed.

use std::path::PathBuf;

use clap::Args;

use super::args::DisplayArgs;
use super::report;
use crate::imaging::{self, FrameSelection, LoadOptions, render_frame};

/// Arguments of `hilum render`.
#[derive(Debug, Args)]
pub struct RenderArgs {
    /// The image file.
    pub file: PathBuf,
    /// Output PNG.
    #[arg(long)]
    pub out: PathBuf,
    /// Frame and window.
    #[command(flatten)]
    pub display: DisplayArgs,
    /// Overwrite OUT if it exists.
    #[arg(long)]
    pub force: bool,
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
