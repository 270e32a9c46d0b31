//! The "Results from other systems" panel: every map, segmentation,
//! report and presentation state opened, what made it, whether it is on
//! the image shown, what it refers to that is not loaded, and what it
//! says; each can be hidden, each segment toggled, a presentation state's
//! window and displayed area applied.

use egui::{Color32, RichText};

use crate::annotations::Point;
use crate::annotations::foreign::{
    ForeignObject, Match, ParametricMap, PresentationState, Segmentation, StructuredReport,
};
use crate::imaging::voi::{VoiFunction, Window};

use super::foreign::{ForeignResults, format_value};

/// What the reader asked for in the panel this frame.
#[derive(Debug, Default, PartialEq)]
pub struct ForeignPanelOutput {
    /// Apply a presentation state's window to the active viewport.
    pub window: Option<Window>,
    /// Fit the active viewport to this image area (left-top, right-bottom,
    /// image coordinates).
    pub area: Option<(Point, Point)>,
    /// Show this image (library index) and frame in the active viewport.
    pub go_to: Option<(usize, usize)>,
}

const MUTED: Color32 = Color32::from_gray(160);
const WARN: Color32 = Color32::from_rgb(255, 170, 60);
/// UIDs listed per object before "and N more".
const LISTED_UIDS: usize = 4;

/// The image in the active viewport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shown {
    /// Library index.
    pub image: usize,
    /// Frame.
    pub frame: usize,
    /// (columns, rows).
    pub size: (usize, usize),
}

/// Draws the panel about the image `shown` in the active viewport.
pub fn show(
    ui: &mut egui::Ui,
    results: &mut ForeignResults,
    shown: Option<Shown>,
) -> ForeignPanelOutput {
    let mut out = ForeignPanelOutput::default();
    let count = results.objects().len();
    if count == 0 && results.errors.is_empty() {
        return out;
    }
    egui::CollapsingHeader::new(format!("Results from other systems ({count})"))
        .default_open(true)
        .show(ui, |ui| {
            ui.label(
                RichText::new("Made by other software; shown as received, not checked by Hilum.")
                    .small()
                    .color(MUTED),
            );
            // What cannot be drawn on the shown image, and why, once for all.
            let not_drawn = shown
                .map(|s| results.on(s.image, s.frame, s.size).not_drawn)
                .unwrap_or_default();
            for i in 0..count {
                ui.separator();
                object_ui(ui, results, i, shown, &not_drawn, &mut out);
            }
            for e in &results.errors {
                ui.separator();
                ui.colored_label(WARN, format!("Could not read {e}"));
            }
        });
    out
}

fn title(object: &ForeignObject) -> String {
    let h = object.header();
    let name = h
        .content_label
        .clone()
        .or_else(|| h.series_description.clone())
        .or_else(|| h.path.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_default();
    format!("{}: {name}", object.kind_name())
}

fn object_ui(
    ui: &mut egui::Ui,
    results: &mut ForeignResults,
    i: usize,
    shown: Option<Shown>,
    not_drawn: &[(usize, String)],
    out: &mut ForeignPanelOutput,
) {
    let mut visible = results.is_shown(i);
    let object = &results.objects()[i];
    let text = title(object);
    let drawable =
        !matches!(object, ForeignObject::StructuredReport(sr) if sr.coordinates.is_empty());
    if drawable {
        if ui
            .checkbox(&mut visible, RichText::new(&text).strong())
            .changed()
        {
            results.set_shown(i, visible);
        }
    } else {
        ui.label(RichText::new(&text).strong());
    }
    let object = &results.objects()[i];
    let h = object.header();
    let made_by: Vec<&str> = [
        &h.algorithm,
        &h.manufacturer,
        &h.model_name,
        &h.software_versions,
    ]
    .into_iter()
    .filter_map(|v| v.as_deref())
    .collect();
    if !made_by.is_empty() {
        ui.label(RichText::new(format!("By {}", made_by.join(" · "))).small());
    }
    if let Some(d) = &h.content_description {
        ui.label(RichText::new(d).small());
    }
    if let Some(m) = results.matched(i) {
        references_ui(ui, m, shown, out);
    }
    for (_, why) in not_drawn.iter().filter(|(o, _)| *o == i) {
        ui.colored_label(WARN, format!("On this image, but {why}"));
    }
    match &results.objects()[i] {
        ForeignObject::ParametricMap(map) => map_ui(ui, map),
        ForeignObject::Segmentation(seg) => {
            let rows = segment_rows(seg);
            segments_ui(ui, results, i, &rows);
        }
        ForeignObject::StructuredReport(sr) => report_ui(ui, sr),
        ForeignObject::PresentationState(ps) => state_ui(ui, ps, out),
    }
    for note in &results.objects()[i].header().notes {
        ui.label(
            RichText::new(format!("Not read: {note}"))
                .small()
                .color(MUTED),
        );
    }
}

fn references_ui(ui: &mut egui::Ui, m: &Match, shown: Option<Shown>, out: &mut ForeignPanelOutput) {
    let images = m.images();
    let here = shown.is_some_and(|s| {
        m.resolved
            .iter()
            .any(|r| r.image == s.image && r.frame.is_none_or(|f| f == s.frame))
    });
    ui.horizontal(|ui| {
        let text = match (images.len(), here) {
            (0, _) => "On no loaded image".to_string(),
            (n, true) => format!("On this image (refers to {n} loaded)"),
            (n, false) => format!("On {n} loaded image{}", if n == 1 { "" } else { "s" }),
        };
        ui.label(RichText::new(text).small());
        if !here
            && let Some(first) = m.resolved.first()
            && ui.small_button("Go to").clicked()
        {
            out.go_to = Some((first.image, first.frame.unwrap_or(0)));
        }
    });
    let missing = m.missing_uids();
    if !missing.is_empty() {
        ui.colored_label(
            WARN,
            format!(
                "Refers to {} image{} not loaded:",
                missing.len(),
                if missing.len() == 1 { "" } else { "s" }
            ),
        );
        for uid in missing.iter().take(LISTED_UIDS) {
            ui.label(RichText::new(*uid).small().monospace());
        }
        if missing.len() > LISTED_UIDS {
            ui.label(RichText::new(format!("and {} more", missing.len() - LISTED_UIDS)).small());
        }
    }
}

fn map_ui(ui: &mut egui::Ui, map: &ParametricMap) {
    let Some(mapping) = map.mapping(0) else {
        return;
    };
    let label = mapping
        .label
        .clone()
        .or_else(|| mapping.explanation.clone())
        .unwrap_or_else(|| "value".into());
    let unit = mapping.unit_text();
    let range = map
        .value_range()
        .map(|(lo, hi)| format!("{} to {} {unit}", format_value(lo), format_value(hi)))
        .unwrap_or_else(|| "no finite value".into());
    ui.label(format!(
        "{label}: {range} · {} × {} × {} frame{}",
        map.columns,
        map.rows,
        map.frames.len(),
        if map.frames.len() == 1 { "" } else { "s" }
    ));
    for (concept, value) in &mapping.quantity {
        ui.label(RichText::new(format!("{concept}: {value}")).small());
    }
}

/// A segment as the panel lists it (copied out: the checkboxes change
/// `results`, which holds the segmentation).
struct SegmentRow {
    number: u16,
    label: String,
    color: [u8; 3],
    detail: Option<String>,
}

fn segment_rows(seg: &Segmentation) -> Vec<SegmentRow> {
    seg.segments
        .iter()
        .map(|s| SegmentRow {
            number: s.number,
            label: s.label.clone(),
            color: s.color,
            detail: s
                .property_type
                .as_ref()
                .map(|c| c.meaning.clone())
                .or_else(|| s.description.clone()),
        })
        .collect()
}

fn segments_ui(ui: &mut egui::Ui, results: &mut ForeignResults, i: usize, rows: &[SegmentRow]) {
    for row in rows {
        ui.horizontal(|ui| {
            let (rect, _) = ui.allocate_exact_size(egui::vec2(12.0, 12.0), egui::Sense::hover());
            let [r, g, b] = row.color;
            ui.painter()
                .rect_filled(rect, 2.0, Color32::from_rgb(r, g, b));
            let mut on = results.is_segment_shown(i, row.number);
            if ui.checkbox(&mut on, &row.label).changed() {
                results.set_segment_shown(i, row.number, on);
            }
            if let Some(d) = &row.detail {
                ui.label(RichText::new(d).small().color(MUTED));
            }
        });
    }
}

fn report_ui(ui: &mut egui::Ui, sr: &StructuredReport) {
    if let Some(t) = &sr.title {
        ui.label(&t.meaning);
    }
    let status: Vec<&str> = [&sr.completion, &sr.verification]
        .into_iter()
        .filter_map(|v| v.as_deref())
        .collect();
    if !status.is_empty() {
        ui.label(RichText::new(status.join(", ")).small().color(MUTED));
    }
    let group_name = |g: Option<usize>| {
        g.and_then(|g| sr.groups.get(g))
            .and_then(|g| g.title())
            .map(|t| format!("{t}: "))
            .unwrap_or_default()
    };
    for f in &sr.findings {
        ui.label(format!("{}{} — {}", group_name(f.group), f.name, f.value));
    }
    for m in &sr.measurements {
        let value = match (m.value, &m.qualifier) {
            (Some(v), _) => format!("{} {}", format_value(v), m.unit_text()),
            (None, Some(q)) => q.meaning.clone(),
            (None, None) => "no value".into(),
        };
        ui.label(format!(
            "{}{} = {}",
            group_name(m.group),
            m.name,
            value.trim()
        ));
    }
    if sr.findings.is_empty() && sr.measurements.is_empty() {
        ui.label(
            RichText::new("No findings or measurements")
                .small()
                .color(MUTED),
        );
    }
}

fn state_ui(ui: &mut egui::Ui, ps: &PresentationState, out: &mut ForeignPanelOutput) {
    let texts: usize = ps.annotations.iter().map(|a| a.texts.len()).sum();
    let graphics: usize = ps.annotations.iter().map(|a| a.graphics.len()).sum();
    ui.label(format!("{graphics} graphics, {texts} texts"));
    for w in &ps.windows {
        let (Some(center), Some(width)) = (w.center, w.width) else {
            if w.has_lut {
                ui.label(
                    RichText::new("VOI LUT table (not applied)")
                        .small()
                        .color(MUTED),
                );
            }
            continue;
        };
        ui.horizontal(|ui| {
            let name = w.explanation.as_deref().unwrap_or("window");
            ui.label(format!(
                "{name}: C {} W {}",
                format_value(center),
                format_value(width)
            ));
            if ui.small_button("Apply window").clicked() {
                out.window = Some(Window {
                    center,
                    width,
                    function: w
                        .function
                        .as_deref()
                        .map(VoiFunction::parse)
                        .unwrap_or_default(),
                });
            }
        });
    }
    for a in &ps.displayed_areas {
        ui.horizontal(|ui| {
            ui.label(format!(
                "Displayed area ({}, {}) to ({}, {})",
                a.top_left[0], a.top_left[1], a.bottom_right[0], a.bottom_right[1]
            ));
            if ui.small_button("Apply area").clicked() {
                out.area = Some(a.pixel_rect());
            }
        });
    }
}
