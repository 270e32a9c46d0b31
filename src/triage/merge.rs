//! `hilum triage merge`: the tasks' results files made one, each image once
//! (per model version), sorted by name, with what is missing reported from
//! the tasks' plans: shards that never ran, and images a plan names that
//! have no line.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

use super::plan::{PlanRecord, plan_path};
use super::record::TriageRecord;
use super::results::{self, ResultsError};

/// What a merge found.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize)]
pub struct MergeReport {
    /// Results files read.
    pub files: usize,
    /// Lines read.
    pub lines: usize,
    /// Distinct images (per model version) written.
    pub images: usize,
    /// Lines dropped as repeats of an image already taken.
    pub duplicates: usize,
    /// Lines cut off at the end of a file (a task killed mid-write).
    pub partial_lines: usize,
    /// Of the images, failed.
    pub failed: usize,
    /// Plans found next to the results files.
    pub plans: usize,
    /// Shards (of the plans' count) with no plan: their tasks never ran
    /// or wrote elsewhere.
    pub missing_shards: Vec<u64>,
    /// Images some plan names that have no line.
    pub missing_images: Vec<String>,
    /// Results files without a plan (what they miss cannot be told).
    pub without_plan: Vec<PathBuf>,
}

impl MergeReport {
    /// True when nothing is known to be missing.
    pub fn is_complete(&self) -> bool {
        self.missing_shards.is_empty()
            && self.missing_images.is_empty()
            && self.without_plan.is_empty()
    }
}

/// Merges `inputs`: the records, each image once (the first line for it),
/// sorted by name, and the report.
pub fn merge(inputs: &[PathBuf]) -> Result<(Vec<TriageRecord>, MergeReport), ResultsError> {
    let mut report = MergeReport {
        files: inputs.len(),
        ..MergeReport::default()
    };
    let mut seen = HashSet::new();
    let mut records = Vec::new();
    let mut plans: Vec<PlanRecord> = Vec::new();
    for input in inputs {
        let read = results::read(input)?;
        report.lines += read.records.len();
        report.partial_lines += usize::from(read.partial_tail > 0);
        for record in read.records {
            if seen.insert(record.key()) {
                records.push(record);
            } else {
                report.duplicates += 1;
            }
        }
        match read_plan(&plan_path(input))? {
            Some(plan) => plans.push(plan),
            None => report.without_plan.push(input.clone()),
        }
    }
    records.sort_by_key(TriageRecord::key);
    report.images = records.len();
    report.failed = records.iter().filter(|r| r.error.is_some()).count();
    report.plans = plans.len();
    // Per model version: the shards of the count its plans declare, and
    // the images they name.
    let mut by_model: HashMap<(String, String), (u64, BTreeSet<u64>)> = HashMap::new();
    let mut missing = BTreeSet::new();
    for plan in &plans {
        let entry = by_model
            .entry((plan.model_id.clone(), plan.model_version.clone()))
            .or_insert((plan.shard.count, BTreeSet::new()));
        entry.0 = entry.0.max(plan.shard.count);
        entry.1.insert(plan.shard.index);
        for image in &plan.images {
            let key = (
                image.clone(),
                plan.model_id.clone(),
                plan.model_version.clone(),
            );
            if !seen.contains(&key) {
                missing.insert(image.clone());
            }
        }
    }
    let mut missing_shards = BTreeSet::new();
    for (count, shards) in by_model.values() {
        missing_shards.extend((0..*count).filter(|k| !shards.contains(k)));
    }
    report.missing_shards = missing_shards.into_iter().collect();
    report.missing_images = missing.into_iter().collect();
    Ok((records, report))
}

fn read_plan(path: &Path) -> Result<Option<PlanRecord>, ResultsError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(ResultsError::Io {
                path: path.to_path_buf(),
                message: e.to_string(),
            });
        }
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| ResultsError::NotARecord {
            path: path.to_path_buf(),
            line: e.line(),
            message: e.to_string(),
        })
}

/// The records as CSV for a spreadsheet: identifiers, model, scope, one
/// probability column per label and one call column per finding label
/// (labels in the order they first appear), the error.
pub fn to_csv(records: &[TriageRecord]) -> Result<Vec<u8>, csv::Error> {
    let mut labels: Vec<String> = Vec::new();
    let mut findings: Vec<String> = Vec::new();
    for r in records {
        for l in r.probabilities.iter().flat_map(|p| p.keys()) {
            if !labels.contains(l) {
                labels.push(l.clone());
            }
        }
        for l in r.calls.iter().flat_map(|c| c.keys()) {
            if !findings.contains(l) {
                findings.push(l.clone());
            }
        }
    }
    let mut out = csv::Writer::from_writer(Vec::new());
    let mut header: Vec<String> = [
        "path",
        "study_instance_uid",
        "series_instance_uid",
        "sop_instance_uid",
        "model_id",
        "model_version",
        "engine",
        "execution_provider",
        "in_scope",
    ]
    .map(String::from)
    .to_vec();
    header.extend(labels.iter().map(|l| format!("probability {l}")));
    header.extend(findings.iter().map(|l| format!("call {l}")));
    header.push("error".into());
    out.write_record(&header)?;
    for r in records {
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        let mut row = vec![
            r.path.clone(),
            text(&r.study_instance_uid),
            text(&r.series_instance_uid),
            text(&r.sop_instance_uid),
            r.model_id.clone(),
            r.model_version.clone(),
            r.engine.clone(),
            r.execution_provider.clone(),
            r.in_scope.map_or(String::new(), |s| s.to_string()),
        ];
        row.extend(
            labels
                .iter()
                .map(|l| r.probability(l).map_or(String::new(), |p| p.to_string())),
        );
        row.extend(
            findings
                .iter()
                .map(|l| r.call(l).map_or(String::new(), |c| c.call)),
        );
        row.push(
            r.error
                .clone()
                .or_else(|| r.skipped.clone())
                .unwrap_or_default(),
        );
        out.write_record(&row)?;
    }
    out.into_inner().map_err(|e| e.into_error().into())
}
