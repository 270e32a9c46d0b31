//! The labelled set `hilum evaluate` reads: a CSV with a `path,label`
//! header (paths relative to the CSV's folder, or absolute), or a folder
//! with one sub-folder per label. Labels are matched to the model's
//! case-insensitively and take the model's spelling; a label that is none
//! of the model's is kept, with one warning, and its images are negative
//! for every label.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The labelled set cannot be used: a missing file or folder, a malformed
/// CSV, no image listed. Names the file and the reason (a usage error).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {reason}", path.display())]
pub struct DatasetError {
    /// The CSV or folder.
    pub path: PathBuf,
    /// What is wrong.
    pub reason: String,
}

/// One image of the set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// The image file.
    pub path: PathBuf,
    /// Its ground-truth label: the model's spelling when it is one of the
    /// model's labels, else as written.
    pub label: String,
    /// The index of `label` among the model's labels (`None`: no model
    /// label, so negative for all).
    pub truth: Option<usize>,
    /// Named explicitly (a CSV row) rather than found in a folder: a file
    /// found in a folder that holds no pixels (a DICOM report) is skipped,
    /// a listed one fails.
    pub explicit: bool,
    /// A failure found while listing (a broken archive in a label folder).
    pub error: Option<String>,
}

/// A labelled set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dataset {
    /// The CSV or folder it was read from.
    pub source: PathBuf,
    /// The images, in the CSV's order (folders: by label folder, then
    /// path).
    pub items: Vec<Item>,
    /// What the reader should know (unknown labels, files outside label
    /// folders), one line each.
    pub warnings: Vec<String>,
}

/// Reads the labelled set at `path` (a CSV file or a folder of label
/// folders) for a model with `labels`.
pub fn read(path: &Path, labels: &[String]) -> Result<Dataset, DatasetError> {
    let dataset = if path.is_dir() {
        read_folder(path, labels)?
    } else if path.is_file() {
        read_csv(path, labels)?
    } else {
        return Err(DatasetError {
            path: path.to_path_buf(),
            reason:
                "no such file or folder (expected a path,label CSV or a folder of label folders)"
                    .into(),
        });
    };
    if dataset.items.is_empty() {
        return Err(DatasetError {
            path: path.to_path_buf(),
            reason: "no images listed".into(),
        });
    }
    Ok(dataset)
}

/// The model label `name` matches (case-insensitively), if any.
fn match_label(name: &str, labels: &[String]) -> Option<usize> {
    labels
        .iter()
        .position(|l| l == name)
        .or_else(|| labels.iter().position(|l| l.eq_ignore_ascii_case(name)))
}

/// Matches `name`, noting an unknown label once in `unknown`.
fn label_of(
    name: &str,
    labels: &[String],
    unknown: &mut BTreeSet<String>,
) -> (String, Option<usize>) {
    match match_label(name, labels) {
        Some(i) => (labels[i].clone(), Some(i)),
        None => {
            unknown.insert(name.to_string());
            (name.to_string(), None)
        }
    }
}

fn unknown_warnings(source: &Path, unknown: BTreeSet<String>, labels: &[String]) -> Vec<String> {
    unknown
        .into_iter()
        .map(|name| {
            format!(
                "{}: label {name:?} is none of the model's labels ({}): its images are \
                 negative for every label",
                source.display(),
                labels.join(", ")
            )
        })
        .collect()
}

fn read_csv(path: &Path, labels: &[String]) -> Result<Dataset, DatasetError> {
    let err = |reason: String| DatasetError {
        path: path.to_path_buf(),
        reason,
    };
    let base = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(path)
        .map_err(|e| err(format!("cannot read: {e}")))?;
    let headers = reader
        .headers()
        .map_err(|e| err(format!("not a valid CSV: {e}")))?
        .clone();
    let column = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let (Some(path_col), Some(label_col)) = (column("path"), column("label")) else {
        return Err(err(format!(
            "the first line must name the columns path,label (found {:?})",
            headers.iter().collect::<Vec<_>>().join(",")
        )));
    };
    let mut unknown = BTreeSet::new();
    let mut items = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| err(format!("not a valid CSV: {e}")))?;
        let line = record.position().map_or(0, |p| p.line());
        let cell = |col: usize, what: &str| match record.get(col) {
            Some(v) if !v.is_empty() => Ok(v.to_string()),
            _ => Err(err(format!("line {line}: empty {what}"))),
        };
        let file = cell(path_col, "path")?;
        let name = cell(label_col, "label")?;
        let (label, truth) = label_of(&name, labels, &mut unknown);
        let file = Path::new(&file);
        items.push(Item {
            path: if file.is_absolute() {
                file.to_path_buf()
            } else {
                base.join(file)
            },
            label,
            truth,
            explicit: true,
            error: None,
        });
    }
    Ok(Dataset {
        source: path.to_path_buf(),
        items,
        warnings: unknown_warnings(path, unknown, labels),
    })
}

fn read_folder(path: &Path, labels: &[String]) -> Result<Dataset, DatasetError> {
    let err = |reason: String| DatasetError {
        path: path.to_path_buf(),
        reason,
    };
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|e| err(format!("cannot read the folder: {e}")))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| !n.to_string_lossy().starts_with('.'))
        })
        .collect();
    entries.sort();
    let (folders, loose): (Vec<PathBuf>, Vec<PathBuf>) =
        entries.into_iter().partition(|p| p.is_dir());
    if folders.is_empty() {
        return Err(err(
            "no label folders (expected one sub-folder per label, e.g. NORMAL/ and PNEUMONIA/)"
                .into(),
        ));
    }
    let mut unknown = BTreeSet::new();
    let mut items = Vec::new();
    for folder in &folders {
        let name = folder
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let (label, truth) = label_of(&name, labels, &mut unknown);
        let (files, errors) = crate::imaging::expand_paths_marked(std::slice::from_ref(folder));
        let item = |path: PathBuf, explicit: bool, error: Option<String>| Item {
            path,
            label: label.clone(),
            truth,
            explicit,
            error,
        };
        items.extend(
            files
                .into_iter()
                .map(|(p, explicit)| item(p, explicit, None)),
        );
        items.extend(
            errors
                .into_iter()
                .map(|e| item(e.path.clone(), true, Some(e.to_string()))),
        );
    }
    let mut warnings = unknown_warnings(path, unknown, labels);
    if !loose.is_empty() {
        warnings.push(format!(
            "{}: {} file(s) directly in the folder are in no label folder: not evaluated",
            path.display(),
            loose.len()
        ));
    }
    Ok(Dataset {
        source: path.to_path_buf(),
        items,
        warnings,
    })
}
