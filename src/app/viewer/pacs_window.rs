//! The PACS window: node and login (tested with an echo), the study
//! search, the sortable matches, the retrieval's progress and the
//! patient's other studies. Opening a study streams its instances into the
//! viewer as they arrive; a prior opens beside the current study.

use super::Viewer;
use crate::app::pacs::{DateFilter, field};
use crate::app::settings::Layout;

/// The columns of the matches: (keyword, heading).
const COLUMNS: [(&str, &str); 7] = [
    ("PatientName", "Patient"),
    ("PatientID", "ID"),
    ("StudyDate", "Date"),
    ("ModalitiesInStudy", "Modality"),
    ("StudyDescription", "Description"),
    ("AccessionNumber", "Accession"),
    ("NumberOfStudyRelatedInstances", "Images"),
];

/// A labelled single-line text field.
fn field_row(ui: &mut egui::Ui, label: &str, value: &mut String, hint: &str, password: bool) {
    ui.horizontal(|ui| {
        let l = ui.label(label);
        ui.add(
            egui::TextEdit::singleline(value)
                .hint_text(hint)
                .password(password)
                .desired_width(260.0),
        )
        .labelled_by(l.id);
    });
}

impl Viewer {
    /// Loads what the PACS retrieval brought since the last frame and puts
    /// the study on screen as soon as its first image is loaded.
    pub(super) fn collect_pacs(&mut self, ctx: &egui::Context) {
        let arrived = self.pacs.poll();
        if arrived.first && !arrived.paths.is_empty() {
            let viewport = if arrived.beside {
                self.settings.layout = Layout::SideBySide;
                1
            } else {
                0
            };
            self.pending_focus = Some((arrived.study_uid.clone(), viewport));
        }
        if !arrived.paths.is_empty() {
            self.load_quietly(ctx, arrived.paths);
        }
        if let Some((study, viewport)) = &self.pending_focus
            && let Some(series) = self.library.series.iter().find(|s| &s.study_uid == study)
        {
            self.viewports[*viewport].series = Some(series.key.clone());
            self.viewports[*viewport].position = 0;
            if *viewport != 0 {
                // A prior beside: scrolled to the current study's anatomy
                // as its slices arrive (same Frame of Reference).
                self.links.pending_align = Some((*viewport, 0));
            } else {
                self.active = *viewport;
                self.study_opened(0);
            }
            self.pending_focus = None;
        }
        if self.pacs.busy() || self.pacs.retrieving() {
            ctx.request_repaint_after(std::time::Duration::from_millis(100));
        }
    }

    /// The PACS window, when open.
    pub(super) fn pacs_window(&mut self, ctx: &egui::Context) {
        if !self.pacs.open {
            return;
        }
        if self.pacs.saved.is_empty() && !self.pacs.busy() && !self.pacs_nodes_read {
            self.pacs_nodes_read = true;
            let ctx = ctx.clone();
            self.pacs.load_saved(move || ctx.request_repaint());
        }
        let mut open = true;
        let wake = || {
            let ctx = ctx.clone();
            move || ctx.request_repaint()
        };
        let mut to_open: Option<(serde_json::Map<String, serde_json::Value>, bool)> = None;
        egui::Window::new("PACS")
            .open(&mut open)
            .default_width(760.0)
            .show(ctx, |ui| {
                let pacs = &mut self.pacs;
                if !pacs.saved.is_empty() {
                    let mut picked = None;
                    egui::ComboBox::from_label("Saved nodes")
                        .selected_text(pacs.node.clone())
                        .show_ui(ui, |ui| {
                            for (index, (name, node)) in pacs.saved.iter().enumerate() {
                                if ui
                                    .selectable_label(
                                        pacs.node == *name,
                                        format!("{name} — {}", node.url),
                                    )
                                    .clicked()
                                {
                                    picked = Some(index);
                                }
                            }
                        });
                    if let Some(index) = picked {
                        pacs.pick(index);
                    }
                }
                field_row(
                    ui,
                    "Node",
                    &mut pacs.node,
                    "saved name, http(s)://host:port/dicom-web or dicom://AET@host:port",
                    false,
                );
                field_row(ui, "User", &mut pacs.user, "or HILUM_PACS_USER", false);
                field_row(
                    ui,
                    "Password",
                    &mut pacs.password,
                    "kept for this run only",
                    true,
                );
                field_row(ui, "AE title", &mut pacs.aet, "HILUM", false);
                field_row(
                    ui,
                    "CA file",
                    &mut pacs.ca_file,
                    "PEM, besides the system's roots (HTTPS)",
                    false,
                );
                ui.horizontal(|ui| {
                    if ui.button("Test the node (echo)").clicked() {
                        pacs.echo(wake());
                    }
                    let l = ui.label("Save as");
                    ui.add(egui::TextEdit::singleline(&mut pacs.save_name).desired_width(120.0))
                        .labelled_by(l.id);
                    if ui.button("Save node").clicked() {
                        pacs.save_node(wake());
                    }
                });
                if !pacs.outbox.is_empty()
                    && ui
                        .button(format!("Send the {} exported file(s)", pacs.outbox.len()))
                        .clicked()
                {
                    let paths = std::mem::take(&mut pacs.outbox);
                    pacs.send(paths, wake());
                }
                ui.separator();
                field_row(
                    ui,
                    "Patient name",
                    &mut pacs.patient_name,
                    "e.g. DOE^J*",
                    false,
                );
                field_row(ui, "Patient ID", &mut pacs.patient_id, "", false);
                field_row(ui, "Accession", &mut pacs.accession, "", false);
                field_row(ui, "Modality", &mut pacs.modality, "e.g. CT", false);
                ui.horizontal(|ui| {
                    for filter in DateFilter::ALL {
                        ui.radio_value(&mut pacs.dates, filter, filter.label());
                    }
                });
                if pacs.dates == DateFilter::Custom {
                    field_row(
                        ui,
                        "Dates",
                        &mut pacs.custom_dates,
                        "YYYYMMDD-YYYYMMDD",
                        false,
                    );
                }
                ui.horizontal(|ui| {
                    if ui.button("Search").clicked() {
                        pacs.search(wake());
                    }
                    if ui.button("Clear the study cache").clicked() {
                        pacs.clear_cache(wake());
                    }
                    if pacs.busy() {
                        ui.spinner();
                    }
                    if let Some(status) = &pacs.status {
                        ui.label(status);
                    }
                });
                if let Some(retrieval) = &pacs.retrieval
                    && retrieval.outcome.is_none()
                {
                    let progress = match retrieval.expected {
                        Some(expected) if expected > 0 => {
                            let done = if retrieval.series.is_some() {
                                retrieval.in_series
                            } else {
                                retrieval.received
                            };
                            (done as f32 / expected as f32).min(1.0)
                        }
                        _ => 0.0,
                    };
                    let text = match retrieval.series {
                        Some((index, count)) => format!(
                            "Retrieving {}: series {}/{count}, {}/{} image(s)",
                            retrieval.label,
                            index + 1,
                            retrieval.in_series,
                            retrieval
                                .expected
                                .map_or("?".to_string(), |n| n.to_string())
                        ),
                        None => format!(
                            "Retrieving {}: {} image(s)",
                            retrieval.label, retrieval.received
                        ),
                    };
                    ui.add(egui::ProgressBar::new(progress).text(text));
                }
                ui.separator();
                egui::ScrollArea::both()
                    .max_height(260.0)
                    .id_salt("pacs matches")
                    .show(ui, |ui| {
                        egui::Grid::new("pacs results")
                            .striped(true)
                            .show(ui, |ui| {
                                // The action first: a wide table never hides it.
                                ui.label("");
                                for (key, heading) in COLUMNS {
                                    let arrow = match &pacs.sort {
                                        (k, true) if k == key => " ▲",
                                        (k, false) if k == key => " ▼",
                                        _ => "",
                                    };
                                    if ui.button(format!("{heading}{arrow}")).clicked() {
                                        let ascending = pacs.sort.0 == key && !pacs.sort.1;
                                        pacs.sort = (key.to_string(), ascending);
                                        pacs.sort_results();
                                    }
                                }
                                ui.end_row();
                                for row in &pacs.results {
                                    if ui.button("Open").clicked() {
                                        to_open = Some((row.clone(), false));
                                    }
                                    for (key, _) in COLUMNS {
                                        ui.label(
                                            field(row, key).unwrap_or_default().replace('^', " "),
                                        );
                                    }
                                    ui.end_row();
                                }
                            });
                    });
                if !pacs.priors.is_empty() {
                    ui.separator();
                    ui.strong("Other studies of this patient");
                    for row in &pacs.priors {
                        ui.horizontal(|ui| {
                            let date = field(row, "StudyDate").unwrap_or_default();
                            let description = field(row, "StudyDescription").unwrap_or_default();
                            ui.label(format!("{date} {description}"));
                            if ui.button("Open beside").clicked() {
                                to_open = Some((row.clone(), true));
                            }
                        });
                    }
                }
            });
        if let Some((row, beside)) = to_open {
            let ctx = ctx.clone();
            self.pacs.open(&row, beside, move || ctx.request_repaint());
        }
        self.pacs.open = open;
        if !open {
            // Read the saved nodes again next time (they may have changed).
            self.pacs_nodes_read = false;
        }
    }
}
