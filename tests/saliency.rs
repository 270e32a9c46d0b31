//! Saliency heatmaps: parity with autograd Grad-CAM on the default model,
//! localisation and model-randomisation sanity checks, the CLI contract,
//! cancellation and clear errors.
//!
//! ONNX Runtime comes from the `onnxruntime` wheel that `scripts/test.sh`
//! installs into `$HILUM_VENV`; the synthetic model below is built in the
//! test, so the localisation check needs no data files.

mod common;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use hilum::ai::saliency::{Heatmap, SaliencyMethod, SaliencyRequest};
use hilum::ai::{AiError, LoadedModel, Manifest, RuntimeSettings};
use hilum::imaging::{self, Image, LoadOptions};
use prost::Message;
use serde_json::Value;
use tract_onnx::pb;

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

// ---------------------------------------------------------------------------
// A synthetic classifier whose "TARGET" score depends only on the mean
// intensity inside a known rectangle of its input.

const INPUT_W: usize = 64;
const INPUT_H: usize = 48;
const CELL: usize = 4;
const CHANNELS: usize = 3;

fn tensor(name: &str, dims: &[i64], values: Vec<f32>) -> pb::TensorProto {
    pb::TensorProto {
        name: name.into(),
        dims: dims.to_vec(),
        data_type: pb::tensor_proto::DataType::Float as i32,
        float_data: values,
        ..Default::default()
    }
}

fn int_tensor(name: &str, values: Vec<i64>) -> pb::TensorProto {
    pb::TensorProto {
        name: name.into(),
        dims: vec![values.len() as i64],
        data_type: pb::tensor_proto::DataType::Int64 as i32,
        int64_data: values,
        ..Default::default()
    }
}

fn ints(name: &str, values: &[i64]) -> pb::AttributeProto {
    pb::AttributeProto {
        name: name.into(),
        r#type: pb::attribute_proto::AttributeType::Ints as i32,
        ints: values.to_vec(),
        ..Default::default()
    }
}

fn int(name: &str, value: i64) -> pb::AttributeProto {
    pb::AttributeProto {
        name: name.into(),
        r#type: pb::attribute_proto::AttributeType::Int as i32,
        i: value,
        ..Default::default()
    }
}

fn node(
    op: &str,
    inputs: &[&str],
    output: &str,
    attributes: Vec<pb::AttributeProto>,
) -> pb::NodeProto {
    pb::NodeProto {
        op_type: op.into(),
        name: output.into(),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: vec![output.into()],
        attribute: attributes,
        ..Default::default()
    }
}

fn value_info(name: &str, dims: &[Option<i64>]) -> pb::ValueInfoProto {
    use pb::tensor_shape_proto::{Dimension, dimension::Value as Dim};
    let dim = dims
        .iter()
        .map(|d| Dimension {
            value: Some(match d {
                Some(v) => Dim::DimValue(*v),
                None => Dim::DimParam("N".into()),
            }),
            ..Default::default()
        })
        .collect();
    pb::ValueInfoProto {
        name: name.into(),
        r#type: Some(pb::TypeProto {
            value: Some(pb::type_proto::Value::TensorType(pb::type_proto::Tensor {
                elem_type: pb::tensor_proto::DataType::Float as i32,
                shape: Some(pb::TensorShapeProto { dim }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The ONNX bytes of the rectangle model: `mask` (INPUT_H × INPUT_W, 1
/// inside the rectangle) gates the gray input, three 1×1 convolutions and
/// a ReLU make the features, 4×4 average pooling the feature map
/// (`features`, NCHW), then global average pooling and a linear head. The
/// class gradients of a linear head are its weights.
fn rectangle_model(mask: &[f32]) -> Vec<u8> {
    let conv_w = [1.0f32, 0.5, 2.0];
    let head = [[0.0f32, 25.0], [0.0, 25.0], [0.0, 25.0]]; // [k][class]
    let mut gradients = Vec::new();
    for class in 0..2 {
        gradients.extend(head.iter().map(|row| row[class]));
    }
    let k = conv_w.len() as i64;
    let (h, w) = (INPUT_H as i64, INPUT_W as i64);
    let graph = pb::GraphProto {
        name: "rectangle".into(),
        node: vec![
            node(
                "ReduceMean",
                &["input"],
                "gray",
                vec![ints("axes", &[1]), int("keepdims", 1)],
            ),
            node("Mul", &["gray", "mask"], "masked", vec![]),
            node("Conv", &["masked", "conv_w", "conv_b"], "conv", vec![]),
            node("Relu", &["conv"], "act", vec![]),
            node(
                "AveragePool",
                &["act"],
                "features",
                vec![
                    ints("kernel_shape", &[CELL as i64; 2]),
                    ints("strides", &[CELL as i64; 2]),
                ],
            ),
            node("GlobalAveragePool", &["features"], "pooled4", vec![]),
            node("Flatten", &["pooled4"], "pooled", vec![int("axis", 1)]),
            node("Gemm", &["pooled", "head_w", "head_b"], "logits", vec![]),
            node(
                "Softmax",
                &["logits"],
                "probabilities",
                vec![int("axis", 1)],
            ),
            node("Mul", &["pooled", "zero"], "zeros", vec![]),
            node("Unsqueeze", &["zeros", "axis1"], "zeros3", vec![]),
            node("Add", &["zeros3", "gradients"], "class_gradients", vec![]),
        ],
        initializer: vec![
            tensor("mask", &[1, 1, h, w], mask.to_vec()),
            tensor("conv_w", &[k, 1, 1, 1], conv_w.to_vec()),
            tensor("conv_b", &[k], vec![0.0; 3]),
            tensor("head_w", &[k, 2], head.iter().flatten().copied().collect()),
            tensor("head_b", &[2], vec![1.0, 0.0]),
            tensor("zero", &[], vec![0.0]),
            int_tensor("axis1", vec![1]),
            tensor("gradients", &[1, 2, k], gradients),
        ],
        input: vec![value_info(
            "input",
            &[None, Some(CHANNELS as i64), Some(h), Some(w)],
        )],
        output: vec![
            value_info("probabilities", &[None, Some(2)]),
            value_info("features", &[None, Some(k), Some(h / 4), Some(w / 4)]),
            value_info("class_gradients", &[None, Some(2), Some(k)]),
        ],
        ..Default::default()
    };
    pb::ModelProto {
        ir_version: 8,
        opset_import: vec![pb::OperatorSetIdProto {
            domain: String::new(),
            version: 13,
        }],
        graph: Some(graph),
        ..Default::default()
    }
    .encode_to_vec()
}

fn rectangle_manifest(keep_aspect: bool) -> String {
    format!(
        r#"schema_version = 1
id = "rectangle"
name = "Synthetic rectangle detector (test)"
version = "1"
file = "model.onnx"

[task]
kind = "multiclass"
output_activation = "none"
labels = ["BACKGROUND", "TARGET"]
finding_labels = ["TARGET"]

[input]
name = "input"
layout = "NCHW"
height = {INPUT_H}
width = {INPUT_W}
channels = 3

[preprocess]
window = "file"
resize = "nearest-pil"
keep_aspect = {keep_aspect}
pad_value = 0
replicate_gray = true
scale = 0.00392156862745098
offset = 0.0
mean = [0.0, 0.0, 0.0]
std = [1.0, 1.0, 1.0]
notes = "test model"

[outputs]
scores = "probabilities"
features = "features"
features_layout = "NCHW"
class_gradients = "class_gradients"

[[operating_points]]
label = "TARGET"
threshold = 0.5
source = "test"

[scope]
modalities = []
allow_non_dicom = true
body_parts = []
view_positions = []
age_group = "any"

[card]
intended_use = "tests"
training_data = "none"
performance = "none"
limitations = "synthetic"
licence = "same as Hilum"
provenance = "built by tests/saliency.rs"
citation = "none"
"#
    )
}

#[derive(Debug, Clone, Copy)]
struct Rect {
    x: u32,
    y: u32,
    w: u32,
    h: u32,
}

impl Rect {
    fn contains(&self, x: u32, y: u32) -> bool {
        x >= self.x && x < self.x + self.w && y >= self.y && y < self.y + self.h
    }
}

/// An 8-bit image with texture everywhere: bright inside the rectangle,
/// anything outside (which the model ignores).
fn textured_png(path: &Path, width: u32, height: u32, rect: Rect) {
    let mut state = 0x2545_F491_4F6C_DD1Du64 ^ (width as u64 * 31 + height as u64);
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % 256) as u8
    };
    let image = image::GrayImage::from_fn(width, height, |x, y| {
        let noise = next();
        image::Luma([if rect.contains(x, y) {
            200 + noise % 56
        } else {
            noise
        }])
    });
    image.save(path).unwrap();
}

/// The input-space mask of `rect` for an image of `width × height`, as the
/// preprocessing maps it (stretched or letterboxed, Pillow nearest).
fn input_mask(width: u32, height: u32, rect: Rect, keep_aspect: bool) -> Vec<f32> {
    use hilum::ai::preprocess::nearest_pil_indices;
    let (cw, ch, cx, cy) = if keep_aspect {
        let scale = (INPUT_W as f64 / width as f64).min(INPUT_H as f64 / height as f64);
        let cw = (width as f64 * scale).round() as usize;
        let ch = (height as f64 * scale).round() as usize;
        (cw, ch, (INPUT_W - cw) / 2, (INPUT_H - ch) / 2)
    } else {
        (INPUT_W, INPUT_H, 0, 0)
    };
    let xs = nearest_pil_indices(width, cw as u32);
    let ys = nearest_pil_indices(height, ch as u32);
    let mut mask = vec![0f32; INPUT_W * INPUT_H];
    for (v, &sy) in ys.iter().enumerate() {
        for (u, &sx) in xs.iter().enumerate() {
            if rect.contains(sx as u32, sy as u32) {
                mask[(v + cy) * INPUT_W + u + cx] = 1.0;
            }
        }
    }
    mask
}

/// Intersection over union of the top 5 % of the heatmap with `rect`, and
/// whether the maximum lies inside it.
fn localisation(map: &Heatmap, rect: Rect) -> (f64, bool) {
    let n = (map.values.len() as f64 * 0.05).ceil() as usize;
    let mut order: Vec<usize> = (0..map.values.len()).collect();
    order.sort_by(|&a, &b| map.values[b].total_cmp(&map.values[a]).then(a.cmp(&b)));
    let w = map.width as usize;
    let inside = |i: usize| rect.contains((i % w) as u32, (i / w) as u32);
    let hits = order[..n].iter().filter(|&&i| inside(i)).count();
    let rect_area = (rect.w * rect.h) as usize;
    let iou = hits as f64 / (n + rect_area - hits) as f64;
    (iou, inside(order[0]))
}

#[test]
fn heatmaps_find_the_rectangle_the_model_looks_at() {
    // Non-square sources, rectangles of about 5 % of the image in several
    // places, stretched and letterboxed inputs.
    let cases = [
        (
            300,
            200,
            Rect {
                x: 20,
                y: 30,
                w: 60,
                h: 50,
            },
            false,
        ),
        (
            300,
            200,
            Rect {
                x: 215,
                y: 130,
                w: 60,
                h: 50,
            },
            false,
        ),
        (
            180,
            260,
            Rect {
                x: 110,
                y: 20,
                w: 45,
                h: 52,
            },
            false,
        ),
        (
            180,
            260,
            Rect {
                x: 30,
                y: 180,
                w: 45,
                h: 52,
            },
            true,
        ),
        (
            320,
            160,
            Rect {
                x: 140,
                y: 60,
                w: 50,
                h: 50,
            },
            true,
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (i, &(width, height, rect, keep_aspect)) in cases.iter().enumerate() {
        let case = dir.path().join(format!("case{i}"));
        std::fs::create_dir(&case).unwrap();
        std::fs::write(
            case.join("model.onnx"),
            rectangle_model(&input_mask(width, height, rect, keep_aspect)),
        )
        .unwrap();
        std::fs::write(case.join("manifest.toml"), rectangle_manifest(keep_aspect)).unwrap();
        let png = case.join("image.png");
        textured_png(&png, width, height, rect);
        let mut model = load_model(&case.join("manifest.toml"));
        let image = load_image(&png);
        for method in [SaliencyMethod::GradCam, SaliencyMethod::Occlusion] {
            let request = SaliencyRequest {
                method,
                ..SaliencyRequest::default()
            };
            let map = heatmap(&mut model, &image, &request);
            assert_eq!((map.width, map.height), (width, height));
            assert_eq!(map.target_label, "TARGET");
            let (iou, max_inside) = localisation(&map, rect);
            let what = format!(
                "case {i} ({width}×{height}, {rect:?}, letterbox {keep_aspect}), {method:?}"
            );
            assert!(max_inside, "{what}: the maximum is outside the rectangle");
            assert!(iou >= 0.5, "{what}: top-5% IoU {iou:.3} < 0.5");
            let f = map.faithfulness.expect("measured");
            assert!(
                f.salient_drop > f.random_drop,
                "{what}: deletion {f:?} does not favour the salient pixels"
            );
        }
    }
}

// ---------------------------------------------------------------------------

/// Spearman rank correlation (average ranks for ties; 0 when either side
/// is constant).
fn spearman(a: &[f32], b: &[f32]) -> f64 {
    fn ranks(v: &[f32]) -> Vec<f64> {
        let mut order: Vec<usize> = (0..v.len()).collect();
        order.sort_by(|&i, &j| v[i].total_cmp(&v[j]));
        let mut r = vec![0.0; v.len()];
        let mut i = 0;
        while i < order.len() {
            let mut j = i;
            while j + 1 < order.len() && v[order[j + 1]] == v[order[i]] {
                j += 1;
            }
            for &k in &order[i..=j] {
                r[k] = (i + j) as f64 / 2.0;
            }
            i = j + 1;
        }
        r
    }
    let (ra, rb) = (ranks(a), ranks(b));
    let n = ra.len() as f64;
    let (ma, mb) = (ra.iter().sum::<f64>() / n, rb.iter().sum::<f64>() / n);
    let cov: f64 = ra.iter().zip(&rb).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = ra.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = rb.iter().map(|y| (y - mb).powi(2)).sum();
    if va == 0.0 || vb == 0.0 {
        0.0
    } else {
        cov / (va * vb).sqrt()
    }
}

#[test]
fn spearman_is_right_on_known_cases() {
    assert!((spearman(&[1.0, 2.0, 3.0], &[10.0, 20.0, 30.0]) - 1.0).abs() < 1e-12);
    assert!((spearman(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]) + 1.0).abs() < 1e-12);
    assert_eq!(spearman(&[1.0, 1.0, 1.0], &[1.0, 2.0, 3.0]), 0.0);
}

/// The default model with its head (both dense layers, and the copies of
/// their weights the class-gradient output uses) replaced by random
/// weights of the same scale.
fn randomised_head(bytes: &[u8]) -> Vec<u8> {
    use half::f16;
    let mut model = pb::ModelProto::decode(bytes).unwrap();
    let graph = model.graph.as_mut().unwrap();
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut normal = move || {
        // Box–Muller on a xorshift stream.
        let mut uniform = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            ((state >> 11) as f64 + 0.5) / (1u64 << 53) as f64
        };
        let (u, v) = (uniform(), uniform());
        ((-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()) as f32
    };
    let find = |g: &pb::GraphProto, suffix: &str| {
        g.initializer
            .iter()
            .position(|t| t.name.ends_with(suffix))
            .unwrap_or_else(|| panic!("no initializer ending in {suffix}"))
    };
    let f16_values = |t: &pb::TensorProto| -> Vec<f32> {
        t.raw_data
            .chunks_exact(2)
            .map(|c| f16::from_le_bytes([c[0], c[1]]).to_f32())
            .collect()
    };
    let f32_values = |t: &pb::TensorProto| -> Vec<f32> {
        if t.float_data.is_empty() {
            t.raw_data
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect()
        } else {
            t.float_data.clone()
        }
    };
    let std_of = |v: &[f32]| {
        let m = v.iter().sum::<f32>() / v.len() as f32;
        (v.iter().map(|x| (x - m).powi(2)).sum::<f32>() / v.len() as f32).sqrt()
    };
    // Dense 1: W1 [2048, 128] (float16) and its transpose in the gradient
    // branch; dense 2: W2 [128, 2] and its columns in the gradient branch.
    let w1_at = find(graph, "dense_1/Cast/ReadVariableOp:0__fp16");
    let w1t_at = find(graph, "class_gradients_1/Const_1:0__fp16");
    let w2_at = find(graph, "dense_1_2/Cast/ReadVariableOp:0");
    let c2_at = find(graph, "class_gradients_1/Const_2:0");
    let c3_at = find(graph, "class_gradients_1/Const_3:0");
    let w1 = f16_values(&graph.initializer[w1_at]);
    let w2 = f32_values(&graph.initializer[w2_at]);
    assert_eq!((w1.len(), w2.len()), (2048 * 128, 256));
    // The gradient branch's constants are copies of the head weights: check
    // before replacing them together.
    let w1t = f16_values(&graph.initializer[w1t_at]);
    assert_eq!(w1t[5 * 2048 + 7], w1[7 * 128 + 5]);
    let c2 = f32_values(&graph.initializer[c2_at]);
    let c3 = f32_values(&graph.initializer[c3_at]);
    assert_eq!((c2[9], c3[9]), (w2[9 * 2], w2[9 * 2 + 1]));
    let (s1, s2) = (std_of(&w1), std_of(&w2));
    let new_w1: Vec<f32> = (0..w1.len()).map(|_| normal() * s1).collect();
    let new_w2: Vec<f32> = (0..w2.len()).map(|_| normal() * s2).collect();
    let mut new_w1t = vec![0f32; w1.len()];
    for i in 0..2048 {
        for j in 0..128 {
            new_w1t[j * 2048 + i] = new_w1[i * 128 + j];
        }
    }
    let as_f16 = |v: &[f32]| -> Vec<u8> {
        v.iter()
            .flat_map(|&x| f16::from_f32(x).to_le_bytes())
            .collect()
    };
    let set_f32 = |t: &mut pb::TensorProto, v: Vec<f32>| {
        t.raw_data.clear();
        t.float_data = v;
    };
    graph.initializer[w1_at].raw_data = as_f16(&new_w1);
    graph.initializer[w1t_at].raw_data = as_f16(&new_w1t);
    set_f32(&mut graph.initializer[w2_at], new_w2.clone());
    set_f32(
        &mut graph.initializer[c2_at],
        new_w2.iter().step_by(2).copied().collect(),
    );
    set_f32(
        &mut graph.initializer[c3_at],
        new_w2.iter().skip(1).step_by(2).copied().collect(),
    );
    model.encode_to_vec()
}

#[test]
fn gradcam_changes_when_the_head_is_randomised() {
    let dir = tempfile::tempdir().unwrap();
    let source = root().join("models/pneumonia-xception");
    let bytes = std::fs::read(source.join("model.onnx")).unwrap();
    std::fs::write(dir.path().join("model.onnx"), randomised_head(&bytes)).unwrap();
    std::fs::copy(
        source.join("manifest.toml"),
        dir.path().join("manifest.toml"),
    )
    .unwrap();
    let mut real = load_model(&default_manifest());
    let mut random = load_model(&dir.path().join("manifest.toml"));
    let mut correlations = Vec::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("assets/chest-xray"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jpeg"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 16);
    let request = SaliencyRequest {
        target: Some("PNEUMONIA".into()),
        ..gradcam_request()
    };
    for file in &files {
        let image = load_image(file);
        let a = heatmap(&mut real, &image, &request);
        let b = heatmap(&mut random, &image, &request);
        assert!(a.model_space.iter().any(|&v| v > 0.0), "{}", file.display());
        // An all-zero map (every cell's evidence negative) correlates with
        // nothing; count it, but make sure real maps are compared too.
        let informative = b.model_space.iter().any(|&v| v > 0.0);
        correlations.push((spearman(&a.model_space, &b.model_space), informative));
    }
    let mean = |values: Vec<f64>| values.iter().sum::<f64>() / values.len().max(1) as f64;
    let all = mean(correlations.iter().map(|c| c.0).collect());
    let informative: Vec<f64> = correlations.iter().filter(|c| c.1).map(|c| c.0).collect();
    eprintln!(
        "Spearman, real vs random head: mean {all:.3} over 16 images; {:.3} over the {} \
         non-zero random maps ({informative:.3?})",
        mean(informative.clone()),
        informative.len(),
    );
    assert!(
        informative.len() >= 3,
        "too few non-zero random-head maps to compare: {correlations:?}"
    );
    assert!(
        all < 0.5 && mean(informative.clone()) < 0.5,
        "Grad-CAM barely changes with a random head: {correlations:?}"
    );
}

// ---------------------------------------------------------------------------

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

#[test]
fn the_cli_writes_an_overlay_a_float32_map_and_labelled_json() {
    let dir = tempfile::tempdir().unwrap();
    let image = root().join("assets/chest-xray/person1946_bacteria_4874.jpeg");
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
    ] {
        assert!(f[key].is_number(), "{key}");
    }
    assert!(
        v["caption"]
            .as_str()
            .unwrap()
            .contains("Grad-CAM for PNEUMONIA")
    );
    // The overlay is the source's size and says what it shows.
    let source = image::open(&image).unwrap();
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(&overlay).unwrap(),
    ));
    let reader = decoder.read_info().unwrap();
    let info = reader.info();
    assert_eq!((info.width, info.height), (source.width(), source.height()));
    let description = info
        .utf8_text
        .iter()
        .find(|t| t.keyword == "Description")
        .expect("a Description")
        .get_text()
        .unwrap();
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
    let out = common::hilum(&[
        "report",
        image.to_str().unwrap(),
        "--saliency",
        "occlusion",
        "--pdf",
        pdf.to_str().unwrap(),
        "--png",
        png.to_str().unwrap(),
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
        "hiding the top",
        "random",
    ] {
        assert!(text.contains(needle), "the PDF lacks {needle:?}:\n{text}");
    }
    assert!(image::open(&png).is_ok());
}
