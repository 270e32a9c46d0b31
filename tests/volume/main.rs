//! Volumes through `hilum render SERIES --plane --index [--slab --mode]`:
//! axial, coronal and sagittal planes and MIP/MinIP/mean slabs equal numpy
//! reformats of the same series (read back with pydicom) to ±1 after
//! windowing, on phantoms generated here with known geometry: shuffled
//! file names and scrambled Instance Numbers (order comes from position
//! alone), signed pixels with a rescale intercept, an unsigned series with
//! a slope, a feet-first orientation, anisotropic voxels; a gantry-tilted
//! series is refused for reformats with its reason; gaps are reported with
//! each row's position; duplicates and mixed series are refused.
//!
//! The phantoms and the references come from `tests/volume/phantom.py`
//! (the venv's pydicom and numpy); nothing generated is committed.

#[path = "../common/mod.rs"]
mod common;

use std::path::Path;

use common::{hilum, python};
use serde_json::{Value, json};

const PHANTOM: &str = include_str!("phantom.py");

/// Writes a phantom series into `dir`.
fn make(dir: &Path, spec: Value) {
    python(
        PHANTOM,
        &["make", &dir.display().to_string(), &spec.to_string()],
    );
}

/// The numpy references of `cases`, written into `out`, by case name.
fn references(series: &Path, cases: &Value, out: &Path) -> Vec<Value> {
    let text = python(
        PHANTOM,
        &[
            "reference",
            &series.display().to_string(),
            &cases.to_string(),
            &out.display().to_string(),
        ],
    );
    text.lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per case"))
        .collect()
}

/// `hilum render` with `args`; its exit code, JSON on stdout (or null)
/// and stderr.
fn render(args: &[&str]) -> (Option<i32>, Value, String) {
    let mut all = vec!["render"];
    all.extend_from_slice(args);
    let out = hilum(&all);
    let json = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (
        out.status.code(),
        json,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `hilum render FOLDER --plane PLANE --index INDEX --out OUT` with
/// `extra` arguments; exit code, JSON and stderr.
fn render_plane(
    folder: &Path,
    plane: &str,
    index: usize,
    out: &Path,
    extra: &[&str],
) -> (Option<i32>, Value, String) {
    let (folder, index, out) = (
        folder.display().to_string(),
        index.to_string(),
        out.display().to_string(),
    );
    let mut args = vec![
        folder.as_str(),
        "--plane",
        plane,
        "--index",
        index.as_str(),
        "--out",
        out.as_str(),
    ];
    args.extend_from_slice(extra);
    render(&args)
}

/// The `row_positions` of a reformat's JSON.
fn row_positions(report: &Value) -> Vec<f64> {
    report["row_positions"]
        .as_array()
        .expect("row positions")
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}

/// The command-line arguments of one case.
fn case_args(case: &Value) -> Vec<String> {
    let mut args = vec![
        "--plane".to_string(),
        case["plane"].as_str().unwrap().to_string(),
        "--index".into(),
        case["index"].to_string(),
    ];
    if let Some(k) = case.get("slab") {
        args.extend(["--slab".into(), k.to_string()]);
        args.extend(["--mode".into(), case["mode"].as_str().unwrap().to_string()]);
    }
    if let Some(w) = case.get("window") {
        args.push(format!("--window={},{}", w[0], w[1]));
    }
    args
}

/// Renders every case from `series` and compares it with numpy's, pixel
/// by pixel (±1) and by shape and spacing.
fn check_cases(series: &Path, cases: Value) {
    let work = tempfile::tempdir().unwrap();
    let expected = references(series, &cases, work.path());
    for (case, reference) in cases.as_array().unwrap().iter().zip(&expected) {
        let name = case["name"].as_str().unwrap();
        let png = work.path().join(format!("{name}.png"));
        let mut args = vec![series.display().to_string()];
        args.extend(case_args(case));
        args.extend(["--out".into(), png.display().to_string()]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, report, stderr) = render(&args);
        assert_eq!(code, Some(0), "{name}: {stderr}");
        let (width, height) = (
            reference["width"].as_u64().unwrap(),
            reference["height"].as_u64().unwrap(),
        );
        assert_eq!(report["width"], width, "{name}: {report}");
        assert_eq!(report["height"], height, "{name}: {report}");
        for (field, at) in [("row_spacing", 0), ("column_spacing", 1)] {
            let want = reference[field].as_f64().unwrap();
            let got = report[field].as_f64().unwrap();
            assert!((got - want).abs() < 1e-6, "{name}: {field} {got} vs {want}");
            assert!((report["pixel_spacing"][at].as_f64().unwrap() - want).abs() < 1e-6);
        }
        let ours = image::open(&png).unwrap().into_luma8();
        assert_eq!((ours.width() as u64, ours.height() as u64), (width, height));
        let theirs = std::fs::read(work.path().join(format!("{name}.raw"))).unwrap();
        let worst = ours
            .as_raw()
            .iter()
            .zip(&theirs)
            .map(|(a, b)| a.abs_diff(*b))
            .max()
            .unwrap();
        assert!(worst <= 1, "{name}: differs from numpy by up to {worst}");
        // The comparison is not vacuous: the plane has structure.
        let distinct: std::collections::BTreeSet<u8> = ours.as_raw().iter().copied().collect();
        assert!(
            distinct.len() > 10,
            "{name}: only {} gray levels",
            distinct.len()
        );
    }
}

fn ct_spec() -> Value {
    json!({"rows": 24, "columns": 20, "slices": 15, "pixel_spacing": [0.7, 0.9],
           "slice_spacing": 2.5, "z0": -40.0, "window": [40, 400], "signed": true,
           "intercept": -1024.0, "seed": 7})
}

#[test]
fn planes_and_slabs_of_a_shuffled_signed_anisotropic_series_equal_numpy() {
    let dir = tempfile::tempdir().unwrap();
    make(dir.path(), ct_spec());
    check_cases(
        dir.path(),
        json!([
            {"name": "axial0", "plane": "axial", "index": 0},
            {"name": "axial7", "plane": "axial", "index": 7, "window": [-600, 1500]},
            {"name": "coronal5", "plane": "coronal", "index": 5, "window": [-600, 1500]},
            {"name": "sagittal11", "plane": "sagittal", "index": 11},
            {"name": "axial_mip3", "plane": "axial", "index": 6, "slab": 3, "mode": "mip"},
            {"name": "axial_mean5_edge", "plane": "axial", "index": 14, "slab": 5, "mode": "mean"},
            {"name": "coronal_minip5", "plane": "coronal", "index": 12, "slab": 5, "mode": "minip",
             "window": [-600, 1500]},
            {"name": "coronal_mean7_edge", "plane": "coronal", "index": 2, "slab": 7, "mode": "mean",
             "window": [-600, 1500]},
            {"name": "sagittal_mean4", "plane": "sagittal", "index": 9, "slab": 4, "mode": "mean"},
            {"name": "sagittal_mip6", "plane": "sagittal", "index": 19, "slab": 6, "mode": "mip",
             "window": [300, 1800]},
        ]),
    );
}

#[test]
fn an_unsigned_feet_first_series_with_a_slope_equals_numpy_superior_at_the_top() {
    let dir = tempfile::tempdir().unwrap();
    // Row direction to the patient's right: the normal points to the feet,
    // so the stack runs from head to feet along it.
    make(
        dir.path(),
        json!({"rows": 16, "columns": 22, "slices": 11, "pixel_spacing": [0.5, 0.5],
               "slice_spacing": 1.25, "z0": 80.0, "orientation": [-1, 0, 0, 0, 1, 0],
               "window": [-100, 900], "signed": false, "slope": 0.5, "intercept": -1024.0,
               "seed": 3}),
    );
    check_cases(
        dir.path(),
        json!([
            {"name": "coronal8", "plane": "coronal", "index": 8},
            {"name": "sagittal3", "plane": "sagittal", "index": 3, "slab": 3, "mode": "mip"},
            {"name": "axial10", "plane": "axial", "index": 10, "slab": 2, "mode": "minip"},
        ]),
    );
    let out = dir.path().join("c.png");
    let (code, report, stderr) = render_plane(dir.path(), "coronal", 2, &out, &[]);
    assert_eq!(code, Some(0), "{stderr}");
    // Top row: the most superior slice (z = 80, the first along the normal).
    let rows = row_positions(&report);
    assert_eq!(rows.len(), 11);
    assert!((rows[0] - -80.0).abs() < 1e-6, "{rows:?}");
    // Screen down is towards the feet; screen right is the row direction
    // (towards the patient's right in this series).
    assert_eq!(report["down"], json!([0.0, 0.0, -1.0]));
    assert_eq!(report["right"], json!([-1.0, 0.0, 0.0]));
}

#[test]
fn a_gantry_tilted_series_is_refused_for_reformats_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = ct_spec();
    spec["tilt_degrees"] = json!(15.0);
    make(dir.path(), spec);
    let out = dir.path().join("tilt.png");
    for plane in ["coronal", "sagittal"] {
        let (code, _, stderr) = render_plane(dir.path(), plane, 4, &out, &[]);
        assert_eq!(code, Some(1), "{stderr}");
        assert!(
            stderr.contains("gantry tilt") && stderr.contains("15.00°"),
            "{stderr}"
        );
        assert!(!out.exists(), "nothing is written for a refused plane");
    }
    // A slice as stored is still exact, with the tilt reported.
    check_cases(
        dir.path(),
        json!([{"name": "tilted_axial", "plane": "axial", "index": 9}]),
    );
}

#[test]
fn a_missing_slice_is_reported_and_every_row_keeps_its_position() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = ct_spec();
    spec["skip"] = json!([6]);
    make(dir.path(), spec);
    check_cases(
        dir.path(),
        json!([{"name": "gap_coronal", "plane": "coronal", "index": 10, "slab": 3, "mode": "mip"}]),
    );
    let out = dir.path().join("gap.png");
    let (code, report, stderr) = render_plane(dir.path(), "sagittal", 3, &out, &[]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("gap of 5.00 mm"), "{stderr}");
    let warnings = report["warnings"].as_array().unwrap();
    assert!(
        warnings
            .iter()
            .any(|w| w.as_str().unwrap().contains("slices are missing"))
    );
    let rows = row_positions(&report);
    assert_eq!(rows.len(), 14);
    let steps: Vec<f64> = rows.windows(2).map(|w| w[0] - w[1]).collect();
    assert_eq!(
        steps.iter().filter(|s| (**s - 5.0).abs() < 1e-6).count(),
        1,
        "{steps:?}"
    );
    assert!(
        steps
            .iter()
            .all(|s| (*s - 2.5).abs() < 1e-6 || (*s - 5.0).abs() < 1e-6)
    );
}

#[test]
fn duplicates_mixed_series_and_bad_arguments_are_refused_with_reasons() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = ct_spec();
    spec["duplicate"] = json!(4);
    make(dir.path(), spec);
    let out = dir.path().join("x.png");
    let folder = dir.path().display().to_string();
    let out_arg = out.display().to_string();
    let (code, _, stderr) = render(&[
        &folder, "--plane", "axial", "--index", "1", "--out", &out_arg,
    ]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("lie at the same position"), "{stderr}");

    // Two series in one folder: named, and one chosen with --series.
    let mixed = tempfile::tempdir().unwrap();
    let mut first = ct_spec();
    first["series_uid"] = json!("1.2.826.0.1.3680043.9.7433.9.1");
    make(&mixed.path().join("a"), first);
    let mut second = ct_spec();
    second["series_uid"] = json!("1.2.826.0.1.3680043.9.7433.9.2");
    second["slices"] = json!(5);
    make(&mixed.path().join("b"), second);
    let folder = mixed.path().display().to_string();
    let (code, _, stderr) = render(&[
        &folder, "--plane", "coronal", "--index", "1", "--out", &out_arg,
    ]);
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("--series") && stderr.contains("(5 images)"),
        "{stderr}"
    );
    let (code, report, stderr) = render(&[
        &folder,
        "--series",
        "1.2.826.0.1.3680043.9.7433.9.2",
        "--plane",
        "coronal",
        "--index",
        "1",
        "--out",
        &out_arg,
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(report["height"], 5);

    // Out of range, a mode without a slab, an unknown plane.
    let (code, _, stderr) = render(&[
        &folder,
        "--series",
        "1.2.826.0.1.3680043.9.7433.9.2",
        "--plane",
        "sagittal",
        "--index",
        "20",
        "--out",
        &out_arg,
        "--force",
    ]);
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("sagittal index 20 is out of range (0..20)"),
        "{stderr}"
    );
    let (code, _, _) = render(&[&folder, "--mode", "mip", "--out", &out_arg]);
    assert_eq!(code, Some(2));
    let (code, _, stderr) = render(&[&folder, "--plane", "oblique", "--out", &out_arg]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("expected axial, coronal or sagittal"),
        "{stderr}"
    );
}

#[test]
fn an_axial_plane_is_the_single_image_rendering_to_the_bit() {
    let dir = tempfile::tempdir().unwrap();
    make(dir.path(), ct_spec());
    let folder = dir.path().display().to_string();
    let work = tempfile::tempdir().unwrap();
    let plane_png = work.path().join("plane.png");
    let (code, report, stderr) = render(&[
        &folder,
        "--plane",
        "axial",
        "--index",
        "3",
        "--preset",
        "lung",
        "--out",
        &plane_png.display().to_string(),
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    // The file at that position, found by its own header.
    let info = hilum(&["info", "--json", &folder]);
    let records: Value = serde_json::from_slice(&info.stdout).unwrap();
    let series = records
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["type"] == "series")
        .unwrap();
    let file = series["instances"][3]["path"].as_str().unwrap();
    let file_png = work.path().join("file.png");
    let (code, _, stderr) = render(&[
        file,
        "--preset",
        "lung",
        "--out",
        &file_png.display().to_string(),
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    let a = image::open(&plane_png).unwrap().into_luma8();
    let b = image::open(&file_png).unwrap().into_luma8();
    assert_eq!(a.as_raw(), b.as_raw());
    assert_eq!(report["window"]["center"], -600.0);
}

#[test]
fn plane_points_map_to_the_patient_and_back_across_a_gap() {
    use hilum::imaging::volume::{Plane, Volume};
    use hilum::imaging::{LoadOptions, load_path};
    use std::sync::Arc;

    let dir = tempfile::tempdir().unwrap();
    let mut spec = ct_spec();
    spec["skip"] = json!([6]);
    make(dir.path(), spec);
    let images = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| Arc::new(load_path(&e.unwrap().path(), &LoadOptions::default()).unwrap()))
        .collect();
    let volume = Volume::build(images).unwrap();
    // The phantom: rows along +x at 0.9 mm, columns along +y at 0.7 mm,
    // slices at z = -40 + 2.5 k from (-50, -60), slice 6 missing.
    let (rs, cs) = (0.7, 0.9);
    let mut zs: Vec<f64> = (0..15)
        .filter(|k| *k != 6)
        .map(|k| -40.0 + 2.5 * k as f64)
        .collect();
    zs.reverse(); // the most superior slice is the top row
    let close = |a: [f64; 3], b: [f64; 3]| (0..3).all(|i| (a[i] - b[i]).abs() < 1e-9);
    for (row, z) in zs.iter().enumerate() {
        for x in [0usize, 7, 19] {
            let coronal = volume.patient_point(Plane::Coronal, 5, x as f64 + 0.5, row as f64 + 0.5);
            let want = [-50.0 + x as f64 * cs, -60.0 + 5.0 * rs, *z];
            assert!(
                close(coronal, want),
                "coronal row {row}: {coronal:?} vs {want:?}"
            );
        }
        let sagittal = volume.patient_point(Plane::Sagittal, 3, 10.5, row as f64 + 0.5);
        let want = [-50.0 + 3.0 * cs, -60.0 + 10.0 * rs, *z];
        assert!(close(sagittal, want), "sagittal row {row}");
    }
    // Axial slice k (ascending z, as `hilum info` lists them).
    let axial = volume.patient_point(Plane::Axial, 6, 2.5, 4.5);
    let want = [-50.0 + 2.0 * cs, -60.0 + 4.0 * rs, -40.0 + 2.5 * 7.0];
    assert!(close(axial, want), "{axial:?} vs {want:?}");
    // And back, with the distance from the plane.
    for plane in Plane::ALL {
        for (index, x, y) in [(3usize, 1.5, 2.5), (9, 10.25, 7.75), (0, 0.5, 12.5)] {
            let p = volume.patient_point(plane, index, x, y);
            let back = volume.on_plane(plane, index, p);
            assert!(
                (back.x - x).abs() < 1e-9
                    && (back.y - y).abs() < 1e-9
                    && back.distance.abs() < 1e-9,
                "{plane:?} {index} ({x}, {y}) → {back:?}"
            );
        }
    }
    let above = volume.patient_point(Plane::Axial, 6, 3.5, 3.5);
    let lifted = [above[0], above[1], above[2] + 2.5];
    let on = volume.on_plane(Plane::Axial, 6, lifted);
    assert!((on.distance - 2.5).abs() < 1e-9 && (on.x - 3.5).abs() < 1e-9);
    // A point in the gap (the missing slice's z) falls half-way between
    // the centres of the rows either side (y = k + 0.5 for row k), i.e. on
    // the edge of the row below.
    let gap_z = -40.0 + 2.5 * 6.0;
    let in_gap = volume.on_plane(Plane::Coronal, 5, [-50.0, -60.0 + 5.0 * rs, gap_z]);
    let row_below = zs
        .iter()
        .position(|z| (*z - (gap_z - 2.5)).abs() < 1e-9)
        .unwrap();
    assert!((in_gap.y - row_below as f64).abs() < 1e-9, "{in_gap:?}");
}
