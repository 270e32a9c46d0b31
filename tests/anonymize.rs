//! De-identification over every file of the reference corpus, through
//! `hilum anonymize`: no identifying value of the source anywhere in the
//! output bytes, pixel data unchanged, UIDs replaced consistently.

mod common;
#[path = "anonymize/probe.rs"]
mod probe;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use common::hilum;
use dicom_core::header::Header as _;
use dicom_core::value::PrimitiveValue;
use dicom_core::{DataElement, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use hilum::imaging::dicom::read_dataset;
use hilum::reports::deid::rules::Column;

/// PS3.15 Table E.1-1 attributes whose source values must not survive
/// (the test's own list, independent of the implementation's table).
const IDENTIFYING: &[Tag] = &[
    tags::PATIENT_NAME,
    tags::PATIENT_ID,
    tags::PATIENT_BIRTH_DATE,
    #[allow(deprecated)]
    tags::OTHER_PATIENT_I_DS,
    tags::OTHER_PATIENT_NAMES,
    tags::PATIENT_ADDRESS,
    tags::ACCESSION_NUMBER,
    tags::STUDY_ID,
    tags::STUDY_DATE,
    tags::SERIES_DATE,
    tags::ACQUISITION_DATE,
    tags::CONTENT_DATE,
    tags::ACQUISITION_DATE_TIME,
    tags::INSTITUTION_NAME,
    tags::INSTITUTION_ADDRESS,
    tags::INSTITUTIONAL_DEPARTMENT_NAME,
    tags::REFERRING_PHYSICIAN_NAME,
    tags::PERFORMING_PHYSICIAN_NAME,
    tags::OPERATORS_NAME,
    tags::PHYSICIANS_OF_RECORD,
    tags::STATION_NAME,
    tags::DEVICE_SERIAL_NUMBER,
    tags::STUDY_DESCRIPTION,
    tags::SERIES_DESCRIPTION,
    tags::PROTOCOL_NAME,
    tags::STUDY_INSTANCE_UID,
    tags::SERIES_INSTANCE_UID,
    tags::SOP_INSTANCE_UID,
    tags::FRAME_OF_REFERENCE_UID,
    tags::IMAGE_COMMENTS,
];

const UIDS: &[Tag] = &[
    tags::STUDY_INSTANCE_UID,
    tags::SERIES_INSTANCE_UID,
    tags::SOP_INSTANCE_UID,
    tags::FRAME_OF_REFERENCE_UID,
];

fn value(ds: &InMemDicomObject, tag: Tag) -> Option<String> {
    ds.get(tag)
        .and_then(|e| e.to_str().ok())
        .map(|s| s.trim_end_matches('\0').trim().to_string())
        .filter(|s| !s.is_empty())
}

fn corpus_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(common::corpus_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .filter(|p| {
            let name = p.file_name().unwrap().to_str().unwrap();
            name != "reference.json" && !name.ends_with(".md")
        })
        .collect();
    files.sort();
    files
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[test]
fn every_corpus_file_is_deidentified_with_pixels_unchanged_and_uids_consistent() {
    let out_dir = tempfile::tempdir().unwrap();
    let files = corpus_files();
    assert!(files.len() >= 39, "{} corpus files", files.len());
    let mut args = vec!["anonymize".to_string()];
    args.extend(files.iter().map(|p| p.display().to_string()));
    args.extend(["--out".into(), out_dir.path().display().to_string()]);
    let arg_refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = hilum(&arg_refs);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();

    let mut uid_map: HashMap<String, String> = HashMap::new();
    let mut checked = 0;
    for source in &files {
        let name = source.file_name().unwrap().to_str().unwrap();
        let output = out_dir.path().join(name);
        let Ok((src, _)) = read_dataset(source) else {
            // Files the loader cannot parse fail by name, with no output.
            assert!(stderr.contains(name), "{name} failed silently:\n{stderr}");
            assert!(!output.exists(), "{name}: no output for a failed file");
            continue;
        };
        assert!(output.is_file(), "{name} not written:\n{stderr}");
        let bytes = std::fs::read(&output).unwrap();
        // Values the profile keeps may equal an identifying one (an
        // institution named after the scanner's manufacturer).
        let kept: Vec<String> = [tags::MANUFACTURER, tags::MANUFACTURER_MODEL_NAME]
            .iter()
            .filter_map(|&t| value(&src, t))
            .collect();
        for &tag in IDENTIFYING {
            if let Some(v) = value(&src, tag) {
                // Short values (sex, single digits) occur by chance.
                if v.len() >= 6 && !kept.iter().any(|k| k.contains(v.as_str())) {
                    assert!(!contains(&bytes, &v), "{name}: {tag} value {v:?} survived");
                }
            }
        }
        let (dst, _) = read_dataset(&output).unwrap();
        assert_eq!(
            value(&dst, tags::PATIENT_IDENTITY_REMOVED).as_deref(),
            Some("YES")
        );
        assert!(value(&dst, tags::DEIDENTIFICATION_METHOD).is_some());
        assert!(
            dst.iter().all(|e| e.tag().group() % 2 == 0),
            "{name}: private attributes removed"
        );
        assert_eq!(
            src.get(tags::PIXEL_DATA).map(|e| e.value()),
            dst.get(tags::PIXEL_DATA).map(|e| e.value()),
            "{name}: pixel data unchanged"
        );
        for &tag in UIDS {
            if let (Some(a), Some(b)) = (value(&src, tag), value(&dst, tag)) {
                assert_ne!(a, b, "{name}: {tag} replaced");
                let previous = uid_map.insert(a.clone(), b.clone());
                assert!(
                    previous.is_none_or(|p| p == b),
                    "{name}: {a} mapped to two different UIDs"
                );
            }
        }
        checked += 1;
    }
    assert!(
        checked >= 35,
        "only {checked} files de-identified:\n{stderr}"
    );
    let distinct: std::collections::HashSet<&String> = uid_map.values().collect();
    assert_eq!(distinct.len(), uid_map.len(), "distinct UIDs stay distinct");
}

fn ct_copy_with(dir: &Path, name: &str, elements: Vec<(Tag, VR, &str)>) -> PathBuf {
    let mut file = dicom_object::open_file(common::corpus_dir().join("CT_small.dcm")).unwrap();
    for (tag, vr, v) in elements {
        file.put(DataElement::new(tag, vr, PrimitiveValue::from(v)));
    }
    let path = dir.join(name);
    file.write_to_file(&path).unwrap();
    path
}

#[test]
fn burned_in_annotation_is_refused_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let source = ct_copy_with(
        dir.path(),
        "burned.dcm",
        vec![(tags::BURNED_IN_ANNOTATION, VR::CS, "YES")],
    );
    let out_dir = dir.path().join("out");
    let out = hilum(&[
        "anonymize",
        source.to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("burned.dcm") && err.contains("Burned In Annotation"),
        "{err}"
    );
    assert!(!out_dir.join("burned.dcm").exists());
    let output = probe::anonymize(&source, &out_dir, &["--allow-burned-in"]);
    assert!(output.is_file());
}

#[test]
fn dates_can_be_shifted_instead_of_removed() {
    let dir = tempfile::tempdir().unwrap();
    let source = ct_copy_with(
        dir.path(),
        "dated.dcm",
        vec![
            (tags::STUDY_DATE, VR::DA, "20240301"),
            (tags::SERIES_DATE, VR::DA, "20240302"),
        ],
    );
    let out_dir = dir.path().join("out");
    let output = probe::anonymize(&source, &out_dir, &["--shift-dates", "-1"]);
    let (dst, _) = read_dataset(&output).unwrap();
    assert_eq!(value(&dst, tags::STUDY_DATE).as_deref(), Some("20240229"));
    assert_eq!(value(&dst, tags::SERIES_DATE).as_deref(), Some("20240301"));
    // The birth date is emptied even when dates are shifted.
    assert_eq!(value(&dst, tags::PATIENT_BIRTH_DATE), None);
    assert_eq!(
        value(&dst, tags::LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED).as_deref(),
        Some("MODIFIED")
    );
}

#[test]
fn probe_of_every_table_attribute_leaves_no_marker_and_keeps_pixels_and_display() {
    let dir = tempfile::tempdir().unwrap();
    let p = probe::build(dir.path());
    assert!(p.markers.len() > 640, "{} markers", p.markers.len());
    // The probe carries its markers before de-identification.
    let (src_bytes, src) = probe::read(&p.path);
    let missing: Vec<String> = p
        .markers
        .iter()
        .filter(|m| !probe::survived(m, &src_bytes, &src))
        .map(probe::describe)
        .collect();
    assert!(missing.is_empty(), "probe lacks:\n{}", missing.join("\n"));

    let output = probe::run(&p, &dir.path().join("out"), &[]);
    let (bytes, dst) = probe::read(&output);
    let leaked: Vec<String> = p
        .markers
        .iter()
        .filter(|m| probe::survived(m, &bytes, &dst))
        .map(probe::describe)
        .collect();
    assert!(
        leaked.is_empty(),
        "{} of {} markers survived:\n{}",
        leaked.len(),
        p.markers.len(),
        leaked.join("\n")
    );
    for needle in &p.nested {
        assert!(contains(&src_bytes, needle), "probe lacks {needle}");
        assert!(!contains(&bytes, needle), "nested {needle} survived");
    }
    let pixels: Vec<u8> = p.pixels.iter().flat_map(|v| v.to_le_bytes()).collect();
    assert_eq!(
        dst.get(tags::PIXEL_DATA)
            .unwrap()
            .value()
            .to_bytes()
            .unwrap()
            .as_ref(),
        pixels.as_slice(),
        "pixel data unchanged"
    );
    for e in probe::display_attributes() {
        let kept = dst
            .get(e.tag())
            .map(|d| d.value().to_str().unwrap().trim().to_string());
        assert_eq!(
            kept.as_deref(),
            Some(e.value().to_str().unwrap().trim()),
            "display attribute {} kept",
            e.tag()
        );
    }
    assert_eq!(
        value(&dst, tags::PATIENT_IDENTITY_REMOVED).as_deref(),
        Some("YES")
    );
    let method = dst
        .get(tags::DEIDENTIFICATION_METHOD)
        .unwrap()
        .to_multi_str()
        .unwrap()
        .join(" / ");
    assert!(method.contains("2024b"), "{method}");
    let codes: Vec<String> = dst
        .get(tags::DEIDENTIFICATION_METHOD_CODE_SEQUENCE)
        .unwrap()
        .items()
        .unwrap()
        .iter()
        .filter_map(|i| value(i, tags::CODE_VALUE))
        .collect();
    assert_eq!(codes, ["113100"]);
    // dcmtk reads the output without an error.
    let mut c = common::tool("dcmdump", "dcmtk");
    c.arg(&output);
    let (ok, _, err) = common::run_tool(c);
    let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("E:")).collect();
    assert!(ok && errors.is_empty(), "dcmdump: {err}");
}

#[test]
fn probe_each_option_keeps_what_it_retains_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let p = probe::build(dir.path());
    let cases: &[(&[&str], Column, &str)] = &[
        (&["--retain-uids"], Column::RetainUids, "113110"),
        (
            &["--retain-device-identity"],
            Column::RetainDeviceIdentity,
            "113109",
        ),
        (
            &["--retain-institution-identity"],
            Column::RetainInstitutionIdentity,
            "113112",
        ),
        (
            &["--retain-patient-characteristics"],
            Column::RetainPatientCharacteristics,
            "113108",
        ),
        (&["--retain-full-dates"], Column::RetainFullDates, "113106"),
        (
            &["--shift-dates", "-30"],
            Column::RetainModifiedDates,
            "113107",
        ),
        (&["--clean-descriptors"], Column::CleanDescriptors, "113105"),
        (
            &["--clean-structured-content"],
            Column::CleanStructuredContent,
            "113104",
        ),
        (&["--clean-graphics"], Column::CleanGraphics, "113103"),
    ];
    for (i, (flags, column, code)) in cases.iter().enumerate() {
        let output = probe::run(&p, &dir.path().join(format!("out{i}")), flags);
        let (bytes, dst) = probe::read(&output);
        let mut wrong = Vec::new();
        let mut kept = 0;
        for m in &p.markers {
            let expected = probe::expected(m, &[*column]);
            kept += usize::from(expected);
            if probe::survived(m, &bytes, &dst) != expected {
                let what = if expected { "lost" } else { "survived" };
                wrong.push(format!("{what}: {}", probe::describe(m)));
            }
        }
        assert!(
            wrong.is_empty(),
            "{flags:?}: {} markers wrong:\n{}",
            wrong.len(),
            wrong.join("\n")
        );
        // Every option keeps (or cleans and keeps) some marker.
        assert!(kept > 0, "{flags:?}: no marker kept");
        let codes: Vec<String> = dst
            .get(tags::DEIDENTIFICATION_METHOD_CODE_SEQUENCE)
            .unwrap()
            .items()
            .unwrap()
            .iter()
            .filter_map(|i| value(i, tags::CODE_VALUE))
            .collect();
        assert_eq!(codes, ["113100", *code], "{flags:?}");
    }
}

#[test]
fn clean_descriptors_keep_the_description_without_the_patient_s_identity() {
    let dir = tempfile::tempdir().unwrap();
    let source = ct_copy_with(
        dir.path(),
        "described.dcm",
        vec![
            (tags::PATIENT_NAME, VR::PN, "Quux^Zebediah"),
            (tags::PATIENT_ID, VR::LO, "QX12345"),
            (
                tags::STUDY_DESCRIPTION,
                VR::LO,
                "Chest CT for Zebediah Quux, MRN QX12345",
            ),
            (tags::SERIES_DESCRIPTION, VR::LO, "Axial 5mm"),
        ],
    );
    let out_dir = dir.path().join("out");
    for (flags, description) in [
        (vec![], None),
        (vec!["--clean-descriptors"], Some("Chest CT for * *, MRN *")),
    ] {
        let mut args = vec!["--force"];
        args.extend(flags);
        let output = probe::anonymize(&source, &out_dir, &args);
        let (dst, _) = read_dataset(&output).unwrap();
        assert_eq!(value(&dst, tags::STUDY_DESCRIPTION).as_deref(), description);
        let series = description.map(|_| "Axial 5mm");
        assert_eq!(value(&dst, tags::SERIES_DESCRIPTION).as_deref(), series);
    }
}

#[test]
fn shifted_dates_move_and_full_dates_stay() {
    let dir = tempfile::tempdir().unwrap();
    let p = probe::build(dir.path());
    let (_, src) = probe::read(&p.path);
    let study = value(&src, tags::STUDY_DATE).unwrap();
    let day = chrono::NaiveDate::parse_from_str(&study, "%Y%m%d").unwrap();
    let (_, shifted) = probe::read(&probe::run(
        &p,
        &dir.path().join("shift"),
        &["--shift-dates", "-30"],
    ));
    let moved = (day - chrono::TimeDelta::try_days(30).unwrap())
        .format("%Y%m%d")
        .to_string();
    assert_eq!(value(&shifted, tags::STUDY_DATE), Some(moved));
    assert_eq!(value(&shifted, tags::PATIENT_BIRTH_DATE), None);
    assert_eq!(
        value(&shifted, tags::LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED).as_deref(),
        Some("MODIFIED")
    );
    let (_, full) = probe::read(&probe::run(
        &p,
        &dir.path().join("full"),
        &["--retain-full-dates"],
    ));
    assert_eq!(value(&full, tags::STUDY_DATE), Some(study));
    assert_eq!(
        value(&full, tags::LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED).as_deref(),
        Some("UNMODIFIED")
    );
}

#[test]
fn a_deidentified_ct_is_still_a_valid_ct_image() {
    let dir = tempfile::tempdir().unwrap();
    let source = common::corpus_dir().join("CT_small.dcm");
    let output = probe::anonymize(&source, &dir.path().join("out"), &[]);
    // dicom3tools: the source has no IOD error, nor may the output (the
    // Type 2 attributes the profile empties stay present).
    for file in [source, output] {
        let mut c = common::tool("dciodvfy", "dicom3tools");
        c.arg(&file);
        let (_, stdout, stderr) = common::run_tool(c);
        let all = format!("{stdout}{stderr}");
        let errors: Vec<&str> = all.lines().filter(|l| l.starts_with("Error")).collect();
        assert!(errors.is_empty(), "dciodvfy {}:\n{all}", file.display());
    }
}
