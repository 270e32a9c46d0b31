//! The DICOM tag browser: the attribute list (read on a background thread
//! for the shown image only) and the searchable, collapsible panel that
//! shows it.

use crate::imaging::dicom::{Attribute, read_attributes};
use crate::imaging::image::SourceFormat;
use crate::imaging::{Image, LoadOptions};

/// One row of the tag browser.
pub type TagRow = Attribute;

/// The attributes of `image`'s file, or why there are none (raster images
/// have no DICOM attributes). Reads the file: call off the UI thread.
pub fn read_tags(image: &Image) -> Result<Vec<TagRow>, String> {
    match image.source {
        SourceFormat::Dicom { .. } => {
            read_attributes(&image.path, &LoadOptions::default()).map_err(|e| e.to_string())
        }
        SourceFormat::Raster { ref format } => Err(format!(
            "{} is a {format} file: it has no DICOM attributes",
            image.path.display()
        )),
    }
}

/// True when `row` matches the search text (tag, keyword or value; case
/// does not matter).
pub fn matches(row: &TagRow, search: &str) -> bool {
    let needle = search.trim().to_lowercase();
    needle.is_empty()
        || row.tag.to_lowercase().contains(&needle)
        || row.keyword.to_lowercase().contains(&needle)
        || row.value.to_lowercase().contains(&needle)
}

/// What the tag browser has for the shown image.
pub enum TagsState<'a> {
    /// No image on screen.
    NoImage,
    /// The attributes are being read.
    Reading,
    /// The attributes, or why there are none.
    Ready(&'a Result<Vec<TagRow>, String>),
}

/// Draws the tag browser for `tags` with a search field bound to `search`.
pub fn show(ui: &mut egui::Ui, tags: TagsState<'_>, search: &mut String) {
    ui.horizontal(|ui| {
        let label = ui.label("Search tags");
        ui.add(egui::TextEdit::singleline(search).hint_text("tag, keyword or value"))
            .labelled_by(label.id);
    });
    let tags = match tags {
        TagsState::NoImage => {
            ui.label("No image shown.");
            return;
        }
        TagsState::Reading => {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Reading attributes…");
            });
            return;
        }
        TagsState::Ready(tags) => tags,
    };
    let rows = match tags {
        Ok(rows) => rows,
        Err(reason) => {
            ui.label(reason.as_str());
            return;
        }
    };
    let shown: Vec<&TagRow> = rows.iter().filter(|r| matches(r, search)).collect();
    ui.label(format!("{} of {} attributes", shown.len(), rows.len()));
    egui::ScrollArea::vertical()
        .id_salt("tag rows")
        .auto_shrink([false, false])
        .show_rows(ui, 16.0, shown.len(), |ui, range| {
            egui::Grid::new("tag grid").striped(true).show(ui, |ui| {
                for row in &shown[range] {
                    let indent = "  ".repeat(row.depth);
                    ui.monospace(format!("{indent}{}", row.tag));
                    ui.label(&row.keyword);
                    ui.monospace(&row.vr);
                    ui.label(&row.value);
                    ui.end_row();
                }
            });
        });
}
