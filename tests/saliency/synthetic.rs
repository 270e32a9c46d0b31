//! Localisation on a synthetic classifier whose "TARGET" score depends
//! only on the mean intensity inside a known rectangle of its input: the
//! ONNX model is built here, and Grad-CAM and occlusion must find the
//! rectangle on non-square, stretched and letterboxed sources.

use crate::common::onnx::{int, int_tensor, ints, model_bytes, node, tensor, value_info};
use hilum::ai::saliency::sanity::RandomisedModel;
use hilum::ai::saliency::{SaliencyMethod, Verdict};

use super::*;

const INPUT_W: usize = 64;
const INPUT_H: usize = 48;
const CELL: usize = 4;
const CHANNELS: usize = 3;

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
    let graph = tract_onnx::pb::GraphProto {
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
    model_bytes(graph)
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
provenance = "built by tests/saliency/synthetic.rs"
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
            assert_eq!(f.verdict, Verdict::Faithful, "{what}: {}", f.reason);
            assert_eq!(f.score, "log-odds from the model's logits");
        }
    }
}

/// One rectangle case on disk: the model, its manifest and the image
/// ([`textured_png`]: bright inside the rectangle, anything outside).
fn rectangle_case(dir: &Path) -> (PathBuf, PathBuf, Rect) {
    let (width, height) = (300, 200);
    let rect = Rect {
        x: 200,
        y: 40,
        w: 60,
        h: 50,
    };
    std::fs::write(
        dir.join("model.onnx"),
        rectangle_model(&input_mask(width, height, rect, false)),
    )
    .unwrap();
    std::fs::write(dir.join("manifest.toml"), rectangle_manifest(false)).unwrap();
    let png = dir.join("image.png");
    textured_png(&png, width, height, rect);
    (dir.join("manifest.toml"), png, rect)
}

#[test]
fn a_map_that_points_elsewhere_is_called_not_faithful() {
    let dir = tempfile::tempdir().unwrap();
    let (manifest, png, _) = rectangle_case(dir.path());
    let mut model = load_model(&manifest);
    let image = load_image(&png);
    let mut run = model
        .saliency_map(&image, &gradcam_request(), &mut |_| {}, &|| false)
        .unwrap();
    // The true map, then its complement: everything but the rectangle.
    let faithful = model.faithfulness(&run, 0.1).unwrap();
    assert_eq!(faithful.verdict, Verdict::Faithful, "{}", faithful.reason);
    run.input_map.iter_mut().for_each(|v| *v = 1.0 - *v);
    let wrong = model.faithfulness(&run, 0.1).unwrap();
    assert_eq!(wrong.verdict, Verdict::NotFaithful, "{}", wrong.reason);
    assert!(wrong.salient_score_drop < faithful.salient_score_drop);
}

/// The same bright texture everywhere: only the model singles out the
/// rectangle, not the image.
fn evenly_bright_png(path: &Path, width: u32, height: u32) {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let image = image::GrayImage::from_fn(width, height, |_, _| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        image::Luma([200 + (state % 56) as u8])
    });
    image.save(path).unwrap();
}

#[test]
fn both_methods_pass_the_randomisation_sanity_check_on_the_rectangle_model() {
    // On an image whose target region is also its brightest, a random
    // ReLU network responds to that region too, and occlusion then fails
    // the check, as Adebayo et al. warn of maps that show the image. Here
    // the image is evenly bright, so only the real model's weights point
    // at the rectangle.
    let dir = tempfile::tempdir().unwrap();
    let (manifest, png, rect) = rectangle_case(dir.path());
    evenly_bright_png(&png, 300, 200);
    let mut model = load_model(&manifest);
    let image = load_image(&png);
    let mut randomised = RandomisedModel::load(&model, &RuntimeSettings::default()).unwrap();
    for method in [SaliencyMethod::GradCam, SaliencyMethod::Occlusion] {
        let request = SaliencyRequest {
            method,
            ..gradcam_request()
        };
        let map = heatmap(&mut model, &image, &request);
        let (iou, _) = localisation(&map, rect);
        assert!(iou >= 0.5, "{method:?}: the real model's map localises");
        let check = randomised
            .check(&image, &request, &map, &mut |_| {}, &|| false)
            .unwrap();
        eprintln!("{method:?}: {check:?}");
        assert!(check.passed, "{method:?}: {check:?}");
        assert_eq!(check.verdict, "passed");
        assert!(check.spearman < check.threshold);
        // The mask, the convolution and the head are all random now.
        assert!(check.tensors_randomised >= 4, "{check:?}");
    }
    // The CLI says the same, in the JSON.
    let out = common::hilum(&[
        "saliency",
        png.to_str().unwrap(),
        "--model",
        manifest.to_str().unwrap(),
        "--sanity",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v[0]["faithfulness"]["verdict"], "faithful");
    let sanity = &v[0]["sanity"];
    assert_eq!(sanity["verdict"], "passed", "{sanity}");
    assert_eq!(sanity["passed"], true);
    assert_eq!(sanity["method"], "gradcam");
    assert!(sanity["spearman"].as_f64().unwrap() < 0.5);
    assert!(sanity["test"].as_str().unwrap().contains("Adebayo"));
}

#[test]
fn a_method_that_ignores_the_model_fails_the_sanity_check() {
    // The same map for the real and the randomised model (what an edge
    // detector would give): the check must fail it.
    use hilum::ai::graph::Randomised;
    use hilum::ai::saliency::sanity::judge;
    let dir = tempfile::tempdir().unwrap();
    let (manifest, png, _) = rectangle_case(dir.path());
    let mut model = load_model(&manifest);
    let map = heatmap(&mut model, &load_image(&png), &gradcam_request());
    let check = judge(&map, &map.clone(), Randomised::default());
    assert!(!check.passed);
    assert_eq!(check.verdict, "failed");
    assert!((check.spearman - 1.0).abs() < 1e-12);
}
