//! `hilum triage` and `hilum triage merge` as a user runs them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::archive::{BROKEN, archive, by_path, read_lines, scratch, stderr, triage};
use crate::common;

/// The three shard tasks' results files (run once per test process).
fn three_shards() -> &'static Vec<PathBuf> {
    static SHARDS: OnceLock<Vec<PathBuf>> = OnceLock::new();
    SHARDS.get_or_init(|| {
        let archive = archive();
        let dir = scratch("shards");
        (0..3)
            .map(|k| {
                let out = dir.join(format!("results-{k}.jsonl"));
                let shard = format!("{k}/3");
                let run = triage(
                    &[archive.root.to_str().unwrap()],
                    &out,
                    &["--shard", &shard, "--threads", "2"],
                );
                assert!(run.status.success(), "shard {shard}: {}", stderr(&run));
                out
            })
            .collect()
    })
}

fn merge(inputs: &[&Path], out: &Path, extra: &[&str]) -> (std::process::Output, Value) {
    let mut args = vec!["triage", "merge"];
    args.extend(inputs.iter().map(|p| p.to_str().unwrap()));
    args.extend(["--out", out.to_str().unwrap(), "--json"]);
    args.extend(extra);
    let run = common::hilum(&args);
    let report = serde_json::from_slice(&run.stdout)
        .unwrap_or_else(|e| panic!("merge printed no JSON report ({e}): {}", stderr(&run)));
    (run, report)
}

/// Checks that `lines` are the reference run's lines (timing aside): the
/// same images, the same fields, the same values; probabilities to 1e-6,
/// since which images share an inference batch depends on timing, and
/// equal bits across batch sizes (which ONNX Runtime's CPU kernels give
/// here) are not a promise of the engine.
pub fn assert_same_as_reference(lines: &[Value], what: &str) {
    let expected = by_path(&archive().reference);
    let got = by_path(lines);
    let missing: Vec<&String> = expected.keys().filter(|k| !got.contains_key(*k)).collect();
    let extra: Vec<&String> = got.keys().filter(|k| !expected.contains_key(*k)).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{what}: missing {missing:?}, extra {extra:?}"
    );
    for (path, line) in &expected {
        let mut ours = got[path].clone();
        let mut theirs = line.clone();
        let probabilities = |v: &mut Value| v.as_object_mut().unwrap().remove("probabilities");
        match (probabilities(&mut ours), probabilities(&mut theirs)) {
            (Some(a), Some(b)) => {
                let a = a.as_object().unwrap();
                let b = b.as_object().unwrap();
                assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
                for (label, p) in a {
                    let (p, q) = (p.as_f64().unwrap(), b[label].as_f64().unwrap());
                    assert!((p - q).abs() <= 1e-6, "{what}: {path} {label}: {p} vs {q}");
                }
            }
            (a, b) => assert_eq!(a, b, "{what}: {path}"),
        }
        assert_eq!(ours, theirs, "{what}: {path}");
    }
}

#[test]
fn reference_run_has_a_line_per_file_and_an_error_per_broken_file() {
    let archive = archive();
    let lines = by_path(&archive.reference);
    for broken in BROKEN {
        let path = archive.root.join(broken).display().to_string();
        let error = lines[&path]["error"]
            .as_str()
            .unwrap_or_else(|| panic!("{broken}: no error in {}", lines[&path]));
        assert!(error.contains(&path), "the error names the file: {error}");
        assert!(lines[&path].get("probabilities").is_none(), "{broken}");
    }
    let classified = lines
        .values()
        .filter(|l| l.get("probabilities").is_some())
        .count();
    assert!(
        classified >= 280,
        "{classified} of {} classified",
        lines.len()
    );
    for line in lines.values() {
        assert_eq!(line["model_id"], "pneumonia-xception");
        assert_eq!(line["engine"], "onnxruntime");
        assert_eq!(line["execution_provider"], "cpu");
    }
    let ct = lines
        .iter()
        .find(|(p, _)| p.ends_with("/study-05/image-0.dcm"))
        .unwrap()
        .1;
    assert_eq!(ct["in_scope"], false, "{ct}");
    assert_eq!(ct["calls"]["PNEUMONIA"]["positive"], Value::Null, "{ct}");
    assert_eq!(
        ct["study_instance_uid"],
        "1.2.826.0.1.3680043.9.7433.15.1.5"
    );
    let dx = lines
        .iter()
        .find(|(p, _)| p.ends_with("/study-01/image-3.dcm"))
        .unwrap()
        .1;
    assert_eq!(dx["in_scope"], true, "{dx}");
    assert!(dx["calls"]["PNEUMONIA"]["positive"].is_boolean(), "{dx}");
}

#[test]
fn three_shards_merged_equal_one_process() {
    let shards = three_shards();
    let mut studies_seen: BTreeMap<String, usize> = BTreeMap::new();
    for (k, shard) in shards.iter().enumerate() {
        for line in read_lines(shard) {
            if let Some(study) = line["study_instance_uid"].as_str() {
                let owner = *studies_seen.entry(study.to_string()).or_insert(k);
                assert_eq!(owner, k, "study {study} in shards {owner} and {k}");
            }
        }
    }
    let dir = scratch("merged");
    let out = dir.join("all.jsonl");
    let inputs: Vec<&Path> = shards.iter().map(PathBuf::as_path).collect();
    let (run, report) = merge(&inputs, &out, &["--csv"]);
    assert!(run.status.success(), "{}\n{report}", stderr(&run));
    let total = archive().reference.len();
    assert_eq!(report["images"], total, "{report}");
    assert_eq!(report["duplicates"], 0, "{report}");
    let failed = archive()
        .reference
        .iter()
        .filter(|l| l.get("error").is_some())
        .count();
    assert!(failed >= BROKEN.len(), "{failed} failed");
    assert_eq!(report["failed"], failed, "{report}");
    assert_eq!(report["plans"], 3, "{report}");
    assert_eq!(report["missing_shards"], serde_json::json!([]), "{report}");
    assert_eq!(report["missing_images"], serde_json::json!([]), "{report}");
    assert_same_as_reference(&read_lines(&out), "3 shards merged");
    let csv = std::fs::read_to_string(dir.join("all.csv")).unwrap();
    assert_eq!(
        csv.lines().count(),
        total + 1,
        "a header and a row per image"
    );
    assert!(csv.starts_with("path,"), "{}", &csv[..80]);

    // Merging the same results twice drops every second copy.
    let twice = dir.join("twice.jsonl");
    let mut doubled = inputs.clone();
    doubled.extend(inputs.iter().copied());
    let (run, report) = merge(&doubled, &twice, &[]);
    assert!(run.status.success(), "{}", stderr(&run));
    assert_eq!(report["duplicates"], total, "{report}");
    assert_same_as_reference(&read_lines(&twice), "merged twice");
}

#[test]
fn merge_reports_a_missing_shard_and_results_without_a_plan() {
    let shards = three_shards();
    let dir = scratch("partial");
    let out = dir.join("two-of-three.jsonl");
    let (run, report) = merge(&[&shards[0], &shards[1]], &out, &[]);
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    assert!(stderr(&run).contains("missing shards"), "{}", stderr(&run));
    assert_eq!(report["missing_shards"], serde_json::json!([2]), "{report}");
    let in_shard_2 = read_lines(&shards[2]).len();
    assert_eq!(report["images"], archive().reference.len() - in_shard_2);

    // Shard 2 present but cut short: its missing images named.
    let cut = dir.join("results-2.jsonl");
    let text = std::fs::read_to_string(&shards[2]).unwrap();
    let kept: Vec<&str> = text.lines().skip(3).collect();
    std::fs::write(&cut, kept.join("\n") + "\n").unwrap();
    let plan = |p: &Path| PathBuf::from(format!("{}.plan.json", p.display()));
    std::fs::copy(plan(&shards[2]), plan(&cut)).unwrap();
    let (run, report) = merge(&[&shards[0], &shards[1], &cut], &out, &["--force"]);
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    let dropped: BTreeSet<String> = text
        .lines()
        .take(3)
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["path"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let missing: BTreeSet<String> = report["missing_images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(missing, dropped, "{report}");

    // A results file without its plan: named, nothing can be checked.
    std::fs::remove_file(plan(&cut)).unwrap();
    let (run, report) = merge(&[&shards[0], &shards[1], &cut], &out, &["--force"]);
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    assert_eq!(
        report["without_plan"],
        serde_json::json!([cut.display().to_string()]),
        "{report}"
    );
}

#[test]
fn existing_results_are_refused_without_resume_or_force() {
    let dir = scratch("refuse");
    let out = dir.join("results.jsonl");
    let earlier = "{\"path\":\"earlier\"}\n";
    std::fs::write(&out, earlier).unwrap();
    let run = triage(&[archive().root.to_str().unwrap()], &out, &[]);
    assert_eq!(run.status.code(), Some(2), "{}", stderr(&run));
    assert!(stderr(&run).contains("--resume"), "{}", stderr(&run));
    assert_eq!(std::fs::read_to_string(&out).unwrap(), earlier);
    let run = triage(
        &["/nonexistent/archive"],
        &dir.join("r.jsonl"),
        &["--shard", "3/3"],
    );
    assert_eq!(run.status.code(), Some(2), "{}", stderr(&run));
    assert!(stderr(&run).contains("3/3"), "{}", stderr(&run));
}

#[test]
fn a_killed_task_resumes_without_duplicates() {
    let archive = archive();
    let dir = scratch("resume");
    let out = dir.join("results.jsonl");
    let mut child = Command::new(env!("CARGO_BIN_EXE_hilum"))
        .args([
            "triage",
            archive.root.to_str().unwrap(),
            "--threads",
            "1",
            "--out",
        ])
        .arg(&out)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    // Complete lines: a line is written and flushed whole.
    let lines = |p: &Path| {
        std::fs::read(p)
            .map(|t| t.iter().filter(|&&b| b == b'\n').count())
            .unwrap_or(0)
    };
    while lines(&out) < 5 {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "no 5 lines in 2 minutes"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "finished before it could be killed"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let before = lines(&out);
    assert!(
        before < archive.reference.len(),
        "killed midway ({before} lines)"
    );
    // As if the kill had cut the line being written.
    let mut text = std::fs::read(&out).unwrap();
    text.extend_from_slice(b"{\"path\":\"cut-off mid-li");
    std::fs::write(&out, text).unwrap();

    let run = triage(
        &[archive.root.to_str().unwrap()],
        &out,
        &["--resume", "--threads", "2"],
    );
    assert!(run.status.success(), "{}", stderr(&run));
    assert!(
        stderr(&run).contains(&format!("{before} already")),
        "{}",
        stderr(&run)
    );
    assert_same_as_reference(&read_lines(&out), "killed and resumed");
    // Resuming a complete file does nothing.
    let again = triage(&[archive.root.to_str().unwrap()], &out, &["--resume"]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(read_lines(&out).len(), archive.reference.len());
}

#[test]
fn a_run_its_caller_stops_keeps_whole_lines_and_a_resume_finishes_it() {
    use hilum::ai::{EngineChoice, EpChoice, LoadedModel, Manifest, RuntimeSettings};
    use hilum::triage::results::{Existing, ResultsWriter};
    use hilum::triage::{self, Shard};
    use std::ops::ControlFlow;

    let archive = archive();
    let out = scratch("stopped").join("results.jsonl");
    let manifest = Manifest::load(&hilum::ai::resolve_model(None).unwrap()).unwrap();
    let runtime = RuntimeSettings {
        engine: EngineChoice::Onnxruntime,
        ep: EpChoice::Cpu,
        ..RuntimeSettings::default()
    };
    let mut model = LoadedModel::load(manifest.clone(), &runtime).unwrap();
    let plan = triage::plan::plan(std::slice::from_ref(&archive.root), Shard::WHOLE, 2);
    let open =
        |existing| ResultsWriter::open(&out, existing, &manifest.id, &manifest.version).unwrap();
    let mut run = |existing,
                   on_progress: &mut dyn FnMut(
        &triage::Progress,
        &triage::record::TriageRecord,
    ) -> ControlFlow<()>| {
        let (mut writer, done) = open(existing);
        let summary = triage::run(&mut model, &plan, &out, &mut writer, &done, 2, on_progress);
        (summary.unwrap(), done.len())
    };
    // The viewer's Stop button: the caller breaks after the fifth image.
    let mut calls = 0;
    let (summary, _) = run(Existing::Refuse, &mut |_, _| {
        calls += 1;
        if calls == 5 {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    });
    assert_eq!(summary.progress.done, 5);
    assert!(summary.progress.total > 5);
    assert_eq!(
        read_lines(&out).len(),
        5,
        "whole lines, none after the stop"
    );

    let (summary, already) = run(Existing::Resume, &mut |_, _| ControlFlow::Continue(()));
    assert_eq!(already, 5);
    assert_eq!(summary.already_done, 5);
    let lines = read_lines(&out);
    assert_eq!(
        lines.len(),
        archive.reference.len(),
        "no duplicate, none missing"
    );
    assert_same_as_reference(&lines, "stopped, then resumed");
}
