//! Heatmap overlay: which map is asked for, computing it off the UI thread
//! through a provider, and the overlay's settings.
//!
//! The shipped provider calls [`compute_heatmap`], the single place where
//! the saliency computation plugs in; until it does, the viewer says that
//! heatmaps are unavailable instead of drawing anything.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use poll_promise::Promise;

use crate::ai::Manifest;
use crate::ai::saliency::{Heatmap, SaliencyMethod};
use crate::imaging::Image;

/// What the reader asked for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HeatmapRequest {
    /// The method.
    pub method: SaliencyMethod,
    /// The class to explain (index into the model's labels).
    pub target_index: usize,
}

/// Why there is no heatmap.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum HeatmapError {
    /// This build cannot compute heatmaps yet.
    #[error("heatmaps are not available in this build")]
    Unavailable,
    /// Computing failed.
    #[error("heatmap failed: {0}")]
    Failed(String),
}

/// Computes heatmaps; called on a background thread.
pub trait HeatmapProvider: Send + Sync {
    /// The heatmap of `image` (frame 0) for `request` with `model`.
    fn compute(
        &self,
        image: &Image,
        model: &Manifest,
        request: &HeatmapRequest,
    ) -> Result<Heatmap, HeatmapError>;
}

/// Computes a heatmap with the saliency module. This is where
/// `ai::saliency`'s Grad-CAM and occlusion functions plug in; until they
/// are wired, it reports [`HeatmapError::Unavailable`].
pub fn compute_heatmap(
    _image: &Image,
    _model: &Manifest,
    _request: &HeatmapRequest,
) -> Result<Heatmap, HeatmapError> {
    Err(HeatmapError::Unavailable)
}

/// The shipped provider: [`compute_heatmap`].
pub struct SaliencyProvider;

impl HeatmapProvider for SaliencyProvider {
    fn compute(
        &self,
        image: &Image,
        model: &Manifest,
        request: &HeatmapRequest,
    ) -> Result<Heatmap, HeatmapError> {
        compute_heatmap(image, model, request)
    }
}

type Key = (PathBuf, HeatmapRequest);

/// Heatmaps asked for, in flight and done.
pub struct Heatmaps {
    provider: Arc<dyn HeatmapProvider>,
    /// Overlay shown.
    pub visible: bool,
    /// The method asked for.
    pub method: SaliencyMethod,
    /// The target class, or `None` for the model's first finding label.
    pub target: Option<usize>,
    done: HashMap<Key, Result<Arc<Heatmap>, HeatmapError>>,
    running: HashMap<Key, Promise<Result<Heatmap, HeatmapError>>>,
}

impl Heatmaps {
    /// With `provider`.
    pub fn new(provider: Arc<dyn HeatmapProvider>) -> Self {
        Self {
            provider,
            visible: false,
            method: SaliencyMethod::GradCam,
            target: None,
            done: HashMap::new(),
            running: HashMap::new(),
        }
    }

    /// The request for the current settings and `model`.
    pub fn request(&self, model: &Manifest) -> HeatmapRequest {
        let default_target = model
            .task
            .finding_labels
            .first()
            .and_then(|l| model.task.labels.iter().position(|x| x == l))
            .unwrap_or(0);
        HeatmapRequest {
            method: self.method,
            target_index: self.target.unwrap_or(default_target),
        }
    }

    /// The heatmap for `image`, starting it in the background when needed;
    /// `None` while it runs. `wake` repaints the UI when it finishes.
    pub fn get(
        &mut self,
        image: &Arc<Image>,
        model: &Manifest,
        wake: impl Fn() + Send + 'static,
    ) -> Option<Result<Arc<Heatmap>, HeatmapError>> {
        let request = self.request(model);
        let key = (image.path.clone(), request.clone());
        if let Some(done) = self.done.get(&key) {
            return Some(done.clone());
        }
        if let Some(promise) = self.running.get(&key) {
            promise.ready()?;
            let promise = self.running.remove(&key)?;
            let result = promise.block_and_take().map(Arc::new);
            self.done.insert(key, result.clone());
            return Some(result);
        }
        let provider = Arc::clone(&self.provider);
        let (image, model) = (Arc::clone(image), model.clone());
        let promise = Promise::spawn_thread("heatmap", move || {
            let result = provider.compute(&image, &model, &request);
            wake();
            result
        });
        self.running.insert(key, promise);
        None
    }

    /// The finished answer for `image` with the current settings, if any.
    pub fn cached(
        &self,
        image: &Image,
        model: &Manifest,
    ) -> Option<Result<Arc<Heatmap>, HeatmapError>> {
        let key = (image.path.clone(), self.request(model));
        self.done.get(&key).cloned()
    }
}
