//! `hilum triage`: a model over an archive, one JSON line per image,
//! sharded by study (`--shard K/N`), resumable (`--resume`); and
//! `hilum triage merge` to make the tasks' results one and say what is
//! missing.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::{Args, Subcommand};

use super::args::{RuntimeArgs, load_manifest, load_reporting_fallback};
use super::pacs::{LoginArgs, StudyKeysArgs};
use super::report;
use crate::triage::merge::{self, MergeReport};
use crate::triage::results::{Existing, ResultsWriter};
use crate::triage::{self, Progress, Shard};

/// Arguments of `hilum triage`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct TriageArgs {
    /// `merge`: the tasks' results made one.
    #[command(subcommand)]
    pub command: Option<TriageCommand>,
    /// Folders, files, DICOMDIRs, zips, or file lists (`.txt`, `.list`,
    /// `.lst`: one path per line, relative to the list).
    #[arg(required_unless_present = "pacs", value_name = "SOURCE")]
    pub sources: Vec<PathBuf>,
    /// Also triage the studies a query on this PACS node finds (a saved
    /// node's name, a DICOMweb root, or dicom://AET@host:port): each task
    /// retrieves only its shard's studies, into the study cache.
    #[arg(long, value_name = "NODE")]
    pub pacs: Option<String>,
    /// The study-level keys of the PACS query (with `--pacs`).
    #[command(flatten)]
    pub pacs_keys: StudyKeysArgs,
    /// How to log in to the PACS node (with `--pacs`).
    #[command(flatten)]
    pub pacs_login: LoginArgs,
    /// The results file (JSON Lines), appended one image at a time; its
    /// plan is written beside it as RESULTS.plan.json.
    #[arg(long, required = true, value_name = "RESULTS.jsonl")]
    pub out: Option<PathBuf>,
    /// A model: manifest file, folder with manifest.toml, or installed id
    /// (default: the pneumonia-xception model).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Only shard K of N (0 ≤ K < N), split by study. K may be `auto`
    /// (SLURM_ARRAY_TASK_ID, else JOB_COMPLETION_INDEX), N `auto`
    /// (SLURM_ARRAY_TASK_COUNT).
    #[arg(long, value_name = "K/N")]
    pub shard: Option<String>,
    /// Continue an earlier run's results file: the images it has for this
    /// model version are not done again.
    #[arg(long, conflicts_with = "force")]
    pub resume: bool,
    /// Replace an existing results file.
    #[arg(long)]
    pub force: bool,
    /// Engine settings; `--threads T` is also the number of threads that
    /// read and preprocess images (0: one per core).
    #[command(flatten)]
    pub runtime: RuntimeArgs,
}

/// `hilum triage` subcommands.
#[derive(Debug, Subcommand)]
pub enum TriageCommand {
    /// Merge results files: each image once, sorted, and what is missing
    /// (from the tasks' plans) reported; exit code 1 when something is.
    Merge(MergeArgs),
}

/// Arguments of `hilum triage merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The tasks' results files.
    #[arg(required = true, value_name = "RESULTS")]
    pub results: Vec<PathBuf>,
    /// The merged results (JSON Lines).
    #[arg(long, value_name = "ALL.jsonl")]
    pub out: PathBuf,
    /// Also write a CSV for spreadsheets (default: OUT with `.csv`).
    #[arg(long, value_name = "CSV", num_args = 0..=1)]
    pub csv: Option<Option<PathBuf>>,
    /// Print the merge report as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Overwrite existing outputs.
    #[arg(long)]
    pub force: bool,
}

/// Runs `hilum triage`; returns the exit code (0: every image has its
/// line, failures included; 1: the run stopped; 2: bad arguments).
pub fn run_triage(args: &TriageArgs) -> i32 {
    if let Some(TriageCommand::Merge(merge)) = &args.command {
        return run_merge(merge);
    }
    if args.pacs.is_none() && (args.pacs_keys.any() || args.pacs_login.any()) {
        report(&"the PACS query and login options need --pacs NODE");
        return 2;
    }
    let Some(out) = &args.out else {
        report(&"--out RESULTS.jsonl is required");
        return 2;
    };
    let shard = match &args.shard {
        None => Shard::WHOLE,
        Some(text) => match Shard::parse(text, &|name| std::env::var(name).ok()) {
            Ok(shard) => shard,
            Err(e) => {
                report(&e);
                return 2;
            }
        },
    };
    let Some(manifest) = load_manifest(args.model.as_deref()) else {
        return 1;
    };
    let existing = if args.resume {
        Existing::Resume
    } else if args.force {
        Existing::Replace
    } else {
        Existing::Refuse
    };
    let (mut writer, done) =
        match ResultsWriter::open(out, existing, &manifest.id, &manifest.version) {
            Ok(opened) => opened,
            Err(e) => {
                report(&e);
                return if matches!(e, triage::results::ResultsError::Exists(_)) {
                    2
                } else {
                    1
                };
            }
        };
    let threads = args.runtime.threads;
    let pacs = match &args.pacs {
        Some(node) => {
            match super::triage_pacs::retrieve(node, &args.pacs_keys, &args.pacs_login, shard) {
                Ok(source) => Some(source),
                Err(code) => return code,
            }
        }
        None => None,
    };
    let mut sources = args.sources.clone();
    sources.extend(pacs.iter().flat_map(|p| p.folders.iter().cloned()));
    let mut plan = triage::plan::plan(&sources, shard, threads);
    if let Some(pacs) = pacs {
        plan.errors.extend(pacs.errors);
    }
    eprintln!(
        "hilum: triage shard {shard}: {} of {} files ({} already in {})",
        plan.files.len() + plan.errors.len(),
        plan.found,
        done.len(),
        out.display()
    );
    let Some(mut model) = load_reporting_fallback(manifest, &args.runtime.settings()) else {
        return 1;
    };
    let mut last = Instant::now();
    let mut on_progress = |p: &Progress, record: &triage::record::TriageRecord| {
        if let Some(e) = &record.error {
            report(e);
        }
        if last.elapsed() >= Duration::from_secs(1) || p.done == p.total {
            last = Instant::now();
            eprintln!("hilum: triage {}", p.line());
        }
        std::ops::ControlFlow::Continue(())
    };
    match triage::run(
        &mut model,
        &plan,
        out,
        &mut writer,
        &done,
        threads,
        &mut on_progress,
    ) {
        Ok(summary) => {
            eprintln!(
                "hilum: triage shard {shard} done: {} written ({} failed, {} outside the \
                 model's scope), {} already there; {:.1} images/s",
                summary.progress.done,
                summary.progress.failed,
                summary.progress.out_of_scope,
                summary.already_done,
                summary.progress.rate()
            );
            0
        }
        Err(e) => {
            report(&e);
            1
        }
    }
}

fn run_merge(args: &MergeArgs) -> i32 {
    let csv = args.csv.as_ref().map(|path| {
        path.clone()
            .unwrap_or_else(|| args.out.with_extension("csv"))
    });
    for target in std::iter::once(&args.out).chain(csv.as_ref()) {
        if let Err(e) = crate::output::check_target(target, &args.results, args.force) {
            report(&e);
            return 1;
        }
    }
    let (records, summary) = match merge::merge(&args.results) {
        Ok(merged) => merged,
        Err(e) => {
            report(&e);
            return 1;
        }
    };
    let written = crate::output::write_atomic(&args.out, |w| {
        for record in &records {
            serde_json::to_writer(&mut *w, record).map_err(std::io::Error::other)?;
            w.write_all(b"\n")?;
        }
        Ok(())
    });
    if let Err(e) = written {
        report(&format!("{}: {e}", args.out.display()));
        return 1;
    }
    if let Some(path) = &csv {
        let written = merge::to_csv(&records)
            .map_err(std::io::Error::other)
            .and_then(|bytes| crate::output::write_atomic(path, |w| w.write_all(&bytes)));
        if let Err(e) = written {
            report(&format!("{}: {e}", path.display()));
            return 1;
        }
    }
    print_report(&summary, args.json);
    i32::from(!summary.is_complete())
}

fn print_report(r: &MergeReport, json: bool) {
    if json {
        match serde_json::to_string_pretty(r) {
            Ok(text) => println!("{text}"),
            Err(e) => report(&e),
        }
    }
    eprintln!(
        "hilum: triage merge: {} images from {} files ({} lines, {} duplicates dropped, {} \
         failed, {} cut-off lines)",
        r.images, r.files, r.lines, r.duplicates, r.failed, r.partial_lines
    );
    if !r.missing_shards.is_empty() {
        report(&format!(
            "missing shards (no results with a plan): {:?}",
            r.missing_shards
        ));
    }
    if !r.missing_images.is_empty() {
        report(&format!(
            "{} images planned but not in the results, e.g. {}",
            r.missing_images.len(),
            r.missing_images
                .iter()
                .take(5)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    for path in &r.without_plan {
        report(&format!(
            "{}: no plan beside it; what it misses cannot be told",
            path.display()
        ));
    }
}
