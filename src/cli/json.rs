//! The JSON contracts of `info`, `classify`, `saliency` and `models` as
//! typed structs, and the one way they are printed.
//!
//! Field names, their order, and `null` for a missing value (never an
//! absent field, except `frame0_stats` without `--stats`) are what other
//! tools read; the README documents them. Probabilities and other `f32`
//! values are widened to `f64` here, as the output always printed them.

use std::io::Write;
use std::path::Path;

use serde::Serialize;

use super::report;
use crate::ai::classify::Timing;
use crate::ai::runtime::{Engine, LibraryCandidate};
use crate::ai::saliency::sanity::SanityCheck;
use crate::ai::saliency::{Faithfulness, Heatmap, SaliencyMethod, faithfulness};
use crate::ai::{Classification, Finding, Manifest};
use crate::imaging::image::SourceFormat;
use crate::imaging::metadata::SpacingSource;
use crate::imaging::modality::ModalityLut;
use crate::imaging::series::{Patient, Series, Study};
use crate::imaging::voi::Voi;
use crate::imaging::{FrameStats, Image};

/// The notice every AI result carries.
pub const AI_NOTICE: &str = "AI assistance for research and demonstration; not a diagnosis";

/// One record of `hilum info`: an image, or a series found in a folder.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum InfoRecord<'a> {
    /// One image file.
    Image(Box<ImageInfo<'a>>),
    /// One series assembled from the images of the folders given.
    Series(SeriesInfo<'a>),
}

/// What `hilum info` prints for one image.
#[derive(Debug, Serialize)]
pub struct ImageInfo<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    path: String,
    format: &'a str,
    sop_class_uid: Option<&'a str>,
    sop_instance_uid: Option<&'a str>,
    modality: Option<&'a str>,
    transfer_syntax_uid: Option<&'a str>,
    transfer_syntax_name: Option<&'a str>,
    transfer_syntax_inferred: Option<bool>,
    photometric_interpretation: &'a str,
    rows: u32,
    columns: u32,
    frames: usize,
    samples_per_pixel: u16,
    bits_allocated: u16,
    bits_stored: u16,
    high_bit: u16,
    pixel_representation: u8,
    planar_configuration: Option<u16>,
    rescale_slope: Option<f64>,
    rescale_intercept: Option<f64>,
    modality_lut_sequence: bool,
    window_center: Option<f64>,
    window_width: Option<f64>,
    voi_lut_function: Option<&'static str>,
    windows: Vec<VoiInfo<'a>>,
    presentation_lut_shape: Option<&'a str>,
    inverted_for_display: bool,
    patient_name: Option<&'a str>,
    patient_id: Option<&'a str>,
    patient_birth_date: Option<&'a str>,
    patient_sex: Option<&'a str>,
    study_instance_uid: Option<&'a str>,
    study_date: Option<&'a str>,
    study_description: Option<&'a str>,
    accession_number: Option<&'a str>,
    institution_name: Option<&'a str>,
    series_instance_uid: Option<&'a str>,
    series_number: Option<i64>,
    series_description: Option<&'a str>,
    body_part_examined: Option<&'a str>,
    view_position: Option<&'a str>,
    instance_number: Option<i64>,
    image_position_patient: Option<[f64; 3]>,
    image_orientation_patient: Option<[f64; 6]>,
    pixel_spacing: Option<[f64; 2]>,
    imager_pixel_spacing: Option<[f64; 2]>,
    measurement_spacing_source: Option<SpacingSource>,
    slice_thickness: Option<f64>,
    /// Where the pixels may not be what the file means (e.g. a JPEG whose
    /// colour coding contradicts the header): said, never guessed silently.
    warnings: &'a [String],
    /// Only with `--stats`: absent, not `null`, without it.
    #[serde(skip_serializing_if = "Option::is_none")]
    frame0_stats: Option<&'a FrameStats>,
}

/// One VOI choice the file offers for frame 0.
#[derive(Debug, Serialize)]
#[serde(untagged)]
enum VoiInfo<'a> {
    /// A window (center, width, function).
    Window {
        center: f64,
        width: f64,
        function: &'static str,
        explanation: Option<&'a String>,
    },
    /// A VOI LUT.
    Table {
        lut_entries: usize,
        first_mapped: i64,
        bits: u16,
    },
}

impl<'a> ImageInfo<'a> {
    /// The record for `image`, with frame 0's statistics when measured.
    pub fn new(image: &'a Image, stats: Option<&'a FrameStats>) -> Self {
        let p = &image.pixels;
        let m = &image.metadata;
        let (ts_uid, ts_name, inferred, format) = match &image.source {
            SourceFormat::Dicom {
                transfer_syntax_uid,
                transfer_syntax_name,
                transfer_syntax_inferred,
            } => (
                Some(transfer_syntax_uid.as_str()),
                Some(transfer_syntax_name.as_str()),
                Some(*transfer_syntax_inferred),
                "DICOM",
            ),
            SourceFormat::Raster { format } => (None, None, None, format.as_str()),
        };
        let vois = image.file_vois(0);
        let windows = vois
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Voi::Window(w) => VoiInfo::Window {
                    center: w.center,
                    width: w.width,
                    function: w.function.name(),
                    explanation: image.voi_explanations.get(i),
                },
                Voi::Table(t) => VoiInfo::Table {
                    lut_entries: t.data.len(),
                    first_mapped: t.first_mapped,
                    bits: t.bits,
                },
            })
            .collect();
        let first_window = vois.iter().find_map(|v| match v {
            Voi::Window(w) => Some(*w),
            Voi::Table(_) => None,
        });
        Self {
            kind: "image",
            path: crate::imaging::archive::display_path(&image.path)
                .display()
                .to_string(),
            format,
            sop_class_uid: m.sop_class_uid.as_deref(),
            sop_instance_uid: m.sop_instance_uid.as_deref(),
            modality: m.modality.as_deref(),
            transfer_syntax_uid: ts_uid,
            transfer_syntax_name: ts_name,
            transfer_syntax_inferred: inferred,
            photometric_interpretation: &p.photometric_name,
            rows: p.rows,
            columns: p.columns,
            frames: p.frames,
            samples_per_pixel: p.samples_per_pixel,
            bits_allocated: p.bits_allocated,
            bits_stored: p.bits_stored,
            high_bit: p.high_bit,
            pixel_representation: u8::from(p.signed),
            planar_configuration: p.planar_configuration,
            rescale_slope: image.rescale_present.0,
            rescale_intercept: image.rescale_present.1,
            modality_lut_sequence: matches!(image.modality_lut(0), ModalityLut::Table(_)),
            window_center: first_window.map(|w| w.center),
            window_width: first_window.map(|w| w.width),
            voi_lut_function: first_window.map(|w| w.function.name()),
            windows,
            presentation_lut_shape: image.presentation_lut_shape.as_deref(),
            inverted_for_display: image.inverts(),
            patient_name: m.patient_name.as_deref(),
            patient_id: m.patient_id.as_deref(),
            patient_birth_date: m.patient_birth_date.as_deref(),
            patient_sex: m.patient_sex.as_deref(),
            study_instance_uid: m.study_instance_uid.as_deref(),
            study_date: m.study_date.as_deref(),
            study_description: m.study_description.as_deref(),
            accession_number: m.accession_number.as_deref(),
            institution_name: m.institution_name.as_deref(),
            series_instance_uid: m.series_instance_uid.as_deref(),
            series_number: m.series_number,
            series_description: m.series_description.as_deref(),
            body_part_examined: m.body_part_examined.as_deref(),
            view_position: m.view_position.as_deref(),
            instance_number: m.instance_number,
            image_position_patient: m.image_position_patient,
            image_orientation_patient: m.image_orientation_patient,
            pixel_spacing: m.pixel_spacing,
            imager_pixel_spacing: m.imager_pixel_spacing,
            measurement_spacing_source: m.measurement_spacing().map(|(_, s)| s),
            slice_thickness: m.slice_thickness,
            warnings: &p.warnings,
            frame0_stats: stats,
        }
    }
}

/// What `hilum info` prints for one series: the series itself, then the
/// patient and study it belongs to.
#[derive(Debug, Serialize)]
pub struct SeriesInfo<'a> {
    #[serde(flatten)]
    series: &'a Series,
    #[serde(rename = "type")]
    kind: &'static str,
    count: usize,
    patient_id: &'a str,
    patient_name: Option<&'a str>,
    study_instance_uid: &'a str,
    study_date: Option<&'a str>,
    study_description: Option<&'a str>,
}

impl<'a> SeriesInfo<'a> {
    /// The record for `series` of `study` of `patient`.
    pub fn new(patient: &'a Patient, study: &'a Study, series: &'a Series) -> Self {
        Self {
            series,
            kind: "series",
            count: series.instances.len(),
            patient_id: &patient.patient_id,
            patient_name: patient.patient_name.as_deref(),
            study_instance_uid: &study.study_instance_uid,
            study_date: study.study_date.as_deref(),
            study_description: study.study_description.as_deref(),
        }
    }

    /// The records of every series of `patients`, patient by patient.
    pub fn all(patients: &'a [Patient]) -> Vec<Self> {
        patients
            .iter()
            .flat_map(|p| p.studies.iter().map(move |s| (p, s)))
            .flat_map(|(p, s)| s.series.iter().map(move |r| Self::new(p, s, r)))
            .collect()
    }
}

/// What `hilum classify` prints for one image.
#[derive(Debug, Serialize)]
pub struct ClassificationOutput<'a> {
    path: String,
    model: ModelRef<'a>,
    engine: &'a str,
    engine_detail: String,
    execution_provider: &'a str,
    execution_provider_fallback: Option<&'a str>,
    in_scope: Option<bool>,
    scope_reasons: &'a [String],
    findings: Vec<FindingOutput<'a>>,
    out_of_scope_warnings: &'a [String],
    timing_ms: &'a Timing,
    notice: &'static str,
}

/// The model that produced a result.
#[derive(Debug, Serialize)]
struct ModelRef<'a> {
    id: &'a str,
    name: &'a str,
    version: &'a str,
}

/// One label's result, with the call in words.
#[derive(Debug, Serialize)]
struct FindingOutput<'a> {
    label: &'a str,
    probability: f64,
    threshold: Option<f64>,
    positive: Option<bool>,
    is_finding: bool,
    call: String,
}

impl<'a> FindingOutput<'a> {
    fn new(f: &'a Finding) -> Self {
        Self {
            label: &f.label,
            probability: f64::from(f.probability),
            threshold: f.threshold.map(f64::from),
            positive: f.positive,
            is_finding: f.is_finding,
            call: f.wording(),
        }
    }
}

impl<'a> ClassificationOutput<'a> {
    /// The record for classification `c` of the image at `path`.
    pub fn new(path: &Path, c: &'a Classification, engine: &Engine) -> Self {
        Self {
            path: path.display().to_string(),
            model: ModelRef {
                id: &c.model_id,
                name: &c.model_name,
                version: &c.model_version,
            },
            engine: &c.engine,
            engine_detail: engine.describe(),
            execution_provider: &c.execution_provider.name,
            execution_provider_fallback: c.execution_provider.fallback_reason.as_deref(),
            in_scope: c.in_scope,
            scope_reasons: &c.scope_reasons,
            findings: c.findings.iter().map(FindingOutput::new).collect(),
            out_of_scope_warnings: &c.out_of_scope_warnings,
            timing_ms: &c.timing_ms,
            notice: AI_NOTICE,
        }
    }
}

/// What `hilum saliency --json` prints.
#[derive(Debug, Serialize)]
pub struct SaliencyOutput<'a> {
    path: String,
    model: &'a str,
    method: SaliencyMethod,
    method_name: &'static str,
    target: &'a str,
    settings: &'a str,
    map_grid: [u32; 2],
    rows: u32,
    cols: u32,
    faithfulness: Option<FaithfulnessOutput<'a>>,
    /// The model-randomisation sanity check, when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sanity: Option<SanityCheck>,
    /// The one-line label of the map (also the plain-text output).
    pub caption: String,
    timing_ms: SaliencyTiming,
    notice: &'static str,
}

/// The deletion metric of a heatmap and its verdict.
#[derive(Debug, Serialize)]
struct FaithfulnessOutput<'a> {
    metric: &'static str,
    fraction: f64,
    verdict: &'static str,
    reason: &'a str,
    rule: &'static str,
    score: &'static str,
    base_score: f64,
    salient_score_drop: f64,
    random_score_drop_mean: f64,
    random_score_drop_sd: f64,
    random_score_drops: &'a [f64],
    base_probability: f64,
    salient_drop: f64,
    random_drop: f64,
}

impl<'a> From<&'a Faithfulness> for FaithfulnessOutput<'a> {
    fn from(f: &'a Faithfulness) -> Self {
        Self {
            metric: "deletion",
            fraction: f64::from(f.fraction),
            verdict: f.verdict.as_str(),
            reason: &f.reason,
            rule: faithfulness::RULE,
            score: f.score,
            base_score: f.base_score,
            salient_score_drop: f.salient_score_drop,
            random_score_drop_mean: f.random_score_drop_mean,
            random_score_drop_sd: f.random_score_drop_sd,
            random_score_drops: &f.random_score_drops,
            base_probability: f64::from(f.base_probability),
            salient_drop: f64::from(f.salient_drop),
            random_drop: f64::from(f.random_drop),
        }
    }
}

/// Time spent on a heatmap, ms.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct SaliencyTiming {
    /// Making the map.
    pub map: f64,
    /// The deletion metric.
    pub faithfulness: f64,
    /// Everything, from the model run to the written files.
    pub total: f64,
}

impl<'a> SaliencyOutput<'a> {
    /// The record for `heatmap` of the image at `path`.
    pub fn new(path: &Path, heatmap: &'a Heatmap, timing: SaliencyTiming) -> Self {
        Self {
            path: path.display().to_string(),
            model: &heatmap.model,
            method: heatmap.method,
            method_name: heatmap.method.display_name(),
            target: &heatmap.target_label,
            settings: &heatmap.settings,
            map_grid: [heatmap.grid.0, heatmap.grid.1],
            rows: heatmap.height,
            cols: heatmap.width,
            faithfulness: heatmap.faithfulness.as_ref().map(FaithfulnessOutput::from),
            sanity: None,
            caption: heatmap.caption(),
            timing_ms: timing,
            notice: AI_NOTICE,
        }
    }
}

/// What `hilum models` prints.
#[derive(Debug, Serialize)]
pub struct ModelsOutput {
    /// The installed models that load.
    pub models: Vec<ModelEntry>,
    /// The ONNX Runtime libraries found, in search order.
    pub onnxruntime_libraries: Vec<LibraryEntry>,
    /// The engine the settings choose, or why none could start.
    pub engine: EngineEntry,
}

/// One installed model.
#[derive(Debug, Serialize)]
pub struct ModelEntry {
    id: String,
    name: String,
    version: String,
    manifest: String,
    model_file: String,
    model_file_present: bool,
    labels: Vec<String>,
    intended_use: String,
}

impl ModelEntry {
    /// The entry for `manifest`, read from the file at `path`.
    pub fn new(path: &Path, manifest: Manifest) -> Self {
        let model_file = manifest.model_path();
        Self {
            manifest: path.display().to_string(),
            model_file: model_file.display().to_string(),
            model_file_present: model_file.is_file(),
            id: manifest.id,
            name: manifest.name,
            version: manifest.version,
            labels: manifest.task.labels,
            intended_use: manifest.card.intended_use,
        }
    }
}

/// One ONNX Runtime library found.
#[derive(Debug, Serialize)]
pub struct LibraryEntry {
    path: String,
    found_in: &'static str,
}

impl From<LibraryCandidate> for LibraryEntry {
    fn from(c: LibraryCandidate) -> Self {
        Self {
            path: c.path.display().to_string(),
            found_in: c.found_in,
        }
    }
}

/// The engine that runs, or the error that stops it.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum EngineEntry {
    /// It starts.
    Ready {
        /// `onnxruntime` or `tract`.
        name: &'static str,
        /// Version and library, in words.
        detail: String,
    },
    /// It does not.
    Failed {
        /// Why.
        error: String,
    },
}

/// Prints `values` on stdout: one pretty JSON array (`as_array`), else one
/// compact object per line. Returns the exit code (1 if stdout failed).
pub fn write_json<T: Serialize>(values: &[T], as_array: bool) -> i32 {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let written = if as_array {
        serde_json::to_writer_pretty(&mut out, values)
            .map_err(std::io::Error::other)
            .and_then(|_| writeln!(out))
    } else {
        values.iter().try_for_each(|v| {
            serde_json::to_writer(&mut out, v).map_err(std::io::Error::other)?;
            writeln!(out)
        })
    };
    match written {
        Ok(()) => 0,
        Err(e) => {
            report(&format!("cannot write output: {e}"));
            1
        }
    }
}
