//! Results files: JSON Lines appended one image at a time and flushed, so
//! a killed task loses at most the image in flight; read back for
//! `--resume` and `triage merge`.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use super::record::TriageRecord;

/// Why a results file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ResultsError {
    /// The file exists and neither `--resume` nor `--force` was given.
    #[error(
        "{0}: already exists; --resume continues it (skipping the images it has), --force \
         replaces it"
    )]
    Exists(PathBuf),
    /// Reading or writing failed.
    #[error("{path}: {message}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        message: String,
    },
    /// A complete line is not a triage record.
    #[error("{path}, line {line}: not a triage result ({message})")]
    NotARecord {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// The parser's message.
        message: String,
    },
}

fn io(path: &Path, e: impl std::fmt::Display) -> ResultsError {
    ResultsError::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// A results file read back.
#[derive(Debug, Default)]
pub struct ReadResults {
    /// Every complete record, in file order.
    pub records: Vec<TriageRecord>,
    /// Bytes at the end after the last newline: a line cut off when its
    /// task was killed (0 when the file ends cleanly).
    pub partial_tail: u64,
}

/// Reads every complete line of `path`; a last line without its newline
/// (a task killed mid-write) is counted in `partial_tail`, not parsed.
pub fn read(path: &Path) -> Result<ReadResults, ResultsError> {
    let file = File::open(path).map_err(|e| io(path, e))?;
    let mut reader = BufReader::new(file);
    let mut out = ReadResults::default();
    let mut line = Vec::new();
    let mut number = 0;
    loop {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .map_err(|e| io(path, e))?;
        if n == 0 {
            break;
        }
        number += 1;
        if line.last() != Some(&b'\n') {
            out.partial_tail = n as u64;
            break;
        }
        let text = String::from_utf8_lossy(&line);
        if text.trim().is_empty() {
            continue;
        }
        let record =
            serde_json::from_str(text.trim_end()).map_err(|e| ResultsError::NotARecord {
                path: path.to_path_buf(),
                line: number,
                message: e.to_string(),
            })?;
        out.records.push(record);
    }
    Ok(out)
}

/// A results file open for appending.
pub struct ResultsWriter {
    path: PathBuf,
    file: File,
}

/// How to open a results file that may exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Existing {
    /// Refuse to touch it.
    #[default]
    Refuse,
    /// Continue it: its images are not done again.
    Resume,
    /// Start it anew.
    Replace,
}

impl ResultsWriter {
    /// Opens `path` for results by the model `model_id` `model_version`.
    /// Returns the writer and the names of the images already written by
    /// that model version (when resuming; a line cut off by a kill is
    /// removed first, so its image is done again).
    pub fn open(
        path: &Path,
        existing: Existing,
        model_id: &str,
        model_version: &str,
    ) -> Result<(Self, HashSet<String>), ResultsError> {
        let mut done = HashSet::new();
        let exists = path.exists();
        if exists && existing == Existing::Refuse {
            return Err(ResultsError::Exists(path.to_path_buf()));
        }
        if exists && existing == Existing::Resume {
            let read = read(path)?;
            done.extend(
                read.records
                    .into_iter()
                    .filter(|r| r.model_id == model_id && r.model_version == model_version)
                    .map(|r| r.path),
            );
            if read.partial_tail > 0 {
                let file = OpenOptions::new()
                    .write(true)
                    .open(path)
                    .map_err(|e| io(path, e))?;
                let len = file.metadata().map_err(|e| io(path, e))?.len();
                file.set_len(len - read.partial_tail.min(len))
                    .map_err(|e| io(path, e))?;
            }
        }
        let mut options = OpenOptions::new();
        options.create(true);
        if existing == Existing::Replace {
            options.write(true).truncate(true);
        } else {
            options.append(true);
        }
        let file = options.open(path).map_err(|e| io(path, e))?;
        Ok((
            Self {
                path: path.to_path_buf(),
                file,
            },
            done,
        ))
    }

    /// Appends `record` as one line and hands it to the system at once.
    pub fn write(&mut self, record: &TriageRecord) -> Result<(), ResultsError> {
        let mut line = serde_json::to_vec(record).map_err(|e| io(&self.path, e))?;
        line.push(b'\n');
        self.file
            .write_all(&line)
            .and_then(|()| self.file.flush())
            .map_err(|e| io(&self.path, e))
    }

    /// Forces the lines written to the disk (at the end of a run).
    pub fn sync(&mut self) -> Result<(), ResultsError> {
        self.file.sync_data().map_err(|e| io(&self.path, e))
    }
}
