//! The AI engine end to end through `hilum classify`: parity with the
//! original Keras model on the 16 bundled chest X-rays on both engines,
//! engine and execution-provider reporting, and bad inputs.
//!
//! ONNX Runtime comes from the `onnxruntime` wheel that `scripts/test.sh`
//! installs into `$HILUM_VENV`; without it the ONNX Runtime tests fail.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::json_keys as keys;
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn classify(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hilum"));
    cmd.arg("classify").args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("hilum runs")
}

fn json_array(out: &Output) -> Vec<Value> {
    assert!(
        out.status.success(),
        "hilum classify failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice::<Value>(&out.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn reference() -> Value {
    let text =
        std::fs::read_to_string(root().join("models/pneumonia-xception/reference.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn check_parity(engine: &str) {
    let xrays = root().join("assets/chest-xray");
    let out = classify(
        &[
            xrays.to_str().unwrap(),
            "--json",
            "--engine",
            engine,
            "--ep",
            "cpu",
        ],
        &[],
    );
    let results = json_array(&out);
    let reference = reference();
    let images = reference["images"].as_array().unwrap();
    assert_eq!(results.len(), 16);
    assert_eq!(images.len(), 16);
    let mut worst = 0f64;
    for image in images {
        let name = image["file"].as_str().unwrap();
        let result = results
            .iter()
            .find(|r| r["path"].as_str().unwrap().ends_with(name))
            .unwrap_or_else(|| panic!("no result for {name}"));
        assert_eq!(result["engine"], engine);
        assert_eq!(result["model"]["id"], "pneumonia-xception");
        let want: Vec<f64> = image["keras_probabilities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        let got: Vec<f64> = result["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["probability"].as_f64().unwrap())
            .collect();
        for (g, w) in got.iter().zip(&want) {
            worst = worst.max((g - w).abs());
        }
        let top = |p: &[f64]| if p[1] > p[0] { 1 } else { 0 };
        assert_eq!(
            top(&got),
            top(&want),
            "{name}: top class differs ({got:?} vs {want:?})"
        );
    }
    assert!(worst <= 0.01, "{engine}: max abs difference {worst} > 0.01");
    eprintln!("{engine}: max abs probability difference vs Keras {worst:.5}");
}

#[test]
fn onnxruntime_reproduces_the_keras_probabilities() {
    check_parity("onnxruntime");
}

#[test]
fn the_embedded_engine_reproduces_the_keras_probabilities() {
    check_parity("tract");
}

#[test]
fn results_say_which_engine_and_provider_ran() {
    let xray = root().join("assets/chest-xray/NORMAL2-IM-1427-0001.jpeg");
    let ort = json_array(&classify(
        &[xray.to_str().unwrap(), "--json", "--ep", "cpu"],
        &[],
    ));
    assert_eq!(ort[0]["engine"], "onnxruntime");
    assert_eq!(ort[0]["execution_provider"], "CPU");
    assert!(ort[0]["engine_detail"].as_str().unwrap().contains("1.31"));
    let finding = &ort[0]["findings"][1];
    assert_eq!(finding["label"], "PNEUMONIA");
    assert_eq!(finding["threshold"], 0.5);
    assert!(
        finding["call"]
            .as_str()
            .unwrap()
            .contains("operating point")
    );
    for key in ["preprocess", "inference", "total"] {
        assert!(ort[0]["timing_ms"][key].as_f64().unwrap() > 0.0);
    }

    // No ONNX Runtime anywhere: the embedded engine runs, and says why.
    let empty = tempfile::tempdir().unwrap();
    let dir = empty.path().to_str().unwrap();
    let out = classify(
        &[xray.to_str().unwrap(), "--json"],
        &[
            ("HOME", dir),
            ("HILUM_VENV", dir),
            ("VIRTUAL_ENV", dir),
            ("ORT_DYLIB_PATH", ""),
        ],
    );
    let tract = json_array(&out);
    assert_eq!(tract[0]["engine"], "tract");
    assert!(
        tract[0]["engine_detail"]
            .as_str()
            .unwrap()
            .contains("no ONNX Runtime library found")
    );
}

/// Whether this machine has an NVIDIA GPU with its driver loaded: the
/// driver's proc entry, or `nvidia-smi -L` listing a GPU.
fn gpu_present() -> bool {
    Path::new("/proc/driver/nvidia/gpus").is_dir()
        || Command::new("nvidia-smi")
            .arg("-L")
            .output()
            .is_ok_and(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).contains("GPU"))
}

/// The ONNX Runtime library an `engine_detail` names:
/// "ONNX Runtime VERSION (PATH)".
fn library_of(engine_detail: &str) -> Option<PathBuf> {
    let start = engine_detail.find(" (")? + 2;
    Some(PathBuf::from(
        engine_detail.get(start..engine_detail.len() - 1)?,
    ))
}

#[test]
fn cuda_is_never_claimed_when_the_cpu_runs() {
    let xray = root().join("assets/chest-xray/NORMAL2-IM-1427-0001.jpeg");
    let auto = classify(&[xray.to_str().unwrap(), "--json", "--ep", "auto"], &[]);
    let results = json_array(&auto);
    assert_eq!(results[0]["engine"], "onnxruntime");
    let library = library_of(results[0]["engine_detail"].as_str().unwrap())
        .expect("engine_detail names the library");
    // CUDA can only run with a GPU and a library built with the CUDA
    // provider (onnxruntime-gpu), which ships it beside the library.
    let provider = library.with_file_name("libonnxruntime_providers_cuda.so");
    let (gpu, has_provider) = (gpu_present(), provider.is_file());
    let strict = classify(&[xray.to_str().unwrap(), "--ep", "cuda"], &[]);
    let strict_err = String::from_utf8_lossy(&strict.stderr).to_string();
    let ep = results[0]["execution_provider"].as_str().unwrap();
    let fallback = results[0]["execution_provider_fallback"].as_str();
    if !(gpu && has_provider) {
        eprintln!(
            "CUDA cannot run here (GPU: {gpu}, CUDA provider beside {}: {has_provider}): \
             expecting the CPU with a reason",
            library.display()
        );
        // Strict CUDA is an error...
        assert_eq!(strict.status.code(), Some(1), "{strict_err}");
        assert!(strict_err.contains("CUDA unavailable"), "{strict_err}");
        // ...and auto falls back to the CPU, with the reason.
        assert_eq!(ep, "CPU");
        let reason = fallback.expect("a fallback reason");
        assert!(
            reason.starts_with("CUDA unavailable") && reason.ends_with("running on CPU"),
            "{reason}"
        );
    } else if ep == "CUDA" {
        eprintln!("a GPU and the CUDA provider are present: CUDA runs");
        assert_eq!(fallback, None);
        assert_eq!(strict.status.code(), Some(0), "{strict_err}");
    } else {
        // A GPU and the provider, but CUDA still cannot start (a missing
        // cuDNN, say): the CPU runs and says why; strict CUDA refuses.
        let reason = fallback.expect("a fallback reason");
        eprintln!("a GPU and the CUDA provider are present, but CUDA fell back: {reason}");
        assert_eq!(ep, "CPU");
        assert!(reason.starts_with("CUDA unavailable"), "{reason}");
        assert_eq!(strict.status.code(), Some(1), "{strict_err}");
        assert!(strict_err.contains("CUDA unavailable"), "{strict_err}");
    }
}

fn model_copy(dir: &Path, edit: impl Fn(String) -> String, onnx: Option<&[u8]>) -> PathBuf {
    let src = root().join("models/pneumonia-xception");
    let manifest = std::fs::read_to_string(src.join("manifest.toml")).unwrap();
    std::fs::write(dir.join("manifest.toml"), edit(manifest)).unwrap();
    match onnx {
        Some(bytes) => std::fs::write(dir.join("model.onnx"), bytes).unwrap(),
        None => {
            let _ = std::fs::remove_file(dir.join("model.onnx"));
        }
    }
    dir.join("manifest.toml")
}

fn expect_error(manifest: &Path, image: &Path, needle: &str) {
    for engine in ["onnxruntime", "tract"] {
        let out = classify(
            &[
                image.to_str().unwrap(),
                "--model",
                manifest.to_str().unwrap(),
                "--engine",
                engine,
            ],
            &[],
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{engine}: {stderr}");
        assert!(
            stderr.contains(needle),
            "{engine}: expected {needle:?} in {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[test]
fn bad_models_and_manifests_give_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let xray = root().join("assets/chest-xray/NORMAL2-IM-1427-0001.jpeg");
    let real = std::fs::read(root().join("models/pneumonia-xception/model.onnx")).unwrap();

    let m = model_copy(dir.path(), |m| m, None);
    expect_error(&m, &xray, "cannot read the model");

    let m = model_copy(dir.path(), |m| m, Some(b"this is not an onnx file"));
    expect_error(&m, &xray, "model.onnx");

    let m = model_copy(dir.path(), |m| m, Some(&real[..real.len() / 3]));
    expect_error(&m, &xray, "model.onnx");

    let m = model_copy(
        dir.path(),
        |m| m.replace("name = \"input\"", "name = \"image\""),
        Some(&real),
    );
    expect_error(&m, &xray, "input.name");

    let m = model_copy(
        dir.path(),
        |m| m.replace("height = 150", "height = 224"),
        Some(&real),
    );
    expect_error(&m, &xray, "input.height");

    // The layout does not match the model's (dynamic-batch) input shape.
    let m = model_copy(
        dir.path(),
        |m| m.replace("layout = \"NHWC\"", "layout = \"NCHW\""),
        Some(&real),
    );
    expect_error(&m, &xray, "input.channels");

    let m = model_copy(
        dir.path(),
        |m| m.replace("layout = \"NHWC\"", "layout = \"NWHC\""),
        Some(&real),
    );
    expect_error(&m, &xray, "input.layout");

    let m = model_copy(
        dir.path(),
        |m| m.replace("threshold = 0.5", "threshold = 1.5"),
        Some(&real),
    );
    expect_error(&m, &xray, "operating_points[0].threshold");

    let m = model_copy(
        dir.path(),
        |m| m.replace("scores = \"probabilities\"", "scores = \"logits\""),
        Some(&real),
    );
    expect_error(&m, &xray, "outputs.scores");
}

#[test]
fn a_tiny_image_is_refused_and_a_ct_slice_runs_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let tiny = dir.path().join("tiny.png");
    image::GrayImage::from_raw(1, 1, vec![128])
        .unwrap()
        .save(&tiny)
        .unwrap();
    let out = classify(&[tiny.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("tiny.png") && stderr.contains("1×1"),
        "{stderr}"
    );

    let ct = root().join("assets/CT_small.dcm");
    let results = json_array(&classify(&[ct.to_str().unwrap(), "--json"], &[]));
    let warnings = results[0]["out_of_scope_warnings"].as_array().unwrap();
    assert!(
        warnings
            .iter()
            .any(|w| w.as_str().unwrap().contains("modality CT")),
        "{warnings:?}"
    );
}

#[test]
fn one_failing_image_does_not_stop_a_folder() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["NORMAL2-IM-1427-0001.jpeg", "person1946_bacteria_4874.jpeg"] {
        std::fs::copy(
            root().join("assets/chest-xray").join(name),
            dir.path().join(name),
        )
        .unwrap();
    }
    std::fs::write(dir.path().join("broken.jpg"), b"not a jpeg").unwrap();
    let out = classify(&[dir.path().to_str().unwrap(), "--json"], &[]);
    assert_eq!(out.status.code(), Some(1));
    let results: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(results.as_array().unwrap().len(), 2);
    assert!(String::from_utf8_lossy(&out.stderr).contains("broken.jpg"));
}

#[test]
fn classify_keeps_its_json_contract_field_by_field() {
    let xray = root().join("assets/chest-xray/NORMAL2-IM-1427-0001.jpeg");
    // Without --json: one compact object per line.
    let out = classify(&[xray.to_str().unwrap(), "--engine", "tract"], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{stdout}");
    let v: Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(
        keys(&v),
        [
            "path",
            "model",
            "engine",
            "engine_detail",
            "execution_provider",
            "execution_provider_fallback",
            "in_scope",
            "scope_reasons",
            "findings",
            "out_of_scope_warnings",
            "timing_ms",
            "notice",
        ],
        "field names or order changed"
    );
    assert_eq!(keys(&v["model"]), ["id", "name", "version"]);
    assert_eq!(keys(&v["timing_ms"]), ["preprocess", "inference", "total"]);
    assert!(v["execution_provider_fallback"].is_null());
    assert_eq!(
        v["notice"],
        "AI assistance for research and demonstration; not a diagnosis"
    );
    let findings = v["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 2);
    for f in findings {
        assert_eq!(
            keys(f),
            [
                "label",
                "probability",
                "threshold",
                "positive",
                "is_finding",
                "call"
            ]
        );
        // Probabilities are the model's f32 values widened to f64 (the
        // digits other tools have always parsed), not re-rounded decimals.
        let p = f["probability"].as_f64().unwrap();
        assert_eq!(f64::from(p as f32), p, "{p}");
    }
    // A label that is not a finding has no operating point: null, not absent.
    assert_eq!(findings[0]["label"], "NORMAL");
    assert_eq!(findings[0]["is_finding"], false);
    assert!(findings[0]["threshold"].is_null() && findings[0]["positive"].is_null());
    assert_eq!(findings[1]["is_finding"], true);
    assert!(findings[1]["positive"].is_boolean());
}

/// A chest X-ray as DICOM (CR, CHEST, PA) made from a bundled X-ray's
/// pixels, with Patient's Age `age`.
fn chest_dicom(dir: &Path, age: &str) -> PathBuf {
    use dicom_core::VR;
    use dicom_dictionary_std::tags;
    let xray = image::open(root().join("assets/chest-xray/NORMAL2-IM-1427-0001.jpeg"))
        .unwrap()
        .to_luma8();
    let (w, h) = xray.dimensions();
    let path = dir.join(format!("chest-{age}.dcm"));
    let pixels = dicom_core::DataElement::new(
        tags::PIXEL_DATA,
        VR::OB,
        dicom_core::PrimitiveValue::U8(xray.into_raw().into()),
    );
    let text = common::text;
    common::write_dicom(
        &path,
        vec![
            text(tags::SOP_CLASS_UID, VR::UI, "1.2.840.10008.5.1.4.1.1.1"),
            text(
                tags::SOP_INSTANCE_UID,
                VR::UI,
                &format!("1.2.826.0.1.3680043.9.7433.6.{}", age.trim_end_matches('Y')),
            ),
            text(tags::MODALITY, VR::CS, "CR"),
            text(tags::BODY_PART_EXAMINED, VR::CS, "CHEST"),
            text(tags::VIEW_POSITION, VR::CS, "PA"),
            text(tags::PATIENT_AGE, VR::AS, age),
            common::us(tags::SAMPLES_PER_PIXEL, 1),
            text(tags::PHOTOMETRIC_INTERPRETATION, VR::CS, "MONOCHROME2"),
            common::us(tags::ROWS, h as u16),
            common::us(tags::COLUMNS, w as u16),
            common::us(tags::BITS_ALLOCATED, 8),
            common::us(tags::BITS_STORED, 8),
            common::us(tags::HIGH_BIT, 7),
            common::us(tags::PIXEL_REPRESENTATION, 0),
            pixels,
        ],
    );
    path
}

#[test]
fn images_outside_the_scope_get_no_call_and_unverifiable_ones_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let adult = chest_dicom(dir.path(), "045Y");
    let child = chest_dicom(dir.path(), "003Y");
    let ct = root().join("assets/CT_small.dcm");
    let mr = common::corpus_dir().join("MR_small.dcm");
    let jpeg = root().join("assets/chest-xray/person1946_bacteria_4874.jpeg");
    let paths: Vec<&str> = [&ct, &mr, &adult, &child, &jpeg]
        .iter()
        .map(|p| p.to_str().unwrap())
        .collect();
    let mut args = paths.clone();
    args.extend(["--json", "--engine", "tract"]);
    let results = json_array(&classify(&args, &[]));
    assert_eq!(results.len(), 5);
    let by_path = |p: &Path| {
        results
            .iter()
            .find(|r| r["path"] == p.display().to_string())
            .unwrap_or_else(|| panic!("{} in {results:?}", p.display()))
    };
    for (path, why) in [
        (&ct, "modality CT"),
        (&mr, "modality MR"),
        (&adult, "patient age 045Y"),
    ] {
        let r = by_path(path);
        assert_eq!(r["in_scope"], false, "{}", path.display());
        let reasons = r["scope_reasons"].as_array().unwrap();
        assert!(
            reasons.iter().any(|w| w.as_str().unwrap().contains(why)),
            "{reasons:?}"
        );
        for finding in r["findings"].as_array().unwrap() {
            assert!(finding["positive"].is_null(), "{finding}");
            assert!(
                finding["call"]
                    .as_str()
                    .unwrap()
                    .contains("outside the model's scope"),
                "{finding}"
            );
            assert!(
                finding["probability"].is_number(),
                "the number is still there: {finding}"
            );
        }
    }
    // A paediatric chest X-ray as DICOM is in scope and gets its calls.
    // The finding (not the context label) of a result.
    let finding = |r: &Value| -> Value {
        r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["is_finding"] == true)
            .cloned()
            .unwrap()
    };
    let r = by_path(&child);
    assert_eq!(r["in_scope"], true);
    let pneumonia = finding(r);
    assert!(pneumonia["positive"].is_boolean(), "{pneumonia}");
    // A plain JPEG cannot show its scope: said so, calls kept.
    let r = by_path(&jpeg);
    assert!(r["in_scope"].is_null());
    assert!(
        r["scope_reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w == "scope not verifiable from the file")
    );
    let pneumonia = finding(r);
    assert!(pneumonia["positive"].is_boolean(), "{pneumonia}");
}
