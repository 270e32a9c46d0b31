//! The classifier worker: the model loads once on its own thread, requests
//! run one at a time off the caller's thread, and can be cancelled.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hilum::ai::model::loads_in_process;
use hilum::ai::worker::{ClassifierWorker, ModelState};
use hilum::ai::{AiError, EngineChoice, EpChoice, Manifest, RuntimeSettings};
use hilum::imaging::{self, LoadOptions};

fn image(name: &str) -> Arc<hilum::imaging::Image> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("assets/chest-xray")
        .join(name);
    Arc::new(imaging::load_path(&path, &LoadOptions::default()).unwrap())
}

#[test]
fn one_worker_one_session_cancellable_requests() {
    let manifest = Manifest::load(&hilum::ai::resolve_model(None).unwrap()).unwrap();
    let settings = RuntimeSettings {
        engine: EngineChoice::Onnxruntime,
        ep: EpChoice::Cpu,
        ..RuntimeSettings::default()
    };
    let worker = ClassifierWorker::spawn(manifest, settings);
    let a = image("NORMAL2-IM-1427-0001.jpeg");
    let b = image("person1946_bacteria_4874.jpeg");

    // Submitting returns at once, whatever the model is doing.
    let t = Instant::now();
    let first = worker.submit(Arc::clone(&a));
    let stale = worker.submit(Arc::clone(&b));
    let second = worker.submit(Arc::clone(&b));
    assert!(t.elapsed() < Duration::from_millis(100), "submit blocked");
    stale.cancel();

    let first = first.wait().unwrap();
    assert_eq!(first.model_id, "pneumonia-xception");
    assert_eq!(first.execution_provider.name, "CPU");
    assert!(matches!(stale.wait(), Err(AiError::Cancelled)));
    let second = second.wait().unwrap();
    assert!(
        second.findings[1].probability > 0.5,
        "{:?}",
        second.findings
    );

    // More requests reuse the same session.
    for _ in 0..2 {
        worker.submit(Arc::clone(&a)).wait().unwrap();
    }
    assert_eq!(loads_in_process(), 1);
    assert!(matches!(worker.state(), ModelState::Ready { .. }));
    drop(worker);
    failing_model_answers_every_request_with_the_reason();
}

// Runs inside the test above: the load counter is per process.
fn failing_model_answers_every_request_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let src =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/pneumonia-xception/manifest.toml");
    let manifest_path = dir.path().join("manifest.toml");
    std::fs::copy(src, &manifest_path).unwrap();
    let manifest = Manifest::load(&manifest_path).unwrap();
    let worker = ClassifierWorker::spawn(manifest, RuntimeSettings::default());
    let err = worker
        .submit(image("NORMAL2-IM-1427-0001.jpeg"))
        .wait()
        .unwrap_err();
    assert!(err.to_string().contains("model.onnx"), "{err}");
    assert!(matches!(worker.state(), ModelState::Failed(_)));
}
