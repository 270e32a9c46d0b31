//! DIMSE against Orthanc: C-ECHO, C-FIND at three levels (a Latin-1 name
//! decoded right), C-GET and C-MOVE of compressed and uncompressed studies
//! (pixels identical, transfer syntaxes kept), C-STORE then found.

use std::path::PathBuf;

use super::orthanc::{Orthanc, PASSWORD};
use super::*;

#[test]
fn dimse_echo_find_get_move_and_store_against_orthanc() {
    let work = tempfile::tempdir().unwrap();
    let ct_dir = work.path().join("ct");
    let ct_study = make_ct_series(&ct_dir, 10, "HILUM-DIMSE-1");
    let ct_files: Vec<PathBuf> = retrieved(&ct_dir);
    let orthanc = Orthanc::start();
    orthanc.upload(&corpus_files(&work.path().join("corpus")));
    orthanc.upload(&ct_files);
    let node = orthanc.dimse();

    let out = ok(&hilum_pacs(&["pacs", "echo", &node], PASSWORD), "C-ECHO");
    assert!(out.contains("answered in"), "{out}");

    let studies = find(&node, &[]);
    let ct = studies
        .iter()
        .find(|r| r["StudyInstanceUID"] == ct_study.as_str())
        .unwrap_or_else(|| panic!("the CT study in {studies:?}"));
    assert_eq!(ct["PatientName"], "Müller^Jürgen");
    assert_eq!(ct["NumberOfStudyRelatedInstances"], 10);
    assert_eq!(ct["ModalitiesInStudy"], "CT");
    for file in corpus_files(&work.path().join("corpus")) {
        let study = study_of(&file);
        assert!(
            studies
                .iter()
                .any(|r| r["StudyInstanceUID"] == study.as_str()),
            "{}",
            file.display()
        );
    }
    let found = find(&node, &["--patient-name", "M*ller*"]);
    assert_eq!(found.len(), 1, "{found:?}");
    let series = find(&node, &["--level", "series", "--study", &ct_study]);
    assert_eq!(series.len(), 1);
    assert_eq!(series[0]["Modality"], "CT");
    let series_uid = series[0]["SeriesInstanceUID"].as_str().unwrap().to_string();
    let instances = find(
        &node,
        &[
            "--level",
            "instance",
            "--study",
            &ct_study,
            "--series",
            &series_uid,
        ],
    );
    assert_eq!(instances.len(), 10);

    // C-GET (the default) and C-MOVE, compressed studies included.
    for (method, extra) in [
        ("get", vec![]),
        (
            "move",
            vec!["--move-port".to_string(), orthanc.move_port.to_string()],
        ),
    ] {
        for file in corpus_files(&work.path().join("corpus"))
            .iter()
            .chain(std::iter::once(&ct_files[0]))
        {
            let is_ct = file == &ct_files[0];
            let study = if is_ct {
                ct_study.clone()
            } else {
                study_of(file)
            };
            let out_dir = work.path().join(format!(
                "{method}-{}",
                file.file_stem().unwrap().to_string_lossy()
            ));
            let mut args = vec![
                "pacs",
                "get",
                node.as_str(),
                "--study",
                &study,
                "--out",
                out_dir.to_str().unwrap(),
                "--method",
                method,
            ];
            args.extend(extra.iter().map(String::as_str));
            let out = ok(&hilum_pacs(&args, PASSWORD), method);
            let summary: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
            let expected = if is_ct {
                &ct_files[..]
            } else {
                std::slice::from_ref(file)
            };
            assert_eq!(summary["instances"], expected.len(), "{method}: {out}");
            assert_same_instances(&out_dir, expected);
        }
    }

    // C-STORE a new study, then find it.
    let new_dir = work.path().join("new");
    let new_study = make_ct_series(&new_dir, 3, "HILUM-DIMSE-2");
    let out = ok(
        &hilum_pacs(
            &["pacs", "send", &node, new_dir.to_str().unwrap()],
            PASSWORD,
        ),
        "C-STORE",
    );
    assert_eq!(out.matches("stored ").count(), 3, "{out}");
    let found = find(&node, &["--study", &new_study]);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["NumberOfStudyRelatedInstances"], 3);
}
