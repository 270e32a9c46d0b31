//! The background worker that owns a model's session: loads it once, runs
//! requests one at a time off the caller's thread, honours cancellation.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, TryRecvError, channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crate::imaging::Image;

use super::manifest::Manifest;
use super::model::{ExecutionProviderUsed, LoadedModel};
use super::runtime::{Engine, RuntimeSettings};
use super::{AiError, Classification};

struct Job {
    image: Arc<Image>,
    cancel: Arc<AtomicBool>,
    reply: Sender<Result<Classification, AiError>>,
}

/// The state of a worker's model.
#[derive(Debug, Clone)]
pub enum ModelState {
    /// Still loading.
    Loading,
    /// Loaded: engine and execution provider.
    Ready {
        /// The engine.
        engine: Engine,
        /// The execution provider.
        execution_provider: ExecutionProviderUsed,
        /// Load time, ms.
        load_ms: f64,
    },
    /// Loading failed.
    Failed(AiError),
}

/// A pending classification.
pub struct Ticket {
    cancel: Arc<AtomicBool>,
    result: Receiver<Result<Classification, AiError>>,
}

impl Ticket {
    /// Asks the worker to drop this request (before or between its steps).
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    /// The result, if it is ready (never blocks).
    pub fn try_result(&self) -> Option<Result<Classification, AiError>> {
        match self.result.try_recv() {
            Ok(r) => Some(r),
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => {
                Some(Err(AiError::Inference("the worker stopped".into())))
            }
        }
    }

    /// Blocks until the result is ready.
    pub fn wait(self) -> Result<Classification, AiError> {
        self.result
            .recv()
            .unwrap_or_else(|_| Err(AiError::Inference("the worker stopped".into())))
    }
}

/// A worker thread that owns one model.
pub struct ClassifierWorker {
    jobs: Option<Sender<Job>>,
    state: Arc<Mutex<ModelState>>,
    thread: Option<JoinHandle<()>>,
}

impl ClassifierWorker {
    /// Starts a worker; the model loads on the worker thread.
    pub fn spawn(manifest: Manifest, settings: RuntimeSettings) -> Self {
        let (tx, rx) = channel::<Job>();
        let state = Arc::new(Mutex::new(ModelState::Loading));
        let shared = Arc::clone(&state);
        let thread = std::thread::Builder::new()
            .name(format!("model {}", manifest.id))
            .spawn(move || {
                let loaded = LoadedModel::load(manifest, &settings);
                let mut model = match loaded {
                    Ok(m) => {
                        *shared.lock().unwrap_or_else(|e| e.into_inner()) = ModelState::Ready {
                            engine: m.engine.clone(),
                            execution_provider: m.execution_provider.clone(),
                            load_ms: m.load_ms,
                        };
                        m
                    }
                    Err(e) => {
                        *shared.lock().unwrap_or_else(|e| e.into_inner()) =
                            ModelState::Failed(e.clone());
                        for job in rx {
                            let _ = job.reply.send(Err(e.clone()));
                        }
                        return;
                    }
                };
                for job in rx {
                    let cancelled = || job.cancel.load(Ordering::Relaxed);
                    let result = if cancelled() {
                        Err(AiError::Cancelled)
                    } else {
                        model.classify(&job.image, &cancelled)
                    };
                    let _ = job.reply.send(result);
                }
            })
            .expect("spawning a thread");
        Self {
            jobs: Some(tx),
            state,
            thread: Some(thread),
        }
    }

    /// Queues `image` for classification.
    pub fn submit(&self, image: Arc<Image>) -> Ticket {
        let (reply, result) = channel();
        let cancel = Arc::new(AtomicBool::new(false));
        let job = Job {
            image,
            cancel: Arc::clone(&cancel),
            reply,
        };
        if let Some(jobs) = &self.jobs {
            let _ = jobs.send(job);
        }
        Ticket { cancel, result }
    }

    /// The model's state.
    pub fn state(&self) -> ModelState {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl Drop for ClassifierWorker {
    fn drop(&mut self) {
        self.jobs.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
