//! Heatmap overlay state: which map the reader asked for, the one request
//! in flight (through the classifier's worker, with progress), and the maps
//! already made, cached per image, frame, model, method and target.
//!
//! Only the shown image's heatmap is ever computed: asking for another one
//! cancels the request in flight, and a cancelled run leaves nothing in the
//! cache (the worker answers `Cancelled`, never a partial map).

use std::path::PathBuf;
use std::sync::Arc;

use crate::ai::Manifest;
use crate::ai::saliency::occlusion::Progress;
use crate::ai::saliency::{Heatmap, SaliencyMethod, SaliencyRequest};
use crate::imaging::Image;

use super::ai_assist::Classifier;
use super::tickets::{Answer, TicketCache};

/// Which heatmap: one per image, frame, model, method and target class.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HeatmapKey {
    /// The image's path.
    pub path: PathBuf,
    /// The frame.
    pub frame: usize,
    /// The model's id and version.
    pub model: String,
    /// The method.
    pub method: SaliencyMethod,
    /// The class explained (index into the model's labels).
    pub target_index: usize,
}

/// What the panel shows for the current heatmap.
#[derive(Debug, Clone)]
pub enum HeatmapState {
    /// Being computed; occlusion reports how far it got.
    Running(Option<Progress>),
    /// Ready.
    Ready(Arc<Heatmap>),
    /// Failed, with the reason (e.g. the model has no feature output for
    /// Grad-CAM).
    Failed(String),
}

/// Heatmaps asked for, in flight and done.
pub struct Heatmaps {
    /// Overlay shown.
    pub visible: bool,
    /// The method asked for.
    pub method: SaliencyMethod,
    /// The target class, or `None` for the model's first finding label.
    pub target: Option<usize>,
    /// The one not-faithful map the reader asked to see anyway.
    shown_anyway: Option<Arc<Heatmap>>,
    maps: TicketCache<HeatmapKey, Heatmap>,
}

impl Default for Heatmaps {
    fn default() -> Self {
        Self {
            visible: false,
            method: SaliencyMethod::GradCam,
            target: None,
            shown_anyway: None,
            maps: TicketCache::default(),
        }
    }
}

impl Heatmaps {
    /// The target class index for `model`: the reader's choice, else the
    /// model's first finding label, else the first label.
    pub fn target_index(&self, model: &Manifest) -> usize {
        self.target
            .filter(|&i| i < model.task.labels.len())
            .unwrap_or_else(|| {
                model
                    .task
                    .finding_labels
                    .first()
                    .and_then(|l| model.task.labels.iter().position(|x| x == l))
                    .unwrap_or(0)
            })
    }

    /// The key for `image`'s `frame` with the current settings.
    pub fn key(&self, image: &Image, frame: usize, model: &Manifest) -> HeatmapKey {
        HeatmapKey {
            path: image.path.clone(),
            frame,
            model: super::ai_assist::model_key(model),
            method: self.method,
            target_index: self.target_index(model),
        }
    }

    /// True when `map` may be drawn: it is not found unfaithful, or the
    /// reader asked to see it anyway.
    pub fn may_draw(&self, map: &Arc<Heatmap>) -> bool {
        !map.is_unfaithful()
            || self
                .shown_anyway
                .as_ref()
                .is_some_and(|s| Arc::ptr_eq(s, map))
    }

    /// Draws (or, with `show` false, hides again) a not-faithful `map`.
    pub fn show_anyway(&mut self, map: &Arc<Heatmap>, show: bool) {
        self.shown_anyway = show.then(|| Arc::clone(map));
    }

    /// Collects a finished request into the cache; true when one arrived.
    pub fn poll(&mut self) -> bool {
        self.maps.poll()
    }

    /// The heatmap for `image`'s `frame` with the current settings, asking
    /// `classifier` for it when it is neither cached nor running. A request
    /// for anything else is cancelled first.
    pub fn get(
        &mut self,
        classifier: &dyn Classifier,
        image: &Arc<Image>,
        frame: usize,
    ) -> HeatmapState {
        self.poll();
        let model = classifier.model();
        let key = self.key(image, frame, model);
        if let Some(done) = self.maps.get(&key) {
            return match done {
                Ok(map) => HeatmapState::Ready(Arc::clone(map)),
                Err(e) => HeatmapState::Failed(e.clone()),
            };
        }
        if self.maps.running_key() == Some(&key) {
            return HeatmapState::Running(self.maps.progress_of(&key));
        }
        let request = SaliencyRequest {
            method: key.method,
            target: model.task.labels.get(key.target_index).cloned(),
            frame,
            ..SaliencyRequest::default()
        };
        self.maps.request(key, || {
            classifier.submit_saliency(Arc::clone(image), request)
        });
        HeatmapState::Running(None)
    }

    /// Cancels the request in flight unless it is for one of `wanted`
    /// (the map on screen, and the one fetched ahead).
    pub fn forget_stale(&mut self, wanted: &[&HeatmapKey]) {
        self.maps.forget_stale(|key| wanted.contains(&key));
    }

    /// Forgets every map and cancels the request in flight (the model
    /// changed).
    pub fn clear(&mut self) {
        self.maps.clear();
        self.target = None;
    }

    /// The finished answer for `key`, if any.
    pub fn cached(&self, key: &HeatmapKey) -> Option<&Answer<Heatmap>> {
        self.maps.get(key)
    }

    /// True while a request is in flight.
    pub fn is_running(&self) -> bool {
        self.maps.is_running()
    }

    /// The key of the request in flight.
    pub fn running_key(&self) -> Option<&HeatmapKey> {
        self.maps.running_key()
    }

    /// How far the request in flight got (occlusion reports it).
    pub fn progress(&self) -> Option<Progress> {
        self.maps.progress_of(self.maps.running_key()?)
    }
}
