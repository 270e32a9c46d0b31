//! `hilum classify`: an AI model's findings for image files and folders
//! (research and demonstration only, not a diagnosis).

use std::path::PathBuf;

use clap::Args;

use super::args::{RuntimeArgs, load_model};
use super::json::{ClassificationOutput, write_json};
use super::report;
use crate::ai;
use crate::imaging::{self, FrameSelection, LoadOptions};

/// Arguments of `hilum classify`.
#[derive(Debug, Args)]
pub struct ClassifyArgs {
    /// Image files or folders.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// A model: manifest file, folder with manifest.toml, or installed id
    /// (default: the pneumonia-xception model).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Print one JSON array instead of one JSON object per line.
    #[arg(long)]
    pub json: bool,
    /// Engine settings.
    #[command(flatten)]
    pub runtime: RuntimeArgs,
}

/// Runs `hilum classify`; returns the process exit code.
pub fn run_classify(args: &ClassifyArgs) -> i32 {
    let settings = args.runtime.settings();
    let Some(mut model) = load_model(args.model.as_deref(), &settings) else {
        return 1;
    };
    if let Some(reason) = &model.execution_provider.fallback_reason {
        eprintln!("hilum: {reason}");
    }
    let (files, errors) = imaging::expand_paths(&args.paths);
    let mut failed = !errors.is_empty();
    for e in &errors {
        report(e);
    }
    let progress = indicatif::ProgressBar::with_draw_target(
        Some(files.len() as u64),
        indicatif::ProgressDrawTarget::stderr(),
    );
    if files.len() < 2 {
        progress.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let options = LoadOptions {
        frames: FrameSelection::Only(0),
        ..LoadOptions::default()
    };
    let mut results = Vec::new();
    for file in &files {
        progress.set_message(file.display().to_string());
        let result = imaging::load_path(file, &options)
            .map_err(ai::AiError::from)
            .and_then(|image| model.classify(&image, &|| false));
        match result {
            Ok(c) => results.push((file, c)),
            Err(e) => {
                progress.suspend(|| report(&e));
                failed = true;
            }
        }
        progress.inc(1);
    }
    progress.finish_and_clear();
    let records: Vec<ClassificationOutput> = results
        .iter()
        .map(|(file, c)| ClassificationOutput::new(file, c, &model.engine))
        .collect();
    match write_json(&records, args.json) {
        0 => i32::from(failed),
        code => code,
    }
}
