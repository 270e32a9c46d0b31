//! Reports: the annotated key image (PNG/JPEG), the PDF report, DICOM
//! Secondary Capture, Comprehensive SR and Parametric Map objects, and
//! de-identification.
//!
//! The viewer's export dialog and the CLI both fill in a [`Report`] (what
//! is reported) and an [`ExportRequest`] (which files, de-identified or
//! not) and call [`export`], which checks every target first, reports
//! progress, can be cancelled between steps, and writes each output
//! atomically.

pub mod anonymize;
pub mod deid;
pub mod dicom_out;
pub mod keyimage;
pub mod pdf;
pub mod pmap;

use std::path::PathBuf;

use crate::ai::Classification;
use crate::annotations::measure::{Calibration, measure};
use crate::imaging::Image;
use crate::imaging::image::SourceFormat;
// Target checks and atomic writes live in the crate's one output module.
use crate::output::{self, OutputError};

pub use self::deid::{DateHandling, DeidOptions, Deidentifier};
pub use self::keyimage::{KeyImage, Region};

/// Implementation Version Name written in File Meta Information.
pub const IMPLEMENTATION_VERSION_NAME: &str = concat!("HILUM_", env!("CARGO_PKG_VERSION"));

/// The software and version named in every report.
pub const SOFTWARE: &str = concat!("Hilum ", env!("CARGO_PKG_VERSION"));

/// Why an export failed. Every variant names the file concerned.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// An output may not or could not be written.
    #[error("{}: {reason}", path.display())]
    Output {
        /// The output.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A source image could not be read or rendered.
    #[error(transparent)]
    Imaging(#[from] crate::ImagingError),
    /// A source is unusable for this report.
    #[error("{}: {reason}", path.display())]
    Input {
        /// The source.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A DICOM object could not be built or encoded.
    #[error("{}: cannot write DICOM: {reason}", path.display())]
    Dicom {
        /// The output.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The PDF could not be produced.
    #[error("{}: cannot write PDF: {reason}", path.display())]
    Pdf {
        /// The output.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// De-identification refused a source.
    #[error(transparent)]
    Deid(#[from] deid::DeidError),
    /// The caller cancelled.
    #[error("export cancelled")]
    Cancelled,
}

impl From<OutputError> for ReportError {
    fn from(e: OutputError) -> Self {
        ReportError::Output {
            path: e.path,
            reason: e.reason,
        }
    }
}

/// The AI result shown in a report, with what a reader needs to judge it.
#[derive(Debug, Clone)]
pub struct AiSummary {
    /// The classification of the key image.
    pub classification: Classification,
    /// The engine in words (library and version, or why tract runs).
    pub engine_detail: String,
    /// The model card's intended use.
    pub intended_use: String,
    /// The model card's limitations.
    pub limitations: String,
}

impl AiSummary {
    /// "name version (id)".
    pub fn model_line(&self) -> String {
        let c = &self.classification;
        format!("{} {} ({})", c.model_name, c.model_version, c.model_id)
    }

    /// Engine and execution provider, with the fallback reason if any.
    pub fn engine_line(&self) -> String {
        let c = &self.classification;
        let mut s = format!(
            "{} ({}), execution provider {}",
            c.engine, self.engine_detail, c.execution_provider.name
        );
        if let Some(reason) = &c.execution_provider.fallback_reason {
            s.push_str(&format!(" ({reason})"));
        }
        s
    }
}

/// What a report says.
#[derive(Debug, Clone)]
pub struct Report<'a> {
    /// Key images; the first is the one exported as PNG/JPEG and as
    /// Secondary Capture, all appear in the PDF.
    pub key_images: Vec<KeyImage<'a>>,
    /// The AI result, when a model ran.
    pub ai: Option<AiSummary>,
    /// The reader's impression (free text).
    pub impression: String,
    /// The reader's name.
    pub reader: String,
}

/// Encoding of the exported key image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyImageFormat {
    /// PNG (lossless).
    Png,
    /// JPEG (quality 92).
    Jpeg,
}

/// Which outputs to write, and how.
#[derive(Debug, Clone, Default)]
pub struct ExportRequest {
    /// The annotated key image and its format.
    pub key_image: Option<(PathBuf, KeyImageFormat)>,
    /// The PDF report.
    pub pdf: Option<PathBuf>,
    /// The DICOM Secondary Capture of the key image.
    pub secondary_capture: Option<PathBuf>,
    /// The DICOM Comprehensive SR.
    pub structured_report: Option<PathBuf>,
    /// The key image's heatmap as a DICOM Parametric Map.
    pub parametric_map: Option<PathBuf>,
    /// De-identify every output with these options.
    pub deidentify: Option<DeidOptions>,
    /// Replace outputs that already exist.
    pub overwrite: bool,
}

impl ExportRequest {
    fn targets(&self) -> Vec<&PathBuf> {
        self.key_image
            .iter()
            .map(|(p, _)| p)
            .chain(&self.pdf)
            .chain(&self.secondary_capture)
            .chain(&self.structured_report)
            .chain(&self.parametric_map)
            .collect()
    }
}

/// Where an export is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Steps finished.
    pub done: usize,
    /// Steps in all.
    pub total: usize,
    /// The step about to run.
    pub next: &'static str,
}

/// What an export wrote.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Exported {
    /// The files written, in order.
    pub files: Vec<PathBuf>,
    /// SOP Instance UID of the Secondary Capture, when written.
    pub secondary_capture_uid: Option<String>,
    /// SOP Instance UID of the SR, when written.
    pub structured_report_uid: Option<String>,
    /// SOP Instance UID of the Parametric Map, when written.
    pub parametric_map_uid: Option<String>,
}

/// The caption under the key image: AI result, model, saliency method.
pub fn caption(report: &Report<'_>, key: &KeyImage<'_>) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(ai) = &report.ai {
        let findings: Vec<String> = ai
            .classification
            .findings
            .iter()
            .filter(|f| f.is_finding)
            .map(|f| format!("{} {:.3}, {}", f.label, f.probability, f.wording()))
            .collect();
        if ai.classification.in_scope == Some(false) {
            lines.push(format!("AI: {}", crate::ai::classify::OUTSIDE_SCOPE));
        }
        lines.push(format!("AI: {}", findings.join("; ")));
        lines.push(format!("Model: {}", ai.model_line()));
    }
    if let Some(h) = key.heatmap {
        let withheld = key.drawn_heatmap().is_none();
        lines.push(format!(
            "Heatmap{}: {} {}",
            if withheld { " (not drawn)" } else { "" },
            h.verdict_line(),
            h.caption()
        ));
    }
    if !lines.is_empty() {
        lines.push("AI assistance for research and demonstration; not a diagnosis.".into());
    }
    lines
}

/// The measurements of a key image's annotations, one line each.
pub fn measurement_lines(key: &KeyImage<'_>) -> Vec<String> {
    let Some(set) = key.annotations else {
        return Vec::new();
    };
    let calibration = Calibration::of(&key.image.metadata);
    set.on_frame(key.frame)
        .filter_map(|a| {
            let text = match measure(key.image, a) {
                Ok(m) => m.describe(&calibration)?,
                Err(e) => format!("not measured: {e}"),
            };
            let name = a
                .label
                .clone()
                .unwrap_or_else(|| a.shape.kind_name().into());
            Some(format!("{name} #{}: {text}", a.id.0))
        })
        .collect()
}

fn is_dicom(image: &Image) -> bool {
    matches!(image.source, SourceFormat::Dicom { .. })
}

/// Writes the outputs `request` asks for. Every target is checked before
/// anything is computed; `progress` is called before each step and
/// cancels the export by returning `false` (files already written stay,
/// complete). With de-identification, a source marked Burned In
/// Annotation = YES is refused unless the options allow it.
pub fn export(
    report: &Report<'_>,
    request: &ExportRequest,
    progress: &mut dyn FnMut(Progress) -> bool,
) -> Result<Exported, ReportError> {
    let Some(key) = report.key_images.first() else {
        return Err(ReportError::Input {
            path: PathBuf::new(),
            reason: "a report needs at least one key image".into(),
        });
    };
    let sources: Vec<PathBuf> = report
        .key_images
        .iter()
        .map(|k| k.image.path.clone())
        .collect();
    let targets = request.targets();
    for (i, target) in targets.iter().enumerate() {
        if targets[..i].contains(target) {
            return Err(ReportError::Output {
                path: (*target).clone(),
                reason: "named for two outputs".into(),
            });
        }
        output::check_target(target, &sources, request.overwrite)?;
    }
    if let Some(path) = &request.parametric_map
        && key.heatmap.is_none()
    {
        return Err(ReportError::Output {
            path: path.clone(),
            reason: "a Parametric Map needs a heatmap of the key image".into(),
        });
    }
    let mut deid = request.deidentify.map(Deidentifier::new);
    if let Some(d) = &deid {
        for k in &report.key_images {
            let burned_in = k
                .image
                .metadata
                .burned_in_annotation
                .as_deref()
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("YES"));
            if burned_in && !d.options().allow_burned_in_annotation {
                return Err(deid::DeidError::BurnedInAnnotation {
                    path: k.image.path.clone(),
                }
                .into());
            }
        }
    }
    let total = 1 + targets.len();
    let mut done = 0;
    let mut step = |next: &'static str, done: &mut usize| -> Result<(), ReportError> {
        let go_on = progress(Progress {
            done: *done,
            total,
            next,
        });
        *done += 1;
        if go_on {
            Ok(())
        } else {
            Err(ReportError::Cancelled)
        }
    };
    step("key image", &mut done)?;
    let composed = keyimage::compose(key, &caption(report, key))?;
    let mut exported = Exported::default();
    if let Some((path, format)) = &request.key_image {
        step("annotated image", &mut done)?;
        let bytes = encode_key_image(&composed, *format, path)?;
        output::write_file(path, &bytes)?;
        exported.files.push(path.clone());
    }
    // Both DICOM objects are built before either is written, and
    // de-identified by one Deidentifier, so the SR's reference to the SC
    // and to the source survive the UID replacement.
    let source_dataset = if is_dicom(key.image) {
        Some(crate::imaging::dicom::read_dataset(&key.image.path)?.0)
    } else {
        None
    };
    let context = dicom_out::Context::new(key, source_dataset.as_ref());
    let sc = request
        .secondary_capture
        .as_ref()
        .map(|_| dicom_out::secondary_capture(&context, &composed));
    if let Some(path) = &request.secondary_capture {
        step("DICOM Secondary Capture", &mut done)?;
        let mut sc = sc.clone().expect("built above");
        if let Some(d) = deid.as_mut() {
            d.apply(&mut sc.dataset);
        }
        exported.secondary_capture_uid = Some(sc.sop_instance_uid());
        dicom_out::write(sc.dataset, path)?;
        exported.files.push(path.clone());
    }
    if let Some(path) = &request.structured_report {
        step("DICOM Structured Report", &mut done)?;
        let mut sr = dicom_out::structured_report(&context, report, sc.as_ref());
        if let Some(d) = deid.as_mut() {
            d.apply_generated(&mut sr.dataset);
        }
        exported.structured_report_uid = Some(sr.sop_instance_uid());
        dicom_out::write(sr.dataset, path)?;
        exported.files.push(path.clone());
    }
    if let (Some(path), Some(heatmap)) = (&request.parametric_map, key.heatmap) {
        step("DICOM Parametric Map", &mut done)?;
        let mut map = pmap::parametric_map(&context, source_dataset.as_ref(), heatmap);
        if let Some(d) = deid.as_mut() {
            d.apply_generated(&mut map.dataset);
        }
        exported.parametric_map_uid = Some(map.sop_instance_uid());
        dicom_out::write(map.dataset, path)?;
        exported.files.push(path.clone());
    }
    if let Some(path) = &request.pdf {
        step("PDF report", &mut done)?;
        let mut images = vec![composed.clone()];
        for k in &report.key_images[1..] {
            images.push(keyimage::compose(k, &caption(report, k))?);
        }
        let bytes =
            pdf::render(report, &images, deid.is_some()).map_err(|reason| ReportError::Pdf {
                path: path.clone(),
                reason,
            })?;
        output::write_file(path, &bytes)?;
        exported.files.push(path.clone());
    }
    progress(Progress {
        done: total,
        total,
        next: "done",
    });
    Ok(exported)
}

fn encode_key_image(
    image: &image::RgbaImage,
    format: KeyImageFormat,
    path: &std::path::Path,
) -> Result<Vec<u8>, ReportError> {
    let mut bytes = std::io::Cursor::new(Vec::new());
    let rgb = image::DynamicImage::ImageRgba8(image.clone()).to_rgb8();
    let result = match format {
        KeyImageFormat::Png => rgb.write_to(&mut bytes, image::ImageFormat::Png),
        KeyImageFormat::Jpeg => {
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 92).encode_image(&rgb)
        }
    };
    result.map_err(|e| ReportError::Output {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    Ok(bytes.into_inner())
}
