//! What one triage task is to do: the sources expanded into files (folders,
//! DICOMDIRs, zips, file lists), each file's study read from its header,
//! and the files of this task's shard kept.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::shard::{Shard, shard_key};
use crate::imaging::{self, FrameSelection, LoadOptions};

/// Extensions of a file list: one path per line (relative to the list's
/// folder), blank lines and `#` comments ignored.
pub const LIST_EXTENSIONS: [&str; 3] = ["txt", "list", "lst"];

/// One file to classify.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedFile {
    /// Where to read it (a zip member: its unpacked copy).
    pub path: PathBuf,
    /// How it is named in results (`ARCHIVE.zip!member` for a member).
    pub name: String,
    /// Named explicitly rather than found in a folder.
    pub explicit: bool,
}

/// A source that could not be expanded (a missing path, a refused zip):
/// reported as a failed line of the shard its name falls in.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedError {
    /// The path as named.
    pub name: String,
    /// Why.
    pub message: String,
}

/// This task's share of the input.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plan {
    /// The shard.
    pub shard: Shard,
    /// Files found in all the sources.
    pub found: usize,
    /// This shard's files.
    pub files: Vec<PlannedFile>,
    /// This shard's sources that could not be expanded.
    pub errors: Vec<PlannedError>,
}

/// What a task writes next to its results (`RESULTS.jsonl.plan.json`), so
/// that `triage merge` can say what is missing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanRecord {
    /// The shard.
    pub shard: Shard,
    /// The model's id.
    pub model_id: String,
    /// The model's version.
    pub model_version: String,
    /// The names of every image this shard is to write a line for.
    pub images: Vec<String>,
}

/// The plan file of a results file.
pub fn plan_path(results: &Path) -> PathBuf {
    let mut name = results.as_os_str().to_owned();
    name.push(".plan.json");
    PathBuf::from(name)
}

/// The files `sources` name: file lists read, the rest through
/// [`imaging::expand_paths_marked`] (folders, DICOMDIRs, zips).
pub fn expand_sources(sources: &[PathBuf]) -> (Vec<(PathBuf, bool)>, Vec<PlannedError>) {
    let mut paths = Vec::new();
    let mut errors = Vec::new();
    for source in sources {
        let is_list = source.is_file()
            && source
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| LIST_EXTENSIONS.iter().any(|l| e.eq_ignore_ascii_case(l)));
        if !is_list {
            paths.push(source.clone());
            continue;
        }
        match std::fs::read_to_string(source) {
            Ok(text) => {
                let base = source.parent().unwrap_or(Path::new("."));
                for line in text.lines() {
                    let line = line.trim();
                    if !line.is_empty() && !line.starts_with('#') {
                        paths.push(base.join(line));
                    }
                }
            }
            Err(e) => errors.push(PlannedError {
                name: source.display().to_string(),
                message: format!("{}: cannot read the file list: {e}", source.display()),
            }),
        }
    }
    let (files, failed) = imaging::expand_paths_marked(&paths);
    errors.extend(failed.into_iter().map(|e| PlannedError {
        name: e.path.display().to_string(),
        message: e.to_string(),
    }));
    (files, errors)
}

/// The plan of shard `shard` over `sources`: every file's header read on
/// `threads` threads (a file that is not DICOM, or whose header cannot be
/// read, is sharded by its name).
pub fn plan(sources: &[PathBuf], shard: Shard, threads: usize) -> Plan {
    let (files, errors) = expand_sources(sources);
    let options = LoadOptions {
        frames: FrameSelection::None,
        ..LoadOptions::default()
    };
    let threads = if threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        threads
    };
    let owners = std::sync::Mutex::new(vec![false; files.len()]);
    imaging::run_pool(
        &files,
        threads,
        None,
        |(path, _)| {
            let name = name_of(path);
            let study = imaging::load_path(path, &options)
                .ok()
                .and_then(|image| image.metadata.study_instance_uid);
            shard.owns(&shard_key(study.as_deref(), &name))
        },
        |i, owned| {
            if let Ok(mut owners) = owners.lock() {
                // A header read that panicked: sharded by name.
                owners[i] =
                    owned.unwrap_or_else(|_| shard.owns(&shard_key(None, &name_of(&files[i].0))));
            }
        },
    );
    let owners = owners.into_inner().unwrap_or_else(|p| p.into_inner());
    Plan {
        shard,
        found: files.len() + errors.len(),
        files: files
            .iter()
            .zip(owners)
            .filter(|(_, owned)| *owned)
            .map(|((path, explicit), _)| PlannedFile {
                path: path.clone(),
                name: name_of(path),
                explicit: *explicit,
            })
            .collect(),
        errors: errors
            .into_iter()
            .filter(|e| shard.owns(&shard_key(None, &e.name)))
            .collect(),
    }
}

/// How a file is named in results: as listed, a zip member as
/// `ARCHIVE.zip!member`.
pub fn name_of(path: &Path) -> String {
    imaging::archive::display_path(path).display().to_string()
}
