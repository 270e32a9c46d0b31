//! Cancellation (in the model and in the worker), clear errors, the
//! `hilum saliency` CLI contract (overlay, float32 map, labelled JSON) and
//! the heatmap in `hilum report`.

use std::sync::atomic::{AtomicBool, Ordering};

use hilum::ai::AiError;
use hilum::ai::saliency::SaliencyMethod;

use super::*;

#[test]
fn a_cancelled_occlusion_run_returns_no_map() {
    let mut model = load_model(&default_manifest());
    let image = load_image(&root().join("assets/chest-xray/person1946_bacteria_4874.jpeg"));
    let cancel = AtomicBool::new(false);
    let mut seen = Vec::new();
    let request = SaliencyRequest {
        method: SaliencyMethod::Occlusion,
        ..SaliencyRequest::default()
    };
    let result = model.explain(
        &image,
        &request,
        &mut |p| {
            seen.push(p);
            cancel.store(true, Ordering::Relaxed);
        },
        &|| cancel.load(Ordering::Relaxed),
    );
    assert!(matches!(result, Err(AiError::Cancelled)), "{result:?}");
    assert_eq!(seen.len(), 1, "stopped after the first batch: {seen:?}");
    assert!(seen[0].done < seen[0].total);
}

#[test]
fn gradcam_without_a_feature_output_suggests_occlusion() {
    let dir = tempfile::tempdir().unwrap();
    let source = root().join("models/pneumonia-xception");
    let manifest = std::fs::read_to_string(source.join("manifest.toml")).unwrap();
    let stripped: String = manifest
        .lines()
        .filter(|l| !l.starts_with("features") && !l.starts_with("class_gradients"))
        .map(|l| format!("{l}\n"))
        .collect();
    let manifest = stripped.replace(
        "file = \"model.onnx\"",
        &format!(
            "file = {:?}",
            source.join("model.onnx").display().to_string()
        ),
    );
    std::fs::write(dir.path().join("manifest.toml"), manifest).unwrap();
    let image = root().join("assets/chest-xray/NORMAL2-IM-1427-0001.jpeg");
    let args = |method: &str| {
        vec![
            "saliency".to_string(),
            image.display().to_string(),
            "--model".into(),
            dir.path().join("manifest.toml").display().to_string(),
            "--method".into(),
            method.into(),
            "--json".into(),
        ]
    };
    let gradcam_args = args("gradcam");
    let out = common::hilum(&gradcam_args.iter().map(String::as_str).collect::<Vec<_>>());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("no feature-map output") && stderr.contains("occlusion"),
        "{stderr}"
    );
    // Occlusion needs only the scores, so the same model explains itself.
    let occlusion_args = args("occlusion");
    let out = common::hilum(
        &occlusion_args
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v[0]["method"], "occlusion");
}

fn python() -> PathBuf {
    let venv = std::env::var_os("HILUM_VENV")
        .map(PathBuf::from)
        .expect("HILUM_VENV is set by scripts/test.sh (its Python has numpy)");
    venv.join("bin/python")
}

/// A PNG's size and its `Description` text.
fn png_description(path: &Path) -> ((u32, u32), String) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let reader = decoder.read_info().unwrap();
    let info = reader.info();
    let description = info
        .utf8_text
        .iter()
        .find(|t| t.keyword == "Description")
        .expect("a Description")
        .get_text()
        .unwrap();
    ((info.width, info.height), description)
}

/// A bundled image whose Grad-CAM map the deletion test calls faithful.
const FAITHFUL_GRADCAM: &str = "assets/chest-xray/person1954_bacteria_4886.jpeg";
/// One whose Grad-CAM map it calls not faithful: hiding the map's top 10 %
/// lowers the PNEUMONIA log-odds by about 0.9, random pixels by about 5.
const UNFAITHFUL_GRADCAM: &str = "assets/chest-xray/person1946_bacteria_4874.jpeg";

#[test]
fn the_cli_writes_an_overlay_a_float32_map_and_labelled_json() {
    let dir = tempfile::tempdir().unwrap();
    let image = root().join(FAITHFUL_GRADCAM);
    let (overlay, raw) = (dir.path().join("overlay.png"), dir.path().join("map.npy"));
    let args = [
        "saliency",
        image.to_str().unwrap(),
        "--out",
        overlay.to_str().unwrap(),
        "--raw",
        raw.to_str().unwrap(),
        "--json",
    ];
    let out = common::hilum(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let v = &v[0];
    assert_eq!(v["method"], "gradcam");
    assert_eq!(v["target"], "PNEUMONIA");
    for key in ["map", "faithfulness", "total"] {
        assert!(v["timing_ms"][key].as_f64().unwrap() > 0.0, "{key}");
    }
    let f = &v["faithfulness"];
    assert_eq!(f["metric"], "deletion");
    for key in [
        "salient_drop",
        "random_drop",
        "base_probability",
        "fraction",
        "base_score",
        "salient_score_drop",
        "random_score_drop_mean",
        "random_score_drop_sd",
    ] {
        assert!(f[key].is_number(), "{key}");
    }
    assert_eq!(f["verdict"], "faithful", "{f}");
    assert_eq!(f["score"], "log-odds from the model's logits");
    assert_eq!(f["random_score_drops"].as_array().unwrap().len(), 16);
    assert!(f["rule"].as_str().unwrap().contains("16 random deletions"));
    // The model ends in a softmax: the log-odds come from its logits and
    // match the probability where float32 can still tell.
    let p = f["base_probability"].as_f64().unwrap();
    let from_p = (p / (1.0 - p)).ln();
    assert!(
        (f["base_score"].as_f64().unwrap() - from_p).abs() < 1e-2,
        "{f}"
    );
    assert!(
        v["caption"]
            .as_str()
            .unwrap()
            .contains("Grad-CAM for PNEUMONIA")
    );
    // The overlay is the source's size and says what it shows.
    let source = image::open(&image).unwrap();
    let (size, description) = png_description(&overlay);
    assert_eq!(size, (source.width(), source.height()));
    assert!(
        description.contains("Grad-CAM for PNEUMONIA"),
        "{description}"
    );
    // The map is float32 (rows, cols) in [0, 1], as NumPy reads it.
    let check = std::process::Command::new(python())
        .args([
            "-c",
            "import sys, numpy as np; a = np.load(sys.argv[1]); \
             print(a.dtype, a.shape[0], a.shape[1], float(a.min()), float(a.max()))",
            raw.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let printed = String::from_utf8_lossy(&check.stdout);
    let fields: Vec<&str> = printed.split_whitespace().collect();
    assert_eq!(fields[0], "float32");
    assert_eq!(fields[1].parse::<u32>().unwrap(), source.height());
    assert_eq!(fields[2].parse::<u32>().unwrap(), source.width());
    let (min, max): (f64, f64) = (fields[3].parse().unwrap(), fields[4].parse().unwrap());
    assert!(min >= 0.0 && max <= 1.0 && max > 0.99, "{printed}");
    // Outputs are not overwritten without --force, and never the source.
    let again = common::hilum(&args);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("output exists"));
    let onto_source = common::hilum(&[
        "saliency",
        image.to_str().unwrap(),
        "--out",
        image.to_str().unwrap(),
        "--force",
    ]);
    assert_eq!(onto_source.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&onto_source.stderr)
            .contains("refusing to overwrite a source file")
    );
    assert!(image::open(&image).is_ok());
}

#[test]
fn an_unfaithful_map_is_drawn_only_on_request_and_with_its_warning() {
    let dir = tempfile::tempdir().unwrap();
    let image = root().join(UNFAITHFUL_GRADCAM);
    let overlay = dir.path().join("overlay.png");
    let args = [
        "saliency",
        image.to_str().unwrap(),
        "--out",
        overlay.to_str().unwrap(),
        "--json",
    ];
    let out = common::hilum(&args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("not written: the map is not faithful")
            && stderr.contains("--draw-unfaithful"),
        "{stderr}"
    );
    assert!(!overlay.exists());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let f = &v[0]["faithfulness"];
    assert_eq!(f["verdict"], "not faithful", "{f}");
    let salient = f["salient_score_drop"].as_f64().unwrap();
    let random = f["random_score_drop_mean"].as_f64().unwrap();
    assert!(salient < random, "{f}");
    assert!(
        v[0]["caption"]
            .as_str()
            .unwrap()
            .contains("not faithful: hiding the top 10%")
    );
    // Asked for, it is drawn, with the warning in the file's description.
    let mut forced = args.to_vec();
    forced.push("--draw-unfaithful");
    let out = common::hilum(&forced);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (_, description) = png_description(&overlay);
    assert!(
        description.starts_with("Not faithful: the map explains the prediction no better"),
        "{description}"
    );
}

#[test]
fn an_unknown_target_names_the_labels() {
    let image = root().join("assets/chest-xray/NORMAL2-IM-1427-0001.jpeg");
    let out = common::hilum(&["saliency", image.to_str().unwrap(), "--target", "EFFUSION"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("EFFUSION") && stderr.contains("NORMAL, PNEUMONIA"),
        "{stderr}"
    );
}

#[test]
fn the_worker_reports_occlusion_progress_and_honours_cancel() {
    use hilum::ai::worker::ClassifierWorker;
    use std::sync::Arc;
    let manifest = Manifest::load(&default_manifest()).unwrap();
    let worker = ClassifierWorker::spawn(manifest, RuntimeSettings::default());
    let image = Arc::new(load_image(
        &root().join("assets/chest-xray/person1951_bacteria_4882.jpeg"),
    ));
    let occlusion = SaliencyRequest {
        method: SaliencyMethod::Occlusion,
        occlusion: hilum::ai::saliency::occlusion::OcclusionSettings {
            batch: 4,
            ..Default::default()
        },
        ..SaliencyRequest::default()
    };
    // Queued behind a long occlusion run and cancelled before it starts.
    let full = worker.submit_saliency(Arc::clone(&image), occlusion.clone());
    let stale = worker.submit_saliency(Arc::clone(&image), occlusion.clone());
    stale.cancel();
    let mut last = None;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(600);
    let heatmap = loop {
        if let Some(p) = full.progress() {
            last = Some(p);
        }
        if let Some(result) = full.try_result() {
            break result.unwrap();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the occlusion run did not finish in 600 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    assert_eq!(heatmap.method, SaliencyMethod::Occlusion);
    assert_eq!(heatmap.grid, (8, 8));
    assert!(heatmap.faithfulness.is_some());
    let last = last.expect("progress was reported");
    assert_eq!(last.total, 64);
    assert!(matches!(stale.wait(), Err(AiError::Cancelled)));
    // Cancelled while running: no map comes back.
    let running = worker.submit_saliency(Arc::clone(&image), occlusion);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while running.progress().is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "the second occlusion run reported no progress in 120 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    running.cancel();
    assert!(matches!(running.wait(), Err(AiError::Cancelled)));
}

#[test]
fn a_report_carries_the_heatmap_and_its_label() {
    let dir = tempfile::tempdir().unwrap();
    let image = root().join("assets/chest-xray/person1946_bacteria_4874.jpeg");
    let (pdf, png) = (dir.path().join("r.pdf"), dir.path().join("key.png"));
    let sr = dir.path().join("sr.dcm");
    let out = common::hilum(&[
        "report",
        image.to_str().unwrap(),
        "--saliency",
        "occlusion",
        "--pdf",
        pdf.to_str().unwrap(),
        "--png",
        png.to_str().unwrap(),
        "--sr",
        sr.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::process::Command::new("pdftotext")
        .args(["-layout", pdf.to_str().unwrap(), "-"])
        .output()
        .expect("pdftotext (Debian poppler-utils) is installed");
    let text = String::from_utf8_lossy(&text.stdout);
    for needle in [
        "Saliency method",
        "Occlusion sensitivity",
        "Saliency verdict",
        "hiding the top",
        "random",
    ] {
        assert!(text.contains(needle), "the PDF lacks {needle:?}:\n{text}");
    }
    assert!(image::open(&png).is_ok());
    // The SR carries the verdict, with the model version beside the
    // operating point.
    let dump = common::tool("dsrdump", "dcmtk").arg(&sr).output().unwrap();
    let dump = String::from_utf8_lossy(&dump.stdout);
    assert!(dump.contains("Saliency map faithfulness verdict"), "{dump}");
    assert!(
        ["\"faithful\"", "\"not faithful\"", "\"inconclusive\""]
            .iter()
            .any(|v| dump.contains(v)),
        "{dump}"
    );
    assert!(
        dump.contains("Operating point") && dump.contains("Algorithm Version"),
        "{dump}"
    );
}
