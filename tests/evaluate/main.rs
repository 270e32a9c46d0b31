//! `hilum evaluate` on labelled sets made here, where every metric is
//! known exactly: a tiny ONNX model built in the test outputs
//! P(TARGET) = the image's mean intensity / 255, and uniform gray PNGs of
//! chosen intensities fix the confusion matrix, the rates and the AUC
//! (ties included). Also: the folder layout, `--target-sensitivity`,
//! `--plots`, failures and out-of-scope images, usage errors; `metrics`:
//! the metrics and the bootstrap as library functions; `model`: the test
//! model.
//!
//! ONNX Runtime comes from the `onnxruntime` wheel that `scripts/test.sh`
//! installs into `$HILUM_VENV`; without it the ONNX Runtime runs fail.

#[path = "../common/mod.rs"]
mod common;
mod metrics;
mod model;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::json_keys as keys;
use model::write_model;
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A 16×16 PNG of one gray value.
fn gray_png(path: &Path, value: u8) {
    image::GrayImage::from_pixel(16, 16, image::Luma([value]))
        .save(path)
        .unwrap();
}

fn hilum(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hilum"))
        .args(args)
        .output()
        .expect("hilum runs")
}

fn evaluate(model: &Path, labels: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "evaluate",
        labels.to_str().unwrap(),
        "--model",
        model.to_str().unwrap(),
    ];
    args.extend(extra);
    hilum(&args)
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "no JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Positives (TARGET) and negatives, by intensity: at the 0.5 operating
/// point TP = 3 (230, 204, 153), FN = 1 (102), FP = 1 (178), TN = 5; the
/// positive 102 ties the negative 102. Two negatives carry a label the
/// model does not have (OTHER).
const SET: [(&str, u8, &str); 10] = [
    ("pos, 230.png", 230, "TARGET"),
    ("pos-204.png", 204, "target"),
    ("pos-153.png", 153, "TARGET"),
    ("pos-102.png", 102, "TARGET"),
    ("neg-178.png", 178, "BACKGROUND"),
    ("neg-102.png", 102, "BACKGROUND"),
    ("neg-51.png", 51, "BACKGROUND"),
    ("neg-26.png", 26, "BACKGROUND"),
    ("other-26.png", 26, "OTHER"),
    ("other-13.png", 13, "OTHER"),
];

/// Writes the set, a missing file, a file that is no image and an
/// out-of-scope CT, with `labels.csv` listing them (one name quoted).
fn write_set(dir: &Path) -> PathBuf {
    let images = dir.join("images");
    std::fs::create_dir_all(&images).unwrap();
    let mut csv = String::from("path,label\n");
    for (name, value, label) in SET {
        gray_png(&images.join(name), value);
        csv.push_str(&format!("\"images/{name}\",{label}\n"));
    }
    std::fs::write(images.join("broken.png"), b"not a png").unwrap();
    csv.push_str("images/missing.png,TARGET\nimages/broken.png,BACKGROUND\n");
    let ct = root().join("assets/CT_small.dcm");
    csv.push_str(&format!("{},TARGET\n", ct.display()));
    let path = dir.join("labels.csv");
    std::fs::write(&path, csv).unwrap();
    path
}

/// The TARGET probability `hilum evaluate` reported for image `name`.
fn probability_of(v: &Value, name: &str) -> f64 {
    v["images"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["path"].as_str().unwrap().ends_with(name))
        .unwrap_or_else(|| panic!("{name} in {v}"))["probabilities"]["TARGET"]
        .as_f64()
        .unwrap()
}

fn assert_metric(r: &Value, name: &str, expected: f64) {
    let m = &r[name];
    assert_eq!(keys(m), ["value", "ci_low", "ci_high"], "{name}");
    assert_eq!(m["value"].as_f64(), Some(expected), "{name}: {m}");
    let (lo, hi) = (
        m["ci_low"].as_f64().unwrap(),
        m["ci_high"].as_f64().unwrap(),
    );
    assert!(
        (0.0..=expected).contains(&lo) && (expected..=1.0).contains(&hi),
        "{name}: {m}"
    );
}

#[test]
fn the_metrics_of_a_constructed_set_are_exact_on_both_engines() {
    let dir = tempfile::tempdir().unwrap();
    let model = write_model(&dir.path().join("model"), true);
    let labels = write_set(dir.path());
    for engine in ["onnxruntime", "tract"] {
        let out = evaluate(&model, &labels, &["--json", "--engine", engine]);
        let err = stderr(&out);
        // Two images failed: exit 1, the result still printed.
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(!err.contains("panicked"), "{err}");
        let v = json(&out);
        assert_eq!(v["engine"], engine);
        assert_eq!(
            keys(&v)[..5],
            ["n", "out_of_scope", "failed", "evaluated", "per_label"]
        );
        assert_eq!(
            (&v["n"], &v["out_of_scope"], &v["failed"], &v["evaluated"]),
            (&13.into(), &1.into(), &2.into(), &10.into())
        );
        assert_eq!(keys(&v["per_label"]), ["TARGET"]);
        let r = &v["per_label"]["TARGET"];
        assert_eq!(
            keys(r)[..8],
            [
                "accuracy",
                "sensitivity",
                "specificity",
                "precision",
                "f1",
                "auc",
                "confusion",
                "threshold"
            ]
        );
        assert_eq!(
            r["confusion"],
            serde_json::json!({"tp": 3, "fp": 1, "tn": 5, "fn": 1})
        );
        assert_metric(r, "accuracy", 8.0 / 10.0);
        assert_metric(r, "sensitivity", 3.0 / 4.0);
        assert_metric(r, "specificity", 5.0 / 6.0);
        assert_metric(r, "precision", 3.0 / 4.0);
        assert_metric(r, "f1", 6.0 / 8.0);
        // 24 positive × negative pairs: 6 + 6 + 5 won, and 4 won + 1 tie.
        assert_metric(r, "auc", 21.5 / 24.0);
        assert_eq!(r["threshold"], 0.5);
        assert_eq!(r["operating_point_threshold"], 0.5);
        assert_eq!(r["threshold_source"], "test");
        assert_eq!((&r["positives"], &r["negatives"]), (&4.into(), &6.into()));
        assert!(r["target_sensitivity"].is_null());
        assert_eq!(v["bootstrap"]["resamples"], 2000);
        assert_eq!(v["bootstrap"]["confidence"], 0.95);
        assert!(v["caveat"].as_str().unwrap().contains("small sample"));
        assert!(v["notice"].as_str().unwrap().contains("research"));
        // The failures name their files and reasons; the warning comes once.
        assert!(
            err.contains("missing.png") && err.contains("no such file"),
            "{err}"
        );
        assert!(err.contains("broken.png"), "{err}");
        assert_eq!(err.matches("\"OTHER\"").count(), 1, "{err}");
        let statuses: Vec<&str> = v["images"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["status"].as_str().unwrap())
            .collect();
        assert_eq!(statuses.iter().filter(|s| **s == "failed").count(), 2);
        let ct = v["images"].as_array().unwrap().last().unwrap();
        assert_eq!(
            (&ct["status"], &ct["in_scope"]),
            (&"out_of_scope".into(), &false.into())
        );
        // The label is written in the model's spelling.
        assert!(
            v["images"]
                .as_array()
                .unwrap()
                .iter()
                .all(|i| i["label"] != "target")
        );
    }
    // The probabilities are those `hilum classify` gives.
    let image = labels.parent().unwrap().join("images/pos-153.png");
    let out = hilum(&[
        "classify",
        image.to_str().unwrap(),
        "--model",
        model.to_str().unwrap(),
        "--json",
    ]);
    let classified: Value = serde_json::from_slice(&out.stdout).unwrap();
    let ours = json(&evaluate(&model, &labels, &["--json"]));
    assert_eq!(
        classified[0]["findings"][1]["probability"].as_f64(),
        Some(probability_of(&ours, "pos-153.png"))
    );
    // Reproducible: the same intervals on a second run.
    let again = json(&evaluate(&model, &labels, &["--json"]));
    assert_eq!(ours["per_label"], again["per_label"]);
}

#[test]
fn target_sensitivity_finds_the_largest_threshold_reaching_it() {
    let dir = tempfile::tempdir().unwrap();
    let model = write_model(&dir.path().join("model"), true);
    let labels = write_set(dir.path());
    for (requested, image, specificity) in [
        (1.0, "pos-102.png", 4.0 / 6.0),
        (0.75, "pos-153.png", 5.0 / 6.0),
        (0.5, "pos-204.png", 1.0),
        (0.25, "pos, 230.png", 1.0),
    ] {
        let s = requested.to_string();
        let v = json(&evaluate(
            &model,
            &labels,
            &["--json", "--target-sensitivity", &s, "--engine", "tract"],
        ));
        let r = &v["per_label"]["TARGET"];
        let threshold = probability_of(&v, image);
        assert_eq!(r["threshold"].as_f64(), Some(threshold), "{requested}");
        let t = &r["target_sensitivity"];
        assert_eq!(
            keys(t),
            ["requested", "threshold", "sensitivity", "specificity"]
        );
        assert_eq!(t["requested"].as_f64(), Some(requested));
        assert_eq!(t["threshold"].as_f64(), Some(threshold));
        assert!(t["sensitivity"].as_f64().unwrap() >= requested);
        assert_eq!(t["specificity"].as_f64(), Some(specificity), "{requested}");
        // The matrix and the rates stay at the operating point.
        assert_eq!(r["operating_point_threshold"], 0.5);
        assert_eq!(r["confusion"]["tp"], 3);
    }
    let out = evaluate(&model, &labels, &["--target-sensitivity", "1.5"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn a_folder_of_label_folders_and_undefined_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let model = write_model(&dir.path().join("model"), true);
    let set = dir.path().join("set");
    for (folder, values) in [("target", [102u8, 77]), ("Background", [51, 26])] {
        std::fs::create_dir_all(set.join(folder)).unwrap();
        for v in values {
            gray_png(&set.join(folder).join(format!("{v}.png")), v);
        }
    }
    gray_png(&set.join("loose.png"), 200);
    let out = evaluate(&model, &set, &["--json", "--engine", "tract"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("no label folder"), "{}", stderr(&out));
    let v = json(&out);
    assert_eq!((&v["n"], &v["evaluated"]), (&4.into(), &4.into()));
    let r = &v["per_label"]["TARGET"];
    // Nothing is called positive: precision is undefined, null with its
    // interval, never NaN; F1 is 0 / 2.
    assert_eq!(
        r["confusion"],
        serde_json::json!({"tp": 0, "fp": 0, "tn": 2, "fn": 2})
    );
    assert_eq!(
        r["precision"],
        serde_json::json!({"value": null, "ci_low": null, "ci_high": null})
    );
    assert_eq!(r["f1"]["value"], 0.0);
    assert_eq!(r["sensitivity"]["value"], 0.0);
    assert_eq!(r["specificity"]["value"], 1.0);
    assert_eq!(r["accuracy"]["value"], 0.5);
    assert_eq!(r["auc"]["value"], 1.0);
    let labels: Vec<&str> = v["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["BACKGROUND", "BACKGROUND", "TARGET", "TARGET"]);

    // A manifest with no finding label: every label, at 0.5, said so.
    let plain = write_model(&dir.path().join("plain"), false);
    let v = json(&evaluate(&plain, &set, &["--json", "--engine", "tract"]));
    assert_eq!(keys(&v["per_label"]), ["BACKGROUND", "TARGET"]);
    let b = &v["per_label"]["BACKGROUND"];
    assert_eq!(b["operating_point_threshold"], 0.5);
    assert!(
        b["threshold_source"]
            .as_str()
            .unwrap()
            .contains("no operating point")
    );
    assert_eq!(
        b["confusion"],
        serde_json::json!({"tp": 2, "fp": 2, "tn": 0, "fn": 0})
    );
    assert_eq!(b["specificity"]["value"], 0.0);
    assert_eq!(b["precision"]["value"], 0.5);
}

#[test]
fn plots_are_valid_pngs_and_are_not_overwritten_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let model = write_model(&dir.path().join("model"), true);
    let labels = write_set(dir.path());
    let plots = dir.path().join("plots");
    let plots_arg = plots.to_str().unwrap();
    let out = evaluate(
        &model,
        &labels,
        &["--plots", plots_arg, "--engine", "tract"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    // Without --json: the table.
    let table = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "accuracy",
        "auc",
        "95% CI",
        "small sample",
        "called positive",
    ] {
        assert!(table.contains(needle), "{needle} in {table}");
    }
    for name in ["roc.png", "calibration.png"] {
        let img = image::open(plots.join(name)).unwrap().to_rgb8();
        assert_eq!(img.dimensions(), (800, 600), "{name}");
        let first = img.get_pixel(0, 0);
        let differing = img.pixels().filter(|p| *p != first).count();
        assert!(differing > 5000, "{name}: {differing} pixels drawn");
        // Coloured curves, not only black text and gray lines.
        assert!(
            img.pixels().any(|p| p[2] > 150 && p[0] < 80),
            "{name}: no curve"
        );
    }
    let again = evaluate(&model, &labels, &["--plots", plots_arg]);
    assert_eq!(again.status.code(), Some(1));
    assert!(stderr(&again).contains("exists"), "{}", stderr(&again));
    let forced = evaluate(
        &model,
        &labels,
        &["--plots", plots_arg, "--force", "--json"],
    );
    assert_eq!(json(&forced)["failed"], 2, "{}", stderr(&forced));
}

#[test]
fn unusable_sets_are_usage_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let model = write_model(&dir.path().join("model"), true);
    let cases: [(&str, &str, &str); 5] = [
        ("header.csv", "file,truth\na.png,TARGET\n", "path,label"),
        ("empty.csv", "path,label\n", "no images"),
        (
            "ragged.csv",
            "path,label\na.png,TARGET,extra\n",
            "not a valid CSV",
        ),
        ("blank.csv", "path,label\na.png,\n", "empty label"),
        ("nothing.csv", "", "path,label"),
    ];
    for (name, text, needle) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let out = evaluate(&model, &path, &["--json"]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{name}: {err}");
        assert!(err.contains(name) && err.contains(needle), "{name}: {err}");
        assert!(out.stdout.is_empty());
    }
    let out = evaluate(&model, &dir.path().join("absent.csv"), &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no such file or folder"));
}

#[test]
fn the_bundled_images_give_the_documented_result() {
    // The numbers in the README and the model card.
    let labels = root().join("assets/chest-xray/labels.csv");
    let model = root().join("models/pneumonia-xception/manifest.toml");
    let out = evaluate(&model, &labels, &["--json", "--ep", "cpu"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = json(&out);
    assert_eq!((&v["n"], &v["evaluated"]), (&16.into(), &16.into()));
    let r = &v["per_label"]["PNEUMONIA"];
    assert_eq!(
        r["confusion"],
        serde_json::json!({"tp": 6, "fp": 1, "tn": 7, "fn": 2})
    );
    let triple = |name: &str| {
        let m = &r[name];
        [&m["value"], &m["ci_low"], &m["ci_high"]].map(|x| (x.as_f64().unwrap() * 1000.0).round())
    };
    assert_eq!(triple("accuracy"), [813.0, 625.0, 1000.0]);
    assert_eq!(triple("sensitivity"), [750.0, 375.0, 1000.0]);
    assert_eq!(triple("specificity"), [875.0, 625.0, 1000.0]);
    assert_eq!(triple("precision"), [857.0, 625.0, 1000.0]);
    assert_eq!(triple("f1"), [800.0, 533.0, 1000.0]);
    assert_eq!(triple("auc"), [906.0, 719.0, 1000.0]);
}
