//! The viewer's side of the AI: one classifier behind a small trait (the
//! real worker, or a test double), requests for the shown image only
//! (stale ones cancelled), and results cached per image and model. The
//! same classifier makes the heatmaps (see [`super::heatmap`]).

use std::path::PathBuf;
use std::sync::Arc;

use crate::ai::runtime::Engine;
use crate::ai::saliency::{Heatmap, SaliencyRequest};
use crate::ai::worker::{ClassifierWorker, ModelState};
use crate::ai::{AiError, Classification, Manifest, RuntimeSettings};
use crate::imaging::Image;

pub use super::tickets::Pending;
use super::tickets::TicketCache;

/// How results are cached per model: its id and version.
pub fn model_key(model: &Manifest) -> String {
    format!("{}@{}", model.id, model.version)
}

/// Something that classifies images, and explains them with heatmaps, off
/// the UI thread.
pub trait Classifier {
    /// Queues `image`; returns at once.
    fn submit(&self, image: Arc<Image>) -> Box<dyn Pending<Classification>>;
    /// Queues a saliency map of `image` with its faithfulness; returns at
    /// once.
    fn submit_saliency(
        &self,
        image: Arc<Image>,
        request: SaliencyRequest,
    ) -> Box<dyn Pending<Heatmap>>;
    /// The model's id, name and version.
    fn model(&self) -> &Manifest;
    /// The engine and execution provider, or the loading state, in words.
    fn status(&self) -> String;
    /// The engine with its version and library, for reports.
    fn engine_detail(&self) -> String {
        self.status()
    }
    /// The engine this process started for the model, once it has.
    fn engine(&self) -> Option<Engine> {
        None
    }
}

/// The shipped classifier: the worker thread that owns a model session.
pub struct WorkerClassifier {
    manifest: Manifest,
    worker: ClassifierWorker,
}

impl WorkerClassifier {
    /// Starts the worker for `manifest` (the model loads on its thread).
    pub fn spawn(manifest: Manifest, settings: RuntimeSettings) -> Self {
        let worker = ClassifierWorker::spawn(manifest.clone(), settings);
        Self { manifest, worker }
    }
}

impl Classifier for WorkerClassifier {
    fn submit(&self, image: Arc<Image>) -> Box<dyn Pending<Classification>> {
        Box::new(self.worker.submit(image))
    }

    fn submit_saliency(
        &self,
        image: Arc<Image>,
        request: SaliencyRequest,
    ) -> Box<dyn Pending<Heatmap>> {
        Box::new(self.worker.submit_saliency(image, request))
    }

    fn model(&self) -> &Manifest {
        &self.manifest
    }

    fn status(&self) -> String {
        match self.worker.state() {
            ModelState::Loading => "model loading…".into(),
            ModelState::Ready {
                engine,
                execution_provider,
                ..
            } => {
                let mut s = format!("{} on {}", engine.name(), execution_provider.name);
                if let Some(reason) = &execution_provider.fallback_reason {
                    s.push_str(&format!(" (CPU fallback: {reason})"));
                }
                s
            }
            ModelState::Failed(e) => format!("model failed to load: {e}"),
        }
    }

    fn engine_detail(&self) -> String {
        match self.worker.state() {
            ModelState::Ready { engine, .. } => engine.describe(),
            _ => self.status(),
        }
    }

    fn engine(&self) -> Option<Engine> {
        match self.worker.state() {
            ModelState::Ready { engine, .. } => Some(engine),
            _ => None,
        }
    }
}

/// What the panel shows for the current image.
#[derive(Debug, Clone)]
pub enum AiView {
    /// No classifier (the model could not be found).
    NoModel(String),
    /// Nothing asked yet (auto-run off).
    Idle,
    /// Running.
    Running,
    /// Done.
    Done(Arc<Classification>),
    /// Failed, with the reason.
    Failed(String),
}

/// Results are kept per image path and model.
type Key = (PathBuf, String);

/// The AI state of the viewer.
pub struct AiAssist {
    classifier: Result<Box<dyn Classifier>, String>,
    results: TicketCache<Key, Classification>,
}

impl AiAssist {
    /// With a classifier, or the reason there is none.
    pub fn new(classifier: Result<Box<dyn Classifier>, String>) -> Self {
        Self {
            classifier,
            results: TicketCache::default(),
        }
    }

    /// The default model (or `model`, a manifest, folder or id) on a worker.
    pub fn with_model(model: Option<&std::path::Path>, settings: RuntimeSettings) -> Self {
        let classifier = crate::ai::resolve_model(model)
            .and_then(|path| Manifest::load(&path).map_err(AiError::from))
            .map(|m| Box::new(WorkerClassifier::spawn(m, settings)) as Box<dyn Classifier>)
            .map_err(|e| e.to_string());
        Self::new(classifier)
    }

    /// The classifier, if there is one (heatmaps go through it too).
    pub fn classifier(&self) -> Option<&dyn Classifier> {
        self.classifier.as_ref().ok().map(|c| c.as_ref())
    }

    /// The classifier's model, if there is one.
    pub fn model(&self) -> Option<&Manifest> {
        self.classifier.as_ref().ok().map(|c| c.model())
    }

    /// Engine and EP, or why there is no model.
    pub fn status(&self) -> String {
        match &self.classifier {
            Ok(c) => c.status(),
            Err(reason) => reason.clone(),
        }
    }

    fn key(&self, image: &Image) -> Option<Key> {
        let model = self.model()?;
        Some((image.path.clone(), model_key(model)))
    }

    /// Asks for `image` to be classified unless it is cached or already
    /// running; a request for another image is cancelled first.
    pub fn request(&mut self, image: &Arc<Image>) {
        let (Some(key), Ok(c)) = (self.key(image), &self.classifier) else {
            return;
        };
        self.results.request(key, || c.submit(Arc::clone(image)));
    }

    /// Cancels work for any image other than `wanted` (what is shown, and
    /// what is fetched ahead).
    pub fn forget_stale(&mut self, wanted: &[&Image]) {
        self.results
            .forget_stale(|(path, _)| wanted.iter().any(|i| i.path == *path));
    }

    /// Cancels the request in flight (the worker is being replaced).
    pub fn cancel(&mut self) {
        self.results.cancel();
    }

    /// Collects a finished result into the cache; true when one arrived.
    pub fn poll(&mut self) -> bool {
        self.results.poll()
    }

    /// True while a request is in flight.
    pub fn is_running(&self) -> bool {
        self.results.is_running()
    }

    /// What to show for `image`.
    pub fn view(&self, image: &Image) -> AiView {
        if let Err(reason) = &self.classifier {
            return AiView::NoModel(reason.clone());
        }
        let Some(key) = self.key(image) else {
            return AiView::Idle;
        };
        match self.results.get(&key) {
            Some(Ok(c)) => AiView::Done(Arc::clone(c)),
            Some(Err(e)) => AiView::Failed(e.clone()),
            None if self.results.running_key() == Some(&key) => AiView::Running,
            None => AiView::Idle,
        }
    }

    /// Number of cached results.
    pub fn cached(&self) -> usize {
        self.results.len()
    }

    /// The engine this process runs the model on, once it has started.
    pub fn engine(&self) -> Option<Engine> {
        self.classifier().and_then(|c| c.engine())
    }
}
