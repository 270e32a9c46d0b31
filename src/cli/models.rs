//! `hilum models`: the installed models and the inference runtime found.

use super::args::RuntimeArgs;
use super::json::{EngineEntry, LibraryEntry, ModelEntry, ModelsOutput, write_json};
use super::report;
use crate::ai::{self, Manifest};

/// Runs `hilum models`; returns the process exit code.
pub fn run_models(args: &RuntimeArgs) -> i32 {
    let mut models = Vec::new();
    let mut failed = false;
    for path in ai::installed_manifests() {
        match Manifest::load(&path) {
            Ok(m) => models.push(ModelEntry::new(&path, m)),
            Err(e) => {
                report(&e);
                failed = true;
            }
        }
    }
    let onnxruntime_libraries = ai::runtime::find_libraries(args.ort_lib.as_deref())
        .into_iter()
        .map(LibraryEntry::from)
        .collect();
    let engine = match ai::runtime::engine(&args.settings()) {
        Ok(e) => EngineEntry::Ready {
            name: e.name(),
            detail: e.describe(),
        },
        Err(e) => EngineEntry::Failed {
            error: e.to_string(),
        },
    };
    let output = ModelsOutput {
        models,
        onnxruntime_libraries,
        engine,
    };
    match write_json(&[output], true) {
        0 => i32::from(failed),
        code => code,
    }
}
