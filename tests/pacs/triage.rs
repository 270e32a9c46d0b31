//! `hilum triage --pacs`: the studies an Orthanc query finds, split into
//! two shards by Study Instance UID before anything is retrieved, each
//! task retrieving only its own into the study cache; merged, every study
//! is there once and every image has the same result as a triage of the
//! original files.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use super::orthanc::{Orthanc, PASSWORD};
use super::*;

fn lines(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn triage_of_a_pacs_query_in_two_shards_equals_triage_of_the_files() {
    let work = tempfile::tempdir().unwrap();
    let mut files = corpus_files(&work.path().join("corpus"));
    let ct_dir = work.path().join("ct");
    make_ct_series(&ct_dir, 6, "HILUM-TRIAGE-1");
    files.extend(retrieved(&ct_dir));
    let orthanc = Orthanc::start();
    orthanc.upload(&files);
    let root = orthanc.web_root();
    let data = work.path().join("data");

    let mut shards = Vec::new();
    let mut studies_by_shard: Vec<BTreeSet<String>> = Vec::new();
    for k in 0..2 {
        let out = work.path().join(format!("pacs-{k}.jsonl"));
        let shard = format!("{k}/2");
        let args = [
            "triage",
            "--pacs",
            root.as_str(),
            "--out",
            out.to_str().unwrap(),
            "--shard",
            &shard,
            "--threads",
            "2",
            "--ep",
            "cpu",
        ];
        let run = hilum_pacs_with_data(&args, PASSWORD, &data);
        let (_, stderr) = texts(&run);
        assert!(run.status.success(), "shard {shard}: {stderr}");
        assert!(stderr.contains("studies found on"), "{stderr}");
        studies_by_shard.push(
            lines(&out)
                .iter()
                .filter_map(|l| l["study_instance_uid"].as_str().map(String::from))
                .collect(),
        );
        shards.push(out);
    }
    assert!(
        studies_by_shard[0].is_disjoint(&studies_by_shard[1]),
        "a study in both shards"
    );

    let merged = work.path().join("all.jsonl");
    let mut args = vec!["triage", "merge"];
    args.extend(shards.iter().map(|p| p.to_str().unwrap()));
    args.extend(["--out", merged.to_str().unwrap()]);
    let run = hilum_pacs_with_data(&args, PASSWORD, &data);
    assert!(run.status.success(), "merge: {}", texts(&run).1);

    // The same files triaged where they are.
    let local = work.path().join("local.jsonl");
    let mut args: Vec<&str> = vec!["triage"];
    args.extend(files.iter().map(|p| p.to_str().unwrap()));
    args.extend([
        "--out",
        local.to_str().unwrap(),
        "--threads",
        "2",
        "--ep",
        "cpu",
    ]);
    let run = hilum_pacs_with_data(&args, PASSWORD, &data);
    assert!(run.status.success(), "local: {}", texts(&run).1);

    let by_sop = |path: &Path| -> BTreeMap<String, serde_json::Value> {
        lines(path)
            .into_iter()
            .map(|l| (l["sop_instance_uid"].as_str().unwrap().to_string(), l))
            .collect()
    };
    let (from_pacs, from_files) = (by_sop(&merged), by_sop(&local));
    assert_eq!(from_pacs.len(), files.len(), "one line per instance");
    assert_eq!(
        from_pacs.keys().collect::<Vec<_>>(),
        from_files.keys().collect::<Vec<_>>()
    );
    let cache = PathBuf::from(&data);
    for (sop, ours) in &from_pacs {
        let theirs = &from_files[sop];
        assert!(
            Path::new(ours["path"].as_str().unwrap()).starts_with(&cache),
            "{sop} read from the study cache: {}",
            ours["path"]
        );
        for field in ["study_instance_uid", "in_scope", "calls"] {
            assert_eq!(ours.get(field), theirs.get(field), "{sop} {field}");
        }
        // Error messages name the file, which is elsewhere in the cache.
        assert_eq!(
            ours.get("error").is_some(),
            theirs.get("error").is_some(),
            "{sop}"
        );
        if let Some(p) = theirs["probabilities"].as_object() {
            for (label, value) in p {
                let (a, b) = (
                    ours["probabilities"][label].as_f64().unwrap(),
                    value.as_f64().unwrap(),
                );
                assert!((a - b).abs() <= 1e-6, "{sop} {label}: {a} vs {b}");
            }
        }
    }
}
