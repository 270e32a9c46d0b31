//! The background worker that owns a model's session: loads it once, runs
//! requests (classifications and saliency maps) one at a time off the
//! caller's thread, reports progress and honours cancellation.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender, TryRecvError, channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crate::imaging::Image;

use super::manifest::Manifest;
use super::model::{ExecutionProviderUsed, LoadedModel};
use super::runtime::{Engine, RuntimeSettings};
use super::saliency::occlusion::Progress;
use super::saliency::{Heatmap, SaliencyRequest};
use super::{AiError, Classification};

/// Work for the worker thread: its model and a cancel check.
type Work = Box<dyn FnOnce(&mut LoadedModel, &dyn Fn() -> bool) + Send>;

/// A request: runs on the worker with its model, or is answered with the
/// reason the model could not load.
struct Job {
    cancel: Arc<AtomicBool>,
    run: Work,
    fail: Box<dyn FnOnce(AiError) + Send>,
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

/// A pending request (a classification unless said otherwise).
pub struct Ticket<T = Classification> {
    cancel: Arc<AtomicBool>,
    result: Receiver<Result<T, AiError>>,
    done: Arc<AtomicUsize>,
    total: Arc<AtomicUsize>,
}

impl<T> Ticket<T> {
    /// Asks the worker to drop this request (before or between its steps).
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    /// Progress of a long request (occlusion), once it has started.
    pub fn progress(&self) -> Option<Progress> {
        let total = self.total.load(Ordering::Relaxed);
        (total > 0).then(|| Progress {
            done: self.done.load(Ordering::Relaxed),
            total,
        })
    }

    /// The result, if it is ready (never blocks).
    pub fn try_result(&self) -> Option<Result<T, AiError>> {
        match self.result.try_recv() {
            Ok(r) => Some(r),
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => {
                Some(Err(AiError::Inference("the worker stopped".into())))
            }
        }
    }

    /// Blocks until the result is ready.
    pub fn wait(self) -> Result<T, AiError> {
        self.result
            .recv()
            .unwrap_or_else(|_| Err(AiError::Inference("the worker stopped".into())))
    }
}

/// A worker thread that owns one model.
///
/// Dropping it never waits for the model: every request still queued or
/// running is cancelled (a running one stops at its next cancel check and
/// answers `Cancelled`), and the thread is joined on a thread of its own,
/// so a UI thread that replaces its worker keeps drawing.
pub struct ClassifierWorker {
    jobs: Option<Sender<Job>>,
    state: Arc<Mutex<ModelState>>,
    thread: Option<JoinHandle<()>>,
    /// Set when the worker is dropped: every request counts as cancelled.
    stopping: Arc<AtomicBool>,
}

impl ClassifierWorker {
    /// Starts a worker; the model loads on the worker thread.
    pub fn spawn(manifest: Manifest, settings: RuntimeSettings) -> Self {
        let (tx, rx) = channel::<Job>();
        let state = Arc::new(Mutex::new(ModelState::Loading));
        let shared = Arc::clone(&state);
        let stopping = Arc::new(AtomicBool::new(false));
        let stop = Arc::clone(&stopping);
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
                            (job.fail)(e.clone());
                        }
                        return;
                    }
                };
                for job in rx {
                    let (cancel, stop) = (job.cancel, Arc::clone(&stop));
                    let cancelled =
                        move || cancel.load(Ordering::Relaxed) || stop.load(Ordering::Relaxed);
                    if cancelled() {
                        (job.fail)(AiError::Cancelled);
                    } else {
                        (job.run)(&mut model, &cancelled);
                    }
                }
            })
            .expect("spawning a thread");
        Self {
            jobs: Some(tx),
            state,
            thread: Some(thread),
            stopping,
        }
    }

    /// Queues `work` (run on the worker with its model and a cancel check);
    /// the ticket carries its result and progress.
    fn queue<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut LoadedModel, &dyn Fn() -> bool, &dyn Fn(Progress)) -> Result<T, AiError>
        + Send
        + 'static,
    ) -> Ticket<T> {
        let (reply, result) = channel();
        let cancel = Arc::new(AtomicBool::new(false));
        let (done, total) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let (progress_done, progress_total) = (Arc::clone(&done), Arc::clone(&total));
        let failed = reply.clone();
        let job = Job {
            cancel: Arc::clone(&cancel),
            run: Box::new(move |model, cancelled| {
                let progress = |p: Progress| {
                    progress_done.store(p.done, Ordering::Relaxed);
                    progress_total.store(p.total, Ordering::Relaxed);
                };
                let _ = reply.send(work(model, cancelled, &progress));
            }),
            fail: Box::new(move |e| {
                let _ = failed.send(Err(e));
            }),
        };
        if let Some(jobs) = &self.jobs {
            let _ = jobs.send(job);
        }
        Ticket {
            cancel,
            result,
            done,
            total,
        }
    }

    /// Queues `image` for classification.
    pub fn submit(&self, image: Arc<Image>) -> Ticket {
        self.queue(move |model, cancelled, _| model.classify(&image, cancelled))
    }

    /// Queues a saliency map (with its faithfulness, if the request asks)
    /// for `image`. Progress is reported for occlusion; a cancelled request
    /// answers `AiError::Cancelled`, never a partial map.
    pub fn submit_saliency(&self, image: Arc<Image>, request: SaliencyRequest) -> Ticket<Heatmap> {
        self.queue(move |model, cancelled, progress| {
            model.explain(&image, &request, &mut |p| progress(p), cancelled)
        })
    }

    /// The model's state.
    pub fn state(&self) -> ModelState {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl ClassifierWorker {
    /// Cancels every request queued or running and closes the queue, so
    /// the thread ends after at most one more cancel check; returns the
    /// thread to join.
    fn stop(&mut self) -> Option<JoinHandle<()>> {
        self.stopping.store(true, Ordering::Relaxed);
        self.jobs.take();
        self.thread.take()
    }
}

impl Drop for ClassifierWorker {
    fn drop(&mut self) {
        let Some(thread) = self.stop() else { return };
        // The model may be inside a long inference step (an occlusion
        // batch): the caller (often the UI thread) does not wait for it.
        // Without a thread to hand the join to, the worker is detached.
        let joiner = std::thread::Builder::new()
            .name("model shutdown".into())
            .spawn(move || {
                let _ = thread.join();
            });
        if let (Ok(joiner), Ok(mut list)) = (joiner, SHUTTING_DOWN.lock()) {
            list.retain(|j| !j.is_finished());
            list.push(joiner);
        }
    }
}

/// The threads joining dropped workers that were still in a step.
static SHUTTING_DOWN: Mutex<Vec<JoinHandle<()>>> = Mutex::new(Vec::new());

/// Waits at most `limit` for dropped workers to finish the step they were
/// in; true when all have. A process calls it before it exits: returning
/// from `main` tears ONNX Runtime's globals down, and a session still
/// running then fails with errors on stderr (or worse).
pub fn wait_for_dropped_workers(limit: std::time::Duration) -> bool {
    let deadline = std::time::Instant::now() + limit;
    loop {
        let done = SHUTTING_DOWN
            .lock()
            .map_or(true, |list| list.iter().all(|j| j.is_finished()));
        if done {
            return true;
        }
        if std::time::Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
