//! Arguments shared by several subcommands: the inference engine, the
//! frame and window to show, and loading the model `--model` names.

use std::path::{Path, PathBuf};

use clap::Args;

use super::report;
use crate::ai::{self, EngineChoice, EpChoice, LoadedModel, Manifest, RuntimeSettings};
use crate::imaging::voi::{Window, WindowChoice, preset_names};

/// Engine settings shared by the AI commands.
#[derive(Debug, Args, Clone)]
pub struct RuntimeArgs {
    /// Inference engine.
    #[arg(long, value_enum, default_value_t = EngineChoice::Auto)]
    pub engine: EngineChoice,
    /// Execution provider (ONNX Runtime).
    #[arg(long, value_enum, default_value_t = EpChoice::Auto)]
    pub ep: EpChoice,
    /// The ONNX Runtime library to load (else ORT_DYLIB_PATH, next to the
    /// executable, the onnxruntime Python package, system paths).
    #[arg(long)]
    pub ort_lib: Option<PathBuf>,
    /// Inference threads (0: one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
}

impl RuntimeArgs {
    /// The runtime settings these arguments ask for.
    pub fn settings(&self) -> RuntimeSettings {
        RuntimeSettings {
            engine: self.engine,
            ep: self.ep,
            ort_library: self.ort_lib.clone(),
            threads: self.threads,
        }
    }
}

/// Which frame, with which window, as `render` and `report` show it.
#[derive(Debug, Args, Clone)]
pub struct DisplayArgs {
    /// Frame to show (0-based).
    #[arg(long, default_value_t = 0)]
    pub frame: usize,
    /// Window as CENTER,WIDTH in modality units (e.g. -600,1500).
    #[arg(long, allow_hyphen_values = true, conflicts_with = "preset")]
    pub window: Option<String>,
    /// Named window: default, auto, minmax, lung, mediastinum, abdomen,
    /// liver, bone, brain, stroke.
    #[arg(long)]
    pub preset: Option<String>,
}

impl DisplayArgs {
    /// The window these arguments ask for.
    pub fn window_choice(&self) -> Result<WindowChoice, String> {
        window_choice(self.window.as_deref(), self.preset.as_deref())
    }
}

/// Parses `CENTER,WIDTH`.
pub fn parse_window(text: &str) -> Result<Window, String> {
    let parts: Vec<&str> = text.split(',').map(str::trim).collect();
    let [c, w] = parts[..] else {
        return Err(format!("--window {text}: expected CENTER,WIDTH"));
    };
    let center: f64 = c
        .parse()
        .map_err(|_| format!("--window {text}: center {c:?} is not a number"))?;
    let width: f64 = w
        .parse()
        .map_err(|_| format!("--window {text}: width {w:?} is not a number"))?;
    if !center.is_finite() || !width.is_finite() || width < 1.0 {
        return Err(format!("--window {text}: the width must be at least 1"));
    }
    Ok(Window::linear(center, width))
}

/// The window `--window CENTER,WIDTH` or `--preset NAME` asks for (the
/// file's default without either).
pub fn window_choice(window: Option<&str>, preset: Option<&str>) -> Result<WindowChoice, String> {
    match (window, preset) {
        (Some(w), _) => parse_window(w).map(WindowChoice::Explicit),
        (None, Some(name)) => WindowChoice::from_preset(name).ok_or_else(|| {
            format!(
                "--preset {name}: unknown preset (choose from {})",
                preset_names().join(", ")
            )
        }),
        (None, None) => Ok(WindowChoice::FileDefault),
    }
}

/// The manifest of the model `--model` names (or the default), reporting
/// a failure.
pub(crate) fn load_manifest(spec: Option<&Path>) -> Option<Manifest> {
    ai::resolve_model(spec)
        .and_then(|path| Ok(Manifest::load(&path)?))
        .map_err(|e| report(&e))
        .ok()
}

/// Loads the model `--model` names (or the default), reporting a failure.
pub(crate) fn load_model(spec: Option<&Path>, settings: &RuntimeSettings) -> Option<LoadedModel> {
    let manifest = load_manifest(spec)?;
    LoadedModel::load(manifest, settings)
        .map_err(|e| report(&e))
        .ok()
}

/// Loads the model of `manifest`, reporting a failure, and a CUDA request
/// that fell back to the CPU.
pub(crate) fn load_reporting_fallback(
    manifest: Manifest,
    settings: &RuntimeSettings,
) -> Option<LoadedModel> {
    let model = LoadedModel::load(manifest, settings)
        .map_err(|e| report(&e))
        .ok()?;
    if let Some(reason) = &model.execution_provider.fallback_reason {
        report(reason);
    }
    Some(model)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_parse_or_say_what_is_wrong() {
        let w = parse_window(" -600 , 1500 ").unwrap();
        assert_eq!((w.center, w.width), (-600.0, 1500.0));
        assert!(parse_window("40").unwrap_err().contains("CENTER,WIDTH"));
        assert!(parse_window("a,400").unwrap_err().contains("center"));
        assert!(parse_window("40,0").unwrap_err().contains("at least 1"));
        assert!(parse_window("40,inf").unwrap_err().contains("at least 1"));
        assert!(matches!(
            window_choice(None, None),
            Ok(WindowChoice::FileDefault)
        ));
        assert!(matches!(
            window_choice(Some("40,400"), None),
            Ok(WindowChoice::Explicit(_))
        ));
        let unknown = window_choice(None, Some("nope")).unwrap_err();
        assert!(unknown.contains("lung"), "{unknown}");
    }
}
