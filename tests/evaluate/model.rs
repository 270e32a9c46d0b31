//! The test model: P(TARGET) = mean intensity, built as ONNX here, and
//! its manifest.

use std::path::{Path, PathBuf};

use tract_onnx::pb;

use crate::common::onnx::{int, model_bytes, node, tensor, value_info};

/// The model's input side (the images are 16×16, resized to it).
const SIDE: i64 = 8;

/// The mean-intensity model: `[N, 1, 8, 8]` in [0, 1] → `[1 − m, m]`,
/// m the mean (already probabilities).
fn mean_model() -> Vec<u8> {
    let graph = pb::GraphProto {
        name: "mean".into(),
        node: vec![
            node("GlobalAveragePool", &["input"], "pooled", vec![]),
            node("Flatten", &["pooled"], "m", vec![int("axis", 1)]),
            node("Sub", &["one", "m"], "rest", vec![]),
            node(
                "Concat",
                &["rest", "m"],
                "probabilities",
                vec![int("axis", 1)],
            ),
        ],
        initializer: vec![tensor("one", &[1], vec![1.0])],
        input: vec![value_info(
            "input",
            &[None, Some(1), Some(SIDE), Some(SIDE)],
        )],
        output: vec![value_info("probabilities", &[None, Some(2)])],
        ..Default::default()
    };
    model_bytes(graph)
}

/// Writes the model and its manifest in `dir`: TARGET a finding with an
/// operating point of 0.5 and a scope of CR (non-DICOM allowed), or, with
/// `findings` false, no finding label and no operating point.
pub fn write_model(dir: &Path, findings: bool) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("model.onnx"), mean_model()).unwrap();
    let (finding_labels, operating_point) = if findings {
        (
            r#"["TARGET"]"#,
            "[[operating_points]]\nlabel = \"TARGET\"\nthreshold = 0.5\nsource = \"test\"\n",
        )
    } else {
        ("[]", "")
    };
    let manifest = format!(
        r#"schema_version = 1
id = "mean-intensity"
name = "Mean intensity (test)"
version = "1"
file = "model.onnx"

[task]
kind = "multiclass"
output_activation = "none"
labels = ["BACKGROUND", "TARGET"]
finding_labels = {finding_labels}

[input]
name = "input"
layout = "NCHW"
height = {SIDE}
width = {SIDE}
channels = 1

[preprocess]
window = "file"
resize = "nearest-pil"
keep_aspect = false
replicate_gray = true
scale = 0.00392156862745098
offset = 0.0
mean = [0.0]
std = [1.0]
notes = "test model"

[outputs]
scores = "probabilities"

{operating_point}
[scope]
modalities = ["CR"]
allow_non_dicom = true

[card]
intended_use = "tests"
training_data = "none"
performance = "none"
limitations = "synthetic"
licence = "same as Hilum"
provenance = "built by tests/evaluate.rs"
citation = "none"
"#
    );
    let path = dir.join("manifest.toml");
    std::fs::write(&path, manifest).unwrap();
    path
}
