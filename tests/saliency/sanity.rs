//! Model-randomisation sanity check: Grad-CAM on the default model must
//! change when its head is replaced by random weights (Spearman rank
//! correlation against the real head).

use prost::Message;
use tract_onnx::pb;

use super::*;

use hilum::ai::saliency::sanity::spearman;

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
