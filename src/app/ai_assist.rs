//! The viewer's side of the AI: one classifier behind a small trait (the
//! real worker, or a test double), requests for the shown image only
//! (stale ones cancelled), and results cached per image and model. The
//! same classifier makes the heatmaps (see [`super::heatmap`]).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use crate::ai::saliency::occlusion::Progress;
use crate::ai::saliency::{Heatmap, SaliencyRequest};
use crate::ai::worker::{ClassifierWorker, ModelState, Ticket};
use crate::ai::{AiError, Classification, Manifest, RuntimeSettings};
use crate::imaging::Image;

/// How results are cached per model: its id and version.
pub fn model_key(model: &Manifest) -> String {
    format!("{}@{}", model.id, model.version)
}

/// A request in flight.
pub trait PendingClassification {
    /// The result when ready; never blocks.
    fn poll(&mut self) -> Option<Result<Classification, AiError>>;
    /// Asks for the request to be dropped.
    fn cancel(&self);
}

impl PendingClassification for Ticket {
    fn poll(&mut self) -> Option<Result<Classification, AiError>> {
        self.try_result()
    }

    fn cancel(&self) {
        Ticket::cancel(self);
    }
}

/// A heatmap request in flight.
pub trait PendingHeatmap {
    /// The result when ready; never blocks.
    fn poll(&mut self) -> Option<Result<Heatmap, AiError>>;
    /// Asks for the request to be dropped (the worker checks between
    /// batches and answers `Cancelled`).
    fn cancel(&self);
    /// How far a long run (occlusion) got.
    fn progress(&self) -> Option<Progress>;
}

impl PendingHeatmap for Ticket<Heatmap> {
    fn poll(&mut self) -> Option<Result<Heatmap, AiError>> {
        self.try_result()
    }

    fn cancel(&self) {
        Ticket::cancel(self);
    }

    fn progress(&self) -> Option<Progress> {
        Ticket::progress(self)
    }
}

/// Something that classifies images, and explains them with heatmaps, off
/// the UI thread.
pub trait Classifier {
    /// Queues `image`; returns at once.
    fn submit(&self, image: Arc<Image>) -> Box<dyn PendingClassification>;
    /// Queues a saliency map of `image` with its faithfulness; returns at
    /// once.
    fn submit_saliency(
        &self,
        image: Arc<Image>,
        request: SaliencyRequest,
    ) -> Box<dyn PendingHeatmap>;
    /// The model's id, name and version.
    fn model(&self) -> &Manifest;
    /// The engine and execution provider, or the loading state, in words.
    fn status(&self) -> String;
    /// The engine with its version and library, for reports.
    fn engine_detail(&self) -> String {
        self.status()
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
    fn submit(&self, image: Arc<Image>) -> Box<dyn PendingClassification> {
        Box::new(self.worker.submit(image))
    }

    fn submit_saliency(
        &self,
        image: Arc<Image>,
        request: SaliencyRequest,
    ) -> Box<dyn PendingHeatmap> {
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

/// The AI state of the viewer.
pub struct AiAssist {
    classifier: Result<Box<dyn Classifier>, String>,
    cache: HashMap<(PathBuf, String), Result<Arc<Classification>, String>>,
    pending: Option<(PathBuf, Box<dyn PendingClassification>)>,
}

impl AiAssist {
    /// With a classifier, or the reason there is none.
    pub fn new(classifier: Result<Box<dyn Classifier>, String>) -> Self {
        Self {
            classifier,
            cache: HashMap::new(),
            pending: None,
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

    fn key(&self, image: &Image) -> Option<(PathBuf, String)> {
        let model = self.model()?;
        Some((image.path.clone(), model_key(model)))
    }

    /// Asks for `image` to be classified unless it is cached or already
    /// running; a request for another image is cancelled first.
    pub fn request(&mut self, image: &Arc<Image>) {
        let Some(key) = self.key(image) else { return };
        if self.cache.contains_key(&key) {
            return;
        }
        if let Some((path, pending)) = &self.pending {
            if *path == image.path {
                return;
            }
            pending.cancel();
        }
        if let Ok(c) = &self.classifier {
            self.pending = Some((image.path.clone(), c.submit(Arc::clone(image))));
        }
    }

    /// Cancels work for any image other than `shown`.
    pub fn forget_stale(&mut self, shown: Option<&Image>) {
        let stale = match (&self.pending, shown) {
            (Some((path, _)), Some(image)) => *path != image.path,
            (Some(_), None) => true,
            _ => false,
        };
        if stale && let Some((_, pending)) = self.pending.take() {
            pending.cancel();
        }
    }

    /// Collects a finished result into the cache; true when one arrived.
    pub fn poll(&mut self) -> bool {
        let Some((path, pending)) = &mut self.pending else {
            return false;
        };
        let Some(result) = pending.poll() else {
            return false;
        };
        let path = path.clone();
        self.pending = None;
        let Some(model) = self.model() else {
            return false;
        };
        let key = (path, model_key(model));
        match result {
            Err(AiError::Cancelled) => {}
            Ok(c) => {
                self.cache.insert(key, Ok(Arc::new(c)));
            }
            Err(e) => {
                self.cache.insert(key, Err(e.to_string()));
            }
        }
        true
    }

    /// True while a request is in flight.
    pub fn is_running(&self) -> bool {
        self.pending.is_some()
    }

    /// What to show for `image`.
    pub fn view(&self, image: &Image) -> AiView {
        if let Err(reason) = &self.classifier {
            return AiView::NoModel(reason.clone());
        }
        let Some(key) = self.key(image) else {
            return AiView::Idle;
        };
        match self.cache.get(&key) {
            Some(Ok(c)) => AiView::Done(Arc::clone(c)),
            Some(Err(e)) => AiView::Failed(e.clone()),
            None if self.pending.as_ref().is_some_and(|(p, _)| *p == image.path) => AiView::Running,
            None => AiView::Idle,
        }
    }

    /// Number of cached results.
    pub fn cached(&self) -> usize {
        self.cache.len()
    }
}
