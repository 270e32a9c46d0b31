//! The heatmap as a DICOM Parametric Map: `hilum report --saliency M
//! --pmap OUT.dcm` on a CT slice and on a radiograph without patient-space
//! geometry, validated with dicom3tools' `dciodvfy`, read back with
//! highdicom, its values equal to `hilum saliency --raw` on the same image,
//! its references, Frame of Reference and the verdict in its content.

use crate::common::{hilum_env, python};

use super::*;

/// dciodvfy's errors for `file` (warnings are allowed).
fn dciodvfy_errors(file: &Path) -> Vec<String> {
    let mut c = tool("dciodvfy", "dicom3tools");
    c.arg(file);
    let (_, out, err) = run_tool(c);
    format!("{out}{err}")
        .lines()
        .filter(|l| l.starts_with("Error"))
        .map(str::to_string)
        .collect()
}

/// Reads `pm` with highdicom and prints, as JSON, what the test checks,
/// with the largest difference from the float32 map in `npy`.
const READ_BACK: &str = r#"
import json, sys
import numpy as np
import highdicom as hd
import pydicom
ds = pydicom.dcmread(sys.argv[1])
pm = hd.pm.ParametricMap.from_dataset(ds)
values = pm.pixel_array.astype(np.float32)
if values.ndim == 3:
    values = values[0]
raw = np.load(sys.argv[2])
mapping = pm.SharedFunctionalGroupsSequence[0].RealWorldValueMappingSequence[0]
content = {
    item.ConceptNameCodeSequence[0].CodeMeaning: item.TextValue
    for item in mapping.QuantityDefinitionSequence
}
print(json.dumps({
    "sop_class": pm.SOPClassUID,
    "rows": int(pm.Rows), "cols": int(pm.Columns),
    "max_diff": float(np.abs(values - raw).max()),
    "min": float(values.min()), "max": float(values.max()),
    "source": pm.SourceImageSequence[0].ReferencedSOPInstanceUID,
    "referenced_series": pm.ReferencedSeriesSequence[0].SeriesInstanceUID,
    "study": pm.StudyInstanceUID,
    "frame_of_reference": pm.FrameOfReferenceUID,
    "description": pm.ContentDescription,
    "lut_explanation": mapping.LUTExplanation,
    "content": content,
}))
"#;

/// Exports `source`'s Grad-CAM as a Parametric Map and its raw map, on the
/// embedded engine, and returns what highdicom reads back.
fn export_and_read(dir: &Path, source: &Path) -> serde_json::Value {
    let (pm, raw, sr) = (dir.join("pm.dcm"), dir.join("map.npy"), dir.join("sr.dcm"));
    let data = dir.join("data");
    let out = hilum_env(
        &[
            "report",
            s(source),
            "--engine",
            "tract",
            "--saliency",
            "gradcam",
            "--pmap",
            s(&pm),
            "--sr",
            s(&sr),
        ],
        &[("HILUM_DATA_DIR", &data)],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(summary["parametric_map_uid"].is_string(), "{summary}");
    let out = hilum_env(
        &["saliency", s(source), "--engine", "tract", "--raw", s(&raw)],
        &[("HILUM_DATA_DIR", &data)],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let errors = dciodvfy_errors(&pm);
    assert!(errors.is_empty(), "dciodvfy {}:\n{errors:#?}", pm.display());
    let printed = python(READ_BACK, &[s(&pm), s(&raw)]);
    serde_json::from_str(&printed).unwrap()
}

#[test]
fn a_ct_heatmap_exports_as_a_valid_parametric_map_on_the_source_grid() {
    let dir = tempfile::tempdir().unwrap();
    let source = corpus("CT_small.dcm");
    let v = export_and_read(dir.path(), &source);
    let ct = open_file(&source).unwrap();
    let text = |tag| {
        ct.element(tag)
            .unwrap()
            .to_str()
            .unwrap()
            .trim()
            .to_string()
    };
    assert_eq!(v["sop_class"], "1.2.840.10008.5.1.4.1.1.30");
    assert_eq!(
        (v["rows"].as_u64(), v["cols"].as_u64()),
        (Some(128), Some(128))
    );
    // The very values `hilum saliency --raw` gives, float32 on the source grid.
    assert_eq!(v["max_diff"].as_f64(), Some(0.0), "{v}");
    assert!(v["min"].as_f64().unwrap() >= 0.0 && v["max"].as_f64().unwrap() <= 1.0);
    assert_eq!(v["source"], text(tags::SOP_INSTANCE_UID));
    assert_eq!(v["referenced_series"], text(tags::SERIES_INSTANCE_UID));
    assert_eq!(v["study"], text(tags::STUDY_INSTANCE_UID));
    assert_eq!(v["frame_of_reference"], text(tags::FRAME_OF_REFERENCE_UID));
    // The algorithm, method, target and verdict are in the content.
    let content = &v["content"];
    assert_eq!(content["Algorithm Name"], "pneumonia-xception");
    assert_eq!(content["Algorithm Version"], "0.3.0+onnx.1");
    assert_eq!(content["Saliency method"], "Grad-CAM");
    assert_eq!(content["Saliency target class"], "PNEUMONIA");
    let verdict = content["Saliency map faithfulness verdict"]
        .as_str()
        .unwrap();
    assert!(
        ["faithful", "not faithful", "inconclusive"].contains(&verdict),
        "{v}"
    );
    assert!(v["description"].as_str().unwrap().ends_with(verdict), "{v}");
    assert!(v["lut_explanation"].as_str().unwrap().contains("Grad-CAM"));
}

#[test]
fn a_radiograph_without_geometry_still_gives_a_valid_parametric_map() {
    let dir = tempfile::tempdir().unwrap();
    let source = corpus("RG3_UNCR.dcm");
    let v = export_and_read(dir.path(), &source);
    let rg = open_file(&source).unwrap();
    let text = |tag| {
        rg.element(tag)
            .unwrap()
            .to_str()
            .unwrap()
            .trim()
            .to_string()
    };
    assert_eq!(v["source"], text(tags::SOP_INSTANCE_UID));
    assert_eq!(v["max_diff"].as_f64(), Some(0.0), "{v}");
    assert!(v["frame_of_reference"].as_str().unwrap().len() > 10);
}

#[test]
fn a_parametric_map_needs_a_heatmap() {
    let dir = tempfile::tempdir().unwrap();
    let out = crate::common::hilum(&[
        "report",
        s(&corpus("CT_small.dcm")),
        "--pmap",
        s(&dir.path().join("pm.dcm")),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--saliency"), "{stderr}");
}
