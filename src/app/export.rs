//! The export dialog (File → Export…, Ctrl+E): which outputs to write (key
//! image, PDF report, DICOM Secondary Capture and SR), the reader's
//! impression and name, de-identification, and the export itself on a
//! background thread with progress and cancel. The work is
//! [`crate::reports::export`], the same as `hilum report`.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use poll_promise::Promise;

use crate::ai::saliency::Heatmap;
use crate::ai::saliency::overlay::OverlayStyle;
use crate::annotations::AnnotationSet;
use crate::imaging::{Image, WindowChoice};
use crate::reports::{
    self, AiSummary, DateHandling, DeidOptions, ExportRequest, Exported, KeyImage, KeyImageFormat,
    Progress, Region, Report,
};

/// Everything one export needs, owned, so it runs off the UI thread.
pub struct ExportJob {
    /// The image.
    pub image: Arc<Image>,
    /// The frame shown.
    pub frame: usize,
    /// The window shown.
    pub window: WindowChoice,
    /// Gray values inverted on screen.
    pub invert: bool,
    /// The visible region, or `None` for the whole image.
    pub region: Option<Region>,
    /// The image's annotations.
    pub annotations: Option<AnnotationSet>,
    /// The heatmap shown, if any.
    pub heatmap: Option<Arc<Heatmap>>,
    /// How it is drawn.
    pub heatmap_style: OverlayStyle,
    /// The AI result, if the model ran.
    pub ai: Option<AiSummary>,
    /// The reader's impression.
    pub impression: String,
    /// The reader's name.
    pub reader: String,
    /// The outputs.
    pub request: ExportRequest,
}

impl ExportJob {
    /// Runs the export; `progress` is told before each step and cancels it
    /// by returning `false`.
    pub fn run(&self, progress: &mut dyn FnMut(Progress) -> bool) -> Result<Exported, String> {
        let key = KeyImage {
            image: &self.image,
            frame: self.frame,
            window: self.window.clone(),
            region: self.region,
            annotations: self.annotations.as_ref(),
            heatmap: self.heatmap.as_deref(),
            heatmap_style: self.heatmap_style,
            // The viewer hands over a heatmap only when it is drawn on
            // screen, an unfaithful one only when the reader asked for it.
            draw_unfaithful: true,
            invert: self.invert,
        };
        let report = Report {
            key_images: vec![key],
            ai: self.ai.clone(),
            impression: self.impression.clone(),
            reader: self.reader.clone(),
        };
        reports::export(&report, &self.request, progress).map_err(|e| e.to_string())
    }
}

/// An export in progress.
struct Running {
    progress: Arc<Mutex<Option<Progress>>>,
    cancel: Arc<AtomicBool>,
    result: Promise<Result<Exported, String>>,
}

/// The dialog's fields and the export running from it.
pub struct ExportDialog {
    /// The dialog is shown.
    pub open: bool,
    /// Output folder.
    pub folder: String,
    /// File name without extension (each output adds its own).
    pub base_name: String,
    /// Write the annotated key image as PNG.
    pub png: bool,
    /// Write the PDF report.
    pub pdf: bool,
    /// Write the DICOM Secondary Capture.
    pub secondary_capture: bool,
    /// Write the DICOM Structured Report.
    pub structured_report: bool,
    /// Write the shown heatmap as a DICOM Parametric Map.
    pub parametric_map: bool,
    /// Export only the region visible in the viewport.
    pub visible_region: bool,
    /// Burn in the heatmap when one is shown.
    pub include_heatmap: bool,
    /// The reader's impression.
    pub impression: String,
    /// The reader's name.
    pub reader: String,
    /// De-identify every output.
    pub deidentify: bool,
    /// The PS3.15 options of de-identification (with `deidentify`).
    pub deid_options: DeidOptions,
    /// Replace files that exist.
    pub overwrite: bool,
    /// The file name the viewer filled in (replaced when the image or the
    /// de-identify switch changes, unless the reader typed another).
    pub suggested_name: Option<String>,
    folder_dialog: Option<Promise<Option<PathBuf>>>,
    running: Option<Running>,
    /// The last export's outcome, in words.
    pub outcome: Option<Result<Exported, String>>,
}

impl Default for ExportDialog {
    fn default() -> Self {
        // The home folder (from the environment; the XDG user-dirs file
        // is not read here, on the UI thread).
        let folder = directories::BaseDirs::new()
            .map(|d| d.home_dir().to_path_buf())
            .unwrap_or_default();
        Self {
            open: false,
            folder: folder.display().to_string(),
            base_name: String::new(),
            png: true,
            pdf: true,
            secondary_capture: false,
            structured_report: false,
            parametric_map: false,
            visible_region: false,
            include_heatmap: true,
            impression: String::new(),
            reader: String::new(),
            deidentify: false,
            deid_options: DeidOptions::default(),
            overwrite: false,
            suggested_name: None,
            folder_dialog: None,
            running: None,
            outcome: None,
        }
    }
}

/// What the dialog asks the viewer to do this frame.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct DialogOutput {
    /// Start the export with the current fields.
    pub export: bool,
    /// Send these exported DICOM files to the PACS.
    pub send_to_pacs: Option<Vec<PathBuf>>,
}

impl ExportDialog {
    /// The outputs the fields ask for, in the folder, named after the base
    /// name; an error when none is chosen or the name is empty.
    pub fn request(&self) -> Result<ExportRequest, String> {
        let name = self.base_name.trim();
        if name.is_empty() || name.contains(['/', '\\']) {
            return Err("give a file name (without a folder)".into());
        }
        let folder = PathBuf::from(self.folder.trim());
        if folder.as_os_str().is_empty() {
            return Err("choose an output folder".into());
        }
        let file = |suffix: &str| folder.join(format!("{name}{suffix}"));
        let request = ExportRequest {
            key_image: self.png.then(|| (file(".png"), KeyImageFormat::Png)),
            pdf: self.pdf.then(|| file(".pdf")),
            secondary_capture: self.secondary_capture.then(|| file("-sc.dcm")),
            structured_report: self.structured_report.then(|| file("-sr.dcm")),
            parametric_map: (self.parametric_map && self.include_heatmap)
                .then(|| file("-pmap.dcm")),
            deidentify: self.deidentify.then_some(DeidOptions {
                allow_burned_in_annotation: false,
                ..self.deid_options
            }),
            overwrite: self.overwrite,
        };
        let any = request.key_image.is_some()
            || request.pdf.is_some()
            || request.secondary_capture.is_some()
            || request.structured_report.is_some()
            || request.parametric_map.is_some();
        if !any {
            return Err("choose at least one output".into());
        }
        Ok(request)
    }

    /// Starts `job` on a background thread; `wake` repaints the UI as it
    /// goes.
    pub fn start(&mut self, job: ExportJob, wake: impl Fn() + Send + 'static) {
        let progress = Arc::new(Mutex::new(None));
        let cancel = Arc::new(AtomicBool::new(false));
        let (shared, stop) = (Arc::clone(&progress), Arc::clone(&cancel));
        let result = Promise::spawn_thread("export", move || {
            // A panic in an encoder must reach the dialog as an error, not
            // take the viewer down when the promise is collected.
            let run = std::panic::AssertUnwindSafe(|| {
                job.run(&mut |p| {
                    *shared.lock().unwrap_or_else(|e| e.into_inner()) = Some(p);
                    wake();
                    !stop.load(Ordering::Relaxed)
                })
            });
            let result = std::panic::catch_unwind(run).unwrap_or_else(|_| {
                Err(format!(
                    "{}: the export stopped on an internal error; no file was left half-written",
                    job.image.path.display()
                ))
            });
            wake();
            result
        });
        self.outcome = None;
        self.running = Some(Running {
            progress,
            cancel,
            result,
        });
    }

    /// True while an export runs.
    pub fn is_running(&self) -> bool {
        self.running.is_some()
    }

    /// Collects a finished export; true when one finished.
    pub fn poll(&mut self) -> bool {
        if self
            .running
            .as_ref()
            .is_some_and(|r| r.result.ready().is_some())
            && let Some(running) = self.running.take()
        {
            self.outcome = Some(running.result.block_and_take());
            return true;
        }
        false
    }

    /// Draws the dialog. `has_ai` and `has_heatmap` say what the shown
    /// image has to include.
    pub fn show(
        &mut self,
        ctx: &egui::Context,
        has_image: bool,
        has_ai: bool,
        has_heatmap: bool,
    ) -> DialogOutput {
        let mut out = DialogOutput::default();
        if let Some(dialog) = &self.folder_dialog
            && dialog.ready().is_some()
            && let Some(dialog) = self.folder_dialog.take()
            && let Some(folder) = dialog.block_and_take()
        {
            self.folder = folder.display().to_string();
        }
        let mut open = self.open;
        egui::Window::new("Export")
            .open(&mut open)
            .collapsible(false)
            .show(ctx, |ui| {
                if !has_image {
                    ui.label("No image shown: open one to export it.");
                    return;
                }
                ui.horizontal(|ui| {
                    let label = ui.label("Output folder");
                    ui.text_edit_singleline(&mut self.folder)
                        .labelled_by(label.id);
                    if self.folder_dialog.is_none() && ui.button("Choose folder…").clicked() {
                        // Off the UI thread: a desktop portal can hang.
                        self.folder_dialog = Some(Promise::spawn_thread("export folder", || {
                            rfd::FileDialog::new()
                                .set_title("Export to folder")
                                .pick_folder()
                        }));
                    }
                    if self.folder_dialog.is_some() && ui.button("Cancel folder dialog").clicked() {
                        self.folder_dialog = None;
                    }
                });
                ui.horizontal(|ui| {
                    let label = ui.label("File name");
                    ui.text_edit_singleline(&mut self.base_name)
                        .labelled_by(label.id);
                });
                ui.checkbox(&mut self.png, "Key image (PNG)");
                ui.checkbox(&mut self.pdf, "PDF report");
                ui.checkbox(&mut self.secondary_capture, "DICOM Secondary Capture");
                ui.checkbox(&mut self.structured_report, "DICOM Structured Report");
                ui.checkbox(&mut self.visible_region, "Only the visible region");
                ui.add_enabled(
                    has_heatmap,
                    egui::Checkbox::new(&mut self.include_heatmap, "Include the heatmap"),
                );
                ui.add_enabled(
                    has_heatmap && self.include_heatmap,
                    egui::Checkbox::new(
                        &mut self.parametric_map,
                        "Heatmap as DICOM Parametric Map",
                    ),
                );
                if !has_ai {
                    ui.label("No AI result for this image: the report will have none.");
                }
                let label = ui.label("Impression");
                ui.add(
                    egui::TextEdit::multiline(&mut self.impression)
                        .desired_rows(3)
                        .desired_width(f32::INFINITY),
                )
                .labelled_by(label.id);
                ui.horizontal(|ui| {
                    let label = ui.label("Reader");
                    ui.text_edit_singleline(&mut self.reader)
                        .labelled_by(label.id);
                });
                ui.checkbox(
                    &mut self.deidentify,
                    "De-identify (DICOM PS3.15 basic profile; no names or IDs in any output)",
                );
                if self.deidentify {
                    deid_options_ui(ui, &mut self.deid_options);
                    ui.label(
                        "Text burned into the pixels is not removed; a source marked \
                         Burned In Annotation is refused.",
                    );
                }
                ui.checkbox(&mut self.overwrite, "Replace files that exist");
                ui.separator();
                if let Some(running) = &self.running {
                    ui.horizontal(|ui| {
                        ui.spinner();
                        let p = *running.progress.lock().unwrap_or_else(|e| e.into_inner());
                        match p {
                            Some(p) => {
                                ui.label(format!("Exporting {}/{}: {}", p.done, p.total, p.next))
                            }
                            None => ui.label("Exporting…"),
                        };
                        if ui.button("Cancel export").clicked() {
                            running.cancel.store(true, Ordering::Relaxed);
                        }
                    });
                } else {
                    match self.request() {
                        Ok(_) => {
                            if ui.button("Export now").clicked() {
                                out.export = true;
                            }
                        }
                        Err(why) => {
                            ui.add_enabled(false, egui::Button::new("Export now"));
                            ui.label(format!("Cannot export yet: {why}"));
                        }
                    }
                }
                match &self.outcome {
                    Some(Ok(exported)) => {
                        ui.label(format!("Exported {} files:", exported.files.len()));
                        for f in &exported.files {
                            ui.monospace(f.display().to_string());
                        }
                        let dicom: Vec<PathBuf> = exported
                            .files
                            .iter()
                            .filter(|f| {
                                f.extension().is_some_and(|x| x.eq_ignore_ascii_case("dcm"))
                            })
                            .cloned()
                            .collect();
                        if !dicom.is_empty() && ui.button("Send to PACS").clicked() {
                            out.send_to_pacs = Some(dicom);
                        }
                    }
                    Some(Err(e)) => {
                        ui.colored_label(egui::Color32::LIGHT_RED, format!("Export failed: {e}"));
                    }
                    None => {}
                }
            });
        self.open = open;
        out
    }
}

/// The option columns of PS3.15 Table E.1-1 as checkboxes (all off: the
/// Basic Profile).
fn deid_options_ui(ui: &mut egui::Ui, o: &mut DeidOptions) {
    egui::CollapsingHeader::new("De-identification options (PS3.15)").show(ui, |ui| {
        let mut full_dates = o.dates == DateHandling::Keep;
        if ui.checkbox(&mut full_dates, "Keep dates").changed() {
            o.dates = if full_dates {
                DateHandling::Keep
            } else {
                DateHandling::Remove
            };
        }
        ui.checkbox(&mut o.retain_uids, "Keep UIDs");
        ui.checkbox(&mut o.retain_device_identity, "Keep device identity");
        ui.checkbox(
            &mut o.retain_institution_identity,
            "Keep institution identity",
        );
        ui.checkbox(
            &mut o.retain_patient_characteristics,
            "Keep patient characteristics (sex, age, size, weight)",
        );
        ui.checkbox(
            &mut o.clean_descriptors,
            "Keep descriptions, with names and IDs scrubbed out",
        );
        ui.checkbox(
            &mut o.clean_structured_content,
            "Keep structured content, scrubbed",
        );
        ui.checkbox(&mut o.clean_graphics, "Keep graphic annotations, scrubbed");
    });
}
