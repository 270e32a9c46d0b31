//! The AI panel: the model and engine, the per-label probabilities against
//! the operating point (never a diagnosis), scope warnings, the model card,
//! and the heatmap overlay controls with their faithfulness numbers.

use egui::{Color32, Pos2, Sense, Vec2};

use crate::ai::saliency::overlay::Colormap;
use crate::ai::saliency::{SaliencyMethod, Verdict};
use crate::ai::{Classification, Finding, Manifest};

use super::ai_assist::AiView;
use super::heatmap::{HeatmapState, Heatmaps};
use super::settings::{OverlaySettings, Settings};

/// The notice shown at all times.
pub const NOTICE: &str = "AI assistance — not a diagnosis";

/// What the reader asked for in the panel this frame.
#[derive(Debug, Default)]
pub struct PanelOutput {
    /// Run the AI now.
    pub run: bool,
    /// Open the model card.
    pub show_card: bool,
}

/// One probability bar with the operating point marked on it.
fn probability_bar(ui: &mut egui::Ui, finding: &Finding) {
    let width = ui.available_width().clamp(80.0, 260.0);
    let (rect, response) = ui.allocate_exact_size(Vec2::new(width, 14.0), Sense::hover());
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 2.0, Color32::from_gray(50));
    let mut fill = rect;
    fill.set_width(rect.width() * finding.probability.clamp(0.0, 1.0));
    let color = match finding.positive {
        Some(true) => Color32::from_rgb(220, 140, 60),
        _ => Color32::from_rgb(90, 140, 200),
    };
    painter.rect_filled(fill, 2.0, color);
    if let Some(t) = finding.threshold {
        let x = rect.left() + rect.width() * t.clamp(0.0, 1.0);
        painter.line_segment(
            [
                Pos2::new(x, rect.top() - 2.0),
                Pos2::new(x, rect.bottom() + 2.0),
            ],
            egui::Stroke::new(2.0, Color32::WHITE),
        );
    }
    let text = match finding.threshold {
        Some(t) => format!(
            "{} probability {:.2}, operating point {:.2}",
            finding.label, finding.probability, t
        ),
        None => format!("{} probability {:.2}", finding.label, finding.probability),
    };
    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::ProgressIndicator, true, &text));
}

fn classification(ui: &mut egui::Ui, c: &Classification) {
    let outside = c.in_scope == Some(false);
    if outside {
        // The reader ran it anyway: the numbers are shown muted, with no
        // call, under the words every output uses.
        ui.colored_label(
            Color32::from_rgb(240, 180, 60),
            crate::ai::classify::OUTSIDE_SCOPE,
        );
    }
    for finding in &c.findings {
        let line = format!("{}: probability {:.2}", finding.label, finding.probability);
        if outside {
            ui.weak(line);
            continue;
        }
        ui.label(line);
        probability_bar(ui, finding);
        if let Some(t) = finding.threshold {
            ui.label(format!("Operating point {t:.2}"));
        }
        if finding.is_finding {
            ui.label(finding.wording());
        }
        ui.add_space(4.0);
    }
    if c.in_scope.is_none() {
        ui.colored_label(
            Color32::from_rgb(200, 200, 140),
            format!("In scope? {}", crate::ai::classify::SCOPE_NOT_VERIFIABLE),
        );
    }
    ui.label(format!(
        "Latency {:.0} ms (preprocess {:.0} ms, inference {:.0} ms)",
        c.timing_ms.total, c.timing_ms.preprocess, c.timing_ms.inference
    ));
    let mut ep = c.execution_provider.name.clone();
    if let Some(reason) = &c.execution_provider.fallback_reason {
        ep.push_str(&format!(" (fallback: {reason})"));
    }
    ui.label(format!("Engine {} · EP {ep}", c.engine));
    for warning in &c.out_of_scope_warnings {
        ui.colored_label(
            Color32::from_rgb(240, 180, 60),
            format!("Out of scope: {warning}"),
        );
    }
}

/// What the panel knows about the image shown: its AI state and whether
/// it is within the model's scope.
#[derive(Clone, Copy)]
pub struct ShownImage<'a> {
    /// The classification's state.
    pub view: &'a AiView,
    /// The scope check (`None` without a model).
    pub scope: Option<&'a crate::ai::classify::ScopeCheck>,
}

/// Draws the panel. `heatmap` is the current image's heatmap state when
/// the overlay is on (`None`: no image or no model).
pub fn show(
    ui: &mut egui::Ui,
    model: Option<&Manifest>,
    status: &str,
    shown: Option<ShownImage<'_>>,
    settings: &mut Settings,
    heatmaps: &mut Heatmaps,
    heatmap: Option<&HeatmapState>,
) -> PanelOutput {
    let mut out = PanelOutput::default();
    ui.heading("AI assistance");
    ui.colored_label(Color32::from_rgb(200, 200, 140), NOTICE);
    if let Some(m) = model {
        ui.label(format!("Model {} {}", m.name, m.version));
        if ui.button("Model card").clicked() {
            out.show_card = true;
        }
    }
    ui.label(format!("Engine: {status}"));
    ui.checkbox(&mut settings.auto_run_ai, "Run automatically on each image");
    if ui.button("Run AI (A)").clicked() {
        out.run = true;
    }
    ui.separator();
    let scope = shown.and_then(|s| s.scope);
    match shown.map(|s| s.view) {
        None => {
            ui.label("No image shown.");
        }
        Some(AiView::NoModel(reason)) => {
            ui.label(format!("No model: {reason}"));
        }
        Some(AiView::Idle) => match scope {
            Some(check) if check.in_scope == Some(false) => {
                ui.colored_label(
                    Color32::from_rgb(240, 180, 60),
                    "Outside the model's scope: not run automatically (Run AI runs it anyway; the result is not interpretable)",
                );
                for reason in &check.reasons {
                    ui.label(format!("• {reason}"));
                }
            }
            _ => {
                ui.label("Not run on this image.");
            }
        },
        Some(AiView::Running) => {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Classifying…");
            });
        }
        Some(AiView::Failed(reason)) => {
            ui.colored_label(Color32::LIGHT_RED, format!("AI failed: {reason}"));
        }
        Some(AiView::Done(c)) => classification(ui, c),
    }
    ui.separator();
    heatmap_controls(ui, model, heatmaps, heatmap, &mut settings.overlay);
    out
}

fn heatmap_controls(
    ui: &mut egui::Ui,
    model: Option<&Manifest>,
    heatmaps: &mut Heatmaps,
    heatmap: Option<&HeatmapState>,
    overlay: &mut OverlaySettings,
) {
    ui.checkbox(&mut heatmaps.visible, "Heatmap overlay (H)");
    if !heatmaps.visible {
        return;
    }
    egui::ComboBox::from_label("Heatmap method")
        .selected_text(heatmaps.method.display_name())
        .show_ui(ui, |ui| {
            for m in [SaliencyMethod::GradCam, SaliencyMethod::Occlusion] {
                ui.selectable_value(&mut heatmaps.method, m, m.display_name());
            }
        });
    if let Some(model) = model {
        let current = heatmaps.target_index(model);
        let name = |i: usize| model.task.labels.get(i).cloned().unwrap_or_default();
        egui::ComboBox::from_label("Heatmap target class")
            .selected_text(name(current))
            .show_ui(ui, |ui| {
                for (i, label) in model.task.labels.iter().enumerate() {
                    if ui.selectable_label(current == i, label).clicked() {
                        heatmaps.target = Some(i);
                    }
                }
            });
    }
    ui.add(egui::Slider::new(&mut overlay.opacity, 0.0..=1.0).text("Heatmap opacity"));
    ui.add(egui::Slider::new(&mut overlay.threshold, 0.0..=1.0).text("Heatmap threshold"));
    let colormap = Colormap::ALL
        .get(overlay.colormap)
        .copied()
        .unwrap_or_default();
    egui::ComboBox::from_label("Heatmap colormap")
        .selected_text(format!("{colormap:?}"))
        .show_ui(ui, |ui| {
            for (i, c) in Colormap::ALL.iter().enumerate() {
                ui.selectable_value(&mut overlay.colormap, i, format!("{c:?}"));
            }
        });
    match heatmap {
        None => {
            ui.label("Heatmap: no image or no model");
        }
        Some(HeatmapState::Running(progress)) => {
            ui.horizontal_wrapped(|ui| {
                ui.spinner();
                match progress {
                    Some(p) if p.total > 0 => ui.label(format!(
                        "Computing heatmap… {}/{} occluded inputs",
                        p.done, p.total
                    )),
                    _ => ui.label("Computing heatmap…"),
                };
            });
        }
        Some(HeatmapState::Failed(e)) => {
            ui.label(format!("Heatmap unavailable: {e}"));
        }
        Some(HeatmapState::Ready(h)) => {
            match h.faithfulness.as_ref().map(|f| f.verdict) {
                Some(Verdict::NotFaithful) => {
                    ui.colored_label(Color32::from_rgb(255, 170, 60), h.verdict_line());
                    let mut show = heatmaps.may_draw(h);
                    if ui
                        .checkbox(&mut show, "Show the unfaithful map anyway")
                        .changed()
                    {
                        heatmaps.show_anyway(h, show);
                    }
                }
                Some(Verdict::Inconclusive) => {
                    ui.colored_label(Color32::from_rgb(230, 210, 120), h.verdict_line());
                }
                Some(Verdict::Faithful) | None => {
                    ui.label(h.verdict_line());
                }
            }
            ui.label(h.caption());
            if let Some(f) = &h.faithfulness {
                ui.label(format!(
                    "Faithfulness: deleting the top {:.0}% lowers the log-odds by {:.3} \
                     (random pixels: {:.3} ± {:.3})",
                    f.fraction * 100.0,
                    f.salient_score_drop,
                    f.random_score_drop_mean,
                    f.random_score_drop_sd
                ));
            }
        }
    }
}

/// The model card window's contents; true when "Close model card" was
/// clicked.
pub fn model_card(ui: &mut egui::Ui, model: &Manifest) -> bool {
    let card = &model.card;
    ui.heading(format!("{} {}", model.name, model.version));
    let close = ui.button("Close model card").clicked();
    egui::ScrollArea::vertical()
        .id_salt("model card")
        .show(ui, |ui| {
            for (title, text) in [
                ("Intended use", &card.intended_use),
                ("Training data", &card.training_data),
                ("Performance", &card.performance),
                ("Limitations", &card.limitations),
                ("Licence", &card.licence),
                ("Provenance", &card.provenance),
                ("Citation", &card.citation),
            ] {
                ui.strong(title);
                ui.label(text.as_str());
                ui.add_space(6.0);
            }
            for op in &model.operating_points {
                ui.label(format!(
                    "Operating point for {}: {:.2} ({})",
                    op.label, op.threshold, op.source
                ));
            }
        });
    close
}
