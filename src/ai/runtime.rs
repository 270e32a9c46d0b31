//! Choosing the inference engine once per process: ONNX Runtime, loaded
//! dynamically from wherever it is installed, or the embedded pure-Rust
//! engine (tract) when no ONNX Runtime library is found.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use serde::Serialize;

use super::AiError;

/// Which engine to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EngineChoice {
    /// ONNX Runtime if a library is found, else the embedded engine.
    #[default]
    Auto,
    /// ONNX Runtime; an error when no library is found.
    Onnxruntime,
    /// The embedded pure-Rust engine (tract).
    Tract,
}

/// Which execution provider to ask ONNX Runtime for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EpChoice {
    /// CUDA if it really initialises, else CPU (with the reason shown).
    #[default]
    Auto,
    /// The CPU.
    Cpu,
    /// CUDA; an error when it cannot initialise.
    Cuda,
}

/// Settings for the engine and sessions.
#[derive(Debug, Clone, Default)]
pub struct RuntimeSettings {
    /// Engine choice.
    pub engine: EngineChoice,
    /// Execution provider choice (ONNX Runtime only).
    pub ep: EpChoice,
    /// An explicit ONNX Runtime library (`--ort-lib`); `ORT_DYLIB_PATH` is
    /// read when this is `None`.
    pub ort_library: Option<PathBuf>,
    /// Intra-op threads; 0 means one per available core.
    pub threads: usize,
}

impl RuntimeSettings {
    /// Threads to use.
    pub fn threads(&self) -> usize {
        if self.threads > 0 {
            self.threads
        } else {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        }
    }
}

/// The engine that runs in this process.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Engine {
    /// ONNX Runtime from a shared library.
    Onnxruntime {
        /// The library file.
        library: PathBuf,
        /// Where it was found (setting, next to the executable, Python
        /// package, system).
        found_in: String,
        /// Version from the file name, when it says.
        version: Option<String>,
    },
    /// The embedded pure-Rust engine.
    Tract {
        /// Why it was chosen.
        reason: String,
    },
}

impl Engine {
    /// Short name for outputs: `onnxruntime` or `tract`.
    pub fn name(&self) -> &'static str {
        match self {
            Engine::Onnxruntime { .. } => "onnxruntime",
            Engine::Tract { .. } => "tract",
        }
    }

    /// One line for the status bar and reports.
    pub fn describe(&self) -> String {
        match self {
            Engine::Onnxruntime {
                library, version, ..
            } => format!(
                "ONNX Runtime {} ({})",
                version.as_deref().unwrap_or("(unknown version)"),
                library.display()
            ),
            Engine::Tract { reason } => format!("embedded engine (tract): {reason}"),
        }
    }
}

struct EngineState {
    engine: Engine,
    environment: ort::environment::Environment,
}

static ENGINE: OnceLock<EngineState> = OnceLock::new();
static INIT: Mutex<()> = Mutex::new(());

/// A candidate ONNX Runtime library and where it was found.
#[derive(Debug, Clone, PartialEq)]
pub struct LibraryCandidate {
    /// The library file.
    pub path: PathBuf,
    /// Where it was found.
    pub found_in: &'static str,
}

fn version_of(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    let v = name.strip_prefix("libonnxruntime.so.")?;
    (!v.is_empty()).then(|| v.to_string())
}

/// `libonnxruntime.so*` files in `dir`, the most specific version first.
fn libraries_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n == "libonnxruntime.so" || n.starts_with("libonnxruntime.so."))
        })
        .collect();
    found.sort_by_key(|p| std::cmp::Reverse(p.file_name().map(|n| n.len()).unwrap_or(0)));
    found
}

/// Python `site-packages` folders that may hold the `onnxruntime` package.
fn python_site_dirs() -> Vec<PathBuf> {
    let mut roots: Vec<PathBuf> = Vec::new();
    if let Some(v) = std::env::var_os("VIRTUAL_ENV") {
        roots.push(PathBuf::from(v));
    }
    if let Some(v) = std::env::var_os("HILUM_VENV") {
        roots.push(PathBuf::from(v));
    }
    if let Some(home) = std::env::var_os("HOME") {
        let home = PathBuf::from(home);
        roots.push(home.join(".cache/hilum-venv"));
        roots.push(home.join(".local"));
    }
    roots.push(PathBuf::from("/usr/local"));
    roots.push(PathBuf::from("/usr"));
    let mut dirs = Vec::new();
    for root in roots {
        let lib = root.join("lib");
        let Ok(entries) = std::fs::read_dir(&lib) else {
            continue;
        };
        let mut pythons: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("python3"))
            })
            .collect();
        pythons.sort();
        for py in pythons.into_iter().rev() {
            dirs.push(py.join("site-packages"));
            dirs.push(py.join("dist-packages"));
        }
    }
    dirs.push(PathBuf::from("/usr/lib/python3/dist-packages"));
    dirs
}

/// Every place an ONNX Runtime library is looked for, in order: the
/// explicit setting (or `ORT_DYLIB_PATH`), next to the executable, the
/// `onnxruntime` / `onnxruntime-gpu` Python package, system library paths.
pub fn find_libraries(explicit: Option<&Path>) -> Vec<LibraryCandidate> {
    let mut out = Vec::new();
    let mut push = |path: PathBuf, found_in: &'static str| {
        if path.is_file() && !out.iter().any(|c: &LibraryCandidate| c.path == path) {
            out.push(LibraryCandidate { path, found_in });
        }
    };
    if let Some(p) = explicit {
        push(p.to_path_buf(), "setting");
    } else if let Some(p) = std::env::var_os("ORT_DYLIB_PATH") {
        push(PathBuf::from(p), "ORT_DYLIB_PATH");
    }
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        for d in [dir.clone(), dir.join("lib")] {
            for lib in libraries_in(&d) {
                push(lib, "next to the executable");
            }
        }
    }
    for site in python_site_dirs() {
        for lib in libraries_in(&site.join("onnxruntime/capi")) {
            push(lib, "Python package");
        }
    }
    let mut system: Vec<PathBuf> = std::env::var_os("LD_LIBRARY_PATH")
        .map(|v| std::env::split_paths(&v).collect())
        .unwrap_or_default();
    system.extend(
        [
            "/usr/local/lib",
            "/usr/lib",
            "/usr/lib/x86_64-linux-gnu",
            "/usr/lib64",
            "/opt/onnxruntime/lib",
        ]
        .map(PathBuf::from),
    );
    for d in system {
        for lib in libraries_in(&d) {
            push(lib, "system library path");
        }
    }
    out
}

/// For the CUDA build from PyPI (`onnxruntime-gpu`): the CUDA and cuDNN
/// libraries of the `nvidia-*` packages beside it, which the CUDA provider
/// needs but does not find by itself.
fn preload_cuda_from_python(library: &Path) {
    let Some(site) = library
        .parent()
        .and_then(Path::parent)
        .and_then(Path::parent)
    else {
        return;
    };
    if !library
        .with_file_name("libonnxruntime_providers_cuda.so")
        .is_file()
    {
        return;
    }
    let cuda = ["nvidia/cu13/lib", "nvidia/cuda_runtime/lib"]
        .map(|p| site.join(p))
        .into_iter()
        .find(|p| p.is_dir());
    let cudnn = Some(site.join("nvidia/cudnn/lib")).filter(|p| p.is_dir());
    if cuda.is_some() || cudnn.is_some() {
        // A failure here shows up, with its reason, when CUDA is registered.
        let _ = ort::ep::cuda::preload_dylibs(cuda.as_deref(), cudnn.as_deref());
    }
}

fn init_tract(reason: String, threads: usize) -> Result<EngineState, AiError> {
    // tract's matrix products run on one thread unless given a pool.
    if threads > 1 {
        tract_linalg::multithread::set_default_executor(
            tract_linalg::multithread::Executor::multithread(threads),
        );
    }
    if !ort::set_api(ort_tract::api()) {
        return Err(AiError::Engine(
            "the embedded engine cannot be selected: another engine is already active in this process".into(),
        ));
    }
    let environment = ort::init()
        .with_name("hilum")
        .build()
        .map_err(|e| AiError::Engine(format!("embedded engine: {e}")))?;
    Ok(EngineState {
        engine: Engine::Tract { reason },
        environment,
    })
}

fn init_onnxruntime(candidate: &LibraryCandidate) -> Result<EngineState, String> {
    let path = candidate.path.clone();
    let built = std::panic::catch_unwind(|| {
        ort::init_from(&path)
            .map_err(|e| e.to_string())?
            .with_name("hilum")
            .build()
            .map_err(|e| e.to_string())
    })
    .map_err(|_| "ONNX Runtime panicked while loading".to_string())??;
    preload_cuda_from_python(&candidate.path);
    Ok(EngineState {
        engine: Engine::Onnxruntime {
            library: candidate.path.clone(),
            found_in: candidate.found_in.to_string(),
            version: version_of(&candidate.path),
        },
        environment: built,
    })
}

/// Chooses and starts the engine for this process (once; later calls
/// return the engine already chosen, and fail if they ask for another).
pub fn engine(settings: &RuntimeSettings) -> Result<&'static Engine, AiError> {
    Ok(&state(settings)?.engine)
}

pub(crate) fn environment(
    settings: &RuntimeSettings,
) -> Result<&'static ort::environment::Environment, AiError> {
    Ok(&state(settings)?.environment)
}

fn state(settings: &RuntimeSettings) -> Result<&'static EngineState, AiError> {
    let _guard = INIT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(state) = ENGINE.get() {
        let compatible = match settings.engine {
            EngineChoice::Auto => true,
            EngineChoice::Onnxruntime => matches!(state.engine, Engine::Onnxruntime { .. }),
            EngineChoice::Tract => matches!(state.engine, Engine::Tract { .. }),
        };
        if !compatible {
            return Err(AiError::Engine(format!(
                "this process already runs {}; the engine is chosen once per process",
                state.engine.name()
            )));
        }
        return Ok(state);
    }
    let state = match settings.engine {
        EngineChoice::Tract => init_tract("chosen in the settings".into(), settings.threads())?,
        EngineChoice::Onnxruntime | EngineChoice::Auto => {
            let candidates = find_libraries(settings.ort_library.as_deref());
            // Only the first library found is tried: a failed dynamic load
            // may leave the process's API half-set, so libraries are not mixed.
            let mut failures = Vec::new();
            let mut started = None;
            if let Some(candidate) = candidates.first() {
                match init_onnxruntime(candidate) {
                    Ok(s) => started = Some(s),
                    Err(e) => failures.push(format!("{}: {e}", candidate.path.display())),
                }
            }
            match (started, settings.engine) {
                (Some(s), _) => s,
                (None, EngineChoice::Onnxruntime) => {
                    return Err(AiError::Engine(if failures.is_empty() {
                        "no ONNX Runtime library found (set --ort-lib or ORT_DYLIB_PATH, or `pip install onnxruntime==1.31.1`)".into()
                    } else {
                        format!("ONNX Runtime failed to load: {}", failures.join("; "))
                    }));
                }
                (None, _) => {
                    let reason = if failures.is_empty() {
                        "no ONNX Runtime library found".to_string()
                    } else {
                        format!("ONNX Runtime failed to load ({})", failures.join("; "))
                    };
                    init_tract(reason, settings.threads())?
                }
            }
        }
    };
    Ok(ENGINE.get_or_init(|| state))
}
