//! The evaluation's plots as PNG: the ROC curve of each label (its
//! operating point marked, AUC with its interval in the legend) and the
//! calibration (reliability) diagram in 10 equal-width probability bins.
//!
//! Drawn with `plotters` into an RGB buffer, text set in the bundled Noto
//! Sans (no system font is looked for), and written atomically with a
//! `Description` saying what the plot shows.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::prelude::*;

use super::report::{Evaluation, LabelReport};
use crate::output::{OutputError, png_with_text, write_file};

/// The ROC plot's file name in the plots folder.
pub const ROC_FILE: &str = "roc.png";
/// The calibration plot's file name in the plots folder.
pub const CALIBRATION_FILE: &str = "calibration.png";
/// Probability bins of the reliability diagram.
pub const BINS: usize = 10;
/// Plot size in pixels.
pub const SIZE: (u32, u32) = (800, 600);

/// The font family every plot's text is set in (registered as Noto Sans).
const FAMILY: &str = "sans-serif";

/// One colour per label, cycling.
const COLOURS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(255, 127, 14),
    RGBColor(23, 190, 207),
];

/// The files the plots are written to in `dir`.
pub fn targets(dir: &Path) -> [PathBuf; 2] {
    [dir.join(ROC_FILE), dir.join(CALIBRATION_FILE)]
}

/// Registers the bundled font with plotters once.
fn register_font() -> Result<(), String> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            plotters::style::register_font(FAMILY, FontStyle::Normal, crate::fonts::NOTO_SANS)
                .map_err(|_| "the bundled font cannot be used for plots".to_string())
        })
        .clone()
}

fn fmt(v: Option<f64>) -> String {
    v.map_or_else(|| "n/a".into(), |v| format!("{v:.3}"))
}

fn colour(i: usize) -> RGBColor {
    COLOURS[i % COLOURS.len()]
}

type Chart<'a, 'b> = ChartContext<
    'a,
    BitMapBackend<'b>,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

/// Draws a unit-square chart with its axes and the diagonal, then
/// `series` on it, then the legend; returns the RGB pixels.
fn draw(
    caption: &str,
    x_desc: &str,
    y_desc: &str,
    diagonal: &str,
    series: impl FnOnce(&mut Chart) -> Result<(), String>,
) -> Result<Vec<u8>, String> {
    register_font()?;
    let (w, h) = SIZE;
    let mut pixels = vec![0u8; w as usize * h as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, SIZE).into_drawing_area();
        let e = |e: &dyn std::fmt::Display| e.to_string();
        root.fill(&WHITE).map_err(|x| e(&x))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(caption, (FAMILY, 20))
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(56)
            .build_cartesian_2d(0f64..1f64, 0f64..1f64)
            .map_err(|x| e(&x))?;
        chart
            .configure_mesh()
            .x_desc(x_desc)
            .y_desc(y_desc)
            .label_style((FAMILY, 14))
            .axis_desc_style((FAMILY, 15))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(|x| e(&x))?;
        chart
            .draw_series(LineSeries::new(
                [(0.0, 0.0), (1.0, 1.0)],
                RGBColor(150, 150, 150).stroke_width(1),
            ))
            .map_err(|x| e(&x))?
            .label(diagonal)
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RGBColor(150, 150, 150)));
        series(&mut chart)?;
        chart
            .configure_series_labels()
            .label_font((FAMILY, 14))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .position(SeriesLabelPosition::LowerRight)
            .draw()
            .map_err(|x| e(&x))?;
        root.present().map_err(|x| e(&x))?;
    }
    Ok(pixels)
}

/// The ROC plot's pixels.
fn roc(evaluation: &Evaluation) -> Result<Vec<u8>, String> {
    let caption = format!(
        "ROC: {} {} on {} images",
        evaluation.model.id, evaluation.model.version, evaluation.evaluated
    );
    draw(
        &caption,
        "1 - specificity (false-positive rate)",
        "sensitivity (true-positive rate)",
        "chance",
        |chart| {
            for (i, (label, report)) in evaluation.per_label.0.iter().enumerate() {
                let points = report.sample.roc_points();
                if points.is_empty() {
                    continue;
                }
                let c = colour(i);
                let auc = &report.auc;
                let legend = format!(
                    "{label}: AUC {} [{}, {}]",
                    fmt(auc.value),
                    fmt(auc.ci_low),
                    fmt(auc.ci_high)
                );
                chart
                    .draw_series(LineSeries::new(points, c.stroke_width(2)))
                    .map_err(|e| e.to_string())?
                    .label(legend)
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2))
                    });
                if let Some(point) = operating_point(report) {
                    chart
                        .draw_series(std::iter::once(Circle::new(point, 6, c.filled())))
                        .map_err(|e| e.to_string())?
                        .label(format!(
                            "{label}: operating point {:.3}",
                            report.operating_point_threshold
                        ))
                        .legend(move |(x, y)| Circle::new((x + 10, y), 5, c.filled()));
                }
            }
            Ok(())
        },
    )
}

/// (1 − specificity, sensitivity) at the operating point.
fn operating_point(report: &LabelReport) -> Option<(f64, f64)> {
    Some((1.0 - report.specificity.value?, report.sensitivity.value?))
}

/// The calibration plot's pixels.
fn calibration(evaluation: &Evaluation) -> Result<Vec<u8>, String> {
    let caption = format!(
        "Calibration: {} {} on {} images, {BINS} bins",
        evaluation.model.id, evaluation.model.version, evaluation.evaluated
    );
    draw(
        &caption,
        "mean predicted probability in the bin",
        "fraction of the bin's images that are positive",
        "perfect calibration",
        |chart| {
            for (i, (label, report)) in evaluation.per_label.0.iter().enumerate() {
                let bins = report.sample.calibration(BINS);
                if bins.is_empty() {
                    continue;
                }
                let c = colour(i);
                let points: Vec<(f64, f64)> = bins
                    .iter()
                    .map(|b| (b.mean_probability, b.observed))
                    .collect();
                chart
                    .draw_series(LineSeries::new(points.clone(), c.stroke_width(2)))
                    .map_err(|e| e.to_string())?
                    .label(format!("{label} ({} images)", report.sample.len()))
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2))
                    });
                chart
                    .draw_series(points.into_iter().map(|p| Circle::new(p, 4, c.filled())))
                    .map_err(|e| e.to_string())?;
                // How many images each point rests on.
                chart
                    .draw_series(bins.iter().map(|b| {
                        Text::new(
                            format!("n={}", b.count),
                            (b.mean_probability + 0.01, b.observed + 0.03),
                            (FAMILY, 12).into_font().color(&c),
                        )
                    }))
                    .map_err(|e| e.to_string())?;
            }
            Ok(())
        },
    )
}

/// Writes `pixels` (RGB, [`SIZE`]) to `path` as PNG with `description`.
fn save(path: &Path, pixels: Vec<u8>, description: &str) -> Result<(), OutputError> {
    let fail = |reason: String| OutputError {
        path: path.to_path_buf(),
        reason,
    };
    let rgb = image::RgbImage::from_raw(SIZE.0, SIZE.1, pixels)
        .ok_or_else(|| fail("the plot buffer has the wrong size".into()))?;
    let rgba = image::DynamicImage::ImageRgb8(rgb).to_rgba8();
    let software = format!("Hilum {}", env!("CARGO_PKG_VERSION"));
    let bytes = png_with_text(
        &rgba,
        &[("Description", description), ("Software", &software)],
    )
    .map_err(fail)?;
    write_file(path, &bytes)
}

/// Draws and writes both plots into `dir` (checked beforehand with
/// [`targets`]); returns the files written.
pub fn write_plots(dir: &Path, evaluation: &Evaluation) -> Result<Vec<PathBuf>, OutputError> {
    let [roc_path, calibration_path] = targets(dir);
    let caveat = evaluation.caveat.as_deref().unwrap_or("");
    let what = format!(
        "{} {} on {} evaluated images ({} out of scope, {} failed). {caveat}",
        evaluation.model.id,
        evaluation.model.version,
        evaluation.evaluated,
        evaluation.out_of_scope,
        evaluation.failed
    );
    let fail = |path: &Path| {
        let path = path.to_path_buf();
        move |reason: String| OutputError { path, reason }
    };
    let pixels = roc(evaluation).map_err(fail(&roc_path))?;
    save(
        &roc_path,
        pixels,
        &format!("ROC curves with the operating points: {what}"),
    )?;
    let pixels = calibration(evaluation).map_err(fail(&calibration_path))?;
    save(
        &calibration_path,
        pixels,
        &format!("Calibration (reliability diagram, {BINS} equal-width bins): {what}"),
    )?;
    Ok(vec![roc_path, calibration_path])
}
