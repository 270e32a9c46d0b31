//! The menu bar, the annotation toolbar and the status bar.

use super::Viewer;
use crate::app::annotate::Tool;
use crate::app::settings::Layout;
use crate::app::shortcuts::{self, Action};

impl Viewer {
    /// The tool row above the viewports: one button per tool (with its
    /// shortcut), undo, redo and delete.
    pub(super) fn toolbar(&mut self, ui: &mut egui::Ui) {
        ui.horizontal_wrapped(|ui| {
            for tool in Tool::ALL {
                let keys = shortcuts::keys_for(ui.ctx(), Action::Tool(tool));
                if ui
                    .selectable_label(self.annotator.tool == tool, tool.name())
                    .on_hover_text(keys)
                    .clicked()
                {
                    self.apply(Action::Tool(tool), ui.ctx().pixels_per_point());
                }
            }
            ui.separator();
            for (action, label) in [
                (Action::Undo, "Undo"),
                (Action::Redo, "Redo"),
                (Action::DeleteAnnotation, "Delete annotation"),
            ] {
                let keys = shortcuts::keys_for(ui.ctx(), action);
                if ui.button(label).on_hover_text(keys).clicked() {
                    self.apply(action, ui.ctx().pixels_per_point());
                }
            }
            if !self.annotator.saves() {
                ui.colored_label(
                    egui::Color32::LIGHT_RED,
                    "Annotations are not saved (no data folder)",
                );
            }
            if let Some(e) = self.annotator.save_errors.last() {
                ui.colored_label(egui::Color32::LIGHT_RED, e);
            }
        });
    }

    pub(super) fn menu_bar(&mut self, ui: &mut egui::Ui) {
        egui::Panel::top("menu").show(ui, |ui| {
            egui::MenuBar::new().ui(ui, |ui| {
                ui.menu_button("File", |ui| {
                    if ui.button("Open file(s)…").clicked() {
                        self.open_dialog(false);
                    }
                    if ui.button("Open folder…").clicked() {
                        self.open_dialog(true);
                    }
                    if ui
                        .button("Open from PACS…")
                        .on_hover_text(crate::app::shortcuts::keys_for(ui.ctx(), Action::OpenPacs))
                        .clicked()
                    {
                        self.pacs.open = true;
                    }
                    if ui
                        .button("Triage a folder…")
                        .on_hover_text(
                            "Run the model over a folder and open the results as a worklist",
                        )
                        .clicked()
                    {
                        self.pick_triage_folder();
                    }
                    if ui.button("Export…").clicked() {
                        self.export.open = true;
                    }
                });
                ui.menu_button("Edit", |ui| {
                    let ctx = ui.ctx().clone();
                    for (action, label) in [
                        (Action::Undo, "Undo annotation change"),
                        (Action::Redo, "Redo annotation change"),
                        (Action::DeleteAnnotation, "Delete selected annotation"),
                    ] {
                        if ui.button(label).clicked() {
                            self.apply(action, ctx.pixels_per_point());
                        }
                    }
                });
                ui.menu_button("View", |ui| {
                    for layout in [Layout::Single, Layout::SideBySide, Layout::Quad] {
                        ui.radio_value(
                            &mut self.settings.layout,
                            layout,
                            format!("Layout {}", layout.label()),
                        );
                    }
                    ui.checkbox(&mut self.settings.corner_text, "Four-corner text");
                    if ui.button("Settings…").clicked() {
                        self.show_settings = true;
                    }
                    ui.checkbox(&mut self.settings.tag_browser, "DICOM tags");
                    ui.checkbox(&mut self.settings.ai_panel, "AI panel");
                    ui.checkbox(
                        &mut self.settings.hanging_protocols,
                        "Layouts per modality when a study opens",
                    );
                    ui.checkbox(
                        &mut self.settings.link_scroll,
                        "Link scrolling (same Frame of Reference, by position)",
                    );
                    ui.checkbox(
                        &mut self.settings.link_window,
                        "Link window/level (same modality)",
                    );
                    ui.checkbox(
                        &mut self.settings.link_zoom,
                        "Link zoom and pan (same mm per point)",
                    );
                    ui.checkbox(&mut self.settings.reference_lines, "Reference lines");
                    if ui
                        .button("Link the shown studies here")
                        .on_hover_text(shortcuts::keys_for(ui.ctx(), Action::LinkHere))
                        .clicked()
                    {
                        self.apply(Action::LinkHere, ui.ctx().pixels_per_point());
                    }
                    if ui
                        .button("Compare with the prior study")
                        .on_hover_text(shortcuts::keys_for(ui.ctx(), Action::ComparePrior))
                        .clicked()
                    {
                        self.apply(Action::ComparePrior, ui.ctx().pixels_per_point());
                    }
                });
                if ui.button("Shortcuts (F1)").clicked() {
                    self.show_help = !self.show_help;
                }
                if self.dialog.is_some() {
                    ui.label("Waiting for the file dialog…");
                    if ui.button("Cancel dialog").clicked() {
                        // The thread may stay blocked in the portal; the
                        // viewer stops waiting for it.
                        self.dialog = None;
                    }
                }
            });
        });
    }

    pub(super) fn status_bar(&mut self, ui: &mut egui::Ui) {
        egui::Panel::bottom("status").show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.label(self.hover.clone().unwrap_or_else(|| "—".into()));
                ui.separator();
                if let Some(hint) = self.annotator.hint() {
                    ui.label(hint);
                    ui.separator();
                }
                ui.label(format!("AI engine: {}", self.ai.status()));
                ui.separator();
                ui.label(self.display_path_text(ui.ctx()));
                ui.separator();
                for message in [
                    &self.mpr_message,
                    &self.links.message,
                    &self.hanging.message,
                ]
                .into_iter()
                .flatten()
                {
                    ui.colored_label(egui::Color32::from_rgb(255, 200, 120), message);
                    ui.separator();
                }
                let (done, total) = self
                    .loads
                    .iter()
                    .fold((0, 0), |(d, t), j| (d + j.done, t + j.total));
                if self.loading() {
                    ui.spinner();
                    ui.label(format!("Loading {done}/{total}"));
                } else {
                    ui.label(format!("{} images", self.library.images.len()));
                }
                if !self.library.errors.is_empty() {
                    ui.separator();
                    ui.colored_label(
                        egui::Color32::LIGHT_RED,
                        format!("{} failed", self.library.errors.len()),
                    );
                }
            });
        });
    }
}

impl Viewer {
    /// Which path draws the active viewport, for the status bar.
    fn display_path_text(&self, ctx: &egui::Context) -> String {
        match crate::app::gpu::support(ctx) {
            crate::app::gpu::GpuSupport::Ready { adapter, .. } if self.gpu_drawn(self.active) => {
                format!("Display: GPU ({adapter})")
            }
            crate::app::gpu::GpuSupport::Ready { .. } => {
                "Display: CPU (this image is not one the GPU path takes: colour, palette or over 16 bits)".into()
            }
            crate::app::gpu::GpuSupport::Unavailable(reason) => format!("Display: CPU ({reason})"),
        }
    }
}
