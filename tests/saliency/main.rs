//! Saliency heatmaps: parity with autograd Grad-CAM on the default model,
//! localisation and model-randomisation sanity checks, the CLI contract,
//! cancellation and clear errors.
//!
//! ONNX Runtime comes from the `onnxruntime` wheel that `scripts/test.sh`
//! installs into `$HILUM_VENV`; the synthetic model in `synthetic` is built
//! in the test, so the localisation check needs no data files. Here: the
//! shared helpers and Grad-CAM parity; `synthetic`: the hand-built rectangle
//! model and localisation; `sanity`: the randomised-head sanity check;
//! `cli`: cancellation, the worker, the CLI contract and reports.

#[path = "../common/mod.rs"]
mod common;

mod cli;
mod sanity;
mod synthetic;

use std::path::{Path, PathBuf};

use hilum::ai::saliency::{Heatmap, SaliencyRequest};
use hilum::ai::{LoadedModel, Manifest, RuntimeSettings};
use hilum::imaging::{self, Image, LoadOptions};
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn load_model(manifest: &Path) -> LoadedModel {
    let manifest = Manifest::load(manifest).unwrap();
    LoadedModel::load(manifest, &RuntimeSettings::default()).unwrap()
}

fn default_manifest() -> PathBuf {
    root().join("models/pneumonia-xception/manifest.toml")
}

fn load_image(path: &Path) -> Image {
    imaging::load_path(path, &LoadOptions::default()).unwrap()
}

fn gradcam_request() -> SaliencyRequest {
    SaliencyRequest {
        deletion_fraction: None,
        ..SaliencyRequest::default()
    }
}

fn heatmap(model: &mut LoadedModel, image: &Image, request: &SaliencyRequest) -> Heatmap {
    model
        .explain(image, request, &mut |_| {}, &|| false)
        .unwrap()
}

/// Grad-CAM on the default model against `tf.GradientTape` Grad-CAM on the
/// original Keras model. The conversion script saved the exact 150×150
/// inputs the references were computed from (`gradcam-inputs/`, checked
/// there against the recorded input hashes), so JPEG decoder differences
/// between Pillow and Hilum cannot mask or fake a match.
#[test]
fn gradcam_equals_the_autograd_reference() {
    use sha2::Digest;
    let folder = root().join("models/pneumonia-xception");
    let text = std::fs::read_to_string(folder.join("reference.json")).unwrap();
    let reference: Value = serde_json::from_str(&text).unwrap();
    let gradcam = &reference["gradcam"];
    let mut model = load_model(&default_manifest());
    let images = gradcam["images"].as_array().unwrap();
    assert!(images.len() >= 4);
    for entry in images {
        let name = entry["file"].as_str().unwrap();
        let input = folder
            .join("gradcam-inputs")
            .join(Path::new(name).with_extension("png"));
        let image = load_image(&input);
        // The PNG is the reference's input: Keras's x / 127.5 − 1 of it has
        // the recorded hash; Hilum's preprocessing reproduces it.
        let rgb = image::open(&input).unwrap().to_rgb8();
        let keras_x: Vec<f32> = rgb
            .as_raw()
            .iter()
            .map(|&v| v as f32 / 127.5 - 1.0)
            .collect();
        let bytes: Vec<u8> = keras_x.iter().flat_map(|v| v.to_le_bytes()).collect();
        let recorded = reference["images"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["file"] == name)
            .unwrap()["input_sha256"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(
            format!("{:x}", sha2::Sha256::digest(&bytes)),
            recorded,
            "{name}"
        );
        let prepared = hilum::ai::preprocess::prepare(&image, 0, &model.manifest).unwrap();
        let input_diff = prepared
            .data
            .iter()
            .zip(&keras_x)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(
            input_diff <= 1e-6,
            "{name}: model input differs by {input_diff}"
        );
        let map = heatmap(&mut model, &image, &gradcam_request());
        assert_eq!(map.target_label, gradcam["class"].as_str().unwrap());
        assert_eq!(map.grid, (5, 5));
        let expected: Vec<f64> = entry["keras_cam_normalised"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|row| row.as_array().unwrap().iter().map(|v| v.as_f64().unwrap()))
            .collect();
        let worst = map
            .model_space
            .iter()
            .zip(&expected)
            .map(|(&a, &b)| (a as f64 - b).abs())
            .fold(0.0, f64::max);
        assert!(
            worst <= 1e-3,
            "{name}: Grad-CAM differs from the Keras autograd reference by {worst}"
        );
        // On a 150×150 source the source grid is the input grid.
        assert_eq!((map.width, map.height), (150, 150));
        let max = map.values.iter().copied().fold(0f32, f32::max);
        assert!(max > 0.95 && max <= 1.0, "{max}");
    }
}
