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
        self.focus_worklist_study();
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
        let missing: Vec<PathBuf> = paths
            .iter()
            .filter(|p| self.library.index_of(p).is_none())
            .cloned()
            .collect();
        if !missing.is_empty() {
            self.load_quietly(ctx, missing);
        }
        self.worklist_focus = Some(paths);
    }

    /// Puts the study the worklist opened in the active viewport, at its
    /// first image, once that has loaded; forgets it when every file failed.
    fn focus_worklist_study(&mut self) {
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
