//! Folders and series through the CLI: grouping, ordering along the slice
//! normal, spacing, gaps, splits, broken files reported by name, and source
//! files never touched.

mod common;

use std::path::{Path, PathBuf};

use common::json_keys as keys;
use common::*;
use dicom_core::VR;
use dicom_dictionary_std::tags;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Writes slice `index` of a synthetic CT series derived from CT_small.dcm.
fn write_slice(dir: &Path, name: &str, series_uid: &str, index: i32, z: f64, orientation: &str) {
    let mut obj = dicom_object::open_file(corpus_dir().join("CT_small.dcm")).unwrap();
    let uid = format!("1.2.826.0.1.3680043.9.7433.3.{index}.{}", name.len());
    obj.put(text(tags::SOP_INSTANCE_UID, VR::UI, &uid));
    obj.put(text(tags::SERIES_INSTANCE_UID, VR::UI, series_uid));
    obj.put(text(tags::INSTANCE_NUMBER, VR::IS, &index.to_string()));
    obj.put(text(
        tags::IMAGE_POSITION_PATIENT,
        VR::DS,
        &format!("-100\\{z}\\{z}"),
    ));
    obj.put(text(tags::IMAGE_ORIENTATION_PATIENT, VR::DS, orientation));
    obj.meta_mut().media_storage_sop_instance_uid = uid;
    obj.write_to_file(dir.join(name)).unwrap();
}

const AXIAL: &str = "1\\0\\0\\0\\1\\0";
const CORONAL: &str = "1\\0\\0\\0\\0\\-1";

fn info_json(paths: &[&Path]) -> (Vec<Value>, String, Option<i32>) {
    let mut args = vec!["info", "--json"];
    let strs: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    args.extend(strs.iter().map(String::as_str));
    let out = hilum(&args);
    let values: Value = serde_json::from_slice(&out.stdout).expect("JSON array on stdout");
    (
        values.as_array().unwrap().clone(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code(),
    )
}

#[test]
fn a_shuffled_series_is_ordered_along_the_normal_with_spacing_and_gaps() {
    let dir = tempfile::tempdir().unwrap();
    // Instance numbers run against the geometry, and file names are shuffled:
    // only the projected position gives the right order.
    let zs: Vec<f64> = (0..12)
        .map(|i| i as f64 * 2.5)
        .filter(|z| *z != 15.0)
        .collect();
    for (k, z) in zs.iter().enumerate() {
        let name = format!("f{:02}.dcm", (k * 7) % zs.len());
        write_slice(dir.path(), &name, "1.2.3.4.5", (100 - k) as i32, *z, AXIAL);
    }
    let (values, stderr, code) = info_json(&[dir.path()]);
    assert_eq!(code, Some(0), "{stderr}");
    let series: Vec<&Value> = values.iter().filter(|v| v["type"] == "series").collect();
    assert_eq!(series.len(), 1);
    let s = series[0];
    assert_eq!(s["count"], 11);
    assert_eq!(s["ordering"], "slice_position");
    assert_eq!(s["slice_spacing"], 2.5);
    let positions: Vec<f64> = s["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["slice_position"].as_f64().unwrap())
        .collect();
    assert_eq!(positions, zs);
    let gaps = s["gaps"].as_array().unwrap();
    assert_eq!(gaps.len(), 1);
    assert_eq!(gaps[0]["distance"], 5.0);
    assert_eq!(gaps[0]["after_index"], 5);
    // One image object per file, with the contract fields.
    let images: Vec<&Value> = values.iter().filter(|v| v["type"] == "image").collect();
    assert_eq!(images.len(), 11);
    for key in [
        "path",
        "sop_class_uid",
        "modality",
        "transfer_syntax_uid",
        "photometric_interpretation",
        "rows",
        "columns",
        "frames",
        "bits_allocated",
        "bits_stored",
        "pixel_representation",
        "rescale_slope",
        "rescale_intercept",
        "window_center",
        "window_width",
    ] {
        assert!(images[0].get(key).is_some(), "missing {key}");
    }
}

#[test]
fn mixed_orientations_split_a_series_and_studies_group_by_patient() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..3 {
        write_slice(
            dir.path(),
            &format!("ax{i}.dcm"),
            "1.2.3.9",
            i,
            i as f64,
            AXIAL,
        );
        write_slice(
            dir.path(),
            &format!("co{i}.dcm"),
            "1.2.3.9",
            10 + i,
            i as f64,
            CORONAL,
        );
    }
    let (values, stderr, code) = info_json(&[dir.path()]);
    assert_eq!(code, Some(0), "{stderr}");
    let series: Vec<&Value> = values.iter().filter(|v| v["type"] == "series").collect();
    assert_eq!(series.len(), 2);
    for s in &series {
        assert_eq!(s["count"], 3);
        assert_eq!(s["series_instance_uid"], "1.2.3.9");
        assert!(s["part"].is_number());
        assert_eq!(s["slice_spacing"], 1.0);
    }
}

#[test]
fn a_folder_load_reports_broken_files_by_name_and_keeps_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = corpus_dir();
    for name in ["CT_small.dcm", "MR_small.dcm", "MR_truncated.dcm"] {
        std::fs::copy(corpus.join(name), dir.path().join(name)).unwrap();
    }
    std::fs::write(dir.path().join("notes.txt"), "not an image").unwrap();
    // A DICOM object without pixels (like a structured report) is skipped.
    write_dicom(
        &dir.path().join("report.dcm"),
        vec![
            text(tags::SOP_CLASS_UID, VR::UI, "1.2.840.10008.5.1.4.1.1.88.33"),
            text(tags::MODALITY, VR::CS, "SR"),
        ],
    );
    std::fs::write(dir.path().join("broken.dcm"), b"DICM but nothing else").unwrap();
    let sub = dir.path().join("nested");
    std::fs::create_dir(&sub).unwrap();
    std::fs::copy(corpus.join("RG3_UNCR.dcm"), sub.join("cr")).unwrap();

    let out = hilum(&["info", "--stats", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{stderr}");
    assert!(lines.iter().any(|l| l.contains("broken.dcm")), "{stderr}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("MR_truncated.dcm") && l.contains("truncated")),
        "{stderr}"
    );
    assert!(
        !stderr.contains("notes.txt") && !stderr.contains("report.dcm"),
        "{stderr}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let images: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["type"] == "image")
        .collect();
    assert_eq!(images.len(), 3, "{stdout}");
    assert!(images.iter().all(|v| v["frame0_stats"]["mean"].is_number()));
}

#[test]
fn render_never_touches_the_source_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("ct.dcm");
    std::fs::copy(corpus_dir().join("CT_small.dcm"), &src).unwrap();
    let before = Sha256::digest(std::fs::read(&src).unwrap());
    let out = dir.path().join("ct.png");
    let run = |extra: &[&str]| {
        let mut args = vec![
            "render",
            src.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        hilum(&args)
    };
    assert!(run(&["--preset", "lung"]).status.success());
    let refused = run(&[]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--force"));
    assert!(run(&["--window", "-600,1500", "--force"]).status.success());
    let to_self = hilum(&[
        "render",
        src.to_str().unwrap(),
        "--out",
        src.to_str().unwrap(),
        "--force",
    ]);
    assert_eq!(to_self.status.code(), Some(1));
    assert_eq!(Sha256::digest(std::fs::read(&src).unwrap()), before);
    let bad = run(&["--window", "40", "--force"]);
    assert_eq!(bad.status.code(), Some(2));
    let bad = run(&["--preset", "nope", "--force"]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("lung"));
    let frame = run(&["--frame", "3", "--force"]);
    assert!(String::from_utf8_lossy(&frame.stderr).contains("out of range"));
}

#[test]
fn unsupported_and_missing_inputs_get_one_line_each() {
    let out = hilum(&[
        "info",
        "/nonexistent/file.dcm",
        corpus_dir().join("no_meta.dcm").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 2, "{stderr}");
    assert!(stderr.contains("/nonexistent/file.dcm: cannot read file: no such file"));
    assert!(stderr.contains("no_meta.dcm"));
}

/// The fields of an image object of `hilum info`, in the order printed.
/// Other tools read them: a change here is a change of the contract (and
/// of the README's table).
const IMAGE_FIELDS: &[&str] = &[
    "type",
    "path",
    "format",
    "sop_class_uid",
    "sop_instance_uid",
    "modality",
    "transfer_syntax_uid",
    "transfer_syntax_name",
    "transfer_syntax_inferred",
    "photometric_interpretation",
    "rows",
    "columns",
    "frames",
    "samples_per_pixel",
    "bits_allocated",
    "bits_stored",
    "high_bit",
    "pixel_representation",
    "planar_configuration",
    "rescale_slope",
    "rescale_intercept",
    "modality_lut_sequence",
    "window_center",
    "window_width",
    "voi_lut_function",
    "windows",
    "presentation_lut_shape",
    "inverted_for_display",
    "patient_name",
    "patient_id",
    "patient_birth_date",
    "patient_sex",
    "study_instance_uid",
    "study_date",
    "study_description",
    "accession_number",
    "institution_name",
    "series_instance_uid",
    "series_number",
    "series_description",
    "body_part_examined",
    "view_position",
    "instance_number",
    "image_position_patient",
    "image_orientation_patient",
    "pixel_spacing",
    "imager_pixel_spacing",
    "measurement_spacing_source",
    "slice_thickness",
    "warnings",
];

/// One JSON object per line of `hilum info`'s stdout.
fn info_lines(args: &[&str]) -> Vec<Value> {
    let mut all = vec!["info"];
    all.extend_from_slice(args);
    let out = hilum(&all);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect()
}

#[test]
fn info_keeps_its_json_contract_field_by_field() {
    let ct = corpus_dir().join("CT_small.dcm");
    let ct = ct.to_str().unwrap();
    let plain = info_lines(&[ct]);
    assert_eq!(plain.len(), 1);
    let v = &plain[0];
    assert_eq!(keys(v), IMAGE_FIELDS, "field names or order changed");
    assert_eq!(v["type"], "image");
    assert_eq!(v["format"], "DICOM");
    assert_eq!(v["transfer_syntax_inferred"], false);
    assert_eq!(
        (v["rows"].as_u64(), v["columns"].as_u64()),
        (Some(128), Some(128))
    );
    assert_eq!(v["pixel_representation"], 1);
    assert_eq!(v["modality"], "CT");
    assert!(v["rescale_slope"].is_number() && v["rescale_intercept"].is_number());
    assert_eq!(v["inverted_for_display"], false);
    for w in v["windows"].as_array().unwrap() {
        let k = keys(w);
        assert!(
            k == ["center", "width", "function", "explanation"]
                || k == ["lut_entries", "first_mapped", "bits"],
            "{k:?}"
        );
    }

    // `--stats` adds frame0_stats last; without it the field is absent.
    let stats = info_lines(&["--stats", ct]);
    let mut with_stats = IMAGE_FIELDS.to_vec();
    with_stats.push("frame0_stats");
    assert_eq!(keys(&stats[0]), with_stats);
    assert_eq!(keys(&stats[0]["frame0_stats"]), ["min", "max", "mean"]);
    let (min, max) = (
        stats[0]["frame0_stats"]["min"].as_f64().unwrap(),
        stats[0]["frame0_stats"]["max"].as_f64().unwrap(),
    );
    assert!(min < max, "{min} {max}");

    // A raster image: the same fields, DICOM-only ones null (never absent).
    let jpeg = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("assets/chest-xray/NORMAL2-IM-1427-0001.jpeg");
    let raster = info_lines(&[jpeg.to_str().unwrap()]);
    let r = &raster[0];
    assert_eq!(keys(r), IMAGE_FIELDS);
    assert_eq!(r["format"], "JPEG");
    for key in [
        "sop_class_uid",
        "transfer_syntax_uid",
        "transfer_syntax_name",
        "transfer_syntax_inferred",
        "rescale_slope",
        "patient_name",
        "pixel_spacing",
        "measurement_spacing_source",
    ] {
        assert!(r[key].is_null(), "{key}: {}", r[key]);
    }
    // An 8-bit raster image is shown as stored: one full-range window,
    // explained.
    assert_eq!(
        (r["window_center"].as_f64(), r["window_width"].as_f64()),
        (Some(128.0), Some(256.0))
    );
    let windows = r["windows"].as_array().unwrap();
    assert_eq!(windows.len(), 1);
    assert!(windows[0]["explanation"].is_string(), "{}", windows[0]);
}

#[test]
fn series_objects_end_with_their_patient_and_study() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..2 {
        write_slice(
            dir.path(),
            &format!("s{i}.dcm"),
            "1.2.3.7",
            i,
            i as f64,
            AXIAL,
        );
    }
    let (values, stderr, code) = info_json(&[dir.path()]);
    assert_eq!(code, Some(0), "{stderr}");
    let series: Vec<&Value> = values.iter().filter(|v| v["type"] == "series").collect();
    assert_eq!(series.len(), 1);
    let k = keys(series[0]);
    // The series' own fields first, then these, in this order.
    let tail = [
        "type",
        "count",
        "patient_id",
        "patient_name",
        "study_instance_uid",
        "study_date",
        "study_description",
    ];
    assert!(k.ends_with(&tail), "{k:?}");
    for key in [
        "series_instance_uid",
        "part",
        "ordering",
        "instances",
        "slice_spacing",
        "gaps",
    ] {
        assert!(k.contains(&key), "missing {key} in {k:?}");
    }
    assert_eq!(series[0]["count"], 2);
    assert!(
        series[0]["part"].is_null(),
        "an unsplit series has part null"
    );
}

/// A build without the `viewer` feature is a CLI: asked for the viewer it
/// says why not and exits 2; the commands still work.
#[cfg(not(feature = "viewer"))]
#[test]
fn a_build_without_the_viewer_says_so() {
    for args in [&[][..], &["view", "a.dcm"][..], &["a.dcm"][..]] {
        let out = hilum(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("this build has no viewer") && stderr.contains("`viewer` feature"),
            "{stderr}"
        );
        assert!(out.stdout.is_empty());
    }
    let ct = corpus_dir().join("CT_small.dcm");
    assert_eq!(info_lines(&[ct.to_str().unwrap()]).len(), 1);
}
