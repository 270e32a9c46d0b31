//! `hilum evaluate`: a model's accuracy, sensitivity, specificity,
//! precision, F1 and ROC AUC on a labelled set, with bootstrap 95 %
//! intervals, the confusion matrix at the operating point, the threshold
//! for a target sensitivity, and ROC and calibration plots (research and
//! demonstration only).

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;

use clap::Args;

use super::args::{RuntimeArgs, load_manifest, load_reporting_fallback};
use super::report;
use crate::ai::LoadedModel;
use crate::ai::evaluate::{self, EvaluateOptions, Evaluation, ImageOutcome, Metric, plots};

/// Arguments of `hilum evaluate`.
#[derive(Debug, Args)]
pub struct EvaluateArgs {
    /// The labelled images: a CSV whose first line is `path,label` (paths
    /// relative to the CSV's folder, or absolute), or a folder with one
    /// sub-folder per label (e.g. NORMAL/ and PNEUMONIA/).
    pub labels: PathBuf,
    /// A model: manifest file, folder with manifest.toml, or installed id
    /// (default: the pneumonia-xception model).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Write the ROC and calibration plots (roc.png, calibration.png) in
    /// this folder (created if missing).
    #[arg(long, value_name = "DIR")]
    pub plots: Option<PathBuf>,
    /// Also report the largest threshold whose sensitivity on this set is
    /// at least S (0 < S ≤ 1), with its specificity.
    #[arg(long, value_name = "S", value_parser = parse_sensitivity)]
    pub target_sensitivity: Option<f64>,
    /// Overwrite existing plots.
    #[arg(long)]
    pub force: bool,
    /// Engine settings.
    #[command(flatten)]
    pub runtime: RuntimeArgs,
}

/// Parses `--target-sensitivity`: a number in (0, 1].
fn parse_sensitivity(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(s) if s > 0.0 && s <= 1.0 => Ok(s),
        _ => Err(format!("{text:?} is not a sensitivity in (0, 1]")),
    }
}

/// Runs `hilum evaluate`; returns the process exit code (2: the set
/// cannot be used; 1: the model, an image or a plot failed).
pub fn run_evaluate(args: &EvaluateArgs) -> i32 {
    let Some(manifest) = load_manifest(args.model.as_deref()) else {
        return 1;
    };
    let dataset = match evaluate::dataset::read(&args.labels, &manifest.task.labels) {
        Ok(d) => d,
        Err(e) => {
            report(&e);
            return 2;
        }
    };
    for warning in &dataset.warnings {
        report(warning);
    }
    if let Some(dir) = &args.plots {
        if let Err(e) = std::fs::create_dir_all(dir) {
            report(&format!("{}: cannot create the folder: {e}", dir.display()));
            return 1;
        }
        for target in plots::targets(dir) {
            if let Err(e) = crate::output::check_target(&target, &[&args.labels], args.force) {
                report(&e);
                return 1;
            }
        }
    }
    let Some(mut model) = load_reporting_fallback(manifest, &args.runtime.settings()) else {
        return 1;
    };
    let options = EvaluateOptions {
        target_sensitivity: args.target_sensitivity,
        ..EvaluateOptions::default()
    };
    let evaluation = run_with_progress(&mut model, &dataset, &options);
    let mut failed = evaluation.failed > 0;
    if let Some(dir) = &args.plots
        && let Err(e) = plots::write_plots(dir, &evaluation)
    {
        report(&e);
        failed = true;
    }
    let text = if args.json {
        serde_json::to_string_pretty(&evaluation).map(|mut s| {
            s.push('\n');
            s
        })
    } else {
        Ok(table(&evaluation, &dataset.source))
    };
    let written = text
        .map_err(std::io::Error::other)
        .and_then(|text| std::io::stdout().lock().write_all(text.as_bytes()));
    if let Err(e) = written {
        report(&format!("cannot write output: {e}"));
        return 1;
    }
    i32::from(failed)
}

/// Evaluates with a progress bar on stderr, reporting each failure there.
fn run_with_progress(
    model: &mut LoadedModel,
    dataset: &evaluate::Dataset,
    options: &EvaluateOptions,
) -> Evaluation {
    let progress = indicatif::ProgressBar::with_draw_target(
        Some(dataset.items.len() as u64),
        indicatif::ProgressDrawTarget::stderr(),
    );
    if dataset.items.len() < 2 {
        progress.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let mut on_done = |_: usize, outcome: &ImageOutcome| {
        if let ImageOutcome::Failed(e) = outcome {
            progress.suspend(|| report(e));
        }
        progress.inc(1);
    };
    let evaluation = evaluate::evaluate(model, dataset, options, &mut on_done);
    progress.finish_and_clear();
    evaluation
}

fn num(v: Option<f64>) -> String {
    v.map_or_else(|| "n/a".into(), |v| format!("{v:.3}"))
}

/// The evaluation as a table for a reader.
pub fn table(e: &Evaluation, source: &std::path::Path) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Evaluation of {} {} ({}, {}) on {}",
        e.model.id,
        e.model.version,
        e.engine,
        e.execution_provider,
        source.display()
    );
    let _ = writeln!(
        out,
        "images: {} listed, {} evaluated, {} out of scope (not in the metrics), {} failed",
        e.n, e.evaluated, e.out_of_scope, e.failed
    );
    for (label, r) in &e.per_label.0 {
        let _ = writeln!(
            out,
            "\n{label}: {} positive, {} negative; operating point {:.3} ({})",
            r.positives, r.negatives, r.operating_point_threshold, r.threshold_source
        );
        let _ = writeln!(out, "  {:<12} {:>6}   95% CI", "metric", "value");
        for metric in Metric::ALL {
            let m = r.metric(metric);
            let ci = match (m.ci_low, m.ci_high) {
                (Some(lo), Some(hi)) => format!("[{lo:.3}, {hi:.3}]"),
                _ => "n/a".into(),
            };
            let note = if metric == Metric::Auc {
                "  (threshold-free)"
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "  {:<12} {:>6}   {ci}{note}",
                metric.name(),
                num(m.value)
            );
        }
        let c = &r.confusion;
        let _ = writeln!(
            out,
            "  confusion at {:.3}: {:>16} {:>16}",
            r.operating_point_threshold, "called positive", "called negative"
        );
        let width = 20usize.max(label.len() + 6);
        let _ = writeln!(
            out,
            "  {:<width$} {:>16} {:>16}",
            format!("  {label}"),
            c.tp,
            c.fn_
        );
        let _ = writeln!(
            out,
            "  {:<width$} {:>16} {:>16}",
            format!("  not {label}"),
            c.fp,
            c.tn
        );
        if let Some(t) = &r.target_sensitivity {
            match t.threshold {
                Some(th) => {
                    let _ = writeln!(
                        out,
                        "  threshold for sensitivity ≥ {:.3}: {th:.4} (sensitivity {}, specificity {})",
                        t.requested,
                        num(t.sensitivity),
                        num(t.specificity)
                    );
                }
                None => {
                    let _ = writeln!(
                        out,
                        "  no threshold reaches sensitivity {:.3} (no positive image)",
                        t.requested
                    );
                }
            }
        }
    }
    let _ = writeln!(
        out,
        "\n95% intervals: {} resamples, seed {}; {}.",
        e.bootstrap.resamples, e.bootstrap.seed, e.bootstrap.method
    );
    if let Some(caveat) = &e.caveat {
        let _ = writeln!(out, "Note: {caveat}.");
    }
    let _ = writeln!(
        out,
        "{:.1} images/s ({:.2} s for {} images, model loading excluded)",
        e.images_per_second, e.seconds, e.n
    );
    let _ = writeln!(out, "{}.", e.notice);
    out
}
