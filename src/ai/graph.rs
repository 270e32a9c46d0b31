//! Edits to an ONNX graph before a session is built from it: fixing the
//! batch for the embedded engine, exposing the logits behind a final
//! softmax or sigmoid, and randomising the weights for the saliency sanity
//! check. The file on disk is never changed.

use prost::Message;
use tract_onnx::pb;

/// A decoded ONNX model.
pub struct Graph {
    model: pb::ModelProto,
}

/// The name given to the logits output [`Graph::expose_logits`] adds.
pub const LOGITS_OUTPUT: &str = "hilum.logits";

/// The activation between the logits and the probabilities a graph
/// outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinalActivation {
    /// Softmax over the labels.
    Softmax,
    /// A sigmoid per label.
    Sigmoid,
}

/// What [`Graph::randomise_weights`] changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Randomised {
    /// Weight tensors given random values.
    pub tensors: usize,
    /// Values replaced.
    pub values: usize,
    /// Floating-point tensors left as they were: scalars (structural
    /// constants such as epsilons and clip bounds) and tensors whose values
    /// are all equal (they carry no learned pattern).
    pub kept: usize,
}

impl Graph {
    /// Decodes an ONNX model.
    pub fn decode(bytes: &[u8]) -> Result<Self, String> {
        let model = pb::ModelProto::decode(bytes).map_err(|e| e.to_string())?;
        if model.graph.is_none() {
            return Err("the model has no graph".into());
        }
        Ok(Self { model })
    }

    /// The model as ONNX bytes.
    pub fn encode(&self) -> Vec<u8> {
        self.model.encode_to_vec()
    }

    fn graph(&mut self) -> &mut pb::GraphProto {
        self.model.graph.as_mut().expect("checked in decode")
    }

    /// Fixes the batch dimension of every graph input and output to 1. The
    /// embedded engine optimises a graph with a symbolic batch about three
    /// times slower; the file on disk keeps its dynamic batch for ONNX
    /// Runtime.
    pub fn fix_batch_to_one(&mut self) {
        use pb::tensor_shape_proto::dimension::Value as Dim;
        use pb::type_proto::Value as Type;
        let graph = self.graph();
        for info in graph.input.iter_mut().chain(graph.output.iter_mut()) {
            if let Some(Type::TensorType(tensor)) =
                info.r#type.as_mut().and_then(|t| t.value.as_mut())
                && let Some(first) = tensor.shape.as_mut().and_then(|s| s.dim.first_mut())
                && !matches!(first.value, Some(Dim::DimValue(_)))
            {
                first.value = Some(Dim::DimValue(1));
            }
        }
    }

    /// When the output `scores` is made by a final Softmax or Sigmoid
    /// (through any Identity or Cast nodes), adds that node's input as one
    /// more float output named [`LOGITS_OUTPUT`] and returns the
    /// activation. Probabilities pinned at 0 or 1 in float32 hide how sure
    /// the model is; its logits do not saturate.
    pub fn expose_logits(&mut self, scores: &str) -> Option<FinalActivation> {
        let graph = self.graph();
        if graph.output.iter().any(|o| o.name == LOGITS_OUTPUT) {
            return None;
        }
        let mut tensor = scores.to_string();
        let (logits, activation) = loop {
            let node = graph.node.iter().find(|n| n.output.contains(&tensor))?;
            match node.op_type.as_str() {
                "Identity" | "Cast" => tensor = node.input.first()?.clone(),
                "Softmax" => {
                    // Over the label axis: the last one (opset 13 default)
                    // or axis 1 of a [N, labels] output (earlier default).
                    let axis = node.attribute.iter().find(|a| a.name == "axis");
                    if axis.is_some_and(|a| a.i != -1 && a.i != 1) {
                        return None;
                    }
                    break (node.input.first()?.clone(), FinalActivation::Softmax);
                }
                "Sigmoid" => break (node.input.first()?.clone(), FinalActivation::Sigmoid),
                _ => return None,
            }
        };
        graph.node.push(pb::NodeProto {
            op_type: "Cast".into(),
            name: LOGITS_OUTPUT.into(),
            input: vec![logits],
            output: vec![LOGITS_OUTPUT.into()],
            attribute: vec![pb::AttributeProto {
                name: "to".into(),
                r#type: pb::attribute_proto::AttributeType::Int as i32,
                i: pb::tensor_proto::DataType::Float as i64,
                ..Default::default()
            }],
            ..Default::default()
        });
        graph.output.push(pb::ValueInfoProto {
            name: LOGITS_OUTPUT.into(),
            r#type: Some(pb::TypeProto {
                value: Some(pb::type_proto::Value::TensorType(pb::type_proto::Tensor {
                    elem_type: pb::tensor_proto::DataType::Float as i32,
                    shape: None,
                })),
                ..Default::default()
            }),
            ..Default::default()
        });
        Some(activation)
    }

    /// Replaces every floating-point weight tensor (initializers and
    /// Constant nodes) with zero-mean normal values of the tensor's own
    /// root-mean-square size (batch-norm variances with their absolute
    /// values, so they stay valid): the "full model randomisation" of
    /// Adebayo et al. (2018), which re-initialises weights rather than
    /// shuffling them, so a learned mask or bias does not survive as a
    /// brightness preference. Identical tensors get identical values (the
    /// generator is seeded by the tensor's bytes), so a graph that holds a
    /// copy of its own head weights (the class-gradient branch) stays
    /// consistent.
    pub fn randomise_weights(&mut self, seed: u64) -> Result<Randomised, String> {
        let graph = self.graph();
        let variances: std::collections::HashSet<String> = graph
            .node
            .iter()
            .filter(|n| n.op_type == "BatchNormalization")
            .filter_map(|n| n.input.get(4).cloned())
            .collect();
        let mut done = Randomised::default();
        for tensor in graph.initializer.iter_mut() {
            let positive = variances.contains(&tensor.name);
            randomise_tensor(tensor, seed, positive, &mut done)?;
        }
        for node in graph.node.iter_mut().filter(|n| n.op_type == "Constant") {
            let positive = node.output.iter().any(|o| variances.contains(o));
            for tensor in node.attribute.iter_mut().filter_map(|a| a.t.as_mut()) {
                randomise_tensor(tensor, seed, positive, &mut done)?;
            }
        }
        Ok(done)
    }
}

/// How a floating-point tensor stores its values.
#[derive(Debug, Clone, Copy)]
enum Storage {
    F32,
    F16,
    Bf16,
    F64,
}

fn storage(data_type: i32) -> Option<Storage> {
    use pb::tensor_proto::DataType;
    match DataType::try_from(data_type).ok()? {
        DataType::Float => Some(Storage::F32),
        DataType::Float16 => Some(Storage::F16),
        DataType::Bfloat16 => Some(Storage::Bf16),
        DataType::Double => Some(Storage::F64),
        _ => None,
    }
}

fn read_values(t: &pb::TensorProto, s: Storage) -> Vec<f64> {
    use half::{bf16, f16};
    let raw = &t.raw_data;
    match s {
        Storage::F32 if raw.is_empty() => t.float_data.iter().map(|&v| v as f64).collect(),
        Storage::F32 => raw
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64)
            .collect(),
        Storage::F64 if raw.is_empty() => t.double_data.clone(),
        Storage::F64 => raw
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
            .collect(),
        // Without raw data, 16-bit floats are held as their bits in int32_data.
        Storage::F16 if raw.is_empty() => t
            .int32_data
            .iter()
            .map(|&b| f16::from_bits(b as u16).to_f64())
            .collect(),
        Storage::F16 => raw
            .chunks_exact(2)
            .map(|c| f16::from_le_bytes([c[0], c[1]]).to_f64())
            .collect(),
        Storage::Bf16 if raw.is_empty() => t
            .int32_data
            .iter()
            .map(|&b| bf16::from_bits(b as u16).to_f64())
            .collect(),
        Storage::Bf16 => raw
            .chunks_exact(2)
            .map(|c| bf16::from_le_bytes([c[0], c[1]]).to_f64())
            .collect(),
    }
}

fn write_values(t: &mut pb::TensorProto, s: Storage, values: &[f64]) {
    use half::{bf16, f16};
    let raw = !t.raw_data.is_empty();
    match (s, raw) {
        (Storage::F32, false) => t.float_data = values.iter().map(|&v| v as f32).collect(),
        (Storage::F32, true) => {
            t.raw_data = values
                .iter()
                .flat_map(|&v| (v as f32).to_le_bytes())
                .collect()
        }
        (Storage::F64, false) => t.double_data = values.to_vec(),
        (Storage::F64, true) => t.raw_data = values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        (Storage::F16, false) => {
            t.int32_data = values
                .iter()
                .map(|&v| f16::from_f64(v).to_bits() as i32)
                .collect()
        }
        (Storage::F16, true) => {
            t.raw_data = values
                .iter()
                .flat_map(|&v| f16::from_f64(v).to_le_bytes())
                .collect()
        }
        (Storage::Bf16, false) => {
            t.int32_data = values
                .iter()
                .map(|&v| bf16::from_f64(v).to_bits() as i32)
                .collect()
        }
        (Storage::Bf16, true) => {
            t.raw_data = values
                .iter()
                .flat_map(|&v| bf16::from_f64(v).to_le_bytes())
                .collect()
        }
    }
}

fn randomise_tensor(
    t: &mut pb::TensorProto,
    seed: u64,
    positive: bool,
    done: &mut Randomised,
) -> Result<(), String> {
    let Some(s) = storage(t.data_type) else {
        return Ok(());
    };
    if !t.external_data.is_empty() {
        return Err(format!(
            "tensor {:?} is stored outside the model file; such weights cannot be randomised",
            t.name
        ));
    }
    let values = read_values(t, s);
    if values.len() < 2 {
        done.kept += 1;
        return Ok(());
    }
    let n = values.len() as f64;
    let first = values[0];
    let rms = (values.iter().map(|v| v * v).sum::<f64>() / n).sqrt();
    if values.iter().all(|&v| v == first) || !rms.is_finite() {
        done.kept += 1;
        return Ok(());
    }
    let mut rng = Normal::seeded(seed ^ fnv1a(&values));
    let fresh: Vec<f64> = (0..values.len())
        .map(|_| {
            let v = rms * rng.next();
            if positive { v.abs() } else { v }
        })
        .collect();
    write_values(t, s, &fresh);
    done.tensors += 1;
    done.values += fresh.len();
    Ok(())
}

/// FNV-1a over the values' bits: identical tensors, identical seeds.
fn fnv1a(values: &[f64]) -> u64 {
    values.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, v| {
        v.to_bits()
            .to_le_bytes()
            .iter()
            .fold(h, |h, &b| (h ^ b as u64).wrapping_mul(0x100_0000_01b3))
    })
}

/// Standard normal draws: Box–Muller on SplitMix64.
struct Normal(u64);

impl Normal {
    fn seeded(seed: u64) -> Self {
        Self(seed)
    }

    fn uniform(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        ((z >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    fn next(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f32_tensor(name: &str, values: Vec<f32>) -> pb::TensorProto {
        pb::TensorProto {
            name: name.into(),
            dims: vec![values.len() as i64],
            data_type: pb::tensor_proto::DataType::Float as i32,
            float_data: values,
            ..Default::default()
        }
    }

    fn graph_of(initializer: Vec<pb::TensorProto>, node: Vec<pb::NodeProto>) -> Graph {
        Graph {
            model: pb::ModelProto {
                graph: Some(pb::GraphProto {
                    initializer,
                    node,
                    ..Default::default()
                }),
                ..Default::default()
            },
        }
    }

    #[test]
    fn randomising_keeps_scalars_constants_and_signs_and_copies_agree() {
        let weights = vec![0.5f32, -1.0, 2.0, 0.25];
        let mut g = graph_of(
            vec![
                f32_tensor("w", weights.clone()),
                f32_tensor("w_copy", weights.clone()),
                f32_tensor("var", (1..=32).map(|i| i as f32 / 100.0).collect()),
                f32_tensor("eps", vec![1e-3]),
                f32_tensor("ones", vec![1.0; 4]),
            ],
            vec![],
        );
        let done = g.randomise_weights(7).unwrap();
        assert_eq!((done.tensors, done.values, done.kept), (3, 40, 2));
        let init = &g.graph().initializer;
        assert_ne!(init[0].float_data, weights);
        assert_eq!(init[0].float_data, init[1].float_data);
        // Not a batch-norm variance here, so its signs are random too.
        assert!(init[2].float_data.iter().any(|&v| v < 0.0));
        assert_eq!(init[3].float_data, vec![1e-3]);
        assert_eq!(init[4].float_data, vec![1.0; 4]);
        // Reproducible.
        let mut again = graph_of(vec![f32_tensor("w", weights)], vec![]);
        again.randomise_weights(7).unwrap();
        assert_eq!(again.graph().initializer[0].float_data, init[0].float_data);
    }

    #[test]
    fn batch_norm_variances_stay_positive() {
        let node = pb::NodeProto {
            op_type: "BatchNormalization".into(),
            input: ["x", "scale", "bias", "mean", "var"]
                .map(String::from)
                .to_vec(),
            output: vec!["y".into()],
            ..Default::default()
        };
        let var: Vec<f32> = (1..=64).map(|i| i as f32 / 64.0).collect();
        let mut g = graph_of(vec![f32_tensor("var", var.clone())], vec![node]);
        g.randomise_weights(3).unwrap();
        let fresh = &g.graph().initializer[0].float_data;
        assert_ne!(fresh, &var);
        assert!(fresh.iter().all(|&v| v >= 0.0));
    }

    #[test]
    fn half_precision_raw_data_round_trips() {
        let bits: Vec<u8> = [1.0f32, -2.0, 3.5]
            .iter()
            .flat_map(|&v| half::f16::from_f32(v).to_le_bytes())
            .collect();
        let mut t = pb::TensorProto {
            data_type: pb::tensor_proto::DataType::Float16 as i32,
            raw_data: bits,
            ..Default::default()
        };
        assert_eq!(read_values(&t, Storage::F16), vec![1.0, -2.0, 3.5]);
        let mut done = Randomised::default();
        randomise_tensor(&mut t, 1, false, &mut done).unwrap();
        assert_eq!(t.raw_data.len(), 6);
        assert_eq!(done.tensors, 1);
    }

    #[test]
    fn the_logits_behind_a_final_softmax_become_an_output() {
        let node = |op: &str, input: &str, output: &str| pb::NodeProto {
            op_type: op.into(),
            input: vec![input.into()],
            output: vec![output.into()],
            ..Default::default()
        };
        let mut g = graph_of(
            vec![],
            vec![
                node("Gemm", "x", "z"),
                node("Softmax", "z", "p"),
                node("Identity", "p", "probabilities"),
            ],
        );
        assert_eq!(
            g.expose_logits("probabilities"),
            Some(FinalActivation::Softmax)
        );
        let graph = g.graph();
        assert_eq!(graph.output.last().unwrap().name, LOGITS_OUTPUT);
        assert_eq!(graph.node.last().unwrap().input, vec!["z".to_string()]);
        // Once only; and nothing for a graph that ends in something else.
        assert_eq!(g.expose_logits("probabilities"), None);
        let mut plain = graph_of(vec![], vec![node("Gemm", "x", "scores")]);
        assert_eq!(plain.expose_logits("scores"), None);
    }
}
