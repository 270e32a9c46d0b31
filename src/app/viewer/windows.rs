//! The floating windows: settings, export, the text note, shortcuts and
//! the model card, and the drop highlight.

use std::path::{Path, PathBuf};

use super::Viewer;
use crate::ai::Engine;
use crate::app::annotate::Draft;
use crate::app::shortcuts::{Action, SHORTCUTS};
use crate::app::{ai_panel, viewport};

impl Viewer {
    /// The settings window: AI model and ONNX Runtime library (applied by
    /// restarting the AI; the manifest is read off the UI thread), auto-run,
    /// cine speed.
    pub(super) fn settings_window(&mut self, ctx: &egui::Context) {
        if !self.show_settings {
            return;
        }
        let mut open = self.show_settings;
        let mut apply = false;
        egui::Window::new("Settings")
            .open(&mut open)
            .show(ctx, |ui| {
                let path_field = |ui: &mut egui::Ui, label: &str, value: &mut Option<PathBuf>| {
                    let mut text = value
                        .as_ref()
                        .map(|p| p.display().to_string())
                        .unwrap_or_default();
                    ui.horizontal(|ui| {
                        let l = ui.label(label);
                        if ui
                            .add(egui::TextEdit::singleline(&mut text).hint_text("default"))
                            .labelled_by(l.id)
                            .changed()
                        {
                            *value = (!text.trim().is_empty()).then(|| PathBuf::from(text.trim()));
                        }
                    });
                };
                path_field(ui, "Model folder or manifest", &mut self.settings.model);
                path_field(ui, "ONNX Runtime library", &mut self.settings.ort_library);
                if let Some(note) = ort_library_note(
                    self.ai.engine().as_ref(),
                    self.settings.ort_library.as_deref(),
                ) {
                    ui.colored_label(egui::Color32::from_rgb(240, 200, 80), note);
                }
                ui.horizontal(|ui| {
                    apply = ui.button("Apply AI settings").clicked();
                    if self.ai_restart.is_some() {
                        ui.spinner();
                        ui.label("Reading the model…");
                    }
                });
                ui.checkbox(&mut self.settings.auto_run_ai, "Run the AI automatically");
                ui.separator();
                ui.strong("Window presets (keys 1 …)");
                egui::Grid::new("preset grid").show(ui, |ui| {
                    for (i, p) in self.settings.presets.iter_mut().enumerate() {
                        ui.label(format!("{}", i + 1));
                        ui.text_edit_singleline(&mut p.name);
                        ui.add(egui::DragValue::new(&mut p.center).prefix("level "));
                        ui.add(
                            egui::DragValue::new(&mut p.width)
                                .prefix("width ")
                                .range(1.0..=100000.0),
                        );
                        ui.end_row();
                    }
                });
                if ui.button("Restore the CT presets").clicked() {
                    self.settings.presets = crate::app::settings::default_presets();
                }
                ui.separator();
                self.hanging_rules_ui(ui);
                ui.separator();
                ui.add(
                    egui::Slider::new(&mut self.settings.cine_fps, 1.0..=60.0)
                        .text("Cine frames per second"),
                );
                ui.label("Settings are kept between runs.");
            });
        self.show_settings = open;
        if apply {
            self.restart_ai(ctx);
        }
    }

    /// The layouts per modality, editable: one row per rule, first match
    /// wins.
    fn hanging_rules_ui(&mut self, ui: &mut egui::Ui) {
        use crate::app::hanging::{Arrangement, HangingRule, default_rules};
        ui.strong("Layouts per modality (when a study opens; first match wins)");
        ui.checkbox(&mut self.settings.hanging_protocols, "Apply them");
        let presets: Vec<String> = self
            .settings
            .presets
            .iter()
            .map(|p| p.name.clone())
            .collect();
        let mut remove = None;
        egui::Grid::new("hanging grid").show(ui, |ui| {
            for (i, rule) in self.settings.hanging.iter_mut().enumerate() {
                ui.add(
                    egui::TextEdit::singleline(&mut rule.modality)
                        .desired_width(40.0)
                        .hint_text("CT, * …"),
                );
                egui::ComboBox::from_id_salt(("hanging arrangement", i))
                    .selected_text(rule.arrangement.label())
                    .show_ui(ui, |ui| {
                        for a in Arrangement::ALL {
                            ui.selectable_value(&mut rule.arrangement, a, a.label());
                        }
                    });
                egui::ComboBox::from_id_salt(("hanging preset", i))
                    .selected_text(
                        rule.preset
                            .clone()
                            .unwrap_or_else(|| "file's window".into()),
                    )
                    .show_ui(ui, |ui| {
                        ui.selectable_value(&mut rule.preset, None, "file's window");
                        for name in &presets {
                            ui.selectable_value(&mut rule.preset, Some(name.clone()), name);
                        }
                    });
                if rule.arrangement == Arrangement::Mpr {
                    ui.add(
                        egui::DragValue::new(&mut rule.min_slices)
                            .range(2..=10000)
                            .prefix("from ")
                            .suffix(" slices"),
                    );
                } else {
                    ui.label("");
                }
                ui.checkbox(&mut rule.ai_panel, "AI panel");
                ui.checkbox(&mut rule.with_prior, "prior beside");
                if ui.button("Remove").clicked() {
                    remove = Some(i);
                }
                ui.end_row();
            }
        });
        if let Some(i) = remove {
            self.settings.hanging.remove(i);
        }
        ui.horizontal(|ui| {
            if ui.button("Add a rule").clicked() {
                self.settings.hanging.push(HangingRule::default());
            }
            if ui.button("Restore the default layouts").clicked() {
                self.settings.hanging = default_rules();
            }
        });
    }

    /// The export dialog, and starting the export it asks for.
    pub(super) fn export_window(&mut self, ctx: &egui::Context) {
        if self.export.poll() {
            ctx.request_repaint();
        }
        if self.export.is_running() {
            ctx.request_repaint_after(std::time::Duration::from_millis(100));
        }
        if !self.export.open {
            return;
        }
        let shown = self.shown(self.active);
        let image = self.active_image().cloned();
        // A name after the source file, except when de-identifying: file
        // names often carry the patient's name or ID.
        if let Some(image) = &image {
            let suggested = if self.export.deidentify {
                "deidentified-report".to_string()
            } else {
                let stem = image
                    .path
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "image".into());
                format!("{stem}-report")
            };
            let untouched = self.export.base_name.is_empty()
                || self.export.suggested_name.as_ref() == Some(&self.export.base_name);
            if untouched {
                self.export.base_name = suggested.clone();
                self.export.suggested_name = Some(suggested);
            }
        }
        let classification = image.as_ref().and_then(|i| match self.ai.view(i) {
            crate::app::ai_assist::AiView::Done(c) => Some(c),
            _ => None,
        });
        let heatmap = self.current_heatmap();
        let out = self.export.show(
            ctx,
            image.is_some(),
            classification.is_some(),
            heatmap.is_some(),
        );
        if let Some(paths) = out.send_to_pacs {
            let ctx = ctx.clone();
            self.pacs.send(paths, move || ctx.request_repaint());
        }
        if !out.export {
            return;
        }
        let (Some(image), Some((index, frame)), Ok(request)) =
            (image, shown, self.export.request())
        else {
            return;
        };
        let view = &self.viewports[self.active].view;
        let region = self.rects[self.active]
            .filter(|_| self.export.visible_region)
            .and_then(|rect| viewport::visible_region(view, &image, rect));
        let ai = classification
            .zip(self.ai.classifier())
            .map(|(c, classifier)| {
                let card = &classifier.model().card;
                crate::reports::AiSummary {
                    classification: (*c).clone(),
                    engine_detail: classifier.engine_detail(),
                    intended_use: card.intended_use.clone(),
                    limitations: card.limitations.clone(),
                }
            });
        let job = crate::app::export::ExportJob {
            image,
            frame,
            window: view.window.clone(),
            invert: view.invert,
            region,
            annotations: self.annotator.of(index).map(|a| a.set().clone()),
            heatmap: heatmap.filter(|_| self.export.include_heatmap),
            heatmap_style: self.settings.overlay.style(),
            ai,
            impression: self.export.impression.clone(),
            reader: self.export.reader.clone(),
            request,
        };
        let ctx = ctx.clone();
        self.export.start(job, move || ctx.request_repaint());
    }

    /// The box a text note is typed in.
    pub(super) fn text_entry(&mut self, ctx: &egui::Context) {
        let Some((_, _, Draft::Text { text, .. })) = self.annotator.draft.as_mut() else {
            return;
        };
        let mut add = false;
        let mut cancel = false;
        egui::Window::new("Text note")
            .collapsible(false)
            .show(ctx, |ui| {
                let label = ui.label("Annotation text");
                let edit = ui
                    .add(egui::TextEdit::singleline(text))
                    .labelled_by(label.id);
                edit.request_focus();
                if edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
                    add = true;
                }
                ui.horizontal(|ui| {
                    add |= ui.button("Add note").clicked();
                    cancel = ui.button("Cancel note").clicked();
                });
            });
        if add {
            self.annotator.finish_text();
        } else if cancel {
            self.annotator.draft = None;
        }
    }

    pub(super) fn windows(&mut self, ctx: &egui::Context) {
        let mut open = self.show_help;
        egui::Window::new("Keyboard shortcuts")
            .open(&mut open)
            .collapsible(false)
            .show(ctx, |ui| {
                egui::Grid::new("shortcut table")
                    .striped(true)
                    .show(ui, |ui| {
                        for s in SHORTCUTS {
                            ui.monospace(ctx.format_shortcut(&s.keys));
                            // Presets are the reader's, named in the settings.
                            match s.action {
                                Action::Preset(n) => {
                                    match self.settings.presets.get(n as usize - 1) {
                                        Some(p) => ui.label(format!("Window preset: {}", p.name)),
                                        None => ui.label("(no preset on this key)"),
                                    }
                                }
                                _ => ui.label(s.description),
                            };
                            ui.end_row();
                        }
                        ui.monospace("Wheel");
                        ui.label("Scroll the stack (Ctrl: zoom)");
                        ui.end_row();
                        ui.monospace("Left drag");
                        ui.label("Pan");
                        ui.end_row();
                        ui.monospace("Right drag");
                        ui.label("Window / level (Shift fine, Ctrl coarse)");
                        ui.end_row();
                    });
            });
        self.show_help = open;
        let mut card = self.show_card;
        if let Some(model) = self.ai.model().cloned() {
            let mut close = false;
            egui::Window::new("Model card")
                .open(&mut card)
                .show(ctx, |ui| close = ai_panel::model_card(ui, &model));
            card &= !close;
        }
        self.show_card = card;
    }

    pub(super) fn drop_highlight(&self, ctx: &egui::Context) {
        let hovering = ctx.input(|i| !i.raw.hovered_files.is_empty());
        if !hovering {
            return;
        }
        let painter = ctx.layer_painter(egui::LayerId::new(
            egui::Order::Foreground,
            egui::Id::unique("drop highlight"),
        ));
        let rect = ctx.content_rect();
        painter.rect_filled(
            rect,
            0.0,
            egui::Color32::from_rgba_unmultiplied(40, 90, 160, 90),
        );
        painter.text(
            rect.center(),
            egui::Align2::CENTER_CENTER,
            "Drop to open",
            egui::FontId::proportional(28.0),
            egui::Color32::WHITE,
        );
    }
}

/// What the settings say about the ONNX Runtime library when it differs
/// from the one running: ONNX Runtime's API is set once per process (see
/// `ai::runtime`), so a changed library applies only after a restart.
/// `None` while no engine runs or when the running one is the one asked for.
pub fn ort_library_note(running: Option<&Engine>, wanted: Option<&Path>) -> Option<String> {
    let running = running?;
    let same = |a: &Path, b: &Path| {
        a == b
            || a.canonicalize()
                .ok()
                .is_some_and(|a| b.canonicalize().ok() == Some(a))
    };
    match (running, wanted) {
        (_, None) => None,
        (Engine::Onnxruntime { library, .. }, Some(w)) if same(library, w) => None,
        (Engine::Onnxruntime { library, .. }, Some(w)) => Some(format!(
            "This session runs ONNX Runtime from {}; {} applies after a restart \
             (the library is loaded once per process).",
            library.display(),
            w.display()
        )),
        (Engine::Tract { .. }, Some(w)) => Some(format!(
            "This session runs the embedded engine (tract); {} applies after a restart \
             (the engine is chosen once per process).",
            w.display()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_different_onnx_runtime_library_is_said_to_apply_after_a_restart() {
        let running = Engine::Onnxruntime {
            library: "/opt/ort/libonnxruntime.so.1.31.1".into(),
            found_in: "setting".into(),
            version: Some("1.31.1".into()),
        };
        let other = Path::new("/other/libonnxruntime.so");
        // No engine yet: whatever is set applies when it starts.
        assert_eq!(ort_library_note(None, Some(other)), None);
        assert_eq!(ort_library_note(Some(&running), None), None);
        let same = Path::new("/opt/ort/libonnxruntime.so.1.31.1");
        assert_eq!(ort_library_note(Some(&running), Some(same)), None);
        let note = ort_library_note(Some(&running), Some(other)).unwrap();
        assert!(
            note.contains("/opt/ort/libonnxruntime.so.1.31.1")
                && note.contains("/other/libonnxruntime.so")
                && note.contains("after a restart"),
            "{note}"
        );
        let tract = Engine::Tract {
            reason: "no ONNX Runtime library found".into(),
        };
        let note = ort_library_note(Some(&tract), Some(other)).unwrap();
        assert!(
            note.contains("tract") && note.contains("after a restart"),
            "{note}"
        );
    }
}
