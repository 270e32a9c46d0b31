//! AI: the inference engine, model manifests, preprocessing, classification,
//! evaluation on a labelled set and the background worker. Plain library
//! code with no UI dependency.

pub mod classify;
pub mod evaluate;
pub mod graph;
pub mod manifest;
pub mod model;
pub mod pipeline;
pub mod preprocess;
pub mod runtime;
pub mod saliency;
pub mod worker;

use std::path::PathBuf;

pub use self::classify::{Classification, Finding};
pub use self::manifest::Manifest;
pub use self::model::LoadedModel;
pub use self::runtime::{Engine, EngineChoice, EpChoice, RuntimeSettings};

/// Everything that can go wrong between a model file and a result.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AiError {
    /// The engine could not be chosen or started.
    #[error("inference engine: {0}")]
    Engine(String),
    /// The manifest is malformed.
    #[error("{0}")]
    Manifest(#[from] manifest::ManifestError),
    /// The model file is missing, corrupt or does not match its manifest.
    #[error("{}: {reason}", path.display())]
    Model {
        /// The `.onnx` file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// CUDA was asked for and could not be used.
    #[error("CUDA unavailable: {0}")]
    Cuda(String),
    /// The image cannot be given to the model.
    #[error("{}: {reason}", path.display())]
    Input {
        /// The image file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// Loading the image failed.
    #[error("{0}")]
    Imaging(#[from] crate::ImagingError),
    /// Inference failed.
    #[error("inference failed: {0}")]
    Inference(String),
    /// The model cannot do what was asked (with a suggestion).
    #[error("{0}")]
    Unsupported(String),
    /// The request was cancelled.
    #[error("cancelled")]
    Cancelled,
}

/// Where models are looked for: `$HILUM_MODELS`, `models/` next to the
/// executable and its parents, and the source tree's `models/`.
pub fn model_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(d) = std::env::var_os("HILUM_MODELS") {
        dirs.push(PathBuf::from(d));
    }
    if let Ok(exe) = std::env::current_exe() {
        for ancestor in exe.ancestors().skip(1).take(3) {
            dirs.push(ancestor.join("models"));
        }
    }
    dirs.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models"));
    dirs.retain(|d| d.is_dir());
    dirs.dedup();
    dirs
}

/// Every manifest (`*/manifest.toml`) in the model folders.
pub fn installed_manifests() -> Vec<PathBuf> {
    let mut found = Vec::new();
    for dir in model_dirs() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut here: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path().join("manifest.toml"))
            .filter(|p| p.is_file())
            .collect();
        here.sort();
        found.extend(here);
    }
    found
}

/// The default model's id.
pub const DEFAULT_MODEL: &str = "pneumonia-xception";

/// Resolves `--model`: a manifest file, a folder holding `manifest.toml`,
/// or an installed model's id; `None` means the default model.
pub fn resolve_model(spec: Option<&std::path::Path>) -> Result<PathBuf, AiError> {
    let not_found = |what: String| AiError::Engine(format!("model not found: {what}"));
    match spec {
        Some(p) if p.is_file() => Ok(p.to_path_buf()),
        Some(p) if p.is_dir() => {
            let m = p.join("manifest.toml");
            if m.is_file() {
                Ok(m)
            } else {
                Err(not_found(format!("{} has no manifest.toml", p.display())))
            }
        }
        Some(p) => {
            let id = p.to_string_lossy();
            installed_manifests()
                .into_iter()
                .find(|m| {
                    m.parent()
                        .and_then(|d| d.file_name())
                        .is_some_and(|n| n == id.as_ref())
                })
                .ok_or_else(|| not_found(format!("{id} (no such file, folder or installed model)")))
        }
        None => installed_manifests()
            .into_iter()
            .find(|m| {
                m.parent()
                    .and_then(|d| d.file_name())
                    .is_some_and(|n| n == DEFAULT_MODEL)
            })
            .ok_or_else(|| {
                not_found(format!(
                    "the default model {DEFAULT_MODEL} is not installed"
                ))
            }),
    }
}
