//! DICOMweb against Orthanc: QIDO-RS, WADO-RS (with resuming), STOW-RS,
//! authentication, and TLS with an unknown and a configured CA.

use std::path::PathBuf;
use std::process::Command;

use super::orthanc::{Orthanc, PASSWORD};
use super::*;

#[test]
fn dicomweb_finds_retrieves_and_sends_with_authentication() {
    let work = tempfile::tempdir().unwrap();
    let ct_dir = work.path().join("ct");
    let ct_study = make_ct_series(&ct_dir, 12, "HILUM-WEB-1");
    let ct_files: Vec<PathBuf> = retrieved(&ct_dir);
    let orthanc = Orthanc::start();
    orthanc.upload(&corpus_files(&work.path().join("corpus")));
    orthanc.upload(&ct_files);
    let root = orthanc.web_root();

    // Echo.
    let out = ok(&hilum_pacs(&["pacs", "echo", &root], PASSWORD), "echo");
    assert!(out.contains("answered in"), "{out}");

    // Studies: every uploaded one, the Latin-1 name right, counts as numbers.
    let studies = find(&root, &[]);
    let uids: Vec<&str> = studies
        .iter()
        .filter_map(|r| r["StudyInstanceUID"].as_str())
        .collect();
    for file in corpus_files(&work.path().join("corpus")) {
        assert!(
            uids.contains(&study_of(&file).as_str()),
            "{} missing from {uids:?}",
            file.display()
        );
    }
    let ct = studies
        .iter()
        .find(|r| r["StudyInstanceUID"] == ct_study.as_str())
        .expect("the CT study is found");
    assert_eq!(ct["PatientName"], "Müller^Jürgen");
    assert_eq!(ct["PatientID"], "HILUM-WEB-1");
    assert_eq!(ct["StudyDate"], "20260115");
    assert_eq!(ct["AccessionNumber"], "ACC-HILUM-WEB-1");
    assert_eq!(ct["ModalitiesInStudy"], "CT");
    assert_eq!(ct["NumberOfStudyRelatedInstances"], 12);
    assert_eq!(ct["StudyDescription"], "CT chest");

    // Matching: a wildcard name, an ID, a date range, an accession number.
    // (Orthanc 1.10 matches no non-ASCII character in a query, even exactly,
    // nor a caret after a wildcard, so the pattern keeps to plain letters.)
    for filter in [
        vec!["--patient-name", "M*ller*"],
        vec!["--patient-id", "HILUM-WEB-1"],
        vec!["--date", "20260101-20260131"],
        vec!["--accession", "ACC-HILUM-WEB-1"],
    ] {
        let found = find(&root, &filter);
        assert_eq!(found.len(), 1, "{filter:?}: {found:?}");
        assert_eq!(found[0]["StudyInstanceUID"], ct_study.as_str());
    }

    // Series and instances.
    let series = find(&root, &["--level", "series", "--study", &ct_study]);
    assert_eq!(series.len(), 1);
    assert_eq!(series[0]["Modality"], "CT");
    assert_eq!(series[0]["SeriesNumber"], 3);
    assert_eq!(series[0]["NumberOfSeriesRelatedInstances"], 12);
    let series_uid = series[0]["SeriesInstanceUID"].as_str().unwrap().to_string();
    let instances = find(
        &root,
        &[
            "--level",
            "instance",
            "--study",
            &ct_study,
            "--series",
            &series_uid,
        ],
    );
    assert_eq!(instances.len(), 12);
    assert!(
        instances
            .iter()
            .all(|r| r["SOPClassUID"] == "1.2.840.10008.5.1.4.1.1.2")
    );

    // Retrieval: every corpus study, compressed ones arriving compressed.
    for file in corpus_files(&work.path().join("corpus")) {
        let out_dir = work.path().join(format!(
            "get-{}",
            file.file_stem().unwrap().to_string_lossy()
        ));
        let study = study_of(&file);
        let out = ok(
            &hilum_pacs(
                &[
                    "pacs",
                    "get",
                    &root,
                    "--study",
                    &study,
                    "--out",
                    out_dir.to_str().unwrap(),
                ],
                PASSWORD,
            ),
            "get",
        );
        let summary: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(summary["instances"], 1, "{out}");
        assert!(summary["bytes"].as_u64().unwrap() > 0 && summary["seconds"].is_number());
        assert_same_instances(&out_dir, std::slice::from_ref(&file));
    }

    // The CT: whole, then resumed after losing two instances.
    let ct_out = work.path().join("get-ct");
    let args = [
        "pacs",
        "get",
        root.as_str(),
        "--study",
        &ct_study,
        "--out",
        ct_out.to_str().unwrap(),
    ];
    ok(&hilum_pacs(&args, PASSWORD), "get the CT");
    assert_same_instances(&ct_out, &ct_files);
    let mut lost = retrieved(&ct_out);
    lost.truncate(2);
    for path in &lost {
        std::fs::remove_file(path).unwrap();
    }
    let out = ok(&hilum_pacs(&args, PASSWORD), "resume the CT");
    let summary: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        summary["instances"], 2,
        "only the missing ones are fetched: {out}"
    );
    assert_same_instances(&ct_out, &ct_files);

    // Into the study cache (what `hilum view --pacs` opens), listed, the
    // second time at once from the cache, then cleared.
    let data = work.path().join("data");
    let cache_args = [
        "pacs",
        "get",
        root.as_str(),
        "--study",
        &ct_study,
        "--cache",
    ];
    let out = ok(
        &hilum_pacs_with_data(&cache_args, PASSWORD, &data),
        "get into the cache",
    );
    let summary: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(summary["instances"], 12, "{out}");
    let cached_dir = data.join("studies").join(&ct_study);
    assert_same_instances(&cached_dir, &ct_files);
    let listed = rows(&ok(
        &hilum_pacs_with_data(&["pacs", "cache"], PASSWORD, &data),
        "cache list",
    ));
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["study_uid"], ct_study.as_str());
    assert_eq!(listed[0]["complete"], true);
    assert_eq!(listed[0]["instances"], 12);
    // Cached whole: no request reaches the node (a wrong password would fail).
    ok(
        &hilum_pacs_with_data(&cache_args, "wrong-Pa55word", &data),
        "get from the cache",
    );
    ok(
        &hilum_pacs_with_data(&["pacs", "cache", "--clear"], PASSWORD, &data),
        "cache clear",
    );
    assert!(!cached_dir.exists());

    // One series only.
    let series_out = work.path().join("get-series");
    ok(
        &hilum_pacs(
            &[
                "pacs",
                "get",
                &root,
                "--study",
                &ct_study,
                "--series",
                &series_uid,
                "--out",
                series_out.to_str().unwrap(),
            ],
            PASSWORD,
        ),
        "get one series",
    );
    assert_eq!(retrieved(&series_out).len(), 12);

    // Send: a new study by STOW-RS, then found; a non-DICOM file fails alone.
    let new_dir = work.path().join("new");
    let new_study = make_ct_series(&new_dir, 2, "HILUM-WEB-2");
    let junk = work.path().join("notes.txt");
    std::fs::write(&junk, "not DICOM").unwrap();
    let out = hilum_pacs(
        &[
            "pacs",
            "send",
            &root,
            new_dir.to_str().unwrap(),
            junk.to_str().unwrap(),
        ],
        PASSWORD,
    );
    let (stdout, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(1), "one file failed: {stderr}");
    assert_eq!(stdout.matches("stored ").count(), 2, "{stdout}");
    assert!(
        stdout.contains(&format!("failed {}", junk.display())),
        "{stdout}"
    );
    let found = find(&root, &["--study", &new_study]);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["NumberOfStudyRelatedInstances"], 2);
    let out = hilum_pacs(
        &["pacs", "send", &root, new_dir.to_str().unwrap()],
        PASSWORD,
    );
    assert!(
        out.status.success(),
        "sending again is fine: {}",
        texts(&out).1
    );

    // Wrong password: exit 1, says so with the HTTP status, never shows it.
    for args in [
        vec!["pacs", "echo", root.as_str()],
        vec!["pacs", "find", root.as_str(), "--json"],
        vec![
            "pacs",
            "get",
            root.as_str(),
            "--study",
            &ct_study,
            "--out",
            work.path().join("x").to_str().unwrap(),
        ],
        vec!["pacs", "send", root.as_str(), new_dir.to_str().unwrap()],
    ] {
        let wrong = "wrong-Pa55word";
        let out = hilum_pacs(&args, wrong);
        let (stdout, stderr) = texts(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.contains("authentication failed") && stderr.contains("401"),
            "{args:?}: {stderr}"
        );
        assert!(!stderr.contains(wrong) && !stdout.contains(wrong));
    }
    // A token Orthanc does not know is refused too.
    let out = Command::new(env!("CARGO_BIN_EXE_hilum"))
        .args(["pacs", "echo", &root])
        .env("HILUM_PACS_TOKEN", "not-a-valid-token")
        .env_remove("HILUM_PACS_USER")
        .env_remove("HILUM_PACS_PASSWORD")
        .output()
        .unwrap();
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains("authentication failed") && !stderr.contains("not-a-valid-token"),
        "{stderr}"
    );
}

/// A CA and a certificate for `localhost` signed by it, made with openssl.
fn make_certificates(dir: &std::path::Path) -> (PathBuf, PathBuf) {
    let run = |args: &[&str]| {
        let out = common::tool("openssl", "openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=Hilum Test CA",
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=localhost",
    ]);
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n",
    )
    .unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
    ]);
    let mut combined = std::fs::read(dir.join("server.pem")).unwrap();
    combined.extend(std::fs::read(dir.join("server.key")).unwrap());
    let certificate = dir.join("orthanc.pem");
    std::fs::write(&certificate, combined).unwrap();
    (dir.join("ca.pem"), certificate)
}

#[test]
fn tls_is_verified_against_the_system_roots_and_a_configured_ca() {
    let work = tempfile::tempdir().unwrap();
    let (ca, certificate) = make_certificates(work.path());
    let orthanc = Orthanc::start_with(Some(&certificate));
    let root = orthanc.web_root();
    // Unknown CA: refused, saying it is TLS.
    let out = hilum_pacs(&["pacs", "echo", &root], PASSWORD);
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("TLS failed"), "{stderr}");
    // The CA configured: accepted.
    ok(
        &hilum_pacs(
            &["pacs", "echo", &root, "--ca-file", ca.to_str().unwrap()],
            PASSWORD,
        ),
        "echo with the CA",
    );
    let out = ok(
        &hilum_pacs(
            &[
                "pacs",
                "find",
                &root,
                "--ca-file",
                ca.to_str().unwrap(),
                "--json",
            ],
            PASSWORD,
        ),
        "find over TLS",
    );
    assert_eq!(rows(&out).len(), 0);
    // A CA file that is not PEM is an error naming it.
    let out = hilum_pacs(
        &[
            "pacs",
            "echo",
            &root,
            "--ca-file",
            certificate.with_extension("none").to_str().unwrap(),
        ],
        PASSWORD,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(texts(&out).1.contains("CA file"), "{}", texts(&out).1);
}
