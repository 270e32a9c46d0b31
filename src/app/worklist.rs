//! The worklist panel: triage results opened in the viewer as a reading
//! list, most suspicious first, with scope and failure filters, and the
//! reader's read/unread status saved beside the results on a thread of its
//! own (the UI thread never touches the disk). The list itself is
//! [`crate::triage::worklist`]; the viewer opens the studies.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, Sender, channel};

use poll_promise::Promise;

use crate::triage::worklist::{Filter, RowStatus, Worklist, save_read_status};

/// True for a file the viewer opens as a worklist (triage results,
/// `.jsonl`); by name only, so the UI thread need not touch the disk.
pub fn is_results_file(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("jsonl"))
}

/// The saver thread's inbox (results file, read status as JSON) and its
/// failures.
type SaverChannels = (Sender<(PathBuf, String)>, Receiver<String>);

/// The worklist and what the reader chose.
#[derive(Default)]
pub struct WorklistPanel {
    /// The open worklist.
    pub list: Option<Worklist>,
    loading: Option<(PathBuf, Promise<Result<Worklist, String>>)>,
    /// The label the list is sorted by (`None`: the list's default).
    pub label: Option<String>,
    /// Which rows are shown.
    pub filter: Filter,
    /// The row open in the viewer.
    pub current: Option<usize>,
    /// Why the last results file could not be opened, or a save failed.
    pub error: Option<String>,
    /// Enter was pressed: open the next unread study.
    pub open_next: bool,
    /// The files of the study Enter opens next, loaded (and classified)
    /// ahead while the reader reads the current one.
    pub ahead: Option<Vec<PathBuf>>,
    /// A triage run started from the viewer (File → Triage a folder…).
    pub run: Option<crate::app::triage_run::TriageRun>,
    /// How the last run ended, in words.
    pub run_note: Option<String>,
    /// Where runs started here write their results (default: the data
    /// folder's `triage`).
    pub triage_dir: Option<PathBuf>,
    /// The folder dialog for a triage run.
    pub folder_dialog: Option<Promise<Option<PathBuf>>>,
    saver: Option<SaverChannels>,
}

impl WorklistPanel {
    /// Starts reading `results` (and its read status) on a thread.
    pub fn load(&mut self, results: PathBuf, ctx: &egui::Context) {
        let ctx = ctx.clone();
        let path = results.clone();
        let promise = Promise::spawn_thread("worklist", move || {
            let list = Worklist::open(&path).map_err(|e| e.to_string());
            ctx.request_repaint();
            list
        });
        self.loading = Some((results, promise));
    }

    /// True while a results file is being read.
    pub fn is_loading(&self) -> bool {
        self.loading.is_some()
    }

    /// Takes a finished read and any save failures; true when something
    /// changed.
    pub fn poll(&mut self) -> bool {
        let mut changed = false;
        if let Some((_, promise)) = &self.loading
            && promise.ready().is_some()
            && let Some((_, promise)) = self.loading.take()
        {
            match promise.block_and_take() {
                Ok(list) => {
                    self.list = Some(list);
                    self.current = None;
                    self.label = None;
                    self.error = None;
                }
                Err(e) => self.error = Some(e),
            }
            changed = true;
        }
        if let Some((_, errors)) = &self.saver
            && let Some(error) = errors.try_iter().last()
        {
            self.error = Some(error);
            changed = true;
        }
        changed
    }

    /// The label the rows are sorted by.
    pub fn sort_label(&self) -> Option<String> {
        let list = self.list.as_ref()?;
        self.label
            .clone()
            .or_else(|| list.default_label().map(String::from))
    }

    /// The rows shown, in order.
    pub fn order(&self) -> Vec<usize> {
        match (&self.list, self.sort_label()) {
            (Some(list), Some(label)) => list.order(&label, self.filter),
            (Some(list), None) => (0..list.rows.len())
                .filter(|&i| self.filter.keeps(&list.rows[i]))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The next unread row after the current one, in the shown order.
    pub fn next_unread(&self) -> Option<usize> {
        self.list.as_ref()?.next_unread(&self.order(), self.current)
    }

    /// Makes `row` the current one and marks it read (saved in the
    /// background).
    pub fn open_row(&mut self, row: usize) {
        self.current = Some(row);
        self.set_read(row, true);
    }

    /// Marks `row` read or unread and saves the status in the background.
    pub fn set_read(&mut self, row: usize, read: bool) {
        let Some(list) = &mut self.list else { return };
        if !list.set_read(row, read) {
            return;
        }
        let job = (list.results.clone(), list.read_status_json());
        let (jobs, _) = self.saver.get_or_insert_with(start_saver);
        let _ = jobs.send(job);
    }

    /// Draws the panel; returns the row the reader clicked.
    pub fn show(&mut self, ui: &mut egui::Ui) -> Option<usize> {
        if let Some(run) = &self.run {
            ui.horizontal_wrapped(|ui| {
                ui.spinner();
                ui.label(crate::app::triage_run::describe(run));
                if run.cancelling() {
                    ui.label("Stopping…");
                } else if ui.button("Stop triage").clicked() {
                    run.cancel();
                }
            });
        }
        if let Some(note) = &self.run_note {
            ui.label(note);
        }
        if let Some((path, _)) = &self.loading {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(format!("Reading {}…", path.display()));
            });
        }
        if let Some(error) = &self.error {
            ui.colored_label(ui.visuals().error_fg_color, error);
        }
        let labels = self.list.as_ref()?.labels.clone();
        let shown_label = self.sort_label();
        let list = self.list.as_ref()?;
        let name = list.results.file_name().map_or_else(
            || list.results.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        ui.heading(format!("Worklist: {name}"));
        let unread = (0..list.rows.len()).filter(|&r| !list.is_read(r)).count();
        ui.label(format!(
            "{} studies, {unread} unread. Enter opens the next unread.",
            list.rows.len()
        ));
        let mut label = shown_label.clone().unwrap_or_default();
        egui::ComboBox::from_label("Sort by")
            .selected_text(&label)
            .show_ui(ui, |ui| {
                for l in &labels {
                    ui.selectable_value(&mut label, l.clone(), l);
                }
            });
        if Some(&label) != shown_label.as_ref() {
            self.label = Some(label.clone());
        }
        ui.horizontal_wrapped(|ui| {
            for filter in Filter::ALL {
                ui.selectable_value(&mut self.filter, filter, filter.name());
            }
        });
        ui.separator();
        let order = self.order();
        let list = self.list.as_ref()?;
        let mut clicked = None;
        egui::ScrollArea::vertical().show(ui, |ui| {
            for &row in &order {
                let entry = &list.rows[row];
                let read = list.is_read(row);
                let mark = if read { "read  " } else { "unread" };
                let probability = entry
                    .probabilities
                    .get(&label)
                    .map_or("—".to_string(), |p| format!("{p:.2}"));
                let file = entry
                    .paths
                    .first()
                    .map(|p| p.rsplit(['/', '\\']).next().unwrap_or(p).to_string())
                    .unwrap_or_default();
                let more = match entry.paths.len() {
                    0 | 1 => String::new(),
                    n => format!(" (+{} images)", n - 1),
                };
                let detail = match entry.status {
                    RowStatus::Failed => format!(
                        "Failed: {}",
                        entry.reason.as_deref().unwrap_or("no image could be read")
                    ),
                    RowStatus::OutOfScope => {
                        "Outside the model's scope — not interpretable".to_string()
                    }
                    RowStatus::InScope | RowStatus::ScopeUnverifiable => {
                        let call = entry.calls.get(&label).cloned().unwrap_or_default();
                        if entry.status == RowStatus::ScopeUnverifiable {
                            format!("{call} (scope not verifiable from the file)")
                        } else {
                            call
                        }
                    }
                };
                let text = format!("{mark} {probability} {file}{more}\n    {detail}");
                let mut rich = egui::RichText::new(text);
                if matches!(entry.status, RowStatus::OutOfScope | RowStatus::Failed) {
                    rich = rich.weak();
                } else if !read {
                    rich = rich.strong();
                }
                if ui
                    .selectable_label(self.current == Some(row), rich)
                    .on_hover_text(format!("{}\n{}", entry.paths.join("\n"), entry.model))
                    .clicked()
                {
                    clicked = Some(row);
                }
            }
        });
        clicked
    }
}

/// The thread that writes read statuses; only the newest of each results
/// file is written.
fn start_saver() -> SaverChannels {
    let (jobs, inbox) = channel::<(PathBuf, String)>();
    let (report, errors) = channel();
    let spawned = std::thread::Builder::new()
        .name("worklist saver".into())
        .spawn(move || {
            while let Ok(first) = inbox.recv() {
                let mut newest = vec![first];
                for job in inbox.try_iter() {
                    newest.retain(|(path, _)| *path != job.0);
                    newest.push(job);
                }
                for (results, json) in newest {
                    if let Err(e) = save_read_status(&results, &json) {
                        let _ = report
                            .send(format!("{}: read status not saved: {e}", results.display()));
                    }
                }
            }
        });
    if let Err(e) = spawned {
        let (jobs, _) = channel();
        let (report, errors) = channel();
        let _ = report.send(format!("read status cannot be saved: {e}"));
        return (jobs, errors);
    }
    (jobs, errors)
}
