//! A reading worklist from triage results, without UI: one row per study
//! (a file without a Study Instance UID is its own study), ordered most
//! suspicious first by a chosen label's probability, filtered by scope and
//! failure, with the reader's read/unread status kept beside the results
//! (`RESULTS.jsonl.read.json`), never in the source files.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::record::TriageRecord;
use super::results::{self, ResultsError};

/// One study of the worklist.
#[derive(Debug, Clone, PartialEq)]
pub struct WorklistRow {
    /// The study's key: `study:UID`, or `path:NAME` for a file without one.
    pub key: String,
    /// The files, as the results name them.
    pub paths: Vec<String>,
    /// Where to open them on this machine (a zip member: its archive),
    /// resolved when the list is opened ([`Worklist::open`]) so that the
    /// viewer need not look at the disk.
    pub files: Vec<PathBuf>,
    /// Per label, the highest probability among the study's images.
    pub probabilities: BTreeMap<String, f64>,
    /// Per finding label, the call of the image with the highest
    /// probability (in words).
    pub calls: BTreeMap<String, String>,
    /// Scope and failure.
    pub status: RowStatus,
    /// Why it is out of scope, or the first error.
    pub reason: Option<String>,
    /// The model and version that made the results.
    pub model: String,
}

/// What a row is, for the filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RowStatus {
    /// An image is in the model's scope.
    InScope,
    /// Classified, but the files cannot show their scope (a plain JPEG):
    /// the call stands, as for an image in scope.
    ScopeUnverifiable,
    /// Every classified image is outside the model's scope: no call.
    OutOfScope,
    /// No image of the study could be classified.
    Failed,
}

/// Which rows to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Filter {
    /// Every row.
    #[default]
    All,
    /// Rows with a call: in scope, or scope not verifiable from the file.
    InScope,
    /// Rows outside the model's scope.
    OutOfScope,
    /// Rows that failed.
    Failed,
}

impl Filter {
    /// Every filter, in menu order.
    pub const ALL: [Filter; 4] = [
        Filter::All,
        Filter::InScope,
        Filter::OutOfScope,
        Filter::Failed,
    ];

    /// The filter in words.
    pub fn name(self) -> &'static str {
        match self {
            Filter::All => "All",
            Filter::InScope => "In scope",
            Filter::OutOfScope => "Out of scope",
            Filter::Failed => "Failed",
        }
    }

    /// True when `row` passes.
    pub fn keeps(self, row: &WorklistRow) -> bool {
        match self {
            Filter::All => true,
            Filter::InScope => matches!(
                row.status,
                RowStatus::InScope | RowStatus::ScopeUnverifiable
            ),
            Filter::OutOfScope => row.status == RowStatus::OutOfScope,
            Filter::Failed => row.status == RowStatus::Failed,
        }
    }
}

/// A results file as a worklist.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Worklist {
    /// The results file.
    pub results: PathBuf,
    /// The studies, in the order first seen in the file.
    pub rows: Vec<WorklistRow>,
    /// Every label with a probability, in the order first seen.
    pub labels: Vec<String>,
    /// The keys of the rows the reader has opened.
    pub read: BTreeSet<String>,
}

/// Why a worklist could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum WorklistError {
    /// The results file.
    #[error(transparent)]
    Results(#[from] ResultsError),
    /// The read-status file beside it.
    #[error("{path}: cannot read the read/unread status: {message}")]
    ReadStatus {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
}

/// Where the reader's read/unread status of `results` is kept.
pub fn read_status_path(results: &Path) -> PathBuf {
    let mut name = results.as_os_str().to_owned();
    name.push(".read.json");
    PathBuf::from(name)
}

impl Worklist {
    /// Reads `results` and the read status beside it (none yet: all unread).
    pub fn open(results: &Path) -> Result<Self, WorklistError> {
        let read = results::read(results)?;
        let mut list = Self::from_records(results, &read.records);
        for row in &mut list.rows {
            row.files = row.paths.iter().map(|p| locate(results, p)).collect();
            row.files.dedup();
        }
        let status = read_status_path(results);
        match std::fs::read_to_string(&status) {
            Ok(text) => {
                let keys: Vec<String> =
                    serde_json::from_str(&text).map_err(|e| WorklistError::ReadStatus {
                        path: status.clone(),
                        message: e.to_string(),
                    })?;
                list.read = keys.into_iter().collect();
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(WorklistError::ReadStatus {
                    path: status,
                    message: e.to_string(),
                });
            }
        }
        Ok(list)
    }

    /// The worklist of `records` (from `results`), all unread; files where
    /// the results name them.
    pub fn from_records(results: &Path, records: &[TriageRecord]) -> Self {
        let mut list = Worklist {
            results: results.to_path_buf(),
            ..Worklist::default()
        };
        let mut index: BTreeMap<String, usize> = BTreeMap::new();
        for record in records.iter().filter(|r| r.skipped.is_none()) {
            let key = super::shard::shard_key(record.study_instance_uid.as_deref(), &record.path);
            let row = *index.entry(key.clone()).or_insert_with(|| {
                list.rows.push(WorklistRow {
                    key,
                    paths: Vec::new(),
                    files: Vec::new(),
                    probabilities: BTreeMap::new(),
                    calls: BTreeMap::new(),
                    status: RowStatus::Failed,
                    reason: None,
                    model: format!("{} {}", record.model_id, record.model_version),
                });
                list.rows.len() - 1
            });
            let entry = &mut list.rows[row];
            entry.paths.push(record.path.clone());
            entry.files.push(PathBuf::from(&record.path));
            if let Some(error) = &record.error {
                entry.reason.get_or_insert_with(|| error.clone());
                continue;
            }
            let status = match record.in_scope {
                Some(true) => RowStatus::InScope,
                None => RowStatus::ScopeUnverifiable,
                Some(false) => RowStatus::OutOfScope,
            };
            if status < entry.status {
                entry.status = status;
                if status != RowStatus::OutOfScope {
                    entry.reason = None;
                }
            }
            if status == RowStatus::OutOfScope && entry.reason.is_none() {
                entry.reason = Some(record.scope_reasons.join("; "));
            }
            for (label, value) in record.probabilities.iter().flatten() {
                let Some(p) = value.as_f64() else { continue };
                if !list.labels.contains(label) {
                    list.labels.push(label.clone());
                }
                if entry.probabilities.get(label).is_none_or(|&best| p > best) {
                    entry.probabilities.insert(label.clone(), p);
                    if let Some(call) = record.call(label) {
                        entry.calls.insert(label.clone(), call.call);
                    }
                }
            }
        }
        list
    }

    /// The label to sort by when the reader has not chosen: the first with
    /// a call (a finding), else the first.
    pub fn default_label(&self) -> Option<&str> {
        self.labels
            .iter()
            .find(|l| self.rows.iter().any(|r| r.calls.contains_key(*l)))
            .or(self.labels.first())
            .map(String::as_str)
    }

    /// The rows `filter` keeps, most suspicious first: rows with a call by
    /// `label`'s probability (highest first), then rows outside the scope
    /// (by probability, for reference), then failed rows; ties in file order.
    pub fn order(&self, label: &str, filter: Filter) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.rows.len())
            .filter(|&i| filter.keeps(&self.rows[i]))
            .collect();
        let group = |row: &WorklistRow| match row.status {
            RowStatus::InScope | RowStatus::ScopeUnverifiable => 0,
            RowStatus::OutOfScope => 1,
            RowStatus::Failed => 2,
        };
        order.sort_by(|&a, &b| {
            let (ra, rb) = (&self.rows[a], &self.rows[b]);
            let pa = ra
                .probabilities
                .get(label)
                .copied()
                .unwrap_or(f64::NEG_INFINITY);
            let pb = rb
                .probabilities
                .get(label)
                .copied()
                .unwrap_or(f64::NEG_INFINITY);
            group(ra)
                .cmp(&group(rb))
                .then(pb.total_cmp(&pa))
                .then(a.cmp(&b))
        });
        order
    }

    /// The first unread row in `order` after position `after` (from the
    /// top when `None`), wrapping round; `None` when every row is read.
    pub fn next_unread(&self, order: &[usize], after: Option<usize>) -> Option<usize> {
        let start = after.and_then(|row| order.iter().position(|&r| r == row).map(|p| p + 1));
        let start = start.unwrap_or(0);
        (0..order.len())
            .map(|k| order[(start + k) % order.len()])
            .find(|&row| !self.is_read(row))
    }

    /// True when the reader has opened row `row`.
    pub fn is_read(&self, row: usize) -> bool {
        self.rows
            .get(row)
            .is_some_and(|r| self.read.contains(&r.key))
    }

    /// Marks row `row` read or unread; true when that changed it.
    pub fn set_read(&mut self, row: usize, read: bool) -> bool {
        let Some(key) = self.rows.get(row).map(|r| r.key.clone()) else {
            return false;
        };
        if read {
            self.read.insert(key)
        } else {
            self.read.remove(&key)
        }
    }

    /// The read status as it is saved: the read rows' keys, sorted.
    pub fn read_status_json(&self) -> String {
        serde_json::to_string_pretty(&self.read).unwrap_or_else(|_| "[]".into())
    }
}

/// Where the file `written` in `results` is on this machine: as written
/// when it exists, else relative to the results file's folder; a zip
/// member (`ARCHIVE.zip!member`) is its archive.
fn locate(results: &Path, written: &str) -> PathBuf {
    let as_written = PathBuf::from(
        written
            .split_once(".zip!")
            .map_or(written.to_string(), |(zip, _)| format!("{zip}.zip")),
    );
    if as_written.is_absolute() || as_written.exists() {
        return as_written;
    }
    results
        .parent()
        .map_or(as_written.clone(), |dir| dir.join(&as_written))
}

/// Saves the read status of `list` beside its results (atomically).
pub fn save_read_status(results: &Path, json: &str) -> std::io::Result<()> {
    crate::output::write_atomic(&read_status_path(results), |w| w.write_all(json.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::triage::record::ModelStamp;

    fn record(
        path: &str,
        study: Option<&str>,
        p: Option<f64>,
        in_scope: Option<bool>,
    ) -> TriageRecord {
        let stamp = ModelStamp {
            id: "m".into(),
            version: "1".into(),
            engine: "onnxruntime".into(),
            execution_provider: "cpu".into(),
        };
        let mut r = TriageRecord::new(path.into(), &stamp);
        r.study_instance_uid = study.map(String::from);
        r.in_scope = in_scope;
        match p {
            Some(p) => {
                let mut map = serde_json::Map::new();
                map.insert("NORMAL".into(), (1.0 - p).into());
                map.insert("PNEUMONIA".into(), p.into());
                r.probabilities = Some(map);
            }
            None => r.error = Some(format!("{path}: broken")),
        }
        r
    }

    #[test]
    fn rows_are_studies_sorted_most_suspicious_first_with_filters() {
        let records = vec![
            record("a1.dcm", Some("1.1"), Some(0.2), Some(true)),
            record("a2.dcm", Some("1.1"), Some(0.7), Some(true)),
            record("b.jpeg", None, Some(0.9), None),
            record("ct.dcm", Some("1.2"), Some(0.99), Some(false)),
            record("bad.dcm", None, None, None),
            record("c.dcm", Some("1.3"), Some(0.4), Some(true)),
        ];
        let list = Worklist::from_records(Path::new("r.jsonl"), &records);
        assert_eq!(list.rows.len(), 5);
        assert_eq!(list.rows[0].paths, ["a1.dcm", "a2.dcm"]);
        assert_eq!(list.rows[0].probabilities["PNEUMONIA"], 0.7);
        assert_eq!(list.default_label(), Some("NORMAL"));
        let order = list.order("PNEUMONIA", Filter::All);
        let keys: Vec<&str> = order
            .iter()
            .map(|&i| list.rows[i].paths[0].as_str())
            .collect();
        assert_eq!(keys, ["b.jpeg", "a1.dcm", "c.dcm", "ct.dcm", "bad.dcm"]);
        let only = |f| {
            list.order("PNEUMONIA", f)
                .iter()
                .map(|&i| list.rows[i].paths[0].clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(only(Filter::InScope), ["b.jpeg", "a1.dcm", "c.dcm"]);
        assert_eq!(only(Filter::OutOfScope), ["ct.dcm"]);
        assert_eq!(only(Filter::Failed), ["bad.dcm"]);
        assert_eq!(list.rows[3].reason.as_deref(), Some("bad.dcm: broken"));
        assert_eq!(list.rows[2].status, RowStatus::OutOfScope);
    }

    #[test]
    fn next_unread_skips_read_rows_and_wraps() {
        let records: Vec<TriageRecord> = (0..4)
            .map(|i| record(&format!("{i}.jpeg"), None, Some(0.1 * i as f64), None))
            .collect();
        let mut list = Worklist::from_records(Path::new("r.jsonl"), &records);
        let order = list.order("PNEUMONIA", Filter::All);
        assert_eq!(order, [3, 2, 1, 0]);
        assert_eq!(list.next_unread(&order, None), Some(3));
        assert!(list.set_read(3, true));
        assert!(list.set_read(1, true));
        assert_eq!(list.next_unread(&order, Some(3)), Some(2));
        assert_eq!(list.next_unread(&order, Some(2)), Some(0));
        assert!(list.set_read(0, true));
        assert_eq!(list.next_unread(&order, Some(0)), Some(2));
        assert!(list.set_read(2, true));
        assert_eq!(list.next_unread(&order, Some(2)), None);
    }

    #[test]
    fn read_status_is_kept_beside_the_results() {
        let dir = tempfile::tempdir().unwrap();
        let results = dir.path().join("r.jsonl");
        let mut text = String::new();
        for r in [
            record("x.jpeg", None, Some(0.3), None),
            record("y.jpeg", None, Some(0.6), None),
        ] {
            text += &serde_json::to_string(&r).unwrap();
            text.push('\n');
        }
        std::fs::write(&results, &text).unwrap();
        let mut list = Worklist::open(&results).unwrap();
        assert!(list.read.is_empty());
        list.set_read(1, true);
        save_read_status(&results, &list.read_status_json()).unwrap();
        assert_eq!(
            std::fs::read_to_string(&results).unwrap(),
            text,
            "results untouched"
        );
        let again = Worklist::open(&results).unwrap();
        assert!(again.is_read(1) && !again.is_read(0));
        std::fs::write(read_status_path(&results), "not json").unwrap();
        let error = Worklist::open(&results).unwrap_err().to_string();
        assert!(error.contains("r.jsonl.read.json"), "{error}");
    }
}
