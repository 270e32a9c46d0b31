//! The worklist in the viewer: triage results opened as a reading list;
//! a row (clicked, or the next unread on Enter) opens its study in the
//! active viewport, loaded in the background when it is not already.

use std::path::PathBuf;

use super::Viewer;

impl Viewer {
    /// Takes the worklist's background work, opens the next unread study
    /// when Enter asked for it, and puts an opened study on screen once it
    /// has loaded.
    pub(super) fn follow_worklist(&mut self, ctx: &egui::Context) {
        if self.worklist.poll() {
            ctx.request_repaint();
        }
        if self.worklist.is_loading() {
            ctx.request_repaint_after(std::time::Duration::from_millis(100));
        }
        if std::mem::take(&mut self.worklist.open_next)
            && let Some(row) = self.worklist.next_unread()
        {
            self.open_worklist_row(ctx, row);
        }
        self.focus_worklist_study(ctx);
        self.follow_triage_run(ctx);
    }

    /// Starts triaging `source` (a folder, file, DICOMDIR, zip or file
    /// list) on a background thread with the settings' model, into a
    /// results file in the data folder; the results open as the worklist
    /// when it ends. One run at a time.
    pub fn triage_folder(&mut self, ctx: &egui::Context, source: PathBuf) {
        if self.worklist.run.is_some() {
            return;
        }
        let dir = self
            .worklist
            .triage_dir
            .clone()
            .or_else(|| crate::annotations::sidecar::data_dir().map(|d| d.join("triage")));
        let Some(dir) = dir else {
            self.worklist.error = Some(format!(
                "No data folder for triage results: set {} or HOME",
                crate::annotations::sidecar::DATA_DIR_ENV
            ));
            return;
        };
        // One core stays with the viewer.
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .saturating_sub(1)
            .max(1);
        let wake = ctx.clone();
        self.worklist.run_note = None;
        self.worklist.run = Some(crate::app::triage_run::TriageRun::start(
            source,
            &dir,
            self.settings.model.clone(),
            crate::app::runtime_settings(&self.settings),
            threads,
            move || wake.request_repaint(),
        ));
    }

    /// Asks for a folder to triage (the dialog on its own thread).
    pub(super) fn pick_triage_folder(&mut self) {
        if self.worklist.folder_dialog.is_none() {
            self.worklist.folder_dialog = Some(poll_promise::Promise::spawn_thread(
                "triage folder dialog",
                || {
                    rfd::FileDialog::new()
                        .set_title("Triage a folder")
                        .pick_folder()
                },
            ));
        }
    }

    /// Starts the run for a picked folder, and opens a finished run's
    /// results as the worklist.
    fn follow_triage_run(&mut self, ctx: &egui::Context) {
        if let Some(dialog) = &self.worklist.folder_dialog
            && dialog.ready().is_some()
            && let Some(dialog) = self.worklist.folder_dialog.take()
            && let Some(folder) = dialog.block_and_take()
        {
            self.triage_folder(ctx, folder);
        }
        let Some(run) = &self.worklist.run else {
            return;
        };
        let Some(ended) = run.ended() else {
            ctx.request_repaint_after(std::time::Duration::from_millis(200));
            return;
        };
        let note = crate::app::triage_run::describe(run);
        let results = ended.as_ref().ok().map(|end| end.results.clone());
        self.worklist.run = None;
        self.worklist.run_note = Some(note);
        if let Some(results) = results {
            self.worklist.load(results, ctx);
        }
    }

    /// Loads the study Enter would open next (the next unread row after the
    /// current one) in the background, so that it opens at once with its
    /// AI result and heatmap ready (`update_ai` works on it once what is
    /// on screen is done).
    fn fetch_ahead(&mut self, ctx: &egui::Context) {
        let next = self
            .worklist
            .next_unread()
            .filter(|&r| Some(r) != self.worklist.current);
        let files = next.and_then(|row| {
            let list = self.worklist.list.as_ref()?;
            Some(list.rows.get(row)?.files.clone())
        });
        if files == self.worklist.ahead {
            return;
        }
        if let Some(files) = &files {
            self.load_missing(ctx, files);
        }
        self.worklist.ahead = files;
    }

    /// Starts loading those of `files` that are not loaded yet.
    fn load_missing(&mut self, ctx: &egui::Context, files: &[PathBuf]) {
        let missing: Vec<PathBuf> = files
            .iter()
            .filter(|p| self.library.index_of(p).is_none())
            .cloned()
            .collect();
        if !missing.is_empty() {
            self.load_quietly(ctx, missing);
        }
    }

    /// The image of the study fetched ahead that the worklist will show
    /// first (its first file that has loaded).
    pub(super) fn worklist_ahead_image(&self) -> Option<std::sync::Arc<crate::imaging::Image>> {
        let files = self.worklist.ahead.as_ref()?;
        let image = files.iter().find_map(|p| self.library.index_of(p))?;
        Some(std::sync::Arc::clone(&self.library.images[image].image))
    }

    /// Opens row `row` of the worklist: marks it read, loads its files
    /// that are not loaded yet, and shows it once one of them is there.
    pub fn open_worklist_row(&mut self, ctx: &egui::Context, row: usize) {
        let Some(paths) = self
            .worklist
            .list
            .as_ref()
            .and_then(|list| list.rows.get(row))
            .map(|entry| entry.files.clone())
        else {
            return;
        };
        self.worklist.open_row(row);
        self.worklist.ahead = None;
        self.load_missing(ctx, &paths);
        self.worklist_focus = Some(paths);
    }

    /// Puts the study the worklist opened in the active viewport, at its
    /// first image, once that has loaded; forgets it when every file failed.
    fn focus_worklist_study(&mut self, ctx: &egui::Context) {
        let Some(paths) = &self.worklist_focus else {
            return;
        };
        for path in paths {
            let Some(image) = self.library.index_of(path) else {
                continue;
            };
            let Some(series) = self
                .library
                .series
                .iter()
                .find(|s| s.stack.iter().any(|e| e.image == image))
            else {
                continue;
            };
            let position = series
                .stack
                .iter()
                .position(|e| e.image == image)
                .unwrap_or(0);
            let viewport = &mut self.viewports[self.active];
            viewport.series = Some(series.key.clone());
            viewport.position = position;
            viewport.cine = false;
            self.worklist_focus = None;
            self.study_opened(self.active);
            self.fetch_ahead(ctx);
            return;
        }
        let failed = |p: &PathBuf| self.library.errors.iter().any(|e| &e.path == p);
        if paths.iter().all(failed) {
            self.worklist_focus = None;
        }
    }

    /// The worklist panel, when a results file is open or being read.
    pub(super) fn worklist_panel(&mut self, ui: &mut egui::Ui, ctx: &egui::Context) {
        if self.worklist.list.is_none()
            && !self.worklist.is_loading()
            && self.worklist.error.is_none()
            && self.worklist.run.is_none()
            && self.worklist.run_note.is_none()
        {
            return;
        }
        egui::Panel::left("worklist")
            .default_size(320.0)
            .show(ui, |ui| {
                if let Some(row) = self.worklist.show(ui) {
                    self.open_worklist_row(ctx, row);
                }
            });
    }
}
