//! `hilum saliency`: where a model looked, as a heatmap (Grad-CAM or
//! occlusion) with its faithfulness (research and demonstration only).

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;

use super::args::{RuntimeArgs, load_model};
use super::json::{SaliencyOutput, SaliencyTiming, write_json};
use super::report;
use crate::ai::saliency::overlay::{Colormap, OverlayStyle, blend};
use crate::ai::saliency::sanity::{RandomisedModel, SanityCheck};
use crate::ai::saliency::{Heatmap, SaliencyMethod, SaliencyRequest, Verdict};
use crate::ai::{self, LoadedModel};
use crate::imaging::voi::WindowChoice;
use crate::imaging::{self, FrameSelection, LoadOptions, render_frame};
use crate::output::{check_target, npy_f32, png_with_text, write_file};

/// Arguments of `hilum saliency`.
#[derive(Debug, Args)]
pub struct SaliencyArgs {
    /// The image file.
    pub file: PathBuf,
    /// A model: manifest file, folder with manifest.toml, or installed id
    /// (default: the pneumonia-xception model).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// The method: Grad-CAM (needs a feature-map output) or occlusion (any
    /// classifier).
    #[arg(long, value_enum, default_value_t = SaliencyMethod::GradCam)]
    pub method: SaliencyMethod,
    /// The label to explain (default: the finding with the highest
    /// probability).
    #[arg(long)]
    pub target: Option<String>,
    /// Frame of a multi-frame image (0-based).
    #[arg(long, default_value_t = 0)]
    pub frame: usize,
    /// Write the image as displayed with the heatmap blended in (PNG).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Write the heatmap as a float32 .npy array (rows, cols) of the source
    /// image, values in [0, 1].
    #[arg(long)]
    pub raw: Option<PathBuf>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
    /// Occlusion patch side in model-input pixels (default: a quarter of
    /// the input side).
    #[arg(long)]
    pub patch: Option<u32>,
    /// Occlusion stride in model-input pixels (default: 8 positions per
    /// axis).
    #[arg(long)]
    pub stride: Option<u32>,
    /// Occluded inputs per inference run.
    #[arg(long, default_value_t = 16)]
    pub batch: usize,
    /// Fraction of input pixels the deletion metric hides (0 skips it).
    #[arg(long, default_value_t = ai::saliency::faithfulness::DEFAULT_FRACTION)]
    pub deletion_fraction: f32,
    /// Also run the model-randomisation sanity check (Adebayo et al. 2018):
    /// the same map from the model with its weights randomised must differ.
    #[arg(long)]
    pub sanity: bool,
    /// Draw the map into `--out` even when the deletion test finds it not
    /// faithful (the warning is written with it).
    #[arg(long)]
    pub draw_unfaithful: bool,
    /// Heatmap opacity in the overlay, 0 to 1.
    #[arg(long, default_value_t = OverlayStyle::default().opacity)]
    pub opacity: f32,
    /// Heatmap values below this are not drawn, 0 to 1.
    #[arg(long, default_value_t = OverlayStyle::default().threshold)]
    pub threshold: f32,
    /// Colormap of the overlay.
    #[arg(long, value_enum, default_value_t = Colormap::Turbo)]
    pub colormap: Colormap,
    /// Overwrite outputs that exist.
    #[arg(long)]
    pub force: bool,
    /// Engine settings.
    #[command(flatten)]
    pub runtime: RuntimeArgs,
}

impl SaliencyArgs {
    /// The heatmap these arguments ask for.
    fn request(&self) -> SaliencyRequest {
        SaliencyRequest {
            method: self.method,
            target: self.target.clone(),
            frame: self.frame,
            occlusion: ai::saliency::occlusion::OcclusionSettings {
                patch: self.patch,
                stride: self.stride,
                batch: self.batch,
            },
            deletion_fraction: (self.deletion_fraction > 0.0).then_some(self.deletion_fraction),
        }
    }
}

/// Runs `hilum saliency`; returns the process exit code.
pub fn run_saliency(args: &SaliencyArgs) -> i32 {
    for out in [&args.out, &args.raw].into_iter().flatten() {
        if let Err(e) = check_target(out, &[&args.file], args.force) {
            report(&e);
            return 1;
        }
    }
    if !(0.0..=1.0).contains(&args.deletion_fraction) {
        report(&"--deletion-fraction must be between 0 and 1");
        return 2;
    }
    let settings = args.runtime.settings();
    let Some(mut model) = load_model(args.model.as_deref(), &settings) else {
        return 1;
    };
    if let Some(reason) = &model.execution_provider.fallback_reason {
        eprintln!("hilum: {reason}");
    }
    match explain(args, &mut model) {
        Ok(Explained {
            heatmap,
            timing,
            sanity,
            withheld,
        }) => {
            let mut output = SaliencyOutput::new(&args.file, &heatmap, timing);
            output.sanity = sanity;
            let code = if args.json {
                write_json(&[output], true)
            } else {
                println!("{}", output.caption);
                if let Some(s) = &output.sanity {
                    println!(
                        "Sanity check, {}: {} (Spearman {:.3} against a threshold of {}): {}",
                        s.test, s.verdict, s.spearman, s.threshold, s.meaning
                    );
                }
                0
            };
            if let Some(out) = withheld {
                report(&format!(
                    "{}: not written: the map is not faithful ({}); add --draw-unfaithful to draw \
                     it anyway",
                    out.display(),
                    heatmap
                        .faithfulness
                        .as_ref()
                        .map_or("", |f| f.reason.as_str())
                ));
                return 1;
            }
            code
        }
        Err(e) => {
            report(&e);
            1
        }
    }
}

/// What [`explain`] made.
struct Explained {
    heatmap: Heatmap,
    timing: SaliencyTiming,
    sanity: Option<SanityCheck>,
    /// `--out`, when it was not written because the map is not faithful.
    withheld: Option<PathBuf>,
}

/// Makes the heatmap (its deletion metric and, if asked, the sanity check)
/// and writes the files asked for.
fn explain(args: &SaliencyArgs, model: &mut LoadedModel) -> Result<Explained, String> {
    let request = args.request();
    let options = LoadOptions {
        frames: FrameSelection::Only(args.frame),
        ..LoadOptions::default()
    };
    let image = imaging::load_path(&args.file, &options).map_err(|e| e.to_string())?;
    let progress =
        indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
    if args.method != SaliencyMethod::Occlusion {
        progress.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let start = Instant::now();
    let run = model
        .saliency_map(
            &image,
            &request,
            &mut |p| {
                progress.set_length(p.total as u64);
                progress.set_position(p.done as u64);
            },
            &|| false,
        )
        .map_err(|e| format!("{}: {e}", args.file.display()))?;
    progress.finish_and_clear();
    let map_ms = start.elapsed().as_secs_f64() * 1e3;
    let t = Instant::now();
    let faithfulness = match request.deletion_fraction {
        Some(f) => Some(model.faithfulness(&run, f).map_err(|e| e.to_string())?),
        None => None,
    };
    let faithfulness_ms = t.elapsed().as_secs_f64() * 1e3;
    let heatmap = Heatmap {
        faithfulness,
        ..run.heatmap
    };
    let sanity = if args.sanity {
        let mut randomised = RandomisedModel::load(model, &args.runtime.settings())
            .map_err(|e| format!("sanity check: {e}"))?;
        Some(
            randomised
                .check(&image, &request, &heatmap, &mut |_| {}, &|| false)
                .map_err(|e| format!("{}: sanity check: {e}", args.file.display()))?,
        )
    } else {
        None
    };
    let unfaithful = heatmap
        .faithfulness
        .as_ref()
        .is_some_and(|f| f.verdict == Verdict::NotFaithful);
    let withheld = args
        .out
        .clone()
        .filter(|_| unfaithful && !args.draw_unfaithful);
    if let Some(out) = args.out.as_ref().filter(|_| withheld.is_none()) {
        let style = OverlayStyle {
            opacity: args.opacity,
            colormap: args.colormap,
            threshold: args.threshold,
        };
        let rendered = render_frame(&image, args.frame, &WindowChoice::FileDefault)
            .map_err(|e| e.to_string())?;
        let blended = blend(&rendered, &heatmap, &style)?;
        let mut caption = heatmap.caption();
        if unfaithful {
            caption = format!("{}. {caption}", Verdict::NotFaithful.meaning());
        }
        let png = png_with_text(
            &blended,
            &[
                ("Description", caption.as_str()),
                ("Software", concat!("Hilum ", env!("CARGO_PKG_VERSION"))),
                ("Disclaimer", "AI assistance; not a diagnosis"),
            ],
        )?;
        write_file(out, &png).map_err(|e| e.to_string())?;
    }
    if let Some(raw) = &args.raw {
        let npy = npy_f32(
            &heatmap.values,
            heatmap.height as usize,
            heatmap.width as usize,
        );
        write_file(raw, &npy).map_err(|e| e.to_string())?;
    }
    let timing = SaliencyTiming {
        map: map_ms,
        faithfulness: faithfulness_ms,
        total: start.elapsed().as_secs_f64() * 1e3,
    };
    Ok(Explained {
        heatmap,
        timing,
        sanity,
        withheld,
    })
}
