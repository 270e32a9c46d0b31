//! `hilum report` and `hilum anonymize`.

use std::path::PathBuf;

use clap::Args;
use serde_json::json;

use super::{DisplayArgs, RuntimeArgs, load_model, report};
use crate::ai::AiError;
use crate::ai::saliency::{Heatmap, SaliencyMethod, SaliencyRequest};
use crate::annotations::sidecar::SidecarStore;
use crate::imaging::{self, FrameSelection, LoadOptions};
use crate::reports::anonymize::anonymize_files;
use crate::reports::{
    AiSummary, DateHandling, DeidOptions, Deidentifier, ExportRequest, KeyImage, KeyImageFormat,
    Report, export,
};

/// De-identification flags shared by `report --anonymize` and `anonymize`:
/// the option columns of PS3.15 Table E.1-1 (none: the Basic Profile).
#[derive(Debug, Args, Clone)]
pub struct DeidArgs {
    /// Shift dates by this many days instead of removing them; times are
    /// kept (Retain Longitudinal Temporal Information, Modified Dates).
    #[arg(long, allow_hyphen_values = true, conflicts_with = "retain_full_dates")]
    pub shift_dates: Option<i64>,
    /// Keep dates and times as they are (Retain Longitudinal Temporal
    /// Information, Full Dates).
    #[arg(long)]
    pub retain_full_dates: bool,
    /// Keep UIDs instead of replacing them (Retain UIDs).
    #[arg(long)]
    pub retain_uids: bool,
    /// Keep station names, serial numbers and other device identifiers
    /// (Retain Device Identity).
    #[arg(long)]
    pub retain_device_identity: bool,
    /// Keep institution names, addresses and departments (Retain
    /// Institution Identity).
    #[arg(long)]
    pub retain_institution_identity: bool,
    /// Keep the patient's sex, age, size, weight and similar (Retain
    /// Patient Characteristics).
    #[arg(long)]
    pub retain_patient_characteristics: bool,
    /// Keep descriptions and comments with the file's identifying values
    /// (names, IDs, dates...) scrubbed out (Clean Descriptors).
    #[arg(long)]
    pub clean_descriptors: bool,
    /// Keep SR content and acquisition context, scrubbed the same way
    /// (Clean Structured Content).
    #[arg(long)]
    pub clean_structured_content: bool,
    /// Keep graphic annotations, scrubbed the same way; overlay and curve
    /// bitmaps are still removed (Clean Graphics).
    #[arg(long)]
    pub clean_graphics: bool,
    /// Export even when a source says Burned In Annotation = YES (the text
    /// in its pixels is NOT removed).
    #[arg(long)]
    pub allow_burned_in: bool,
}

impl DeidArgs {
    fn options(&self) -> DeidOptions {
        DeidOptions {
            dates: match (self.shift_dates, self.retain_full_dates) {
                (Some(days), _) => DateHandling::Shift { days },
                (None, true) => DateHandling::Keep,
                (None, false) => DateHandling::Remove,
            },
            retain_uids: self.retain_uids,
            retain_device_identity: self.retain_device_identity,
            retain_institution_identity: self.retain_institution_identity,
            retain_patient_characteristics: self.retain_patient_characteristics,
            clean_descriptors: self.clean_descriptors,
            clean_structured_content: self.clean_structured_content,
            clean_graphics: self.clean_graphics,
            allow_burned_in_annotation: self.allow_burned_in,
        }
    }
}

/// Arguments of `hilum report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The image file.
    pub file: PathBuf,
    /// A model (default: the pneumonia-xception model).
    #[arg(long, conflicts_with = "no_ai")]
    pub model: Option<PathBuf>,
    /// Report without running a model.
    #[arg(long)]
    pub no_ai: bool,
    /// Burn a saliency heatmap into the key image and list it, with its
    /// faithfulness, in the PDF and SR.
    #[arg(long, value_enum, conflicts_with = "no_ai")]
    pub saliency: Option<SaliencyMethod>,
    /// Draw the heatmap even when the deletion test finds it not faithful
    /// (the warning is written beside it); otherwise it is only described.
    #[arg(long, requires = "saliency")]
    pub draw_unfaithful: bool,
    /// Frame and window of the key image.
    #[command(flatten)]
    pub display: DisplayArgs,
    /// The reader's impression.
    #[arg(long, default_value = "")]
    pub impression: String,
    /// The reader's name.
    #[arg(long, default_value = "")]
    pub reader: String,
    /// Write the PDF report here.
    #[arg(long)]
    pub pdf: Option<PathBuf>,
    /// Write the annotated key image here (PNG).
    #[arg(long, conflicts_with = "jpeg")]
    pub png: Option<PathBuf>,
    /// Write the annotated key image here (JPEG).
    #[arg(long)]
    pub jpeg: Option<PathBuf>,
    /// Write the DICOM Comprehensive SR here.
    #[arg(long)]
    pub sr: Option<PathBuf>,
    /// Write the DICOM Secondary Capture of the key image here.
    #[arg(long)]
    pub sc: Option<PathBuf>,
    /// Write the heatmap (`--saliency`) as a DICOM Parametric Map here:
    /// float values on the source grid, referencing the source image,
    /// with the algorithm, method and faithfulness verdict.
    #[arg(long, requires = "saliency")]
    pub pmap: Option<PathBuf>,
    /// De-identify every output.
    #[arg(long)]
    pub anonymize: bool,
    /// De-identification settings (with --anonymize).
    #[command(flatten)]
    pub deid: DeidArgs,
    /// Overwrite outputs that exist.
    #[arg(long)]
    pub force: bool,
    /// Engine settings.
    #[command(flatten)]
    pub runtime: RuntimeArgs,
}

/// Arguments of `hilum anonymize`.
#[derive(Debug, Args)]
pub struct AnonymizeArgs {
    /// DICOM files or folders.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// Output folder (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    /// De-identification settings.
    #[command(flatten)]
    pub deid: DeidArgs,
    /// Overwrite outputs that exist.
    #[arg(long)]
    pub force: bool,
}

/// Runs `hilum report`; returns the process exit code.
pub fn run_report(args: &ReportArgs) -> i32 {
    let request = ExportRequest {
        key_image: args
            .png
            .clone()
            .map(|p| (p, KeyImageFormat::Png))
            .or(args.jpeg.clone().map(|p| (p, KeyImageFormat::Jpeg))),
        pdf: args.pdf.clone(),
        secondary_capture: args.sc.clone(),
        structured_report: args.sr.clone(),
        parametric_map: args.pmap.clone(),
        deidentify: args.anonymize.then(|| args.deid.options()),
        overwrite: args.force,
    };
    if request.key_image.is_none()
        && request.pdf.is_none()
        && request.secondary_capture.is_none()
        && request.structured_report.is_none()
        && request.parametric_map.is_none()
    {
        report(&"report: name at least one output (--pdf, --png, --jpeg, --sr, --sc, --pmap)");
        return 2;
    }
    let frame = args.display.frame;
    let window = match args.display.window_choice() {
        Ok(w) => w,
        Err(e) => {
            report(&e);
            return 2;
        }
    };
    let options = LoadOptions {
        frames: FrameSelection::Only(frame),
        ..LoadOptions::default()
    };
    let image = match imaging::load_path(&args.file, &options) {
        Ok(i) => i,
        Err(e) => {
            report(&e);
            return 1;
        }
    };
    // The viewer's annotations of this image, when it has any.
    let annotations = match SidecarStore::default_location().and_then(|s| s.load_for(&image)) {
        Ok(a) => a,
        Err(e) => {
            report(&e);
            return 1;
        }
    };
    let mut heatmap: Option<Heatmap> = None;
    let ai = if args.no_ai {
        None
    } else {
        let Some(mut model) = load_model(args.model.as_deref(), &args.runtime.settings()) else {
            return 1;
        };
        if let Some(method) = args.saliency {
            let request = SaliencyRequest {
                method,
                frame,
                ..SaliencyRequest::default()
            };
            match model.explain(&image, &request, &mut |_| {}, &|| false) {
                Ok(h) => heatmap = Some(h),
                Err(e) => {
                    report(&format!("{}: {e}", args.file.display()));
                    return 1;
                }
            }
        }
        let classified: Result<_, AiError> = model.classify(&image, &|| false);
        match classified {
            Ok(classification) => Some(AiSummary {
                classification,
                engine_detail: model.engine.describe(),
                intended_use: model.manifest.card.intended_use.clone(),
                limitations: model.manifest.card.limitations.clone(),
            }),
            Err(e) => {
                report(&e);
                return 1;
            }
        }
    };
    let mut key = KeyImage::plain(&image);
    key.frame = frame;
    key.window = window;
    key.annotations = annotations.as_ref();
    key.heatmap = heatmap.as_ref();
    key.draw_unfaithful = args.draw_unfaithful;
    let content = Report {
        key_images: vec![key],
        ai,
        impression: args.impression.clone(),
        reader: args.reader.clone(),
    };
    match export(&content, &request, &mut |_| true) {
        Ok(exported) => {
            println!(
                "{}",
                json!({
                    "files": exported.files,
                    "secondary_capture_uid": exported.secondary_capture_uid,
                    "structured_report_uid": exported.structured_report_uid,
                    "parametric_map_uid": exported.parametric_map_uid,
                    "deidentified": args.anonymize,
                    "annotations": annotations.map_or(0, |a| a.annotations.len()),
                })
            );
            0
        }
        Err(e) => {
            report(&e);
            1
        }
    }
}

/// Runs `hilum anonymize`; returns the process exit code.
pub fn run_anonymize(args: &AnonymizeArgs) -> i32 {
    if let Err(e) = std::fs::create_dir_all(&args.out) {
        report(&format!(
            "{}: cannot create the output folder: {e}",
            args.out.display()
        ));
        return 1;
    }
    let mut deid = Deidentifier::new(args.deid.options());
    let result = anonymize_files(
        &args.inputs,
        &args.out,
        &mut deid,
        args.force,
        &mut |_, _| true,
    );
    for e in &result.errors {
        report(e);
    }
    for (source, output) in &result.written {
        println!("{}", json!({"source": source, "output": output}));
    }
    i32::from(!result.errors.is_empty())
}
