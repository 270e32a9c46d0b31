//! A loaded model: its manifest, its session, and which execution provider
//! really runs it. Loading checks the graph against the manifest.

use std::path::Path;
use std::time::Instant;

use ort::session::Session;
use ort::value::ValueType;
use serde::Serialize;

use super::AiError;
use super::graph::{FinalActivation, Graph, Randomised};
use super::manifest::{Layout, Manifest, OutputActivation};
use super::runtime::{self, Engine, EpChoice, RuntimeSettings};

/// The execution provider that actually runs a session.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExecutionProviderUsed {
    /// `CUDA` or `CPU` (or `tract` for the embedded engine).
    pub name: String,
    /// Why a faster provider asked for is not used, when it is not.
    pub fallback_reason: Option<String>,
}

/// A model ready to run. Owned by one worker; `run` needs `&mut`.
pub struct LoadedModel {
    /// The manifest.
    pub manifest: Manifest,
    /// The engine of this process.
    pub engine: Engine,
    /// The execution provider in use.
    pub execution_provider: ExecutionProviderUsed,
    /// Time to load, ms.
    pub load_ms: f64,
    pub(crate) session: Session,
    /// Where the log-odds of a label come from.
    pub(crate) log_odds: LogOdds,
}

/// A change made to a model's graph before its session is built.
type GraphEdit<'a> = dyn FnMut(&mut Graph) -> Result<(), String> + 'a;

/// Where a label's log-odds, the score that does not saturate, are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogOdds {
    /// The scores output holds logits (the manifest applies the
    /// activation).
    Scores(FinalActivation),
    /// The graph ends in this activation; its input is the extra output
    /// [`crate::ai::graph::LOGITS_OUTPUT`].
    Logits(FinalActivation),
    /// Only probabilities: log-odds computed from them saturate where a
    /// float32 probability is pinned at 0 or 1.
    Probabilities,
}

impl LogOdds {
    /// For a manifest that applies `activation` to logit scores itself.
    fn of_scores(activation: OutputActivation) -> Self {
        match activation {
            OutputActivation::Sigmoid => LogOdds::Scores(FinalActivation::Sigmoid),
            OutputActivation::Softmax => LogOdds::Scores(FinalActivation::Softmax),
            OutputActivation::None => LogOdds::Probabilities,
        }
    }

    /// How the score is named in results.
    pub fn describe(self) -> &'static str {
        match self {
            LogOdds::Scores(_) | LogOdds::Logits(_) => "log-odds from the model's logits",
            LogOdds::Probabilities => {
                "log-odds from the model's probabilities (saturate at float32 precision)"
            }
        }
    }
}

impl std::fmt::Debug for LoadedModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedModel")
            .field("id", &self.manifest.id)
            .field("engine", &self.engine)
            .field("execution_provider", &self.execution_provider)
            .finish()
    }
}

static LOADS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// How many models this process has loaded (each load builds a session).
pub fn loads_in_process() -> usize {
    LOADS.load(std::sync::atomic::Ordering::Relaxed)
}

fn model_error(path: &Path, reason: impl Into<String>) -> AiError {
    AiError::Model {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

fn builder(
    settings: &RuntimeSettings,
    path: &Path,
) -> Result<ort::session::builder::SessionBuilder, AiError> {
    let env = runtime::environment(settings)?;
    let fail = |e: String| model_error(path, format!("cannot create a session: {e}"));
    Session::builder(env)
        .map_err(|e| fail(e.to_string()))?
        // The embedded engine only optimises the graph when asked to.
        .with_optimization_level(ort::session::builder::GraphOptimizationLevel::Level3)
        .map_err(|e| fail(e.to_string()))?
        .with_intra_threads(settings.threads())
        .map_err(|e| fail(e.to_string()))
}

impl LoadedModel {
    /// Loads the model a manifest names, on the engine and execution
    /// provider the settings ask for, and checks its inputs and outputs
    /// against the manifest.
    pub fn load(manifest: Manifest, settings: &RuntimeSettings) -> Result<Self, AiError> {
        Self::load_edited(manifest, settings, None)
    }

    /// Loads the model with every floating-point weight replaced by random
    /// values ([`Graph::randomise_weights`]), for the model-randomisation
    /// sanity check of a saliency method; returns what was replaced.
    pub fn load_randomised(
        manifest: Manifest,
        settings: &RuntimeSettings,
        seed: u64,
    ) -> Result<(Self, Randomised), AiError> {
        let mut done = Randomised::default();
        let mut randomise = |graph: &mut Graph| {
            done = graph.randomise_weights(seed)?;
            Ok(())
        };
        let model = Self::load_edited(manifest, settings, Some(&mut randomise))?;
        Ok((model, done))
    }

    /// Loads the model after `edit`, if any, has changed its graph (the
    /// file on disk is never changed). The graph is decoded only when
    /// something must change: the embedded engine's batch, the edit, or
    /// the logits to expose behind a final activation.
    fn load_edited(
        manifest: Manifest,
        settings: &RuntimeSettings,
        edit: Option<&mut GraphEdit<'_>>,
    ) -> Result<Self, AiError> {
        let start = Instant::now();
        LOADS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let engine = runtime::engine(settings)?.clone();
        let path = manifest.model_path();
        let bytes = std::fs::read(&path)
            .map_err(|e| model_error(&path, format!("cannot read the model: {e}")))?;
        let is_ort = matches!(engine, Engine::Onnxruntime { .. });
        let activation = manifest.task.output_activation;
        let (bytes, log_odds) = match activation {
            OutputActivation::Softmax | OutputActivation::Sigmoid if is_ort && edit.is_none() => {
                (bytes, LogOdds::of_scores(activation))
            }
            _ => {
                let invalid =
                    |e: String| model_error(&path, format!("not a valid ONNX model: {e}"));
                let mut graph = Graph::decode(&bytes).map_err(invalid)?;
                drop(bytes);
                if !is_ort {
                    graph.fix_batch_to_one();
                }
                if let Some(edit) = edit {
                    edit(&mut graph).map_err(|e| model_error(&path, e))?;
                }
                let log_odds = match activation {
                    OutputActivation::None => match graph.expose_logits(&manifest.outputs.scores) {
                        Some(a) => LogOdds::Logits(a),
                        None => LogOdds::Probabilities,
                    },
                    _ => LogOdds::of_scores(activation),
                };
                (graph.encode(), log_odds)
            }
        };
        let mut fallback_reason = None;
        let mut session = None;
        if is_ort && settings.ep != EpChoice::Cpu {
            let cuda = ort::ep::CUDA::default().build().error_on_failure();
            let attempt: Result<Session, String> = builder(settings, &path)?
                .with_execution_providers([cuda])
                .map_err(|e| e.to_string())
                .and_then(|mut b| b.commit_from_memory(&bytes).map_err(|e| e.to_string()));
            match attempt {
                Ok(s) => session = Some((s, "CUDA")),
                Err(reason) => {
                    let reason = first_line(&reason).trim_end_matches('.').to_string();
                    if settings.ep == EpChoice::Cuda {
                        return Err(AiError::Cuda(reason));
                    }
                    fallback_reason = Some(format!("CUDA unavailable: {reason} — running on CPU"));
                }
            }
        } else if !is_ort && settings.ep == EpChoice::Cuda {
            return Err(AiError::Cuda(
                "the embedded engine runs on the CPU only".into(),
            ));
        }
        let (session, ep) = match session {
            Some(s) => s,
            None => {
                let s = builder(settings, &path)?
                    .commit_from_memory(&bytes)
                    .map_err(|e| {
                        model_error(
                            &path,
                            format!("not a loadable ONNX model: {}", first_line(&e.to_string())),
                        )
                    })?;
                (s, if is_ort { "CPU" } else { "tract (CPU)" })
            }
        };
        let model = LoadedModel {
            manifest,
            engine,
            log_odds,
            execution_provider: ExecutionProviderUsed {
                name: ep.to_string(),
                fallback_reason,
            },
            load_ms: 0.0,
            session,
        };
        model.check_signature()?;
        Ok(LoadedModel {
            load_ms: start.elapsed().as_secs_f64() * 1e3,
            ..model
        })
    }

    /// Checks that the graph has the manifest's input (name, rank, fixed
    /// sizes) and outputs (names; label count of the scores).
    fn check_signature(&self) -> Result<(), AiError> {
        let m = &self.manifest;
        let path = m.model_path();
        let input = self
            .session
            .inputs()
            .iter()
            .find(|i| i.name() == m.input.name)
            .ok_or_else(|| {
                let names: Vec<&str> = self.session.inputs().iter().map(|i| i.name()).collect();
                model_error(
                    &path,
                    format!(
                        "manifest input.name is {:?}, the model's inputs are {names:?}",
                        m.input.name
                    ),
                )
            })?;
        let ValueType::Tensor { shape, .. } = input.dtype() else {
            return Err(model_error(
                &path,
                format!("input {:?} is not a tensor", m.input.name),
            ));
        };
        let dims: Vec<i64> = shape.iter().copied().collect();
        if dims.len() != 4 {
            return Err(model_error(
                &path,
                format!(
                    "input {:?} has shape {dims:?}; manifest input.layout needs rank 4",
                    m.input.name
                ),
            ));
        }
        let (c, h, w) = match m.input.layout {
            Layout::Nchw => (dims[1], dims[2], dims[3]),
            Layout::Nhwc => (dims[3], dims[1], dims[2]),
        };
        for (field, model_dim, manifest_dim) in [
            ("input.channels", c, m.input.channels),
            ("input.height", h, m.input.height),
            ("input.width", w, m.input.width),
        ] {
            if model_dim >= 0 && model_dim != manifest_dim as i64 {
                return Err(model_error(
                    &path,
                    format!(
                        "manifest {field} is {manifest_dim}, the model's input shape is {dims:?}"
                    ),
                ));
            }
        }
        let outputs: Vec<&str> = self.session.outputs().iter().map(|o| o.name()).collect();
        let mut wanted = vec![("outputs.scores", Some(&m.outputs.scores))];
        wanted.push(("outputs.features", m.outputs.features.as_ref()));
        wanted.push((
            "outputs.class_gradients",
            m.outputs.class_gradients.as_ref(),
        ));
        for (field, name) in wanted {
            if let Some(name) = name
                && !outputs.contains(&name.as_str())
            {
                return Err(model_error(
                    &path,
                    format!("manifest {field} is {name:?}, the model's outputs are {outputs:?}"),
                ));
            }
        }
        if let Some(scores) = self
            .session
            .outputs()
            .iter()
            .find(|o| o.name() == m.outputs.scores)
            && let ValueType::Tensor { shape, .. } = scores.dtype()
            && let Some(&last) = shape.iter().last()
            && last >= 0
            && last as usize != m.task.labels.len()
        {
            return Err(model_error(
                &path,
                format!(
                    "output {:?} has {last} scores, manifest task.labels has {}",
                    m.outputs.scores,
                    m.task.labels.len()
                ),
            ));
        }
        Ok(())
    }
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or(text).trim().to_string()
}
